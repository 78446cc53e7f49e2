"""The store: typed SQLAlchemy models, the database engine, migrations and backups (no Qt here)."""

from .base import Base, utcnow
from .cache_secret import CacheSecret
from .changes import DataChange
from .clinical import (
    Condition,
    Encounter,
    EncounterDiagnosis,
    Immunization,
    MedicationDispense,
    MedicationRequest,
    Observation,
    Procedure,
    ServiceRequest,
)
from .coordination import AggregateEntry, CareActivity, OutreachGap, Referral
from .intake import ImportChange, MappingProfile
from .organisation import Coverage, Network, Patient, Practice, Provider
from .provenance import DataImport
from .scheduling import Appointment
from .security import AuditHead, AuditLog, User, UserPractice
from .shared_results import ResultLease, SharedResult
from .submission import SigningKey, Submission, SubmittedAggregate, TrustedKey
from .terminology import ValueSet, ValueSetCode

CLINICAL_EVENT_MODELS = (
    Encounter,
    Condition,
    Observation,
    Procedure,
    Immunization,
    MedicationRequest,
    MedicationDispense,
    ServiceRequest,
)

__all__ = [
    "AggregateEntry",
    "Appointment",
    "AuditHead",
    "AuditLog",
    "Base",
    "CacheSecret",
    "CLINICAL_EVENT_MODELS",
    "CareActivity",
    "DataChange",
    "Condition",
    "Coverage",
    "DataImport",
    "Encounter",
    "EncounterDiagnosis",
    "Immunization",
    "ImportChange",
    "MappingProfile",
    "MedicationDispense",
    "MedicationRequest",
    "Network",
    "Observation",
    "OutreachGap",
    "Patient",
    "Practice",
    "Procedure",
    "Provider",
    "Referral",
    "ResultLease",
    "ServiceRequest",
    "SharedResult",
    "SigningKey",
    "Submission",
    "SubmittedAggregate",
    "TrustedKey",
    "User",
    "UserPractice",
    "ValueSet",
    "ValueSetCode",
    "utcnow",
]
