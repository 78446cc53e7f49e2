"""Measure results computed once for every workstation of a network office (``services.shared_results``).

``shared_result`` holds one period's results under the key every results cache uses - the store's
history, the measure definitions' digest and the measure code - at one journal version: the practice
summary the scorecard shows, and the patient-level rows (read only when a patient-level view asks).
``result_lease`` says which client is computing a key at a version, until when (the database's clock,
epoch seconds): the others wait for it and read; a lease its holder stopped renewing (a crashed
workstation) expires and is taken over.

Neither is store data: no measure reads them and nothing a user typed is there, so they are not
journaled (``journal.UNMEASURED``), and a reader thread may write them (``write_guard.CACHE_TABLES``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class SharedResult(Base):
    __tablename__ = "shared_result"
    __table_args__ = (UniqueConstraint("key", "version"),)  # also the index of every look-up

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sha256 of (period, measures, measure code, store history, definitions digest)
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]  # the change journal's version the results reflect exactly
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: the store history the results were computed for (``store_identity``); None: stored before 0012
    history: Mapped[str | None] = mapped_column(String(36))
    summary_data: Mapped[bytes] = mapped_column(LargeBinary)  # .npz: per practice, and the failures
    row_data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # .npz: patient-level rows


class ResultLease(Base):
    __tablename__ = "result_lease"

    #: SharedResult.key and the version being computed
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float]  # epoch seconds, the database's clock
