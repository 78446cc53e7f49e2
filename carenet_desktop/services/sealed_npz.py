"""A sealed ``.npz`` cache file (``cache_files``: AES-256-GCM segments) read in place, segment by segment.

The archive's plain bytes go into one buffer of the archive's size, each segment decrypted straight into its
place there (``update_into``: no copy of the plain text) when a member that lies in it is first read, and
never twice; a member's array is then a view of the buffer, as a plain snapshot's are views of its file's
mapping (``mapped_npz``). So a read of the whole frames snapshot decrypts each byte once and copies none of
it, and a read of a results file's head (its practice summary) decrypts only the segments that head lies in.
Untouched parts of the buffer are never written, so the system never gives them memory; a buffer read
whole is given its memory at once.

Authentication: the layout is checked at open - every size field, and the last segment, which authenticates
only as the last (a file cut anywhere fails there); a middle segment that was changed, swapped or dropped
fails when a member in it is read (``ValueError``). A segment's bytes are used only after its tag checked:
until then it is not marked read, and a failed one leaves its member unread. The members' CRC-32 is not
checked again: the tag covers each byte of the archive as it was written, which a CRC adds nothing to.
"""

from __future__ import annotations

import bisect
import io
import itertools
import mmap
import os
import struct
import zipfile
from typing import Any

import numpy as np

from .mapped_npz import member_array

_TAG_BYTES = 16
_SPARE = 15  # room after a segment's place that the cipher may ask for (a block less one byte)


class SealedNpz:
    """The arrays of the sealed archive in the open file ``f``: ``z[name]``, ``name in z``, ``z.files`` and
    ``z.zip`` as ``np.load``'s ``NpzFile`` has them. ``copies``: each array its own memory (as ``np.load``
    gives them), else a view of the archive's buffer (which it keeps alive). ``whole``: the archive is to be
    read whole (the frames snapshot), its buffer's pages are given at once, not one fault each."""

    def __init__(self, f: Any, key: bytes, magic: bytes, segment: int, *, copies: bool = False,
                 whole: bool = False) -> None:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self._f, self._key, self._magic, self._copies = f, key, magic, copies
        self._invalid, self._cipher, self._algorithm, self._gcm = InvalidTag, Cipher, algorithms.AES, modes.GCM
        end = os.fstat(f.fileno()).st_size
        f.seek(0)
        head = f.read(len(magic) + 8)
        if len(head) != len(magic) + 8 or not head.startswith(magic):
            raise ValueError("not a sealed cache file")
        self._prefix = head[len(magic):]
        places: list[tuple[int, int]] = []  # (offset in the file, sealed size) of each segment
        at = len(head)
        while at < end:
            f.seek(at)
            size_field = f.read(4)
            if len(size_field) != 4:
                raise ValueError("sealed cache file is truncated")
            (size,) = struct.unpack(">I", size_field)
            if not _TAG_BYTES <= size <= segment + _TAG_BYTES:
                raise ValueError("sealed cache file is damaged")
            if at + 4 + size > end:
                raise ValueError("sealed cache file is truncated")
            places.append((at + 4, size))
            at += 4 + size
        if not places:
            raise ValueError("sealed cache file is truncated")
        self._places = places
        self._starts = list(itertools.accumulate((size - _TAG_BYTES for _, size in places), initial=0))
        self.size = self._starts[-1]
        self._plain = _buffer(self.size + _SPARE, whole)
        self._sealed = bytearray(max(size for _, size in places))  # each segment read into it in turn
        self._done = [False] * len(places)
        self.decrypted = 0  # segments decrypted so far
        self._open(len(places) - 1)  # the last must authenticate as the last
        self.zip = zipfile.ZipFile(_Reader(self))
        self._members = {(i.filename[:-4] if i.filename.endswith(".npy") else i.filename): i
                         for i in self.zip.infolist()}
        self.files = list(self._members)

    def __enter__(self) -> SealedNpz:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.zip.close()
        self._sealed = bytearray()

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def __getitem__(self, name: str) -> np.ndarray:
        info = self._members[name]
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ValueError(f"member {info.filename!r} is not stored plainly")
        self.plain(info.header_offset, info.header_offset + 30)  # the local header: then its name, the member
        name_length, extra_length = struct.unpack("<HH", bytes(self._plain[info.header_offset + 26:
                                                                             info.header_offset + 30]))
        self.plain(info.header_offset, info.header_offset + 30 + name_length + extra_length + info.file_size)
        values = member_array(self._plain[:self.size], info, crc=False)
        return values.copy() if self._copies else values

    def plain(self, start: int, stop: int) -> memoryview:
        """The archive's bytes ``start:stop`` (cut at its end), their segments decrypted first."""
        stop = min(stop, self.size)
        if start < stop:
            first = bisect.bisect_right(self._starts, start) - 1
            last = bisect.bisect_right(self._starts, stop - 1) - 1
            for index in range(first, last + 1):
                if not self._done[index]:
                    self._open(index)
        return self._plain.data[start:max(start, stop)]

    def _open(self, index: int) -> None:
        offset, size = self._places[index]
        self._f.seek(offset)
        with memoryview(self._sealed) as scratch, scratch[:size] as sealed:
            if self._f.readinto(sealed) != size:
                raise ValueError("sealed cache file is truncated")
            last = index == len(self._places) - 1
            nonce = self._prefix + struct.pack(">I", index)
            decryptor = self._cipher(self._algorithm(self._key), self._gcm(nonce, bytes(sealed[-_TAG_BYTES:]))
                                     ).decryptor()
            decryptor.authenticate_additional_data(self._magic + self._prefix + struct.pack(">I?", index, last))
            start, stop = self._starts[index], self._starts[index + 1]
            with self._plain.data[start:stop + _SPARE] as place:
                try:
                    written = decryptor.update_into(sealed[:-_TAG_BYTES], place)
                    decryptor.finalize()
                except self._invalid:
                    raise ValueError("sealed cache file does not authenticate") from None
        if written != stop - start:
            raise ValueError("sealed cache file is damaged")
        self._done[index] = True
        self.decrypted += 1


def _buffer(size: int, whole: bool) -> np.ndarray:
    """``size`` bytes of fresh memory in pages of the usual size, given as they are first written, or all
    at once (``whole``, where the system can: one call instead of a fault per page). Not ``np.empty``: NumPy
    asks for huge pages for a large array, and on a busy machine the system then compacts memory to find
    them, at a cost several times the decryption's."""
    if whole and hasattr(mmap, "MAP_POPULATE"):
        pages = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)
    else:
        pages = mmap.mmap(-1, size)
    return np.frombuffer(pages, dtype=np.uint8)  # the arrays viewing it keep the mapping alive


class _Reader(io.RawIOBase):
    """The archive's plain bytes as a seekable file, for ``zipfile`` to read its directory from."""

    def __init__(self, archive: SealedNpz) -> None:
        super().__init__()
        self._archive = archive
        self._at = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: self._archive.size}[whence]
        self._at = max(0, base + offset)
        return self._at

    def readinto(self, buffer: Any) -> int:
        with memoryview(buffer).cast("B") as out:
            part = self._archive.plain(self._at, self._at + len(out))
            out[:len(part)] = part
        self._at += len(part)
        return len(part)


__all__ = ["SealedNpz"]
