"""Practices, providers and patients of the synthetic network (vectorised per practice)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from . import names
from .frames import DAY, Tables, sigmoid

PAYERS = np.array(["medicaid", "chip", "commercial", "uninsured"], dtype=object)
PAYER_SOP = {"medicaid": ("21", "Medicaid (Managed Care)"), "chip": ("23", "Medicaid/SCHIP"),
             "commercial": ("51", "Managed Care (Private)"), "uninsured": ("81", "Self-pay")}
PAYER_EFFECT = np.array([-0.25, -0.15, 0.25, -0.7])  # how payer shifts the chance of timely care
LANGS = np.array(["en", "es", "vi", "zh", "so", "ar", "ne", "ht"], dtype=object)
RACES = np.array(["white", "black", "asian", "aian", "nhpi", "multiple", "other", "unknown"], dtype=object)
PRACTICE_KINDS = ("urban", "suburban", "rural")


@dataclass
class PracticeProfile:
    """Everything that makes one practice different: size, population, latent quality, programmes."""

    index: int
    id: int
    code: str
    name: str
    city: str
    kind: str
    size: int
    zip_codes: list[str]
    payer_mix: np.ndarray
    lang_mix: np.ndarray
    black_share: float
    quality: float
    dental: bool
    vaccine_style: int  # 0: DTaP-HepB-IPV + PRP-OMP Hib + RV5; 1: DTaP-Hib-IPV + RV1
    hesitancy: float
    # per-programme logits (the chance a step happens at an eligible visit, before patient effects)
    logit: dict[str, float] = field(default_factory=dict)
    sdoh_on_paper: bool = False
    provider_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dentist_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def practice_sizes(rng: np.random.Generator, practices: int, patients: int) -> np.ndarray:
    """Sizes drawn log-uniformly in 2,000..30,000 and scaled to the requested total."""
    raw = np.exp(rng.uniform(np.log(2000), np.log(30000), practices))
    sizes = np.floor(raw / raw.sum() * patients).astype(np.int64)
    sizes = np.maximum(sizes, 1 if patients >= practices else 0)
    sizes[np.argmax(sizes)] += patients - sizes.sum()
    return sizes


def make_practices(rng: np.random.Generator, practices: int, patients: int) -> list[PracticeProfile]:
    sizes = practice_sizes(rng, practices, patients)
    profiles: list[PracticeProfile] = []
    base_zip = 43000
    dental_index = 1 % practices
    for i in range(practices):
        pname, city = names.PRACTICE_NAMES[i % len(names.PRACTICE_NAMES)]
        if i >= len(names.PRACTICE_NAMES):
            pname = f"{pname} {i // len(names.PRACTICE_NAMES) + 1}"
        kind = PRACTICE_KINDS[int(rng.integers(0, 3))]
        payer_alpha = {"urban": [6, 1, 3, 0.8], "suburban": [2, 1, 7, 0.4], "rural": [4, 1.5, 4, 1.2]}[kind]
        payer_mix = rng.dirichlet(np.array(payer_alpha) * 4)
        spanish = {"urban": 0.25, "suburban": 0.08, "rural": 0.12}[kind] * rng.uniform(0.3, 1.8)
        other_lang = {"urban": 0.06, "suburban": 0.03, "rural": 0.01}[kind] * rng.uniform(0.5, 1.5)
        lang_mix = np.array([1 - spanish - other_lang, spanish] + [other_lang / 6] * 6)
        quality = float(rng.normal(0.0, 0.55))
        zip0 = base_zip + int(rng.integers(0, 900))
        logit = {
            # step: base logit + practice quality (+ practice-specific programme noise)
            "well_attend": 0.0 + 0.6 * quality,
            "vaccine": 2.2 + 0.9 * quality + rng.normal(0, 0.3),
            "bmi": 1.8 + 1.2 * quality + rng.normal(0, 0.5),
            "counsel": 0.2 + 1.0 * quality + rng.normal(0, 0.6),
            "dev": 0.8 + 1.3 * quality + rng.normal(0, 0.8),
            "mchat": 1.0 + 1.2 * quality + rng.normal(0, 0.7),
            "epds": -0.5 + 1.5 * quality + rng.normal(0, 1.2),
            "phq": 0.6 + 1.1 * quality + rng.normal(0, 0.6),
            "sdoh": -0.2 + 1.2 * quality + rng.normal(0, 0.8),
            "lead": 0.6 + 1.0 * quality + rng.normal(0, 0.5),
            "fluoride": -1.5 + 1.2 * quality + rng.normal(0, 1.2),
            "chlamydia": -0.2 + 1.0 * quality + rng.normal(0, 0.5),
            "strep_test": 1.8 + 1.0 * quality + rng.normal(0, 0.4),
            "abx_uri": -2.2 - 0.8 * quality + rng.normal(0, 0.4),
            "abx_no_test": 0.3 - 0.6 * quality,
            "suicide_risk": 0.4 + 1.2 * quality + rng.normal(0, 0.6),
            "adhd_followup": 0.2 + 1.0 * quality + rng.normal(0, 0.4),
            "controller": 0.8 + 0.8 * quality + rng.normal(0, 0.3),
            "referral_loop": 0.4 + 0.9 * quality + rng.normal(0, 0.4),
            "dep_followup": 1.0 + 1.0 * quality + rng.normal(0, 0.4),
        }
        profiles.append(PracticeProfile(
            index=i, id=i + 1, code=f"P{i + 1:03d}", name=pname, city=city, kind=kind, size=int(sizes[i]),
            zip_codes=[f"{zip0 + k:05d}" for k in (0, 1, 2, 5, 9, 14)], payer_mix=payer_mix,
            lang_mix=lang_mix / lang_mix.sum(),
            black_share={"urban": 0.3, "suburban": 0.1, "rural": 0.05}[kind] * rng.uniform(0.5, 1.5),
            quality=quality, dental=(i == dental_index), vaccine_style=int(rng.integers(0, 2)),
            hesitancy=float(rng.uniform(0.01, 0.07)), logit=logit,
            sdoh_on_paper=bool(practices >= 3 and i % 4 == 3),
        ))
    return profiles


def npi_with_check_digit(base9: str) -> str:
    """A 10-digit NPI: Luhn check digit over '80840' + the 9-digit base (CMS NPI standard)."""
    digits = [int(d) for d in "80840" + base9]
    total = 0
    for pos, d in enumerate(reversed(digits)):
        if pos % 2 == 0:  # rightmost payload digit is doubled (the check digit is appended after it)
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return base9 + str((10 - total % 10) % 10)


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and npi_with_check_digit(npi[:9]) == npi


def add_network(tables: Tables, profiles: list[PracticeProfile], stamp: dt.datetime, rng: np.random.Generator,
                import_id: int) -> None:
    tables.add("network", {"id": np.array([1]), "name": "CareNet Pediatric Network",
                           "created_at": stamp, "updated_at": stamp})
    tables.add("practice", {
        "id": np.array([p.id for p in profiles]), "network_id": 1,
        "code": np.array([p.code for p in profiles], dtype=object),
        "name": np.array([p.name for p in profiles], dtype=object),
        "city": np.array([p.city for p in profiles], dtype=object), "state": names.STATE,
        "zip_code": np.array([p.zip_codes[0] for p in profiles], dtype=object), "active": True,
        "created_at": stamp, "updated_at": stamp,
    })
    # providers: 3..25 per practice, scaled with size; the dental partner also has dentists
    counts = np.clip(np.round(np.array([p.size for p in profiles]) / 1200), 3, 25).astype(int)
    used: set[str] = set()
    rows: dict[str, list[object]] = {k: [] for k in ("id", "practice_id", "npi", "given_name", "family_name",
                                                      "credentials", "specialty", "source_id")}
    next_id = 1
    for p, k in zip(profiles, counts, strict=True):
        kinds = ["pcp"] * int(k) + (["dentist"] * 3 if p.dental else [])
        pcp_ids: list[int] = []
        dentist_ids: list[int] = []
        for role in kinds:
            while True:
                npi = npi_with_check_digit(str(int(rng.integers(100_000_000, 299_999_999))))
                if npi not in used:
                    used.add(npi)
                    break
            female = rng.random() < 0.6
            given = rng.choice(names.GIVEN_FEMALE if female else names.GIVEN_MALE)
            family = rng.choice(names.FAMILY + names.FAMILY_HISPANIC + names.FAMILY_ASIAN)
            if role == "dentist":
                cred, spec = "DDS", "Pediatric Dentistry"
            else:
                r = rng.random()
                cred, spec = (("MD", "Pediatrics") if r < 0.6 else ("DO", "Pediatrics") if r < 0.7
                              else ("MD", "Family Medicine") if r < 0.8 else ("CPNP", "Pediatrics") if r < 0.93
                              else ("PA-C", "Pediatrics"))
            for key, value in (("id", next_id), ("practice_id", p.id), ("npi", npi), ("given_name", str(given)),
                               ("family_name", str(family)), ("credentials", cred), ("specialty", spec),
                               ("source_id", f"provider-{next_id}")):
                rows[key].append(value)
            (dentist_ids if role == "dentist" else pcp_ids).append(next_id)
            next_id += 1
        p.provider_ids = np.array(pcp_ids, dtype=np.int64)
        p.dentist_ids = np.array(dentist_ids, dtype=np.int64)
    tables.next_ids["provider"] = next_id
    cols = {k: np.array(v, dtype=object if k not in ("id", "practice_id") else np.int64) for k, v in rows.items()}
    tables.add("provider", cols | {"active": True, "import_id": import_id, "created_at": stamp, "updated_at": stamp})


@dataclass
class Cohort:
    """The patients of one chunk, as columns (index = position in the chunk)."""

    ids: np.ndarray
    birth: np.ndarray  # datetime64[D]
    female: np.ndarray
    payer: np.ndarray  # index into PAYERS
    lang: np.ndarray  # index into LANGS
    hispanic: np.ndarray
    race: np.ndarray  # index into RACES
    pcp: np.ndarray
    propensity: np.ndarray  # latent: how reliably this family gets recommended care
    start: np.ndarray  # datetime64[D]: first day events are generated for this patient

    def __len__(self) -> int:
        return len(self.ids)

    def age_days(self, when: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        birth = self.birth if idx is None else self.birth[idx]
        return (when.astype("datetime64[D]") - birth).astype(np.int64)


def make_patients(rng: np.random.Generator, tables: Tables, p: PracticeProfile, n: int, mrn_numbers: np.ndarray,
                  as_of: np.datetime64, stamp: dt.datetime, import_id: int) -> Cohort:
    ids = tables.ids("patient", n)
    # ages 0..21 with slightly more young children; few 18-21 year olds stay with a pediatric practice
    weights = np.array([1.18] * 6 + [1.0] * 7 + [0.92] * 5 + [0.55, 0.4, 0.3, 0.2])
    years = rng.choice(22, size=n, p=weights / weights.sum())
    age_days = (years * 365.25 + rng.uniform(0, 365, n)).astype(np.int64)
    birth = as_of - age_days * DAY
    female = rng.random(n) < 0.49
    lang = rng.choice(len(LANGS), size=n, p=p.lang_mix)
    spanish = lang == 1
    hispanic = np.where(spanish, rng.random(n) < 0.96, rng.random(n) < 0.11)
    # race: Hispanic patients mostly White/Other; Vietnamese/Chinese/Nepali speakers Asian; Somali/Haitian Black
    u = rng.random(n)
    nonhisp = np.select([u < p.black_share, u < p.black_share + 0.06, u < p.black_share + 0.07,
                         u < p.black_share + 0.075, u < p.black_share + 0.11, u < 0.96], [1, 2, 3, 4, 5, 0], 7)
    hisp = rng.choice(8, size=n, p=[0.52, 0.05, 0.01, 0.03, 0.0, 0.08, 0.27, 0.04])
    race = np.where(hispanic, hisp, nonhisp)
    race = np.where(np.isin(lang, [2, 3, 6]), 2, race)
    race = np.where(np.isin(lang, [4, 7]), 1, race)
    race = np.where(lang == 5, 0, race)
    # payer: the practice mix, shifted towards Medicaid for non-English speakers and Black families
    payer = rng.choice(4, size=n, p=p.payer_mix)
    shift = (lang != 0) | (race == 1)
    resample = shift & (rng.random(n) < 0.3)
    payer = np.where(resample, rng.choice(4, size=n, p=[0.62, 0.12, 0.14, 0.12]), payer)
    propensity = (PAYER_EFFECT[payer] + np.where(lang != 0, -0.2, 0.0) + np.where(race == 1, -0.12, 0.0)
                  + rng.normal(0.0, 0.6, n))
    pcp = p.provider_ids[rng.integers(0, len(p.provider_ids), n)]
    window3 = as_of - np.timedelta64(3 * 365 + 1, "D")
    window5 = as_of - np.timedelta64(5 * 365 + 1, "D")
    # three years of history; children under four keep theirs from birth (immunization status by age 2)
    start = np.where(birth >= as_of - np.timedelta64(4 * 365, "D"), birth, window3)

    given = _names(rng, female, hispanic, race)
    family = _family(rng, hispanic, race, lang)
    zips = np.array(p.zip_codes, dtype=object)[rng.choice(len(p.zip_codes), n, p=[0.35, 0.2, 0.15, 0.12, 0.1, 0.08])]
    mrn = np.array([f"{p.code[1:]}-{m:07d}" for m in mrn_numbers], dtype=object)
    sex = np.where(female, "female", "male").astype(object)
    ethnicity = np.where(hispanic, "hispanic", "not-hispanic").astype(object)
    unknown_eth = rng.random(n) < 0.03
    ethnicity[unknown_eth] = "unknown"
    tables.add("patient", {
        "id": ids, "practice_id": p.id, "mrn": mrn, "given_name": given, "family_name": family, "birth_date": birth,
        "sex": sex, "race": RACES[race], "ethnicity": ethnicity, "language": LANGS[lang], "payer": PAYERS[payer],
        "zip_code": zips, "pcp_provider_id": pcp, "active": True, "version": 1, "import_id": import_id,
        "source_id": np.char.add("patient-", ids.astype(str)).astype(object), "created_at": stamp, "updated_at": stamp,
        **_contacts(ids, family),
    })
    # coverage: current payer since birth or the start of the window; some Medicaid/CHIP children churned
    cov_start = np.maximum(birth, window5)
    churn = np.isin(payer, [0, 1]) & (rng.random(n) < 0.12)
    churn_day = cov_start + (rng.uniform(0.2, 0.8, n) * (as_of - cov_start).astype(np.int64)).astype(np.int64) * DAY
    sop = np.array([PAYER_SOP[k][0] for k in PAYERS], dtype=object)
    sop_name = np.array([PAYER_SOP[k][1] for k in PAYERS], dtype=object)
    second_start = np.where(churn, churn_day + rng.integers(30, 120, n) * DAY, cov_start)
    keep_second = second_start <= as_of
    tables.add("coverage", {
        "id": tables.ids("coverage", n), "patient_id": ids, "payer": PAYERS[payer], "payer_name": sop_name[payer],
        "type_system": "sop", "type_code": sop[payer], "status": "active",
        "start": np.where(keep_second, second_start, cov_start), "end": np.datetime64("NaT", "D") + np.zeros(n, "timedelta64[D]"),
        "import_id": import_id, "source_id": np.char.add("coverage-", ids.astype(str)).astype(object),
    })
    if churn.any():
        c = np.flatnonzero(churn & keep_second)
        tables.add("coverage", {
            "id": tables.ids("coverage", len(c)), "patient_id": ids[c], "payer": PAYERS[payer[c]],
            "payer_name": sop_name[payer[c]], "type_system": "sop", "type_code": sop[payer[c]], "status": "active",
            "start": cov_start[c], "end": churn_day[c], "import_id": import_id,
            "source_id": np.char.add("coverage-old-", ids[c].astype(str)).astype(object),
        })
    return Cohort(ids=ids, birth=birth, female=female, payer=payer, lang=lang, hispanic=hispanic, race=race,
                  pcp=pcp, propensity=propensity, start=start)


def _contacts(ids: np.ndarray, family: np.ndarray) -> dict[str, np.ndarray]:
    """Fictional phone numbers (555-01xx), a guardian and a preferred contact method for each child. Drawn
    from a generator of their own (seeded by the first id), so the rest of the demo is what it was."""
    n = len(ids)
    rng = np.random.default_rng(int(ids[0]) if n else 0)
    phone = np.char.add("555-01", np.char.zfill((ids % 100).astype(str), 2)).astype(object)
    guardian = np.char.add(np.char.add(_pick(rng, names.GIVEN_FEMALE, n).astype(str), " "),
                           family.astype(str)).astype(object)
    method = np.array(["call", "text", "portal", "letter"], dtype=object)[
        rng.choice(4, size=n, p=[0.45, 0.35, 0.12, 0.08])]
    missing = rng.random(n) < 0.06  # some records have no phone on file
    phone[missing] = None
    return {"phone": phone, "guardian": guardian, "contact_method": method}


def _pick(rng: np.random.Generator, pool: list[str], n: int) -> np.ndarray:
    return np.array(pool, dtype=object)[rng.integers(0, len(pool), n)]


def _names(rng: np.random.Generator, female: np.ndarray, hispanic: np.ndarray, race: np.ndarray) -> np.ndarray:
    n = len(female)
    out = np.where(female, _pick(rng, names.GIVEN_FEMALE, n), _pick(rng, names.GIVEN_MALE, n))
    his = np.where(female, _pick(rng, names.GIVEN_FEMALE_HISPANIC, n), _pick(rng, names.GIVEN_MALE_HISPANIC, n))
    out = np.where(hispanic & (rng.random(n) < 0.7), his, out)
    out = np.where((race == 2) & (rng.random(n) < 0.5), _pick(rng, names.GIVEN_ASIAN, n), out)
    return out.astype(object)


def _family(rng: np.random.Generator, hispanic: np.ndarray, race: np.ndarray, lang: np.ndarray) -> np.ndarray:
    n = len(hispanic)
    out = _pick(rng, names.FAMILY, n)
    out = np.where(hispanic & (rng.random(n) < 0.85), _pick(rng, names.FAMILY_HISPANIC, n), out)
    out = np.where(race == 2, _pick(rng, names.FAMILY_ASIAN, n), out)
    out = np.where(np.isin(lang, [4, 5, 7]), _pick(rng, names.FAMILY_AFRICAN, n), out)
    return out.astype(object)


def attend_probability(logit: float, propensity: np.ndarray, slope: float = 0.8) -> np.ndarray:
    return sigmoid(logit + slope * propensity)
