"""Untrusted ZIP archives: zip-slip, links, duplicates, bombs and lying headers are refused whole."""

from __future__ import annotations

import stat
import struct
import zipfile

import pytest

from carenet_desktop.interchange.archive import ArchiveError, ArchiveLimits, safe_extract, safe_read_members


def _zip(path, members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED):  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name) if name.endswith("/") else name, data)
    return path


def test_a_plain_archive_reads_and_extracts(tmp_path):
    src = _zip(tmp_path / "ok.zip", {"manifest.json": b"{}", "data/rows.csv": b"a,b\n1,2\n", "./data/x.txt": b"x"})
    assert safe_read_members(src) == {"manifest.json": b"{}", "data/rows.csv": b"a,b\n1,2\n", "data/x.txt": b"x"}
    assert safe_read_members(src, names={"manifest.json"}) == {"manifest.json": b"{}"}
    out = tmp_path / "out"
    written = safe_extract(src, out)
    assert sorted(p.relative_to(out).as_posix() for p in written) == ["data/rows.csv", "data/x.txt", "manifest.json"]
    assert (out / "data" / "rows.csv").read_bytes() == b"a,b\n1,2\n"


@pytest.mark.parametrize("name", ["../evil.txt", "data/../../evil.txt", "/etc/evil", "C:/evil.txt",
                                  "..\\evil.txt", "data\\..\\..\\evil.txt"])
def test_zip_slip_names_are_refused_and_nothing_is_written(tmp_path, name):
    src = _zip(tmp_path / "slip.zip", {"first.txt": b"1", name: b"owned"})
    out = tmp_path / "deep" / "out"
    with pytest.raises(ArchiveError, match="outside the archive folder"):
        safe_extract(src, out)
    with pytest.raises(ArchiveError, match="outside the archive folder"):
        safe_read_members(src)
    assert list(out.rglob("*")) == []  # the good member written first was removed again
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "deep" / "evil.txt").exists()


def test_symbolic_links_duplicates_and_encrypted_members_are_refused(tmp_path):
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as z:
        info = zipfile.ZipInfo("passwd")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    with pytest.raises(ArchiveError, match="symbolic link"):
        safe_extract(link, tmp_path / "out")
    dup = tmp_path / "dup.zip"
    with zipfile.ZipFile(dup, "w") as z:
        z.writestr("a.txt", b"1")
        z.writestr("A.TXT", b"2")  # the same file on Windows and macOS
    with pytest.raises(ArchiveError, match="appears twice"):
        safe_read_members(dup)
    enc = _zip(tmp_path / "enc.zip", {"a.txt": b"1"}, compression=zipfile.ZIP_STORED)
    raw = bytearray(enc.read_bytes())
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # set the "encrypted" bit in both headers
        at = raw.index(sig)
        raw[at + flag_at] |= 0x1
    enc.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError, match="encrypted"):
        safe_read_members(enc)


def test_decompression_bombs_are_stopped_while_decompressing(tmp_path):
    bomb = _zip(tmp_path / "bomb.zip", {"zeros.bin": bytes(20 * 1024 * 1024)})
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ArchiveError, match="expands more than 200 times"):
        safe_read_members(bomb)
    with pytest.raises(ArchiveError, match="decompression bomb"):
        safe_extract(bomb, tmp_path / "out")
    assert list((tmp_path / "out").rglob("*")) == []
    small = ArchiveLimits(max_member_bytes=1000)
    with pytest.raises(ArchiveError, match="at most 1,000 are accepted"):
        safe_read_members(_zip(tmp_path / "big.zip", {"a": b"x" * 5000}), limits=small)
    with pytest.raises(ArchiveError, match="at most 3 are accepted"):
        safe_read_members(_zip(tmp_path / "many.zip", {f"{i}.txt": b"" for i in range(4)}),
                          limits=ArchiveLimits(max_members=3))
    with pytest.raises(ArchiveError, match="more than 10 bytes"):
        safe_read_members(_zip(tmp_path / "tot.zip", {"a": b"x" * 6, "b": b"y" * 6}),
                          limits=ArchiveLimits(max_total_bytes=10))


def test_a_header_that_lies_about_the_size_does_not_get_through(tmp_path):
    src = _zip(tmp_path / "liar.zip", {"a.bin": bytes(600_000)})
    raw = bytearray(src.read_bytes())
    for sig, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size: claim 10 bytes
        at = raw.index(sig)
        raw[at + size_at:at + size_at + 4] = struct.pack("<I", 10)
    src.write_bytes(bytes(raw))
    with pytest.raises(ArchiveError):
        safe_read_members(src)


def test_not_a_zip_is_a_clear_error(tmp_path):
    bad = tmp_path / "package.zip"
    bad.write_bytes(b"this is not an archive")
    with pytest.raises(ArchiveError, match="package.zip is not a ZIP archive"):
        safe_read_members(bad)
