"""CMS117 Childhood Immunization Status (QI-Core 4.1.1 FHIR eCQM, 2025 reporting year).

Follows the published CQL ``ChildhoodImmunizationStatusFHIR`` 0.1.000 (with FHIRHelpers 4.4.000,
QICoreCommon 2.1.000, Hospice 6.12.000, Status 1.8.000). Everything is computed on whole frames:
immunizations and procedures become ``(patient_id, tag, day)`` hits, hits are kept inside each patient's
birthday-relative window, and the rules are distinct-day counts per patient and tag.

Reading of the CQL that matters for exact results:

* An Immunization counts when ``status ~ 'completed'``; a Procedure when ``status ~ 'completed'``. The day
  of an immunization is ``date from occurrence``; of a procedure ``date from performed.earliest()``
  (the start of the performed period, or its end when there is no start).
* Windows (inclusive days): "42 days" = [birth + 42 days, 2nd birthday]; "180 days" = [birth + 180 days,
  2nd birthday]; "first two years" = [birth, 2nd birthday]; MMR/VZV/HepA = [1st birthday, 2nd birthday];
  LAIV = the 2nd birthday only; newborn HepB = [birth, birth + 7 days]. Birthdays are CQL date
  arithmetic (Feb 29 + 1 year = Feb 28).
* Influenza: an *immunization* counts from 42 days of age, a *procedure* from 180 days (as written in the
  CQL). Two flu on distinct days, or one LAIV on the 2nd birthday together with any counted flu dose.
* Hib: if any counted dose is a 4-dose-schedule product, 4 distinct days of Hib (3- or 4-dose products)
  are needed, else 3. Rotavirus: if any counted dose is a 3-dose-schedule product, 3 distinct days of
  rotavirus doses are needed, else 2 (the monovalent 2-dose vaccine is CVX 119 or its procedure codes).
* HepB: 3 distinct days in the first two years, or a newborn ICD-10-PCS 3E0234Z procedure in the first
  8 days followed (1 day or more later) by two HepB doses on distinct days.
* A condition (anaphylaxis, encephalitis, disease history, exclusion diagnoses) counts when the day of
  the start of its prevalence period (its onset) is within the first two years; no clinical or
  verification status filter applies in this measure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import partial
from typing import ClassVar

import numpy as np
import pandas as pd

from .. import gaps as gapkit
from .. import manifests
from ..catalogue import register
from ..data import MeasureData
from ..definition import MADIE, Group, Measure
from ..libraries import status
from ..libraries.edition import QICORE_2025, ConditionKind, Libraries
from ..memo import ANY_PERIOD, in_several_periods, remember
from ..period import Period
from ..primitives import add_days, add_years, age_in_years_at
from ..valuesets import code_key
from . import _immunization as imz
from ._visits import visit_patients

VS = "http://cts.nlm.nih.gov/fhir/ValueSet/"

# value sets (canonical URLs of the published measure)
ANAPHYLACTIC_DTAP = VS + "2.16.840.1.113883.3.464.1003.199.12.1031"
IMMUNE_DISORDERS = VS + "2.16.840.1.113883.3.464.1003.120.12.1001"
DTAP_VACCINE = VS + "2.16.840.1.113883.3.464.1003.196.12.1214"
DTAP_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1022"
ENCEPHALITIS_DTP = VS + "2.16.840.1.113883.3.464.1003.1164"
HEPATITIS_A = VS + "2.16.840.1.113883.3.464.1003.110.12.1024"
HEPA_VACCINE = VS + "2.16.840.1.113883.3.464.1003.196.12.1215"
HEPA_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1041"
HEPATITIS_B = VS + "2.16.840.1.113883.3.464.1003.110.12.1025"
HEPB_VACCINE = VS + "2.16.840.1.113883.3.464.1003.196.12.1216"
HEPB_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1042"
HIB3_VACCINE = VS + "2.16.840.1.113883.3.464.1003.110.12.1083"
HIB3_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1084"
HIB4_VACCINE = VS + "2.16.840.1.113883.3.464.1003.110.12.1085"
HIB4_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1086"
HIV = VS + "2.16.840.1.113883.3.464.1003.120.12.1003"
HOME_HEALTHCARE = VS + "2.16.840.1.113883.3.464.1003.101.12.1016"
IPV_VACCINE = VS + "2.16.840.1.113883.3.464.1003.196.12.1219"
IPV_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1045"
FLU_VACCINE = VS + "2.16.840.1.113883.3.464.1003.196.12.1218"
FLU_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1044"
LAIV_VACCINE = VS + "2.16.840.1.113883.3.464.1003.110.12.1087"
LAIV_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1088"
INTUSSUSCEPTION = VS + "2.16.840.1.113883.3.464.1003.199.12.1056"
LYMPHATIC_MALIGNANCY = VS + "2.16.840.1.113883.3.464.1003.108.12.1009"
MEASLES = VS + "2.16.840.1.113883.3.464.1003.110.12.1053"
MMR_VACCINE = VS + "2.16.840.1.113883.3.464.1003.196.12.1224"
MMR_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1031"
MUMPS = VS + "2.16.840.1.113883.3.464.1003.110.12.1032"
OFFICE_VISIT = VS + "2.16.840.1.113883.3.464.1003.101.12.1001"
VIRTUAL_ENCOUNTER = VS + "2.16.840.1.113883.3.464.1003.101.12.1089"
PCV_VACCINE = VS + "2.16.840.1.113883.3.464.1003.196.12.1221"
PCV_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1046"
PREVENTIVE_INITIAL = VS + "2.16.840.1.113883.3.464.1003.101.12.1022"
PREVENTIVE_ESTABLISHED = VS + "2.16.840.1.113883.3.464.1003.101.12.1024"
RV2_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1048"
RV3_VACCINE = VS + "2.16.840.1.113883.3.464.1003.196.12.1223"
RV3_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1047"
RUBELLA = VS + "2.16.840.1.113883.3.464.1003.110.12.1037"
SCID = VS + "2.16.840.1.113883.3.464.1003.120.12.1007"
TELEPHONE_VISITS = VS + "2.16.840.1.113883.3.464.1003.101.12.1080"
VARICELLA_ZOSTER = VS + "2.16.840.1.113883.3.464.1003.110.12.1039"
VZV_VACCINE = VS + "2.16.840.1.113883.3.464.1003.196.12.1170"
VZV_ADMINISTERED = VS + "2.16.840.1.113883.3.464.1003.110.12.1040"

# direct-reference codes
SNOMED, CPT, CVX, ICD10PCS = "http://snomed.info/sct", "http://www.ama-assn.org/go/cpt", "http://hl7.org/fhir/sid/cvx", "http://www.cms.gov/Medicare/Coding/ICD10"
ANAPHYLAXIS_HIB = code_key(SNOMED, "433621000124101")
ANAPHYLAXIS_HEPB = code_key(SNOMED, "428321000124101")
ANAPHYLAXIS_RV = code_key(SNOMED, "428331000124103")
ANAPHYLAXIS_HEPA = code_key(SNOMED, "471311000124103")
ANAPHYLAXIS_FLU = code_key(SNOMED, "471361000124100")
ANAPHYLAXIS_MMR = code_key(SNOMED, "471331000124109")
ANAPHYLAXIS_PCV = code_key(SNOMED, "471141000124102")
ANAPHYLAXIS_IPV = code_key(SNOMED, "471321000124106")
ANAPHYLAXIS_VZV = code_key(SNOMED, "471341000124104")
OFFICE_VISIT_99211 = code_key(CPT, "99211")
RV_MONOVALENT = code_key(CVX, "119")
NEWBORN_VACCINE = code_key(ICD10PCS, "3E0234Z")

QUALIFYING_ENCOUNTERS = (
    OFFICE_VISIT, HOME_HEALTHCARE, PREVENTIVE_ESTABLISHED, PREVENTIVE_INITIAL, VIRTUAL_ENCOUNTER, TELEPHONE_VISITS,
)
EXCLUSION_CONDITIONS = (SCID, IMMUNE_DISORDERS, HIV, LYMPHATIC_MALIGNANCY, INTUSSUSCEPTION)

# (tag, immunization value sets or codes, procedure value sets or codes, immunization window, procedure window)
# A tag may appear on several rows (unions). Window names are columns of ``_windows``.
_DOSES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str, str], ...] = (
    ("dtap", (DTAP_VACCINE,), (DTAP_ADMINISTERED,), "d42", "d42"),
    ("ipv", (IPV_VACCINE,), (IPV_ADMINISTERED,), "d42", "d42"),
    ("mmr", (MMR_VACCINE,), (MMR_ADMINISTERED,), "bd1", "bd1"),
    ("hib", (HIB3_VACCINE, HIB4_VACCINE), (HIB3_ADMINISTERED, HIB4_ADMINISTERED), "d42", "d42"),
    ("hib4", (HIB4_VACCINE,), (HIB4_ADMINISTERED,), "d42", "d42"),
    ("hepb", (HEPB_VACCINE,), (HEPB_ADMINISTERED,), "birth", "birth"),
    ("newborn", (), (NEWBORN_VACCINE,), "birth", "birth"),  # upper bound narrowed to birth + 7 below
    ("vzv", (VZV_VACCINE,), (VZV_ADMINISTERED,), "bd1", "bd1"),
    ("pcv", (PCV_VACCINE,), (PCV_ADMINISTERED,), "d42", "d42"),
    ("hepa", (HEPA_VACCINE,), (HEPA_ADMINISTERED,), "bd1", "bd1"),
    ("rv", (RV_MONOVALENT, RV3_VACCINE), (RV2_ADMINISTERED, RV3_ADMINISTERED), "d42", "d42"),
    ("rv3", (RV3_VACCINE,), (RV3_ADMINISTERED,), "d42", "d42"),
    ("flu", (FLU_VACCINE,), (FLU_ADMINISTERED,), "d42", "d180"),
    ("laiv", (LAIV_VACCINE,), (LAIV_ADMINISTERED,), "bd2", "bd2"),
)

# conditions that satisfy a vaccine ("numerator inclusion conditions") or exclude the patient
_CONDITIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("dtap", (ANAPHYLACTIC_DTAP, ENCEPHALITIS_DTP)),
    ("ipv", (ANAPHYLAXIS_IPV,)),
    ("mmr", (ANAPHYLAXIS_MMR,)),
    ("measles", (MEASLES,)),
    ("mumps", (MUMPS,)),
    ("rubella", (RUBELLA,)),
    ("hib", (ANAPHYLAXIS_HIB,)),
    ("hepb", (ANAPHYLAXIS_HEPB, HEPATITIS_B)),
    ("vzv", (VARICELLA_ZOSTER, ANAPHYLAXIS_VZV)),
    ("pcv", (ANAPHYLAXIS_PCV,)),
    ("hepa", (HEPATITIS_A, ANAPHYLAXIS_HEPA)),
    ("rv", (ANAPHYLAXIS_RV,)),
    ("flu", (ANAPHYLAXIS_FLU,)),
    ("exclusion", EXCLUSION_CONDITIONS),
)

#: minimum number of distinct days per vaccine (Hib and rotavirus depend on the products, see below)
_MIN_DOSES = {"dtap": 4, "ipv": 3, "mmr": 1, "vzv": 1, "pcv": 4, "hepa": 1}


def _keys(data: MeasureData, refs: tuple[str, ...]) -> frozenset[str]:
    """Codes of value sets (URLs) plus direct-reference codes (``system|code`` keys)."""
    urls = [r for r in refs if r.startswith(VS)]
    direct = frozenset(r for r in refs if not r.startswith(VS))
    return data.valuesets.keys(*urls) | direct


def _windows(patients: pd.DataFrame) -> pd.DataFrame:
    """Per-patient window bounds (index patient_id), as calendar days."""
    birth = imz.day(patients["birth_date"]).reset_index(drop=True)
    bd2 = add_years(birth, 2).dt.normalize()
    win = pd.DataFrame(
        {
            "birth": birth.to_numpy(),
            "d42": add_days(birth, 42).to_numpy(),
            "d180": add_days(birth, 180).to_numpy(),
            "bd1": add_years(birth, 1).dt.normalize().to_numpy(),
            "bd2": bd2.to_numpy(),
            "d7": add_days(birth, 7).to_numpy(),
        },
        index=pd.Index(patients["patient_id"].to_numpy(), name="patient_id"),
    )
    return win


def _dose_hits(data: MeasureData, ids: pd.Index, win: pd.DataFrame) -> pd.DataFrame:
    """Counted doses ``(patient_id, tag, date)``: administered/performed, inside their windows."""
    parts: list[pd.DataFrame] = []
    for frame, col in ((data.immunizations, 1), (data.procedures, 2)):
        if frame.empty:
            continue
        keysets = [_keys(data, spec[col]) for spec in _DOSES]  # type: ignore[arg-type]  # col: 1 or 2
        if in_several_periods():
            # a pass: the frame's counted rows (a dose code, administered/performed, their days) are the same
            # in every period, derived once; each period picks its new children's rows among them
            at, pid, tags = remember((frame,), ("CMS117 counted doses", col, tuple(keysets)),
                                     partial(_counted_doses, frame, col, keysets), period=ANY_PERIOD, for_pass=True)
            keep = imz.patient_flag(pid, ids)
            at, tags = at[keep], tags[keep]
            sub = pd.DataFrame({"patient_id": pid[keep]})
            ok: np.ndarray | bool = True
            days = _dose_days(pd.DataFrame({c: frame[c].to_numpy()[at] for c in _DATE_COLUMNS[col]}), col)
        else:
            # only children turning two are looked at (a small share of a network); the codes and statuses
            # are tested on the store's frame, whose columns are factorised once for every period
            tags = imz.code_tags(frame, keysets)
            keep = imz.patient_flag(frame["patient_id"], ids) & (tags != 0)
            sub, tags = frame[keep], tags[keep]
            ok = _administered(frame, col)[keep]
            days = _dose_days(sub, col)
        parts.extend(_windowed_hits(sub["patient_id"].to_numpy(), tags, ok, days, win, col))
    parts = [p for p in parts if not p.empty]
    return pd.concat(parts, ignore_index=True) if parts else imz.empty_hits()


def _windowed_hits(pid: np.ndarray, tags: np.ndarray, ok: np.ndarray | bool, days: pd.Series, win: pd.DataFrame,
                   col: int) -> list[pd.DataFrame]:
    """Per dose of ``_DOSES`` in order: ``imz.in_window(imz.dated_hits(...))`` of the rows (patients ``pid``,
    code ``tags``, ``ok`` administered, ``days``), each row's window bounds looked up once for all the doses."""
    parts: list[pd.DataFrame] = []
    if not len(pid) or win.empty:
        return parts  # (no window: ``in_window`` drops every hit)
    if not win.index.is_unique:  # (one window per patient: else as the per-dose joins did)
        sub = pd.DataFrame({"patient_id": pid})
        for i, spec in enumerate(_DOSES):
            tag, lo = spec[0], spec[col + 2]
            hits = imz.dated_hits(sub, ok & imz.has_bit(tags, i), days, tag)
            parts.append(imz.in_window(hits, win, lo, "d7" if tag == "newborn" else "bd2"))  # type: ignore[arg-type]
        return parts
    at = win.index.get_indexer(pid)
    known = (at >= 0) & days.notna().to_numpy() & ok
    dates = days.to_numpy()
    bounds = {c: np.where(known, win[c].to_numpy()[at], np.datetime64("NaT")) for c in win.columns}
    for i, spec in enumerate(_DOSES):
        tag, lo = spec[0], spec[col + 2]
        hi = "d7" if tag == "newborn" else "bd2"
        mask = known & imz.has_bit(tags, i)
        if mask.any():
            mask &= (dates >= bounds[lo]) & (dates <= bounds[hi])
            parts.append(pd.DataFrame({"patient_id": pid[mask], "tag": tag, "date": dates[mask]}))
    return parts


