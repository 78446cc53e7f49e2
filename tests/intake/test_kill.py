"""A kill -9 in the middle of a large import leaves the store with exactly its earlier rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd

from carenet_desktop.models.database import open_database
from carenet_desktop.services import intake
from carenet_desktop.services.context import ServiceContext

from .conftest import TODAY, copy_store

CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from carenet_desktop.models.database import open_database
    from carenet_desktop.services import intake
    from carenet_desktop.services.context import ServiceContext

    db_path, csv_path, marker = sys.argv[1:4]
    real_write = intake.IntakeWriter.write

    def write_then_wait(self, frame):
        real_write(self, frame)
        if self.added > 0:  # rows of this import are in the open transaction: tell the parent, then wait
            Path(marker).write_text(str(self.added))
            time.sleep(120)

    intake.IntakeWriter.write = write_then_wait
    ctx = ServiceContext(open_database(db_path), username="killed")
    intake.import_file(ctx, csv_path, "encounters", practice_code="PEDS1", chunk_rows=5000)
""")


def _rows(ctx: ServiceContext) -> list[tuple]:
    with ctx.db.engine.connect() as conn:
        enc = conn.exec_driver_sql("SELECT id, patient_id, source_id, code, start FROM encounter ORDER BY id").all()
        imports = conn.exec_driver_sql("SELECT id, status FROM data_import ORDER BY id").all()
        audit_n = conn.exec_driver_sql("SELECT COUNT(*) FROM audit_log").scalar_one()
    return [list(map(tuple, enc)), list(map(tuple, imports)), audit_n]


def test_kill_9_mid_import_leaves_the_earlier_rows(store_template: Path, tmp_path: Path) -> None:
    db_path = copy_store(store_template, tmp_path / "store.db")
    ctx = ServiceContext(open_database(db_path), username="tester")
    earlier = pd.DataFrame({"MRN": ["M001", "M002"], "Encounter ID": ["OLD1", "OLD2"],
                            "Visit Date": ["2024-01-02", "2024-01-03"], "CPT": ["99392", "99213"]})
    earlier.to_csv(tmp_path / "earlier.csv", index=False)
    assert intake.import_file(ctx, tmp_path / "earlier.csv", "encounters", practice_code="PEDS1", today=TODAY).added == 2
    before = _rows(ctx)
    ctx.db.dispose()

    n = 60_000
    rng = np.random.default_rng(7)
    big = pd.DataFrame({"MRN": rng.choice(["M001", "M002", "M003"], n),
                        "Encounter ID": [f"NEW{i}" for i in range(n)],
                        "Visit Date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
                        "CPT": rng.choice(["99392", "99213", "99214"], n)})
    big["Visit Date"] = big["Visit Date"].dt.strftime("%m/%d/%Y")
    big.to_csv(tmp_path / "big.csv", index=False)

    marker = tmp_path / "written"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path), str(tmp_path / "big.csv"), str(marker)],
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else "child exited"
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.05)
    time.sleep(0.2)
    assert int(marker.read_text()) >= 5000  # a whole chunk was inserted in the open transaction
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    ctx = ServiceContext(open_database(db_path), username="tester")
    assert _rows(ctx) == before
    with ctx.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
    ctx.db.dispose()
