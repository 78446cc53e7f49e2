"""Value sets as data: FHIR ValueSet expansions the measures match codes against.

An expansion is stored by (url, version, expansion): the same canonical URL may be held in several
versions side by side (each measure year evaluates with its own). ``version`` is the ValueSet's business
version and ``expansion`` the expansion's own identity (its timestamp): the published 2025 and 2026
expansions of a value set often keep the same business version with different codes (DTaP Vaccine
20170504 gained CVX 198), so the version alone cannot tell them apart. Both are '' when the file says
nothing.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, TimestampMixin


class ValueSet(Base, TimestampMixin):
    __tablename__ = "value_set"
    __table_args__ = (UniqueConstraint("url", "version", "expansion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(255), index=True)  # canonical URL (VSAC: .../ValueSet/<oid>)
    oid: Mapped[str | None] = mapped_column(String(128), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64), server_default="", default="")
    expansion: Mapped[str] = mapped_column(String(64), server_default="", default="")  # expansion timestamp
    source: Mapped[str | None] = mapped_column(String(64))  # catalogue | vsac | user


class ValueSetCode(Base):
    __tablename__ = "value_set_code"
    __table_args__ = (Index("ix_value_set_code_vs", "value_set_id", "code_system", "code", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    value_set_id: Mapped[int] = mapped_column(ForeignKey("value_set.id", ondelete="CASCADE"))
    code_system: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(64))
    display: Mapped[str | None] = mapped_column(String(255))
