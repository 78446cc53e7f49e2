"""Where the care-gap worklists get their result rows and records: the scorecard's caches, not a new load.

``care_gaps`` needs, for the practices in view, every measure's patient-level result rows for the period
and the records (``MeasureData``) that ``Measure.gaps`` reads to say what is missing and by when.
Evaluating them again for every worklist (and every practice switch) read the practice's records out of
the store and ran every measure: seconds per call on a large network. A :class:`GapSource` instead takes

- the result rows from the results cache (:class:`.results.ResultsCache`: the rows the scorecard shows,
  kept per period and refreshed from the change journal), and
- the records from the whole store's frames (:mod:`.frames_cache` snapshot), read when every patient's
  gaps must be found and let go once they are (about 1.1 GB on a 250,000-patient network: the window's
  memory, issue 26); after a write only the written patients' records are read from the store,

both at the same (store history, journal version): the keys every cache of the store uses. A source held
across practice switches (``network=True``: the window's page) finds the gaps of the whole network once
per state (:meth:`GapSource.network_gaps`, brought up to date for the patients changed after a write) and
reads the patients' names and contacts once (:meth:`GapSource.patient_table`): a practice switch then only
filters them (and what ``care_gaps`` found for a practice is kept, under the same keys, for a switch back). When the two cannot be had at one journal
version (a write landed in between, twice), the rows are evaluated from the records in hand instead, so
what is shown always equals a from-scratch evaluation of one state of the store.

:func:`fresh_inputs` is that from-scratch evaluation (the store read for the practices in view, every
measure run): what the cached path is tested against.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select

from ..metrics.data import MeasureData
from ..metrics.definition import POPULATIONS, Measure
from ..metrics.engine import PATIENT_ATTRIBUTES, ROW_COLUMNS, evaluate_measures
from ..metrics.period import Period
from ..metrics.valuesets import ValueSetIndex
from ..models import Patient
from ..models.changes import changes_since, store_state
from . import snapshot_keeper
from .context import Progress, ServiceContext
from .frames_cache import load_measure_data_cached, patched_copy
from .measure_data import load_measure_data
from .results import ResultsCache

#: practices' records kept restricted (a switch back to one of them costs nothing)
_KEEP_SCOPES = 6
#: network-wide gap tables kept (one per set of measures, period, day and window asked for)
_KEEP_NETWORK = 4
#: a per-patient table is patched for at most this many changed patients (else read again whole)
_PATCH_MOST = 5000

#: what ``care_gaps`` computes from inputs: (gap rows, failures)
Found = tuple[pd.DataFrame, dict[str, str]]


@dataclass(frozen=True)
class _NetworkInputs:
    """The last network-wide inputs seen by :meth:`GapSource.inputs`: the results cache's rows (every
    measure) and the store's patients (who is in which practice) at one (history, version, definitions).
    The whole store's frames are not part of them: :meth:`GapSource.network_gaps` reads them only when it
    has to find every patient's gaps, and lets them go once found."""

    key: tuple[object, ...]  # (history, version, stamp, measures asked for)
    people: pd.DataFrame  # ``patient_id``, ``practice_id`` of every patient of the frames at that state
    valuesets: ValueSetIndex  # the frames' value sets (a change to them is a change to everything)
    rows: pd.DataFrame  # the cache's rows as they are (not yet ``as_evaluated``)
    failures: dict[str, str]


@dataclass(frozen=True)
class GapInputs:
    """What ``care_gaps`` computes the gaps from, for the patients in view."""

    #: the records of the patients in view (and the value sets)
    data: MeasureData
    #: their result rows (``ROW_COLUMNS``) of the measures asked for, in the dtypes of :func:`as_evaluated`
    rows: pd.DataFrame
    #: measure id -> why it has no rows
    failures: dict[str, str] = field(default_factory=dict)
    #: what these inputs are a function of - (store history, journal version, definitions, measures,
    #: practices) - when they came from the caches at one journal version; None otherwise
    key: tuple[object, ...] | None = None
    #: True: ``data`` is the whole store's and ``rows`` are left out (``GapSource.inputs(records=False)``)
    whole: bool = False


