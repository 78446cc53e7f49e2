"""The CLI builds its parser from the named command's module only (``cli._modules_for``): the table of
command words must say which module registers each word, and a command must not import the others'."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_command_word_names_the_module_that_registers_it():
    from carenet_desktop.cli import COMMAND_MODULES, COMMAND_WORDS, _module

    registered: dict[str, str] = {}
    for name in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers(dest="command")
        _module(name).register(sub, argparse.ArgumentParser(add_help=False))
        registered.update({word: name for word in sub.choices})
    assert registered == COMMAND_WORDS


def test_measures_evaluate_parses_without_the_other_commands():
    """Only ``measures_cmd`` is imported for ``measures``: not the PDF reports (reportlab) the huddle and
    report commands pull in, nor the care-gap worklist."""
    code = ("import sys; from carenet_desktop.cli import build_parser, _modules_for; "
            "argv = ['--db', 'x.db', 'measures', 'evaluate', '--period', '2025', '--measure', 'CMS2']; "
            "args = build_parser(_modules_for(argv)).parse_args(argv); "
            "print(args.command_path, sorted(m for m in ('reportlab', 'carenet_desktop.services.worklist', "
            "'carenet_desktop.cli.huddle_cmd', 'carenet_desktop.cli.gaps_cmd') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.split() == ["measures", "evaluate", "[]"]
