"""Setting up a new practice store (the first-run "set up my practice" path): one call that either leaves a
complete store — practice, first administrator, the measure code catalogue, encrypted by default — or
nothing at all."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..models import Practice
from ..models.database import Database, DatabaseError, open_database
from ..models.encryption import passphrase_problem, remember_passphrase
from .changes import Area, writes
from .context import AuthenticatedUser, ServiceContext, ServiceError
from .practices import DEFAULT_NETWORK_NAME, get_or_create_practice, set_network_name
from .users import authenticate, create_user, password_problem

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")


@dataclass(frozen=True)
class PracticeSetup:
    path: Path
    practice_code: str
    practice_name: str
    city: str
    admin_username: str
    admin_password: str
    admin_display_name: str = ""
    passphrase: str | None = None  # None: not encrypted (the user chose so)
    remember_passphrase: bool = False
    network_name: str = DEFAULT_NETWORK_NAME  # heads the window and the reports


def practice_problem(code: str, name: str) -> str | None:
    if not CODE_PATTERN.match(code):
        return "The practice code is 1 to 16 capital letters, digits, '-' or '_' (for example NORTH)."
    if not name.strip():
        return "Give the practice's name."
    return None


def network_problem(name: str) -> str | None:
    if not name.strip():
        return "Give the network's name (the network office can tell you its exact name)."
    if len(name.strip()) > 200:
        return "The network's name is at most 200 characters."
    return None


def setup_problem(setup: PracticeSetup) -> str | None:
    """The first reason the set-up cannot go ahead, or None."""
    if setup.path.exists():
        return f"{setup.path} already exists: open it instead, or choose another file."
    problem = practice_problem(setup.practice_code, setup.practice_name)
    problem = problem or network_problem(setup.network_name)
    problem = problem or password_problem(setup.admin_password, setup.admin_username)
    if setup.passphrase is not None:
        problem = problem or passphrase_problem(setup.passphrase)
    return problem


@writes(Area.STORE)
def set_up_practice_store(setup: PracticeSetup) -> tuple[Database, AuthenticatedUser, bool]:
    """Create the store; returns it open, the administrator signed in, and whether the passphrase was
    remembered in the OS keyring. On any failure the new file is removed and a ServiceError explains."""
    problem = setup_problem(setup)
    if problem:
        raise ServiceError(problem)
    setup.path.parent.mkdir(parents=True, exist_ok=True)
    db: Database | None = None
    try:
        db = open_database(setup.path, key=setup.passphrase)
        ctx = ServiceContext(db, username="setup")
        set_network_name(ctx, setup.network_name)  # first: the practice joins it
        practice_id = get_or_create_practice(ctx, setup.practice_code, setup.practice_name.strip())
        with db.session() as s:
            s.get(Practice, practice_id).city = setup.city.strip() or None  # type: ignore[union-attr]
        create_user(ctx, setup.admin_username, setup.admin_password, "network_admin",
                    display_name=setup.admin_display_name or None)
        from .valuesets import ensure_default_catalogue

        ensure_default_catalogue(ctx)
        user = authenticate(db, setup.admin_username.strip().lower(), setup.admin_password)
    except (ServiceError, DatabaseError, OSError) as exc:
        _remove(db, setup.path)
        raise ServiceError(f"The practice database could not be set up: {exc}") from exc
    except BaseException:
        _remove(db, setup.path)
        raise
    remembered = bool(setup.passphrase and setup.remember_passphrase
                      and remember_passphrase(setup.path, setup.passphrase))
    return db, user, remembered


def _remove(db: Database | None, path: Path) -> None:
    if db is not None:
        db.dispose()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
