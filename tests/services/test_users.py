"""Users: first administrator, password policy, Argon2 hashes, lock-out recorded in the database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from carenet_desktop.models import AuditLog, User
from carenet_desktop.models.database import open_database
from carenet_desktop.services import ServiceContext, ServiceError, audit
from carenet_desktop.services.practices import get_or_create_practice
from carenet_desktop.services.users import (
    LOCK_MINUTES,
    AuthenticationError,
    authenticate,
    change_password,
    create_user,
    has_users,
    list_users,
    password_problem,
    set_active,
)

GOOD = "correct-horse-42"


@pytest.fixture
def store(db_url):  # type: ignore[no-untyped-def]
    db = open_database(db_url)
    system = ServiceContext(db)
    get_or_create_practice(system, "PA", "Practice A")
    get_or_create_practice(system, "PB", "Practice B")
    yield db
    db.dispose()


def _admin(db):  # type: ignore[no-untyped-def]
    create_user(ServiceContext(db), "admin", GOOD, "network_admin")
    return ServiceContext(db, user=authenticate(db, "admin", GOOD))


def test_first_user_must_be_an_administrator_then_only_administrators_add_users(store):
    system = ServiceContext(store)
    assert not has_users(store)
    with pytest.raises(ServiceError, match="first user must be a network administrator"):
        create_user(system, "mia", GOOD, "practice_manager", ["PA"])
    admin = _admin(store)
    assert has_users(store)
    with pytest.raises(ServiceError, match="sign in as a network administrator"):
        create_user(system, "mia", GOOD, "practice_manager", ["PA"])  # the system user is gone now
    create_user(admin, "mia", GOOD, "practice_manager", ["PA"])
    mia = ServiceContext(store, user=authenticate(store, "mia", GOOD))
    with pytest.raises(ServiceError, match="Not allowed: mia .* may not manage users"):
        create_user(mia, "zed", GOOD, "clinician", ["PA"])
    with pytest.raises(ServiceError, match="exists already"):
        create_user(admin, "MIA", GOOD, "clinician", ["PA"])
    with pytest.raises(ServiceError, match="Unknown practice code"):
        create_user(admin, "zed", GOOD, "clinician", ["PZ"])
    with pytest.raises(ServiceError, match="needs at least one practice"):
        create_user(admin, "zed", GOOD, "clinician")
    with pytest.raises(ServiceError, match="Unknown role"):
        create_user(admin, "zed", GOOD, "superuser", ["PA"])
    users = list_users(admin)
    assert [(u.username, u.role, u.practice_codes) for u in users] == [
        ("admin", "network-admin", ()), ("mia", "practice-manager", ("PA",))]


def test_passwords_are_argon2_hashes_and_never_stored_or_audited_in_clear(store):
    _admin(store)
    with store.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "admin"))
        entries = s.scalars(select(AuditLog)).all()
    assert stored.startswith("$argon2id$") and GOOD not in stored
    assert all(GOOD not in repr((e.before, e.after, e.summary)) for e in entries)


@pytest.mark.parametrize(("password", "message"), [
    ("short-1", "at least 12 characters"),
    ("admin-is-me-42", "must not contain the user name"),
    ("aaaaaaaaaaaaaaaa1", "too few different characters"),
    ("onlylettershere", "letters together with digits or symbols"),
    (" padded-secret-9", "start or end with a space"),
    ("password1234", "too common"),
])
def test_password_policy_says_what_is_wrong(password, message):
    assert message in (password_problem(password, "admin") or "")


def test_a_long_passphrase_of_letters_is_fine():
    assert password_problem("purple elephants dance quietly", "admin") is None


def test_wrong_password_and_unknown_user_get_the_same_answer(store):
    _admin(store)
    with pytest.raises(AuthenticationError) as wrong:
        authenticate(store, "admin", "not-the-password-1")
    with pytest.raises(AuthenticationError) as unknown:
        authenticate(store, "nobody", "not-the-password-1")
    assert str(wrong.value) == str(unknown.value) == "Wrong user name or password."


def test_five_failures_lock_the_account_for_fifteen_minutes_even_with_the_right_password(store):
    _admin(store)
    t0 = dt.datetime(2026, 1, 5, 9, 0)
    for i in range(5):
        with pytest.raises(AuthenticationError, match="Wrong user name"):
            authenticate(store, "admin", f"bad-password-{i}", now=t0)
    with store.session() as s:  # recorded in the database, so a new process sees it too
        user = s.scalar(select(User).where(User.username == "admin"))
        assert user.failed_attempts == 5 and user.locked_until == t0 + dt.timedelta(minutes=LOCK_MINUTES)
    with pytest.raises(AuthenticationError, match="locked after 5 failed sign-ins; try again after 09:15 UTC"):
        authenticate(store, "admin", GOOD, now=t0 + dt.timedelta(minutes=14))
    user = authenticate(store, "admin", GOOD, now=t0 + dt.timedelta(minutes=16))
    assert user.role == "network-admin"
    with store.session() as s:
        row = s.scalar(select(User).where(User.username == "admin"))
        assert row.failed_attempts == 0 and row.locked_until is None
        actions = [a for a in s.scalars(select(AuditLog.action).where(AuditLog.entity == "user"))]
        assert actions.count("login-failed") == 5 and "login-locked" in actions and actions[-1] == "login"
        assert audit.verify_chain(s) == []


def test_four_failures_then_success_resets_the_count(store):
    _admin(store)
    for i in range(4):
        with pytest.raises(AuthenticationError):
            authenticate(store, "admin", f"bad-password-{i}")
    authenticate(store, "admin", GOOD)
    for i in range(4):
        with pytest.raises(AuthenticationError):
            authenticate(store, "admin", f"bad-password-{i}")
    assert authenticate(store, "admin", GOOD).username == "admin"


def test_change_password_own_needs_the_current_one_admin_resets_and_unlocks(store):
    admin = _admin(store)
    create_user(admin, "cleo", GOOD, "clinician", ["PA"])
    cleo = ServiceContext(store, user=authenticate(store, "cleo", GOOD))
    with pytest.raises(ServiceError, match="current password is wrong"):
        change_password(cleo, "cleo", "brand-new-pass-7", current_password="nope")
    with pytest.raises(ServiceError, match="at least 12"):
        change_password(cleo, "cleo", "short", current_password=GOOD)
    change_password(cleo, "cleo", "brand-new-pass-7", current_password=GOOD)
    with pytest.raises(AuthenticationError):
        authenticate(store, "cleo", GOOD)
    assert authenticate(store, "cleo", "brand-new-pass-7").username == "cleo"
    with pytest.raises(ServiceError, match="may not manage users"):
        change_password(cleo, "admin", "taken-over-pass-1")
    for i in range(5):
        with pytest.raises(AuthenticationError):
            authenticate(store, "cleo", f"bad-password-{i}")
    change_password(admin, "cleo", "reset-by-admin-9")
    assert authenticate(store, "cleo", "reset-by-admin-9").username == "cleo"


def test_a_disabled_user_cannot_sign_in(store):
    admin = _admin(store)
    create_user(admin, "dan", GOOD, "analyst")
    set_active(admin, "dan", False)
    with pytest.raises(AuthenticationError, match="Wrong user name or password"):
        authenticate(store, "dan", GOOD)
    with pytest.raises(ServiceError, match="cannot disable your own"):
        set_active(admin, "admin", False)
