"""Small FHIR resources and bundles for the importer tests (synthetic, no real patient data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"


def patient(pid: str, birth: str = "2020-05-01", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN-1"}],
        "name": [{"family": "Test", "given": ["Case"]}],
        "gender": "female",
        "birthDate": birth,
        "extension": [
            {"url": RACE, "extension": [{"url": "ombCategory", "valueCoding": {"code": "2054-5"}}]},
            {"url": ETHNICITY, "extension": [{"url": "ombCategory", "valueCoding": {"code": "2186-5"}}]},
        ],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-MX"}]}, "preferred": True}],
        **extra,
    }


def encounter(eid: str, pid: str, start: str = "2025-03-01T10:00:00Z", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": start, "end": start},
        **extra,
    }


def immunization(iid: str, pid: str, cvx: str = "20", when: str = "2021-01-01") -> dict[str, Any]:
    return {
        "resourceType": "Immunization",
        "id": iid,
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]},
        "patient": {"reference": f"Patient/{pid}"},
        "occurrenceDateTime": when,
    }


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"{r['resourceType']}/{r.get('id')}", "resource": r} for r in resources],
    }


def write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def write_ndjson(path: Path, resources: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in resources]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
