"""``carenet report scorecard|network``: the PDF reports."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..metrics.period import Period
from ..services.reports import network_pdf, scorecard_pdf
from .common import TerminalProgress, open_context


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("report", help="PDF reports: a practice's scorecard, the network report")
    sub = p.add_subparsers(dest="report_command", metavar="KIND", required=True)
    s = sub.add_parser("scorecard", parents=[parent], help="a practice's quality scorecard (aggregates only)")
    s.add_argument("--practice", required=True, metavar="CODE")
    s.add_argument("--period", required=True, help="2025, 2025-Q3, 2025-07 or 2025-01-01..2025-12-31")
    s.add_argument("--out", required=True, type=Path, metavar="FILE.pdf")
    s.add_argument("--no-trends", action="store_true", help="leave out the 12-month trends (faster the first time)")
    s.set_defaults(func=run_scorecard)
    n = sub.add_parser("network", parents=[parent], help="every practice side by side, funnel plots, flags")
    n.add_argument("--period", required=True)
    n.add_argument("--out", required=True, type=Path, metavar="FILE.pdf")
    n.add_argument("--named", action="store_true", help="name the practices (default: anonymised letters)")
    n.add_argument("--no-trends", action="store_true", help="leave out the network trend")
    n.set_defaults(func=run_network)


def _period(text: str) -> Period:
    from . import UserError

    try:
        return Period.parse(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run_scorecard(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    bar = TerminalProgress("Scorecard")
    ctx.progress = bar.progress()
    done = scorecard_pdf(ctx, args.practice, _period(args.period), args.out, trends=not args.no_trends)
    bar.finish()
    print(f"Wrote {done.path} ({done.pages} pages; figures {done.compute_seconds:.1f} s, PDF {done.render_seconds:.1f} s)")
    return 0


def run_network(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    bar = TerminalProgress("Network report")
    ctx.progress = bar.progress()
    done = network_pdf(ctx, _period(args.period), args.out, named=args.named, trends=not args.no_trends)
    bar.finish()
    print(f"Wrote {done.path} ({done.pages} pages; figures {done.compute_seconds:.1f} s, PDF {done.render_seconds:.1f} s)")
    return 0
