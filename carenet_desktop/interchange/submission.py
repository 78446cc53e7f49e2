"""The network submission package: a practice's aggregate results, signed, for the network office.

A package is a ZIP of three files:

``aggregates.csv``
    one row per measure x group x stratum (``AGGREGATE_COLUMNS``): the counts and the rate, small
    cells already suppressed (blank counts, ``suppression`` says why). No patient identifiers.
``manifest.json``
    format and version, practice code and name, period, measure ids and versions, software version,
    creation time, row counts and the SHA-256 of every other file.
``manifest.sig``
    a detached Ed25519 signature of the exact bytes of ``manifest.json`` (base64).

:func:`read_package` opens a package without trusting it: archive guards (zip-slip, bombs), then
format, signature against the practice's trusted keys, checksums, and the table's schema. Every
refusal is a ``PackageError`` with a one-line reason; nothing is returned half-checked.
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..metrics.suppression import small_anywhere
from ..models.full_disk import whole_file
from .archive import ArchiveError, ArchiveLimits, safe_read_members

FORMAT_NAME = "carenet-submission"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
AGGREGATES = "aggregates.csv"
DATA_FILES = (AGGREGATES,)

#: columns of aggregates.csv, in order
AGGREGATE_COLUMNS = (
    "measure", "measure_version", "group_index", "stratifier", "stratum", "source", "suppression",
    "initial_population", "denominator", "exclusions", "exceptions", "numerator", "rate",
)
COUNT_COLUMNS = ("initial_population", "denominator", "exclusions", "exceptions", "numerator")
SOURCES = ("computed", "self-reported")
SUPPRESSIONS = ("", "small cell", "complementary")

#: a package is small (a few thousand rows); anything much larger is not one
PACKAGE_LIMITS = ArchiveLimits(max_members=8, max_member_bytes=64 * 1024**2, max_total_bytes=64 * 1024**2,
                               max_ratio=100.0)


class PackageError(ValueError):
    """A package that cannot be accepted; the message (one line) says why."""


# ---------------------------------------------------------------------------------------------- keys


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: what the office compares with the practice by phone."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key_pem(text: str) -> Ed25519PublicKey:
    """The Ed25519 public key of the first PEM block in ``text`` (other text around it is ignored)."""
    begin, end = "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----"
    start = text.find(begin)
    stop = text.find(end, start + 1)
    if start < 0 or stop < 0:
        raise PackageError("No PEM public key found (expected a '-----BEGIN PUBLIC KEY-----' block).")
    try:
        key = serialization.load_pem_public_key(text[start:stop + len(end)].encode())
    except ValueError:
        raise PackageError("The PEM public key cannot be read (damaged?).") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PackageError("The public key is not an Ed25519 key.")
    return key


# ------------------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class PackageInfo:
    """What the manifest says about the sender and the content."""

    practice_code: str
    practice_name: str
    period_label: str
    period_start: str  # ISO date
    period_end: str
    measures: Mapping[str, str]  # id -> version
    software_version: str
    created_at: str  # ISO date-time, UTC
    #: the sender's audit head when the package was made ({"entries": n, "last_hash": h}): a copy of the
    #: chain's end outside the store, so a later rewrite of the sender's trail shows against it
    audit: Mapping[str, object] | None = None


def aggregates_csv(frame: pd.DataFrame) -> bytes:
    """``AGGREGATE_COLUMNS`` as CSV bytes (UTF-8, LF line ends, blank for missing)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AGGREGATE_COLUMNS)
    for row in frame[list(AGGREGATE_COLUMNS)].itertuples(index=False, name=None):
        writer.writerow([_csv_value(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def _csv_value(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6f}"
    return value


def build_manifest(info: PackageInfo, files: Mapping[str, bytes], rows: Mapping[str, int],
                   key: Ed25519PublicKey) -> bytes:
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "practice": {"code": info.practice_code, "name": info.practice_name},
        "period": {"label": info.period_label, "start": info.period_start, "end": info.period_end},
        "measures": [{"id": m, "version": v} for m, v in sorted(info.measures.items())],
        "software": {"name": "CareNet Desktop", "version": info.software_version},
        "created_at": info.created_at,
        "audit": dict(info.audit) if info.audit is not None else None,
        "suppression": {"small_cell_min": 1, "small_cell_max": 10, "complementary": True},
        "signature": {"algorithm": "Ed25519", "key_fingerprint": fingerprint(key), "file": SIGNATURE},
        "files": {name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "rows": rows.get(name)}
                  for name, data in sorted(files.items())},
    }
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")


def write_package(path: Path, info: PackageInfo, aggregates: pd.DataFrame, private_key: Ed25519PrivateKey) -> bytes:
    """Write the signed package to ``path`` (through a temporary file); returns the manifest bytes."""
    data = aggregates_csv(aggregates)
    files = {AGGREGATES: data}
    manifest = build_manifest(info, files, {AGGREGATES: len(aggregates)}, private_key.public_key())
    signature = base64.b64encode(private_key.sign(manifest)) + b"\n"
    with whole_file(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in ((MANIFEST, manifest), (SIGNATURE, signature), (AGGREGATES, data)):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), payload,
                             compress_type=zipfile.ZIP_DEFLATED)
    return manifest


