"""Care coordination: referral loops, coordination activities, and aggregate (count-only) entries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, SourceMixin, TimestampMixin, VersionedMixin


class Referral(Base, TimestampMixin, SourceMixin, VersionedMixin):
    """A referral and its closed loop: placed -> scheduled -> seen -> report received -> closed (or lost)."""

    __tablename__ = "referral"
    __table_args__ = (Index("ix_referral_status_placed", "status", "placed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))
    referral_type: Mapped[str] = mapped_column(String(32))  # codes.REFERRAL_TYPE_LABELS
    reason_system: Mapped[str | None] = mapped_column(String(64))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason_text: Mapped[str | None] = mapped_column(String(255))
    destination: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24), default="placed")  # codes.REFERRAL_STATUSES
    placed_on: Mapped[dt.date]
    scheduled_on: Mapped[dt.date | None]
    seen_on: Mapped[dt.date | None]
    report_received_on: Mapped[dt.date | None]
    closed_on: Mapped[dt.date | None]
    lost_on: Mapped[dt.date | None]
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)


class CareActivity(Base, TimestampMixin, SourceMixin):
    """A care-coordination activity: outreach call, resource navigation, care-plan meeting ..."""

    __tablename__ = "care_activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id", ondelete="SET NULL"))
    activity_type: Mapped[str] = mapped_column(String(40))
    measure_id: Mapped[str | None] = mapped_column(String(32))  # care-gap outreach: the measure it was about
    activity_date: Mapped[dt.date]
    minutes: Mapped[int | None]
    performed_by: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    # care-gap outreach as data (migration 0008; NULL on older rows and other activity types)
    contact_method: Mapped[str | None] = mapped_column(String(20))  # call, text, letter, portal, in person
    outcome: Mapped[str | None] = mapped_column(String(20))  # reached, left message, no answer, ...
    follow_up_date: Mapped[dt.date | None]


class OutreachGap(Base):
    """A care gap open when an outreach attempt was logged (migration 0011): one row per gap item of the
    child's worklist at that moment, so that a gap closed later by new data can be credited to the outreach
    before it (``services.outreach_results``). Written with its attempt, never changed afterwards."""

    __tablename__ = "outreach_gap"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("care_activity.id", ondelete="CASCADE"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[str] = mapped_column(String(32))
    group_index: Mapped[int] = mapped_column(default=0)
    item: Mapped[str] = mapped_column(String(200))  # the gap in plain words (``metrics.gap_items``)
    due_date: Mapped[dt.date | None]
    period_start: Mapped[dt.date]  # the measurement period of the worklist the gap was on
    period_end: Mapped[dt.date]


class AggregateEntry(Base, TimestampMixin, VersionedMixin):
    """Figures a practice reports without patient detail (e.g. a monthly count from a paper log)."""

    __tablename__ = "aggregate_entry"
    __table_args__ = (UniqueConstraint("practice_id", "measure_id", "group_index", "period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[str] = mapped_column(String(32))
    group_index: Mapped[int] = mapped_column(default=0)
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    denominator: Mapped[int]
    numerator: Mapped[int]
    exclusions: Mapped[int] = mapped_column(default=0)
    exceptions: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
