"""What each import kind needs: its fields (type, required, length), and header synonyms of EHR exports.

The mapping from a file's headers to these fields is guessed from the synonyms below (Epic, athena,
eClinicalWorks, PCC and NextGen style headers), then confirmed or overridden by a saved profile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: str = "text"  # text | date | code | system | number | int
    required: bool = False
    max_len: int | None = None
    synonyms: tuple[str, ...] = ()


# shared fields
MRN = FieldSpec("mrn", "Medical record number", required=True, max_len=64, synonyms=(
    "mrn", "medical record number", "med rec no", "medrecno", "pat id", "patient id", "patientid", "pt id",
    "patient mrn", "chart number", "chart no", "chart #", "account number", "acct no", "enterprise id",
    "person number", "person nbr", "patient number", "pat mrn", "patient chart number",
))
RECORD_ID = FieldSpec("record_id", "EHR record id", max_len=128, synonyms=(
    "record id", "source id", "encounter id", "enc id", "csn", "visit id", "visit number", "appointment id",
    "appt id", "immunization id", "vaccination id", "vaccine admin id", "problem id", "diagnosis id",
    "dx id", "result id", "observation id", "order id", "medication id", "med id", "prescription id",
    "rx id", "referral id", "ref id", "enc nbr", "encounter number", "claim id", "id",
))
PROVIDER = FieldSpec("provider_npi", "Provider NPI", max_len=10, synonyms=(
    "npi", "provider npi", "rendering npi", "rendering provider npi", "prov npi", "attending npi",
))
DISPLAY = FieldSpec("display", "Description", max_len=255, synonyms=(
    "description", "code description", "display", "desc", "procedure description",
    "vaccine name", "vaccine", "diagnosis description", "dx description", "problem", "result name",
    "test name", "medication name", "drug name", "medication", "service description", "cpt description",
))
CODE_SYSTEM = FieldSpec("code_system", "Code system", type="system", max_len=64, synonyms=(
    "code system", "code type", "coding system", "system", "code set", "codeset", "vocabulary",
))
STATUS = FieldSpec("status", "Status", max_len=24, synonyms=("status", "record status", "visit status"))
# a second coding of the same thing (a visit's SNOMED type beside its CPT code, a drug's NDC beside its
# RxNorm code, a local result code beside the LOINC one): kept, and matched like the first
SECOND_CODE = FieldSpec("code_2", "Second code", type="code", max_len=64, synonyms=(
    "second code", "code 2", "code2", "alternate code", "alt code", "additional code", "secondary code",
    "other code", "local code",
))
_SNOMED_HEADERS = ("snomed", "snomed ct", "snomed code", "snomed ct code", "snomedct", "sct", "sct code")


def _second_code(*system_headers: str, label: str = "Second code") -> FieldSpec:
    """``code_2`` for a kind: the generic headers, plus headers naming another code system the kind's codes
    come in (a visit's ``CPT`` and ``SNOMED`` columns side by side). The first code's own headers come
    first in the kind's fields, so the column they name stays the first code (see ``guess_mapping``)."""
    return FieldSpec("code_2", label, type="code", max_len=64, synonyms=(*system_headers, *SECOND_CODE.synonyms))


SECOND_SYSTEM = FieldSpec("code_system_2", "Second code system", type="system", max_len=64, synonyms=(
    "second code system", "code system 2", "code type 2", "coding system 2", "alternate code system",
    "alt code system", "secondary code system", "local code system",
))


def _code(label: str, synonyms: tuple[str, ...]) -> FieldSpec:
    return FieldSpec("code", label, type="code", required=True, max_len=64, synonyms=synonyms)


def _date(name: str, label: str, synonyms: tuple[str, ...], *, required: bool = False) -> FieldSpec:
    return FieldSpec(name, label, type="date", required=required, synonyms=synonyms)


KIND_FIELDS: dict[str, tuple[FieldSpec, ...]] = {
    "patients": (
        MRN,
        FieldSpec("given_name", "First name", max_len=100, synonyms=(
            "first name", "firstname", "given name", "patient first name", "pat first name", "fname", "first")),
        FieldSpec("family_name", "Last name", max_len=100, synonyms=(
            "last name", "lastname", "family name", "surname", "patient last name", "pat last name", "lname",
            "last")),
        _date("birth_date", "Birth date", ("dob", "birth date", "birthdate", "date of birth", "patient dob",
                                           "pat dob", "birth dt", "dob date"), required=True),
        FieldSpec("sex", "Sex", max_len=16, synonyms=("sex", "gender", "patient sex", "birth sex", "legal sex")),
        FieldSpec("race", "Race", max_len=40, synonyms=("race", "patient race", "race 1", "race1")),
        FieldSpec("ethnicity", "Ethnicity", max_len=40, synonyms=("ethnicity", "ethnic group", "hispanic")),
        FieldSpec("language", "Language", max_len=40, synonyms=(
            "language", "preferred language", "primary language", "lang")),
        FieldSpec("payer", "Payer", max_len=60, synonyms=(
            "payer", "insurance", "primary insurance", "payer type", "financial class", "fin class",
            "insurance type", "plan type", "primary payer", "coverage")),
        FieldSpec("zip_code", "ZIP code", max_len=10, synonyms=(
            "zip", "zip code", "zipcode", "postal code", "patient zip", "pat zip")),
        FieldSpec("phone", "Phone", max_len=40, synonyms=(
            "phone", "phone number", "telephone", "tel", "home phone", "mobile", "mobile phone", "cell",
            "cell phone", "primary phone", "contact phone", "patient phone", "pat phone", "guardian phone",
            "parent phone")),
        FieldSpec("guardian", "Guardian", max_len=200, synonyms=(
            "guardian", "guardian name", "parent", "parent name", "parent/guardian", "parent guardian",
            "legal guardian", "responsible party", "guarantor", "guarantor name", "caregiver", "mother name",
            "mom name")),
        FieldSpec("contact_method", "Contact method", max_len=40, synonyms=(
            "contact method", "preferred contact method", "preferred contact", "contact preference",
            "communication preference", "preferred communication", "reminder preference")),
        _date("deceased_date", "Date of death", ("deceased date", "date of death", "death date", "dod")),
        FieldSpec("provider_npi", "PCP NPI", max_len=10, synonyms=(
            "pcp npi", "primary care provider npi", "npi", "provider npi", "attributed provider npi")),
    ),
    "encounters": (
        MRN, RECORD_ID,
        _date("date", "Visit date", ("visit date", "encounter date", "date of service", "dos", "service date",
                                     "appt date", "appointment date", "enc date", "visit start", "start date",
                                     "admit date", "date"), required=True),
        _date("end_date", "Visit end", ("visit end", "end date", "discharge date", "encounter end")),
        _code("Visit code (CPT/HCPCS/SNOMED)", ("cpt", "cpt code", "cpt4", "procedure code", "proc code",
                                                "visit code", "service code", "hcpcs", "cpt/hcpcs", "em code",
                                                "e&m code", "billing code", "code", "encounter type code")),
        CODE_SYSTEM, _second_code(*_SNOMED_HEADERS, "hcpcs", "hcpcs code"), SECOND_SYSTEM, DISPLAY, STATUS,
        FieldSpec("class_code", "Encounter class", max_len=16, synonyms=(
            "class", "encounter class", "visit class", "patient class", "place of service", "pos")),
        FieldSpec("reason_code", "Diagnosis (ICD-10)", type="code", max_len=64, synonyms=(
            "icd10", "icd-10", "icd 10", "icd10 code", "dx code", "diagnosis code", "primary dx",
            "primary diagnosis", "dx1", "diagnosis 1", "visit diagnosis", "reason code")),
        PROVIDER,
    ),
    "immunizations": (
        MRN, RECORD_ID,
        _date("date", "Administered on", ("administered date", "admin date", "date administered",
                                          "vaccination date", "vaccine date", "immunization date",
                                          "given date", "date given", "service date", "date"), required=True),
        _code("Vaccine code (CVX)", ("cvx", "cvx code", "vaccine code", "vaccine cvx", "immunization code",
                                     "code")),
        SECOND_CODE, SECOND_SYSTEM, DISPLAY,
        FieldSpec("status", "Status", max_len=24, synonyms=("status", "admin status", "completion status",
                                                          "given", "not given", "refused")),
        FieldSpec("reason", "Not-given reason", max_len=64, synonyms=(
            "reason", "not given reason", "refusal reason", "reason not given", "status reason",
            "exemption", "contraindication")),
        FieldSpec("lot_number", "Lot number", max_len=40, synonyms=("lot", "lot number", "lot no", "lot #")),
        PROVIDER,
    ),
    "diagnoses": (
        MRN, RECORD_ID,
        _date("date", "Onset / diagnosed on", ("onset date", "diagnosis date", "dx date", "noted date",
                                                "date noted", "date of diagnosis", "onset", "entry date",
                                                "service date", "date"), required=True),
        _date("end_date", "Resolved on", ("resolved date", "resolution date", "abatement date", "end date",
                                          "date resolved")),
        _code("Diagnosis code (ICD-10/SNOMED)", ("icd10", "icd-10", "icd 10", "icd10 code", "icd-10 code",
                                                 "dx code", "diagnosis code", "dx", "icd code", "code",
                                                 "problem code", "snomed")),
        CODE_SYSTEM, _second_code(*_SNOMED_HEADERS, "icd9", "icd 9", "icd9 code", "icd 9 code", "icd9cm"),
        SECOND_SYSTEM, DISPLAY,
        FieldSpec("clinical_status", "Clinical status", max_len=16, synonyms=(
            "clinical status", "status", "problem status", "dx status")),
        FieldSpec("category", "Category", max_len=32, synonyms=("category", "type", "dx type", "problem type")),
    ),
    "observations": (
        MRN, RECORD_ID,
        _date("date", "Date", ("result date", "observation date", "collection date", "collected date",
                               "screening date", "date of service", "service date", "performed date", "date"),
              required=True),
        _code("Observation code (LOINC)", ("loinc", "loinc code", "result code", "test code",
                                           "observation code", "screening code", "component code", "code")),
        CODE_SYSTEM, _second_code(*_SNOMED_HEADERS, "cpt", "cpt code", "cpt ii", "hcpcs", "hcpcs code"),
        SECOND_SYSTEM, DISPLAY, STATUS,
        FieldSpec("value", "Result value", max_len=255, synonyms=(
            "value", "score", "total score", "result value", "numeric result", "observation value", "result")),
        FieldSpec("unit", "Unit", max_len=32, synonyms=("unit", "units", "result unit", "uom")),
        FieldSpec("interpretation", "Interpretation", max_len=16, synonyms=(
            "interpretation", "abnormal flag", "flag", "result flag", "screen result", "screening result",
            "positive/negative", "outcome", "result")),
        FieldSpec("category", "Category", max_len=32, synonyms=("category", "observation category")),
        FieldSpec("instrument", "Instrument", max_len=64, synonyms=(
            "instrument", "screening tool", "tool", "screener", "questionnaire")),
    ),
    "medications": (
        MRN, RECORD_ID,
        _date("date", "Ordered on", ("order date", "ordered date", "prescribed date", "start date",
                                     "rx date", "written date", "authored on", "date"), required=True),
        _date("end_date", "Ends on", ("end date", "stop date", "discontinued date", "discontinue date")),
        _code("Medication code (RxNorm)", ("rxnorm", "rxcui", "rxnorm code", "medication code", "med code",
                                           "drug code", "ndc", "code")),
        CODE_SYSTEM, _second_code("ndc", "ndc code", "rxnorm", "rxnorm code", label="Second code (e.g. NDC)"),
        SECOND_SYSTEM, DISPLAY, STATUS,
        FieldSpec("quantity", "Quantity", type="number", synonyms=("quantity", "qty", "dispense quantity",
                                                                   "disp qty")),
        FieldSpec("supply_days", "Days supply", type="number", synonyms=("days supply", "day supply",
                                                                         "days", "supply days")),
        FieldSpec("refills", "Refills", type="int", synonyms=("refills", "refills allowed", "num refills")),
        PROVIDER,
    ),
    "referrals": (
        MRN, RECORD_ID,
        _date("date", "Placed on", ("referral date", "placed date", "date placed", "order date", "ordered date",
                                    "referred date", "date referred", "date"), required=True),
        FieldSpec("referral_type", "Referral type", required=True, max_len=64, synonyms=(
            "referral type", "type", "referral category", "referred to type", "specialty", "service type")),
        FieldSpec("destination", "Referred to", max_len=200, synonyms=(
            "referred to", "referral to", "destination", "refer to provider", "referred to provider",
            "agency", "organization", "facility")),
        FieldSpec("reason_code", "Reason code", type="code", max_len=64, synonyms=(
            "reason code", "dx code", "icd10", "diagnosis code", "referral dx")),
        FieldSpec("reason_text", "Reason", max_len=255, synonyms=("reason", "referral reason", "indication")),
        STATUS,
        _date("scheduled_on", "Scheduled on", ("scheduled date", "appointment date", "appt date", "date scheduled")),
        _date("seen_on", "Seen on", ("seen date", "date seen", "visit date", "completed visit date")),
        _date("report_received_on", "Report received on", ("report received date", "report date",
                                                            "consult note received", "date report received",
                                                            "results received")),
        _date("closed_on", "Closed on", ("closed date", "date closed", "close date", "completed date")),
        _date("lost_on", "Lost to follow-up on", ("lost date", "lost to follow up date", "ltfu date")),
        FieldSpec("lost_reason", "Lost reason", max_len=200, synonyms=(
            "lost reason", "lost to follow up reason", "ltfu reason", "close reason")),
        PROVIDER,
    ),
    "appointments": (
        MRN, RECORD_ID,
        _date("date", "Appointment date", ("appointment date", "appt date", "appointment datetime",
                                           "appt date time", "appointment start", "appt start", "scheduled date",
                                           "scheduled for", "start date", "start", "slot date", "date"),
              required=True),
        FieldSpec("time", "Appointment time", max_len=16, synonyms=(
            "appointment time", "appt time", "start time", "slot time", "scheduled time", "time")),
        FieldSpec("minutes", "Length (minutes)", type="int", synonyms=(
            "duration", "appt length", "appointment length", "length", "minutes", "duration minutes", "slot length")),
        FieldSpec("provider_name", "Provider", max_len=200, synonyms=(
            "provider", "provider name", "appt provider", "scheduled provider", "visit provider", "resource",
            "resource name", "physician", "doctor", "clinician", "rendering provider", "pcp")),
        FieldSpec("visit_type", "Visit type", max_len=100, synonyms=(
            "visit type", "appointment type", "appt type", "visit reason", "reason for visit", "appt reason",
            "appointment reason", "chief complaint", "type")),
        FieldSpec("status", "Status", max_len=24, synonyms=(
            "appt status", "appointment status", "status", "visit status", "scheduling status")),
        PROVIDER,
    ),
}
KINDS = tuple(KIND_FIELDS)
# Code systems tried, in order, for a code column without a system column.
CODE_CANDIDATES: dict[str, tuple[str, ...]] = {
    "encounters": ("cpt", "hcpcs", "snomed"),
    "immunizations": ("cvx",),
    "diagnoses": ("icd10cm", "snomed", "icd9cm"),
    "observations": ("loinc", "cpt", "hcpcs", "snomed"),
    "medications": ("rxnorm", "ndc"),
    "referrals": ("icd10cm", "snomed"),
}
REASON_CANDIDATES = ("icd10cm", "snomed")


def field_specs(kind: str) -> tuple[FieldSpec, ...]:
    try:
        return KIND_FIELDS[kind]
    except KeyError:
        raise ValueError(f"Unknown import kind {kind!r}; choose one of: {', '.join(KINDS)}") from None


def _norm(header: str) -> str:
    h = header.lower().replace("_", " ").replace("-", " ").replace(".", " ")
    h = re.sub(r"\s*\(\d+\)$", "", h)  # deduplicated headers 'Date (2)'
    h = re.sub(r"[^a-z0-9#&/ ]", "", h)
    return re.sub(r"\s+", " ", h).strip()


def guess_mapping(headers: list[str], kind: str) -> dict[str, str]:
    """``{field: header}`` from header synonyms: exact matches first, then 'contains' matches.

    Each header maps to at most one field; earlier synonyms (more specific) win.
    """
    specs = field_specs(kind)
    normed = {h: _norm(h) for h in headers}
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for exact in (True, False):
        for spec in specs:
            if spec.name in mapping:
                continue
            candidates = (spec.name.replace("_", " "), *(_norm(s) for s in spec.synonyms))
            for syn in candidates:
                hit = next(
                    (h for h in headers if h not in taken and (
                        normed[h] == syn if exact else (len(syn) >= 4 and syn in normed[h]))),
                    None,
                )
                if hit is not None:
                    mapping[spec.name] = hit
                    taken.add(hit)
                    break
    if "code_2" in mapping and "code" not in mapping and any(s.name == "code" for s in specs):
        # one code column, named by a system only the second code lists (a visit's 'SNOMED CT code'): it is
        # the code; a second code needs a first
        mapping["code"] = mapping.pop("code_2")
        if "code_system_2" in mapping and "code_system" not in mapping:
            mapping["code_system"] = mapping.pop("code_system_2")
    return mapping
