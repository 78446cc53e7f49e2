"""Import subcommands (being written)."""

from __future__ import annotations

import argparse


def register_import(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    pass
