"""Value sets as data: FHIR ValueSet expansions the measures match codes against."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, TimestampMixin


class ValueSet(Base, TimestampMixin):
    __tablename__ = "value_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(255), unique=True)  # canonical URL (VSAC: .../ValueSet/<oid>)
    oid: Mapped[str | None] = mapped_column(String(128), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))  # catalogue | vsac | user


class ValueSetCode(Base):
    __tablename__ = "value_set_code"
    __table_args__ = (Index("ix_value_set_code_vs", "value_set_id", "code_system", "code", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    value_set_id: Mapped[int] = mapped_column(ForeignKey("value_set.id", ondelete="CASCADE"))
    code_system: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(64))
    display: Mapped[str | None] = mapped_column(String(255))
