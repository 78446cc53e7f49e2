"""Users, their roles and practice grants, and the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, TimestampMixin, utcnow


class User(Base, TimestampMixin):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(24))  # codes.ROLE_LABELS
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login: Mapped[dt.datetime | None]


class UserPractice(Base):
    """A practice granted to a user (network administrators see every practice without grants)."""

    __tablename__ = "user_practice"

    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True)


class AuditLog(Base):
    """Who did what, when: every change (with before/after) and every view or export of patient data.

    ``entry_hash`` chains each entry to the previous one so a tampered or deleted entry is detectable.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(24))  # create | update | delete | view | export | import | undo
    entity: Mapped[str] = mapped_column(String(48))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    practice_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """The end of the audit chain: the number of entries and the last hash, updated with every entry.

    A removed last entry leaves no broken link behind it; the head still names it, so it is detected.
    Appending locks this one row first (``FOR UPDATE`` on PostgreSQL; SQLite serialises writers), so
    concurrent writers cannot fork the chain. ``key_id`` names the key of the chain (kept outside the store,
    ``models/audit_key.py``); entries from ``keyed_from`` on are HMACs under it, and ``head_mac`` seals
    this row, so the count cannot be lowered nor the last hash replaced without the key.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    entries: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(64))
    keyed_from: Mapped[int | None]
    head_mac: Mapped[str | None] = mapped_column(String(64))
