"""Clinical events, modelled on FHIR R4 so that EHR data maps without loss.

Every coded field keeps its code system (short key, see ``carenet_desktop.codes``), code and display.
What a table has no column for is kept in ``detail`` (JSON), so an import never silently drops data.
Timestamps are naive clock times as the source wrote them (a FHIR offset is not applied: CQL compares the
written calendar day); ``date_only`` names the ones that had no time of day.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from .base import Base, SourceMixin


class ClinicalEventMixin(SourceMixin):
    id: Mapped[int] = mapped_column(primary_key=True)

    @declared_attr
    def patient_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("patient.id", ondelete="CASCADE"), index=True)

    status: Mapped[str | None] = mapped_column(String(24))
    code_system: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(64))
    display: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: FHIR files that claim QI-Core conformance: does this resource claim a profile ("yes"/"no")?
    #: None when the source claims nothing. "no" rows are kept but not evaluated (see measure_data).
    profile_claim: Mapped[str | None] = mapped_column(String(8))
    #: every further coding of the row's coded elements (the columns hold the primary one): one
    #: ``element<TAB>system|code`` a line, element ``code`` (the row's own code: every Encounter.type and
    #: coding, a medication's RxNorm and NDC ...), ``value``, ``reason``, ``status_reason``, ``discharge``,
    #: ``location`` (Encounter), or ``category`` (the code only); NULL when
    #: each element had at most one coding. Measures match a value set on any coding (see measure_data).
    codings: Mapped[str | None] = mapped_column(Text)
    #: the names of this row's time columns whose source value was a date without a time of day
    #: (comma-separated, e.g. ``onset,abatement``): in CQL such a value is uncertain within its day
    date_only: Mapped[str | None] = mapped_column(String(200))
    if TYPE_CHECKING:  # what the mapped class that mixes this in has
        __tablename__: Any  # as DeclarativeBase declares it

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (Index(f"ix_{cls.__tablename__}_code", "code"),)


class Encounter(Base, ClinicalEventMixin):
    __tablename__ = "encounter"

    class_code: Mapped[str | None] = mapped_column(String(16))  # v3 ActCode: AMB, EMER, IMP, VR, HH ...
    start: Mapped[dt.datetime | None]
    end: Mapped[dt.datetime | None]
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))
    reason_system: Mapped[str | None] = mapped_column(String(255))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    discharge_system: Mapped[str | None] = mapped_column(String(255))
    discharge_code: Mapped[str | None] = mapped_column(String(64))
    # type of the first Encounter.location whose Location has one (e.g. SNOMED ambulatory care site)
    location_system: Mapped[str | None] = mapped_column(String(255))
    location_code: Mapped[str | None] = mapped_column(String(64))


class EncounterDiagnosis(Base):
    """Encounter.diagnosis: the conditions an encounter addressed, with their code copied for speed."""

    __tablename__ = "encounter_diagnosis"

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounter.id", ondelete="CASCADE"), index=True)
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("condition.id", ondelete="SET NULL"))
    condition_source_id: Mapped[str | None] = mapped_column(String(128))
    code_system: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(64))
    use: Mapped[str | None] = mapped_column(String(24))
    rank: Mapped[int | None]


class Condition(Base, ClinicalEventMixin):
    __tablename__ = "condition"

    category: Mapped[str | None] = mapped_column(String(32))  # problem-list-item | encounter-diagnosis | health-concern
    clinical_status: Mapped[str | None] = mapped_column(String(16))  # active | recurrence | relapse | inactive | remission | resolved
    verification_status: Mapped[str | None] = mapped_column(String(24))
    onset: Mapped[dt.datetime | None]
    abatement: Mapped[dt.datetime | None]
    recorded: Mapped[dt.datetime | None]
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.id", ondelete="SET NULL"))
    #: the QI-Core 6 Condition profile the resource claims, as a kind: encounter-diagnosis |
    #: problems-health-concerns (None: no such profile; see metrics.libraries.condition_kind)
    profile_kind: Mapped[str | None] = mapped_column(String(32))


class Observation(Base, ClinicalEventMixin):
    """Screenings, vital signs and results: ASQ-3, M-CHAT-R/F, PHQ-9A, EPDS, BMI percentile, lead ..."""

    __tablename__ = "observation"

    category: Mapped[str | None] = mapped_column(String(32))
    effective_start: Mapped[dt.datetime | None]
    effective_end: Mapped[dt.datetime | None]
    issued: Mapped[dt.datetime | None]
    value_num: Mapped[float | None]
    value_unit: Mapped[str | None] = mapped_column(String(32))
    value_system: Mapped[str | None] = mapped_column(String(255))
    value_code: Mapped[str | None] = mapped_column(String(64))
    value_text: Mapped[str | None] = mapped_column(String(255))
    interpretation: Mapped[str | None] = mapped_column(String(16))  # positive | negative | normal | abnormal
    # why it was not done (QI-Core notDoneReason extension), for status cancelled / not-done
    status_reason_system: Mapped[str | None] = mapped_column(String(255))
    status_reason_code: Mapped[str | None] = mapped_column(String(64))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.id", ondelete="SET NULL"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))


class Procedure(Base, ClinicalEventMixin):
    __tablename__ = "procedure"

    performed_start: Mapped[dt.datetime | None]
    performed_end: Mapped[dt.datetime | None]
    recorded: Mapped[dt.datetime | None]  # QI-Core recorded extension (when a not-done was documented)
    status_reason_system: Mapped[str | None] = mapped_column(String(255))
    status_reason_code: Mapped[str | None] = mapped_column(String(64))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.id", ondelete="SET NULL"))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))


class Immunization(Base, ClinicalEventMixin):
    """Vaccine given (status completed) or not given (status not-done, with the reason)."""

    __tablename__ = "immunization"

    occurrence: Mapped[dt.datetime | None]
    recorded: Mapped[dt.datetime | None]
    primary_source: Mapped[bool | None]
    status_reason_system: Mapped[str | None] = mapped_column(String(255))
    status_reason_code: Mapped[str | None] = mapped_column(String(64))  # refusal, contraindication ...
    lot_number: Mapped[str | None] = mapped_column(String(40))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))


class MedicationRequest(Base, ClinicalEventMixin):
    """A prescription (RxNorm), with what cumulative-medication-duration logic needs."""

    __tablename__ = "medication_request"

    intent: Mapped[str | None] = mapped_column(String(24))
    category: Mapped[str | None] = mapped_column(String(32))  # community | discharge | inpatient ...
    authored_on: Mapped[dt.datetime | None]
    do_not_perform: Mapped[bool | None]
    dose_quantity: Mapped[float | None]
    dose_unit: Mapped[str | None] = mapped_column(String(32))
    timing_frequency: Mapped[int | None]
    timing_period: Mapped[float | None]
    timing_period_unit: Mapped[str | None] = mapped_column(String(8))
    boundary_start: Mapped[dt.datetime | None]  # dosageInstruction.timing.repeat.boundsPeriod
    boundary_end: Mapped[dt.datetime | None]
    dispense_quantity: Mapped[float | None]
    dispense_unit: Mapped[str | None] = mapped_column(String(32))
    supply_days: Mapped[float | None]  # dispenseRequest.expectedSupplyDuration (days)
    repeats_allowed: Mapped[int | None]
    validity_start: Mapped[dt.datetime | None]
    validity_end: Mapped[dt.datetime | None]
    status_reason_system: Mapped[str | None] = mapped_column(String(255))
    status_reason_code: Mapped[str | None] = mapped_column(String(64))
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id", ondelete="SET NULL"))


class MedicationDispense(Base, ClinicalEventMixin):
    """A dispense or an administration (``kind``) of a medication."""

    __tablename__ = "medication_dispense"

    kind: Mapped[str] = mapped_column(String(16), default="dispense")  # dispense | administration
    when_start: Mapped[dt.datetime | None]  # whenHandedOver / effective start
    when_end: Mapped[dt.datetime | None]
    quantity: Mapped[float | None]
    quantity_unit: Mapped[str | None] = mapped_column(String(32))
    days_supply: Mapped[float | None]


class ServiceRequest(Base, ClinicalEventMixin):
    __tablename__ = "service_request"

    intent: Mapped[str | None] = mapped_column(String(24))
    authored_on: Mapped[dt.datetime | None]
    occurrence: Mapped[dt.datetime | None]
    do_not_perform: Mapped[bool | None]
    reason_system: Mapped[str | None] = mapped_column(String(255))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    # why it was not done (statusReason / request-statusReason extension)
    status_reason_system: Mapped[str | None] = mapped_column(String(255))
    status_reason_code: Mapped[str | None] = mapped_column(String(64))
    encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounter.id", ondelete="SET NULL"))
