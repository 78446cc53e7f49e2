"""Acute illness, emergency visits, chronic conditions with their medicines and follow-up, dental care."""

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
from .frames import DAY, SECOND, sigmoid
from .vocab import DENTAL_CDT, DX, ED_CPT, OBS, OFFICE_CPT, PROC, PSYCH_CPT, RESULT, RX, TELEPHONE_CPT

ACUTE_OTHER = ["otitis", "fever", "gastroenteritis", "eczema", "conjunctivitis", "abdominal_pain", "viral", "sinusitis"]
ED_DX = ["fever", "head_injury", "uri", "gastroenteritis", "abdominal_pain"]


def _episodes(ctx: Ctx, rate_per_year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson episode counts over each patient's window; uniform dates within it."""
    rng, c = ctx.rng, ctx.cohort
    span = (ctx.as_of - c.start).astype(np.int64).clip(0)
    counts = rng.poisson(rate_per_year * span / 365.25)
    pidx = np.repeat(np.arange(ctx.n), counts)
    day = c.start[pidx] + (rng.random(len(pidx)) * span[pidx]).astype(np.int64) * DAY
    return pidx, day


def _age_years(ctx: Ctx, pidx: np.ndarray, day: np.ndarray) -> np.ndarray:
    return (day - ctx.cohort.birth[pidx]).astype(np.int64) / 365.25


def _antibiotic(ctx: Ctx, pidx: np.ndarray, when: np.ndarray, age: np.ndarray, prov: np.ndarray) -> None:
    rng = ctx.rng
    codes = [RX["amox_susp"], RX["amox_cap"], RX["azithro_susp"], RX["cefdinir_susp"]]
    pick = np.where(age < 10, 0, 1)
    alt = rng.random(len(pidx))
    pick = np.where(alt < 0.08, 2, np.where(alt < 0.14, 3, pick))
    add_prescriptions(ctx, pidx, when + 1200 * SECOND, codes, pick, supply_days=10.0,
                      quantity=np.where(pick == 1, 20.0, 100.0), unit="mL",
                      dose=5.0, frequency=2, provider=prov)


def acute_care(ctx: Ctx) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    age_now = (ctx.as_of - c.birth).astype(np.int64) / 365.25
    steward = p.logit["abx_uri"]

    # upper respiratory infections: an antibiotic is not indicated (CMS154)
    pidx, day = _episodes(ctx, np.select([age_now < 3, age_now < 7, age_now < 13], [0.7, 0.4, 0.25], 0.18))
    age = _age_years(ctx, pidx, day)
    start, end = clinic_times(rng, day)
    prov = ctx.provider(pidx, 0.5)
    enc = add_encounters(ctx, pidx, start, end, OFFICE_CPT, rng.choice(3, len(pidx), p=[0.25, 0.6, 0.15]),
                         provider=prov)
    add_conditions(ctx, pidx, enc, start, [DX["uri"], DX["cold"]], (rng.random(len(pidx)) < 0.4).astype(int),
                   abatement=start + 10 * 86400 * SECOND)
    otitis = rng.random(len(pidx)) < 0.1
    o = np.flatnonzero(otitis)
    add_conditions(ctx, pidx[o], enc[o], start[o], [DX["otitis"]], np.zeros(len(o), int),
                   abatement=start[o] + 14 * 86400 * SECOND, rank=2)
    abx = np.where(otitis, 0.85, sigmoid(steward - 0.2 * c.propensity[pidx] + 0.3 * (c.payer[pidx] == 3)))
    a = np.flatnonzero(rng.random(len(pidx)) < abx)
    _antibiotic(ctx, pidx[a], start[a], age[a], prov[a])

    # pharyngitis (ages 3+): test before treating (CMS146)
    pidx, day = _episodes(ctx, np.where((age_now >= 3) & (age_now < 19), 0.16, 0.03))
    age = _age_years(ctx, pidx, day)
    keep = age >= 2
    pidx, day, age = pidx[keep], day[keep], age[keep]
    start, end = clinic_times(rng, day)
    prov = ctx.provider(pidx, 0.5)
    m = len(pidx)
    enc = add_encounters(ctx, pidx, start, end, OFFICE_CPT, rng.choice(3, m, p=[0.2, 0.65, 0.15]), provider=prov)
    tested = rng.random(m) < sigmoid(p.logit["strep_test"] + 0.3 * c.propensity[pidx])
    strep = rng.random(m) < 0.3
    t = np.flatnonzero(tested)
    add_observations(ctx, pidx[t], enc[t], start[t] + 600 * SECOND, OBS["strep"], category="laboratory",
                     provider=prov[t], values={
                         "value_system": "snomed",
                         "value_code": np.where(strep[t], RESULT["pos"].code, RESULT["neg"].code).astype(object),
                         "interpretation": np.where(strep[t], "positive", "negative").astype(object)})
    dx = np.where(tested & strep, 1, np.where(rng.random(m) < 0.25, 2, 0))
    add_conditions(ctx, pidx, enc, start, [DX["pharyngitis"], DX["strep_throat"], DX["tonsillitis"]], dx,
                   abatement=start + 10 * 86400 * SECOND)
    p_abx = np.where(tested, np.where(strep, 0.95, sigmoid(steward + 0.6)), sigmoid(p.logit["abx_no_test"]))
    a = np.flatnonzero(rng.random(m) < p_abx)
    _antibiotic(ctx, pidx[a], start[a], age[a], prov[a])

    # other acute problems
    pidx, day = _episodes(ctx, np.select([age_now < 3, age_now < 7], [0.6, 0.35], 0.22))
    start, end = clinic_times(rng, day)
    prov = ctx.provider(pidx, 0.5)
    m = len(pidx)
    telephone = rng.random(m) < 0.06
    codes = [*OFFICE_CPT, TELEPHONE_CPT]
    enc = add_encounters(ctx, pidx, start, end, codes, np.where(telephone, 3, rng.choice(3, m, p=[0.3, 0.55, 0.15])),
                         provider=prov)
    which = rng.choice(len(ACUTE_OTHER), m, p=[0.25, 0.15, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05])
    add_conditions(ctx, pidx, enc, start, [DX[k] for k in ACUTE_OTHER], which, abatement=start + 14 * 86400 * SECOND)
    a = np.flatnonzero(np.isin(which, [0, 7]) & (rng.random(m) < 0.8))
    _antibiotic(ctx, pidx[a], start[a], _age_years(ctx, pidx[a], day[a]), prov[a])

    # emergency department visits: more for uninsured/Medicaid children and less engaged families
    rate = 0.12 * np.exp(0.5 * np.isin(c.payer, [0, 3]) - 0.3 * c.propensity - 0.2 * p.quality)
    pidx, day = _episodes(ctx, rate)
    m = len(pidx)
    start, end = clinic_times(rng, day, (90, 300), (0, 24))
    enc = add_encounters(ctx, pidx, start, end, ED_CPT, rng.choice(3, m, p=[0.45, 0.4, 0.15]), class_code="EMER",
                         provider=np.full(m, np.nan))
    add_conditions(ctx, pidx, enc, start, [DX[k] for k in ED_DX], rng.choice(len(ED_DX), m),
                   abatement=start + 7 * 86400 * SECOND)


def chronic_care(ctx: Ctx) -> None:
    _asthma(ctx)
    _adhd(ctx)
    _depression(ctx)


def _visits(ctx: Ctx, pidx: np.ndarray, day: np.ndarray, dx_code, *, codes=OFFICE_CPT, code_idx=None,
            provider: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = ctx.rng
    keep = ctx.in_window(pidx, day)
    pidx, day = pidx[keep], day[keep]
    start, end = clinic_times(rng, day)
    prov = ctx.provider(pidx, 0.8) if provider is None else provider[keep]
    idx = rng.choice([1, 2], len(pidx)) if code_idx is None else code_idx[keep]
    enc = add_encounters(ctx, pidx, start, end, codes, idx, provider=prov)
    if dx_code is not None:
        codes_dx, dx_idx = dx_code(pidx)
        add_conditions(ctx, pidx, enc, start, codes_dx, dx_idx)
    return pidx, start, enc


def _problem(ctx: Ctx, who: np.ndarray, codes, idx: np.ndarray, onset_day: np.ndarray,
             abatement: np.ndarray | None = None) -> None:
    onset = onset_day.astype("datetime64[s]") + 10 * 3600 * SECOND
    add_conditions(ctx, who, None, onset, codes, idx, category="problem-list-item", abatement=abatement)


def _asthma(ctx: Ctx) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    age_now = (ctx.as_of - c.birth).astype(np.int64) / 365.25
    prev = 0.07 * np.where(c.race == 1, 1.5, 1.0) * np.where(c.payer == 0, 1.2, 1.0)
    who = np.flatnonzero((age_now >= 2) & (rng.random(ctx.n) < prev))
    if len(who) == 0:
        return
    severity = rng.choice(4, len(who), p=[0.4, 0.35, 0.2, 0.05])
    codes = [DX["asthma_int"], DX["asthma_mild"], DX["asthma_mod"], DX["asthma_sev"]]
    onset = c.birth[who] + (rng.uniform(1.0, 1.5, len(who)) * 365.25 + rng.random(len(who))
                            * ((ctx.as_of - c.birth[who]).astype(np.int64) - 547).clip(0)).astype(np.int64) * DAY
    _problem(ctx, who, codes, severity, onset)
    # asthma visits about twice a year
    years = (ctx.as_of - c.start[who]).astype(np.int64) / 365.25
    n_visits = rng.poisson(1.6 * years)
    vp = np.repeat(np.arange(len(who)), n_visits)
    vday = c.start[who[vp]] + (rng.random(len(vp)) * (ctx.as_of - c.start[who[vp]]).astype(np.int64)).astype(np.int64) * DAY
    _visits(ctx, who[vp], vday, lambda px: (codes, severity[np.searchsorted(who, px)]))
    # relievers for everyone, controllers for persistent asthma (adherence varies by practice and family)
    adherent = sigmoid(p.logit["controller"] + 0.6 * c.propensity[who] + rng.normal(0, 0.8, len(who)))
    rel_n = rng.poisson((1.0 + 0.8 * severity) * (0.5 + 2.5 * (1 - adherent)) * years)
    rp = np.repeat(np.arange(len(who)), rel_n)
    rday = c.start[who[rp]] + (rng.random(len(rp)) * (ctx.as_of - c.start[who[rp]]).astype(np.int64)).astype(np.int64) * DAY
    rwhen = rday.astype("datetime64[s]") + 11 * 3600 * SECOND
    add_prescriptions(ctx, who[rp], rwhen, [RX["albuterol"]], np.zeros(len(rp), int), supply_days=30.0,
                      quantity=1.0, unit="inhaler", dose=2.0, frequency=4, dispense=0.9)
    on_ctrl = (severity >= 1) & (rng.random(len(who)) < adherent + 0.1)
    ctrl_n = np.where(on_ctrl, rng.poisson(np.clip(adherent * 3.5, 0.3, 4) * years), 0)
    cp = np.repeat(np.arange(len(who)), ctrl_n)
    cday = c.start[who[cp]] + (rng.random(len(cp)) * (ctx.as_of - c.start[who[cp]]).astype(np.int64)).astype(np.int64) * DAY
    cage = (cday - c.birth[who[cp]]).astype(np.int64) / 365.25
    drug = np.where(rng.random(len(cp)) < 0.6, 0, np.where(cage < 15, 1, 2))
    add_prescriptions(ctx, who[cp], cday.astype("datetime64[s]") + 11 * 3600 * SECOND,
                      [RX["fluticasone"], RX["montelukast5"], RX["montelukast10"]], drug,
                      supply_days=90.0, quantity=np.where(drug == 0, 3.0, 90.0), unit="unit", dispense=0.85)
    sev = who[(severity >= 2) & (rng.random(len(who)) < 0.3)]
    when = np.maximum(c.start[sev], onset[np.searchsorted(who, sev)])
    refer(ctx, sev, when, "specialist", codes[2], c.pcp[sev], "Persistent asthma: pulmonology")


ADHD_RX = ["methylphenidate_er", "methylphenidate_er18", "lisdexamfetamine", "dexmethylphenidate", "guanfacine",
           "atomoxetine"]


def _adhd(ctx: Ctx) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    age_now = (ctx.as_of - c.birth).astype(np.int64) / 365.25
    prev = np.where(c.female, 0.045, 0.10) * ((age_now >= 6) & (age_now < 21))
    who = np.flatnonzero(rng.random(ctx.n) < prev)
    if len(who) == 0:
        return
    dx_age = rng.uniform(5.5, np.minimum(age_now[who], 17.0).clip(5.6))
    dx_day = c.birth[who] + (dx_age * 365.25).astype(np.int64) * DAY
    kind = rng.choice(3, len(who), p=[0.35, 0.1, 0.55])
    codes = [DX["adhd_inatt"], DX["adhd_hyper"], DX["adhd_comb"]]
    _problem(ctx, who, codes, kind, dx_day)
    on_med = rng.random(len(who)) < 0.7
    drug = rng.choice(len(ADHD_RX), len(who), p=[0.3, 0.15, 0.25, 0.1, 0.12, 0.08])
    rx_codes = [RX[k] for k in ADHD_RX]
    first = dx_day + rng.integers(0, 15, len(who)) * DAY
    new = on_med & (first >= c.start[who]) & (first <= ctx.as_of)
    established = on_med & (first < c.start[who])
    # new starts: monthly fills while they persist (60% through the continuation phase), prescriber follow-up
    persist_days = np.where(rng.random(len(who)) < 0.6, rng.integers(240, 420, len(who)), rng.integers(30, 200, len(who)))
    n_fills = np.where(new, persist_days // 30, 0)
    fp = np.repeat(np.arange(len(who)), n_fills)
    k = np.arange(len(fp)) - np.repeat(np.cumsum(n_fills) - n_fills, n_fills)
    fday = first[fp] + (k * 30 + rng.integers(0, 6, len(fp))) * DAY
    # established patients: 90-day fills across the window
    years = (ctx.as_of - c.start[who]).astype(np.int64) / 365.25
    n_est = np.where(established, rng.poisson(np.clip(years * 3.3, 0, None)), 0)
    ep = np.repeat(np.arange(len(who)), n_est)
    eday = c.start[who[ep]] + (rng.random(len(ep)) * (ctx.as_of - c.start[who[ep]]).astype(np.int64)).astype(np.int64) * DAY
    allp = np.concatenate([fp, ep])
    allday = np.concatenate([fday, eday])
    supply = np.concatenate([np.full(len(fp), 30.0), np.full(len(ep), 90.0)])
    ok = allday <= ctx.as_of
    allp, allday, supply = allp[ok], allday[ok], supply[ok]
    add_prescriptions(ctx, who[allp], allday.astype("datetime64[s]") + 10 * 3600 * SECOND, rx_codes, drug[allp],
                      supply_days=supply, quantity=supply, unit="tablet", provider=c.pcp[who[allp]])
    # follow-up: one visit within 30 days of starting, two more in the next nine months (CMS136)
    p_fu = sigmoid(p.logit["adhd_followup"] + 0.5 * c.propensity[who])
    n_ = len(who)
    init = new & (rng.random(n_) < p_fu)
    cont = init & (persist_days >= 210)
    visit_p = [np.flatnonzero(init), np.flatnonzero(cont & (rng.random(n_) < p_fu + 0.1)),
               np.flatnonzero(cont & (rng.random(n_) < p_fu))]
    visit_d = [first + rng.integers(10, 30, n_) * DAY, first + rng.integers(60, 150, n_) * DAY,
               first + rng.integers(150, 290, n_) * DAY]
    est_n = np.where(established, rng.poisson(years * 2.5), 0)
    sp = np.repeat(np.arange(n_), est_n)
    sday = c.start[who[sp]] + (rng.random(len(sp)) * (ctx.as_of - c.start[who[sp]]).astype(np.int64)).astype(np.int64) * DAY
    vp = np.concatenate([*visit_p, sp])
    vd = np.concatenate([visit_d[i][visit_p[i]] for i in range(3)] + [sday])
    tele = rng.random(len(vp)) < 0.1
    _visits(ctx, who[vp], vd, lambda px: (codes, kind[np.searchsorted(who, px)]),
            codes=[*OFFICE_CPT, TELEPHONE_CPT], code_idx=np.where(tele, 3, rng.choice([1, 2], len(vp))))
    r = np.flatnonzero(new & (rng.random(n_) < 0.3))
    refer(ctx, who[r], dx_day[r], "behavioral-health", codes[2], c.pcp[who[r]], "ADHD: behavioral therapy")


def _depression(ctx: Ctx) -> None:
    """Major depression in adolescents: visits with a suicide-risk assessment (CMS177), treatment."""
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    age_now = (ctx.as_of - c.birth).astype(np.int64) / 365.25
    prev = np.where(c.female, 0.06, 0.025) * ((age_now >= 12) & (age_now < 21))
    who = np.flatnonzero(rng.random(ctx.n) < prev)
    if len(who) == 0:
        return
    span = (ctx.as_of - c.start[who]).astype(np.int64)
    onset = c.start[who] + (rng.random(len(who)) * span).astype(np.int64) * DAY
    onset = np.maximum(onset, c.birth[who] + int(11.5 * 365) * DAY)
    kind = rng.choice(3, len(who), p=[0.55, 0.2, 0.25])
    codes = [DX["mdd_mod"], DX["mdd_sev"], DX["mdd_rec"]]
    remit = np.where(rng.random(len(who)) < 0.5, onset + rng.integers(180, 400, len(who)) * DAY, np.datetime64("NaT"))
    _problem(ctx, who, codes, kind, onset, abatement=remit.astype("datetime64[s]"))
    n_visits = rng.integers(2, 9, len(who))
    vp = np.repeat(np.arange(len(who)), n_visits)
    vday = onset[vp] + rng.integers(0, 300, len(vp)) * DAY
    vcodes = [*OFFICE_CPT, *PSYCH_CPT]
    pidx, start, enc = _visits(ctx, who[vp], vday, lambda px: (codes, kind[np.searchsorted(who, px)]),
                               codes=vcodes, code_idx=rng.choice([1, 2, 4, 5], len(vp)))
    sra = np.flatnonzero(rng.random(len(pidx)) < sigmoid(p.logit["suicide_risk"] + 0.3 * c.propensity[pidx]))
    add_procedures(ctx, pidx[sra], enc[sra], start[sra] + 600 * SECOND, [PROC["suicide_risk"]], np.zeros(len(sra), int))
    med = np.flatnonzero(rng.random(len(who)) < 0.5)
    n_fill = rng.integers(2, 7, len(med))
    mp = np.repeat(med, n_fill)
    k = np.arange(len(mp)) - np.repeat(np.cumsum(n_fill) - n_fill, n_fill)
    mday = onset[mp] + (7 + k * 30) * DAY
    ok = (mday <= ctx.as_of) & ctx.in_window(who[mp], mday)
    mp, mday = mp[ok], mday[ok]
    add_prescriptions(ctx, who[mp], mday.astype("datetime64[s]") + 10 * 3600 * SECOND,
                      [RX["sertraline"], RX["fluoxetine"]], (who[mp] % 2).astype(int), supply_days=30.0,
                      quantity=30.0, unit="tablet")
    r = np.flatnonzero(rng.random(len(who)) < 0.6)
    refer(ctx, who[r], onset[r], "behavioral-health", codes[0], c.pcp[who[r]], "Major depression: therapy")


def dental_care(ctx: Ctx) -> None:
    """The dental partner: oral evaluations, caries, fluoride varnish by dentists (CMS74/CMS75)."""
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    if not p.dental or len(p.dentist_ids) == 0:
        return
    age_now = (ctx.as_of - c.birth).astype(np.int64) / 365.25
    rate = np.where((age_now >= 1) & (age_now < 21), np.where(c.payer == 2, 1.3, 0.9), 0.0)
    pidx, day = _episodes(ctx, rate)
    age = _age_years(ctx, pidx, day)
    keep = age >= 1
    pidx, day, age = pidx[keep], day[keep], age[keep]
    m = len(pidx)
    dentist = p.dentist_ids[rng.integers(0, len(p.dentist_ids), m)]
    code_idx = np.where(age < 3, 2, np.where(rng.random(m) < 0.2, 1, 0))
    start, end = clinic_times(rng, day, (30, 60))
    enc = add_encounters(ctx, pidx, start, end, DENTAL_CDT, code_idx, provider=dentist)
    caries_prone = rng.random(ctx.n) < np.where(np.isin(c.payer, [0, 1, 3]), 0.32, 0.18)
    car = np.flatnonzero(caries_prone[pidx] & (rng.random(m) < 0.5))
    add_conditions(ctx, pidx[car], enc[car], start[car],
                   [DX["caries_enamel"], DX["caries_dentin"], DX["caries_smooth"]], rng.choice(3, len(car)))
    fv = np.flatnonzero(rng.random(m) < sigmoid(1.0 + 0.8 * p.quality + 0.3 * c.propensity[pidx]))
    add_procedures(ctx, pidx[fv], enc[fv], start[fv] + 1200 * SECOND, [PROC["fluoride_dental"]],
                   np.zeros(len(fv), int), dentist[fv])
