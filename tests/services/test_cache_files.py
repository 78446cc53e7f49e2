"""Sealed cache files: what goes in comes out with the key, and anything else does not open."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from carenet_desktop.services import cache_files
from carenet_desktop.services.cache_files import MAGIC, cache_key, open_npz, save_npz

PASSPHRASE = "a long passphrase 42"


@pytest.fixture
def small_segments(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cache_files, "SEGMENT", 1024)  # many segments from a small archive


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {"ids": np.arange(2000, dtype=np.int64), "values": rng.random(500),
            "meta": np.frombuffer(b'{"mrn": "001-0137205"}', dtype=np.uint8)}


def _segments(raw: bytes) -> list[tuple[int, int]]:
    """(start, end) of every sealed segment, size field included."""
    out, at = [], len(MAGIC) + 8
    while at < len(raw):
        (size,) = struct.unpack(">I", raw[at:at + 4])
        out.append((at, at + 4 + size))
        at += 4 + size
    return out


def _opens(path: Path, key: bytes | None) -> bool:
    try:
        with open_npz(path, key) as z:
            z["ids"]
    except ValueError:
        return False
    return True


def test_round_trip_in_many_segments(tmp_path: Path, small_segments) -> None:  # type: ignore[no-untyped-def]
    key = cache_key(PASSPHRASE, tmp_path)
    path = tmp_path / "r.npz"
    save_npz(path, _arrays(), key)
    raw = path.read_bytes()
    assert raw.startswith(MAGIC) and len(_segments(raw)) > 10
    assert b"001-0137205" not in raw and b"PK" not in raw[len(MAGIC) + 8:len(MAGIC) + 40]
    with open_npz(path, key) as z:
        for name, values in _arrays().items():
            np.testing.assert_array_equal(z[name], values)
    assert {p.name for p in tmp_path.iterdir()} == {"r.npz", "salt"}  # no temporary file left behind


def test_the_key_comes_from_the_passphrase_and_the_folders_salt(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert cache_key(PASSPHRASE, a) == cache_key(PASSPHRASE, a)  # the salt is kept: the next start opens the files
    assert cache_key(PASSPHRASE, a) != cache_key(PASSPHRASE, b)  # each folder its own random salt
    assert cache_key("another long passphrase", a) != cache_key(PASSPHRASE, a)
    assert cache_key(None, tmp_path / "plain") is None and not (tmp_path / "plain").exists()


def test_wrong_key_tampering_and_truncation_do_not_open(tmp_path: Path, small_segments) -> None:  # type: ignore[no-untyped-def]
    key = cache_key(PASSPHRASE, tmp_path)
    path = tmp_path / "r.npz"
    save_npz(path, _arrays(), key)
    raw = path.read_bytes()
    segments = _segments(raw)
    assert _opens(path, key)
    assert not _opens(path, cache_key("another long passphrase", tmp_path / "other"))
    assert not _opens(path, None)  # a sealed file where a plain one belongs
    cases = {
        "flipped byte": raw[:200] + bytes([raw[200] ^ 1]) + raw[201:],
        "cut after a middle segment": raw[:segments[3][1]],
        "cut inside a segment": raw[:segments[3][1] - 5],
        "middle segment removed": raw[:segments[2][0]] + raw[segments[3][0]:],
        "segments swapped": raw[:segments[2][0]] + raw[segments[3][0]:segments[3][1]]
        + raw[segments[2][0]:segments[2][1]] + raw[segments[3][1]:],
        "data after the last segment": raw + b"x",
        "header only": raw[:len(MAGIC) + 8],
        "other magic": b"X" + raw[1:],
    }
    for name, content in cases.items():
        path.write_bytes(content)
        assert not _opens(path, key), name


def test_a_plain_file_does_not_open_as_sealed(tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    save_npz(path, _arrays(), None)
    assert path.read_bytes().startswith(b"PK") and _opens(path, None)
    assert not _opens(path, cache_key(PASSPHRASE, tmp_path))  # an encrypted store never reads plain rows
    assert not list(tmp_path.glob("*.tmp.npz"))
