"""Network, practices, providers, patients and their insurance coverage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, SourceMixin, TimestampMixin, VersionedMixin


class Network(Base, TimestampMixin):
    __tablename__ = "network"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))

    practices: Mapped[list[Practice]] = relationship(back_populates="network")


class Practice(Base, TimestampMixin):
    __tablename__ = "practice"

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int | None] = mapped_column(ForeignKey("network.id", ondelete="SET NULL"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip_code: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)

    network: Mapped[Network | None] = relationship(back_populates="practices")
    providers: Mapped[list[Provider]] = relationship(back_populates="practice", cascade="all, delete-orphan")


class Provider(Base, TimestampMixin, SourceMixin):
    __tablename__ = "provider"
    __table_args__ = (UniqueConstraint("practice_id", "npi"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"), index=True)
    npi: Mapped[str | None] = mapped_column(String(10))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    credentials: Mapped[str | None] = mapped_column(String(40))
    specialty: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)

    practice: Mapped[Practice] = relationship(back_populates="providers")

    @property
    def display_name(self) -> str:
        parts = [p for p in (self.given_name, self.family_name) if p]
        name = " ".join(parts)
        return f"{name}, {self.credentials}" if self.credentials else name


class Patient(Base, TimestampMixin, SourceMixin, VersionedMixin):
    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("practice_id", "mrn"),
        Index("ix_patient_practice_birth", "practice_id", "birth_date"),
        Index("ix_patient_family_given", "family_name", "given_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    mrn: Mapped[str] = mapped_column(String(64))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[dt.date]
    birth_time: Mapped[dt.datetime | None]
    sex: Mapped[str] = mapped_column(String(16), default="unknown")  # codes.SEX_LABELS
    race: Mapped[str] = mapped_column(String(16), default="unknown")  # codes.RACE_LABELS
    ethnicity: Mapped[str] = mapped_column(String(16), default="unknown")  # codes.ETHNICITY_LABELS
    language: Mapped[str] = mapped_column(String(16), default="unknown")  # ISO 639-1 or 'other'
    payer: Mapped[str] = mapped_column(String(16), default="unknown")  # codes.PAYER_LABELS
    zip_code: Mapped[str | None] = mapped_column(String(10))
    # how to reach the family for care-gap outreach (migration 0008); never part of a submission
    phone: Mapped[str | None] = mapped_column(String(40))
    guardian: Mapped[str | None] = mapped_column(String(200))
    contact_method: Mapped[str | None] = mapped_column(String(20))  # outreach.METHODS: call, text, letter ...
    pcp_provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"), index=True)
    deceased_date: Mapped[dt.date | None]
    active: Mapped[bool] = mapped_column(default=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # identifiers, names ... without a column

    coverages: Mapped[list[Coverage]] = relationship(back_populates="patient", cascade="all, delete-orphan")

    @property
    def display_name(self) -> str:
        return ", ".join(p for p in (self.family_name, self.given_name) if p) or f"MRN {self.mrn}"


class Coverage(Base, SourceMixin):
    """An insurance coverage period (continuous enrollment, payer stratification)."""

    __tablename__ = "coverage"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)
    payer: Mapped[str] = mapped_column(String(16), default="unknown")  # codes.PAYER_LABELS
    payer_name: Mapped[str | None] = mapped_column(String(200))
    type_system: Mapped[str | None] = mapped_column(String(255))
    type_code: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24), default="active")
    start: Mapped[dt.date | None]
    end: Mapped[dt.date | None]

    patient: Mapped[Patient] = relationship(back_populates="coverages")
