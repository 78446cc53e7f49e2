"""``carenet practices``: the practices in the store, tab-separated."""

from __future__ import annotations

import argparse

from ..services.practices import list_practices
from .common import open_context


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("practices", parents=[parent], help="list practices (tab-separated: code, name, patients)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    print("code\tname\tpatients")
    for practice in list_practices(ctx):
        print(f"{practice.code}\t{practice.name}\t{practice.patients}")
    return 0
