"""dev.py run checks Qt's X11 platform plugin before starting the window: the system libraries it cannot
find, the packages that provide them and the exact install command, and a non-zero exit instead of Qt's abort."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ff9106f6000)
\tlibQt6XcbQpa.so.6 => /x/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007ff910628000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007ff91053e000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007ff910536000)
\tlibxcb-keysyms.so.1 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007ff90e81e000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007ff9106f8000)
"""


@pytest.fixture(scope="module")
def dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("carenet_dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_ldd(tmp_path: Path, output: str) -> str:
    """An ``ldd`` that prints ``output`` whatever it is asked about."""
    (tmp_path / "ldd-output.txt").write_text(output)
    script = tmp_path / "fake-ldd"
    script.write_text(f"#!/bin/sh\ncat '{tmp_path / 'ldd-output.txt'}'\n")
    script.chmod(0o755)
    return str(script)


def test_missing_libraries_are_the_not_found_lines_each_once(dev: ModuleType) -> None:
    assert dev.missing_libraries(LDD_OUTPUT) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert dev.missing_libraries(LDD_OUTPUT.replace("not found", "/lib/x.so (0x1)")) == []


def test_advice_names_the_debian_and_fedora_packages(dev: ModuleType) -> None:
    advice = dev.install_advice(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert "sudo apt-get install libxcb-icccm4 libxcb-keysyms1\n" in advice
    assert "sudo dnf install xcb-util-wm xcb-util-keysyms\n" in advice
    assert "libxcb-icccm.so.4" in advice


def test_advice_for_an_unknown_library_says_how_to_find_its_package(dev: ModuleType) -> None:
    advice = dev.install_advice(["libsomething-odd.so.3"])
    assert "apt-get install" not in advice
    assert "apt-file search" in advice and "libsomething-odd.so.3" in advice


def test_the_check_reports_what_ldd_cannot_find(dev: ModuleType, tmp_path: Path) -> None:
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    ldd = _fake_ldd(tmp_path, LDD_OUTPUT)
    advice = dev.check_qt_platform(plugin, environ={}, platform="linux", ldd=ldd)
    assert advice is not None and "apt-get install libxcb-icccm4 libxcb-keysyms1" in advice
    complete = _fake_ldd(tmp_path, LDD_OUTPUT.replace("not found", "/usr/lib/libx.so (0x1)"))
    assert dev.check_qt_platform(plugin, environ={}, platform="linux", ldd=complete) is None


@pytest.mark.parametrize(("environ", "platform"), [
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),
    ({"QT_QPA_PLATFORM": "minimal"}, "linux"),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux"),
    ({}, "darwin"),
    ({}, "win32"),
])
def test_the_check_is_skipped_where_the_x11_plugin_is_not_used(dev: ModuleType, tmp_path: Path,
                                                                environ: dict[str, str], platform: str) -> None:
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    ldd = _fake_ldd(tmp_path, LDD_OUTPUT)
    assert dev.check_qt_platform(plugin, environ=environ, platform=platform, ldd=ldd) is None
    assert dev.check_qt_platform(plugin, environ={"QT_QPA_PLATFORM": "xcb"}, platform="linux", ldd=ldd)


needs_toolchain = pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("cc")
                                     or not shutil.which("ldd"), reason="needs Linux, a C compiler and ldd")


def _plugin_needing_a_vanished_library(root: Path) -> Path:
    """A tiny shared object linked against libxcb-icccm.so.4, which is then removed: the real ldd reports
    it "not found" (as on a desktop without libxcb-icccm4), whatever the machine has installed."""
    build = root / "build"
    build.mkdir()
    (build / "stub.c").write_text("int xcb_icccm_stub(void) { return 4; }\n")
    (build / "plugin.c").write_text("int xcb_icccm_stub(void);\nint plugin_entry(void) { return xcb_icccm_stub(); }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", "libxcb-icccm.so.4", "-Wl,-soname,libxcb-icccm.so.4",
                    "stub.c"], cwd=build, check=True)
    platforms = root / "lib" / "python3.11" / "site-packages" / "PySide6" / "Qt" / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    plugin = platforms / "libqxcb.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(plugin), "plugin.c", "-Wl,--no-as-needed", "-L.",
                    "-l:libxcb-icccm.so.4"], cwd=build, check=True)
    shutil.rmtree(build)
    return plugin


@needs_toolchain
def test_the_real_ldd_finds_a_missing_library_of_a_built_plugin(dev: ModuleType, tmp_path: Path) -> None:
    plugin = _plugin_needing_a_vanished_library(tmp_path)
    advice = dev.check_qt_platform(plugin, environ={}, platform="linux")
    assert advice is not None
    assert "sudo apt-get install libxcb-icccm4\n" in advice
    assert "sudo dnf install xcb-util-wm\n" in advice


@needs_toolchain
def test_dev_py_run_prints_the_command_and_exits_non_zero_without_starting_the_app(
        dev: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _plugin_needing_a_vanished_library(tmp_path)
    env = dev.Env(".venv")
    env.path = tmp_path  # the fake venv: only PySide6's plugin folder
    monkeypatch.setattr(dev, "ensure_venv", lambda extras, newest=False: env)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    started: list[object] = []
    monkeypatch.setattr(dev.subprocess, "call", lambda *a, **k: started.append(a) or 0)
    monkeypatch.setattr(dev.sys, "platform", "linux")
    assert dev.qt_xcb_plugin(env) is not None
    assert dev.run([]) != 0
    assert started == []
    err = capsys.readouterr().err
    assert "libxcb-icccm.so.4" in err and "apt-get install libxcb-icccm4" in err

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert dev.run([]) == 0 and len(started) == 1  # offscreen: no check, the app starts
