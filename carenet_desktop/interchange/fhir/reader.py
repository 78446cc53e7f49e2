"""Reading FHIR files: Bundles (``.json``), single resources and bulk-data NDJSON (``.ndjson``)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...metrics.libraries.condition_kind import profile_kind_of
from ..limits import MAX_JSON_BYTES, MAX_NDJSON_LINE_BYTES, TooLarge, check_size
from .mapping import MappingContext, map_resource
from .records import Problem, Record
from .values import MappingError

SUFFIXES = (".json", ".ndjson")


@dataclass
class ParsedFile:
    """The records of one file and the resources that could not be mapped."""

    path: Path
    sha256: str
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # resource types not stored, with counts
    fatal: bool = False  # the file itself could not be read


def collect_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to import: given files as they are, directories recursively (``*.json``, ``*.ndjson``).

    NDJSON files are ordered so that Patients and Practitioners come before the resources pointing to them.
    """
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES))
        elif path.exists():
            out.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", str(path))
    return sorted(dict.fromkeys(out), key=_file_priority)


_TYPE_PRIORITY = ("practitioner", "organization", "medication.", "patient", "coverage", "encounter", "condition")


def _file_priority(path: Path) -> tuple[int, str]:
    name = path.name.lower()
    rank = next((i for i, t in enumerate(_TYPE_PRIORITY) if name.startswith(t)), len(_TYPE_PRIORITY))
    if name.startswith("medication") and not name.startswith("medication."):
        rank = len(_TYPE_PRIORITY)
    return (rank if path.suffix.lower() == ".ndjson" else len(_TYPE_PRIORITY), str(path))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(data: bytes | str) -> Any:
    """``json.loads`` without the non-standard ``NaN``/``Infinity`` (a duration of Infinity days is no
    data) and with a nesting too deep for the parser reported as bad data (``ValueError``), not a crash."""
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def iter_resources(path: Path, data: bytes) -> Iterator[tuple[str, Any]]:
    """(location, resource) pairs; a resource that is not valid JSON is yielded as a ``MappingError``."""
    if path.suffix.lower() == ".ndjson":
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", loads(line)
            except ValueError as exc:
                yield f"line {number}", MappingError(f"invalid JSON ({getattr(exc, 'msg', exc)})")  # or a UnicodeDecodeError
        return
    document = loads(data)  # the caller reports a file that is not JSON
    if isinstance(document, dict) and document.get("resourceType") == "Bundle":
        entries = document.get("entry") or []
        if not isinstance(entries, list):
            raise MappingError("Bundle.entry: expected a list")
        for index, entry in enumerate(entries):
            resource = entry.get("resource") if isinstance(entry, dict) else None
            if resource is None:
                yield f"entry {index}", MappingError("entry without a resource")
            else:
                yield f"entry {index}", resource
    elif isinstance(document, list):  # a plain JSON array of resources
        for index, resource in enumerate(document):
            yield f"item {index}", resource
    else:
        yield "resource", document


#: a Medication resource (not a MedicationRequest: the closing quote), found without parsing the file
_MEDICATION = re.compile(rb'"resourceType"\s*:\s*"Medication"')


def remember_referenced(paths: Iterable[Path], context: MappingContext) -> None:
    """Remember, before any file is mapped, the Medications of every Bundle (``.json``) file of a
    multi-file import, so a ``medicationReference`` finds its Medication whatever the order of the files.
    Only files holding a Medication are parsed twice; NDJSON files are not read twice (bulk exports put
    Medications in ``Medication.ndjson``, which ``collect_paths`` puts first). A file that cannot be read is
    left to the import to report."""
    paths = list(paths)
    if len(paths) < 2:
        return
    for path in paths:
        if path.suffix.lower() == ".ndjson":
            continue
        try:
            check_size(path, MAX_JSON_BYTES, "")
            data = path.read_bytes()
            if not _MEDICATION.search(data):
                continue
            for _location, resource in iter_resources(path, data):
                if isinstance(resource, dict) and resource.get("resourceType") == "Medication":
                    context.remember(resource)
        except (OSError, ValueError, MappingError):
            continue


def parse_file(path: str | Path, context: MappingContext | None = None) -> ParsedFile:
    """Read and map one whole file (pure: the store is not touched)."""
    return next(iter_parsed(path, chunk_size=None, context=context))


