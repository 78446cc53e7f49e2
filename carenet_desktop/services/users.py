"""Users: creating them, signing in (Argon2id hashes, lock-out after repeated failures), passwords.

The first user of a store must be a network administrator; from then on only an administrator creates
users. Sign-in failures are counted in the database: after ``MAX_FAILURES`` in a row the account is
locked for ``LOCK_MINUTES``, whoever tries. Refusals never say whether the user name exists.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from ..codes import ROLE_LABELS
from ..models import Practice, User, UserPractice, utcnow
from ..models.database import Database
from . import audit
from .changes import Area, writes
from .context import AuthenticatedUser, ServiceContext, ServiceError
from .permissions import ALL_PRACTICES, NETWORK_ADMIN, normalise_role, require

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 12
MAX_PASSWORD = 256
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_COMMON = {"password1234", "123456789012", "qwertyuiopas", "carenetcarenet", "letmein12345", "changeme1234",
           "welcome12345", "administrator", "passwordpassword", "iloveyou1234"}
_hasher = PasswordHasher()  # Argon2id, library defaults (RFC 9106 low-memory profile)
@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong name takes as long as a wrong password
    (computed on first use: an Argon2 hash costs ~0.1 s, not to be paid by every program start)."""
    return _hasher.hash("not a real password, used to even out timing")


class AuthenticationError(ServiceError):
    """Wrong user name or password, or a locked account (the message says which of the latter only)."""


@dataclass(frozen=True)
class UserSummary:
    username: str
    display_name: str | None
    role: str
    active: bool
    practice_codes: tuple[str, ...]
    last_login: dt.datetime | None
    locked_until: dt.datetime | None