def as_evaluated(rows: pd.DataFrame) -> pd.DataFrame:
    """Result rows in one set of dtypes, those a practice's evaluation gives (episode ids as Python ints
    or NA in an object column): the cache's rows (read from disk, refreshed, or concatenated across a
    whole network) come in others, and what ``Measure.gaps`` makes of them must not depend on that."""
    out = rows[list(ROW_COLUMNS)].reset_index(drop=True)
    episode = pd.to_numeric(out["episode_id"], errors="coerce").astype("Int64").astype(object)
    return out.assign(
        measure=out["measure"].astype("str"),
        group_index=pd.to_numeric(out["group_index"]).astype("int64"),
        patient_id=pd.to_numeric(out["patient_id"]).astype("int64"),
        episode_id=episode,
        **{pop: out[pop].astype("boolean") for pop in POPULATIONS},
        **{col: pd.to_numeric(out[col], errors="coerce").astype("Int64") for col in PATIENT_ATTRIBUTES},
    )


def fresh_inputs(ctx: ServiceContext, period: Period, measures: Sequence[Measure],
                 practice_id_list: list[int] | None, progress: Progress) -> GapInputs:
    """The from-scratch path: read the practices' records from the store and evaluate every measure."""
    progress.report(0.0, "Loading records")
    data = load_measure_data(ctx.db, practice_id_list=practice_id_list)
    progress.report(0.5, "Evaluating measures")
    run = evaluate_measures(data, period, measures, on_measure=lambda i, n, mid: progress.report(
        0.5 + 0.5 * i / max(n, 1), f"Evaluating {mid}"))
    return GapInputs(data, as_evaluated(run.rows), dict(run.failures))


