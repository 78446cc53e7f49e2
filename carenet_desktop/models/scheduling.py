"""The practice's schedule: appointments booked for a child (imported from the EHR's scheduling export).

No measure reads them (a booked visit changes no result until it happens and its encounter is imported):
they feed the worklist's "next visit" and the daily huddle (pre-visit planning).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, SourceMixin, TimestampMixin


class Appointment(Base, TimestampMixin, SourceMixin):
    """One booked visit: who, when, with whom, what kind, and its scheduling status."""

    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_start", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))
    provider_name: Mapped[str | None] = mapped_column(String(200))  # as the schedule names the provider
    start: Mapped[dt.datetime]
    minutes: Mapped[int | None]
    visit_type: Mapped[str | None] = mapped_column(String(100))  # "Well child 12 mo", "Sick visit" ...
    status: Mapped[str] = mapped_column(String(24), default="booked")  # codes.APPOINTMENT_STATUSES
    date_only: Mapped[str | None] = mapped_column(String(64))  # "start" when the export gave no time of day
