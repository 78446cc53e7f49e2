"""The codes the demo network records (and the data-entry forms offer).

Every code here is either in one of the eCQM value sets the measures use (CVX, CPT, ICD-10-CM, LOINC,
RxNorm, SNOMED CT, CDT) or in one of the network's own value sets (``EXTRA_VALUESETS``, canonical URLs
``urn:carenet:valueset:<name>``) for what the eCQMs do not cover (lead tests, developmental and autism
screening, fluoride varnish in primary care, asthma medicines ...). ``scripts/build_catalogue.py``
builds the default code catalogue from this module and the published value sets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"


@dataclass(frozen=True)
class Code:
    system: str  # short key (carenet_desktop.codes) or a full URI for systems without one
    code: str
    display: str


def _c(system: str, code: str, display: str) -> Code:
    return Code(system, code, display)


# --- encounters ----------------------------------------------------------------------------------------
# preventive visits by age band: (established, new patient)
WELL_CPT = {
    "infant": (_c("cpt", "99391", "Periodic preventive medicine, established patient; infant (age younger than 1 year)"),
               _c("cpt", "99381", "Initial preventive medicine, new patient; infant (age younger than 1 year)")),
    "early": (_c("cpt", "99392", "Periodic preventive medicine, established patient; early childhood (age 1 through 4 years)"),
              _c("cpt", "99382", "Initial preventive medicine, new patient; early childhood (age 1 through 4 years)")),
    "late": (_c("cpt", "99393", "Periodic preventive medicine, established patient; late childhood (age 5 through 11 years)"),
             _c("cpt", "99383", "Initial preventive medicine, new patient; late childhood (age 5 through 11 years)")),
    "adolescent": (_c("cpt", "99394", "Periodic preventive medicine, established patient; adolescent (age 12 through 17 years)"),
                   _c("cpt", "99384", "Initial preventive medicine, new patient; adolescent (age 12 through 17 years)")),
    "adult": (_c("cpt", "99395", "Periodic preventive medicine, established patient; 18-39 years"),
              _c("cpt", "99385", "Initial preventive medicine, new patient; 18-39 years")),
}
OFFICE_CPT = (
    _c("cpt", "99212", "Office or other outpatient visit, established patient, straightforward"),
    _c("cpt", "99213", "Office or other outpatient visit, established patient, low complexity"),
    _c("cpt", "99214", "Office or other outpatient visit, established patient, moderate complexity"),
)
TELEPHONE_CPT = _c("cpt", "99441", "Telephone evaluation and management service, 5-10 minutes")
ED_CPT = (
    _c("cpt", "99283", "Emergency department visit, low medical decision making"),
    _c("cpt", "99284", "Emergency department visit, moderate medical decision making"),
    _c("cpt", "99285", "Emergency department visit, high medical decision making"),
)
PSYCH_CPT = (
    _c("cpt", "90791", "Psychiatric diagnostic evaluation"),
    _c("cpt", "90832", "Psychotherapy, 30 minutes with patient"),
    _c("cpt", "90834", "Psychotherapy, 45 minutes with patient"),
)
DENTAL_CDT = (
    _c("cdt", "D0120", "periodic oral evaluation - established patient"),
    _c("cdt", "D0150", "comprehensive oral evaluation - new or established patient"),
    _c("cdt", "D0145", "oral evaluation for a patient under three years of age and counseling with primary caregiver"),
)
WELL_REASON = (_c("icd10cm", "Z00.129", "Encounter for routine child health examination without abnormal findings"),
               _c("icd10cm", "Z00.00", "Encounter for general adult medical examination without abnormal findings"))

# --- immunizations (CVX) -------------------------------------------------------------------------------
CVX = {
    "hepb": _c("cvx", "08", "hepatitis B vaccine, pediatric or pediatric/adolescent dosage"),
    "dtap": _c("cvx", "20", "diphtheria, tetanus toxoids and acellular pertussis vaccine"),
    "dtap_hepb_ipv": _c("cvx", "110", "DTaP-hepatitis B and poliovirus vaccine"),
    "dtap_hib_ipv": _c("cvx", "120", "DTaP-Haemophilus influenzae type b conjugate and poliovirus vaccine"),
    "ipv": _c("cvx", "10", "poliovirus vaccine, inactivated"),
    "hib_3": _c("cvx", "49", "Haemophilus influenzae type b vaccine, PRP-OMP conjugate"),
    "hib_4": _c("cvx", "48", "Haemophilus influenzae type b vaccine, PRP-T conjugate"),
    "pcv13": _c("cvx", "133", "pneumococcal conjugate vaccine, 13 valent"),
    "pcv15": _c("cvx", "215", "Pneumococcal conjugate vaccine 15-valent (PCV15)"),
    "pcv20": _c("cvx", "216", "Pneumococcal conjugate vaccine 20-valent (PCV20)"),
    "rv5": _c("cvx", "116", "rotavirus, live, pentavalent vaccine"),
    "rv1": _c("cvx", "119", "rotavirus, live, monovalent vaccine"),
    "mmr": _c("cvx", "03", "measles, mumps and rubella virus vaccine"),
    "mmrv": _c("cvx", "94", "measles, mumps, rubella, and varicella virus vaccine"),
    "var": _c("cvx", "21", "varicella virus vaccine"),
    "hepa": _c("cvx", "83", "hepatitis A vaccine, pediatric/adolescent dosage, 2 dose schedule"),
    "flu_iiv4": _c("cvx", "150", "Influenza, injectable, quadrivalent, preservative free"),
    "flu_iiv4_ped": _c("cvx", "161", "Influenza, injectable, quadrivalent, preservative free, pediatric"),
    "flu_iiv3": _c("cvx", "140", "Influenza, seasonal, injectable, preservative free"),
    "flu_laiv4": _c("cvx", "149", "influenza, live, intranasal, quadrivalent"),
    "tdap": _c("cvx", "115", "tetanus toxoid, reduced diphtheria toxoid, and acellular pertussis vaccine, adsorbed"),
    "menacwy_d": _c("cvx", "114", "meningococcal polysaccharide (groups A, C, Y and W-135) diphtheria toxoid conjugate vaccine (MCV4P)"),
    "menacwy_crm": _c("cvx", "136", "meningococcal oligosaccharide (groups A, C, Y and W-135) diphtheria toxoid conjugate vaccine (MCV4O)"),
    "hpv9": _c("cvx", "165", "Human Papillomavirus 9-valent vaccine"),
}
IMMUNIZATION_REFUSAL = _c(ACT_REASON, "PATOBJ", "patient objection")
IMMUNIZATION_MEDICAL = _c(ACT_REASON, "MEDPREC", "medical precaution")

# --- observations --------------------------------------------------------------------------------------
OBS = {
    "bmi": _c("loinc", "39156-5", "Body mass index (BMI) [Ratio]"),
    "bmi_pct": _c("loinc", "59576-9", "Body mass index (BMI) [Percentile] Per age and sex"),
    "height": _c("loinc", "8302-2", "Body height"),
    "weight": _c("loinc", "29463-7", "Body weight"),
    "phq_teen": _c("loinc", "73831-0", "Adolescent depression screening assessment"),
    "phq_adult": _c("loinc", "73832-8", "Adult depression screening assessment"),
    "epds": _c("loinc", "71354-5", "Edinburgh Postnatal Depression Scale [EPDS]"),
    "sdoh": _c("loinc", "96777-8", "Accountable health communities (AHC) health-related social needs screening (HRSN) tool"),
    "lead": _c("loinc", "5671-3", "Lead [Mass/volume] in Blood"),
    "strep": _c("loinc", "78012-2", "Streptococcus pyogenes Ag [Presence] in Throat by Rapid immunoassay"),
    "chlamydia": _c("loinc", "21613-5", "Chlamydia trachomatis DNA [Presence] in Specimen by NAA with probe detection"),
    "hcg": _c("loinc", "2106-3", "Choriogonadotropin (pregnancy test) [Presence] in Urine"),
    # instruments without a LOINC code we could verify offline: network-local codes
    "asq3": _c("local", "asq-3", "Ages and Stages Questionnaire, 3rd edition (ASQ-3), result"),
    "mchat": _c("local", "m-chat-r-f", "Modified Checklist for Autism in Toddlers, Revised with Follow-Up (M-CHAT-R/F), result"),
}
RESULT = {
    "dep_neg": _c("snomed", "428171000124102", "Depression screening negative (finding)"),
    "dep_pos": _c("snomed", "428181000124104", "Depression screening positive (finding)"),
    "neg": _c("snomed", "260385009", "Negative (qualifier value)"),
    "pos": _c("snomed", "10828004", "Positive (qualifier value)"),
}
DEPRESSION_SCREEN_DECLINED = _c("snomed", "720834000", "Depression screening declined (situation)")

# --- procedures ----------------------------------------------------------------------------------------
PROC = {
    "dev_screen": _c("cpt", "96110", "Developmental screening with scoring and documentation, per standardized instrument"),
    "caregiver_screen": _c("cpt", "96161", "Administration of caregiver-focused health risk assessment instrument"),
    "fluoride_pc": _c("cpt", "99188", "Application of topical fluoride varnish by a physician or other qualified health care professional"),
    "fluoride_dental": _c("cdt", "D1206", "topical application of fluoride varnish"),
    "vision_acuity": _c("cpt", "99173", "Screening test of visual acuity, quantitative, bilateral"),
    "vision_instrument": _c("cpt", "99177", "Instrument-based ocular screening (eg, photoscreening, automated-refraction), bilateral; with on-site analysis"),
    "nutrition": _c("snomed", "11816003", "Diet education (procedure)"),
    "nutrition_mnt": _c("cpt", "97802", "Medical nutrition therapy; initial assessment and intervention, individual, each 15 minutes"),
    "activity": _c("snomed", "435551000124105", "Counseling about physical activity (procedure)"),
    "activity_edu": _c("snomed", "304507003", "Exercise education (procedure)"),
    "suicide_risk": _c("snomed", "225337009", "Suicide risk assessment (procedure)"),
    "psychotherapy": _c("snomed", "18512000", "Individual psychotherapy (regime/therapy)"),
}
SERVICE = {
    "ref_child_psych": _c("snomed", "306291008", "Referral to child and adolescent psychiatrist (procedure)"),
    "ref_psychologist": _c("snomed", "308459004", "Referral to psychologist (procedure)"),
}

# --- conditions (ICD-10-CM) ----------------------------------------------------------------------------
DX = {
    "uri": _c("icd10cm", "J06.9", "Acute upper respiratory infection, unspecified"),
    "cold": _c("icd10cm", "J00", "Acute nasopharyngitis [common cold]"),
    "pharyngitis": _c("icd10cm", "J02.9", "Acute pharyngitis, unspecified"),
    "strep_throat": _c("icd10cm", "J02.0", "Streptococcal pharyngitis"),
    "tonsillitis": _c("icd10cm", "J03.90", "Acute tonsillitis, unspecified"),
    "otitis": _c("icd10cm", "H66.90", "Otitis media, unspecified, unspecified ear"),
    "sinusitis": _c("icd10cm", "J01.90", "Acute sinusitis, unspecified"),
    "fever": _c("icd10cm", "R50.9", "Fever, unspecified"),
    "gastroenteritis": _c("icd10cm", "K52.9", "Noninfective gastroenteritis and colitis, unspecified"),
    "eczema": _c("icd10cm", "L20.9", "Atopic dermatitis, unspecified"),
    "conjunctivitis": _c("icd10cm", "H10.9", "Unspecified conjunctivitis"),
    "abdominal_pain": _c("icd10cm", "R10.9", "Unspecified abdominal pain"),
    "viral": _c("icd10cm", "B34.9", "Viral infection, unspecified"),
    "head_injury": _c("icd10cm", "S09.90XA", "Unspecified injury of head, initial encounter"),
    "asthma_exac": _c("icd10cm", "J45.901", "Unspecified asthma with (acute) exacerbation"),
    "asthma_int": _c("icd10cm", "J45.20", "Mild intermittent asthma, uncomplicated"),
    "asthma_mild": _c("icd10cm", "J45.30", "Mild persistent asthma, uncomplicated"),
    "asthma_mod": _c("icd10cm", "J45.40", "Moderate persistent asthma, uncomplicated"),
    "asthma_sev": _c("icd10cm", "J45.50", "Severe persistent asthma, uncomplicated"),
    "adhd_inatt": _c("icd10cm", "F90.0", "Attention-deficit hyperactivity disorder, predominantly inattentive type"),
    "adhd_hyper": _c("icd10cm", "F90.1", "Attention-deficit hyperactivity disorder, predominantly hyperactive type"),
    "adhd_comb": _c("icd10cm", "F90.2", "Attention-deficit hyperactivity disorder, combined type"),
    "mdd_mod": _c("icd10cm", "F32.1", "Major depressive disorder, single episode, moderate"),
    "mdd_sev": _c("icd10cm", "F32.2", "Major depressive disorder, single episode, severe without psychotic features"),
    "mdd_rec": _c("icd10cm", "F33.1", "Major depressive disorder, recurrent, moderate"),
    "obesity": _c("icd10cm", "E66.9", "Obesity, unspecified"),
    "bmi_95": _c("icd10cm", "Z68.54", "Body mass index [BMI] pediatric, greater than or equal to 95th percentile for age"),
    "caries_enamel": _c("icd10cm", "K02.51", "Dental caries on pit and fissure surface limited to enamel"),
    "caries_dentin": _c("icd10cm", "K02.52", "Dental caries on pit and fissure surface penetrating into dentin"),
    "caries_smooth": _c("icd10cm", "K02.62", "Dental caries on smooth surface penetrating into dentin"),
    "sexual_risk": _c("icd10cm", "Z72.51", "High risk heterosexual behavior"),
    # referral reasons
    "dev_delay": _c("icd10cm", "R62.50", "Unspecified lack of expected normal physiological development in childhood"),
    "speech_delay": _c("icd10cm", "F80.9", "Developmental disorder of speech and language, unspecified"),
    "maternal_dep_screen": _c("icd10cm", "Z13.32", "Encounter for screening for maternal depression"),
    "depression": _c("icd10cm", "F32.A", "Depression, unspecified"),
    "food": _c("icd10cm", "Z59.41", "Food insecurity"),
    "housing": _c("icd10cm", "Z59.1", "Inadequate housing"),
    "low_income": _c("icd10cm", "Z59.6", "Low income"),
    "murmur": _c("icd10cm", "R01.1", "Cardiac murmur, unspecified"),
}

# --- medications (RxNorm) ------------------------------------------------------------------------------
RX = {
    "amox_susp": _c("rxnorm", "313797", "amoxicillin 25 MG/ML Oral Suspension"),
    "amox_cap": _c("rxnorm", "308191", "amoxicillin 500 MG Oral Capsule"),
    "azithro_susp": _c("rxnorm", "141963", "azithromycin 40 MG/ML Oral Suspension"),
    "cefdinir_susp": _c("rxnorm", "309054", "cefdinir 25 MG/ML Oral Suspension"),
    "methylphenidate_er": _c("rxnorm", "1091185", "24 HR methylphenidate hydrochloride 36 MG Extended Release Oral Tablet"),
    "methylphenidate_er18": _c("rxnorm", "1091155", "24 HR methylphenidate hydrochloride 18 MG Extended Release Oral Tablet"),
    "lisdexamfetamine": _c("rxnorm", "854834", "lisdexamfetamine dimesylate 30 MG Oral Capsule"),
    "dexmethylphenidate": _c("rxnorm", "899461", "24 HR dexmethylphenidate hydrochloride 15 MG Extended Release Oral Capsule"),
    "guanfacine": _c("rxnorm", "862006", "24 HR guanfacine 1 MG Extended Release Oral Tablet"),
    "atomoxetine": _c("rxnorm", "349593", "atomoxetine 25 MG Oral Capsule"),
    "albuterol": _c("rxnorm", "2123076", "NDA020983 200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler"),
    "fluticasone": _c("rxnorm", "895994", "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler"),
    "montelukast5": _c("rxnorm", "242438", "montelukast 5 MG Chewable Tablet"),
    "montelukast10": _c("rxnorm", "200224", "montelukast 10 MG Oral Tablet"),
    "sertraline": _c("rxnorm", "312941", "sertraline 50 MG Oral Tablet"),
    "fluoxetine": _c("rxnorm", "310385", "fluoxetine 20 MG Oral Capsule"),
    "ocp": _c("rxnorm", "240128", "ethinyl estradiol 0.035 MG / norgestimate 0.25 MG Oral Tablet"),
    "depo": _c("rxnorm", "1000126", "1 ML medroxyprogesterone acetate 150 MG/ML Injection"),
}

# --- the network's own value sets ---------------------------------------------------------------------
EXTRA_VALUESETS: dict[str, tuple[str, tuple[Code, ...]]] = {
    "lead-test": ("Blood lead test", (OBS["lead"], _c("loinc", "77307-7", "Lead [Mass/volume] in Venous blood"),
                                       _c("loinc", "10368-9", "Lead [Mass/volume] in Capillary blood"))),
    "developmental-screening": ("Developmental screening with a standardized instrument",
                                (PROC["dev_screen"], OBS["asq3"])),
    "autism-screening": ("Autism screening (M-CHAT-R/F)", (OBS["mchat"],)),
    "maternal-depression-screening": ("Maternal depression screening at infant visits",
                                      (OBS["epds"], PROC["caregiver_screen"])),
    "social-needs-screening": ("Health-related social needs screening", (OBS["sdoh"],)),
    "fluoride-varnish": ("Fluoride varnish application (primary care or dental)",
                         (PROC["fluoride_pc"], PROC["fluoride_dental"])),
    "well-child-visit": ("Well-child (preventive) visit",
                         tuple(c for pair in WELL_CPT.values() for c in pair)),
    "meningococcal-vaccine": ("Meningococcal conjugate vaccine (MenACWY)", (CVX["menacwy_d"], CVX["menacwy_crm"])),
    "tdap-vaccine": ("Tdap vaccine", (CVX["tdap"],)),
    "hpv-vaccine": ("Human papillomavirus vaccine", (CVX["hpv9"],)),
    "influenza-vaccine-current": ("Influenza vaccine (current trivalent formulation)", (CVX["flu_iiv3"],)),
    "asthma": ("Asthma", (DX["asthma_int"], DX["asthma_mild"], DX["asthma_mod"], DX["asthma_sev"], DX["asthma_exac"])),
    "asthma-controller-medications": ("Asthma controller medications",
                                      (RX["fluticasone"], RX["montelukast5"], RX["montelukast10"])),
    "asthma-reliever-medications": ("Asthma reliever medications", (RX["albuterol"],)),
    "obesity": ("Obesity", (DX["obesity"], DX["bmi_95"])),
    "emergency-department-visit": ("Emergency department visit", ED_CPT),
    "dental-visit": ("Dental evaluation", DENTAL_CDT),
    "acute-diagnoses": ("Common acute pediatric diagnoses",
                        tuple(DX[k] for k in ("otitis", "sinusitis", "fever", "gastroenteritis", "eczema",
                                              "conjunctivitis", "abdominal_pain", "viral", "head_injury"))),
    "referral-reasons": ("Referral reasons (development, behavioral health, social needs)",
                         tuple(DX[k] for k in ("dev_delay", "speech_delay", "maternal_dep_screen", "depression",
                                               "food", "housing", "low_income", "murmur"))),
    "well-visit-reason": ("Routine child health examination", WELL_REASON),
    "screening-results": ("Screening and test results", tuple(RESULT.values())),
    "depression-screening-declined": ("Depression screening declined", (DEPRESSION_SCREEN_DECLINED,)),
    "immunization-not-given-reason": ("Why a vaccine was not given", (IMMUNIZATION_REFUSAL, IMMUNIZATION_MEDICAL)),
    "pregnancy-test": ("Pregnancy test", (OBS["hcg"],)),
    "psychiatric-visit": ("Behavioral health visit", PSYCH_CPT),
    # codes the eCQMs reference directly (CQL 'code' declarations) rather than through a value set
    "vital-signs-growth": ("Height, weight, BMI and BMI percentile",
                           (OBS["height"], OBS["weight"], OBS["bmi"], OBS["bmi_pct"])),
    "depression-screening": ("Depression screening assessment (adolescent, adult)", (OBS["phq_teen"], OBS["phq_adult"])),
    "suicide-risk-assessment": ("Suicide risk assessment", (PROC["suicide_risk"],)),
    "rotavirus-vaccine-2-dose": ("Rotavirus vaccine, 2-dose schedule", (CVX["rv1"],)),
}

EXTRA_URL_PREFIX = "urn:carenet:valueset:"


def all_codes() -> Iterator[Code]:
    """Every code this module defines (the demo uses a subset; forms may offer all)."""
    seen: set[tuple[str, str]] = set()
    pools: list[object] = [WELL_CPT, OFFICE_CPT, ED_CPT, PSYCH_CPT, DENTAL_CDT, WELL_REASON, CVX, OBS, RESULT,
                           PROC, SERVICE, DX, RX, (TELEPHONE_CPT, IMMUNIZATION_REFUSAL, IMMUNIZATION_MEDICAL,
                                                   DEPRESSION_SCREEN_DECLINED)]
    for _, (_, codes) in EXTRA_VALUESETS.items():
        pools.append(codes)
    for pool in pools:
        values = pool.values() if isinstance(pool, dict) else pool
        for item in values:  # type: ignore[attr-defined]
            for code in item if isinstance(item, tuple) else (item,):
                key = (code.system, code.code)
                if key not in seen:
                    seen.add(key)
                    yield code