class GapSource:
    """The care-gap worklists' inputs from the results cache and the frames snapshot (see the module).

    One per window page (or command): it keeps the network's gaps and every patient's practice between
    calls (not the whole store's frames: :meth:`let_go`), so a practice switch reads nothing from the store
    but the practice's outreach and booked visits.
    Thread-safe: a page's loads may overlap (a new one cancels the running one).
    """

    def __init__(self, ctx: ServiceContext, cache: ResultsCache | None = None, *,
                 compute_missing: bool = True, network: bool = True) -> None:
        """``compute_missing`` False: when the results cache holds nothing for the period yet, evaluate
        only the practices asked for (:func:`fresh_inputs`) rather than the whole network - for a one-off
        call (``carenet gaps``, an export) on a store whose scorecard was never computed.

        ``network`` False (a one-off call): the gaps, names and contacts are found for the practices asked
        for only, never for the whole store (:meth:`network_gaps`, :meth:`patient_table` are for a source
        that lives across practice switches: the window's page)."""
        self.ctx = ctx
        self.cache = cache or ResultsCache(ctx)
        self.compute_missing = compute_missing
        self.network = network
        self._lock = threading.Lock()
        #: held while the network's gaps are found (:meth:`network_gaps`)
        self._finding = threading.Lock()
        #: (history, journal version, frames reflecting that version)
        self._frames: tuple[str, int, MeasureData] | None = None
        #: (history, version, practice ids) -> the frames of those practices' patients
        self._scopes: OrderedDict[tuple[str, int, tuple[int, ...] | None], MeasureData] = OrderedDict()
        #: GapInputs.key -> the result rows of those measures and practices
        self._rows: OrderedDict[tuple[object, ...], pd.DataFrame] = OrderedDict()
        #: care_gaps' memo (:meth:`remember`); emptied with the scopes when the frames move on
        self._found: OrderedDict[tuple[object, ...], tuple[pd.DataFrame, dict[str, str]]] = OrderedDict()
        #: the network's inputs at the newest state seen (:meth:`network_gaps` computes from them)
        self._network: _NetworkInputs | None = None
        #: (stamp, measures, what care_gaps asked) -> (history, version, the network's gaps, failures); kept
        #: across writes: brought up to date for the patients changed since (:meth:`network_gaps`)
        self._network_found: OrderedDict[tuple[object, ...], tuple[str, int, pd.DataFrame, dict[str, str]]] = \
            OrderedDict()
        #: name -> (history, version, a per-patient table of the whole store): :meth:`patient_table`
        self._tables: dict[str, tuple[str, int, pd.DataFrame]] = {}
        #: (history, version, every patient's id and practice, the frames' value sets): what a practice
        #: switch needs of the frames, kept when they are let go (:meth:`_people_at`)
        self._people: tuple[str, int, pd.DataFrame, ValueSetIndex] | None = None
        #: (history, from version, to version, patients, their records at "to") read by :meth:`_people_at`
        #: for a write, kept for :meth:`_find_network` to find those patients' gaps from
        self._changed: tuple[str, int, int, tuple[int, ...], MeasureData] | None = None

    def inputs(self, period: Period, measures: Sequence[Measure], practice_id_list: list[int] | None,
               progress: Progress | None = None, *, records: bool = True) -> GapInputs:
        """Result rows and records of ``measures`` for the patients of ``practice_id_list`` (None: all).

        ``records`` False: when they come from the caches, only the key of that state is wanted (the gaps
        are taken from :meth:`network_gaps`): the records are the whole store's and no rows are restricted
        to the practices (``GapInputs.whole``); otherwise as with ``records``."""
        progress = progress or Progress()
        wanted = [m.id for m in measures]
        every = self.cache.ctx.catalogue.ids()
        # the scorecard's entry (every measure) when it covers the request: one computation serves both
        asked = None if set(wanted) <= set(every) else wanted
        if not self.compute_missing and not self.cache.holds(period, asked):
            return fresh_inputs(self.ctx, period, measures, practice_id_list, progress)
        if not records and self.network:
            light = self._light_inputs(period, wanted, asked, practice_id_list, progress)
            if light == "raced":  # writes kept landing between the reads: evaluate the records read now
                now, frames = self._network_frames()
                scoped = self._scoped(now, frames, practice_id_list)
                del frames
                run = evaluate_measures(scoped, period, list(measures))
                self.let_go()
                return GapInputs(scoped, as_evaluated(run.rows), dict(run.failures))
            if isinstance(light, GapInputs):
                return light
        entry = None
        state: tuple[str, int] = ("", -1)
        data: MeasureData | None = None
        stamp = ""
        # a one-off call (``carenet gaps``) reads the records of its practices only: the whole store's
        # frames would cost it more time and memory than they save (there is no practice switch to serve)
        whole = self.network or practice_id_list is None
        for _ in range(2):
            with self.ctx.db.session() as s:
                before = store_state(s)
            stamp = self.cache.stamp(tuple(wanted))  # the store's history and the definitions in force
            progress.report(0.0, "Measure results")
            entry = self.cache.results(period, asked, progress.sub(0.0, 0.7))
            progress.check()
            progress.report(0.7, "Records")
            state, data = self._network_frames() if whole else self._practice_frames(practice_id_list or [])
            with self.ctx.db.session() as s:
                after = store_state(s)
            if (before == after == state and entry.version == state[1]
                    and self.cache.stamp(tuple(wanted)) == stamp):
                break  # rows and records of one journal version and definitions: nothing changed between
            entry = None
        assert data is not None
        if not records and entry is not None:
            failures = {k: v for k, v in entry.failures.items() if k in wanted}
            key = (*state, stamp, tuple(wanted), None if practice_id_list is None else tuple(sorted(practice_id_list)))
            with self._lock:
                if self._frames is not None and self._frames[:2] == state:
                    self._network = self._network_inputs(key[:4], data, entry.rows, failures)
            return GapInputs(data, entry.rows.iloc[:0], failures, key=key, whole=True)
        scoped = self._scoped(state, data, practice_id_list) if whole else data
        progress.report(0.9, "Care gaps")
        if entry is None:  # writes kept landing between the two reads: evaluate the records in hand
            run = evaluate_measures(scoped, period, list(measures))
            return GapInputs(scoped, as_evaluated(run.rows), dict(run.failures))
        failures = {k: v for k, v in entry.failures.items() if k in wanted}
        scope = None if practice_id_list is None else tuple(sorted(practice_id_list))
        key = (*state, stamp, tuple(wanted), scope)
        with self._lock:
            if whole and self._frames is not None and self._frames[:2] == state:
                self._network = self._network_inputs(key[:4], data, entry.rows, failures)
        with self._lock:
            rows = self._rows.get(key)
        if rows is None:
            rows = entry.rows
            keep = rows["measure"].isin(wanted) if set(wanted) != set(every) or asked is not None else None
            if practice_id_list is not None:
                mine = rows["patient_id"].isin(scoped.patients["patient_id"])
                keep = mine if keep is None else keep & mine
            rows = as_evaluated(rows if keep is None else rows[keep.to_numpy()])
            with self._lock:
                if self._frames is not None and self._frames[:2] == state:
                    self._rows[key] = rows
                    while len(self._rows) > _KEEP_SCOPES:
                        self._rows.popitem(last=False)
        return GapInputs(scoped, rows, failures, key=key)

    def recall(self, key: tuple[object, ...]) -> tuple[pd.DataFrame, dict[str, str]] | None:
        """What ``care_gaps`` found for ``key`` (the ``GapInputs.key`` and its own arguments), if kept."""
        with self._lock:
            found = self._found.get(key)
            if found is not None:
                self._found.move_to_end(key)
            return found

    def remember(self, key: tuple[object, ...], found: tuple[pd.DataFrame, dict[str, str]]) -> None:
        """Keep what ``care_gaps`` found (not changed afterwards) while the store stays at the key's state."""
        with self._lock:
            inputs_key = key[0]
            held = self._frames or self._people
            if held is None or not isinstance(inputs_key, tuple) or tuple(held[:2]) != inputs_key[:2]:
                return  # the store moved on since: these gaps are of an older state
            self._found[key] = found
            while len(self._found) > _KEEP_SCOPES:
                self._found.popitem(last=False)

    def clear(self) -> None:
        """Let go of the frames held (they are read again on the next call)."""
        with self._lock:
            self._frames = None
            self._scopes.clear()
            self._rows.clear()
            self._found.clear()
            self._network = None
            self._network_found.clear()
            self._tables.clear()
            self._people = None
            self._changed = None

    def let_go(self) -> None:
        """Let go of the whole store's frames (about 1.1 GB on a 250,000-patient network) but keep what a
        practice switch reads: the network's gaps, the patients' practices and the per-patient tables. The
        frames are read again only when every patient's gaps must be found again (another period or due
        window, a change to everything); a write's patients are read from the store (:meth:`network_gaps`)."""
        with self._lock:
            self._frames = None
            self._scopes.clear()
            self._rows.clear()

    def patient_table(self, name: str, read: Callable[[list[int] | None], pd.DataFrame]) -> pd.DataFrame:
        """A per-patient table of the whole store (one row per patient, a ``patient_id`` column) read by
        ``read(patient_ids)`` (None: every patient), e.g. the names and contacts the worklist shows:
        read once per store history and brought up to date after a write by reading again only the
        patients the journal names as changed (every patient of a practice changed wholesale; all of them
        after a change to everything). Only for data the change journal covers (not appointments)."""
        with self.ctx.db.session() as s:
            history, version = store_state(s)
        with self._lock:
            held = self._tables.get(name)
        if held is not None and held[0] == history and held[1] == version:
            return held[2]
        table: pd.DataFrame | None = None
        if held is not None and held[0] == history and held[1] < version:
            with self.ctx.db.session() as s:
                version, wholesale, changed = changes_since(s, held[1])
                if None not in wholesale:
                    ids = set(changed)
                    if wholesale:
                        ids |= set(s.scalars(select(Patient.id).where(Patient.practice_id.in_(list(wholesale)))))
                        old = held[2]
                        if "practice_id" in old.columns:
                            ids |= set(old.loc[old["practice_id"].isin(list(wholesale)), "patient_id"].tolist())
                    affected = sorted(int(p) for p in ids)
                    if len(affected) <= _PATCH_MOST:  # more (an import): one read of everything is as quick
                        fresh = read(affected) if affected else held[2].iloc[:0]
                        old = held[2]
                        kept = old[~old["patient_id"].isin(affected).to_numpy()]
                        table = pd.concat([kept, fresh], ignore_index=True) if len(fresh) else \
                            kept.reset_index(drop=True)
        if table is None:
            with self.ctx.db.session() as s:
                history, version = store_state(s)  # read at or after this version: a later change is replayed
            table = read(None)
        with self._lock:
            self._tables[name] = (history, version, table)
        return table

    def network_gaps(self, key: tuple[object, ...], asked: tuple[object, ...],
                     find: Callable[[GapInputs], Found]) -> Found | None:
        """The gaps of the whole network for the inputs of ``key`` (a ``GapInputs.key``) and what
        ``care_gaps`` asked (``asked``: period, day, window...), found by ``find``; None when the network's
        inputs at that state are not held (the caller finds the practice's gaps itself).

        Computed once per (store history, journal version, definitions, measures, ``asked``): a practice
        switch then only filters them. After a write only the patients the journal names as changed since
        (and every patient of a practice changed wholesale) are found again, from the frames and rows in
        hand; a change to everything (value sets, a restored store) finds them all again. Gaps are a
        function of one patient's records and result rows, so the table equals a from-scratch one
        (``tests/services/test_gap_source.py``)."""
        if not self.network:
            return None
        base = key[:4]
        with self._lock:
            net = self._network
            memo = (*base[2:], asked)
            held = self._network_found.get(memo)
        if net is None or net.key != base:
            return None
        history, version = str(base[0]), int(str(base[1]))
        if held is not None and held[0] == history and held[1] == version:
            return held[2], held[3]
        # one finder at a time: a load that comes while another (the page's warm-up) finds the same gaps
        # waits for them rather than finding them a second time beside it (twice the memory and the cores)
        with self._finding:
            with self._lock:
                held = self._network_found.get(memo)
            if held is not None and held[0] == history and held[1] == version:
                return held[2], held[3]
            try:
                return self._find_network(net, memo, history, version, held, find)
            finally:  # on every path (e.g. the frames read whole after an import): not kept for switches
                self.let_go()

    def _find_network(self, net: _NetworkInputs, memo: tuple[object, ...], history: str, version: int,
                      held: tuple[str, int, pd.DataFrame, dict[str, str]] | None,
                      find: Callable[[GapInputs], Found]) -> Found | None:
        """:meth:`network_gaps` found (or brought up to date from ``held``) and kept; None when the records
        of that state cannot be had any more (a write landed since: the caller finds its own)."""
        wanted = list(net.key[3])  # type: ignore[call-overload]
        patients = net.people
        affected: pd.Index | None = None
        if held is not None and held[0] == history and held[1] < version:
            with self.ctx.db.session() as s:
                _, wholesale, changed = changes_since(s, held[1])
            if None not in wholesale:  # per patient (or per practice): only they are found again
                ids = set(changed)
                if wholesale:
                    ids |= set(patients.loc[patients["practice_id"].isin(list(wholesale)), "patient_id"].tolist())
                affected = pd.Index(sorted(ids), dtype="int64")
        asked = net.rows["measure"].isin(wanted).to_numpy()
        rows = net.rows if asked.all() else net.rows[asked]  # every measure (the page): no copy of a million rows
        if affected is None:
            state, data = self._network_frames()  # every patient's gaps: the whole store's frames, for now
            if state != (history, version):
                return None
            try:
                found, failures = find(GapInputs(data, as_evaluated(rows), dict(net.failures)))
            finally:
                del data
                self.let_go()  # found: a practice switch filters them, and a write reads its patients only
        elif not len(affected):  # nobody's records changed (e.g. a practice's own row)
            assert held is not None
            keep = held[2]["patient_id"].isin(patients["patient_id"]).to_numpy()
            found, failures = held[2][keep].reset_index(drop=True), dict(held[3])
        else:
            assert held is not None
            sub = self._records_of(affected, history, version, net.valuesets)
            if sub is None:
                return None
            mine = rows[rows["patient_id"].isin(affected).to_numpy()]
            fresh, new_failures = find(GapInputs(sub, as_evaluated(mine), dict(net.failures)))
            old = held[2]
            # a patient deleted since has no gaps; the others' rows are kept as found
            keep = ~old["patient_id"].isin(affected) & old["patient_id"].isin(patients["patient_id"])
            found = pd.concat([old[keep.to_numpy()], fresh], ignore_index=True) if len(fresh) else \
                old[keep.to_numpy()].reset_index(drop=True)
            failures = {**held[3], **new_failures}
        with self._lock:  # still the inputs of that state (another load may have handed in equal ones)
            if self._network is not None and self._network.key == net.key:
                self._network_found[memo] = (history, version, found, failures)
                self._network_found.move_to_end(memo)
                while len(self._network_found) > _KEEP_NETWORK:
                    self._network_found.popitem(last=False)
        return found, failures

    # --- the network's inputs without the frames ----------------------------------------------------------

    def _network_inputs(self, key: tuple[object, ...], data: MeasureData, rows: pd.DataFrame,
                        failures: dict[str, str]) -> _NetworkInputs:
        """The network's inputs at the state of the frames ``data`` (held under the lock); the patients'
        practices are kept for when the frames are let go."""
        history, version = str(key[0]), int(str(key[1]))
        held = self._people
        if held is None or held[:2] != (history, version):
            people = data.patients[["patient_id", "practice_id"]].copy()
            held = (history, version, people, data.valuesets)
            self._people = held
        return _NetworkInputs(key, held[2], held[3], rows, failures)

    def _light_inputs(self, period: Period, wanted: list[str], asked: list[str] | None,
                      practice_id_list: list[int] | None, progress: Progress) -> GapInputs | str | None:
        """:meth:`inputs` without records, for a source held across practice switches, from the patients'
        practices kept (brought up to date after a write by reading the written patients only) instead of
        the whole store's frames; None when those are not to be had without the frames (none kept yet, or
        a change to everything): the caller reads the frames; ``"raced"`` when writes landed between the
        reads twice."""
        for _ in range(2):
            with self.ctx.db.session() as s:
                before = store_state(s)
            stamp = self.cache.stamp(tuple(wanted))
            progress.report(0.0, "Measure results")
            entry = self.cache.results(period, asked, progress.sub(0.0, 0.7))
            progress.check()
            progress.report(0.7, "Records")
            people = self._people_at(before)
            if people is None:
                return None
            with self.ctx.db.session() as s:
                after = store_state(s)
            if before != after:
                with self._lock:
                    self._changed = None  # its records may be of a later state than it names
            elif entry.version == before[1] and self.cache.stamp(tuple(wanted)) == stamp:
                failures = {k: v for k, v in entry.failures.items() if k in wanted}
                scope = None if practice_id_list is None else tuple(sorted(practice_id_list))
                key = (*before, stamp, tuple(wanted), scope)
                with self._lock:
                    if self._people is None or self._people[:2] != before:
                        self._people = (*before, *people)
                        self._found.clear()
                    self._network = _NetworkInputs(key[:4], people[0], people[1], entry.rows, failures)
                data = MeasureData(patients=people[0], valuesets=people[1])
                return GapInputs(data, entry.rows.iloc[:0], failures, key=key, whole=True)
        return "raced"

    def _people_at(self, state: tuple[str, int]) -> tuple[pd.DataFrame, ValueSetIndex] | None:
        """Every patient's id and practice at ``state`` and the value sets: the ones kept (or the held
        frames') when the store has not changed, patched for the patients a write changed (read from the
        store: their records are kept for :meth:`_find_network`), None after a change to everything."""
        history, version = state
        with self._lock:
            held = self._people
            frames = self._frames
        if held is not None and held[:2] == state:
            return held[2], held[3]
        if frames is not None and frames[:2] == state:
            return frames[2].patients[["patient_id", "practice_id"]].copy(), frames[2].valuesets
        if held is None or held[0] != history or held[1] > version:
            return None
        with self.ctx.db.session() as s:
            now, wholesale, changed = changes_since(s, held[1])
            if None in wholesale:
                return None
            ids = set(changed)
            if wholesale:
                old = held[2]
                ids |= set(old.loc[old["practice_id"].isin(list(wholesale)), "patient_id"].tolist())
                ids |= set(s.scalars(select(Patient.id).where(Patient.practice_id.in_(list(wholesale)))))
        affected = tuple(sorted(int(p) for p in ids))
        if not affected:
            return held[2], held[3]
        if len(affected) > _PATCH_MOST:
            return None  # an import: the frames read whole are as quick
        fresh = load_measure_data(self.ctx.db, patient_id_list=list(affected), with_valuesets=False)
        fresh.valuesets = held[3]
        with self.ctx.db.session() as s:
            after = store_state(s)
        if now == version and after == state:  # records of exactly that state: kept for _find_network
            with self._lock:
                self._changed = (history, held[1], version, affected, fresh)
        old = held[2]
        kept = old[~old["patient_id"].isin(list(affected)).to_numpy()]
        people = pd.concat([kept, fresh.patients[["patient_id", "practice_id"]]], ignore_index=True)
        people = people.astype(old.dtypes.to_dict()).sort_values("patient_id", kind="stable", ignore_index=True)
        return people, held[3]

    def _records_of(self, affected: pd.Index, history: str, version: int,
                    valuesets: ValueSetIndex) -> MeasureData | None:
        """The records of the ``affected`` patients at (``history``, ``version``): those read for the
        write by :meth:`_people_at` when they are the same patients, else read now (None when the store
        moved on meanwhile)."""
        wanted = tuple(int(p) for p in affected)
        with self._lock:
            changed = self._changed
            frames = self._frames
        if frames is not None and frames[:2] == (history, version):
            sub = frames[2].subset(affected)
            for name, frame in sub.frames().items():
                setattr(sub, name, frame.reset_index(drop=True))
            return sub
        if changed is not None and changed[0] == history and changed[2] == version and changed[3] == wanted:
            return changed[4]
        with self.ctx.db.session() as s:
            before = store_state(s)
        fresh = load_measure_data(self.ctx.db, patient_id_list=list(wanted), with_valuesets=False)
        with self.ctx.db.session() as s:
            after = store_state(s)
        if not before == after == (history, version):
            return None
        fresh.valuesets = valuesets
        return fresh

    # --- frames -----------------------------------------------------------------------------------------

    def _network_frames(self) -> tuple[tuple[str, int], MeasureData]:
        """The whole store's frames and the (history, version) they reflect: the ones held when the store
        has not changed, patched from the journal when it has, else read (from the snapshot when current)."""
        with self._lock:
            db = self.ctx.db
            with db.session() as s:
                history, version = store_state(s)
            held = self._frames
            if held is not None and held[0] == history and held[1] == version:
                return (history, version), held[2]
            if held is not None and held[0] == history and held[1] < version:
                patched = patched_copy(db, held[2], held[1])
                if patched is not None:
                    data, version = patched
                    self._hold(history, version, data)
                    return (history, version), data
            data, _ = load_measure_data_cached(db, self.cache.frames_folder, patient_view=True)  # the worklist
            self._hold(history, version, data)  # read at or after ``version``: a later change is replayed
            return (history, version), data

    def _practice_frames(self, practice_id_list: list[int]) -> tuple[tuple[str, int], MeasureData]:
        """The records of the practices' patients read from the store (as :func:`fresh_inputs` reads them)
        and the (history, version) they reflect: no write may land during the read (else a version no
        cache row has, and :meth:`inputs` tries again)."""
        with self.ctx.db.session() as s:
            before = store_state(s)
        data = load_measure_data(self.ctx.db, practice_id_list=practice_id_list)
        with self.ctx.db.session() as s:
            after = store_state(s)
        return (before if before == after else ("", -1)), data

    def _hold(self, history: str, version: int, data: MeasureData) -> None:
        self._frames = (history, version, data)
        snapshot_keeper.offer(self.cache.frames_folder, history, version, data)  # a write's update patches these
        self._scopes.clear()
        self._rows.clear()
        self._found.clear()

    def _scoped(self, state: tuple[str, int], data: MeasureData, practice_id_list: list[int] | None) -> MeasureData:
        if practice_id_list is None:
            return data
        key = (*state, tuple(sorted(practice_id_list)))
        with self._lock:
            found = self._scopes.get(key)
            if found is not None:
                self._scopes.move_to_end(key)
                return found
        patients = data.patients
        ids = patients.loc[patients["practice_id"].isin(practice_id_list), "patient_id"]
        sub = data.subset(pd.Index(ids))
        for name, frame in sub.frames().items():  # as a fresh load has them: 0..n-1
            setattr(sub, name, frame.reset_index(drop=True))
        with self._lock:
            if self._frames is not None and self._frames[:2] == state:
                self._scopes[key] = sub
                while len(self._scopes) > _KEEP_SCOPES:
                    self._scopes.popitem(last=False)
        return sub
