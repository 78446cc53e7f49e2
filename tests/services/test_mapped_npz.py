"""The frames snapshot's warm read maps the archive instead of copying it (``services.mapped_npz``): the
arrays must equal ``np.load``'s, writes must stay in the process, and a damaged member must fail to read."""

from __future__ import annotations

import mmap
import os
import zipfile

import numpy as np
import pytest

from carenet_desktop.services.cache_files import open_npz, save_npz
from carenet_desktop.services.mapped_npz import MappedNpz

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the mapped read is POSIX only")


def _arrays() -> dict[str, np.ndarray]:
    return {
        "patients/id": np.arange(1000, dtype=np.int64),
        "patients/value": np.array([1.5, np.nan, -2.0]),
        "patients/flag": np.array([True, False, True]),
        "patients/codes": np.array([3, -1, 0, 2], dtype=np.int8),
        "patients/text": np.array(["a", "bé", ""], dtype=str),
        "empty": np.zeros(0, dtype=np.int64),
        "grid": np.arange(12, dtype=np.int32).reshape(3, 4),
        "fortran": np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
    }


def _owner(values: np.ndarray) -> object:
    while isinstance(values.base, np.ndarray):
        values = values.base
    base = values.base
    return base.obj if isinstance(base, memoryview) else base


def test_mapped_arrays_equal_the_loaded_ones(tmp_path):
    path = tmp_path / "s.npz"
    save_npz(path, _arrays(), None)
    with np.load(path) as loaded, open_npz(path, None, mapped=True) as z:
        assert isinstance(z, MappedNpz)
        assert sorted(z.files) == sorted(loaded.files)
        assert "patients/id" in z and "nothing" not in z
        for name in loaded.files:
            got, want = z[name], loaded[name]
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
            assert isinstance(_owner(got), mmap.mmap)  # a view of the file, not a copy
        with pytest.raises(KeyError):
            z["nothing"]


def test_a_write_to_a_mapped_array_stays_in_the_process(tmp_path):
    path = tmp_path / "s.npz"
    save_npz(path, _arrays(), None)
    before = path.read_bytes()
    with open_npz(path, None, mapped=True) as z:
        values = z["patients/id"]
        values[:10] = -7  # the engine may write into a frame's column
        assert values[:10].tolist() == [-7] * 10
    assert path.read_bytes() == before
    with open_npz(path, None, mapped=True) as z:
        assert z["patients/id"][:10].tolist() == list(range(10))


def test_a_damaged_member_fails_to_read(tmp_path):
    path = tmp_path / "s.npz"
    save_npz(path, _arrays(), None)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("patients/id.npy")
    raw[info.header_offset + 30 + len(info.filename) + 200] ^= 0xFF  # a byte of the array's data
    path.write_bytes(bytes(raw))
    with open_npz(path, None, mapped=True) as z:
        np.testing.assert_array_equal(z["patients/flag"], [True, False, True])  # the other members read
        with pytest.raises(zipfile.BadZipFile):
            z["patients/id"]


def test_a_compressed_archive_is_read_by_numpy(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, a=np.arange(5))
    with open_npz(path, None, mapped=True) as z:
        assert not isinstance(z, MappedNpz)
        assert z["a"].tolist() == [0, 1, 2, 3, 4]


def test_the_frames_snapshot_is_read_mapped(oracle, tmp_path):
    """``frames_cache._read`` takes the numeric columns as views of the file, and a frame written to after
    the read leaves the snapshot as it was."""
    from carenet_desktop.services import frames_cache

    data, _ = oracle
    path = tmp_path / "o.npz"
    frames_cache._write(data, path)
    before = path.read_bytes()
    read = frames_cache._read(path)
    column = read.encounters["patient_id"].to_numpy()
    assert isinstance(_owner(column), mmap.mmap)
    read.encounters.loc[0, "patient_id"] = -1
    assert path.read_bytes() == before
    assert frames_cache._read(path).encounters["patient_id"].tolist() == data.encounters["patient_id"].tolist()


def test_a_snapshot_renamed_over_while_it_is_opened_is_read_whole(tmp_path, monkeypatch):
    """Another process saving the same snapshot renames its file over this one just after its directory was
    read: the arrays come from the file that was opened (directory and bytes of one file), never mixed."""
    from carenet_desktop.services import mapped_npz

    path, other = tmp_path / "s.npz", tmp_path / "other.npz"
    first = _arrays()
    save_npz(path, first, None)
    save_npz(other, {name: values[::-1].copy() for name, values in first.items()}, None)
    real = zipfile.ZipFile

    class RenamedAfterReading(real):  # type: ignore[misc, valid-type]
        def close(self) -> None:
            super().close()
            if other.exists():
                os.replace(other, path)  # the other writer's file lands under the same name

    monkeypatch.setattr(mapped_npz.zipfile, "ZipFile", RenamedAfterReading)
    z = MappedNpz(path)
    assert not other.exists()  # the rename did happen while it was opened
    for name, want in first.items():
        np.testing.assert_array_equal(z[name], want)
