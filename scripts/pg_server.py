"""Start (and stop) a throwaway PostgreSQL server on loopback for the test suite.

Used by ``dev.py test``: finds the server binaries (Debian's /usr/lib/postgresql/*/bin, or PATH),
initialises a cluster in a temporary folder, starts it on 127.0.0.1 and prints nothing on success.
Running as root, the server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PgServer:
    bindir: Path
    datadir: Path
    port: int
    run_as: str | None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--", *cmd]
        return cmd

    def stop(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.datadir), "-m", "immediate", "stop"),
                       capture_output=True, check=False)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def find_bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start() -> PgServer | None:
    """A running server, or None when PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="carenet-pg-"))
    datadir = root / "data"
    run_as = "postgres" if os.geteuid() == 0 else None
    if run_as:
        shutil.chown(root, user=run_as)
        os.chmod(root, 0o700)
    server = PgServer(bindir, datadir, _free_port(), run_as)
    subprocess.run(server._cmd("initdb", "-D", str(datadir), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"),
                   check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} -c fsync=off -c max_connections=200"
    subprocess.run(server._cmd("pg_ctl", "-D", str(datadir), "-o", opts, "-l", str(root / "server.log"), "-w", "start"),
                   check=True, capture_output=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", server.port)) == 0:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("PostgreSQL did not start")


if __name__ == "__main__":
    srv = start()
    print(srv.url if srv else "PostgreSQL is not installed")
