"""Free-text vocabularies of exports mapped onto our keys: sex, race, payer, statuses, referral types ..."""

from __future__ import annotations

import re

import pandas as pd

from ...codes import ETHNICITY_CDC, RACE_CDC

ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"

# (regex on lower-cased text, key); first match wins
_SEX = ((r"^(f|female|woman|girl|w)$", "female"), (r"^(m|male|man|boy)$", "male"),
        (r"^(o|other|x|nonbinary|non-binary)$", "other"))
_RACE = ((r"more than one|multi|two or more|multiple", "multiple"), (r"american indian|alaska", "aian"),
         (r"hawaiian|pacific", "nhpi"), (r"black|african", "black"), (r"asian", "asian"),
         (r"white|caucasian", "white"), (r"^other", "other"))
_ETHNICITY = ((r"not|non|^n$|^no$", "not-hispanic"), (r"hispanic|latin|^y$|^yes$", "hispanic"))
_PAYER = ((r"medicaid|mcd|medi-cal|medical assistance|^ma$|managed medicaid|title xix", "medicaid"),
          (r"chip|schip|child health plus|peachcare|title xxi", "chip"),
          (r"self|uninsured|none|no insurance|sliding", "uninsured"),
          (r"commercial|private|bcbs|blue cross|aetna|cigna|united|humana|ppo|hmo|kaiser|employer", "commercial"))
_LANGUAGE = {"english": "en", "eng": "en", "spanish": "es", "spa": "es", "espanol": "es", "español": "es",
             "chinese": "zh", "mandarin": "zh", "cantonese": "zh", "vietnamese": "vi", "arabic": "ar",
             "somali": "so", "haitian creole": "ht", "creole": "ht", "portuguese": "pt", "french": "fr",
             "nepali": "ne"}
_IMM_STATUS = ((r"^(completed?|given|administered|yes|y|cp|done|historical)$", "completed"),
               (r"not|refus|declin|^no$|^n$|^nd$|^re$|^rf$|contraindicat|deferred|exempt", "not-done"),
               (r"error", "entered-in-error"))
_NOT_GIVEN_REASON = ((r"religio", "RELIG"), (r"philosoph|personal belief", "PHILISOP"),
                     (r"refus|declin|object|parent|patient", "PATOBJ"),
                     (r"immun|titer|history of disease|had disease", "IMMUNE"),
                     (r"contraindicat|medical|allerg|precaution|anaphyla", "MEDPREC"),
                     (r"stock|supply|unavailable", "OSTOCK"))
_REFERRAL_TYPE = ((r"help me grow|^hmg", "help-me-grow"), (r"early interv|^ei$|part c|birth to three", "early-intervention"),
                  (r"behavio|mental|psych|counsel|therap", "behavioral-health"),
                  (r"dent", "dental"),
                  (r"community|social|food|housing|wic|resource|legal|transport|utilit", "community-service"),
                  (r"special|cardio|neuro|gastro|endocrin|pulmon|allerg|orthop|ent$|otolaryn|ophthal|derm|urolog|"
                   r"nephro|rheumat|hemat|oncol|surg|audiol|develop", "specialist"),
                  (r"other", "other"))
_INTERPRETATION = ((r"^(pos|positive|\+|at risk|high risk|fail|failed|refer|yes|y|concern)", "positive"),
                   (r"^(neg|negative|-|pass|passed|no risk|low risk|no|none|typical)", "negative"),
                   (r"^(n|normal|wnl)$", "normal"), (r"^(a|abnormal|h|l|hh|ll|high|low)$", "abnormal"))
_CONDITION_STATUS = ((r"^(active|current|chronic|a)$", "active"), (r"resolv|^r$|historical|past", "resolved"),
                     (r"inactive|^i$", "inactive"), (r"remission", "remission"), (r"recurr", "recurrence"))
_REFERRAL_STATUS = ((r"lost|ltfu|no show|unable to reach", "lost"), (r"cancel", "cancelled"),
                    (r"closed|complete|done|finished", "closed"), (r"report|result|note received", "report-received"),
                    (r"seen|attended|kept", "seen"), (r"schedul|appoint|booked", "scheduled"),
                    (r"placed|open|pending|new|sent|ordered|referred", "placed"))


