"""Building the demo network: practices one after another, in chunks, straight into the store."""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.random import PCG64, Generator, SeedSequence

from ..models import utcnow
from ..models.database import Database
from ..models.journal import bulk_rewrite
from .coordination import add_referrals
from .events import Ctx
from .frames import DAY, Tables
from .illness import acute_care, chronic_care, dental_care
from .people import PracticeProfile, add_network, make_patients, make_practices
from .schedule import add_appointments
from .visits import well_visits
from .writer import BulkWriter, Prepared

log = logging.getLogger(__name__)

CHUNK = 15_000  # patients generated and written at a time (bounds memory: about three chunks in flight)


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
                                                                       "coverage", "data_import", "appointment"))

    def line(self) -> str:
        return (f"Demo network: {self.practices} practices, {self.rows.get('provider', 0)} providers, "
                f"{self.patients} patients, {self.events} events and referrals "
                f"(data to {self.as_of.isoformat()}, seed {self.seed}) in {self.seconds:.1f} s")


def default_as_of(today: dt.date | None = None) -> dt.date:
    """The last day of the previous month."""
    today = today or dt.date.today()
    return today.replace(day=1) - dt.timedelta(days=1)


#: the size of the demo network a first start builds (``carenet demo`` without options)
DEFAULT_PRACTICES = 12
DEFAULT_PATIENTS = 20000


def build_demo(db: Database, *, practices: int = DEFAULT_PRACTICES, patients: int = DEFAULT_PATIENTS, seed: int = 2025,
               as_of: dt.date | None = None, progress: ProgressLike | None = None,
               replace: bool = False, today: dt.date | None = None) -> DemoSummary:
    """Generate the synthetic network into ``db``; identical output for the same seed, as_of and sizes
    (and ``today``, from which the appointments of the next two weeks are booked; the real date by default).

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

    with BulkWriter(db) as writer, bulk_rewrite(writer.connection):  # journal: everything, a new history
        if writer.practice_count() and not replace:
            raise DemoError("The database already has practices; rebuild with replace (carenet demo --replace) to delete them first.")
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

        schedule_from = max(today or dt.date.today(), as_of + dt.timedelta(days=1))
        chunks = _generate(profiles, seeds[1:], writer, as_of64, stamp, import_id, next_ids, schedule_from)
        for prepared, done, message in _prefetch(chunks):  # generation overlaps with the inserts
            writer.insert(prepared)
            report(done / patients, message)
        writer.reset_sequences()
        total = sum(n for name, n in writer.counts.items() if name != "data_change")
        writer.finish_import(import_id, utcnow(), total)
        counts = dict(writer.counts)
    seconds = time.perf_counter() - started
    log.info("Demo network built: %d rows in %.1f s", total, seconds)
    report(1.0, "Done")
    return DemoSummary(rows=counts, seconds=seconds, practices=practices, patients=patients, seed=seed, as_of=as_of,
                       database=db.display_name)


Chunk = tuple[list[Prepared], int, str]


def _generate(profiles: list[PracticeProfile], seeds: list[SeedSequence], writer: BulkWriter, as_of: np.datetime64,
              stamp: dt.datetime, import_id: int, next_ids: dict[str, int], schedule_from: dt.date) -> Iterator[Chunk]:
    """Practice by practice, chunk by chunk: the rows to insert, prepared (ids allocated in order)."""
    done = 0
    for number, (p, seq) in enumerate(zip(profiles, seeds, strict=True), start=1):
        rng = Generator(PCG64(seq))
        mrn_numbers = rng.permutation(p.size) + 1 + int(rng.integers(100_000, 900_000))
        months = np.zeros(0, dtype="datetime64[M]")
        for offset in range(0, p.size, CHUNK):
            n = min(CHUNK, p.size - offset)
            tables = Tables(next_ids)
            cohort = make_patients(rng, tables, p, n, mrn_numbers[offset:offset + n], as_of, stamp, import_id)
            ctx = Ctx(rng, tables, p, cohort, as_of, stamp, import_id)
            visits = well_visits(ctx)
            acute_care(ctx)
            chronic_care(ctx)
            dental_care(ctx)
            add_referrals(ctx)
            add_appointments(tables, cohort, p, schedule_from, import_id, stamp)
            months = np.concatenate([months, visits["date"].astype("datetime64[M]")])
            if offset + n >= p.size:
                _aggregate_entries(tables, rng, p, months, as_of, stamp)
            done += n
            prepared = [part for name, parts in tables.parts.items() for part in writer.prepare(name, parts)]
            yield prepared, done, (f"Practice {number} of {len(profiles)}, {p.name}: {offset + n:,} of "
                                   f"{p.size:,} children")


def _prefetch(items: Iterator[Chunk]) -> Iterator[Chunk]:
    """Run ``items`` one step ahead in a worker thread (NumPy and SQLite release the GIL for much of it)."""
    box: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=1)
    stop = threading.Event()
    end = object()

    def put(item: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, end))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put((False, exc))

    thread = threading.Thread(target=work, name="demo-generator", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = box.get()
            if not ok:
                raise item  # type: ignore[misc]
            if item is end:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _aggregate_entries(tables: Tables, rng: Generator, p: PracticeProfile, months: np.ndarray,
                       as_of: np.datetime64, stamp: dt.datetime) -> None:
    """Practices that screen for social needs on paper report monthly counts instead (last 12 months)."""
    if not p.sdoh_on_paper:
        return
    last = as_of.astype("datetime64[M]")
    wanted = last - np.arange(12)[::-1]
    visits = np.array([(months == m).sum() for m in wanted])
    screened = rng.binomial(visits, 0.55)
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
