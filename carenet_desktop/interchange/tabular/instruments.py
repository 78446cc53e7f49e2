"""Screening instruments and the LOINC codes their results are recorded under.

The codes are the LOINC total-score / panel codes in common use; a network can load value sets that
add others (the importer accepts any code in a loaded value set).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    key: str
    label: str
    loinc: str
    display: str
    kind: str  # developmental | autism | depression | maternal-depression | social-needs


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument("asq-3", "ASQ-3", "71750-4", "Ages and Stages Questionnaire 3rd edition panel", "developmental"),
    Instrument("swyc", "SWYC", "71789-2", "Survey of Well-being of Young Children panel", "developmental"),
    Instrument("m-chat-r-f", "M-CHAT-R/F", "72133-2", "Modified Checklist for Autism in Toddlers panel", "autism"),
    Instrument("phq-2", "PHQ-2", "55758-7", "Patient Health Questionnaire 2 item total score", "depression"),
    Instrument("phq-9a", "PHQ-9A", "89204-2", "PHQ-9 modified for teens total score", "depression"),
    Instrument("phq-9", "PHQ-9", "44261-6", "Patient Health Questionnaire 9 item total score", "depression"),
    Instrument("epds", "EPDS", "99046-5", "Edinburgh Postnatal Depression Scale total score",
               "maternal-depression"),
    Instrument("ahc-hrsn", "AHC HRSN", "96777-8", "Accountable Health Communities HRSN screening tool",
               "social-needs"),
    Instrument("prapare", "PRAPARE", "93025-5", "Protocol for Responding to and Assessing Patients' Assets, "
               "Risks, and Experiences", "social-needs"),
    Instrument("hunger-vital-sign", "Hunger Vital Sign", "88121-9", "Hunger Vital Sign [HVS]", "social-needs"),
)
BY_KEY = {i.key: i for i in INSTRUMENTS}


def instrument_key(text: str) -> str | None:
    """Our key for an instrument name as written in an export or a form ('M-CHAT R/F', 'PHQ9A' ...)."""
    t = "".join(ch for ch in text.lower() if ch.isalnum())
    if not t:
        return None
    for inst in INSTRUMENTS:
        names = {inst.key, inst.label, inst.loinc}
        if t in {"".join(ch for ch in n.lower() if ch.isalnum()) for n in names}:
            return inst.key
    aliases = {"asq": "asq-3", "asq3": "asq-3", "mchat": "m-chat-r-f", "mchatr": "m-chat-r-f",
               "mchatrf": "m-chat-r-f", "phqa": "phq-9a", "phq9teen": "phq-9a", "phq9modified": "phq-9a",
               "edinburgh": "epds", "hvs": "hunger-vital-sign", "hrsn": "ahc-hrsn", "ahc": "ahc-hrsn"}
    return aliases.get(t)