def _administered(frame: pd.DataFrame, col: int) -> np.ndarray:
    """Which rows are administered immunizations (``col`` 1) or performed procedures (2)."""
    return status.immunization_administered(frame) if col == 1 else status.procedure_performed(frame)


def _dose_days(rows: pd.DataFrame, col: int) -> pd.Series:
    """The day of each dose: the occurrence (immunizations) or ``performed.earliest()`` (procedures)."""
    if col == 1:
        return imz.day(rows["occurrence"])
    return imz.day(rows["performed_start"].fillna(rows["performed_end"]))


#: the columns ``_dose_days`` reads (immunizations: 1, procedures: 2)
_DATE_COLUMNS = {1: ("occurrence",), 2: ("performed_start", "performed_end")}


def _counted_doses(frame: pd.DataFrame, col: int, keysets: list[frozenset[str]]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of ``frame`` that can count as a dose of some patient, whatever the period: a dose code and
    administered/performed; as (positions, patient ids, code tags), in the frame's order. (A row not
    administered counts for no tag: ``_dose_hits`` asks both.)"""
    tags = imz.code_tags(frame, keysets)
    at = np.flatnonzero((tags != 0) & np.asarray(_administered(frame, col), dtype=bool))
    return at, frame["patient_id"].to_numpy()[at], tags[at]


def _condition_flags(data: MeasureData, ids: pd.Index, win: pd.DataFrame, lib: Libraries = QICORE_2025,
                     kinds: Mapping[str, ConditionKind] | None = None) -> dict[str, pd.Index]:
    """Patients per condition tag whose condition started (onset day) within the first two years; each tag
    reads the kind of Condition ``kinds`` names for it (default ``either``), as ``lib``'s edition does."""
    out = {tag: pd.Index([], name="patient_id") for tag, _ in _CONDITIONS}
    cond = data.conditions
    if cond.empty:
        return out
    sub, tags = imz.coded_rows(cond, [_keys(data, refs) for _, refs in _CONDITIONS],
                               lambda rows: imz.patient_flag(rows["patient_id"], ids))
    if lib.typed_conditions and len(sub):
        kind_masks: dict[ConditionKind, np.ndarray] = {}
        for i, (tag, _) in enumerate(_CONDITIONS):
            kind = (kinds or {}).get(tag, "either")
            if kind not in kind_masks:
                kind_masks[kind] = lib.conditions_of_kind(data, sub, kind)
            tags = np.where(kind_masks[kind], tags, tags & ~np.int64(1 << i))
    # date from start of prevalenceInterval(): the onset (a missing onset is the beginning of time)
    onset = imz.day(pd.Series(status.prevalence_interval(sub).start(), index=sub.index))
    for i, (tag, _) in enumerate(_CONDITIONS):
        hits = imz.in_window(imz.dated_hits(sub, imz.has_bit(tags, i), onset, tag), win, "birth", "bd2")
        out[tag] = pd.Index(pd.unique(hits["patient_id"]), name="patient_id")
    return out


