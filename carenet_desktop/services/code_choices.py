"""Codes chosen by name: the vaccines (CVX), visit codes (CPT, SNOMED CT) and screening instruments (LOINC)
the entry forms offer, with the names and synonyms people use for them ("Tdap", "MMR", "flu", "well child"),
and the search that finds them by name, synonym or code, the ones this store uses most first.

The lists hold the codes a pediatric practice records most; a code not listed can still be typed as a code
(the entry service checks it against the loaded value sets).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..interchange.tabular.instruments import INSTRUMENTS
from ..models import Encounter, Immunization, Observation
from .context import ServiceContext


@dataclass(frozen=True)
class CodeChoice:
    """One code a person can pick: what the form passes on (``value``), the code shown and searched
    (``code``, in ``system``), a short name, the longer description and other names it goes by."""

    value: str
    code: str
    system: str
    name: str
    description: str
    synonyms: tuple[str, ...] = ()
    uses: int = 0

    @property
    def label(self) -> str:
        """The text of the choice in the list and in the field once chosen."""
        return f"{self.name} · {SYSTEM_NAMES.get(self.system, self.system)} {self.code}"


SYSTEM_NAMES = {"cvx": "CVX", "cpt": "CPT", "hcpcs": "HCPCS", "snomed": "SNOMED CT", "loinc": "LOINC"}


def _cvx(code: str, name: str, description: str, *synonyms: str) -> CodeChoice:
    return CodeChoice(code, code, "cvx", name, description, synonyms)


#: the vaccines of the childhood and adolescent schedule, the most given first (CDC CVX names, shortened)
VACCINES: tuple[CodeChoice, ...] = (
    _cvx("20", "DTaP", "diphtheria, tetanus toxoids and acellular pertussis vaccine", "diphtheria", "tetanus",
         "pertussis", "whooping cough", "Infanrix"),
    _cvx("106", "DTaP (5 pertussis antigens)", "DTaP, 5 pertussis antigens", "Daptacel"),
    _cvx("110", "DTaP-HepB-IPV", "DTaP, hepatitis B and poliovirus vaccine", "Pediarix"),
    _cvx("120", "DTaP-Hib-IPV", "DTaP, Haemophilus influenzae type b and inactivated poliovirus vaccine",
         "Pentacel"),
    _cvx("130", "DTaP-IPV", "DTaP and inactivated poliovirus vaccine", "Kinrix", "Quadracel"),
    _cvx("146", "DTaP-IPV-Hib-HepB", "DTaP, IPV, Hib (PRP-OMP) and hepatitis B vaccine", "Vaxelis"),
    _cvx("115", "Tdap", "tetanus toxoid, reduced diphtheria toxoid and acellular pertussis vaccine",
         "Boostrix", "Adacel", "whooping cough booster"),
    _cvx("113", "Td", "tetanus and diphtheria toxoids, adult, preservative free", "Tenivac"),
    _cvx("03", "MMR", "measles, mumps and rubella virus vaccine", "measles", "mumps", "rubella", "M-M-R II",
         "Priorix"),
    _cvx("94", "MMRV", "measles, mumps, rubella and varicella virus vaccine", "ProQuad"),
    _cvx("21", "Varicella", "varicella virus vaccine", "chickenpox", "chicken pox", "VAR", "VZV", "Varivax"),
    _cvx("08", "Hep B (pediatric)", "hepatitis B vaccine, pediatric or pediatric/adolescent dosage", "HepB",
         "hepatitis B", "Engerix-B", "Recombivax HB"),
    _cvx("83", "Hep A (pediatric, 2 doses)", "hepatitis A vaccine, pediatric/adolescent dosage, 2 dose schedule",
         "HepA", "hepatitis A", "Havrix", "Vaqta"),
    _cvx("10", "IPV (polio)", "poliovirus vaccine, inactivated", "IPV", "polio", "IPOL"),
    _cvx("49", "Hib (PRP-OMP)", "Haemophilus influenzae type b vaccine, PRP-OMP conjugate", "Hib", "PedvaxHIB"),
    _cvx("48", "Hib (PRP-T)", "Haemophilus influenzae type b vaccine, PRP-T conjugate", "Hib", "ActHIB",
         "Hiberix"),
    _cvx("133", "PCV13", "pneumococcal conjugate vaccine, 13 valent", "pneumococcal", "Prevnar 13"),
    _cvx("215", "PCV15", "pneumococcal conjugate vaccine, 15 valent", "pneumococcal", "Vaxneuvance"),
    _cvx("216", "PCV20", "pneumococcal conjugate vaccine, 20 valent", "pneumococcal", "Prevnar 20"),
    _cvx("116", "Rotavirus (RV5, 3 doses)", "rotavirus, live, pentavalent vaccine", "rotavirus", "RotaTeq"),
    _cvx("119", "Rotavirus (RV1, 2 doses)", "rotavirus, live, monovalent vaccine", "rotavirus", "Rotarix"),
    _cvx("150", "Influenza (flu shot, quadrivalent)", "influenza, injectable, quadrivalent, preservative free",
         "flu", "flu shot", "IIV4", "Fluzone", "Fluarix", "FluLaval", "Afluria"),
    _cvx("140", "Influenza (flu shot, trivalent)", "influenza, seasonal, injectable, preservative free",
         "flu", "IIV3"),
    _cvx("171", "Influenza (cell culture, quadrivalent)", "influenza, injectable, MDCK, preservative free, "
         "quadrivalent", "flu", "ccIIV4", "Flucelvax"),
    _cvx("149", "Influenza (nasal spray)", "influenza, live, intranasal, quadrivalent", "flu", "LAIV",
         "FluMist", "nasal flu"),
    _cvx("88", "Influenza (unspecified)", "influenza virus vaccine, unspecified formulation", "flu"),
    _cvx("165", "HPV (9-valent)", "human papillomavirus 9-valent vaccine", "HPV", "human papillomavirus",
         "Gardasil 9"),
    _cvx("114", "MenACWY-D", "meningococcal (groups A, C, Y, W-135) diphtheria toxoid conjugate vaccine",
         "meningococcal", "MCV4", "MenACWY", "Menactra"),
    _cvx("136", "MenACWY-CRM", "meningococcal (groups A, C, Y, W-135) CRM197 conjugate vaccine",
         "meningococcal", "MCV4", "MenACWY", "Menveo"),
    _cvx("203", "MenACWY-TT", "meningococcal (groups A, C, Y, W-135) tetanus toxoid conjugate vaccine",
         "meningococcal", "MenACWY", "MenQuadfi"),
    _cvx("162", "MenB-FHbp", "meningococcal B vaccine, recombinant lipoprotein", "MenB", "Trumenba"),
    _cvx("163", "MenB-4C", "meningococcal B vaccine, OMV, adjuvanted", "MenB", "Bexsero"),
    _cvx("107", "DTaP (unspecified)", "DTaP, unspecified formulation"),
    _cvx("45", "Hep B (unspecified)", "hepatitis B vaccine, unspecified formulation", "HepB"),
    _cvx("85", "Hep A (unspecified)", "hepatitis A vaccine, unspecified formulation", "HepA"),
    _cvx("17", "Hib (unspecified)", "Haemophilus influenzae type b vaccine, unspecified formulation", "Hib"),
    _cvx("89", "Polio (unspecified)", "poliovirus vaccine, unspecified formulation", "polio"),
    _cvx("122", "Rotavirus (unspecified)", "rotavirus vaccine, unspecified formulation", "rotavirus"),
    _cvx("152", "Pneumococcal conjugate (unspecified)", "pneumococcal conjugate, unspecified formulation",
         "pneumococcal", "PCV"),
    _cvx("137", "HPV (unspecified)", "HPV, unspecified formulation", "HPV"),
)


def _visit(code: str, system: str, name: str, description: str, *synonyms: str) -> CodeChoice:
    return CodeChoice(code, code, system, name, description, synonyms)


_WELL = ("well child", "well-child", "preventive", "checkup", "check-up", "physical", "WCV")
_SICK = ("office visit", "sick visit", "E/M")
#: the visits a pediatric practice records most: preventive (well-child) and office visits
VISITS: tuple[CodeChoice, ...] = (
    _visit("99391", "cpt", "Well-child visit, established, under 1 year", "preventive visit, established patient, "
           "infant (younger than 1 year)", *_WELL, "infant"),
    _visit("99392", "cpt", "Well-child visit, established, 1-4 years", "preventive visit, established patient, "
           "early childhood (age 1 through 4 years)", *_WELL, "toddler"),
    _visit("99393", "cpt", "Well-child visit, established, 5-11 years", "preventive visit, established patient, "
           "late childhood (age 5 through 11 years)", *_WELL),
    _visit("99394", "cpt", "Well-child visit, established, 12-17 years", "preventive visit, established patient, "
           "adolescent (age 12 through 17 years)", *_WELL, "adolescent", "teen"),
    _visit("99395", "cpt", "Well visit, established, 18-39 years", "preventive visit, established patient, "
           "age 18-39 years", *_WELL),
    _visit("99381", "cpt", "Well-child visit, new patient, under 1 year", "preventive visit, new patient, infant "
           "(younger than 1 year)", *_WELL, "new patient", "infant"),
    _visit("99382", "cpt", "Well-child visit, new patient, 1-4 years", "preventive visit, new patient, early "
           "childhood (age 1 through 4 years)", *_WELL, "new patient"),
    _visit("99383", "cpt", "Well-child visit, new patient, 5-11 years", "preventive visit, new patient, late "
           "childhood (age 5 through 11 years)", *_WELL, "new patient"),
    _visit("99384", "cpt", "Well-child visit, new patient, 12-17 years", "preventive visit, new patient, "
           "adolescent (age 12 through 17 years)", *_WELL, "new patient", "adolescent"),
    _visit("99385", "cpt", "Well visit, new patient, 18-39 years", "preventive visit, new patient, age 18-39 "
           "years", *_WELL, "new patient"),
    _visit("99213", "cpt", "Office visit, established, low complexity", "office or other outpatient visit, "
           "established patient, low medical decision making", *_SICK),
    _visit("99214", "cpt", "Office visit, established, moderate complexity", "office or other outpatient visit, "
           "established patient, moderate medical decision making", *_SICK),
    _visit("99212", "cpt", "Office visit, established, straightforward", "office or other outpatient visit, "
           "established patient, straightforward medical decision making", *_SICK),
    _visit("99215", "cpt", "Office visit, established, high complexity", "office or other outpatient visit, "
           "established patient, high medical decision making", *_SICK),
    _visit("99211", "cpt", "Office visit, established, nurse visit", "office or other outpatient visit, "
           "established patient, may not require a physician", *_SICK, "nurse visit"),
    _visit("99203", "cpt", "Office visit, new patient, low complexity", "office or other outpatient visit, new "
           "patient, low medical decision making", *_SICK, "new patient"),
    _visit("99204", "cpt", "Office visit, new patient, moderate complexity", "office or other outpatient visit, "
           "new patient, moderate medical decision making", *_SICK, "new patient"),
    _visit("99202", "cpt", "Office visit, new patient, straightforward", "office or other outpatient visit, new "
           "patient, straightforward medical decision making", *_SICK, "new patient"),
    _visit("99205", "cpt", "Office visit, new patient, high complexity", "office or other outpatient visit, new "
           "patient, high medical decision making", *_SICK, "new patient"),
    _visit("410620009", "snomed", "Well child visit (SNOMED CT)", "well child visit (procedure)", *_WELL),
)

_INSTRUMENT_SYNONYMS = {
    "asq-3": ("ASQ", "Ages and Stages", "developmental"),
    "swyc": ("Survey of Well-being of Young Children", "developmental"),
    "m-chat-r-f": ("M-CHAT", "MCHAT", "autism"),
    "phq-2": ("PHQ2", "depression"),
    "phq-9a": ("PHQ-A", "PHQ9A", "teen depression", "adolescent depression", "depression"),
    "phq-9": ("PHQ9", "depression"),
    "epds": ("Edinburgh", "postpartum depression", "maternal depression", "postnatal"),
    "ahc-hrsn": ("HRSN", "AHC", "social needs", "social determinants", "SDOH"),
    "prapare": ("social needs", "social determinants", "SDOH"),
    "hunger-vital-sign": ("HVS", "food insecurity", "hunger", "social needs"),
}
KIND_NAMES = {"developmental": "developmental", "autism": "autism", "depression": "depression",
              "maternal-depression": "maternal depression", "social-needs": "social needs"}
#: the screening instruments, by name; the form passes on the instrument's key, the list shows its LOINC code
INSTRUMENT_CHOICES: tuple[CodeChoice, ...] = tuple(
    CodeChoice(i.key, i.loinc, "loinc", f"{i.label} ({KIND_NAMES.get(i.kind, i.kind)})", i.display,
               _INSTRUMENT_SYNONYMS.get(i.key, ())) for i in INSTRUMENTS)


@dataclass(frozen=True)
class CodeChoices:
    """The pickers' lists, each with the store's most used codes first."""

    vaccines: tuple[CodeChoice, ...] = VACCINES
    visits: tuple[CodeChoice, ...] = VISITS
    instruments: tuple[CodeChoice, ...] = INSTRUMENT_CHOICES


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z]+", text.casefold()) if w]


def _squash(text: str) -> str:
    return "".join(_words(text))


def _same_code(typed: str, code: str) -> bool:
    """A code as typed: leading zeros of a numeric code do not matter (CVX "3" is "03")."""
    t, c = typed.strip().casefold(), code.casefold()
    return t == c or (t.isdigit() and c.isdigit() and t.lstrip("0") == c.lstrip("0") and bool(t.lstrip("0")))


def exact_matches(choices: Iterable[CodeChoice], text: str) -> list[CodeChoice]:
    """The choices ``text`` names outright: its code, its name or one of its synonyms (case, spaces and
    punctuation aside), or its label as the list shows it."""
    squashed = _squash(text)
    if not squashed:
        return []
    return [c for c in choices if c.label == text.strip() or _same_code(text, c.code)
            or squashed in {_squash(n) for n in (c.name, *c.synonyms)}]


def search(choices: Sequence[CodeChoice], text: str, limit: int = 12) -> list[CodeChoice]:
    """The choices matching ``text``: those it names outright first, then those whose code starts with it,
    then those where every word typed starts a word of the name, synonyms or description; within each,
    the most used in this store first, then the list's own order."""
    words = _words(text)
    if not words:
        return list(choices[:limit])
    exact = exact_matches(choices, text)
    found: list[tuple[int, int, int, CodeChoice]] = []
    for order, choice in enumerate(choices):
        if choice in exact:
            rank = 0
        elif choice.code.casefold().startswith(text.strip().casefold()):
            rank = 1
        else:
            vocabulary = _words(" ".join((choice.name, *choice.synonyms, choice.description)))
            if not all(any(v.startswith(w) for v in vocabulary) for w in words):
                continue
            rank = 2
        found.append((rank, -choice.uses, order, choice))
    return [c for *_key, c in sorted(found, key=lambda f: f[:3])][:limit]


def _with_uses(choices: tuple[CodeChoice, ...], uses: Counter[str]) -> tuple[CodeChoice, ...]:
    """The choices with their counts, the most used first (a stable sort: the list's order otherwise)."""
    counted = [replace(c, uses=uses.get(c.code, 0)) for c in choices]
    return tuple(sorted(counted, key=lambda c: -c.uses))


def _counts(session: Session, model: type[Encounter | Immunization | Observation], system: str) -> Counter[str]:
    rows = session.execute(select(model.code, func.count()).where(model.code_system == system)
                           .group_by(model.code)).all()
    return Counter({str(code): int(n) for code, n in rows if code is not None})


def load_code_choices(ctx: ServiceContext) -> CodeChoices:
    """The lists, ordered by how often this store's records use each code (aggregate counts only)."""
    with ctx.db.session() as s:
        vaccines = _counts(s, Immunization, "cvx")
        visits = _counts(s, Encounter, "cpt")
        instruments = _counts(s, Observation, "loinc")
    return CodeChoices(_with_uses(VACCINES, vaccines), _with_uses(VISITS, visits),
                       _with_uses(INSTRUMENT_CHOICES, instruments))
