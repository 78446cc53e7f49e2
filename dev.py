#!/usr/bin/env python3
"""Set up and run CareNet Desktop from a source checkout, with nothing but Python 3.11+.

    python3 dev.py run [--newest]      create .venv if needed, install, open the app on the demo network
                                       (first checks that Qt's X11 plugin finds its system libraries on Linux)
    python3 dev.py test [--newest] [pytest args]
                                       create .venv if needed, install with test extras, run the test suite
    python3 dev.py lint                ruff + import-linter + mypy
    python3 dev.py lock [--keep] [uv pip compile args]
                                       refresh requirements/constraints.txt to the newest versions that
                                       pyproject.toml and requirements/lock.in allow (--keep: keep the current
                                       pins, only resolve what changed)

Every install takes its versions from requirements/constraints.txt (the lock): .venv is made anew when the
lock changes, and reinstalled when pyproject.toml does. --newest installs into .venv-newest without the lock: the
newest releases pyproject.toml allows (brought up to date on its first use each day).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "requirements" / "constraints.txt"
LOCK_INPUT = ROOT / "requirements" / "lock.in"
UV = "uv==0.13.9"  # the resolver that writes the lock (in .venv-lock)


class Env:
    """A virtual environment of the checkout: .venv (from the lock), .venv-newest, .venv-lock."""

    def __init__(self, name: str) -> None:
        self.path = ROOT / name
        self.bin = self.path / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / ("python.exe" if os.name == "nt" else "python")

    def create(self) -> None:
        if sys.version_info < (3, 11):  # noqa: UP036 - dev.py must run (and explain) on older Pythons
            sys.exit(f"CareNet Desktop needs Python 3.11 or newer (this is {sys.version.split()[0]}).")
        if not self.python.exists():
            print(f"Creating {self.path.name} ...", flush=True)
            venv.EnvBuilder(with_pip=True).create(self.path)

    def pip(self, *args: str) -> None:
        subprocess.run([str(self.python), "-m", "pip", *args], check=True, cwd=ROOT)

    def installed_once(self, stamp_name: str, digest: str) -> bool:
        stamp = self.path / f".installed-{stamp_name}"
        return stamp.exists() and stamp.read_text() == digest

    def stamp(self, stamp_name: str, digest: str) -> None:
        (self.path / f".installed-{stamp_name}").write_text(digest)


LOCKED = Env(".venv")
NEWEST = Env(".venv-newest")


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_names() -> set[str]:
    """The distributions the lock pins."""
    names = set()
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==", line)
        if match:
            names.add(_normalise(match.group(1)))
    return names


def ensure_venv(extras: str, newest: bool = False) -> Env:
    env = NEWEST if newest else LOCKED
    env.create()
    target = f".[{extras}]" if extras else "."
    stamp_name = extras or "base"
    if newest:
        digest = _digest((ROOT / "pyproject.toml").read_bytes(), extras.encode(),
                         datetime.date.today().isoformat().encode())
        if env.installed_once(stamp_name, digest):
            return env
        print(f"Installing the newest releases of CareNet Desktop{f' [{extras}]' if extras else ''}'s "
              f"dependencies into {env.path.name} (no lock) ...", flush=True)
        env.pip("install", "--quiet", "--upgrade", "pip")
        env.pip("install", "--quiet", "--upgrade", "--upgrade-strategy", "eager", "-e", target)
        env.stamp(stamp_name, digest)
        return env
    # .venv holds exactly the lock: a venv installed from another lock (or by an older dev.py) is made anew,
    # so nothing it no longer pins stays behind; a changed pyproject.toml is installed over it
    lock_digest, project_digest = _digest(LOCK.read_bytes()), _digest((ROOT / "pyproject.toml").read_bytes())
    stamp = env.path / ".installed"
    recorded = json.loads(stamp.read_text()) if stamp.exists() else {}
    if recorded.get("lock") != lock_digest and any(env.path.glob(".installed*")):
        print(f"{LOCK.relative_to(ROOT).as_posix()} changed: making {env.path.name} anew ...", flush=True)
        shutil.rmtree(env.path)
        env.create()
        recorded = {}
    if recorded.get("lock") == lock_digest and recorded.get("project") == project_digest \
            and stamp_name in recorded.get("extras", []):
        return env
    print(f"Installing CareNet Desktop{f' [{extras}]' if extras else ''} into {env.path.name} "
          f"from {LOCK.relative_to(ROOT).as_posix()} ...", flush=True)
    lock = str(LOCK)
    env.pip("install", "--quiet", "-c", lock, "pip")
    env.pip("install", "--quiet", "-c", lock, "--build-constraint", lock, "-e", target)
    check_lock_covers(env)
    done = recorded.get("extras", []) if recorded.get("project") == project_digest else []
    stamp.write_text(json.dumps({"lock": lock_digest, "project": project_digest,
                                 "extras": sorted({*done, stamp_name})}))
    return env


def check_lock_covers(env: Env) -> None:
    """Fail when the venv holds a distribution the lock does not pin: pyproject.toml gained a dependency
    and the lock was not refreshed (that package would drift with the registry)."""
    out = subprocess.run([str(env.python), "-m", "pip", "list", "--format=json", "--exclude-editable"],
                         check=True, capture_output=True, text=True).stdout
    installed = {_normalise(d["name"]) for d in json.loads(out)}
    unpinned = sorted(installed - locked_names() - {"setuptools", "wheel"})  # stdlib venv seeds
    if unpinned:
        sys.exit(f"{LOCK.relative_to(ROOT).as_posix()} does not pin {', '.join(unpinned)}: "
                 "refresh it with `python3 dev.py lock --keep` (see README, Dependencies).")


def _split_newest(args: list[str]) -> tuple[bool, list[str]]:
    if args and args[0] == "--newest":
        return True, args[1:]
    return False, args


# The shared libraries Qt's xcb platform plugin (the X11 window) loads from the system, by soname: the Debian
# (apt) and Fedora (dnf) packages that provide them. PySide6's wheel bundles Qt itself, not these.
QT_XCB_PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb-glx.so.0": ("libxcb-glx0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libSM.so.6": ("libsm6", "libSM"),
    "libICE.so.6": ("libice6", "libICE"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libGLX.so.0": ("libglx0", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
#: what `ldd` prints for a library the loader cannot find
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ``ldd`` reports as "not found", each once, in the order it names them."""
    return list(dict.fromkeys(_NOT_FOUND.findall(ldd_output)))


