"""How big an import may be. Beyond these, a file is refused at once with a clear message instead of
exhausting the memory of a modest office workstation half-way through."""

from __future__ import annotations

from pathlib import Path

from .archive import ArchiveLimits

GiB = 1024**3
MiB = 1024**2

MAX_CSV_BYTES = 4 * GiB  # read in chunks: large is fine, absurd is not
MAX_XLSX_BYTES = 256 * MiB  # Excel itself stops at about a million rows
XLSX_ARCHIVE = ArchiveLimits(max_members=2_000, max_member_bytes=2 * GiB, max_total_bytes=4 * GiB, max_ratio=200.0)
MAX_JSON_BYTES = 1 * GiB  # a FHIR Bundle is parsed whole; bulk exports use NDJSON, which is streamed
MAX_NDJSON_LINE_BYTES = 64 * MiB  # one resource per line


class TooLarge(ValueError):
    """A file over its limit; the message says the size, the limit and what to do."""


def _size(n: int) -> str:
    return f"{n / GiB:.1f} GB" if n >= GiB else f"{n / MiB:.0f} MB"


def check_size(path: Path, limit: int, advice: str) -> None:
    size = path.stat().st_size
    if size > limit:
        raise TooLarge(f"{path.name} is {_size(size)}; files over {_size(limit)} are not accepted. {advice}")
