"""A lone period's measures shared out with a forked copy of the process (``metrics.split_evaluation``): the
same rows, versions and failures as one process evaluating them, and the copy does evaluate some of them."""

from __future__ import annotations

import contextvars
import dataclasses
import os
import signal
import sys
import threading
import time

import pandas as pd
import pytest

from carenet_desktop.metrics import engine
from carenet_desktop.metrics.engine import evaluate_measures, evaluate_periods
from carenet_desktop.metrics.memo import FrameMemo
from carenet_desktop.metrics.period import Period
from carenet_desktop.services import split_evaluation
from carenet_desktop.services.context import Cancelled
from tests.measure_catalogue import CATALOGUE
from tests.stores import demo_measure_data

pytestmark = pytest.mark.skipif(sys.platform != "linux" or (os.cpu_count() or 1) < 2,
                                reason="the split forks (Linux, two cores or more)")

PERIODS = [Period.parse("2025"), Period.parse("2026")]
#: the longest a cancelled split may take to stop (s; it stops at once: a freeze guard only)
FREEZE_GUARD_S = 10.0


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):  # type: ignore[no-untyped-def]
    return demo_measure_data(tmp_path_factory)


@pytest.fixture
def split(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(split_evaluation, "MIN_PATIENTS", 0)  # the demo store is small
    monkeypatch.delitem(sys.modules, "PySide6", raising=False)  # (a Qt test earlier in the session imported it)
    split_evaluation.enable()
    split_evaluation.last_split.clear()
    yield
    split_evaluation.enable(False)


def _fresh(data):  # type: ignore[no-untyped-def]
    return dataclasses.replace(data, memo=FrameMemo())


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
def test_a_split_period_has_the_rows_of_one_process(demo_data, split, period):
    measures = CATALOGUE.select(None)
    seen: list[str] = []
    run = evaluate_measures(_fresh(demo_data), period, measures, on_measure=lambda i, n, m: seen.append(m))
    shared = dict(split_evaluation.last_split)
    split_evaluation.enable(False)
    alone = evaluate_measures(_fresh(demo_data), period, measures)
    assert shared["forked"] > 0 and shared["here"] > 0  # both processes evaluated measures
    assert shared["forked"] + shared["here"] == len(measures)
    assert len(seen) == shared["here"] and seen == sorted(seen, key=[m.id for m in measures].index)
    assert run.failures == alone.failures
    assert run.versions == alone.versions and list(run.versions) == list(alone.versions)
    assert list(run.seconds) == list(alone.seconds)
    assert [m.id for m in run.measures] == [m.id for m in alone.measures]
    assert len(run.rows) > 0
    pd.testing.assert_frame_equal(run.rows, alone.rows)


def test_a_failing_measure_fails_alike_in_the_copy(demo_data, split, monkeypatch):
    measures = CATALOGUE.select(None)
    broken = {measures[i].id for i in range(0, len(measures), 2)}  # some land in each process
    real = engine.resolve

    class Broken:
        def __init__(self, impl):  # type: ignore[no-untyped-def]
            self.version = impl.version

        def evaluate(self, data, period):  # type: ignore[no-untyped-def]
            raise ValueError("boom")

    monkeypatch.setattr(engine, "resolve", lambda m, p, v=None: Broken(real(m, p, v)) if m.id in broken else real(m, p, v))
    run = evaluate_measures(_fresh(demo_data), PERIODS[0], measures)
    assert split_evaluation.last_split["forked"] > 0
    assert set(run.failures) >= broken
    assert all(run.failures[m] == "failed: ValueError: boom" for m in broken)


def test_measures_the_copy_never_sent_are_evaluated_here(demo_data, split, monkeypatch):
    measures = CATALOGUE.select(None)
    monkeypatch.setattr(split_evaluation, "_receive", lambda fd, pid, _wanted: (os.close(fd), os.waitpid(pid, 0), {})[2])
    run = evaluate_measures(_fresh(demo_data), PERIODS[0], measures)
    split_evaluation.enable(False)
    alone = evaluate_measures(_fresh(demo_data), PERIODS[0], measures)
    pd.testing.assert_frame_equal(run.rows, alone.rows)
    assert run.failures == alone.failures


def _cancel_at_second_measure(told: set[int], i: int) -> bool:
    return i > 0  # this process's second measure: the copy still works on its first


def _cancel_when_told_again(told: set[int], i: int) -> bool:
    if i in told:  # told again: this process, done with every other measure, waits for the copy's
        return True
    told.add(i)
    return False


@pytest.mark.parametrize("cancel_now", [_cancel_at_second_measure, _cancel_when_told_again],
                         ids=["while evaluating", "while waiting for the copy"])
def test_a_cancelled_split_stops_its_copy(demo_data, split, monkeypatch, cancel_now):
    measures = CATALOGUE.select(None)
    children_before = _children()
    here, real = os.getpid(), engine.resolve

    class Endless:  # the copy's measures never end: only a kill stops it
        version = "endless"

        def evaluate(self, data, period):  # type: ignore[no-untyped-def]
            time.sleep(3600)

    monkeypatch.setattr(engine, "resolve", lambda m, p, v=None: real(m, p, v) if os.getpid() == here else Endless())
    told: set[int] = set()

    def cancel(i, n, measure_id):  # type: ignore[no-untyped-def]
        if cancel_now(told, i):
            raise Cancelled()

    raised: list[BaseException] = []

    def evaluate() -> None:
        try:
            evaluate_measures(_fresh(demo_data), PERIODS[0], measures, on_measure=cancel)
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(evaluate,), daemon=True)  # split on
    thread.start()
    thread.join(timeout=FREEZE_GUARD_S)  # a copy left running would fill its pipe and never exit
    try:
        assert not thread.is_alive(), "the cancelled split froze"
        assert len(raised) == 1 and isinstance(raised[0], Cancelled)
        assert _children() == children_before  # the copy was killed and reaped
    finally:
        for pid in _children() - children_before:  # (a failed run leaves no process behind)
            os.kill(pid, signal.SIGKILL)


