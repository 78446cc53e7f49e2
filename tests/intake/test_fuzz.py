"""Property tests: malformed rows, odd encodings, huge fields and random column orders never crash the
importer, never leave a partial import, and every rejected row is in the report."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carenet_desktop.models.database import open_database
from carenet_desktop.services import intake
from carenet_desktop.services.context import ServiceContext

from .conftest import TODAY, copy_store

HEADER = ["MRN", "Encounter ID", "Visit Date", "CPT", "Dx Code", "Description"]
JUNK = st.text(alphabet=st.sampled_from(list("ab1 9,;\t\"'\n\r-./é€ü😀")), max_size=12)
HUGE = st.integers(200, 5_000).map(lambda n: "x" * n)
VALID = {
    "MRN": st.sampled_from(["M001", "M002", "M003", "M004"]),
    "Visit Date": st.dates(min_value=dt.date(2018, 1, 1),
                           max_value=dt.date(2025, 6, 1)).map(lambda d: d.isoformat()),
    "CPT": st.sampled_from(["99392", "99213", "G0438", "99391-25"]),
    "Dx Code": st.sampled_from(["", "J02.0", "Z00129"]),
    "Description": st.text(max_size=20),
}
RAW_LINE = st.text(alphabet=st.sampled_from(list("ab1,;|\t -\x00")), max_size=40)  # no quotes, no newlines


@st.composite
def export_files(draw: st.DrawFn) -> tuple[bytes, str, list[tuple[int, str]]]:
    """(file bytes, encoding, [(row number, record id as read back)] of the structured rows)."""
    order = draw(st.permutations(HEADER))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    n = draw(st.integers(0, 12))
    lines: list[list[str] | str] = []
    counter = itertools.count()
    for _ in range(n):
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(RAW_LINE))
            continue
        cells = {}
        for column in HEADER:
            choice = draw(st.integers(0, 9))
            valid = f"E{next(counter)}" if column == "Encounter ID" else draw(VALID[column])
            cells[column] = valid if choice < 7 else draw(HUGE) if choice == 9 else draw(JUNK)
        lines.append([cells[c] for c in order])
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(order)
    tracked: list[tuple[int, str]] = []
    for record, line in enumerate(lines, start=2):
        if isinstance(line, str):
            buf.write(line + "\r\n")
        else:
            writer.writerow(line)
            if any(line):
                tracked.append((record, line[order.index("Encounter ID")]))
    data = buf.getvalue().encode(encoding, errors="replace")
    roundtrip = {}
    if encoding == "cp1252":  # ids as the importer will read them back
        roundtrip = {rid: rid.encode("cp1252", errors="replace").decode("cp1252") for _, rid in tracked}
    return data, encoding, [(row, roundtrip.get(rid, rid).strip()) for row, rid in tracked]


def _state(ctx: ServiceContext) -> tuple:
    with ctx.db.engine.connect() as conn:
        return tuple(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {t}").scalar_one()
                     for t in ("encounter", "data_import", "import_change", "audit_log"))


FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])


@FUZZ
@given(export=export_files())
def test_all_or_nothing_never_crashes_and_never_writes_part(export, store_template: Path, tmp_path_factory) -> None:
    data, _, _ = export
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "export.csv"
    path.write_bytes(data)
    ctx = ServiceContext(open_database(copy_store(store_template, folder / "s.db"), migrate=False), username="fuzz")
    before = _state(ctx)
    result = intake.import_file(ctx, path, "encounters", practice_code="PEDS1", today=TODAY,
                                rejections=folder / "r.csv")
    after = _state(ctx)
    assert result.problems["row"].nunique() == result.rejected
    if result.rejected:
        # no clinical row, no undo entry; only the attempt is logged (one import record, one audit entry)
        assert not result.written and (after[0], after[2]) == (before[0], before[2])
        assert (after[1], after[3]) == (before[1] + 1, before[3] + 1)
        assert (folder / "r.csv").exists()
    else:
        assert result.written and after[0] == before[0] + result.added == before[0] + result.rows
    ctx.db.dispose()


@FUZZ
@given(export=export_files())
def test_valid_rows_only_imports_exactly_the_unreported_rows(export, store_template: Path, tmp_path_factory) -> None:
    data, _, tracked = export
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "export.csv"
    path.write_bytes(data)
    ctx = ServiceContext(open_database(copy_store(store_template, folder / "s.db"), migrate=False), username="fuzz")
    result = intake.import_file(ctx, path, "encounters", practice_code="PEDS1", today=TODAY, valid_rows_only=True)
    reported = set(result.problems["row"])
    assert len(reported) == result.rejected
    assert result.added + result.updated + result.unchanged + result.rejected == result.rows
    with ctx.db.engine.connect() as conn:
        stored = {r[0] for r in conn.exec_driver_sql("SELECT source_id FROM encounter")}
        assert len(stored) == conn.exec_driver_sql("SELECT COUNT(*) FROM encounter").scalar_one() == result.added
    for row, rid in tracked:
        if row in reported:
            continue
        assert (rid or f"row {row}") in stored, f"row {row} was neither imported nor reported"
    ctx.db.dispose()
