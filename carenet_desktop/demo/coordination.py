"""Referral loops (placed -> scheduled -> seen -> report -> closed, or lost) and coordination work."""

from __future__ import annotations

import numpy as np

from . import names
from .events import Ctx
from .frames import DAY, sigmoid

# base logit that a referral of this type gets scheduled, and typical days to the appointment
REFERRAL_TYPES = {
    "help-me-grow": (1.4, 10), "early-intervention": (1.1, 25), "behavioral-health": (0.5, 35),
    "specialist": (1.5, 30), "community-service": (0.4, 10), "dental": (1.0, 20),
}


def add_referrals(ctx: Ctx) -> None:
    rng, c, p = ctx.rng, ctx.cohort, ctx.practice
    if not ctx.referrals:
        return
    trig = ctx.referrals
    pidx = np.concatenate([t["pidx"] for t in trig])
    placed = np.concatenate([t["placed"] for t in trig])
    kind = np.concatenate([np.full(len(t["pidx"]), t["type"], dtype=object) for t in trig])
    rsys = np.concatenate([np.full(len(t["pidx"]), t["reason_system"], dtype=object) for t in trig])
    rcode = np.concatenate([np.full(len(t["pidx"]), t["reason_code"], dtype=object) for t in trig])
    rtext = np.concatenate([np.full(len(t["pidx"]), t["reason_text"], dtype=object) for t in trig])
    prov = np.concatenate([t["provider"] for t in trig])
    keep = (placed <= ctx.as_of) & (placed >= c.start[pidx])
    pidx, placed, kind, rsys, rcode, rtext, prov = (a[keep] for a in (pidx, placed, kind, rsys, rcode, rtext, prov))
    m = len(pidx)
    if m == 0:
        return
    base = np.array([REFERRAL_TYPES[k][0] for k in kind])
    wait = np.array([REFERRAL_TYPES[k][1] for k in kind])
    prop = c.propensity[pidx]
    loop = p.logit["referral_loop"]
    scheduled = rng.random(m) < sigmoid(base + 0.5 * loop + 0.6 * prop)
    seen = scheduled & (rng.random(m) < sigmoid(1.6 + 0.6 * prop))
    report = seen & (rng.random(m) < sigmoid(0.9 + 0.8 * loop))
    # most loops close within a week of the report; the rest are closed late (weeks later), so only
    # recent reports wait on the board, as in a practice that works its list
    closed = report
    late_close = rng.random(m) >= 0.92
    d_sched = placed + (2 + rng.gamma(2.0, 4.0, m)).astype(np.int64) * DAY
    d_seen = d_sched + (rng.gamma(2.0, wait / 2.0)).astype(np.int64) * DAY
    d_report = d_seen + (1 + rng.gamma(2.0, 5.0, m)).astype(np.int64) * DAY
    d_closed = d_report + np.where(late_close, rng.integers(15, 60, m), rng.integers(0, 8, m)) * DAY
    nat = np.datetime64("NaT", "D")

    def upto(flag: np.ndarray, when: np.ndarray) -> np.ndarray:
        return np.where(flag & (when <= ctx.as_of), when, nat)

    s_on, seen_on, rep_on, closed_on = upto(scheduled, d_sched), upto(seen, d_seen), upto(report, d_report), upto(closed, d_closed)
    # not completed: lost to follow-up after about three months of trying
    stalled = ~closed
    d_lost = placed + (90 + rng.integers(0, 45, m)) * DAY
    lost = stalled & (d_lost <= ctx.as_of) & np.isnat(rep_on)
    lost_on = np.where(lost, d_lost, nat)
    status = np.select(
        [~np.isnat(closed_on), lost, ~np.isnat(rep_on), ~np.isnat(seen_on), ~np.isnat(s_on)],
        ["closed", "lost", "report-received", "seen", "scheduled"], "placed").astype(object)
    # a lost referral keeps no appointment that had not happened before it was given up
    s_on = np.where(lost & (s_on > d_lost), nat, s_on)
    seen_on = np.where(lost & (seen_on > d_lost), nat, seen_on)
    dest = np.empty(m, dtype=object)
    for k, options in names.REFERRAL_DESTINATIONS.items():
        sel = kind == k
        dest[sel] = np.array(options, dtype=object)[rng.integers(0, len(options), sel.sum())]
    lost_reason = np.where(lost, np.array(names.LOST_REASONS, dtype=object)[rng.integers(0, len(names.LOST_REASONS), m)],  # type: ignore[call-overload]
                           None).astype(object)
    ids = ctx.tables.ids("referral", m)
    stamp = ctx.stamp
    ctx.tables.add("referral", {
        "id": ids, "patient_id": c.ids[pidx], "provider_id": prov, "referral_type": kind, "reason_system": rsys,
        "reason_code": rcode, "reason_text": rtext, "destination": dest, "status": status, "placed_on": placed,
        "scheduled_on": s_on, "seen_on": seen_on, "report_received_on": rep_on, "closed_on": closed_on,
        "lost_on": lost_on, "lost_reason": lost_reason, "version": 1, "import_id": ctx.import_id,
        "source_id": ctx.source_ids("ref-", ids), "created_at": stamp, "updated_at": stamp,
    })
    # coordination activities: outreach, navigation, interpreters ... for about half of the referrals
    n_act = np.where(rng.random(m) < np.where(np.isin(kind, ["help-me-grow", "community-service"]), 0.8, 0.4),
                     rng.integers(1, 4, m), 0)
    ap = np.repeat(np.arange(m), n_act)
    end = np.where(~np.isnat(closed_on), closed_on, np.where(lost, lost_on, ctx.as_of))
    span = (end[ap] - placed[ap]).astype(np.int64).clip(0)
    aday = placed[ap] + (rng.random(len(ap)) * span).astype(np.int64) * DAY
    atype = np.array(names.CARE_ACTIVITIES, dtype=object)[rng.choice(len(names.CARE_ACTIVITIES), len(ap),
                                                                    p=[0.45, 0.3, 0.1, 0.08, 0.07])]
    atype = np.where((c.lang[pidx[ap]] != 0) & (rng.random(len(ap)) < 0.3), "interpreter-arranged", atype)
    aids = ctx.tables.ids("care_activity", len(ap))
    ctx.tables.add("care_activity", {
        "id": aids, "patient_id": c.ids[pidx[ap]], "practice_id": p.id, "referral_id": ids[ap],
        "activity_type": atype.astype(object), "activity_date": aday, "minutes": rng.integers(1, 10, len(ap)) * 5,
        "performed_by": np.array(names.COORDINATORS, dtype=object)[rng.integers(0, len(names.COORDINATORS), len(ap))],
        "import_id": ctx.import_id, "source_id": ctx.source_ids("act-", aids), "created_at": stamp, "updated_at": stamp,
    })
