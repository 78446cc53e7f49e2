"""Benchmark: import a 1,000,000-row encounters CSV (target: <= 30 s, peak memory <= 1.5 GB).

    .venv/bin/python benchmarks/bench_import.py [--rows 1000000] [--patients 20000] [--dir /tmp/bench]

Generates a deterministic EHR-style export (seeded), creates a fresh database with the patients, then
imports the encounters in a child process and prints rows, seconds and the child's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

CPT = np.array(["99381", "99382", "99391", "99392", "99393", "99213", "99214", "99203", "G0438", "99460"])
DX = np.array(["Z00.129", "Z00.121", "J02.0", "J06.9", "F90.0", "", "", "Z23"])


def generate(folder: Path, rows: int, patients: int, seed: int = 20240101) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    mrn = np.char.add("M", np.arange(1, patients + 1).astype(str))
    birth = pd.Timestamp("2008-01-01") + pd.to_timedelta(rng.integers(0, 365 * 15, patients), unit="D")
    pat = pd.DataFrame({"MRN": mrn, "Patient First Name": "Test", "Patient Last Name": "Child",
                        "DOB": birth.strftime("%m/%d/%Y"), "Sex": rng.choice(["F", "M"], patients),
                        "Primary Insurance": rng.choice(["Medicaid", "BCBS PPO", "Self Pay", "CHIP"], patients),
                        "Zip": rng.integers(10000, 99999, patients).astype(str)})
    pat_path = folder / "patients.csv"
    pat.to_csv(pat_path, index=False)
    who = rng.integers(0, patients, rows)
    age_days = (pd.Timestamp("2025-12-31") - birth[who]).days.to_numpy()
    visit = birth[who] + pd.to_timedelta((rng.random(rows) * age_days).astype(np.int64), unit="D")
    enc = pd.DataFrame({"Enc ID": np.char.add("E", np.arange(1, rows + 1).astype(str)), "Pat ID": mrn[who],
                        "Visit Date": visit.strftime("%m/%d/%Y"), "CPT": CPT[rng.integers(0, len(CPT), rows)],
                        "Dx Code": DX[rng.integers(0, len(DX), rows)],
                        "Rendering NPI": "", "Visit Status": "finished"})
    enc_path = folder / "encounters.csv"
    enc.to_csv(enc_path, index=False)
    return pat_path, enc_path


def _peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM; unlike ru_maxrss it does not carry over from the parent)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(db: str, path: str, kind: str, practice: str) -> None:
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services.context import ServiceContext
    from carenet_desktop.services.intake import import_file

    ctx = ServiceContext(open_database(db), username="bench")
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage0.ru_utime + usage0.ru_stime
    started = time.perf_counter()
    result = import_file(ctx, path, kind, practice_code=practice, valid_rows_only=True)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = _peak_rss_kb()
    print(json.dumps({"kind": kind, "rows": result.rows, "added": result.added, "updated": result.updated,
                      "rejected": result.rejected, "seconds": round(seconds, 2),
                      "cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu0, 2),
                      "peak_rss_mb": round(peak_kb / 1024)}))


def run_child(db: Path, path: Path, kind: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(db), str(path), kind, "BENCH"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/carenet_bench"))
    parser.add_argument("--reimport", action="store_true", help="also time a second import of the same file")
    parser.add_argument("--child", nargs=4, metavar=("DB", "FILE", "KIND", "PRACTICE"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    t0 = time.perf_counter()
    pat_path, enc_path = generate(args.dir, args.rows, args.patients)
    print(f"generated {args.rows:,} encounters for {args.patients:,} patients in {time.perf_counter() - t0:.1f} s "
          f"({enc_path.stat().st_size / 1e6:.0f} MB)")
    db = args.dir / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    print("patients:", run_child(db, pat_path, "patients"))
    print("encounters:", run_child(db, enc_path, "encounters"))
    if args.reimport:
        print("encounters again:", run_child(db, enc_path, "encounters"))


if __name__ == "__main__":
    main()