# ------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Package:
    """A package that passed every check."""

    manifest: dict[str, Any]
    manifest_sha256: str
    key_fingerprint: str
    aggregates: pd.DataFrame  # AGGREGATE_COLUMNS, counts as Int64, rate as float

    @property
    def practice_code(self) -> str:
        return str(self.manifest["practice"]["code"])


TrustedKeys = Callable[[str], Iterable[Ed25519PublicKey]]


def read_package(path: Path, trusted_keys: TrustedKeys, *, limits: ArchiveLimits = PACKAGE_LIMITS) -> Package:
    """Open and verify a package; ``trusted_keys(practice_code)`` gives the keys registered for a practice."""
    try:
        members = safe_read_members(path, limits=limits)
    except ArchiveError as exc:
        raise PackageError(str(exc)) from None
    except OSError as exc:
        raise PackageError(f"Cannot read {path.name}: {exc.strerror or type(exc).__name__}") from None
    if MANIFEST not in members:
        raise PackageError(f"Not a submission package: {MANIFEST} is missing.")
    if SIGNATURE not in members:
        raise PackageError(f"The package is not signed ({SIGNATURE} is missing).")
    manifest_bytes = members[MANIFEST]
    manifest = _parse_manifest(manifest_bytes)
    code = _text(manifest, ("practice", "code"))
    key = _verify_signature(manifest_bytes, members[SIGNATURE], code, trusted_keys)
    _check_manifest_schema(manifest)
    listed = manifest["files"]
    for name in members:
        if name not in (MANIFEST, SIGNATURE) and name not in listed:
            raise PackageError(f"The package holds a file the manifest does not list: {name}.")
    for name, entry in listed.items():
        if name not in members:
            raise PackageError(f"File {name} listed in the manifest is missing from the package.")
        if hashlib.sha256(members[name]).hexdigest() != entry["sha256"]:
            raise PackageError(f"Checksum mismatch for {name}: the file was changed after signing.")
    aggregates = _parse_aggregates(members[AGGREGATES], manifest)
    return Package(manifest, hashlib.sha256(manifest_bytes).hexdigest(), fingerprint(key), aggregates)


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PackageError(f"{MANIFEST} is not valid JSON.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise PackageError(f"Not a submission package: {MANIFEST} does not declare the {FORMAT_NAME!r} format.")
    version = manifest.get("format_version")
    if version not in SUPPORTED_VERSIONS:
        raise PackageError(f"Unsupported package format version {version!r} "
                           f"(this version of CareNet Desktop reads {', '.join(map(str, SUPPORTED_VERSIONS))}).")
    return manifest


def _verify_signature(manifest: bytes, signature_file: bytes, code: str, trusted_keys: TrustedKeys) -> Ed25519PublicKey:
    try:
        signature = base64.b64decode(signature_file.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise PackageError(f"{SIGNATURE} is not a base64 signature.") from None
    keys = list(trusted_keys(code))
    if not keys:
        raise PackageError(f"No trusted key is registered for practice {code}; "
                           f"register it first (carenet keys trust --practice {code} FILE.pem).")
    for key in keys:
        try:
            key.verify(signature, manifest)
            return key
        except InvalidSignature:
            continue
    raise PackageError(f"Signature check failed: the manifest was not signed by a trusted key of practice {code} "
                       "(changed after signing, or signed with another key).")


def _text(manifest: Mapping[str, Any], path: tuple[str, ...]) -> str:
    value: Any = manifest
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    if not isinstance(value, str) or not value.strip():
        raise PackageError(f"{MANIFEST}: {'.'.join(path)} is missing or not text.")
    return value


def _check_manifest_schema(manifest: Mapping[str, Any]) -> None:
    for path in (("practice", "name"), ("period", "label"), ("period", "start"), ("period", "end"), ("created_at",),
                 ("software", "version")):
        _text(manifest, path)
    for name in ("start", "end"):
        try:
            dt.date.fromisoformat(manifest["period"][name])
        except ValueError:
            raise PackageError(f"{MANIFEST}: period.{name} is not a date.") from None
    if dt.date.fromisoformat(manifest["period"]["end"]) < dt.date.fromisoformat(manifest["period"]["start"]):
        raise PackageError(f"{MANIFEST}: the period ends before it starts.")
    _check_created_at(manifest["created_at"])
    measures = manifest.get("measures")
    if not isinstance(measures, list) or not all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in measures):
        raise PackageError(f"{MANIFEST}: measures must be a list of {{id, version}}.")
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(DATA_FILES):
        raise PackageError(f"{MANIFEST}: files must list exactly {', '.join(DATA_FILES)}.")
    for name, entry in files.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str) or not isinstance(entry.get("rows"), int):
            raise PackageError(f"{MANIFEST}: files.{name} needs sha256 and rows.")


