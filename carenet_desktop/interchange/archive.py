"""Reading ZIP archives from outside without trusting them: zip-slip and decompression-bomb guards.

Every archive that comes in (a submission package, a bulk FHIR export) goes through
:func:`safe_read_members` (into memory) or :func:`safe_extract` (onto disk). Both refuse, with an
``ArchiveError`` meant for the user:

- member names that escape the destination (absolute paths, drive letters, ``..`` parts, NUL bytes),
- symbolic links, encrypted members and names that appear twice (also differing only in case),
- too many members, a member or a total larger than the limits, or a compression ratio beyond the
  limit. Sizes are counted while decompressing, so a header that lies about its size does not help.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_CHUNK = 1 << 16


class ArchiveError(ValueError):
    """An archive that is unsafe or too large to open; the message is meant for the user."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 10_000
    max_member_bytes: int = 2 * 1024**3  # 2 GiB uncompressed per member
    max_total_bytes: int = 8 * 1024**3  # 8 GiB uncompressed in all
    max_ratio: float = 200.0  # uncompressed / compressed, per member (only above 1 MiB)


DEFAULT_LIMITS = ArchiveLimits()
_RATIO_FLOOR = 1 << 20  # small members may compress extremely well (a file of spaces); never a bomb


def _label(name: str) -> str:
    printable = "".join(ch if ch.isprintable() else "?" for ch in name)
    return printable if len(printable) <= 80 else printable[:77] + "..."


def safe_member_path(name: str) -> PurePosixPath:
    """The relative path a member may be written to, or ``ArchiveError`` if it would escape."""
    if "\x00" in name:
        raise ArchiveError(f"Unsafe archive: member name with a NUL byte ({_label(name)}).")
    normal = name.replace("\\", "/")
    path = PurePosixPath(normal)
    if normal.startswith("/") or (len(normal) > 1 and normal[1] == ":") or any(p == ".." for p in path.parts):
        raise ArchiveError(f"Unsafe archive: member {_label(name)!r} points outside the archive folder.")
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts:
        raise ArchiveError(f"Unsafe archive: member with an empty name ({_label(name)!r}).")
    return PurePosixPath(*parts)


def _check_listing(archive: zipfile.ZipFile, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise ArchiveError(f"Archive has {len(infos)} members; at most {limits.max_members} are accepted.")
    seen: set[str] = set()
    declared = 0
    files: list[zipfile.ZipInfo] = []
    for info in infos:
        rel = safe_member_path(info.filename)
        key = str(rel).casefold()
        if key in seen:
            raise ArchiveError(f"Unsafe archive: member {_label(info.filename)!r} appears twice.")
        seen.add(key)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ArchiveError(f"Unsafe archive: member {_label(info.filename)!r} is a symbolic link.")
        if info.flag_bits & 0x1:
            raise ArchiveError(f"Archive member {_label(info.filename)!r} is encrypted; send it unencrypted.")
        if info.is_dir():
            continue
        if info.file_size > limits.max_member_bytes:
            raise ArchiveError(f"Archive member {_label(info.filename)!r} is {info.file_size:,} bytes uncompressed; "
                               f"at most {limits.max_member_bytes:,} are accepted.")
        declared += info.file_size
        if declared > limits.max_total_bytes:
            raise ArchiveError(f"Archive holds more than {limits.max_total_bytes:,} bytes uncompressed; refused.")
        files.append(info)
    return files


def check_archive(path: str | os.PathLike[str], limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
    """Refuse an unsafe or oversized ZIP (an .xlsx is one) before another library opens it.

    Python's zipfile never inflates a member past its declared size, so declared sizes and ratios bound
    what a reader can be made to decompress.
    """
    with _open(path) as archive:
        for info in _check_listing(archive, limits):
            if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise ArchiveError(f"{Path(path).name}: member {_label(info.filename)!r} expands more than "
                                   f"{limits.max_ratio:g} times; refused (possible decompression bomb).")


def _open(path: str | os.PathLike[str]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ArchiveError(f"{Path(path).name} is not a ZIP archive (or it is damaged).") from None


class _Counter:
    """Counts decompressed bytes against the limits (per member, ratio, total)."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.total = 0

    def chunks(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
        written = 0
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    written += len(chunk)
                    self.total += len(chunk)
                    self._check(info, written)
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
            raise ArchiveError(f"Archive member {_label(info.filename)!r} cannot be read: "
                               f"{type(exc).__name__}.") from None

    def _check(self, info: zipfile.ZipInfo, written: int) -> None:
        limits = self.limits
        if written > limits.max_member_bytes or written > info.file_size:
            raise ArchiveError(f"Archive member {_label(info.filename)!r} decompresses to more than its "
                               f"declared or allowed size; refused (possible decompression bomb).")
        if written > _RATIO_FLOOR and written > limits.max_ratio * max(info.compress_size, 1):
            raise ArchiveError(f"Archive member {_label(info.filename)!r} expands more than "
                               f"{limits.max_ratio:g} times; refused (possible decompression bomb).")
        if self.total > limits.max_total_bytes:
            raise ArchiveError(f"Archive holds more than {limits.max_total_bytes:,} bytes uncompressed; refused.")


def safe_read_members(path: str | os.PathLike[str], *, limits: ArchiveLimits = DEFAULT_LIMITS,
                      names: set[str] | None = None) -> dict[str, bytes]:
    """The files of an archive (``normalised/relative/path`` -> bytes), after every check above.

    ``names``: only these members (normalised paths); the listing is still checked as a whole.
    """
    out: dict[str, bytes] = {}
    with _open(path) as archive:
        counter = _Counter(limits)
        for info in _check_listing(archive, limits):
            rel = str(safe_member_path(info.filename))
            if names is not None and rel not in names:
                continue
            out[rel] = b"".join(counter.chunks(archive, info))
    return out


def safe_extract(path: str | os.PathLike[str], dest: str | os.PathLike[str], *,
                 limits: ArchiveLimits = DEFAULT_LIMITS) -> list[Path]:
    """Extract every file under ``dest`` (created if needed); returns the written paths.

    Nothing is left behind on refusal: files written before the problem was found are removed.
    """
    root = Path(dest).resolve()
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        with _open(path) as archive:
            counter = _Counter(limits)
            for info in _check_listing(archive, limits):
                target = (root / safe_member_path(info.filename)).resolve()
                if not target.is_relative_to(root):  # e.g. through a symlinked folder already in dest
                    raise ArchiveError(f"Unsafe archive: member {_label(info.filename)!r} points outside "
                                       "the archive folder.")
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists():
                    raise ArchiveError(f"Cannot extract {_label(info.filename)!r}: a file of that name is already there.")
                with open(target, "xb") as out:
                    written.append(target)
                    for chunk in counter.chunks(archive, info):
                        out.write(chunk)
    except BaseException:
        for file in written:
            file.unlink(missing_ok=True)
        raise
    return written
