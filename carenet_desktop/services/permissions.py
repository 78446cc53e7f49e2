"""Who may do what: one role matrix and one check, :func:`require`, that every service calls.

Roles (``codes.ROLE_LABELS``):

- **network administrator**: everything, every practice (users, audit, catalogue, backups).
- **practice manager**: reads and changes patient data of the practices granted to them, exports it,
  enters aggregate counts, imports EHR files.
- **clinician**: reads patient data (worklists, referral loops) of their practices; no changes, no exports.
- **analyst**: aggregates only (scorecards, measure summaries) of every practice; no patient detail.

A context without an authenticated user is the *system user*: it exists only for a local, single-user
store (the tests, scripts, the command line before anyone created a user) and may do everything. Once a
store has users the command line refuses to run without ``--user``.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from ..codes import ROLE_LABELS
from ..models import Practice
from .context import ServiceContext, ServiceError

NETWORK_ADMIN = "network-admin"
PRACTICE_MANAGER = "practice-manager"
CLINICIAN = "clinician"
ANALYST = "analyst"
ROLES = (NETWORK_ADMIN, PRACTICE_MANAGER, CLINICIAN, ANALYST)

#: action -> what it means (for the refusal message)
ACTIONS: dict[str, str] = {
    "patients.read": "see patient-level data",
    "patients.write": "change patient-level data",
    "patients.export": "export patient-level data",
    "aggregates.read": "see aggregate results",
    "aggregates.write": "enter aggregate counts",
    "practices.manage": "create or change practices",
    "catalogue.manage": "change the measure and code catalogue",
    "users.manage": "manage users",
    "audit.read": "read the audit trail",
    "store.manage": "back up or restore the store",
}

_MANAGER = {"patients.read", "patients.write", "patients.export", "aggregates.read", "aggregates.write"}
MATRIX: dict[str, frozenset[str]] = {
    NETWORK_ADMIN: frozenset(ACTIONS),
    PRACTICE_MANAGER: frozenset(_MANAGER),
    CLINICIAN: frozenset({"patients.read", "aggregates.read"}),
    ANALYST: frozenset({"aggregates.read"}),
}
#: roles that see every practice (others only the practices granted to them)
ALL_PRACTICES = frozenset({NETWORK_ADMIN, ANALYST})


class NotAllowed(ServiceError):
    """The signed-in user's role or practice grants do not allow this (message names no patient)."""


def normalise_role(role: str) -> str:
    """``network_admin`` / ``Network-Admin`` -> ``network-admin``; unknown roles raise ServiceError."""
    key = role.strip().lower().replace("_", "-").replace(" ", "-")
    if key not in ROLES:
        raise ServiceError(f"Unknown role {role!r}; choose one of: {', '.join(r.replace('-', '_') for r in ROLES)}.")
    return key


def can(ctx: ServiceContext, action: str, practice_id: int | None = None) -> bool:
    try:
        require(ctx, action, practice_id)
    except NotAllowed:
        return False
    return True


def require(ctx: ServiceContext, action: str, practice_id: int | None = None) -> None:
    """Raise ``NotAllowed`` unless the context's user may do ``action`` (on ``practice_id`` when given).

    ``practice_id=None`` means "not about one practice": for patient-level actions that is the whole
    network, which only roles seeing every practice may touch (others pass their practice).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown permission action {action!r}")
    user = ctx.user
    if user is None:  # the system user of a local single-user store
        return
    label = ROLE_LABELS.get(user.role, user.role)
    if action not in MATRIX.get(user.role, frozenset()):
        raise NotAllowed(f"Not allowed: {user.username} ({label}) may not {ACTIONS[action]}.")
    if user.role in ALL_PRACTICES:
        return
    if practice_id is None:
        if action.startswith("patients.") or action.endswith(".write"):
            raise NotAllowed(f"Not allowed: {user.username} may only {ACTIONS[action]} of their own practices; "
                             "choose a practice.")
        return
    if practice_id not in user.practice_ids:
        raise NotAllowed(f"Not allowed: {user.username} has no access to that practice.")


def scope(ctx: ServiceContext, action: str, practice_ids: Iterable[int] | None) -> list[int] | None:
    """The practices a request may cover: ``practice_ids`` checked one by one, or, for ``None`` (all),
    the user's own practices when the role does not see every practice (``None`` = no restriction)."""
    if practice_ids is not None:
        ids = list(practice_ids)
        for pid in ids:
            require(ctx, action, pid)
        return ids
    user = ctx.user
    if user is None or user.role in ALL_PRACTICES:
        require(ctx, action)
        return None
    if not user.practice_ids:
        raise NotAllowed(f"Not allowed: {user.username} has no practice granted.")
    require(ctx, action, min(user.practice_ids))
    return sorted(user.practice_ids)


def require_practice_codes(ctx: ServiceContext, action: str, codes: Iterable[str]) -> None:
    """``require`` for each practice named by code (no codes: the action itself, network-wide)."""
    wanted = sorted(set(codes))
    if ctx.user is None:
        return
    if not wanted:
        require(ctx, action)
        return
    with ctx.db.session() as s:
        ids = dict(s.execute(select(Practice.code, Practice.id).where(Practice.code.in_(wanted))).all())
    for code in wanted:
        require(ctx, action, ids.get(code, -1))


def role_allows(ctx: ServiceContext, action: str) -> bool:
    """Whether the user's role may do ``action`` at all (for some practice): what a screen offers."""
    if action not in ACTIONS:
        raise ValueError(f"unknown permission action {action!r}")
    return ctx.user is None or action in MATRIX.get(ctx.user.role, frozenset())


def require_role(ctx: ServiceContext, action: str) -> None:
    """``NotAllowed`` unless the user's role may do ``action`` for some practice (the command table's check;
    which practice is the service's own check)."""
    if not role_allows(ctx, action):
        assert ctx.user is not None
        label = ROLE_LABELS.get(ctx.user.role, ctx.user.role)
        raise NotAllowed(f"Not allowed: {ctx.user.username} ({label}) may not {ACTIONS[action]}.")


def visible_practice_ids(ctx: ServiceContext) -> frozenset[int] | None:
    """Practices the user may see anything of (``None`` = all)."""
    user = ctx.user
    if user is None or user.role in ALL_PRACTICES:
        return None
    return user.practice_ids
