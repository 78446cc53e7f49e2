"""Well-child visits on the AAP schedule, immunizations on the CDC schedule, and visit screenings."""

from __future__ import annotations

import numpy as np

from .events import (
    Ctx,
    add_conditions,
    add_encounters,
    add_observations,
    add_prescriptions,
    add_procedures,
    clinic_times,
    refer,
)
from .frames import DAY, SECOND, normal_cdf, sigmoid
from .vocab import (
    CVX,
    DEPRESSION_SCREEN_DECLINED,
    DX,
    IMMUNIZATION_REFUSAL,
    OBS,
    PROC,
    RESULT,
    RX,
    SERVICE,
    WELL_CPT,
    WELL_REASON,
    Code,
)

# AAP periodicity: 3-5 days, 1, 2, 4, 6, 9, 12, 15, 18, 24, 30 months, 3 years, then yearly 4..21
SLOT_DAYS = np.array([4, 30, 61, 122, 183, 274, 367, 457, 549, 732, 914, 1097]
                     + [int(365.25 * y) + 2 for y in range(4, 22)])
SLOT_ATTEND = np.array([2.6, 2.3, 2.3, 2.1, 2.0, 1.5, 2.0, 1.6, 1.4, 1.3, 0.7, 0.8,
                        0.9, 0.7, 0.7, 0.5, 0.5, 0.5, 0.4, 0.6, 0.4, 0.3, 0.3, 0.3, 0.2, 0.1, -0.4, -0.6, -0.8, -0.9])
SLOT_11Y, SLOT_12Y, SLOT_16Y = 19, 20, 24

# (slot, vaccine key) per practice vaccine style; 'pcv' picks the formulation in use on the day
SHOTS = {
    0: [(2, "dtap_hepb_ipv"), (2, "hib_3"), (2, "pcv"), (2, "rv5"), (3, "dtap_hepb_ipv"), (3, "hib_3"), (3, "pcv"),
        (3, "rv5"), (4, "dtap_hepb_ipv"), (4, "pcv"), (4, "rv5"), (6, "hib_3"), (6, "pcv"), (6, "mmr"), (6, "var"),
        (6, "hepa"), (7, "dtap"), (8, "hepa"), (12, "dtap"), (12, "ipv"), (12, "mmrv")],
    1: [(1, "hepb"), (2, "dtap_hib_ipv"), (2, "pcv"), (2, "rv1"), (3, "dtap_hib_ipv"), (3, "pcv"), (3, "rv1"),
        (4, "dtap_hib_ipv"), (4, "pcv"), (4, "hepb"), (6, "pcv"), (6, "mmr"), (6, "var"), (6, "hepa"),
        (7, "dtap_hib_ipv"), (8, "hepa"), (12, "dtap"), (12, "ipv"), (12, "mmr"), (12, "var")],
}
ADOLESCENT_SHOTS = [(SLOT_11Y, "tdap"), (SLOT_11Y, "menacwy"), (SLOT_11Y, "hpv9"), (SLOT_12Y, "hpv9"),
                    (SLOT_16Y, "menacwy")]
VACCINE_CODES = list(CVX.values())
VACCINE_INDEX = {key: i for i, key in enumerate(CVX)}
HEIGHT_AGE = np.array([0, 1, 2, 3, 5, 8, 10, 12, 14, 16, 18, 22])
HEIGHT_CM = np.array([50, 75, 87, 95, 109, 127, 138, 149, 161, 168, 171, 172])
BMI_AGE = np.array([0, 1, 2, 5, 8, 10, 12, 14, 16, 18, 22])
BMI_MEDIAN = np.array([13.5, 17.0, 16.4, 15.4, 15.8, 16.6, 17.8, 19.0, 20.3, 21.3, 22.5])


