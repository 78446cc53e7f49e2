"""What the mapping produces: one ``Record`` per FHIR resource, ready for a table of the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: record kinds (= table names of the store) in the order they must be written
KIND_ORDER = (
    "provider",
    "patient",
    "coverage",
    "encounter",
    "condition",
    "observation",
    "procedure",
    "immunization",
    "medication_request",
    "medication_dispense",
    "service_request",
    "appointment",
)


@dataclass
class Record:
    """A mapped resource. ``values`` are column values of the table named by ``kind``.

    References are kept as FHIR ids and resolved by the importer against the store:
    ``patient_ref`` (Patient id), ``encounter_ref`` (Encounter id, within the same patient),
    ``provider_ref`` (Practitioner id). ``diagnoses`` (encounters only) are Encounter.diagnosis entries.
    """

    kind: str
    source_id: str
    values: dict[str, Any]
    patient_ref: str | None = None
    encounter_ref: str | None = None
    provider_ref: str | None = None
    diagnoses: list[dict[str, Any]] = field(default_factory=list)
    location: str = ""  # "entry 3" / "line 17": where it came from in its file


@dataclass
class Problem:
    """A resource (or file) that could not be imported, and why."""

    file: str
    location: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.location}" if self.location else self.file
        return f"{where}: {self.reason}"
