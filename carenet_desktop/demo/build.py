"""Building the demo network: practices one after another, in chunks, straight into the store."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.random import PCG64, Generator, SeedSequence

from ..models import utcnow
from ..models.database import Database
from .coordination import add_referrals
from .events import Ctx
from .frames import DAY, Tables
from .illness import acute_care, chronic_care, dental_care
from .people import PracticeProfile, add_network, make_patients, make_practices
from .visits import well_visits
from .writer import BulkWriter

log = logging.getLogger(__name__)

CHUNK = 20_000  # patients generated and written at a time (bounds memory)


class DemoError(Exception):
    """The demo cannot be built as asked (message meant for the user)."""


class ProgressLike(Protocol):
    def report(self, fraction: float, message: str = "") -> None: ...


@dataclass
class DemoSummary:
    rows: dict[str, int]
    seconds: float
    practices: int
    patients: int
    seed: int
    as_of: dt.date
    database: str = ""
    events: int = field(init=False)

    def __post_init__(self) -> None:
        self.events = sum(v for k, v in self.rows.items() if k not in ("network", "practice", "provider", "patient",
                                                                       "coverage", "data_import"))

    def line(self) -> str:
        return (f"Demo network: {self.practices} practices, {self.rows.get('provider', 0)} providers, "
                f"{self.patients} patients, {self.events} events and referrals "
                f"(data to {self.as_of.isoformat()}, seed {self.seed}) in {self.seconds:.1f} s")


def default_as_of(today: dt.date | None = None) -> dt.date:
    """The last day of the previous month."""
    today = today or dt.date.today()
    return today.replace(day=1) - dt.timedelta(days=1)


def build_demo(db: Database, *, practices: int = 12, patients: int = 20000, seed: int = 2025,
               as_of: dt.date | None = None, progress: ProgressLike | None = None,
               replace: bool = False) -> DemoSummary:
    """Generate the synthetic network into ``db``; identical output for the same seed, as_of and sizes.

    Refuses a database that already has practices unless ``replace`` (then the network's data is deleted
    first; user accounts, the audit trail and value sets are kept).
    """
    if practices < 1 or practices > 500:
        raise DemoError("The number of practices must be between 1 and 500.")
    if patients < practices:
        raise DemoError("There must be at least as many patients as practices.")
    as_of = as_of or default_as_of()
    started = time.perf_counter()
    started_at = utcnow()
    stamp = dt.datetime.combine(as_of, dt.time(0, 0))
    as_of64 = np.datetime64(as_of.isoformat(), "D")
    seeds = SeedSequence(seed).spawn(practices + 1)
    rng0 = Generator(PCG64(seeds[0]))
    report = progress.report if progress is not None else (lambda fraction, message="": None)

    with BulkWriter(db) as writer:
        if writer.practice_count() and not replace:
            raise DemoError("The database already has practices; use --replace to delete them and build the demo.")
        if replace:
            report(0.0, "Deleting the previous network")
            writer.clear()
        next_ids = writer.max_ids()
        import_id = next_ids.get("data_import", 1)
        next_ids["data_import"] = import_id + 1
        writer.write("data_import", [{
            "id": np.array([import_id]), "kind": "demo", "file_name": None, "username": "demo", "status": "running",
            "started_at": started_at, "added": 0, "updated": 0, "rejected": 0,
            "detail": {"seed": seed, "as_of": as_of.isoformat(), "practices": practices, "patients": patients},
        }])
        profiles = make_practices(rng0, practices, patients)
        head = Tables(next_ids)
        add_network(head, profiles, stamp, rng0, import_id)
        for name, parts in head.parts.items():
            writer.write(name, parts)

        done = 0
        for p, seq in zip(profiles, seeds[1:], strict=True):
            rng = Generator(PCG64(seq))
            mrn_numbers = rng.permutation(p.size) + 1 + int(rng.integers(100_000, 900_000))
            months = np.zeros(0, dtype="datetime64[M]")
            for offset in range(0, p.size, CHUNK):
                n = min(CHUNK, p.size - offset)
                tables = Tables(next_ids)
                cohort = make_patients(rng, tables, p, n, mrn_numbers[offset:offset + n], as_of64, stamp, import_id)
                ctx = Ctx(rng, tables, p, cohort, as_of64, stamp, import_id)
                visits = well_visits(ctx)
                acute_care(ctx)
                chronic_care(ctx)
                dental_care(ctx)
                add_referrals(ctx)
                months = np.concatenate([months, visits["date"].astype("datetime64[M]")])
                for name, parts in tables.parts.items():
                    writer.write(name, parts)
                done += n
                report(done / patients, f"{p.name}: {offset + n} of {p.size} patients")
            _aggregate_entries(writer, rng, p, months, as_of64, stamp, next_ids)
        # the change journal: everything changed, so result caches recompute (models/changes.py)
        change_id = writer.next_id("data_change")
        writer.write("data_change", [{"id": np.array([change_id]), "at": utcnow(), "practice_id": None,
                                      "patient_id": None}])
        writer.reset_sequences()
        total = sum(n for name, n in writer.counts.items() if name != "data_change")
        writer.finish_import(import_id, utcnow(), total)
        counts = dict(writer.counts)
    seconds = time.perf_counter() - started
    log.info("Demo network built: %d rows in %.1f s", total, seconds)
    report(1.0, "Done")
    return DemoSummary(rows=counts, seconds=seconds, practices=practices, patients=patients, seed=seed, as_of=as_of,
                       database=db.display_name)


def _aggregate_entries(writer: BulkWriter, rng: Generator, p: PracticeProfile, months: np.ndarray,
                       as_of: np.datetime64, stamp: dt.datetime, next_ids: dict[str, int]) -> None:
    """Practices that screen for social needs on paper report monthly counts instead (last 12 months)."""
    if not p.sdoh_on_paper:
        return
    last = as_of.astype("datetime64[M]")
    wanted = last - np.arange(12)[::-1]
    visits = np.array([(months == m).sum() for m in wanted])
    screened = rng.binomial(visits, 0.55)
    tables = Tables(next_ids)
    start = wanted.astype("datetime64[D]")
    end = (wanted + 1).astype("datetime64[D]") - DAY
    keep = visits > 0
    tables.add("aggregate_entry", {
        "id": tables.ids("aggregate_entry", int(keep.sum())), "practice_id": p.id, "measure_id": "SDOH",
        "group_index": 0, "period_start": start[keep], "period_end": end[keep], "denominator": visits[keep],
        "numerator": screened[keep], "exclusions": 0, "exceptions": 0, "version": 1,
        "note": "Social-needs screening from the paper log (well visits screened / well visits)",
        "entered_by": "practice manager", "created_at": stamp, "updated_at": stamp,
    })
    for name, parts in tables.parts.items():
        writer.write(name, parts)