def _by_rules(values: pd.Series, rules: tuple[tuple[str, str], ...], default: str | None) -> pd.Series:
    """Map each distinct lower-cased text through the first matching rule (blank -> default)."""
    text = values.astype(str).str.strip().str.lower()
    out: dict[str, str | None] = {}
    for t in pd.unique(text):
        hit = next((key for pattern, key in rules if re.search(pattern, t)), None) if t else None
        out[t] = hit if hit is not None else (default if t == "" else None)
    return text.map(out)


def sex(values: pd.Series) -> pd.Series:
    return _by_rules(values, _SEX, "unknown").fillna("unknown")


def race(values: pd.Series) -> pd.Series:
    cdc = values.astype(str).str.strip().map(RACE_CDC)
    return cdc.fillna(_by_rules(values, _RACE, "unknown")).fillna("unknown")


def ethnicity(values: pd.Series) -> pd.Series:
    cdc = values.astype(str).str.strip().map(ETHNICITY_CDC)
    return cdc.fillna(_by_rules(values, _ETHNICITY, "unknown")).fillna("unknown")


def payer(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip()
    mapped = _by_rules(values, _PAYER, "unknown")
    return mapped.where(mapped.notna() | (text == ""), "other").fillna("unknown")


def language(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip().str.lower()
    iso = text.where(text.str.fullmatch(r"[a-z]{2}"), None)
    mapped = text.map(_LANGUAGE).fillna(iso)
    return mapped.where(mapped.notna() | (text == ""), "other").fillna("unknown")


def immunization_status(values: pd.Series) -> pd.Series:
    """completed | not-done | entered-in-error; None where the text is not recognised."""
    return _by_rules(values, _IMM_STATUS, "completed")


def not_given_reason(values: pd.Series) -> pd.Series:
    """v3 ActReason code for a not-given reason text (None where blank or not recognised)."""
    text = values.astype(str).str.strip()
    upper = text.str.upper()
    direct = upper.where(upper.isin(["IMMUNE", "MEDPREC", "OSTOCK", "PATOBJ", "PHILISOP", "RELIG",
                                     "VACEFF", "VACSAF"]), None)
    return direct.fillna(_by_rules(values, _NOT_GIVEN_REASON, None))


def referral_type(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip().str.lower()
    keyed = text.where(text.isin(["help-me-grow", "early-intervention", "behavioral-health", "specialist",
                                  "community-service", "dental", "other"]), None)
    return keyed.fillna(_by_rules(values, _REFERRAL_TYPE, None))


def interpretation(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip().str.lower()
    return _by_rules(values, _INTERPRETATION, None).fillna(text.str.slice(0, 16).where(text != "", None))


def condition_status(values: pd.Series) -> pd.Series:
    return _by_rules(values, _CONDITION_STATUS, None)


def referral_status(values: pd.Series) -> pd.Series:
    return _by_rules(values, _REFERRAL_STATUS, None)


_CONTACT_METHOD: tuple[tuple[str, str], ...] = (
    (r"\b(sms|text|texting|txt)\b", "text"),
    (r"\b(portal|mychart|my chart|e-?mail|email|online|app)\b", "portal"),
    (r"\b(letter|mail|post|postal)\b", "letter"),
    (r"\b(in person|in-person|face to face|visit)\b", "in person"),
    (r"\b(call|phone|telephone|voice|home phone|cell|mobile)\b", "call"),
)


_APPOINTMENT_STATUS = ((r"cancel|^x$|^cx$|bumped|rescheduled", "cancelled"),
                       (r"no.?show|^ns$|missed|did not (come|arrive)|dna", "noshow"),
                       (r"error", "entered-in-error"), (r"wait", "waitlist"),
                       (r"check.?(ed)?.?in|^ci$|roomed", "checked-in"), (r"arriv", "arrived"),
                       (r"fulfil|complet|seen|kept|done|checked.?out|^co$", "fulfilled"),
                       (r"pend|tentative|request", "pending"), (r"propos", "proposed"),
                       (r"book|schedul|confirm|^sch$|^s$|open|active|future", "booked"))


def appointment_status(values: pd.Series) -> pd.Series:
    """An appointment's status as FHIR spells it (booked when blank); None where not recognised."""
    return _by_rules(values, _APPOINTMENT_STATUS, "booked")


def contact_method(values: pd.Series) -> pd.Series:
    """The outreach method a family prefers (call, text, letter, portal, in person); None where blank or
    not recognised."""
    return _by_rules(values, _CONTACT_METHOD, None)
