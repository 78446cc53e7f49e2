"""A plain ``.npz`` archive read by mapping its file instead of copying it (the frames snapshot's warm read).

``np.load`` copies each array out of the archive into fresh memory: on the 250,000-patient demo that is
about 470 MB allocated, faulted in and copied at every warm start, the larger half of the snapshot's raw
read. The arrays of an archive written by ``np.savez`` (members stored, not compressed) lie in the file as
they are, so they can be views of a copy-on-write mapping of it (``mmap.ACCESS_COPY``): reading a page is
a page-cache hit, and a write to an array changes this process's copy of that page, never the file.

Each member's CRC-32 is checked when it is read, as ``zipfile`` does: a damaged file raises
``BadZipFile`` like ``np.load``'s. Cache files are only ever replaced whole (written to a file of their
own, then renamed over), so a mapped file is never changed under its reader. POSIX only: Windows cannot
rename over or delete a file that is mapped (``open_npz`` reads there with ``np.load``).
"""

from __future__ import annotations

import io
import math
import mmap
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # a zip member's local header: signature ... name and extra lengths
_LOCAL_SIGNATURE = b"PK\x03\x04"
_NPY_HEAD = 65536  # more than any .npy header (numpy's own limit is 10,000 bytes)


class NotMappable(Exception):
    """The archive cannot be read by mapping (a compressed or encrypted member): read it with ``np.load``."""


class MappedNpz:
    """The arrays of the plain ``.npz`` at ``path``, as views of a copy-on-write mapping of the file:
    ``z[name]``, ``name in z``, ``z.files`` as ``np.load``'s ``NpzFile`` has them."""

    def __init__(self, path: Path) -> None:
        # one open for the directory and the mapping: a file renamed over ``path`` between two opens (another
        # process saving the same snapshot) would have its bytes checked against the old file's directory
        with open(path, "rb") as f:
            with zipfile.ZipFile(f) as archive:
                infos = archive.infolist()
            members = {}
            for info in infos:
                if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                    raise NotMappable(info.filename)
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                members[name] = info
            # the arrays keep the mapping alive (each holds it as its buffer): it is unmapped with the last
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        self._members = members
        self.files = list(members)

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def __getitem__(self, name: str) -> np.ndarray:
        return member_array(self._map, self._members[name])


def member_array(buffer: Any, info: zipfile.ZipInfo, *, crc: bool = True) -> np.ndarray:
    """The array of the stored member ``info`` of the archive whose bytes are ``buffer`` (a mapping, or the
    plain bytes of a sealed archive: ``sealed_npz``), as a view of it; ``crc``: check the member's CRC-32."""
    at = info.header_offset
    head = bytes(buffer[at:at + _LOCAL_HEADER.size])
    if len(head) < _LOCAL_HEADER.size:
        raise zipfile.BadZipFile(f"truncated member {info.filename!r}")
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(head)
    if signature != _LOCAL_SIGNATURE:
        raise zipfile.BadZipFile(f"bad local header of {info.filename!r}")
    start = at + _LOCAL_HEADER.size + name_length + extra_length
    end = start + info.file_size
    if end > len(buffer):
        raise zipfile.BadZipFile(f"truncated member {info.filename!r}")
    with memoryview(buffer) as whole, whole[start:end] as member:
        if crc and zlib.crc32(member) != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")
        stream = io.BytesIO(member[:_NPY_HEAD])
    version = npy_format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
    else:  # another header version: numpy's own reader (a copy)
        return npy_format.read_array(io.BytesIO(bytes(buffer[start:end])), allow_pickle=False)
    if dtype.hasobject:
        raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
    count = math.prod(shape)
    offset = start + stream.tell()
    if offset + count * dtype.itemsize != end:
        raise ValueError(f"member {info.filename!r} does not hold its array")
    values = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset)
    return values.reshape(shape[::-1]).transpose() if fortran else values.reshape(shape)


__all__ = ["MappedNpz", "NotMappable", "member_array"]
