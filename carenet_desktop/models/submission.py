"""The signed submission package between a practice and the network office.

At a practice: ``SigningKey`` holds the practice's Ed25519 key pair (the private key encrypted, never in
plain text). At the office: ``TrustedKey`` holds the public keys the office registered for each
practice, ``Submission`` every package imported (a resubmission for the same practice and period
supersedes the earlier one, which stays as history) and ``SubmittedAggregate`` its counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class SigningKey(Base):
    """This installation's Ed25519 key pair for signing a practice's submissions.

    ``private_key`` is the raw private key encrypted (Fernet) with a wrapping key kept in the OS keyring
    or, without one, in a 0600 file beside the database; ``protection`` says which.
    """

    __tablename__ = "signing_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_code: Mapped[str] = mapped_column(String(32), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    protection: Mapped[str] = mapped_column(String(16))  # keyring | keyfile
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None]


class TrustedKey(Base):
    """A practice public key the network office registered: packages signed by it are accepted."""

    __tablename__ = "trusted_key"
    __table_args__ = (UniqueConstraint("practice_code", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_code: Mapped[str] = mapped_column(String(32), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    public_key_pem: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    registered_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None]


class Submission(Base):
    """One imported package: which practice and period, who signed it, and whether it is current."""

    __tablename__ = "submission"
    __table_args__ = (Index("ix_submission_practice_period", "practice_id", "period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practice.id", ondelete="CASCADE"))
    period_label: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    format_version: Mapped[int]
    software_version: Mapped[str | None] = mapped_column(String(32))
    package_created_at: Mapped[str | None] = mapped_column(String(40))
    manifest_sha256: Mapped[str] = mapped_column(String(64), index=True)
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(500))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="current")  # current | superseded
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id", ondelete="SET NULL"))
    row_count: Mapped[int] = mapped_column(default=0)
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SubmittedAggregate(Base):
    """Counts of one measure x group x stratum in a submission; all counts are NULL when suppressed.

    ``stratifier`` is empty for the practice total, else the stratifying attribute (payer, race ...)
    and ``stratum`` its value.
    """

    __tablename__ = "submitted_aggregate"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[str] = mapped_column(String(32))
    measure_version: Mapped[str | None] = mapped_column(String(32))
    group_index: Mapped[int] = mapped_column(default=0)
    stratifier: Mapped[str] = mapped_column(String(32), default="")
    stratum: Mapped[str] = mapped_column(String(64), default="")
    suppressed: Mapped[bool] = mapped_column(default=False)
    initial_population: Mapped[int | None]
    denominator: Mapped[int | None]
    exclusions: Mapped[int | None]
    exceptions: Mapped[int | None]
    numerator: Mapped[int | None]
    rate: Mapped[float | None] = mapped_column(Float)