def iter_parsed(path: str | Path, chunk_size: int | None = 50_000,
                context: MappingContext | None = None) -> Iterator[ParsedFile]:
    """Read and map a file in chunks of ``chunk_size`` resources (NDJSON is streamed, so memory stays
    bounded however large the export); a Bundle is one chunk. Only the last chunk carries the file's
    SHA-256. Always yields at least one chunk.

    ``context`` carries the resources others may point to (Medication, Organization, Location) from one
    file to the next of the same import: a bulk export puts each type in its own file, so a
    MedicationRequest's ``medicationReference`` is found in ``Medication.ndjson`` (read first, see
    ``collect_paths``). Without it each chunk sees only its own resources."""
    path = Path(path)
    if path.suffix.lower() != ".ndjson":
        try:
            check_size(path, MAX_JSON_BYTES, "Export large data as bulk NDJSON (one resource per line).")
        except TooLarge as exc:
            refused = ParsedFile(path, "")
            refused.problems.append(Problem(str(path), "", str(exc)))
            refused.fatal = True
            yield refused
            return
        data = path.read_bytes()
        parsed = ParsedFile(path, hashlib.sha256(data).hexdigest())
        try:
            items = list(iter_resources(path, data))
        except (ValueError, MappingError) as exc:
            reason = f"not valid JSON ({exc.msg})" if isinstance(exc, json.JSONDecodeError) else str(exc)
            parsed.problems.append(Problem(str(path), "", reason))
            parsed.fatal = True
            yield parsed
            return
        _map_items(parsed, items, context)
        yield parsed
        return
    digest = hashlib.sha256()
    items = []
    with path.open("rb") as fh:
        number = 0
        while line := fh.readline(MAX_NDJSON_LINE_BYTES + 1):  # a bounded read: no line exhausts memory
            number += 1
            digest.update(line)
            if len(line) > MAX_NDJSON_LINE_BYTES:
                while line and not line.endswith(b"\n"):  # skip the rest of the oversized line
                    line = fh.readline(1 << 20)
                    digest.update(line)
                items.append((f"line {number}", MappingError(
                    f"the line is over {MAX_NDJSON_LINE_BYTES // 1024**2} MB; one resource may have at most that")))
                continue
            if not line.strip():
                continue
            try:
                items.append((f"line {number}", loads(line)))
            except ValueError as exc:
                items.append((f"line {number}", MappingError(f"invalid JSON ({getattr(exc, 'msg', exc)})")))
            if chunk_size is not None and len(items) >= chunk_size:
                chunk = ParsedFile(path, "")
                _map_items(chunk, items, context)
                items = []
                yield chunk
    last = ParsedFile(path, digest.hexdigest())
    _map_items(last, items, context)
    yield last


QICORE_PROFILE_PREFIX = "http://hl7.org/fhir/us/qicore/"
#: NUL and the other C0 controls but tab, line feed and carriage return (as the spreadsheet import refuses)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: record kinds that carry ``profile_claim`` (the clinical events measures retrieve)
CLAIM_KINDS = frozenset({
    "encounter", "condition", "observation", "procedure", "immunization", "medication_request",
    "medication_dispense", "service_request",
})


def _profiles(resource: Any) -> list[str]:
    meta = resource.get("meta") if isinstance(resource, dict) else None
    profiles = meta.get("profile") if isinstance(meta, dict) else None
    return [p for p in profiles if isinstance(p, str)] if isinstance(profiles, list) else []


def _map_items(parsed: ParsedFile, items: list[tuple[str, Any]], context: MappingContext | None = None) -> None:
    """Map resources to records.

    Profile claims: when the file claims QI-Core conformance (some resource carries a QI-Core profile),
    each clinical record notes whether its own resource claims a profile ("yes"/"no"), because a QI-Core
    measure engine retrieves only profiled resources and the store must evaluate as it would. A file
    with no profile anywhere (an ordinary EHR export) claims nothing (None) and is evaluated in full.
    """
    path = parsed.path
    ctx = context if context is not None else MappingContext()
    claims_qicore = False
    for _location, resource in items:
        if isinstance(resource, dict):
            ctx.remember(resource)
            claims_qicore = claims_qicore or any(p.startswith(QICORE_PROFILE_PREFIX) for p in _profiles(resource))
    for location, resource in items:
        if isinstance(resource, MappingError):
            parsed.problems.append(Problem(str(path), location, str(resource)))
            continue
        try:
            record = map_resource(resource, ctx)
        except MappingError as exc:
            rtype = resource.get("resourceType") if isinstance(resource, dict) else None
            rid = resource.get("id") if isinstance(resource, dict) else None
            what = f" ({rtype}/{rid})" if rtype and isinstance(rid, str) else ""
            parsed.problems.append(Problem(str(path), location + what, str(exc)))
            continue
        if record is None:
            rtype = str(resource.get("resourceType"))
            parsed.skipped[rtype] = parsed.skipped.get(rtype, 0) + 1
            continue
        bad = _control_field(record)
        if bad is not None:  # a NUL stored would break exports and reports later, and PostgreSQL refuses it
            rid = resource.get("id")
            what = f" ({resource.get('resourceType')}/{rid})" if isinstance(rid, str) else ""
            parsed.problems.append(Problem(str(path), location + what,
                                           f"{bad} holds a control character (NUL or similar): not imported"))
            continue
        record.location = location
        if record.kind in CLAIM_KINDS:
            record.values["profile_claim"] = ("yes" if _profiles(resource) else "no") if claims_qicore else None
        if record.kind == "condition":  # the QI-Core 6 kind it claims (see metrics.libraries.condition_kind)
            record.values["profile_kind"] = profile_kind_of(_profiles(resource))
        parsed.records.append(record)


def _control_field(record: Record) -> str | None:
    """The first stored text value (a column of the record's table) holding a control character."""
    for name, value in record.values.items():
        if isinstance(value, str) and _CONTROL.search(value):
            return name
    return None