def well_visits(ctx: Ctx) -> dict[str, np.ndarray]:
    """Generate well visits, their immunizations and screenings; returns the emitted visits."""
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    n = ctx.n
    ideal = c.birth[:, None] + SLOT_DAYS[None, :] * DAY
    infant = SLOT_DAYS[None, :] < 1461
    slow = 4.0 + 8.0 * sigmoid(-p.quality)
    delay = np.where(infant, rng.gamma(1.5, slow, (n, len(SLOT_DAYS))), rng.uniform(0, 150, (n, len(SLOT_DAYS))))
    dates = ideal + delay.astype(np.int64) * DAY
    attend = rng.random((n, len(SLOT_DAYS))) < sigmoid(SLOT_ATTEND[None, :] + p.logit["well_attend"]
                                                       + 0.9 * c.propensity[:, None])
    attend &= dates <= ctx.as_of
    immunize(ctx, dates, attend, ideal)
    influenza(ctx)

    emit = attend & (dates >= c.start[:, None])
    pidx, slot = np.nonzero(emit)
    vdate = dates[pidx, slot]
    age = (vdate - c.birth[pidx]).astype(np.int64)
    band = np.select([age < 365, age < 5 * 365, age < 12 * 365, age < 18 * 365], [0, 1, 2, 3], 4)
    new = rng.random(len(pidx)) < 0.04
    codes = [pair[k] for pair in WELL_CPT.values() for k in (0, 1)]
    start, end = clinic_times(rng, vdate, (20, 45))
    prov = ctx.provider(pidx, 0.8)
    adult = age >= 18 * 365
    reason = {"reason_system": "icd10cm",
              "reason_code": np.where(adult, WELL_REASON[1].code, WELL_REASON[0].code).astype(object)}
    enc = add_encounters(ctx, pidx, start, end, codes, band * 2 + new, provider=prov, reason=reason)
    visits = {"pidx": pidx, "slot": slot, "date": vdate, "start": start, "enc": enc, "prov": prov, "age": age}
    screenings(ctx, visits)
    return visits


def _dose_codes(ctx: Ctx, key: str, when: np.ndarray) -> np.ndarray:
    n = len(when)
    if key == "pcv":
        new_era = when >= np.datetime64("2023-07-01")
        pick = np.where(ctx.rng.random(n) < 0.6, VACCINE_INDEX["pcv15"], VACCINE_INDEX["pcv20"])
        return np.where(new_era, pick, VACCINE_INDEX["pcv13"])
    if key == "menacwy":
        return np.where(ctx.rng.random(n) < 0.5, VACCINE_INDEX["menacwy_d"], VACCINE_INDEX["menacwy_crm"])
    return np.full(n, VACCINE_INDEX[key])


def _add_immunizations(ctx: Ctx, pidx: np.ndarray, when_day: np.ndarray, code_idx: np.ndarray, *,
                       not_done: np.ndarray | None = None) -> None:
    rng, c = ctx.rng, ctx.cohort
    keep = (when_day >= np.maximum(c.birth[pidx], ctx.as_of - np.timedelta64(4 * 365 + 1, "D"))) & (when_day <= ctx.as_of)
    pidx, when_day, code_idx = pidx[keep], when_day[keep], code_idx[keep]
    nd = np.zeros(len(pidx), bool) if not_done is None else not_done[keep]
    when = when_day.astype("datetime64[s]") + (rng.integers(16, 34, len(pidx)) * 1800) * SECOND
    ids = ctx.tables.ids("immunization", len(pidx))
    systems = np.array([v.system for v in VACCINE_CODES], dtype=object)
    codes = np.array([v.code for v in VACCINE_CODES], dtype=object)
    displays = np.array([v.display for v in VACCINE_CODES], dtype=object)
    ctx.tables.add("immunization", {
        "id": ids, "patient_id": c.ids[pidx], "status": np.where(nd, "not-done", "completed").astype(object),
        "code_system": systems[code_idx], "code": codes[code_idx], "display": displays[code_idx],
        "occurrence": when, "recorded": np.where(nd, when, np.datetime64("NaT")), "primary_source": True,
        "status_reason_system": np.where(nd, IMMUNIZATION_REFUSAL.system, None).astype(object),  # type: ignore[call-overload]
        "status_reason_code": np.where(nd, IMMUNIZATION_REFUSAL.code, None).astype(object),  # type: ignore[call-overload]
        "provider_id": ctx.provider(pidx, 0.5), "import_id": ctx.import_id, "source_id": ctx.source_ids("imm-", ids),
    })