_ORPHAN = """
import os, sys, time
from carenet_desktop.services import split_evaluation
class M:
    def __init__(self, i):
        self.id = f"m{i}"
worker = os.getpid()
def one(m):
    if os.getpid() != worker:  # the copy: says who it is, then works for ever on what it claims
        with open(sys.argv[1], "a") as f:
            f.write(f"{os.getpid()}\\n")
        time.sleep(3600)
    time.sleep(0.5)
    os._exit(0)  # the worker dies mid-split (killed, out of memory)
split_evaluation.evaluate_split([M(i) for i in range(50)], one, None, 10 ** 6)
"""


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line for line in f)  # (a zombie nobody reaps)
    except FileNotFoundError:
        return True


def test_the_copy_dies_with_its_worker(tmp_path):
    """A worker killed mid-split takes its copy with it (an orphan would evaluate every measure left)."""
    import subprocess
    from pathlib import Path

    pids = tmp_path / "copies"
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", _ORPHAN, str(pids)], cwd=root, timeout=60, check=False)
    deadline = time.monotonic() + FREEZE_GUARD_S
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    copies = [int(line) for line in pids.read_text().split()]
    assert copies
    try:
        while not all(_gone(pid) for pid in copies) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(pid) for pid in copies), "the copy outlived its worker"
    finally:
        for pid in copies:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_several_periods_are_never_split(demo_data, split):
    measures = CATALOGUE.select(["CMS2", "CMS117", "WCV"])
    list(evaluate_periods(_fresh(demo_data), PERIODS, measures))
    assert split_evaluation.last_split == {}
    list(evaluate_periods(_fresh(demo_data), PERIODS[:1], measures))  # one period is
    assert split_evaluation.last_split["forked"] > 0


def test_a_pass_shares_out_the_period_it_is_told_to(demo_data, split, tmp_path, monkeypatch):
    """``share_out``: the pass's last period split with a copy that finds the pass's records (none derived
    again, here or there); the rows of a pass in one process; the records dropped when the pass ends."""
    from carenet_desktop.metrics.period import rolling_12_months
    from tests.services.test_period_copies import _count_pass_records, derived_again

    measures = CATALOGUE.select(None)
    periods = rolling_12_months(PERIODS[0].end, 3)  # (one version of each measure: the same records)
    last = periods[-1]
    log = tmp_path / "pass records"
    _count_pass_records(monkeypatch, log)
    data = _fresh(demo_data)
    passing = evaluate_periods(data, periods, measures, share_out=lambda period: period == last)
    runs = [next(passing) for _ in periods]
    shared = dict(split_evaluation.last_split)
    assert data.memo.kept_for_pass() > 0  # (the pass not ended yet: its records held)
    assert next(passing, None) is None
    assert data.memo.kept_for_pass() == 0
    monkeypatch.undo()
    split_evaluation.enable(False)
    alone = list(evaluate_periods(_fresh(demo_data), periods, measures))
    assert shared["forked"] > 0 and shared["here"] > 0
    lines = [line.split("\t") for line in log.read_text().splitlines()]
    assert any(pid != str(os.getpid()) and period == str(last) and what == "asked" for pid, period, what, _ in lines)
    assert not derived_again(lines, last)
    assert [p for p, _ in runs] == [p for p, _ in alone] == list(periods)
    for (_, run), (_, one) in zip(runs, alone, strict=True):
        assert run.failures == one.failures and run.versions == one.versions
        assert [m.id for m in run.measures] == [m.id for m in one.measures]
        pd.testing.assert_frame_equal(run.rows, one.rows)


def test_not_split_where_it_was_not_enabled_or_is_small(demo_data, split, monkeypatch):
    measures = CATALOGUE.select(["CMS2", "CMS117", "WCV"])
    monkeypatch.setattr(split_evaluation, "MIN_PATIENTS", len(demo_data.patients) + 1)
    evaluate_measures(_fresh(demo_data), PERIODS[0], measures)
    assert split_evaluation.last_split == {}
    monkeypatch.setattr(split_evaluation, "MIN_PATIENTS", 0)
    monkeypatch.setitem(sys.modules, "PySide6", object())  # never in a process that imported Qt
    evaluate_measures(_fresh(demo_data), PERIODS[0], measures)
    assert split_evaluation.last_split == {}


def test_a_worker_process_has_it_on():
    from carenet_desktop.services import compute_pool

    compute_pool.configure(1)
    try:
        pool = compute_pool.active()
        assert pool is not None
        assert pool.submit(split_evaluation.enabled).result(timeout=120) is True
    finally:
        compute_pool.configure(0)
    assert not split_evaluation.enabled()  # (this process: never turned on here)


def test_the_worker_processes_turn_it_on(monkeypatch):
    from carenet_desktop.services import compute_pool, snapshot_child, worker_frames

    monkeypatch.setattr(os, "nice", lambda _n: 0)
    monkeypatch.setattr(worker_frames, "active", False)  # _init_worker turns it on too: undone after the test
    try:
        compute_pool._init_worker(None)
        assert split_evaluation.enabled()
    finally:
        split_evaluation.enable(False)
        snapshot_child.enable(False)  # (_init_worker turns the snapshot's writer process on too)
        worker_frames.drop()


def _children() -> set[int]:
    """This process's child processes (forked by any of its threads)."""
    found: set[int] = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                found |= {int(pid) for pid in f.read().split()}
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return found
