"""Data intake bookkeeping: saved column-mapping profiles and the undo log of spreadsheet imports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, TimestampMixin


class MappingProfile(Base, TimestampMixin):
    """How one practice's export of one kind maps onto our fields (confirmed by the user, then reused).

    ``mapping`` is ``{field: header}``; ``date_formats`` is ``{field: format key}`` (see
    ``interchange.tabular.dates``); ``options`` holds encoding, delimiter, sheet name and the like.
    """

    __tablename__ = "mapping_profile"
    __table_args__ = (UniqueConstraint("practice_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(100))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    date_formats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(64))


class ImportChange(Base):
    """A row an import updated, with its values before, so the import can be undone as a whole.

    Rows an import added need no entry here: they carry the import's id in ``import_id``.
    """

    __tablename__ = "import_change"
    __table_args__ = (Index("ix_import_change_row", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("data_import.id", ondelete="CASCADE"), index=True)
    table_name: Mapped[str] = mapped_column(String(48))
    row_id: Mapped[int]
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
