#!/usr/bin/env python3
"""Benchmark value-set matching when every record carries several codings (issue 21).

    .venv/bin/python benchmarks/bench_codings.py [--patients 250000] [--db benchmarks/data/demo-250k.db]

Loads the demo network's frames (as bench_measures.py does, building the demo once), evaluates the ten
eCQMs on them as they are (one coding per concept), then gives every coded row of every event frame one
or two further codings that no value set holds (a local code first, as real exports often do: the
measures must then find the standard code among several) and evaluates again. Both runs must give the
same counts; the second shows what matching on any coding costs. Also times folding a stored ``codings``
column into the key columns, as the store reader does.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from carenet_desktop.metrics.data import MeasureData  # noqa: E402
from carenet_desktop.metrics.engine import evaluate_measures  # noqa: E402
from carenet_desktop.metrics.period import Period  # noqa: E402
from carenet_desktop.metrics.valuesets import MULTI_SEP  # noqa: E402
from carenet_desktop.models.database import open_database  # noqa: E402
from carenet_desktop.services.catalogue_source import load_catalogue  # noqa: E402
from carenet_desktop.services.context import ServiceContext  # noqa: E402
from carenet_desktop.services.frames_cache import load_measure_data_cached  # noqa: E402
from carenet_desktop.services.measure_data import _add_codings  # noqa: E402
from carenet_desktop.services.valuesets import ensure_default_catalogue  # noqa: E402

CODED = ("encounters", "conditions", "observations", "procedures", "immunizations", "medication_requests",
         "medication_dispenses", "service_requests")


def evaluate(data: MeasureData, period: Period, ids: list[str]) -> tuple[float, float, dict[str, tuple[int, int]]]:
    counts: dict[str, tuple[int, int]] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    for measure in load_catalogue().select(ids):
        rows = evaluate_measures(data, period, [measure]).rows
        counts[measure.id] = (int(rows["denominator"].fillna(False).sum()), int(rows["numerator"].fillna(False).sum()))
    return time.perf_counter() - wall, time.process_time() - cpu, counts


def with_local_codings(frame: pd.DataFrame) -> pd.DataFrame:
    """Every row's key preceded by the local code an EHR keeps for it, and every third row's followed by
    a SNOMED coding as well (as exports carry them: one local code per standard code)."""
    if frame.empty or "key" not in frame.columns:
        return frame
    codes, uniques = pd.factorize(frame["key"].astype(object).fillna("|"))
    plain = np.asarray(uniques, dtype=object)
    both = np.array([f"local|L{i}{MULTI_SEP}{k}" for i, k in enumerate(plain)], dtype=object)
    three = np.array([f"{b}{MULTI_SEP}snomed|9{i}" for i, b in enumerate(both)], dtype=object)
    n = np.arange(len(frame))
    out = frame.copy()
    out["key"] = pd.array(np.where(n % 3 == 0, three[codes], both[codes]), dtype="str")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=250_000)
    parser.add_argument("--practices", type=int, default=40)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--period", default="2025")
    args = parser.parse_args()
    db_path = args.db or ROOT / "benchmarks" / "data" / f"demo-{args.patients}.db"
    if not db_path.exists():
        import datetime as dt

        from carenet_desktop.demo import build_demo

        db_path.parent.mkdir(parents=True, exist_ok=True)
        db = open_database(db_path)
        build_demo(db, practices=args.practices, patients=args.patients, seed=2025, as_of=dt.date(2026, 6, 30))
        db.dispose()
    db = open_database(db_path)
    ensure_default_catalogue(ServiceContext(db))
    with tempfile.TemporaryDirectory() as snap:
        data, _ = load_measure_data_cached(db, Path(snap))
    period = Period.parse(args.period)
    ids = [m.id for m in load_catalogue().all() if m.id.startswith("CMS")]
    wall, cpu, plain = evaluate(data, period, ids)
    print(f"one coding per concept        evaluate {len(ids)} measures {wall:6.2f} s wall {cpu:6.2f} s CPU")

    t = time.perf_counter()
    rows = 0
    for name in CODED:
        frame = getattr(data, name)
        rows += len(frame)
        setattr(data, name, with_local_codings(frame))
    print(f"(extra codings put on {rows:,} rows in {time.perf_counter() - t:.2f} s)")
    wall, cpu, multi = evaluate(data, period, ids)
    print(f"two or three codings each     evaluate {len(ids)} measures {wall:6.2f} s wall {cpu:6.2f} s CPU")
    if multi != plain:
        print("COUNTS DIFFER:", {k: (plain[k], multi[k]) for k in plain if plain[k] != multi.get(k)})
        return 1
    print("counts identical")

    enc = data.encounters
    codings = np.where(np.arange(len(enc)) % 2 == 0, "code\tlocal|L1\ncode\tsnomed|9", None).astype(object)
    out = {"key": pd.array(np.full(len(enc), "cpt|99213", dtype=object), dtype="str")}
    t = time.perf_counter()
    _add_codings(out, codings)
    print(f"store reader: codings of {len(enc) // 2:,} of {len(enc):,} encounters folded into keys in "
          f"{time.perf_counter() - t:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
