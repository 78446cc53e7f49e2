"""Code systems and demographic vocabularies shared by every layer (pure, no dependencies).

Coded fields are stored with a short code-system key (``cvx``, ``loinc`` ...) instead of the full FHIR
URI: tens of millions of event rows would otherwise repeat the same 25-byte string. ``system_key`` and
``system_uri`` convert both ways; a system we do not know is kept as its full URI, so nothing is lost.
"""

from __future__ import annotations

SYSTEM_URIS: dict[str, str] = {
    "cvx": "http://hl7.org/fhir/sid/cvx",
    "icd10cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "icd9cm": "http://hl7.org/fhir/sid/icd-9-cm",
    "loinc": "http://loinc.org",
    "snomed": "http://snomed.info/sct",
    "cpt": "http://www.ama-assn.org/go/cpt",
    "hcpcs": "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "cdt": "http://www.ada.org/cdt",
    "icd10pcs": "http://www.cms.gov/Medicare/Coding/ICD10",
    "actcode": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "sop": "https://nahdo.org/sopt",
    "cdcrec": "urn:oid:2.16.840.1.113883.6.238",
    "ndc": "http://hl7.org/fhir/sid/ndc",
    "ucum": "http://unitsofmeasure.org",
    "dischargedisposition": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
    "conditionclinical": "http://terminology.hl7.org/CodeSystem/condition-clinical",
    "conditionverstatus": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
    "conditioncategory": "http://terminology.hl7.org/CodeSystem/condition-category",
    "observationcategory": "http://terminology.hl7.org/CodeSystem/observation-category",
    "local": "urn:carenet:local",
}

# Alternative spellings seen in real exports and older value sets.
_ALIASES: dict[str, str] = {
    "http://www.ama-assn.org/go/cpt/": "cpt",
    "urn:oid:2.16.840.1.113883.6.12": "cpt",
    "urn:oid:2.16.840.1.113883.12.292": "cvx",
    "urn:oid:2.16.840.1.113883.6.88": "rxnorm",
    "urn:oid:2.16.840.1.113883.6.96": "snomed",
    "http://snomed.info/sct/": "snomed",
    "urn:oid:2.16.840.1.113883.6.1": "loinc",
    "urn:oid:2.16.840.1.113883.6.90": "icd10cm",
    "urn:oid:2.16.840.1.113883.6.103": "icd9cm",
    "urn:oid:2.16.840.1.113883.6.285": "hcpcs",
    "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "hcpcs",
    "urn:oid:2.16.840.1.113883.6.13": "cdt",
    "http://ada.org/cdt": "cdt",
    "http://www.nlm.nih.gov/research/umls/hcpcs": "hcpcs",
    "urn:oid:2.16.840.1.113883.6.4": "icd10pcs",
}

_URI_TO_KEY: dict[str, str] = {uri: key for key, uri in SYSTEM_URIS.items()} | _ALIASES


def system_key(uri: str | None) -> str | None:
    """The short key for a code-system URI (unknown URIs are returned unchanged)."""
    if uri is None:
        return None
    uri = uri.strip()
    if uri in SYSTEM_URIS:  # already a key
        return uri
    return _URI_TO_KEY.get(uri, _URI_TO_KEY.get(uri.rstrip("/"), uri))


def system_uri(key: str | None) -> str | None:
    """The FHIR URI for a stored code-system key."""
    if key is None:
        return None
    return SYSTEM_URIS.get(key, key)


# --- demographics (keys stored in the database; labels for screens and reports) ---------------------

SEX_LABELS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}

RACE_LABELS = {
    "aian": "American Indian or Alaska Native",
    "asian": "Asian",
    "black": "Black or African American",
    "nhpi": "Native Hawaiian or Other Pacific Islander",
    "white": "White",
    "multiple": "More than one race",
    "other": "Other race",
    "unknown": "Unknown / declined",
}
# CDC Race & Ethnicity code system (OMB categories) <-> our keys
RACE_CDC = {
    "1002-5": "aian",
    "2028-9": "asian",
    "2054-5": "black",
    "2076-8": "nhpi",
    "2106-3": "white",
    "2131-1": "other",
}
ETHNICITY_LABELS = {"hispanic": "Hispanic or Latino", "not-hispanic": "Not Hispanic or Latino", "unknown": "Unknown / declined"}
ETHNICITY_CDC = {"2135-2": "hispanic", "2186-5": "not-hispanic"}

PAYER_LABELS = {
    "medicaid": "Medicaid",
    "chip": "CHIP",
    "commercial": "Commercial",
    "uninsured": "Uninsured / self-pay",
    "other": "Other",
    "unknown": "Unknown",
}

LANGUAGE_LABELS = {
    "en": "English",
    "es": "Spanish",
    "zh": "Chinese",
    "vi": "Vietnamese",
    "ar": "Arabic",
    "so": "Somali",
    "ht": "Haitian Creole",
    "pt": "Portuguese",
    "fr": "French",
    "ne": "Nepali",
    "other": "Other",
    "unknown": "Unknown",
}

REFERRAL_TYPE_LABELS = {
    "help-me-grow": "Help Me Grow",
    "early-intervention": "Early intervention",
    "behavioral-health": "Behavioral health",
    "specialist": "Specialist",
    "community-service": "Community service (social need)",
    "dental": "Dental",
    "other": "Other",
}

REFERRAL_STEPS = ("placed", "scheduled", "seen", "report-received", "closed")
REFERRAL_STATUSES = (*REFERRAL_STEPS, "lost", "cancelled")
#: an appointment's scheduling status (FHIR Appointment.status); the huddle lists the ACTIVE ones
APPOINTMENT_STATUSES = ("proposed", "pending", "booked", "arrived", "checked-in", "fulfilled", "cancelled",
                        "noshow", "entered-in-error", "waitlist")
APPOINTMENT_ACTIVE = ("proposed", "pending", "booked", "arrived", "checked-in")

ROLE_LABELS = {
    "network-admin": "Network administrator",
    "practice-manager": "Practice manager",
    "clinician": "Clinician (read only)",
    "analyst": "Analyst (aggregates only)",
}
