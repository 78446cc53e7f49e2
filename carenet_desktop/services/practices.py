"""Practices and providers: listing with patient counts, creating and editing (audited)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, true

from ..models import Network, Patient, Practice, Provider
from . import audit
from .context import ServiceContext, ServiceError
from .permissions import require, visible_practice_ids


@dataclass(frozen=True)
class PracticeSummary:
    id: int
    code: str
    name: str
    city: str | None
    patients: int
    providers: int


def list_practices(ctx: ServiceContext) -> list[PracticeSummary]:
    """The practices the user may see (every practice for the system user, administrators, analysts)."""
    require(ctx, "aggregates.read")
    visible = visible_practice_ids(ctx)
    with ctx.db.session() as s:
        patients = (
            select(Patient.practice_id, func.count().label("n")).group_by(Patient.practice_id).subquery()
        )
        providers = (
            select(Provider.practice_id, func.count().label("n")).group_by(Provider.practice_id).subquery()
        )
        rows = s.execute(
            select(
                Practice.id,
                Practice.code,
                Practice.name,
                Practice.city,
                func.coalesce(patients.c.n, 0),
                func.coalesce(providers.c.n, 0),
            )
            .outerjoin(patients, patients.c.practice_id == Practice.id)
            .outerjoin(providers, providers.c.practice_id == Practice.id)
            .where(Practice.id.in_(visible) if visible is not None else true())
            .order_by(Practice.code)
        ).all()
    return [PracticeSummary(*row) for row in rows]


def network_name(ctx: ServiceContext) -> str | None:
    with ctx.db.session() as s:
        return s.scalar(select(Network.name).order_by(Network.id).limit(1))


#: the name a new store's network gets when the set-up is given none
DEFAULT_NETWORK_NAME = "Pediatric care network"


def set_network_name(ctx: ServiceContext, name: str) -> int:
    """Name the store's network (creating it, with the practices that belong to none, when there is none
    yet); audited. Returns its id."""
    name = " ".join(name.split())
    if not name:
        raise ServiceError("Give the network's name.")
    if len(name) > 200:
        raise ServiceError("The network's name is at most 200 characters.")
    require(ctx, "practices.manage")
    with ctx.db.session() as s:
        network = s.scalars(select(Network).order_by(Network.id).limit(1)).first()
        before = audit.row_snapshot(network) if network is not None else None
        if network is None:
            network = Network(name=name)
            s.add(network)
            s.flush()
            for practice in s.scalars(select(Practice).where(Practice.network_id.is_(None))):
                practice.network_id = network.id
        else:
            network.name = name
            s.flush()
        audit.record(s, ctx.username, "create" if before is None else "update", "network", network.id,
                     before=before, after=audit.row_snapshot(network))
        return network.id


def get_or_create_practice(ctx: ServiceContext, code: str, name: str | None = None) -> int:
    """The id of the practice with ``code``, creating it (audited) when it does not exist."""
    code = code.strip()
    if not code:
        raise ServiceError("A practice code is required.")
    with ctx.db.session() as s:
        existing = s.scalar(select(Practice.id).where(Practice.code == code))
        if existing is not None:
            return existing
        require(ctx, "practices.manage")
        network_id = s.scalar(select(Network.id).order_by(Network.id).limit(1))
        practice = Practice(code=code, name=name or code, network_id=network_id)
        s.add(practice)
        s.flush()
        audit.record(s, ctx.username, "create", "practice", practice.id, practice_id=practice.id,
                     after=audit.row_snapshot(practice))
        return practice.id