def immunize(ctx: Ctx, dates: np.ndarray, attend: np.ndarray, ideal: np.ndarray) -> None:
    """Doses at the well visit they are due, late catch-up doses, and documented refusals."""
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    n = ctx.n
    hesitant = rng.random(n) < p.hesitancy
    # families differ: most keep to the schedule, some miss and delay doses (correlated within a child)
    reliable = rng.random(n) < sigmoid(1.3 + 0.8 * p.quality + 0.9 * c.propensity)
    p_dose = np.where(reliable, sigmoid(p.logit["vaccine"] + 1.6), sigmoid(p.logit["vaccine"] - 1.0))
    p_late = np.where(reliable, 0.75, 0.35)
    # hepatitis B birth dose in the nursery
    given = rng.random(n) < 0.9 - 0.5 * hesitant
    birth_idx = np.flatnonzero(given)
    _add_immunizations(ctx, birth_idx, c.birth[birth_idx] + rng.integers(0, 2, len(birth_idx)) * DAY,
                       np.full(len(birth_idx), VACCINE_INDEX["hepb"]))
    for slot, key in SHOTS[p.vaccine_style] + ADOLESCENT_SHOTS:
        adj = -1.3 if key == "hpv9" else -0.4 if key in ("tdap", "menacwy") else 0.0
        refuse = hesitant & (rng.random(n) < 0.85)
        on_time = attend[:, slot] & ~refuse & (rng.random(n) < sigmoid(np.log(p_dose / (1 - p_dose)) + adj))
        late = ~on_time & ~refuse & (rng.random(n) < p_late * sigmoid(2.0 + adj))
        late_day = ideal[:, slot] + (21 + rng.exponential(110, n)).astype(np.int64) * DAY
        late_day = np.where(attend[:, slot], np.maximum(late_day, dates[:, slot] + 28 * DAY), late_day)
        declined = attend[:, slot] & refuse & (rng.random(n) < 0.6)
        idx = np.concatenate([np.flatnonzero(on_time), np.flatnonzero(late), np.flatnonzero(declined)])
        when = np.concatenate([dates[on_time, slot], late_day[late], dates[declined, slot]])
        nd = np.concatenate([np.zeros(on_time.sum() + late.sum(), bool), np.ones(declined.sum(), bool)])
        _add_immunizations(ctx, idx, when, _dose_codes(ctx, key, when), not_done=nd)


def influenza(ctx: Ctx) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    n = ctx.n
    first_year = int(str(ctx.as_of - np.timedelta64(4 * 365, "D"))[:4])
    last_year = int(str(ctx.as_of)[:4])
    had_flu = np.zeros(n, bool)
    for year in range(first_year, last_year + 1):
        day = np.datetime64(f"{year}-09-01") + rng.gamma(2.0, 22.0, n).astype(np.int64) * DAY
        age = (day - c.birth).astype(np.int64)
        age_adj = np.select([age < 730, age < 1826, age < 4745], [0.9, 0.4, -0.2], -0.7)
        take = (age >= 183) & (rng.random(n) < sigmoid(0.0 + 0.6 * p.quality + age_adj + 0.7 * c.propensity))
        second = take & ~had_flu & (age < 9 * 365) & (rng.random(n) < 0.8)
        had_flu |= take
        idx = np.concatenate([np.flatnonzero(take), np.flatnonzero(second)])
        when = np.concatenate([day[take], day[second] + rng.integers(28, 50, second.sum()) * DAY])
        age_at = (when - c.birth[idx]).astype(np.int64)
        laiv = (age_at >= 730) & (rng.random(len(idx)) < 0.1)
        if year >= 2024:
            code = np.where(laiv, VACCINE_INDEX["flu_laiv4"], VACCINE_INDEX["flu_iiv3"])
        else:
            code = np.where(laiv, VACCINE_INDEX["flu_laiv4"],
                            np.where(age_at < 1095, VACCINE_INDEX["flu_iiv4_ped"], VACCINE_INDEX["flu_iiv4"]))
        keep = when >= c.start[idx]
        _add_immunizations(ctx, idx[keep], when[keep], code[keep])


