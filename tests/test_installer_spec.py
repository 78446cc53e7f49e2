"""The installed app hashes some of its own source files to name its caches (frames snapshot, results): the
installer must ship them as files, or the bundled app fails on first use (a smoke check found it once)."""

from __future__ import annotations

import re
from pathlib import Path

from carenet_desktop.services.frames_cache import SIGNATURE_SOURCES
from carenet_desktop.services.trend_store import TREND_SOURCES

ROOT = Path(__file__).resolve().parents[1]


def _shipped() -> set[str]:
    """Paths (relative to the package) the spec's ``datas`` ship, files or whole folders."""
    spec = (ROOT / "build_installer.spec").read_text()
    shipped = {"/".join(parts) for parts in
               (re.findall(r'"([^"]+)"', m) for m in re.findall(r'ROOT / "carenet_desktop"((?: / "[^"]+")+)(?=\))', spec))}
    # the generator form: ROOT / "carenet_desktop" / "services" / name for name in (...)
    for folder, names in re.findall(r'ROOT / "carenet_desktop" / "(\w+)" / name\)[^\n]*\n\s*for name in \(([^)]*)\)', spec):
        shipped |= {f"{folder}/{n}" for n in re.findall(r'"([^"]+)"', names)}
    return shipped


def test_every_source_file_a_cache_signature_hashes_is_shipped() -> None:
    shipped = _shipped()
    missing = [name for name in (*SIGNATURE_SOURCES, *TREND_SOURCES)
               if name not in shipped and not any(name.startswith(folder + "/") for folder in shipped)]
    assert not missing, f"build_installer.spec does not ship {missing}"


def test_the_measure_code_the_results_signature_hashes_is_shipped() -> None:
    assert "metrics" in _shipped()  # services/results.py hashes every metrics/*.py
