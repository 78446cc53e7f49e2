"""``carenet backup|backups|restore|check|encrypt``: keeping the store file safe."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from ..models.database import DatabaseError, resolve_url, sqlite_path
from ..models.durability import count_problems, integrity_problems, list_backups
from ..models.encryption import (
    PASSPHRASE_ENV,
    IncompleteCopy,
    encrypt_copy,
    is_encrypted_file,
    passphrase_problem,
    stored_passphrase,
)
from ..services.cache_files import remove_store_caches
from ..services.context import ServiceContext, ServiceError
from ..services.store_safety import backup_anchor, restore_backup, take_backup
from .common import SIGNED_IN_ATTR, open_cli_database, open_context


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("backup", parents=[parent], help="take a checked backup of the database now",
                              description="An online backup (the database may be in use) into backups/ beside "
                                          "the file, integrity-checked; the newest 10 are kept.")
    p.add_argument("--out", type=Path, metavar="FILE.db", help="write the backup here instead")
    p.set_defaults(func=run_backup)
    p = subparsers.add_parser("backups", parents=[parent], help="list the backups of the database")
    p.set_defaults(func=run_list)
    p = subparsers.add_parser("restore", parents=[parent], help="replace the database with a backup",
                              description="Checks the backup, moves the current file aside (never deleted) and "
                                          "puts the backup in its place.")
    p.add_argument("backup", nargs="?", type=Path, metavar="BACKUP.db", help="the backup file (see carenet backups)")
    p.add_argument("--latest", action="store_true", help="the newest sound backup")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=run_restore)
    p = subparsers.add_parser("check", parents=[parent], help="check the database file for damage (integrity_check)")
    p.set_defaults(func=run_check)
    p = subparsers.add_parser("encrypt", parents=[parent], help="write an encrypted copy of a plain database",
                              description=f"Encrypt with SQLCipher; the passphrase is asked for (or ${PASSPHRASE_ENV}).")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.db")
    p.set_defaults(func=run_encrypt)


def _db_path(args: argparse.Namespace) -> Path:
    path = sqlite_path(resolve_url(getattr(args, "db", None)))
    if path is None:
        raise DatabaseError("This command is for SQLite files; a PostgreSQL server has its own tools (pg_dump).")
    return path


def run_backup(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    try:
        copy = take_backup(ctx, dest=args.out)
    finally:
        ctx.db.dispose()
    print(f"Backup written and checked: {copy} ({copy.stat().st_size / 1e6:.1f} MB)")
    anchor = backup_anchor(copy)
    if anchor:
        print(f"Audit trail in the backup: {anchor['entries']:,} entries, head {anchor['last_hash']} "
              "(also in its manifest; keep it to check the trail against later)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    found = list_backups(_db_path(args))
    if not found:
        print("No backups yet (carenet backup takes one).")
    for b in found:
        print(f"{b.taken_at:%Y-%m-%d %H:%M:%S}\t{b.size / 1e6:8.1f} MB\t{b.reason}\t{b.path}")
    return 0


def _key(path: Path) -> str | None:
    if not is_encrypted_file(path):
        return None
    key = stored_passphrase(path)
    if key is None and sys.stdin is not None and sys.stdin.isatty():
        key = getpass.getpass(f"Passphrase for {path.name}: ")
    if key is None:
        raise ServiceError(f"{path.name} is encrypted: set ${PASSPHRASE_ENV} or run in a terminal.")
    return key


def run_restore(args: argparse.Namespace) -> int:
    path = _db_path(args)
    if (args.backup is None) == (not args.latest):
        raise ServiceError("Name the backup file, or pass --latest.")
    # a sound store with accounts: only its administrator restores it (cli.gate, before this runs)
    backup = args.backup
    key = None
    if args.latest:
        for candidate in list_backups(path):
            key = _key(candidate.path)
            if not integrity_problems(candidate.path, key=key):
                backup = candidate.path
                break
        else:
            raise ServiceError(f"No sound backup of {path.name} was found.")
    else:
        key = _key(backup) if backup.exists() else None
    if not args.yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise ServiceError("Restoring replaces the database: confirm with --yes.")
        answer = input(f"Replace {path} with {backup.name}? The current file is kept aside. [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("Nothing restored.")
            return 1
    signed_in = getattr(args, SIGNED_IN_ATTR, None)
    username = signed_in.username if isinstance(signed_in, ServiceContext) and signed_in.user else "cli"
    aside = restore_backup(path, backup, key=key, username=username)
    print(f"Restored {path.name} from {backup.name}." + (f" The replaced file is kept as {aside.name}." if aside else ""))
    return 0


def run_check(args: argparse.Namespace) -> int:
    path = _db_path(args)
    if not path.exists():
        raise FileNotFoundError(2, "No such database", str(path))
    key = _key(path)
    problems = integrity_problems(path, key=key)
    problems = problems or count_problems(path, key=key)
    if problems:
        print(f"{path.name} is damaged:", *problems[:10], sep="\n  ")
        print("Restore the newest sound backup with: carenet restore --latest")
        return 1
    print(f"{path.name}: no damage found (integrity_check ok, recorded counts match).")
    return 0


def run_encrypt(args: argparse.Namespace) -> int:
    path = _db_path(args)
    if is_encrypted_file(path):
        raise ServiceError(f"{path.name} is encrypted already.")
    if args.out.exists():
        raise ServiceError(f"{args.out} exists; choose a new file.")
    open_cli_database(args).dispose()  # applies pending migrations first
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if passphrase is None:
        if sys.stdin is None or not sys.stdin.isatty():
            raise ServiceError(f"Give the passphrase at the prompt or in ${PASSPHRASE_ENV}.")
        passphrase = getpass.getpass("New passphrase: ")
        if getpass.getpass("Again: ") != passphrase:
            raise ServiceError("The two passphrases differ.")
    problem = passphrase_problem(passphrase)
    if problem:
        raise ServiceError(problem)
    try:
        encrypt_copy(path, args.out, passphrase)
    except IncompleteCopy as exc:
        raise ServiceError(f"Nothing written: {exc}.") from None
    problems = integrity_problems(args.out, key=passphrase)
    if problems:
        args.out.unlink(missing_ok=True)
        raise ServiceError("The encrypted copy failed its check: " + "; ".join(problems[:3]))
    removed = remove_store_caches(resolve_url(getattr(args, "db", None)).render_as_string(hide_password=True))
    print(f"Encrypted copy written: {args.out}. Check it opens, then delete the plain file and its backups "
          f"({path.parent / 'backups'}), which are not encrypted."
          + (f" The plain file's {removed} cache files (patient rows) were deleted." if removed else ""))
    return 0
