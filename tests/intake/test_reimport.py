"""Re-importing an export of every kind updates the stored rows in place: the same ids, no duplicates, the
changed value written, everything else as it was (pandas 2 and 3 alike: with pandas 3 a re-import whose every
row matched once wrote into a read-only array)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from carenet_desktop.interchange.tabular import KINDS
from carenet_desktop.services import intake
from carenet_desktop.services.context import ServiceContext

from .conftest import PATIENTS, TODAY, count, write_csv


@dataclass(frozen=True)
class Export:
    kind: str
    table: str
    header: list[str]
    rows: list[list[str]]
    changed_row: int  # the row that the newer export changes (index into rows)
    changed_header: str
    new_value: str
    column: str  # the table column that holds it
    stored: Any  # and its stored value after the re-import


EXPORTS = [
    # the store holds M001-M004 already: every row of this export matches one
    Export("patients", "patient", ["Patient ID", "Patient First Name", "Patient Last Name", "Birth Date", "Gender",
                                   "Financial Class", "Zip"],
           [["M001", "Ann", "Smith", "03/01/2019", "F", "Medicaid", "12345"],
            ["M002", "Bo", "Jones", "07/15/2020", "M", "Self Pay", "12345"],
            ["M003", "Cy", "Lee", "01/20/2012", "M", "Commercial", "54321"]],
           1, "Financial Class", "Medicaid", "payer", "medicaid"),
    Export("encounters", "encounter", ["Pat ID", "Enc ID", "Visit Date", "CPT", "Dx Code"],
           [["M001", "E1", "01/15/2024", "99392", "Z00.129"], ["M001", "E2", "02/20/2024", "99213", "J020"],
            ["M002", "E3", "03/01/2024", "99392", ""]],
           1, "Dx Code", "J03.9", "reason_code", "J03.9"),
    Export("immunizations", "immunization", ["MRN", "Vaccine Code", "Date Administered", "Lot Number"],
           [["M001", "03", "2020-03-01", "L1"], ["M001", "20", "2020-05-01", "L2"], ["M002", "08", "2020-08-01", "L3"]],
           0, "Lot Number", "L9", "lot_number", "L9"),
    Export("diagnoses", "condition", ["MRN", "Problem ID", "Dx Code", "Noted Date", "Problem Status"],
           [["M003", "P1", "F900", "2023-04-01", "Active"], ["M003", "P2", "J45.909", "2023-05-01", "Active"],
            ["M001", "P3", "J02.9", "2024-01-01", "Active"]],
           1, "Problem Status", "Resolved", "clinical_status", "resolved"),
    Export("observations", "observation", ["MRN", "Result ID", "Screening Date", "Screening Tool", "Score"],
           [["M002", "O1", "2022-01-10", "M-CHAT R/F", "4"], ["M002", "O2", "2022-07-10", "M-CHAT R/F", "1"],
            ["M001", "O3", "2021-03-01", "PHQ-9", "3"]],
           2, "Score", "12", "value_num", 12.0),
    Export("medications", "medication_request", ["MRN", "Order ID", "RxCUI", "Order Date", "Days Supply", "Qty"],
           [["M003", "RX1", "1091170", "2023-04-02", "30", "30"], ["M003", "RX2", "1091170", "2023-05-02", "30", "30"],
            ["M003", "RX3", "1091170", "2023-06-02", "30", "30"]],
           0, "Days Supply", "60", "supply_days", 60.0),
    Export("referrals", "referral", ["MRN", "Referral ID", "Referral Date", "Referral Type", "Referred To"],
           [["M001", "R1", "2024-01-02", "Help Me Grow", "HMG line"],
            ["M002", "R2", "2024-03-02", "Cardiology", "Dr Heart"], ["M004", "R3", "2025-03-02", "Early Intervention", ""]],
           1, "Referred To", "City Cardiology", "destination", "City Cardiology"),
    Export("appointments", "appointment", ["MRN", "Appt ID", "Appt Date", "Appt Time", "Appt Type", "Appt Status"],
           [["M001", "A1", "2025-07-01", "09:00", "Well child", "Booked"],
            ["M002", "A2", "2025-07-01", "09:20", "Sick visit", "Booked"],
            ["M004", "A3", "2025-07-02", "10:40", "Well child", "Confirmed"]],
           1, "Appt Status", "Cancelled", "status", "cancelled"),
]
VOLATILE = {"version", "updated_at", "import_id"}  # what an update in place may change besides the value


def _rows(ctx: ServiceContext, table: str) -> dict[int, dict[str, Any]]:
    with ctx.db.engine.connect() as conn:
        result = conn.execute(text(f'SELECT * FROM "{table}" ORDER BY id'))
        return {row["id"]: dict(row) for row in result.mappings()}


def _import(ctx: ServiceContext, path: Path, kind: str) -> intake.ImportResult:
    return intake.import_file(ctx, path, kind, practice_code="PEDS1", today=TODAY)


def test_every_kind_is_covered() -> None:
    assert sorted(e.kind for e in EXPORTS) == sorted(KINDS)


@pytest.mark.parametrize("export", EXPORTS, ids=[e.kind for e in EXPORTS])
def test_reimport_updates_in_place(ctx: ServiceContext, tmp_path: Path, export: Export) -> None:
    first = _import(ctx, write_csv(tmp_path / "first.csv", export.header, export.rows), export.kind)
    n = len(export.rows)
    assert first.written and first.rejected == 0
    if export.kind == "patients":  # every row matched a stored patient (and names them)
        assert (first.added, first.updated, first.unchanged) == (0, n, 0)
    else:
        assert (first.added, first.updated, first.unchanged) == (n, 0, 0)
    before = _rows(ctx, export.table)

    same = _import(ctx, write_csv(tmp_path / "same.csv", export.header, export.rows), export.kind)
    assert (same.added, same.updated, same.unchanged) == (0, 0, n)
    assert _rows(ctx, export.table) == before

    newer = [row[:] for row in export.rows]
    newer[export.changed_row][export.header.index(export.changed_header)] = export.new_value
    again = _import(ctx, write_csv(tmp_path / "newer.csv", export.header, newer), export.kind)
    assert (again.added, again.updated, again.unchanged, again.rejected) == (0, 1, n - 1, 0)
    after = _rows(ctx, export.table)
    assert after.keys() == before.keys()  # the same rows, none added
    assert count(ctx, export.table) == len(before)
    changed = [i for i in before if before[i] != after[i]]
    assert len(changed) == 1
    [row_id] = changed
    assert after[row_id][export.column] == export.stored != before[row_id][export.column]
    untouched = {k: v for k, v in before[row_id].items() if k not in VOLATILE | {export.column}}
    assert {k: after[row_id][k] for k in untouched} == untouched
    if export.kind == "patients":
        assert len(after) == len(PATIENTS)