def _interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    return np.interp(x, xp, fp)


def screenings(ctx: Ctx, v: dict[str, np.ndarray]) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    pidx, slot, enc, when, prov, age = v["pidx"], v["slot"], v["enc"], v["start"], v["prov"], v["age"]
    m = len(pidx)
    prop = c.propensity[pidx]
    years = age / 365.25
    low_income = np.isin(c.payer[pidx], [0, 3])

    # growth: BMI percentile from a latent per-patient z-score (higher on average in some groups)
    z_shift = 0.45 + 0.25 * c.hispanic + 0.2 * (c.race == 1) + 0.15 * (c.payer == 0)
    z = (z_shift + rng.normal(0, 1.05, ctx.n))[pidx] + rng.normal(0, 0.12, m)
    pct = np.clip(normal_cdf(z) * 100, 0.5, 99.9).round(1)
    obese = pct >= 95
    bmi_done = (years >= 2) & (rng.random(m) < sigmoid(p.logit["bmi"] + 0.5 * prop))
    b = np.flatnonzero(bmi_done)
    height = _interp(years[b], HEIGHT_AGE, HEIGHT_CM) * np.where(~c.female[pidx[b]] & (years[b] > 12), 1.04, 1.0)
    height = (height * np.exp(rng.normal(0, 0.04, len(b)))).round(1)
    bmi = (_interp(years[b], BMI_AGE, BMI_MEDIAN) * np.exp(0.13 * z[b])).round(1)
    weight = (bmi * (height / 100) ** 2).round(1)
    for key, values, unit in (("height", height, "cm"), ("weight", weight, "kg"), ("bmi", bmi, "kg/m2"),
                              ("bmi_pct", pct[b], "%")):
        add_observations(ctx, pidx[b], enc[b], when[b], OBS[key], category="vital-signs",
                         values={"value_num": values, "value_unit": unit}, provider=prov[b])
    dx = np.flatnonzero(bmi_done & obese & (rng.random(m) < 0.45))
    if len(dx):
        add_conditions(ctx, pidx[dx], enc[dx], when[dx], [DX["obesity"]], np.zeros(len(dx), int))

    # nutrition and physical-activity counseling (ages 3-17), more likely for children with obesity
    elig = (years >= 3) & (years < 18)
    u = rng.random(m)
    p_nut = sigmoid(p.logit["counsel"] + 0.4 * prop + 1.0 * obese)
    nut = np.flatnonzero(elig & (u < p_nut))
    act = np.flatnonzero(elig & ((u < p_nut * 0.92) | (rng.random(m) < 0.04)))
    nut_codes = [PROC["nutrition"], PROC["nutrition_mnt"]]
    add_procedures(ctx, pidx[nut], enc[nut], when[nut], nut_codes, (obese[nut] & (rng.random(len(nut)) < 0.2)).astype(int),
                   prov[nut])
    add_procedures(ctx, pidx[act], enc[act], when[act], [PROC["activity"], PROC["activity_edu"]],
                   (rng.random(len(act)) < 0.3).astype(int), prov[act])

    # developmental screening (ASQ-3) at 9, 18 and 30 months; autism (M-CHAT-R/F) at 18 and 24 months
    _instrument(ctx, v, np.isin(slot, [5, 8, 10]), "dev", OBS["asq3"], positive_logit=-2.2, score_max=5)
    _instrument(ctx, v, np.isin(slot, [8, 9]), "mchat", OBS["mchat"], positive_logit=-2.8, score_max=20)

    # maternal depression (EPDS) at the 1, 2, 4 and 6 month visits
    e = np.flatnonzero(np.isin(slot, [1, 2, 3, 4]) & (rng.random(m) < sigmoid(p.logit["epds"] + 0.3 * prop)))
    score = np.clip(rng.gamma(2.2, 2.6, len(e)).round(), 0, 30)
    positive = score >= 10
    add_procedures(ctx, pidx[e], enc[e], when[e], [PROC["caregiver_screen"]], np.zeros(len(e), int), prov[e])
    add_observations(ctx, pidx[e], enc[e], when[e], OBS["epds"], category="survey", provider=prov[e], values={
        "value_num": score, "interpretation": np.where(positive, "positive", "negative").astype(object)})
    r = e[positive & (rng.random(len(e)) < sigmoid(p.logit["referral_loop"] + 0.3))]
    kind = np.where(rng.random(len(r)) < 0.5, "community-service", "behavioral-health")
    for k in ("community-service", "behavioral-health"):
        sel = r[kind == k]
        refer(ctx, pidx[sel], when[sel], k, DX["maternal_dep_screen"], prov[sel], "Positive maternal depression screen")

    _depression(ctx, v)
    _social_needs(ctx, v, low_income)

    # blood lead at 12 and 24 months (Medicaid requires it)
    lt = np.flatnonzero(np.isin(slot, [6, 9]) & (rng.random(m) < sigmoid(p.logit["lead"] + 0.5 * (c.payer[pidx] == 0)
                                                                         + 0.3 * prop)))
    level = np.exp(rng.normal(0.0, 0.65, len(lt))).round(1)
    add_observations(ctx, pidx[lt], enc[lt], when[lt] + 86400 * SECOND, OBS["lead"], category="laboratory",
                     provider=prov[lt], values={"value_num": level, "value_unit": "ug/dL",
                                                "interpretation": np.where(level >= 3.5, "abnormal", "normal").astype(object)})

    # fluoride varnish in primary care (6 months to 5 years)
    fv = np.flatnonzero((age >= 183) & (age < 6 * 365)
                        & (rng.random(m) < sigmoid(p.logit["fluoride"] + 0.3 * prop + 0.5 * (c.payer[pidx] == 0))))
    add_procedures(ctx, pidx[fv], enc[fv], when[fv], [PROC["fluoride_pc"]], np.zeros(len(fv), int), prov[fv])

    _sexual_health(ctx, v)
    _vision(ctx, v)


