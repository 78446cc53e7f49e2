"""Declarative base, shared column types and mixins for the typed ORM."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, MetaData, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

if TYPE_CHECKING:
    from sqlalchemy import FromClause

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """Naive UTC 'now' (all timestamps in the store are naive UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: DateTime(),
        dt.date: Date(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        str: String(),
    }


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.current_timestamp()
    )


class SourceMixin:
    """Where a row came from: the import batch and the identifier in that source.

    ``source_id`` is the FHIR resource id for FHIR imports, the EHR's record id (or ``row N``) for
    spreadsheet imports, and empty for manual entry. Re-imports match on it, so nothing is duplicated,
    and any measure result can be traced back to the file it came from.
    """

    @declared_attr
    def import_id(cls) -> Mapped[int | None]:
        return mapped_column(Integer, ForeignKey("data_import.id", ondelete="SET NULL"))

    source_id: Mapped[str | None] = mapped_column(String(128), index=True)


class VersionedMixin:
    """Optimistic concurrency: a stale write raises ``StaleDataError`` instead of losing an update."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    if TYPE_CHECKING:  # what the mapped class that mixes this in has
        __table__: ClassVar[FromClause]

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}
