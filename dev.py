#!/usr/bin/env python3
"""Set up and run CareNet Desktop from a source checkout, with nothing but Python 3.11+.

    python3 dev.py run [--newest]      create .venv if needed, install, open the app on the demo network
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


def run(args: list[str]) -> int:
    newest, args = _split_newest(args)
    env = ensure_venv("", newest)
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
