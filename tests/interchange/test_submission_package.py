"""The submission package format: written, read back, and refused with a reason when it is not intact."""

from __future__ import annotations

import json
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from carenet_desktop.interchange.archive import ArchiveLimits
from carenet_desktop.interchange.submission import (
    PackageError,
    fingerprint,
    load_public_key_pem,
    public_key_pem,
    read_package,
)
from tests.interchange.submission_support import aggregate_rows, make_package, members, resign, rezip

KEY = Ed25519PrivateKey.generate()


def trusted(code: str):  # type: ignore[no-untyped-def]
    return [KEY.public_key()] if code == "P001" else []


@pytest.fixture
def package(tmp_path):  # type: ignore[no-untyped-def]
    return make_package(tmp_path / "p.zip", KEY)


def _refused(path, match: str, keys=trusted, **kw) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(PackageError, match=match) as info:
        read_package(path, keys, **kw)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_package_reads_back(package) -> None:  # type: ignore[no-untyped-def]
    pkg = read_package(package, trusted)
    assert pkg.practice_code == "P001" and pkg.key_fingerprint == fingerprint(KEY.public_key())
    assert set(members(package)) == {"manifest.json", "manifest.sig", "aggregates.csv"}
    manifest = pkg.manifest
    assert manifest["format_version"] == 1 and manifest["practice"] == {"code": "P001", "name": "Maple Pediatrics"}
    assert manifest["period"] == {"label": "2025", "start": "2025-01-01", "end": "2025-12-31"}
    assert manifest["measures"] == [{"id": "CMS117", "version": "0.1.000"}]
    assert manifest["files"]["aggregates.csv"]["rows"] == 3 and len(manifest["files"]["aggregates.csv"]["sha256"]) == 64
    assert manifest["software"]["version"] and manifest["created_at"]
    expected = aggregate_rows()
    assert pkg.aggregates["numerator"].tolist() == expected["numerator"].tolist()
    assert pkg.aggregates["rate"].round(6).tolist() == expected["rate"].tolist()


def test_public_key_pem_round_trip() -> None:
    pem = public_key_pem(KEY.public_key())
    assert fingerprint(load_public_key_pem("Fingerprint: x\n" + pem)) == fingerprint(KEY.public_key())
    with pytest.raises(PackageError, match="No PEM public key"):
        load_public_key_pem("nothing here")


def test_tampered_byte_in_a_file_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def flip(files: dict[str, bytes]) -> dict[str, bytes]:
        data = bytearray(files["aggregates.csv"])
        data[data.index(b"22")] = ord("9")  # numerator 22 -> 92
        return {**files, "aggregates.csv": bytes(data)}

    _refused(rezip(package, tmp_path / "t.zip", flip), "Checksum mismatch for aggregates.csv")


def test_tampered_byte_in_the_zip_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw = bytearray(package.read_bytes())
    with zipfile.ZipFile(package) as z:
        info = z.getinfo("aggregates.csv")
    raw[info.header_offset + 30 + len("aggregates.csv") + 5] ^= 0x01  # inside the compressed data
    bad = tmp_path / "b.zip"
    bad.write_bytes(bytes(raw))
    _refused(bad, "aggregates.csv")


