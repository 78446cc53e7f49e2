"""A hand-made store of a few patients whose records and measure statuses are known (patients screen tests).

Practice HAND, measurement year 2026, lead screening (LSC: a blood lead test by the 2nd birthday):

* Rivera, Mateo (2024-03-14): lead test 2025-09-01 -> LSC met; a visit, MMR not given (patient objection),
  an ASQ-3 screening, a diagnosis, a prescription, a Help Me Grow referral with its loop, an outreach call.
* Rivera, Sofia (2024-05-20): no lead test -> LSC overdue on 2026-06-30 (due by her 2nd birthday), due on
  2026-04-01.
* Chen, Wei (2015-03-14, same day and month as Mateo): LSC not applicable (not turning 2).
* Okafor, Ada (2024-08-01, died 2026-02-01): LSC excluded.

Practice OTHER holds one more Rivera (to check the practice filter).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from carenet_desktop.models import (
    CareActivity,
    Condition,
    Encounter,
    Immunization,
    MedicationRequest,
    Network,
    Observation,
    Patient,
    Practice,
    Provider,
    Referral,
)
from carenet_desktop.models.database import Database
from carenet_desktop.services.context import ServiceContext
from carenet_desktop.services.valuesets import ensure_default_catalogue

AS_OF = dt.date(2026, 6, 30)


@dataclass(frozen=True)
class HandMade:
    practice_id: int
    other_practice_id: int
    mateo: int
    sofia: int
    wei: int
    ada: int
    other_rivera: int


def _at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour)


def build_hand_made(db: Database) -> HandMade:
    ensure_default_catalogue(ServiceContext(db))
    with db.session() as s:
        network = Network(name="Hand-made network")
        s.add(network)
        s.flush()
        hand = Practice(code="HAND", name="Hand Street Pediatrics", network_id=network.id)
        other = Practice(code="OTHER", name="Other Town Clinic", network_id=network.id)
        s.add_all([hand, other])
        s.flush()
        pcp = Provider(practice_id=hand.id, given_name="Ana", family_name="Lopez", credentials="MD", npi="1234567893")
        s.add(pcp)
        s.flush()

        def patient(practice: Practice, mrn: str, family: str, given: str, born: str, **more: object) -> Patient:
            p = Patient(practice_id=practice.id, mrn=mrn, family_name=family, given_name=given,
                        birth_date=dt.date.fromisoformat(born), **more)
            s.add(p)
            s.flush()
            return p

        mateo = patient(hand, "H-1001", "Rivera", "Mateo", "2024-03-14", sex="male", race="white", ethnicity="hispanic",
                        language="es", payer="medicaid", zip_code="12345", pcp_provider_id=pcp.id)
        sofia = patient(hand, "H-1002", "Rivera", "Sofia", "2024-05-20", sex="female", payer="commercial")
        wei = patient(hand, "H-2001", "Chen", "Wei", "2015-03-14", sex="male", payer="chip")
        ada = patient(hand, "H-3001", "Okafor", "Ada", "2024-08-01", sex="female",
                      deceased_date=dt.date(2026, 2, 1))
        other_rivera = patient(other, "O-1", "Rivera", "Lucia", "2019-03-14", sex="female")

        visit = Encounter(patient_id=mateo.id, status="finished", class_code="AMB", code_system="cpt", code="99392",
                          display="Periodic preventive medicine, established patient; early childhood",
                          start=_at("2025-09-01"), end=_at("2025-09-01", 11), provider_id=pcp.id)
        s.add(visit)
        s.flush()
        s.add_all([
            Observation(patient_id=mateo.id, status="final", category="laboratory", code_system="loinc",
                        code="5671-3", display="Lead [Mass/volume] in Blood", effective_start=_at("2025-09-01"),
                        value_num=2.0, value_unit="ug/dL", encounter_id=visit.id),
            Observation(patient_id=mateo.id, status="final", category="survey", code_system="local", code="asq-3",
                        display="Ages and Stages Questionnaire, 3rd edition (ASQ-3), result",
                        effective_start=_at("2025-03-20"), value_num=0.0, interpretation="negative"),
            Immunization(patient_id=mateo.id, status="not-done", code_system="cvx", code="03",
                         display="measles, mumps and rubella virus vaccine", occurrence=_at("2025-05-01"),
                         status_reason_system="http://terminology.hl7.org/CodeSystem/v3-ActReason",
                         status_reason_code="PATOBJ"),
            Immunization(patient_id=mateo.id, status="completed", code_system="cvx", code="10",
                         display="poliovirus vaccine, inactivated", occurrence=_at("2024-05-15")),
            Condition(patient_id=mateo.id, code_system="icd10cm", code="J06.9",
                      display="Acute upper respiratory infection, unspecified", clinical_status="resolved",
                      verification_status="confirmed", onset=_at("2025-11-03"), abatement=_at("2025-11-10")),
            MedicationRequest(patient_id=mateo.id, status="completed", intent="order", code_system="rxnorm",
                              code="313797", display="amoxicillin 25 MG/ML Oral Suspension",
                              authored_on=_at("2025-11-03"), supply_days=10.0, dose_quantity=5.0, dose_unit="mL"),
        ])
        referral = Referral(patient_id=mateo.id, referral_type="help-me-grow", destination="Help Me Grow line",
                            reason_text="Speech delay concern", status="closed", placed_on=dt.date(2025, 6, 1),
                            scheduled_on=dt.date(2025, 6, 10), seen_on=dt.date(2025, 6, 20),
                            report_received_on=dt.date(2025, 6, 25), closed_on=dt.date(2025, 6, 30))
        s.add(referral)
        s.flush()
        s.add(CareActivity(patient_id=mateo.id, practice_id=hand.id, referral_id=referral.id,
                           activity_type="outreach-call", activity_date=dt.date(2025, 6, 5), minutes=15,
                           performed_by="K. Okafor, MSW"))
        return HandMade(hand.id, other.id, mateo.id, sofia.id, wei.id, ada.id, other_rivera.id)

