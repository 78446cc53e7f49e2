#!/usr/bin/env python3
"""What each column's ``group_concat`` expression costs in the SQLite cold read (issue 26).

    .venv/bin/python benchmarks/bench_sql_columns.py --db COPY.db [--table observation ...] [--chunk 250000]

For each table the reader plans (``measure_data._columns`` + ``sqlite_frames._plan_sqlite``), runs the
chunk queries of ONE column at a time on one connection (one thread) and prints the CPU seconds of each
column's ``GROUP_CONCAT`` over the whole table, beside the bare scan (``COUNT(*)`` of the same chunks),
so a column's own cost is its figure less the scan's. The columns the reader's probe reads sparse (mostly
NULL: ``sqlite_frames._probe_sparse``) are also costed in that form (``--sparse``: every nullable column). Quote ``/proc/loadavg`` (printed) beside it.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from carenet_desktop.services import sqlite_frames
    from carenet_desktop.services.measure_data import TABLES, _columns, _where

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--table", action="append", default=None)
    parser.add_argument("--chunk", type=int, default=sqlite_frames.CHUNK_ROWS)
    parser.add_argument("--sparse", action="store_true", help="also cost every nullable column read sparse")
    args = parser.parse_args()
    print("loadavg", Path("/proc/loadavg").read_text().split()[:3])
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    total = total_read = 0.0
    for name, table in TABLES.items():
        if args.table and table not in args.table:
            continue
        existing = {r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')}
        cols = _columns(name, table, existing)
        where = _where(name, None, "profile_claim" in existing)
        lo, hi = conn.execute(f'SELECT MIN(id), MAX(id) FROM "{table}"').fetchone()
        if lo is None:
            continue
        chunks = [(a, a + args.chunk) for a in range(lo, hi + 1, args.chunk)]

        def cost(aggregate: str, table: str = table, where: str = where,
                 chunks: list[tuple[int, int]] = chunks) -> float:
            sql = f'SELECT COUNT(*), {aggregate} FROM "{table}" t WHERE {where} AND t.id >= ? AND t.id < ?'
            t = time.thread_time()
            for start, stop in chunks:
                conn.execute(sql, (start, stop)).fetchone()
            return time.thread_time() - t

        scan = cost("1")
        sparse = sqlite_frames._probe_sparse(conn.cursor(), table, cols, where, lo, hi)
        rows = [("(scan)", "", scan, None), ("id", "t.id", cost(sqlite_frames._concat("t.id", ",")), None)]
        for c in cols:
            if sqlite_frames._is_row_id(c):
                continue
            expr, sep = sqlite_frames._sqlite_expr(c)
            aggregate = sqlite_frames._concat(expr, sep)
            # the column read sparse (``sqlite_frames._sparse_exprs``): its cost either way
            rows.append((c.name, expr, cost(aggregate), cost(", ".join(sqlite_frames._sparse_exprs(c)))
                         if c.name in sparse or args.sparse else None))
        own = sum(r[2] - scan for r in rows[1:])
        read = sum((r[3] if r[0] in sparse and r[3] is not None else r[2]) - scan for r in rows[1:])
        total += scan + own
        total_read += scan + read
        print(f"\n{table}: {len(chunks)} chunks, scan {scan:.2f} s, columns' own {own:.2f} s dense, "
              f"{read:.2f} s as read (the probe's sparse columns sparse)")
        for col, expr, seconds, thin in sorted(rows[1:], key=lambda r: -r[2]):
            note = "" if thin is None else f"  sparse {thin - scan:5.2f} s{' (read so)' if col in sparse else ''}"
            print(f"  {col:22s} {seconds - scan:6.2f} s{note}  {expr[:60]}")
    print(f"\ntotal (one scan per table + each column's own): {total:.2f} s CPU dense, {total_read:.2f} s as read")
    print("loadavg", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