def test_tampered_manifest_fails_the_signature(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def rename(files: dict[str, bytes]) -> dict[str, bytes]:
        return {**files, "manifest.json": files["manifest.json"].replace(b"Maple", b"Mapla")}

    _refused(rezip(package, tmp_path / "m.zip", rename), "Signature check failed")


def test_truncated_zip_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cut = tmp_path / "cut.zip"
    cut.write_bytes(package.read_bytes()[: package.stat().st_size // 2])
    _refused(cut, "not a ZIP archive")


def test_removed_file_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gone = rezip(package, tmp_path / "r.zip", lambda f: {k: v for k, v in f.items() if k != "aggregates.csv"})
    _refused(gone, "aggregates.csv listed in the manifest is missing")


def test_unsigned_package_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    unsigned = rezip(package, tmp_path / "u.zip", lambda f: {k: v for k, v in f.items() if k != "manifest.sig"})
    _refused(unsigned, "not signed")


def test_wrong_key_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = make_package(tmp_path / "o.zip", Ed25519PrivateKey.generate())
    _refused(other, "Signature check failed")


def test_practice_without_a_trusted_key_is_refused(package) -> None:  # type: ignore[no-untyped-def]
    _refused(package, "No trusted key is registered for practice P001", keys=lambda code: [])


def test_wrong_format_version_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def newer(files: dict[str, bytes]) -> dict[str, bytes]:
        return resign(files, KEY, lambda m: m.update(format_version=99))

    _refused(rezip(package, tmp_path / "v.zip", newer), "Unsupported package format version 99")


def test_wrong_format_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def other(files: dict[str, bytes]) -> dict[str, bytes]:
        return resign(files, KEY, lambda m: m.update(format="something-else"))

    _refused(rezip(package, tmp_path / "f.zip", other), "does not declare the 'carenet-submission' format")


@pytest.mark.parametrize("name", ["../evil.csv", "/etc/evil.csv", "a/../../evil.csv", "C:/evil.csv"])
def test_zip_slip_is_refused(package, tmp_path, name) -> None:  # type: ignore[no-untyped-def]
    slip = rezip(package, tmp_path / "s.zip", lambda f: {**f, name: b"x"})
    _refused(slip, "points outside the archive folder")


def test_decompression_bomb_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    bomb = rezip(package, tmp_path / "bomb.zip", lambda f: {**f, "aggregates.csv": b"0" * (4 * 1024**2)})
    assert bomb.stat().st_size < 64 * 1024
    _refused(bomb, "decompression bomb")


def test_total_uncompressed_size_is_limited(package) -> None:  # type: ignore[no-untyped-def]
    _refused(package, "bytes uncompressed", limits=ArchiveLimits(max_total_bytes=1000))


def test_unlisted_extra_file_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    extra = rezip(package, tmp_path / "x.zip", lambda f: {**f, "patients.csv": b"mrn\n123\n"})
    _refused(extra, "does not list: patients.csv")


def test_signed_but_malformed_table_is_refused(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def negative(files: dict[str, bytes]) -> dict[str, bytes]:
        files = {**files, "aggregates.csv": files["aggregates.csv"].replace(b",22,", b",-22,")}
        return resign(files, KEY)

    _refused(rezip(package, tmp_path / "n.zip", negative), "numerator is not a whole number")


def test_signed_package_with_counts_in_a_suppressed_cell_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rows = aggregate_rows()
    rows.loc[1, "suppression"] = "small cell"
    _refused(make_package(tmp_path / "c.zip", KEY, rows=rows), "suppressed cell carries counts")


@pytest.mark.parametrize(("row", "changes", "match"), [
    (0, {"exclusions": 3, "numerator": 20}, "small cell"),          # 3 excluded children published
    (1, {"numerator": 25}, "small cell"),                           # 30 - 25: 5 children who miss
    (0, {"numerator": 61}, "impossible counts"),                    # numerator above the denominator
    (0, {"denominator": 70}, "impossible counts"),                  # denominator above the population
    (2, {"exceptions": 31}, "impossible counts"),
])
def test_signed_package_with_small_or_impossible_counts_is_refused(tmp_path, row, changes, match) -> None:  # type: ignore[no-untyped-def]
    """Issue 22: the office accepted signed packages with counts of 3, numerator > denominator..."""
    rows = aggregate_rows()
    for col, value in changes.items():
        rows.loc[row, col] = value
    _refused(make_package(tmp_path / "s.zip", KEY, rows=rows), match)


@pytest.mark.parametrize(("edit", "match"), [
    (lambda m: m["period"].update(start="2025-12-31", end="2025-01-01"), "ends before it starts"),
    (lambda m: m.update(created_at="9999-12-31T23:59:59+00:00"), "lies in the future"),
    (lambda m: m.update(created_at="yesterday"), "not a date and time"),
])
def test_signed_manifest_with_an_impossible_period_or_time_is_refused(package, tmp_path, edit, match) -> None:  # type: ignore[no-untyped-def]
    """A period ending before it starts; created_at in 9999, which would supersede every later correction."""
    changed = rezip(package, tmp_path / "m.zip", lambda f: resign(f, KEY, edit))
    _refused(changed, match)


def test_row_count_must_match_the_manifest(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def fewer(files: dict[str, bytes]) -> dict[str, bytes]:
        lines = files["aggregates.csv"].decode().splitlines(keepends=True)
        return resign({**files, "aggregates.csv": "".join(lines[:-1]).encode()}, KEY)

    _refused(rezip(package, tmp_path / "w.zip", fewer), "has 2 rows; the manifest says 3")


def test_manifest_is_not_json(package, tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = rezip(package, tmp_path / "j.zip", lambda f: {**f, "manifest.json": b"{not json"})
    _refused(broken, "not valid JSON")
    assert json.loads(members(package)["manifest.json"])  # the original is fine