def install_advice(missing: list[str]) -> str:
    """What to tell the person: which libraries are missing and the exact commands that install them."""
    known = [name for name in missing if name in QT_XCB_PACKAGES]
    unknown = [name for name in missing if name not in QT_XCB_PACKAGES]
    lines = ["The Qt window cannot start: its X11 (xcb) platform plugin needs system libraries that are not "
             "installed:", *(f"    {name}" for name in missing)]
    if known:
        apt = " ".join(dict.fromkeys(QT_XCB_PACKAGES[name][0] for name in known))
        dnf = " ".join(dict.fromkeys(QT_XCB_PACKAGES[name][1] for name in known))
        lines += ["Install them, then run `python3 dev.py run` again:",
                  f"    Debian / Ubuntu:  sudo apt-get install {apt}",
                  f"    Fedora:           sudo dnf install {dnf}"]
    if unknown:
        lines.append("Find the package providing " + ", ".join(unknown) +
                     " with `apt-file search NAME` (Debian / Ubuntu) or `dnf provides NAME` (Fedora).")
    lines.append("(The plugin was checked with ldd; QT_QPA_PLATFORM=offscreen skips the check.)")
    return "\n".join(lines)


def qt_xcb_plugin(env: Env) -> Path | None:
    """PySide6's xcb platform plugin inside ``env`` (None when PySide6 has none there)."""
    found = sorted(env.path.glob("lib/python3*/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so"))
    return found[-1] if found else None