def has_users(db: Database) -> bool:
    with db.session() as s:
        return bool(s.scalar(select(func.count()).select_from(User)))


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is not acceptable (one sentence), or None."""
    if len(password) < MIN_PASSWORD:
        return f"The password must have at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"The password must have at most {MAX_PASSWORD} characters."
    if password.strip() != password:
        return "The password must not start or end with a space."
    lowered = password.lower()
    if username and username.lower() in lowered:
        return "The password must not contain the user name."
    if len(set(password)) < 5:
        return "The password repeats too few different characters; use at least 5 different ones."
    kinds = sum((any(c.isalpha() for c in password), any(c.isdigit() for c in password),
                 any(not c.isalnum() for c in password)))
    if kinds < 2 and len(password) < 20:
        return "Use letters together with digits or symbols (or a passphrase of 20 characters or more)."
    if lowered in _COMMON:
        return "That password is too common; choose another."
    return None


def _check_password(password: str, username: str) -> None:
    problem = password_problem(password, username)
    if problem:
        raise ServiceError(problem)


def _check_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise ServiceError("A user name has 2 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit.")
    return name


def _require_admin(ctx: ServiceContext, s: Session) -> None:
    """Managing users: the first user may be created by anyone; afterwards a signed-in administrator."""
    if s.scalar(select(func.count()).select_from(User)) == 0:
        return
    if ctx.user is None:
        raise ServiceError("Not allowed: this store has users; sign in as a network administrator.")
    require(ctx, "users.manage")


def _snapshot(user: User, practice_codes: Sequence[str]) -> dict[str, object]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "active": user.active, "practices": sorted(practice_codes)}


@writes(Area.USERS)
def create_user(ctx: ServiceContext, username: str, password: str, role: str,
                practice_codes: Sequence[str] = (), *, display_name: str | None = None) -> int:
    """Create a user (audited, without the password) and return its id."""
    name = _check_username(username)
    role = normalise_role(role)
    _check_password(password, name)
    codes = sorted({c.strip() for c in practice_codes if c.strip()})
    with ctx.db.session() as s:
        _require_admin(ctx, s)
        if s.scalar(select(func.count()).select_from(User)) == 0 and role != NETWORK_ADMIN:
            raise ServiceError("The first user must be a network administrator (role network_admin).")
        if s.scalar(select(User.id).where(User.username == name)) is not None:
            raise ServiceError(f"A user named {name} exists already.")
        practices = {code: pid for code, pid in s.execute(select(Practice.code, Practice.id).where(Practice.code.in_(codes)))}
        unknown = [c for c in codes if c not in practices]
        if unknown:
            raise ServiceError(f"Unknown practice code(s): {', '.join(unknown)}")
        if role not in ALL_PRACTICES and not codes:
            raise ServiceError(f"A {ROLE_LABELS[role].lower()} needs at least one practice (--practice CODE).")
        user = User(username=name, display_name=(display_name or "").strip() or None, role=role,
                    password_hash=_hasher.hash(password), active=True, failed_attempts=0)
        s.add(user)
        s.flush()
        for code in codes:
            s.add(UserPractice(user_id=user.id, practice_id=practices[code]))
        audit.record(s, ctx.username, "create", "user", user.id, after=_snapshot(user, codes))
        return user.id


def _practice_ids(s: Session, user_id: int) -> frozenset[int]:
    return frozenset(s.scalars(select(UserPractice.practice_id).where(UserPractice.user_id == user_id)))


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(db: Database, username: str, password: str, *, now: dt.datetime | None = None) -> AuthenticatedUser:
    """The signed-in user, or ``AuthenticationError``. Failures and sign-ins are recorded and audited.

    The failure count is kept by one atomic statement (``UPDATE ... SET failed_attempts = failed_attempts + 1
    ... RETURNING``), the first of its transaction, so parallel wrong passwords each count (SQLite has no
    ``SELECT ... FOR UPDATE``: a read-then-write lost updates, and a burst of sixteen left three). A right
    password is accepted only by a statement that finds the account unlocked at that moment, so a guess
    racing the lock does not get in either. The password is checked outside any transaction (it is slow).
    """
    now = now or utcnow()
    name = username.strip().lower()
    refused = AuthenticationError("Wrong user name or password.")
    with db.session() as s:
        found = s.execute(select(User.id, User.username, User.active, User.password_hash, User.locked_until)
                          .where(User.username == name)).first()
    if found is None or not found.active:
        _verify(None, password)  # the same work as for a real user: no timing hint that the name is unknown
        with db.session() as s:
            audit.record(s, "unknown" if found is None else found.username, "login-failed", "user",
                         None if found is None else found.id)
        raise refused
    if found.locked_until is not None and found.locked_until > now:
        _locked(db, found.id, found.username, found.locked_until)
    if not _verify(found.password_hash, password):
        failures, locked_until = _count_failure(db, found.id, found.username, now)
        if locked_until is not None and locked_until > now and failures > MAX_FAILURES:
            _locked(db, found.id, found.username, locked_until)
        raise refused
    with db.session() as s:
        row = s.execute(update(User).where(User.id == found.id)
                        .where(or_(User.locked_until.is_(None), User.locked_until <= now))
                        .values(failed_attempts=0, locked_until=None, last_login=now).returning(User.id)).first()
        if row is not None:
            if _hasher.check_needs_rehash(found.password_hash or ""):
                s.execute(update(User).where(User.id == found.id).values(password_hash=_hasher.hash(password)))
            audit.record(s, found.username, "login", "user", found.id)
            return AuthenticatedUser(found.id, found.username, _role(s, found.id), _practice_ids(s, found.id))
    # locked by a parallel failure between the read and now
    with db.session() as s:
        until = s.scalar(select(User.locked_until).where(User.id == found.id))
    _locked(db, found.id, found.username, until or now)


def _role(s: Session, user_id: int) -> str:
    return str(s.scalar(select(User.role).where(User.id == user_id)))


def _count_failure(db: Database, user_id: int, username: str, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    """One more failed sign-in, counted atomically; the account locks at ``MAX_FAILURES``. An expired lock
    starts the count again. Returns the count and the lock."""
    expired = and_(User.locked_until.is_not(None), User.locked_until <= now)
    count = case((expired, 1), else_=User.failed_attempts + 1)
    lock_until = now + dt.timedelta(minutes=LOCK_MINUTES)
    with db.session() as s:  # the UPDATE is the transaction's first statement: SQLite takes the write lock there
        failures, locked_until = s.execute(
            update(User).where(User.id == user_id)
            .values(failed_attempts=count,
                    locked_until=case((count >= MAX_FAILURES, lock_until), (expired, None), else_=User.locked_until))
            .returning(User.failed_attempts, User.locked_until)).one()
        audit.record(s, username, "login-failed", "user", user_id,
                     summary=f"failed sign-in {failures} of {MAX_FAILURES}")
    return int(failures), locked_until


def _locked(db: Database, user_id: int, username: str, until: dt.datetime) -> NoReturn:
    with db.session() as s:
        audit.record(s, username, "login-locked", "user", user_id)
    raise AuthenticationError(f"The account {username} is locked after {MAX_FAILURES} failed sign-ins; "
                              f"try again after {until:%H:%M} UTC or ask an administrator.")


@writes(Area.USERS)
def change_password(ctx: ServiceContext, username: str, new_password: str, *, current_password: str | None = None) -> None:
    """Set a new password: your own (with the current one), or anyone's as an administrator."""
    name = username.strip().lower()
    _check_password(new_password, name)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.username == name))
        own = ctx.user is not None and ctx.user.username == name
        if own:
            if current_password is None or user is None or not _verify(user.password_hash, current_password):
                raise ServiceError("The current password is wrong.")
        else:
            _require_admin(ctx, s)
            if user is None:
                raise ServiceError(f"No user named {name}.")
        assert user is not None
        user.password_hash = _hasher.hash(new_password)
        user.failed_attempts, user.locked_until = 0, None  # an administrator's reset also unlocks
        audit.record(s, ctx.username, "update", "user", user.id, summary="password changed")


@writes(Area.USERS)
def set_active(ctx: ServiceContext, username: str, active: bool) -> None:
    """Disable (or re-enable) a user; disabled users cannot sign in."""
    name = username.strip().lower()
    with ctx.db.session() as s:
        _require_admin(ctx, s)
        user = s.scalar(select(User).where(User.username == name))
        if user is None:
            raise ServiceError(f"No user named {name}.")
        if ctx.user is not None and ctx.user.id == user.id and not active:
            raise ServiceError("You cannot disable your own account.")
        before = {"active": user.active}
        user.active = active
        audit.record(s, ctx.username, "update", "user", user.id, before=before, after={"active": active})


def list_users(ctx: ServiceContext) -> list[UserSummary]:
    with ctx.db.session() as s:
        _require_admin(ctx, s)
        users = s.scalars(select(User).order_by(User.username)).all()
        grants = s.execute(select(UserPractice.user_id, Practice.code)
                           .join(Practice, Practice.id == UserPractice.practice_id)).all()
    codes: dict[int, list[str]] = {}
    for user_id, code in grants:
        codes.setdefault(user_id, []).append(code)
    return [UserSummary(u.username, u.display_name, u.role, u.active, tuple(sorted(codes.get(u.id, []))),
                        u.last_login, u.locked_until) for u in users]