def _vision(ctx: Ctx, v: dict[str, np.ndarray]) -> None:
    """Vision screening at the well visits from 3 to 5 years (Bright Futures; the network's VIS measure):
    instrument-based at 3, mostly visual acuity from 4. Drawn from a generator of its own, so adding it
    left every other figure of a demo network as it was."""
    pidx, enc, when, prov, age = v["pidx"], v["enc"], v["start"], v["prov"], v["age"]
    p, c = ctx.practice, ctx.cohort
    rng = np.random.default_rng([p.id, len(pidx), 0x7155])
    years = age / 365.25
    chance = sigmoid(0.9 + 1.1 * p.quality + 0.3 * c.propensity[pidx])
    done = np.flatnonzero((years >= 3) & (years < 6) & (rng.random(len(pidx)) < chance))
    acuity = ((years[done] >= 4) & (rng.random(len(done)) < 0.7)).astype(int)
    add_procedures(ctx, pidx[done], enc[done], when[done], [PROC["vision_instrument"], PROC["vision_acuity"]],
                   acuity, prov[done])


def _instrument(ctx: Ctx, v: dict[str, np.ndarray], eligible: np.ndarray, key: str, code: Code, *,
                positive_logit: float, score_max: int) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    pidx, enc, when, prov = v["pidx"], v["enc"], v["start"], v["prov"]
    prop = c.propensity[pidx]
    d = np.flatnonzero(eligible & (rng.random(len(pidx)) < sigmoid(p.logit[key] + 0.3 * prop)))
    positive = rng.random(len(d)) < sigmoid(positive_logit - 0.3 * prop[d])
    score = np.where(positive, rng.integers(max(3, score_max // 4), score_max + 1, len(d)),
                     rng.integers(0, 3, len(d))).astype(float)
    if key == "dev":
        score = np.where(positive, rng.integers(1, score_max + 1, len(d)), 0).astype(float)
    add_procedures(ctx, pidx[d], enc[d], when[d], [PROC["dev_screen"]], np.zeros(len(d), int), prov[d])
    add_observations(ctx, pidx[d], enc[d], when[d], code, category="survey", provider=prov[d], values={
        "value_num": score, "interpretation": np.where(positive, "positive", "negative").astype(object)})
    r = d[positive & (rng.random(len(d)) < sigmoid(p.logit["referral_loop"] + 0.8))]
    if key == "dev":
        ei = rng.random(len(r)) < 0.5
        refer(ctx, pidx[r[ei]], when[r[ei]], "early-intervention", DX["speech_delay"], prov[r[ei]],
              "Developmental screen below cutoff")
        refer(ctx, pidx[r[~ei]], when[r[~ei]], "help-me-grow", DX["dev_delay"], prov[r[~ei]],
              "Developmental concern: Help Me Grow care coordination")
    else:
        refer(ctx, pidx[r], when[r], "specialist", DX["dev_delay"], prov[r], "Positive autism screen")
        refer(ctx, pidx[r], when[r], "early-intervention", DX["dev_delay"], prov[r], "Positive autism screen")


def _depression(ctx: Ctx, v: dict[str, np.ndarray]) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    pidx, enc, when, prov, age = v["pidx"], v["enc"], v["start"], v["prov"], v["age"]
    prop = c.propensity[pidx]
    elig = np.flatnonzero(age >= 12 * 365)
    offered = elig[rng.random(len(elig)) < sigmoid(p.logit["phq"] + 0.4 * prop[elig])]
    declined = offered[rng.random(len(offered)) < 0.04]
    done = np.setdiff1d(offered, declined)
    code = np.where(age >= 18 * 365, 1, 0)
    for which, obs_code in ((0, OBS["phq_teen"]), (1, OBS["phq_adult"])):
        dcl = declined[code[declined] == which]
        add_observations(ctx, pidx[dcl], enc[dcl], when[dcl], obs_code, category="survey", status="cancelled",
                         provider=prov[dcl], values={"issued": when[dcl], "status_reason_system": DEPRESSION_SCREEN_DECLINED.system,
                                                      "status_reason_code": DEPRESSION_SCREEN_DECLINED.code})
        d = done[code[done] == which]
        positive = rng.random(len(d)) < np.where(c.female[pidx[d]], 0.15, 0.08)
        score = np.where(positive, rng.integers(10, 25, len(d)), rng.integers(0, 10, len(d)))
        add_observations(ctx, pidx[d], enc[d], when[d], obs_code, category="survey", provider=prov[d], values={
            "value_system": "snomed",
            "value_code": np.where(positive, RESULT["dep_pos"].code, RESULT["dep_neg"].code).astype(object),
            "value_text": np.char.add("PHQ-9 modified for teens, total score ", score.astype(str)).astype(object),
            "interpretation": np.where(positive, "positive", "negative").astype(object)})
        pos = d[positive & (rng.random(len(d)) < sigmoid(p.logit["dep_followup"] + 0.4 * prop[d]))]
        how = rng.random(len(pos))
        ref = pos[how < 0.55]
        sr = ctx.tables.ids("service_request", len(ref))
        sr_codes = [SERVICE["ref_child_psych"], SERVICE["ref_psychologist"]]
        pick = (rng.random(len(ref)) < 0.5).astype(int)
        ctx.tables.add("service_request", {
            "id": sr, "patient_id": c.ids[pidx[ref]], "status": "completed", "intent": "order",
            "code_system": "snomed", "code": np.array([s.code for s in sr_codes], dtype=object)[pick],
            "display": np.array([s.display for s in sr_codes], dtype=object)[pick],
            "authored_on": when[ref] + 900 * SECOND, "encounter_id": enc[ref], "reason_system": "icd10cm",
            "reason_code": DX["depression"].code, "import_id": ctx.import_id, "source_id": ctx.source_ids("sr-", sr)})
        refer(ctx, pidx[ref], when[ref], "behavioral-health", DX["depression"], prov[ref], "Positive depression screen")
        psy = pos[(how >= 0.55) & (how < 0.85)]
        add_procedures(ctx, pidx[psy], enc[psy], when[psy] + 1200 * SECOND, [PROC["psychotherapy"]],
                       np.zeros(len(psy), int), prov[psy])
        med = pos[how >= 0.85]
        add_prescriptions(ctx, pidx[med], when[med] + 1800 * SECOND, [RX["sertraline"], RX["fluoxetine"]],
                          (rng.random(len(med)) < 0.4).astype(int), supply_days=30.0, quantity=30.0, unit="tablet",
                          provider=prov[med])


def _social_needs(ctx: Ctx, v: dict[str, np.ndarray], low_income: np.ndarray) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    if p.sdoh_on_paper:
        return
    pidx, enc, when, prov = v["pidx"], v["enc"], v["start"], v["prov"]
    prop = c.propensity[pidx]
    s = np.flatnonzero(rng.random(len(pidx)) < sigmoid(p.logit["sdoh"] + 0.2 * prop))
    positive = rng.random(len(s)) < sigmoid(-1.7 + 0.9 * low_income[s] - 0.3 * prop[s])
    need = rng.integers(0, 3, len(s))
    need_text = np.array(["food insecurity", "housing instability", "difficulty paying bills"], dtype=object)
    add_observations(ctx, pidx[s], enc[s], when[s], OBS["sdoh"], category="survey", provider=prov[s], values={
        "value_system": "snomed",
        "value_code": np.where(positive, RESULT["pos"].code, RESULT["neg"].code).astype(object),
        "value_text": np.where(positive, need_text[need], "no needs identified").astype(object),
        "interpretation": np.where(positive, "positive", "negative").astype(object)})
    r = positive & (rng.random(len(s)) < sigmoid(p.logit["referral_loop"] + 0.2 * prop[s]))
    reasons = [DX["food"], DX["housing"], DX["low_income"]]
    for k, reason in enumerate(reasons):
        sel = s[r & (need == k)]
        refer(ctx, pidx[sel], when[sel], "community-service", reason, prov[sel], f"Social need: {need_text[k]}")


def _sexual_health(ctx: Ctx, v: dict[str, np.ndarray]) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    pidx, enc, when, prov, age = v["pidx"], v["enc"], v["start"], v["prov"], v["age"]
    age_now = (ctx.as_of - c.birth).astype(np.int64) / 365.25
    active = c.female & (rng.random(ctx.n) < np.clip(0.12 * (age_now - 14.5), 0, 0.65))
    g = np.flatnonzero(active[pidx] & (age >= 16 * 365))
    prop = c.propensity[pidx]
    contra = g[rng.random(len(g)) < 0.45]
    depo = rng.random(len(contra)) < 0.25
    add_prescriptions(ctx, pidx[contra], when[contra] + 1500 * SECOND, [RX["ocp"], RX["depo"]], depo.astype(int),
                      supply_days=np.where(depo, 90.0, 84.0), quantity=np.where(depo, 1.0, 84.0),
                      unit="tablet", provider=prov[contra])
    t = g[rng.random(len(g)) < sigmoid(p.logit["chlamydia"] + 0.4 * prop[g])]
    pos = rng.random(len(t)) < 0.045
    add_observations(ctx, pidx[t], enc[t], when[t] + 2 * 86400 * SECOND, OBS["chlamydia"], category="laboratory",
                     provider=prov[t], values={
                         "value_system": "snomed",
                         "value_code": np.where(pos, RESULT["pos"].code, RESULT["neg"].code).astype(object),
                         "interpretation": np.where(pos, "positive", "negative").astype(object)})
    h = g[rng.random(len(g)) < 0.08]
    add_observations(ctx, pidx[h], enc[h], when[h], OBS["hcg"], category="laboratory", provider=prov[h],
                     values={"value_system": "snomed", "value_code": RESULT["neg"].code, "interpretation": "negative"})
