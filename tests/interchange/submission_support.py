"""Building (and breaking) submission packages for the tests."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from carenet_desktop.interchange.submission import AGGREGATE_COLUMNS, PackageInfo, write_package

INFO = PackageInfo("P001", "Maple Pediatrics", "2025", "2025-01-01", "2025-12-31", {"CMS117": "0.1.000"},
                   "0.1.0", "2026-01-15T10:00:00+00:00")


def aggregate_rows() -> pd.DataFrame:
    rows = [
        ("CMS117", "0.1.000", 0, "", "", "computed", "", 60, 60, 0, 0, 22, 0.366667),  # no count nor complement 1-10
        ("CMS117", "0.1.000", 0, "payer", "medicaid", "computed", "", 30, 30, 0, 0, 11, 0.366667),
        ("CMS117", "0.1.000", 0, "payer", "commercial", "computed", "", 30, 30, 0, 0, 11, 0.366667),
    ]
    frame = pd.DataFrame(rows, columns=list(AGGREGATE_COLUMNS))
    return frame


def make_package(path: Path, key: Ed25519PrivateKey, info: PackageInfo = INFO, rows: pd.DataFrame | None = None) -> Path:
    write_package(path, info, aggregate_rows() if rows is None else rows, key)
    return path


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def rezip(src: Path, dst: Path, change: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    """A copy of the package with its members changed by ``change`` (names may include '../')."""
    files = change(members(src))
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return dst


def resign(files: dict[str, bytes], key: Ed25519PrivateKey, edit: Callable[[dict], None] | None = None) -> dict[str, bytes]:
    """Members with the manifest edited and its checksums and signature made valid again with ``key``."""
    manifest = json.loads(files["manifest.json"])
    for name, entry in manifest["files"].items():
        if name in files:
            entry["sha256"] = hashlib.sha256(files[name]).hexdigest()
    if edit is not None:
        edit(manifest)
    files = dict(files)
    files["manifest.json"] = json.dumps(manifest).encode()
    files["manifest.sig"] = base64.b64encode(key.sign(files["manifest.json"]))
    return files
