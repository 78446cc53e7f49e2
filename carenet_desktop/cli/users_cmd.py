"""``carenet users add|list|passwd|disable|enable``: the accounts of a store.

The first account (an administrator) can be created by anyone with the file; afterwards only a signed-in
network administrator (``--user``) manages accounts.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from ..services.context import ServiceError
from ..services.users import change_password, create_user, list_users, set_active
from .common import open_context

NEW_PASSWORD_ENV = "CARENET_NEW_PASSWORD"


def register(subparsers: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("users", help="user accounts: add, list, passwd, disable, enable")
    sub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", parents=[parent], help="create an account (the first one: a network administrator)")
    add.add_argument("username")
    add.add_argument("--role", required=True, help="network_admin, practice_manager, clinician or analyst")
    add.add_argument("--practice", action="extend", nargs="+", default=[], metavar="CODE", help="a practice granted (several, or repeated)")
    add.add_argument("--name", help="display name")
    add.set_defaults(func=run_add)
    ls = sub.add_parser("list", parents=[parent], help="the accounts, their roles and practices")
    ls.set_defaults(func=run_list)
    pw = sub.add_parser("passwd", parents=[parent], help="set a new password (yours, or anyone's as administrator)")
    pw.add_argument("username")
    pw.set_defaults(func=run_passwd)
    for name, active in (("disable", False), ("enable", True)):
        cmd = sub.add_parser(name, parents=[parent], help=f"{name} an account")
        cmd.add_argument("username")
        cmd.set_defaults(func=run_active, active=active)


def _new_password(username: str) -> str:
    env = os.environ.get(NEW_PASSWORD_ENV)
    if env is not None:
        return env
    if sys.stdin is None or not sys.stdin.isatty():
        raise ServiceError(f"Give the new password at the prompt or in ${NEW_PASSWORD_ENV}.")
    first = getpass.getpass(f"New password for {username}: ")
    if getpass.getpass("Again: ") != first:
        raise ServiceError("The two passwords differ.")
    return first


def run_add(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    try:
        create_user(ctx, args.username, _new_password(args.username), args.role, args.practice, display_name=args.name)
    finally:
        ctx.db.dispose()
    print(f"Account {args.username.strip().lower()} created.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    try:
        users = list_users(ctx)
    finally:
        ctx.db.dispose()
    for u in users:
        state = "active" if u.active else "disabled"
        print(f"{u.username}\t{u.role.replace('-', '_')}\t{state}\t{','.join(u.practice_codes) or '-'}")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    try:
        own = ctx.user is not None and ctx.user.username == args.username.strip().lower()
        current = os.environ.get("CARENET_PASSWORD") if own else None
        if own and current is None:
            current = getpass.getpass("Current password: ")
        change_password(ctx, args.username, _new_password(args.username), current_password=current)
    finally:
        ctx.db.dispose()
    print("Password changed.")
    return 0


def run_active(args: argparse.Namespace) -> int:
    ctx = open_context(args)
    try:
        set_active(ctx, args.username, args.active)
    finally:
        ctx.db.dispose()
    print(f"Account {args.username.strip().lower()} {'enabled' if args.active else 'disabled'}.")
    return 0
