"""Every command through one permission table, checked before the command runs.

``COMMANDS`` has one row per command (the words after ``carenet``: ``"import csv"``). ``main`` looks the
parsed command up and calls :func:`authorize` before the command's function; a command without a row is
a bug (``tests/test_cli_permissions.py`` walks the parsers, so a new command without a row fails there).

A row says:

- ``action``: what the role must be allowed (``services.permissions.ACTIONS``), ``None`` for "any signed-in
  user; the service checks the finer rule" (your own password). Practice-level checks stay in the services:
  the table checks the role, the service the practice.
- ``store``: when the command needs the store's sign-in. ``"always"``; ``"never"`` (the window signs in
  itself, the measure catalogue is code); ``"if_sound"`` (``check``, ``backups``, ``restore``: a damaged or
  missing file cannot be signed into, and finding and replacing it is what these commands are for);
  ``"if_db"`` (only when ``--db`` is given).
- ``destructive``: a command (or a flag of it) that replaces or rewrites the store. It needs a network
  administrator, a checked backup is taken first (``backups/<store>-...-before-<command>.db``) and an audit
  entry names the command. ``restore`` keeps the replaced file beside the store instead (never deleted;
  a backup first would only become the "latest" backup ``restore --latest`` picks) and records the restore,
  with the signed-in user, in the restored store's trail.

A store without accounts is a local single-user store: every command runs as the system user (the table's
roles then do not apply), as everywhere in the services.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..models.database import resolve_url, sqlite_path
from ..models.durability import integrity_problems
from ..models.encryption import is_encrypted_file, stored_passphrase
from ..services import audit
from ..services.context import ServiceContext
from ..services.permissions import NETWORK_ADMIN, NotAllowed, require_role
from ..services.store_safety import take_backup

#: the attribute of the parsed arguments naming the command ("import csv")
COMMAND_ATTR = "command_path"


@dataclass(frozen=True)
class Rule:
    action: str | None
    store: str = "always"  # always | never | if_sound | if_db
    destructive: bool | Callable[[argparse.Namespace], bool] = False
    restore_keeps_aside: bool = False  # keeps the replaced file itself and audits in the restored store

    def is_destructive(self, args: argparse.Namespace) -> bool:
        return self.destructive(args) if callable(self.destructive) else self.destructive


def _replace(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "replace", False))


COMMANDS: dict[str, Rule] = {
    "gui": Rule(None, store="never"),  # the window's own sign-in
    "demo": Rule("practices.manage", destructive=_replace),
    "practices": Rule("aggregates.read"),
    "import fhir": Rule("patients.write"),
    "import csv": Rule("patients.write"),
    "import list": Rule("aggregates.read"),
    "import undo": Rule("patients.write"),
    "import submission": Rule("aggregates.write"),
    "measures list": Rule(None, store="never"),
    "measures load-valuesets": Rule("catalogue.manage"),
    "measures validate": Rule("aggregates.read", store="if_db"),
    "measures evaluate": Rule("aggregates.read"),
    "gaps": Rule("patients.export"),
    "huddle": Rule("patients.export"),
    "letters": Rule("patients.export"),  # the service checks patients.write too when it logs the letters
    "submissions": Rule("aggregates.read"),
    "export submission": Rule("aggregates.write"),
    "export results": Rule("aggregates.read"),
    "export gaps": Rule("patients.export"),
    "export measurereport": Rule("aggregates.read"),
    "keys show": Rule("aggregates.write"),
    "keys create": Rule("aggregates.write"),
    "keys trust": Rule("practices.manage"),
    "keys revoke": Rule("practices.manage"),
    "keys list": Rule("practices.manage"),
    "report scorecard": Rule("aggregates.read"),
    "report network": Rule("aggregates.read"),
    "audit verify": Rule("audit.read"),
    "audit export": Rule("audit.read"),
    "backup": Rule("store.manage"),
    "backups": Rule("store.manage", store="if_sound"),
    "restore": Rule("store.manage", store="if_sound", destructive=True, restore_keeps_aside=True),
    "check": Rule(None, store="if_sound"),
    "encrypt": Rule("store.manage", destructive=True),
    "users add": Rule("users.manage"),  # the first account: the system user of a store without accounts
    "users list": Rule("users.manage"),
    "users passwd": Rule(None),  # your own; anyone else's: users.manage, checked by the service
    "users disable": Rule("users.manage"),
    "users enable": Rule("users.manage"),
}


def leaf_parsers(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command of ``parser``: ("import csv", its parser), walking the sub-parsers."""
    subactions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subactions:
        if prefix:
            yield " ".join(prefix), parser
        return
    for action in subactions:
        seen: set[int] = set()
        for name, sub in action.choices.items():
            if id(sub) in seen:  # an alias
                continue
            seen.add(id(sub))
            yield from leaf_parsers(sub, (*prefix, name))


def name_commands(parser: argparse.ArgumentParser) -> None:
    """Set each command's name on its parsed arguments (``args.command_path``)."""
    for name, sub in leaf_parsers(parser):
        sub.set_defaults(**{COMMAND_ATTR: name})


def _store_path(args: argparse.Namespace) -> Path | None:
    return sqlite_path(resolve_url(getattr(args, "db", None)))


def _sound(path: Path | None) -> bool:
    """Whether the store file exists and passes a quick check (a server: always)."""
    if path is None:
        return True
    if not path.exists() or path.stat().st_size == 0:
        return False
    key = stored_passphrase(path) if is_encrypted_file(path) else None
    if is_encrypted_file(path) and key is None:
        return True  # the sign-in asks for the passphrase (or refuses)
    return not integrity_problems(path, quick=True, key=key)


def _needs_sign_in(rule: Rule, args: argparse.Namespace) -> bool:
    if rule.store == "never":
        return False
    if rule.store == "if_db":
        return getattr(args, "db", None) is not None
    if rule.store == "if_sound":
        return _sound(_store_path(args))
    return True


def describe(args: argparse.Namespace) -> str:
    """The command and its flags for the audit trail (no values: they may name files or people)."""
    flags = sorted(k for k, v in vars(args).items() if v is True and k not in {"verbose", "allow_network_share"})
    return "carenet " + str(getattr(args, COMMAND_ATTR, "?")) + "".join(f" --{f.replace('_', '-')}" for f in flags)


def authorize(args: argparse.Namespace, open_context: Callable[[argparse.Namespace], ServiceContext]) -> ServiceContext | None:
    """Sign in (when the store has accounts), check the command's row, and for a destructive command take
    a backup and audit it. Returns the signed-in context (the command reuses it), or None."""
    name = getattr(args, COMMAND_ATTR, None)
    if name is None or name not in COMMANDS:
        raise LookupError(f"the command {name!r} has no row in cli.gate.COMMANDS")
    rule = COMMANDS[name]
    if not _needs_sign_in(rule, args):
        return None
    ctx = open_context(args)
    if rule.action is not None:
        require_role(ctx, rule.action)
    if rule.is_destructive(args):
        if ctx.user is not None and ctx.user.role != NETWORK_ADMIN:
            raise NotAllowed(f"Not allowed: {ctx.user.username} may not run {name}; it replaces data and needs a "
                             "network administrator.")
        if rule.restore_keeps_aside:  # a refused restore leaves the store untouched
            return ctx
        taken = take_backup(ctx, reason=f"before-{name.split()[0]}")
        with ctx.db.session() as s:
            audit.record(s, ctx.username, "command", "store",
                         summary=describe(args) + (f" (backup {taken.name} taken first)" if taken else ""))
    return ctx
