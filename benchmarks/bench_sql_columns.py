#!/usr/bin/env python3
"""What each column's ``group_concat`` expression costs in the SQLite cold read (issue 26).

    .venv/bin/python benchmarks/bench_sql_columns.py --db COPY.db [--table observation ...] [--chunk 250000]

For each table the reader plans (``measure_data._columns`` + ``sqlite_frames._plan_sqlite``), runs the
chunk queries of ONE column at a time on one connection (one thread) and prints the CPU seconds of each
column's ``GROUP_CONCAT`` over the whole table, beside the bare scan (``COUNT(*)`` of the same chunks),
so a column's own cost is its figure less the scan's. Quote ``/proc/loadavg`` (printed) beside it.
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
    args = parser.parse_args()
    print("loadavg", Path("/proc/loadavg").read_text().split()[:3])
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    total = 0.0
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
        rows = [("(scan)", "", scan), ("id", "t.id", cost(sqlite_frames._concat("t.id", ",")))]
        for c in cols:
            if sqlite_frames._is_row_id(c):
                continue
            expr, sep = sqlite_frames._sqlite_expr(c)
            aggregate = sqlite_frames._concat(expr, sep)
            rows.append((c.name, expr, cost(aggregate)))
        own = sum(r[2] - scan for r in rows[1:])
        total += scan + own
        print(f"\n{table}: {len(chunks)} chunks, scan {scan:.2f} s, columns' own {own:.2f} s")
        for col, expr, seconds in sorted(rows[1:], key=lambda r: -r[2]):
            print(f"  {col:22s} {seconds - scan:6.2f} s  {expr[:70]}")
    print(f"\ntotal (one scan per table + each column's own): {total:.2f} s CPU")
    print("loadavg", Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
