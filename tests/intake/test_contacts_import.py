"""Contacts in the patient import: phone, guardian and preferred contact method (with EHR header synonyms)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from carenet_desktop.models import Patient
from carenet_desktop.services import intake
from carenet_desktop.services.context import ServiceContext

from .conftest import TODAY, write_csv


def test_contacts_are_imported_normalised_and_checked(ctx: ServiceContext, tmp_path: Path) -> None:
    header = ["MRN", "First Name", "Last Name", "DOB", "Home Phone", "Parent/Guardian", "Preferred Contact Method"]
    rows = [["M001", "Ann", "Smith", "03/01/2019", "(555) 123-4567", "Maria Smith", "SMS"],
            ["N100", "Bo", "Jones", "12/31/2023", "", "", ""],
            ["N101", "Cy", "Lee", "01/02/2022", "12", "Ken Lee", "Mail"],            # too short a phone
            ["N102", "Di", "Lo", "01/02/2022", "555-987-6543", "Al Lo", "carrier pigeon"]]  # unknown method
    result = intake.import_file(ctx, write_csv(tmp_path / "p.csv", header, rows), "patients", practice_code="PEDS1",
                                today=TODAY, valid_rows_only=True)
    assert (result.added, result.updated, result.rejected) == (1, 1, 2)
    reasons = sorted(result.problems["reason"])
    assert reasons[0] == "not a contact method (call, text, letter, portal or in person)"
    assert reasons[1] == "not a phone number"
    with ctx.db.session() as s:
        ann = s.scalar(select(Patient).where(Patient.mrn == "M001"))
        assert (ann.phone, ann.guardian, ann.contact_method) == ("(555) 123-4567", "Maria Smith", "text")
        bo = s.scalar(select(Patient).where(Patient.mrn == "N100"))
        assert (bo.phone, bo.guardian, bo.contact_method) == (None, None, None)