def check_qt_platform(plugin: Path | None, *, environ: dict[str, str] | None = None, platform: str | None = None,
                      ldd: str = "ldd") -> str | None:
    """The advice to print when Qt's xcb plugin would not load for want of system libraries, else None.

    Only Linux's X11 window needs it: a non-Linux system, or a ``QT_QPA_PLATFORM`` naming another platform
    first (offscreen, minimal, wayland...), skips the check; so does a system without ``ldd``."""
    environ = dict(os.environ) if environ is None else environ
    platform = sys.platform if platform is None else platform
    wanted = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip().lower()
    if not platform.startswith("linux") or wanted not in ("", "xcb") or plugin is None:
        return None
    try:
        result = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, check=False)
    except OSError:
        return None
    missing = missing_libraries(result.stdout)
    return install_advice(missing) if missing else None


def run(args: list[str]) -> int:
    newest, args = _split_newest(args)
    env = ensure_venv("", newest)
    problem = check_qt_platform(qt_xcb_plugin(env))
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return subprocess.call([str(env.python), "-m", "carenet_desktop", "gui", "--demo", *args], cwd=ROOT)


def test(args: list[str]) -> int:
    newest, args = _split_newest(args)
    venv_ = ensure_venv("test", newest)
    env = dict(os.environ)
    server = None
    if "CARENET_TEST_PG_URL" not in env and os.name != "nt":
        sys.path.insert(0, str(ROOT / "scripts"))
        import pg_server

        try:
            server = pg_server.start()
        except Exception as exc:  # a PostgreSQL that will not start must not hide the SQLite results
            print(f"PostgreSQL lane disabled: {exc}", flush=True)
        if server is not None:
            env["CARENET_TEST_PG_URL"] = server.url
            print(f"PostgreSQL test server on 127.0.0.1:{server.port}", flush=True)
        else:
            print("PostgreSQL not installed: the PostgreSQL lane is skipped.", flush=True)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT / "scripts"))
    import test_runner  # a run that hangs on its way out after finishing is ended, its status kept

    try:
        return test_runner.run_pytest([str(venv_.python), "-m", "pytest", *args], cwd=ROOT, env=env)
    finally:
        if server is not None:
            server.stop()


def lint(_args: list[str]) -> int:
    """Every check runs (one failing does not hide the others); non-zero if any failed."""
    env = ensure_venv("test")
    checks = {
        "ruff": [str(env.bin / "ruff"), "check", "."],
        "import-linter": [str(env.bin / "lint-imports")],
        "mypy": [str(env.python), "-m", "mypy"],  # the files and flags are in pyproject.toml [tool.mypy]
    }
    failed = [name for name, command in checks.items() if subprocess.call(command, cwd=ROOT) != 0]
    if failed:
        print(f"lint failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def lock(args: list[str]) -> int:
    """Resolve pyproject.toml (every extra) and requirements/lock.in into requirements/constraints.txt, for
    every platform and Python the project supports (uv's universal resolution)."""
    tools = Env(".venv-lock")
    tools.create()
    if not tools.installed_once("uv", UV):
        tools.pip("install", "--quiet", UV)
        tools.stamp("uv", UV)
    keep = "--keep" in args
    extra = [a for a in args if a != "--keep"]
    command = [str(tools.bin / "uv"), "pip", "compile", "pyproject.toml", LOCK_INPUT.relative_to(ROOT).as_posix(),
               "--all-extras", "--universal", "--annotation-style=line",
               "--custom-compile-command", "python3 dev.py lock", "--quiet", "-o", LOCK.relative_to(ROOT).as_posix(),
               *([] if keep else ["--upgrade"]), *extra]
    return subprocess.call(command, cwd=ROOT)


COMMANDS = {"run": run, "test": test, "lint": lint, "lock": lock}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
