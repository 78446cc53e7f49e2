#!/usr/bin/env python3
"""Set up and run CareNet Desktop from a source checkout, with nothing but Python 3.11+.

    python3 dev.py run      create .venv if needed, install, open the app on the demo network
    python3 dev.py test     create .venv if needed, install with test extras, run the whole test suite
    python3 dev.py lint     ruff + import-linter + mypy

The virtual environment is (re)installed whenever pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py must run (and explain) on older Pythons
        sys.exit(f"CareNet Desktop needs Python 3.11 or newer (this is {sys.version.split()[0]}).")
    if not PY.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing CareNet Desktop{f' [{extras}]' if extras else ''} into .venv ...", flush=True)
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    target = f".[{extras}]" if extras else "."
    subprocess.run([str(PY), "-m", "pip", "install", "--quiet", "-e", target], check=True, cwd=ROOT)
    stamp.write_text(digest)


def run(args: list[str]) -> int:
    ensure_venv("")
    return subprocess.call([str(PY), "-m", "carenet_desktop", "gui", "--demo", *args], cwd=ROOT)


def test(args: list[str]) -> int:
    ensure_venv("test")
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
    try:
        return subprocess.call([str(PY), "-m", "pytest", *args], cwd=ROOT, env=env)
    finally:
        if server is not None:
            server.stop()


def lint(_args: list[str]) -> int:
    """Every check runs (one failing does not hide the others); non-zero if any failed."""
    ensure_venv("test")
    checks = {
        "ruff": [str(BIN / "ruff"), "check", "."],
        "import-linter": [str(BIN / "lint-imports")],
        "mypy": [str(PY), "-m", "mypy"],  # the files and flags are in pyproject.toml [tool.mypy]
    }
    failed = [name for name, command in checks.items() if subprocess.call(command, cwd=ROOT) != 0]
    if failed:
        print(f"lint failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


COMMANDS = {"run": run, "test": test, "lint": lint}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