#: how far in the future a package's creation time may lie (clocks differ): a package "made" later would
#: supersede every correction sent before that time
CLOCK_SKEW = dt.timedelta(days=1)


def _check_created_at(text: str, now: dt.datetime | None = None) -> None:
    try:
        created = dt.datetime.fromisoformat(text)
    except ValueError:
        raise PackageError(f"{MANIFEST}: created_at is not a date and time.") from None
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    if created > (now or dt.datetime.now(dt.UTC)) + CLOCK_SKEW:
        raise PackageError(f"{MANIFEST}: created_at {text[:32]} lies in the future.")


def _check_counts(frame: pd.DataFrame) -> None:
    """Refuse what no evaluation produces, and small cells the sender should have suppressed."""
    published = frame[frame["suppression"] == ""]
    if published.empty:
        return
    counts = published[list(COUNT_COLUMNS)].astype("int64")
    impossible = ((counts["numerator"] > counts["denominator"]) | (counts["exclusions"] > counts["denominator"])
                  | (counts["exceptions"] > counts["denominator"])
                  | (counts["denominator"] > counts["initial_population"]))
    if impossible.any():
        row = published[impossible].iloc[0]
        raise PackageError(f"{AGGREGATES}: impossible counts for {row['measure']} group {row['group_index']} "
                           f"(a numerator, exclusion or exception count above its denominator, or a denominator "
                           f"above its initial population).")
    small = small_anywhere(counts)
    if small.any():
        row = published[small.to_numpy()].iloc[0]
        raise PackageError(f"{AGGREGATES}: a small cell (a count or a difference of counts of 1-10 people) is "
                           f"published for {row['measure']} group {row['group_index']}; it should be suppressed.")


def _parse_aggregates(data: bytes, manifest: Mapping[str, Any]) -> pd.DataFrame:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PackageError(f"{AGGREGATES} is not UTF-8 text.") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(header) != AGGREGATE_COLUMNS:
        raise PackageError(f"{AGGREGATES}: unexpected columns (expected {', '.join(AGGREGATE_COLUMNS)}).")
    rows = list(reader)
    expected = manifest["files"][AGGREGATES]["rows"]
    if len(rows) != expected:
        raise PackageError(f"{AGGREGATES} has {len(rows)} rows; the manifest says {expected}.")
    measures = {str(m["id"]) for m in manifest["measures"]}
    records = [_aggregate_row(i + 2, row, measures) for i, row in enumerate(rows)]
    frame = pd.DataFrame.from_records(records, columns=list(AGGREGATE_COLUMNS))
    for col in (*COUNT_COLUMNS, "group_index"):
        frame[col] = pd.array(frame[col], dtype="Int64")
    frame["rate"] = frame["rate"].astype(float)
    keys = ["measure", "group_index", "stratifier", "stratum"]
    if frame.duplicated(keys).any():
        raise PackageError(f"{AGGREGATES}: a measure, group and stratum appears twice.")
    _check_counts(frame)
    return frame


def _aggregate_row(line: int, row: list[str], measures: set[str]) -> tuple[object, ...]:
    if len(row) != len(AGGREGATE_COLUMNS):
        raise PackageError(f"{AGGREGATES} line {line}: {len(row)} fields, expected {len(AGGREGATE_COLUMNS)}.")
    values = dict(zip(AGGREGATE_COLUMNS, row, strict=True))
    if values["measure"] not in measures:
        raise PackageError(f"{AGGREGATES} line {line}: measure {values['measure'][:32]!r} is not in the manifest.")
    if values["source"] not in SOURCES or values["suppression"] not in SUPPRESSIONS:
        raise PackageError(f"{AGGREGATES} line {line}: unknown source or suppression.")
    for col in ("measure_version", "stratifier", "stratum"):
        if len(values[col]) > (64 if col == "stratum" else 32):
            raise PackageError(f"{AGGREGATES} line {line}: {col} is too long.")
    group = _count(values["group_index"], line, "group_index")
    counts = [_count(values[c], line, c) if values[c] != "" else None for c in COUNT_COLUMNS]
    suppressed = values["suppression"] != ""
    if suppressed and (any(c is not None for c in counts) or values["rate"] != ""):
        raise PackageError(f"{AGGREGATES} line {line}: a suppressed cell carries counts.")
    if not suppressed and any(c is None for c in counts):
        raise PackageError(f"{AGGREGATES} line {line}: counts are missing.")
    rate: float = math.nan
    if values["rate"] != "":
        try:
            rate = float(values["rate"])
        except ValueError:
            raise PackageError(f"{AGGREGATES} line {line}: rate is not a number.") from None
        if not 0.0 <= rate <= 1.0:
            raise PackageError(f"{AGGREGATES} line {line}: rate is outside 0..1.")
    return (values["measure"], values["measure_version"], group, values["stratifier"], values["stratum"],
            values["source"], values["suppression"], *counts, rate)


def _count(text: str, line: int, column: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise PackageError(f"{AGGREGATES} line {line}: {column} is not a whole number.")
    return int(text)