@register
class CMS117(Measure):
    id = "CMS117"
    title = "Childhood Immunization Status"
    version = "0.1.000"
    applies_to: ClassVar[tuple[int | None, int | None]] = (None, 2025)  # the 2026 version is in cms117_2026
    canonical = MADIE + "ChildhoodImmunizationStatusFHIR"
    manifest = manifests.Y2025
    #: Condition kind per condition tag (QI-Core 6 editions; default "either")
    condition_kinds: ClassVar[Mapping[str, ConditionKind]] = {}
    steward = "National Committee for Quality Assurance"
    description = (
        "Percentage of children 2 years of age who had four diphtheria, tetanus and acellular pertussis "
        "(DTaP); three polio (IPV), one measles, mumps and rubella (MMR); three or four H influenza type B "
        "(HiB); three hepatitis B (HepB); one chicken pox (VZV); four pneumococcal conjugate (PCV); one "
        "hepatitis A (HepA); two or three rotavirus (RV); and two influenza (flu) vaccines by their second "
        "birthday"
    )
    basis = "patient"
    improvement = "increase"
    groups = (Group("Childhood immunization status (combination)"),)
    valuesets = tuple(sorted({
        ANAPHYLACTIC_DTAP, IMMUNE_DISORDERS, DTAP_VACCINE, DTAP_ADMINISTERED, ENCEPHALITIS_DTP, HEPATITIS_A,
        HEPA_VACCINE, HEPA_ADMINISTERED, HEPATITIS_B, HEPB_VACCINE, HEPB_ADMINISTERED, HIB3_VACCINE,
        HIB3_ADMINISTERED, HIB4_VACCINE, HIB4_ADMINISTERED, HIV, HOME_HEALTHCARE, IPV_VACCINE, IPV_ADMINISTERED,
        FLU_VACCINE, FLU_ADMINISTERED, LAIV_VACCINE, LAIV_ADMINISTERED, INTUSSUSCEPTION, LYMPHATIC_MALIGNANCY,
        MEASLES, MMR_VACCINE, MMR_ADMINISTERED, MUMPS, OFFICE_VISIT, VIRTUAL_ENCOUNTER, PCV_VACCINE,
        PCV_ADMINISTERED, PREVENTIVE_INITIAL, PREVENTIVE_ESTABLISHED, RV2_ADMINISTERED, RV3_VACCINE,
        RV3_ADMINISTERED, RUBELLA, SCID, TELEPHONE_VISITS, VARICELLA_ZOSTER, VZV_VACCINE, VZV_ADMINISTERED,
    }))
    specification = {
        "age": "Children who turn 2 during the measurement period (age 2 on its last day).",
        "anchor": "The child's 2nd birthday: every dose and condition is counted on or before it.",
        "initial population": (
            "Age 2 at the end of the period and a finished office, home-health, preventive (0-17), "
            "CPT 99211, virtual or telephone visit entirely within the period."
        ),
        "denominator": "Equals the initial population.",
        "denominator exclusions": (
            "Hospice care during the period, or severe combined immunodeficiency, immunodeficiency, HIV, "
            "lymphoreticular cancer/multiple myeloma/leukemia or intussusception with onset on or before "
            "the 2nd birthday."
        ),
        "numerator": (
            "By the 2nd birthday, each on distinct days, immunizations or procedures: 4 DTaP, 3 IPV, 3 Hib "
            "(4 if any 4-dose-schedule Hib product), 4 PCV, 2 rotavirus (3 if any 3-dose-schedule product), "
            "all from 42 days of age; 3 HepB from birth (or a newborn dose in the first 8 days plus 2 later); "
            "1 MMR, 1 VZV and 1 HepA between the 1st and 2nd birthdays; 2 influenza (immunizations from 42 "
            "days, procedures from 180 days of age), or 1 influenza plus a LAIV on the 2nd birthday. "
            "Anaphylaxis to a vaccine, DTaP encephalitis, or a history of the disease (measles + mumps + "
            "rubella together, hepatitis A, hepatitis B, varicella) counts for that vaccine."
        ),
        "source": "ChildhoodImmunizationStatusFHIR 0.1.000 (QI-Core 4.1.1)",
    }

    def populations(self, data: MeasureData, period: Period) -> list[pd.DataFrame]:
        pats = data.patients[["patient_id", "birth_date"]]
        two = pats[age_in_years_at(pats["birth_date"], period.end) == 2]
        visits = visit_patients(data, period, QUALIFYING_ENCOUNTERS, codes=(OFFICE_VISIT_99211,),
                                among=two["patient_id"].to_numpy(), lib=self.lib)
        ip = two[imz.patient_flag(two["patient_id"], visits)]
        ids = pd.Index(ip["patient_id"].to_numpy(), name="patient_id")
        frame = pd.DataFrame({"patient_id": ids.to_numpy()})
        frame["initial-population"] = True
        frame["denominator"] = True
        if ip.empty:
            frame["denominator-exclusion"] = False
            frame["numerator"] = False
            return [frame]

        excluding, met = self._child_facts(data, ids, _windows(ip))
        hospice = self.lib.has_hospice_services(data, period)
        frame["denominator-exclusion"] = ids.isin(hospice) | excluding
        frame["numerator"] = met
        return [frame]

    def _child_facts(self, data: MeasureData, ids: pd.Index, win: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per child of ``ids``: an excluding condition by the 2nd birthday, and every vaccine met. Both are
        set by the child's birth date and records alone (each child's windows; no period, no other child),
        so a pass of several periods keeps them for the children it has met (``for_pass``) and a period
        derives them for its new children only; the first period derives what it derives alone (for its
        own children, not every patient's: that cost a one-period evaluation three times as much)."""
        question = ("CMS117 child facts", type(self).__qualname__, self.lib,
                    tuple(sorted(self.condition_kinds.items())), tuple(data.valuesets.keys(v) for v in self.valuesets))
        known: dict[str, pd.DataFrame] = remember(
            (data.patients, data.immunizations, data.procedures, data.conditions, data.encounter_diagnoses),
            question, dict, period=ANY_PERIOD, for_pass=True)  # filled as the periods meet children
        have = known.get("facts")
        new = ids if have is None else ids[~ids.isin(have.index)]
        if len(new) or have is None:
            new_win = win[imz.patient_flag(win.index.to_numpy(), new.to_numpy())] if len(new) < len(ids) else win
            conditions = _condition_flags(data, new, new_win, self.lib, self.condition_kinds)
            part = pd.DataFrame({"excluding": new.isin(conditions["exclusion"]),
                                 "met": self._numerator(data, new, new_win, conditions)}, index=new)
            have = part if have is None else pd.concat([have, part])
            known["facts"] = have
        if len(have) == len(ids) and have.index.equals(ids):
            return have["excluding"].to_numpy(), have["met"].to_numpy()
        facts = have.reindex(ids)
        return facts["excluding"].to_numpy(dtype=bool), facts["met"].to_numpy(dtype=bool)

    def gaps(self, data: MeasureData, period: Period, rows: pd.DataFrame) -> pd.DataFrame:
        """Which vaccines are short and by how many doses; due by the 2nd birthday."""
        members = gapkit.open_members(rows, self.id)
        if members.empty:
            return gapkit.empty_gaps()
        pats = data.patients[["patient_id", "birth_date"]]
        ids = pd.Index(pd.unique(members["patient_id"].to_numpy()), name="patient_id")
        win = _windows(pats[imz.patient_flag(pats["patient_id"], ids)])
        text = pd.Series(_shortfall_text(data, pd.Index(win.index, name="patient_id"), win, lib=self.lib,
                                         kinds=self.condition_kinds), index=win.index)
        missing = np.array(pd.Series(gapkit.lookup(text, members["patient_id"]), dtype=object).fillna(""), dtype=object)
        missing[missing == ""] = self.groups[0].title  # met by a rule the text does not itemise
        return gapkit.gap_frame(members, missing, gapkit.lookup(win["bd2"], members["patient_id"]))

    def upcoming_gaps(self, data: MeasureData, as_of: dt.date, within_days: int) -> pd.DataFrame:
        """Children whose 2nd birthday is within ``[as_of, as_of + within_days]``, not excluded, who are
        still short of a vaccine (no visit needed: they may not be in any denominator yet)."""
        win_period = gapkit.window(as_of, within_days)
        pats = data.patients[["patient_id", "birth_date"]]
        bd2 = add_years(imz.day(pats["birth_date"]).reset_index(drop=True), 2).dt.normalize()
        due = ((bd2 >= pd.Timestamp(win_period.start)) & (bd2 <= pd.Timestamp(win_period.end))).to_numpy()
        sub = pats[due]
        if sub.empty:
            return gapkit.empty_gaps()
        win = _windows(sub)
        ids = pd.Index(win.index, name="patient_id")
        conditions = _condition_flags(data, ids, win, self.lib, self.condition_kinds)
        excluded = ids.isin(self.lib.has_hospice_services(data, win_period)) | ids.isin(conditions["exclusion"])
        text = _shortfall_text(data, ids, win, conditions)
        keep = ~excluded & (text != "")
        members = pd.DataFrame({"measure": self.id, "group_index": 0, "patient_id": ids.to_numpy()[keep],
                                "episode_id": pd.NA})
        return gapkit.gap_frame(members, text[keep], win["bd2"].to_numpy()[keep])

    @staticmethod
    def _numerator(data: MeasureData, ids: pd.Index, win: pd.DataFrame, conditions: dict[str, pd.Index]) -> np.ndarray:
        """Every vaccine met: the conjunction of ``_dose_status``, where the rules are written once (the care
        gaps itemise the same rules vaccine by vaccine)."""
        result = np.ones(len(ids), dtype=bool)
        for _have, _need, met in _dose_status(data, ids, win, conditions).values():
            result &= met
        return result


def _hepb_after_newborn(hits: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Distinct HepB days strictly after the patient's first newborn-vaccine day (0 without one)."""
    newborn = hits[hits["tag"] == "newborn"].groupby("patient_id")["date"].min()
    hepb = hits[hits["tag"] == "hepb"].drop_duplicates(["patient_id", "date"])
    if newborn.empty or hepb.empty:
        return np.zeros(len(ids), dtype=np.int64)
    first = hepb["patient_id"].map(newborn)
    later = hepb[(hepb["date"] > first).to_numpy()]
    return later.groupby("patient_id").size().reindex(ids, fill_value=0).to_numpy()


#: display names of the vaccines, in the order a gap lists them
_VACCINE_NAMES = (
    ("dtap", "DTaP"), ("ipv", "IPV"), ("mmr", "MMR"), ("hib", "Hib"), ("hepb", "HepB"), ("vzv", "VZV"),
    ("pcv", "PCV"), ("hepa", "HepA"), ("rv", "Rotavirus"), ("flu", "Influenza"),
)


def _dose_status(data: MeasureData, ids: pd.Index, win: pd.DataFrame,
                 conditions: dict[str, pd.Index]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per vaccine: (doses counted, doses needed, met) for each patient of ``ids``. The numerator's rules,
    written once: ``CMS117._numerator`` is their conjunction and the care gaps list the vaccines not met."""
    hits = _dose_hits(data, ids, win)
    counts = imz.distinct_day_counts(hits)

    def n(tag: str) -> np.ndarray:
        return imz.tag_count(counts, tag, ids)

    def cond(tag: str) -> np.ndarray:
        return ids.isin(conditions[tag])

    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for tag, minimum in _MIN_DOSES.items():
        have = n(tag)
        out[tag] = (have, np.full(len(ids), minimum), (have >= minimum) | cond(tag))
    have, need, met = out["mmr"]
    out["mmr"] = (have, need, met | (cond("measles") & cond("mumps") & cond("rubella")))
    need = np.where(n("hib4") > 0, 4, 3)
    out["hib"] = (n("hib"), need, (n("hib") >= need) | cond("hib"))
    need = np.where(n("rv3") > 0, 3, 2)
    out["rv"] = (n("rv"), need, (n("rv") >= need) | cond("rv"))
    after = _hepb_after_newborn(hits, ids)
    newborn = imz.tag_count(counts, "newborn", ids) > 0
    have = np.maximum(n("hepb"), np.where(newborn, 1 + after, 0))  # the newborn dose counts as the first
    out["hepb"] = (have, np.full(len(ids), 3), (n("hepb") >= 3) | (after >= 2) | cond("hepb"))
    laiv = n("laiv") > 0
    out["flu"] = (n("flu") + laiv, np.full(len(ids), 2), (n("flu") >= 2) | (laiv & (n("flu") > 0)) | cond("flu"))
    return out


def _shortfall_text(data: MeasureData, ids: pd.Index, win: pd.DataFrame,
                    conditions: dict[str, pd.Index] | None = None, *, lib: Libraries = QICORE_2025,
                    kinds: Mapping[str, ConditionKind] | None = None) -> np.ndarray:
    """Per patient of ``ids``: the vaccines still short, e.g. "DTaP #4 (has 3 of 4); PCV #3-#4 (has 2 of 4)"
    ('' when every vaccine is met)."""
    if conditions is None:
        conditions = _condition_flags(data, ids, win, lib, kinds)
    status_ = _dose_status(data, ids, win, conditions)
    parts = []
    for tag, name in _VACCINE_NAMES:
        have, need, met = status_[tag]
        parts.append((~met, gapkit.count_text(name, have, need)))
    return gapkit.join_texts(parts)
