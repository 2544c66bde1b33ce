#!/usr/bin/env python3
"""Write a realistic synthetic regcat catalogue of N variables, for benchmarks.

    python bench/gen_catalogue.py N OUTDIR [--seed S] [--schema-errors K] [--ref-errors K]

The catalogue has ~N/2000 registers (at least 2), each with 5-20 forms; variables have
Norwegian/English labels built from a small list of real clinical terms, datatypes in
realistic proportions (~40 % coded with a register-local value set of 2-8 codes,
integers and decimals with UCUM units and limits, dates limited by `today`, strings,
booleans, identifiers), ~10 % carry codings with valid codes (ICD-10 WHO 2019,
SNOMED CT ids with a correct Verhoeff check digit, ATC, NCSP), and many have help
texts, definitions, valid_from dates, sub-questions (`activated_by`) and replaced
variables (`superseded_by`), all of whose references resolve.

Injected errors, each in a different variable that nothing else refers to:

* `--schema-errors K`: an unknown datatype, an impossible date, a missing label
  (cycled in that order). Both `regcat validate` and `linkml-validate` must see these.
* `--ref-errors K`: an unknown form, an unknown value set, `superseded_by` a missing
  variable (cycled). Only regcat checks references, so only it should see these.

OUTDIR/expected-errors.json lists them (file, variable id, kind, the regcat rule and
the variable's index in the file's `variables` list, which is how linkml-validate
points at it). The output is the same for the same arguments. Existing
`OUTDIR/registers/*.yaml` files are removed first, so a smaller catalogue written
over a larger one leaves no strays.
"""

# The data tables below keep one entry per line, however long.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from regcat.generated.model import Variable
from regcat.io import dump_yaml

# Same content as tests/conftest.py's CODESYSTEMS (the test checks they agree).
CODESYSTEMS = {
    "code_systems": [
        {"id": "ICD10", "name": {"nb": "ICD-10", "en": "ICD-10"}},
        {"id": "SCTID", "name": {"nb": "SNOMED CT", "en": "SNOMED CT"}},
        {"id": "NCSP", "name": {"nb": "NCSP", "en": "NCSP"}},
        {"id": "ATC", "name": {"nb": "ATC", "en": "ATC"}},
    ]
}

VARIABLES_PER_REGISTER = 2000

# --- registers and forms ------------------------------------------------------------

# (id, Norwegian name, English name, platform)
REGISTERS = [
    ("noric", "Norsk register for invasiv kardiologi", "Norwegian Registry for Invasive Cardiology", "openqreg"),
    ("hjerteinfarkt", "Norsk hjerteinfarktregister", "Norwegian Myocardial Infarction Register", "mrs"),
    ("hjertesvikt", "Norsk hjertesviktregister", "Norwegian Heart Failure Registry", "mrs"),
    ("hjerneslag", "Norsk hjerneslagregister", "Norwegian Stroke Register", "mrs"),
    ("ablanor", "Nasjonalt register over ablasjonsbehandling", "Norwegian Ablation Registry", "openqreg"),
    ("norvas", "Norsk vaskulittregister", "Norwegian Vasculitis Registry", "mrs"),
    ("norkar", "Norsk karkirurgisk register", "Norwegian Registry for Vascular Surgery", "own"),
    ("diabetes_voksne", "Norsk diabetesregister for voksne", "Norwegian Diabetes Register for Adults", "own"),
    ("barnediabetes", "Barnediabetesregisteret", "Norwegian Childhood Diabetes Registry", "own"),
    ("leddprotese", "Nasjonalt register for leddproteser", "Norwegian Arthroplasty Register", "own"),
    ("hoftebrudd", "Nasjonalt hoftebruddregister", "Norwegian Hip Fracture Register", "own"),
    ("korsband", "Nasjonalt korsbåndregister", "Norwegian Knee Ligament Register", "own"),
    ("nkr_rygg", "Nasjonalt kvalitetsregister for ryggkirurgi", "Norwegian Spine Surgery Registry", "own"),
    ("ms", "Norsk MS-register og biobank", "Norwegian MS Registry and Biobank", "mrs"),
    ("nyre", "Norsk nyreregister", "Norwegian Renal Registry", "mrs"),
    ("intensiv", "Norsk intensiv- og pandemiregister", "Norwegian Intensive Care and Pandemic Registry", "own"),
    ("traume", "Nasjonalt traumeregister", "Norwegian Trauma Registry", "mrs"),
    ("hjertestans", "Norsk hjertestansregister", "Norwegian Cardiac Arrest Registry", "mrs"),
    ("brystkreft", "Nasjonalt kvalitetsregister for brystkreft", "Norwegian Breast Cancer Registry", "other"),
    ("tykktarmskreft", "Nasjonalt kvalitetsregister for tykk- og endetarmskreft", "Norwegian Colorectal Cancer Registry", "other"),
    ("prostatakreft", "Nasjonalt kvalitetsregister for prostatakreft", "Norwegian Prostate Cancer Registry", "other"),
    ("lungekreft", "Nasjonalt kvalitetsregister for lungekreft", "Norwegian Lung Cancer Registry", "other"),
    ("norgast", "Norsk register for gastrokirurgi", "Norwegian Registry for Gastrointestinal Surgery", "openqreg"),
    ("norartritt", "Norsk kvalitetsregister for artrittsykdommer", "Norwegian Arthritis Registry", "mrs"),
    ("cerebral_parese", "Cerebral pareseregisteret i Norge", "Cerebral Palsy Register of Norway", "mrs"),
    ("kols", "Nasjonalt kvalitetsregister for KOLS", "Norwegian COPD Registry", "mrs"),
]  # fmt: skip

OWNERS = [
    "Helse Bergen HF",
    "St. Olavs hospital HF",
    "Oslo universitetssykehus HF",
    "Universitetssykehuset Nord-Norge HF",
    "Stavanger universitetssjukehus",
    "Helse Møre og Romsdal HF",
]

# (id, Norwegian name, English name)
FORMS = [
    ("basis", "Basisskjema", "Baseline form"),
    ("innleggelse", "Innleggelse", "Admission"),
    ("utskrivelse", "Utskrivelse", "Discharge"),
    ("angio_pci", "Angio+PCI", "Angiography+PCI"),
    ("operasjon", "Operasjonsskjema", "Surgery form"),
    ("komplikasjoner", "Komplikasjoner", "Complications"),
    ("medikamenter", "Medikamenter", "Medication"),
    ("lab", "Laboratorieprøver", "Laboratory tests"),
    ("ekko", "Ekkokardiografi", "Echocardiography"),
    ("bildediagnostikk", "Bildediagnostikk", "Imaging"),
    ("oppfolging_3m", "Oppfølging 3 måneder", "3-month follow-up"),
    ("oppfolging_12m", "Oppfølging 12 måneder", "12-month follow-up"),
    ("poliklinikk", "Poliklinisk kontroll", "Outpatient follow-up"),
    ("prom_rand12", "RAND-12 pasientskjema", "RAND-12 patient form"),
    ("prom_eq5d", "EQ-5D-5L pasientskjema", "EQ-5D-5L patient form"),
    ("henvisning", "Henvisning", "Referral"),
    ("rehabilitering", "Rehabilitering", "Rehabilitation"),
    ("samtykke", "Samtykke", "Consent"),
    ("dod", "Død", "Death"),
    ("biobank", "Biobank", "Biobank"),
    ("pasientskjema", "Pasientskjema", "Patient questionnaire"),
]

# --- value sets -----------------------------------------------------------------------

# key -> (name nb, [(code, nb, en, meaning or None), ...]); 2-8 codes each.
VALUE_SETS = {
    "janei": ("Ja/Nei", [("1", "Ja", "Yes", "SCTID:373066001"), ("0", "Nei", "No", "SCTID:373067005")]),
    "janeiukjent": (
        "Ja/Nei/Ukjent",
        [("1", "Ja", "Yes", None), ("0", "Nei", "No", None), ("9", "Ukjent", "Unknown", "SCTID:261665006")],
    ),
    "royk": (
        "Røykestatus",
        [
            ("1", "Aldri røykt", "Never smoked", "SCTID:266919005"),
            ("2", "Tidligere røyker", "Ex-smoker", "SCTID:8517006"),
            ("3", "Røyker", "Current smoker", "SCTID:77176002"),
            ("9", "Ukjent", "Unknown", None),
        ],
    ),
    "nyha": (
        "NYHA-klasse",
        [
            ("1", "NYHA I", "NYHA I", None),
            ("2", "NYHA II", "NYHA II", None),
            ("3", "NYHA III", "NYHA III", None),
            ("4", "NYHA IV", "NYHA IV", None),
        ],
    ),
    "kjonn": ("Kjønn", [("1", "Mann", "Male", None), ("2", "Kvinne", "Female", None), ("9", "Ukjent", "Unknown", None)]),
    "infarkttype": (
        "Infarkttype",
        [
            ("1", "STEMI", "STEMI", "ICD10:I21.3"),
            ("2", "NSTEMI", "NSTEMI", "ICD10:I21.4"),
            ("3", "Ustabil angina", "Unstable angina", "ICD10:I20.0"),
        ],
    ),
    "diabetestype": (
        "Diabetestype",
        [
            ("1", "Type 1-diabetes", "Type 1 diabetes", "ICD10:E10.9"),
            ("2", "Type 2-diabetes", "Type 2 diabetes", "ICD10:E11.9"),
            ("3", "Annen diabetes", "Other diabetes", "ICD10:E13.9"),
            ("9", "Ukjent", "Unknown", None),
        ],
    ),
    "flimmertype": (
        "Type atrieflimmer",
        [
            ("1", "Paroksysmal", "Paroxysmal", "ICD10:I48.0"),
            ("2", "Persisterende", "Persistent", "ICD10:I48.1"),
            ("3", "Permanent", "Permanent", "ICD10:I48.2"),
        ],
    ),
    "utskrevet": (
        "Utskrevet til",
        [
            ("1", "Hjem", "Home", None),
            ("2", "Annet sykehus", "Other hospital", None),
            ("3", "Sykehjem", "Nursing home", None),
            ("4", "Rehabiliteringsinstitusjon", "Rehabilitation unit", None),
            ("5", "Død", "Dead", None),
        ],
    ),
    "hastegrad": (
        "Hastegrad",
        [("1", "Elektiv", "Elective", None), ("2", "Subakutt", "Subacute", None), ("3", "Akutt", "Acute", None)],
    ),
    "asa": (
        "ASA-klassifikasjon",
        [
            ("1", "ASA I - frisk", "ASA I - healthy", None),
            ("2", "ASA II - lett systemsykdom", "ASA II - mild systemic disease", None),
            ("3", "ASA III - alvorlig systemsykdom", "ASA III - severe systemic disease", None),
            ("4", "ASA IV - livstruende sykdom", "ASA IV - life-threatening disease", None),
            ("5", "ASA V - moribund", "ASA V - moribund", None),
        ],
    ),
    "mrs": (
        "Modifisert Rankin-skala",
        [
            ("0", "Ingen symptomer", "No symptoms", None),
            ("1", "Ingen betydelig funksjonshemming", "No significant disability", None),
            ("2", "Lett funksjonshemming", "Slight disability", None),
            ("3", "Moderat funksjonshemming", "Moderate disability", None),
            ("4", "Moderat alvorlig funksjonshemming", "Moderately severe disability", None),
            ("5", "Alvorlig funksjonshemming", "Severe disability", None),
            ("6", "Død", "Dead", None),
        ],
    ),
    "helse5": (
        "Egenvurdert helse",
        [
            ("1", "Utmerket", "Excellent", None),
            ("2", "Meget god", "Very good", None),
            ("3", "God", "Good", None),
            ("4", "Nokså god", "Fair", None),
            ("5", "Dårlig", "Poor", None),
        ],
    ),
    "eq5d": (
        "EQ-5D-5L nivå",
        [
            ("1", "Ingen problemer", "No problems", None),
            ("2", "Litt problemer", "Slight problems", None),
            ("3", "Middels store problemer", "Moderate problems", None),
            ("4", "Store problemer", "Severe problems", None),
            ("5", "Ute av stand til", "Unable to", None),
        ],
    ),
    "sivilstatus": (
        "Sivilstatus",
        [
            ("1", "Gift", "Married", None),
            ("2", "Samboer", "Cohabiting", None),
            ("3", "Ugift", "Single", None),
            ("4", "Skilt", "Divorced", None),
            ("5", "Enke/enkemann", "Widowed", None),
            ("9", "Ukjent", "Unknown", None),
        ],
    ),
    "utdanning": (
        "Utdanning",
        [
            ("1", "Grunnskole", "Primary school", None),
            ("2", "Videregående skole", "Upper secondary school", None),
            ("3", "Høyskole/universitet under 4 år", "College/university, less than 4 years", None),
            ("4", "Høyskole/universitet 4 år eller mer", "College/university, 4 years or more", None),
            ("9", "Ukjent", "Unknown", None),
        ],
    ),
    "tilgang": (
        "Tilgang",
        [
            ("1", "Radialis høyre", "Right radial", None),
            ("2", "Radialis venstre", "Left radial", None),
            ("3", "Femoralis høyre", "Right femoral", None),
            ("4", "Femoralis venstre", "Left femoral", None),
            ("5", "Annen", "Other", None),
        ],
    ),
    "killip": (
        "Killip-klasse",
        [("1", "Killip I", "Killip I", None), ("2", "Killip II", "Killip II", None)]
        + [("3", "Killip III", "Killip III", None), ("4", "Killip IV", "Killip IV", None)],
    ),
    "side": ("Side", [("1", "Høyre", "Right", None), ("2", "Venstre", "Left", None), ("3", "Bilateral", "Bilateral", None)]),
}  # fmt: skip

# --- variable terms -----------------------------------------------------------------

# Codings a term may carry: (system, code, display). Every code is valid: ICD-10 WHO
# 2019 (sub)categories, SNOMED CT concept ids with a correct Verhoeff check digit,
# ATC level-5 codes, NCSP codes (three letters, two digits).
DIAGNOSES = [
    ("Hjerteinfarkt", "Myocardial infarction", [("ICD10", "I21.9", None), ("SCTID", "22298006", "Myocardial infarction")]),
    ("Fremreveggsinfarkt", "Anterior wall infarction", [("ICD10", "I21.0", None)]),
    ("NSTEMI", "Non-ST elevation myocardial infarction", [("ICD10", "I21.4", None)]),
    ("Hypertensjon", "Hypertension", [("ICD10", "I10", None), ("SCTID", "38341003", "Hypertensive disorder")]),
    ("Diabetes", "Diabetes mellitus", [("SCTID", "73211009", "Diabetes mellitus")]),
    ("Type 2-diabetes", "Type 2 diabetes", [("ICD10", "E11.9", None), ("SCTID", "44054006", "Diabetes mellitus type 2")]),
    ("Type 1-diabetes", "Type 1 diabetes", [("ICD10", "E10.9", None), ("SCTID", "46635009", "Diabetes mellitus type 1")]),
    ("Hjertesvikt", "Heart failure", [("ICD10", "I50.0", None), ("SCTID", "84114007", "Heart failure")]),
    ("Atrieflimmer", "Atrial fibrillation", [("ICD10", "I48.0", None), ("SCTID", "49436004", "Atrial fibrillation")]),
    ("Tidligere hjerneslag", "Previous stroke", [("ICD10", "I63.9", None), ("SCTID", "230690007", "Cerebrovascular accident")]),
    ("KOLS", "COPD", [("ICD10", "J44.9", None), ("SCTID", "13645005", "Chronic obstructive lung disease")]),
    ("Iskemisk hjertesykdom", "Ischaemic heart disease", [("ICD10", "I25.1", None), ("SCTID", "414545008", "Ischemic heart disease")]),
    ("Kronisk nyresykdom", "Chronic kidney disease", [("ICD10", "N18.5", None), ("SCTID", "709044004", "Chronic kidney disease")]),
    ("Ustabil angina", "Unstable angina", [("ICD10", "I20.0", None)]),
    ("Lungeemboli", "Pulmonary embolism", [("ICD10", "I26.9", None)]),
    ("Perifer karsykdom", "Peripheral arterial disease", [("ICD10", "I70.2", None)]),
    ("Depresjon", "Depression", [("ICD10", "F32.9", None), ("SCTID", "35489007", "Depressive disorder")]),
    ("Astma", "Asthma", [("SCTID", "195967001", "Asthma")]),
    ("Anemi", "Anaemia", [("SCTID", "271737000", "Anemia")]),
    ("Lungebetennelse", "Pneumonia", [("ICD10", "J18.9", None), ("SCTID", "233604007", "Pneumonia")]),
    ("Revmatoid artritt", "Rheumatoid arthritis", [("SCTID", "69896004", "Rheumatoid arthritis")]),
    ("Osteoporose", "Osteoporosis", [("SCTID", "64859006", "Osteoporosis")]),
    ("Artrose i hofte", "Osteoarthritis of hip", [("ICD10", "M16.1", None)]),
    ("Artrose i kne", "Osteoarthritis of knee", [("ICD10", "M17.1", None)]),
    ("Lårhalsbrudd", "Fracture of neck of femur", [("ICD10", "S72.0", None)]),
    ("Epilepsi", "Epilepsy", [("ICD10", "G40.9", None)]),
    ("Multippel sklerose", "Multiple sclerosis", [("ICD10", "G35", None)]),
    ("Brystkreft", "Breast cancer", [("ICD10", "C50.9", None)]),
    ("Prostatakreft", "Prostate cancer", [("ICD10", "C61", None)]),
    ("Tykktarmskreft", "Colon cancer", [("ICD10", "C18.9", None)]),
    ("Fedme", "Obesity", [("ICD10", "E66.9", None)]),
    ("Hyperkolesterolemi", "Hypercholesterolaemia", [("ICD10", "E78.0", None)]),
    ("Covid-19", "COVID-19", [("ICD10", "U07.1", None)]),
    ("Akutt koronarsyndrom", "Acute coronary syndrome", [("SCTID", "394659003", "Acute coronary syndrome")]),
    ("Demens", "Dementia", []),
    ("Hjertestans før innleggelse", "Cardiac arrest before admission", []),
    ("Kardiogent sjokk", "Cardiogenic shock", []),
    ("Blødning", "Bleeding", []),
    ("Reinfarkt", "Reinfarction", []),
    ("Sårinfeksjon", "Wound infection", []),
    ("Dyp venetrombose", "Deep vein thrombosis", []),
    ("Delirium", "Delirium", []),
]  # fmt: skip

MEDICATIONS = [
    ("Acetylsalisylsyre", "Acetylsalicylic acid", "B01AC06"),
    ("Metoprolol", "Metoprolol", "C07AB02"),
    ("Atorvastatin", "Atorvastatin", "C10AA05"),
    ("Simvastatin", "Simvastatin", "C10AA01"),
    ("Metformin", "Metformin", "A10BA02"),
    ("Tikagrelor", "Ticagrelor", "B01AC24"),
    ("Klopidogrel", "Clopidogrel", "B01AC04"),
    ("Ramipril", "Ramipril", "C09AA05"),
    ("Losartan", "Losartan", "C09CA01"),
    ("Amlodipin", "Amlodipine", "C08CA01"),
    ("Furosemid", "Furosemide", "C03CA01"),
    ("Rivaroksaban", "Rivaroxaban", "B01AF01"),
    ("Apiksaban", "Apixaban", "B01AF02"),
    ("Warfarin", "Warfarin", "B01AA03"),
    ("Nitroglyserin", "Glyceryl trinitrate", "C01DA02"),
    ("Insulin glargin", "Insulin glargine", "A10AE04"),
    ("Paracetamol", "Paracetamol", "N02BE01"),
    ("Metotreksat", "Methotrexate", "L01BA01"),
]

PROCEDURES = [
    ("PCI med stent", "PCI with stent", "FNG05"),
    ("Ballongdilatasjon av koronararterie", "Coronary balloon dilatation", "FNG00"),
    ("Aortokoronar bypass", "Coronary artery bypass graft", "FNC10"),
    ("Mammariabypass", "Internal mammary artery bypass", "FNA00"),
    ("Ablasjon", "Catheter ablation", "FPB96"),
    ("Total hofteprotese", "Total hip replacement", "NFB40"),
    ("Hybrid hofteprotese", "Hybrid total hip replacement", "NFB30"),
    ("Total kneprotese", "Total knee replacement", "NGB20"),
    ("Laparoskopisk kolecystektomi", "Laparoscopic cholecystectomy", "JKA21"),
    ("Laparoskopisk appendektomi", "Laparoscopic appendicectomy", "JEA01"),
    ("Vaginal hysterektomi", "Vaginal hysterectomy", "LCD10"),
    ("Evakuering av subduralt hematom", "Evacuation of subdural haematoma", "AAD10"),
]

# (nb, en, value-set key, topic)
CODED_TERMS = [
    ("Røykestatus", "Smoking status", "royk", "lifestyle"),
    ("NYHA-klasse", "NYHA class", "nyha", "clinical_finding"),
    ("Kjønn", "Sex", "kjonn", "demographics"),
    ("Infarkttype", "Type of infarction", "infarkttype", "diagnosis"),
    ("Diabetestype", "Type of diabetes", "diabetestype", "diagnosis"),
    ("Type atrieflimmer", "Type of atrial fibrillation", "flimmertype", "diagnosis"),
    ("Utskrevet til", "Discharged to", "utskrevet", "administrative"),
    ("Hastegrad", "Urgency", "hastegrad", "administrative"),
    ("ASA-klasse", "ASA class", "asa", "clinical_finding"),
    ("Funksjonsnivå (mRS)", "Functional level (mRS)", "mrs", "outcome"),
    ("Egenvurdert helse", "Self-rated health", "helse5", "prom"),
    ("Gange", "Mobility", "eq5d", "prom"),
    ("Personlig stell", "Self-care", "eq5d", "prom"),
    ("Vanlige gjøremål", "Usual activities", "eq5d", "prom"),
    ("Smerter og ubehag", "Pain and discomfort", "eq5d", "prom"),
    ("Angst og depresjon", "Anxiety and depression", "eq5d", "prom"),
    ("Sivilstatus", "Marital status", "sivilstatus", "demographics"),
    ("Utdanning", "Education", "utdanning", "demographics"),
    ("Arteriell tilgang", "Arterial access", "tilgang", "procedure"),
    ("Killip-klasse", "Killip class", "killip", "clinical_finding"),
    ("Operert side", "Side operated", "side", "procedure"),
    ("Brystsmerter", "Chest pain", "janeiukjent", "clinical_finding"),
    ("Dyspné", "Dyspnoea", "janeiukjent", "clinical_finding"),
    ("Trombolyse gitt", "Thrombolysis given", "janei", "procedure"),
    ("Død under opphold", "Died during stay", "janei", "death"),
    ("Reoperasjon", "Reoperation", "janei", "complication"),
    ("Samtykke til forskning", "Consent to research", "janei", "consent"),
    ("Pasienten bor alene", "Patient lives alone", "janeiukjent", "demographics"),
]

# (nb, en, unit, min, max, soft_min, soft_max, topic)
INTEGER_TERMS = [
    ("Alder", "Age", "a", 0, 120, 18, 100, "demographics"),
    ("Systolisk blodtrykk", "Systolic blood pressure", "mm[Hg]", 40, 300, 90, 180, "clinical_finding"),
    ("Diastolisk blodtrykk", "Diastolic blood pressure", "mm[Hg]", 20, 200, 50, 110, "clinical_finding"),
    ("Puls", "Heart rate", "/min", 20, 250, 50, 110, "clinical_finding"),
    ("Høyde", "Height", "cm", 40, 230, 140, 205, "clinical_finding"),
    ("Liggetid", "Length of stay", "d", 0, 365, 0, 30, "administrative"),
    ("Ejeksjonsfraksjon", "Ejection fraction", "%", 5, 85, 20, 70, "imaging"),
    ("Kreatinin", "Creatinine", "umol/L", 10, 2000, 45, 120, "laboratory"),
    ("HbA1c", "HbA1c", "mmol/mol", 15, 200, 30, 90, "laboratory"),
    ("Troponin T", "Troponin T", "ng/L", 0, 100000, 0, 14, "laboratory"),
    ("Antall stenter", "Number of stents", None, 0, 10, 0, 4, "procedure"),
    ("Operasjonstid", "Duration of surgery", "min", 0, 1200, 20, 300, "procedure"),
    ("Smertescore (NRS)", "Pain score (NRS)", "{score}", 0, 10, 0, 10, "prom"),
    ("Gangdistanse", "Walking distance", "m", 0, 5000, 100, 800, "outcome"),
    ("Antall røykte pakkeår", "Pack-years smoked", None, 0, 200, 0, 80, "lifestyle"),
]  # fmt: skip

# (nb, en, unit, min, max, soft_min, soft_max, decimals, topic)
DECIMAL_TERMS = [
    ("Vekt", "Weight", "kg", 0.5, 350, 40, 150, 1, "clinical_finding"),
    ("Kroppsmasseindeks", "Body mass index", "kg/m2", 10, 80, 17, 40, 1, "clinical_finding"),
    ("Totalkolesterol", "Total cholesterol", "mmol/L", 0.5, 20, 3, 8, 1, "laboratory"),
    ("LDL-kolesterol", "LDL cholesterol", "mmol/L", 0.1, 15, 1, 5, 1, "laboratory"),
    ("Hemoglobin", "Haemoglobin", "g/dL", 3, 25, 11, 17, 1, "laboratory"),
    ("CRP", "C-reactive protein", "mg/L", 0, 500, 0, 10, 1, "laboratory"),
    ("Kroppstemperatur", "Body temperature", "Cel", 25, 45, 36, 38.5, 1, "clinical_finding"),
    ("Kalium", "Potassium", "mmol/L", 1, 10, 3.5, 5.0, 1, "laboratory"),
    ("Trombocytter", "Platelets", "10*9/L", 1, 2000, 145, 390, 0, "laboratory"),
    ("Midjemål", "Waist circumference", "cm", 40, 250, 60, 120, 1, "clinical_finding"),
]  # fmt: skip

DATE_TERMS = [
    ("Innleggelsesdato", "Admission date", "administrative"),
    ("Utskrivelsesdato", "Discharge date", "administrative"),
    ("Operasjonsdato", "Date of surgery", "procedure"),
    ("Prosedyredato", "Procedure date", "procedure"),
    ("Diagnosedato", "Date of diagnosis", "diagnosis"),
    ("Dødsdato", "Date of death", "death"),
    ("Dato for symptomdebut", "Date of symptom onset", "clinical_finding"),
    ("Dato for samtykke", "Date of consent", "consent"),
    ("Kontrolldato", "Follow-up date", "administrative"),
    ("Dato for blodprøve", "Date of blood test", "laboratory"),
]
DATETIME_TERMS = [
    ("Tidspunkt for symptomdebut", "Time of symptom onset", "clinical_finding"),
    ("Ankomst sykehus", "Arrival at hospital", "administrative"),
    ("Tidspunkt for første EKG", "Time of first ECG", "clinical_finding"),
]
TIME_TERMS = [("Klokkeslett for ankomst", "Time of arrival", "administrative")]
STRING_TERMS = [
    ("Kommentar", "Comment", 2000, "other"),
    ("Annen diagnose, spesifiser", "Other diagnosis, specify", 200, "diagnosis"),
    ("Annet legemiddel, spesifiser", "Other medication, specify", 200, "medication"),
    ("Annen komplikasjon, spesifiser", "Other complication, specify", 200, "complication"),
    ("Behandlende sykehus", "Treating hospital", 100, "administrative"),
    ("Postnummer", "Postcode", 4, "demographics"),
]
BOOLEAN_TERMS = [
    ("Pasienten er død", "Patient deceased", "death"),
    ("Skjema ferdigstilt", "Form completed", "administrative"),
    ("Pasienten har reservert seg", "Patient has opted out", "consent"),
]
IDENTIFIER_TERMS = [
    ("Fødselsnummer", "National identity number", "direct_identifier"),
    ("Pasient-ID", "Patient ID", "indirect_identifier"),
    ("Skjema-ID", "Form ID", "none"),
]

QUALIFIERS = [
    ("", "", ""),
    ("", "", ""),
    ("", "", ""),
    (" ved innleggelse", " at admission", "INN"),
    (" ved utskrivelse", " at discharge", "UT"),
    (" etter 3 måneder", " after 3 months", "3M"),
    (" etter 12 måneder", " after 12 months", "12M"),
    (" før prosedyre", " before procedure", "PRE"),
    (" under opphold", " during stay", "OPPH"),
]

HELP_TEXTS = [
    (
        "Oppgi {t} slik det er dokumentert i journalen.",
        "Give the {t} as documented in the patient record.",
    ),
    (
        "Velg «Ukjent» dersom opplysningen ikke finnes.",
        "Choose 'Unknown' if the information is not available.",
    ),
    ("Registreres av behandlende lege.", "Recorded by the treating physician."),
    (
        "Hentes fra laboratoriesystemet dersom mulig.",
        "Taken from the laboratory system where possible.",
    ),
    ("Gjelder {t} innen 24 timer.", "Applies to the {t} within 24 hours."),
]
DEFINITIONS = [
    ("{T} slik pasienten oppga det.", "{T} as reported by the patient."),
    ("{T} registrert av helsepersonell.", "{T} as recorded by health personnel."),
    ("{T} i henhold til nasjonal veileder.", "{T} according to the national guideline."),
]

COLLECTION_MODES = (
    ["manual"] * 6 + ["automated_from_ehr"] * 2 + ["derived", "fetched_from_key_register"]
)
STATUSES = ["accepted"] * 8 + ["draft", "proposed"]

# Datatype mix: (kind, weight).
DATATYPE_WEIGHTS = [
    ("coded", 40),
    ("integer", 12),
    ("decimal", 9),
    ("date", 11),
    ("datetime", 3),
    ("time", 1),
    ("string", 11),
    ("boolean", 9),
    ("identifier", 4),
]

SCHEMA_ERROR_KINDS = ("unknown-datatype", "bad-date", "missing-label")
REF_ERROR_KINDS = ("unknown-form", "unknown-value-set", "missing-superseded-by")
# The regcat rule each injected error must produce.
RULES = {
    "unknown-datatype": "schema",
    "bad-date": "schema",
    "missing-label": "schema",
    "unknown-form": "ref-form",
    "unknown-value-set": "ref-value_set",
    "missing-superseded-by": "ref-variable",
}
FIELDS = {
    "unknown-datatype": "datatype",
    "bad-date": "valid_from",
    "missing-label": "label",
    "unknown-form": "form",
    "unknown-value-set": "value_set",
    "missing-superseded-by": "superseded_by",
}


def all_codings() -> list[tuple[str, str]]:
    """Every (system, code) the generator may write, for tests to check."""
    out = [(s, c) for _, _, codings in DIAGNOSES for s, c, _ in codings]
    out += [("ATC", code) for _, _, code in MEDICATIONS]
    out += [("NCSP", code) for _, _, code in PROCEDURES]
    for _, codes in VALUE_SETS.values():
        out += [tuple(m.split(":", 1)) for *_, m in codes if m]  # type: ignore[misc]
    return out


# --- generation ----------------------------------------------------------------------

_FOLD = str.maketrans({"æ": "AE", "ø": "O", "å": "AA", "Æ": "AE", "Ø": "O", "Å": "AA", "é": "E"})


def technical_name(text: str) -> str:
    """`Systolisk blodtrykk` -> `SYSTOLISK_BLODTRYKK` (ASCII, upper case, max 3 words)."""
    words = "".join(c if c.isalnum() else " " for c in text.translate(_FOLD)).upper().split()
    return "_".join(w[:10] for w in words[:3])


def _lt(nb: str, en: str) -> dict:
    return {"nb": nb, "en": en}


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _date(rng: random.Random, first_year: int, last_year: int) -> str:
    return f"{rng.randint(first_year, last_year)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _register_plan(n: int) -> list[tuple[str, str, str, str]]:
    count = max(2, round(n / VARIABLES_PER_REGISTER))
    plan = []
    for i in range(count):
        rid, nb, en, platform = REGISTERS[i % len(REGISTERS)]
        round_ = i // len(REGISTERS)
        if round_:
            rid, nb, en = f"{rid}_{round_ + 1}", f"{nb} {round_ + 1}", f"{en} {round_ + 1}"
        plan.append((rid, nb, en, platform))
    return plan


def _split(n: int, parts: int, rng: random.Random) -> list[int]:
    """n split into `parts` sizes that vary by about ±30 % and sum to n."""
    weights = [rng.uniform(0.7, 1.3) for _ in range(parts)]
    total = sum(weights)
    sizes = [int(n * w / total) for w in weights]
    for i in range(n - sum(sizes)):
        sizes[i % parts] += 1
    return sizes


class _RegisterBuilder:
    def __init__(self, rng: random.Random, rid: str, nb: str, en: str, platform: str) -> None:
        self.rng = rng
        self.rid = rid
        self.register: dict = {
            "id": rid,
            "name": _lt(nb, en),
            "short_name": rid.upper().replace("_", "-"),
            "description": _lt(
                f"{nb} samler data om pasienter i hele landet.",
                f"The {en} collects data on patients across Norway.",
            ),
            "kind": "national_medical_quality_register",
            "key_register": False,
            "owner": rng.choice(OWNERS),
            "legal_basis": "Forskrift om medisinske kvalitetsregistre",
            "consent_basis": rng.choice(["consent", "reservation_right"]),
            "platform": platform,
            "reporting_frequency": "løpende",
            "established": str(rng.randint(1995, 2018)),
            "forms": [],
            "variables": [],
            "value_sets": [],
        }
        chosen = rng.sample(FORMS, rng.randint(5, 20))
        self.forms = [fid for fid, _, _ in chosen]
        for fid, fnb, fen in chosen:
            form = {"id": fid, "name": _lt(fnb, fen), "table": fid}
            if rng.random() < 0.5:
                form["valid_from"] = _date(rng, 2005, 2020)
            self.register["forms"].append(form)
        self.names: set[str] = set()
        self.form: str | None = None
        self.shared_value_sets: dict[str, str] = {}
        self.last_yes_no: dict[str, str] = {}  # form -> last Ja/Nei variable on it
        self.referenced: set[str] = set()  # variables other variables point at

    def _unique_name(self, base: str, form: str) -> str:
        name = base
        if name in self.names:
            name = f"{base}_{technical_name(form)}"
        k = 2
        while name in self.names:
            name = f"{base}_{k}"
            k += 1
        self.names.add(name)
        return name

    def _value_set(self, key: str, name: str) -> str:
        vs_name, codes = VALUE_SETS[key]
        shared = key in ("janei", "janeiukjent") and self.rng.random() < 0.6
        if shared and key in self.shared_value_sets:
            return self.shared_value_sets[key]
        vs_id = f"{self.rid}:{key.upper()}" if shared else f"{self.rid}:{name}"
        entries = []
        for code, cnb, cen, meaning in codes:
            entry: dict = {"code": code, "label": _lt(cnb, cen)}
            if meaning:
                entry["meaning"] = meaning
            entries.append(entry)
        self.register["value_sets"].append({"id": vs_id, "name": {"nb": vs_name}, "codes": entries})
        if shared:
            self.shared_value_sets[key] = vs_id
        return vs_id

    def add_variable(self) -> None:
        rng = self.rng
        # Variables come in runs per form, as in a codebook.
        if self.form is None or rng.random() < 0.04:
            self.form = rng.choice(self.forms)
        form = self.form
        kind = rng.choices([k for k, _ in DATATYPE_WEIGHTS], [w for _, w in DATATYPE_WEIGHTS])[0]
        qnb, qen, qtag = rng.choice(QUALIFIERS)
        v: dict = {"id": None, "form": form}
        fields: dict = {}
        codings: list[tuple[str, str, str | None]] = []
        coding_chance = 0.0
        topic = "other"
        is_yes_no = False
        if kind == "coded":
            pick = rng.random()
            if pick < 0.35:  # a Ja/Nei question about a diagnosis, drug or procedure
                group = rng.random()
                if group < 0.6:
                    nb, en, codings = rng.choice(DIAGNOSES)
                    topic = "diagnosis"
                elif group < 0.85:
                    nb, en, atc = rng.choice(MEDICATIONS)
                    codings, topic = [("ATC", atc, None)], "medication"
                else:
                    nb, en, ncsp = rng.choice(PROCEDURES)
                    codings, topic = [("NCSP", ncsp, None)], "procedure"
                key = rng.choice(["janei", "janei", "janeiukjent"])
                coding_chance = 0.8
                is_yes_no = True
            else:
                nb, en, key, topic = rng.choice(CODED_TERMS)
                is_yes_no = key.startswith("janei")
            fields["datatype"] = "coded"
        elif kind == "integer":
            nb, en, unit, lo, hi, slo, shi, topic = rng.choice(INTEGER_TERMS)
            fields.update(datatype="integer", unit=unit, min_value=_num(lo), max_value=_num(hi))
            fields.update(soft_min=_num(slo), soft_max=_num(shi))
        elif kind == "decimal":
            nb, en, unit, lo, hi, slo, shi, dec, topic = rng.choice(DECIMAL_TERMS)
            fields.update(datatype="decimal", unit=unit, min_value=_num(lo), max_value=_num(hi))
            fields.update(soft_min=_num(slo), soft_max=_num(shi), decimals=dec)
        elif kind in ("date", "datetime", "time"):
            terms = {"date": DATE_TERMS, "datetime": DATETIME_TERMS, "time": TIME_TERMS}[kind]
            nb, en, topic = rng.choice(terms)
            fields["datatype"] = kind
            if kind != "time":
                fields.update(min_value=rng.choice(["1900-01-01", "1980-01-01", "2000-01-01"]))
                fields.update(max_value="today")
        elif kind == "string":
            nb, en, length, topic = rng.choice(STRING_TERMS)
            fields.update(datatype="string", max_length=length)
            if en == "Postcode":
                fields["pattern"] = "^[0-9]{4}$"
        elif kind == "boolean":
            nb, en, topic = rng.choice(BOOLEAN_TERMS)
            fields["datatype"] = "boolean"
        else:
            nb, en, sensitivity = rng.choice(IDENTIFIER_TERMS)
            fields.update(datatype="identifier", sensitivity=sensitivity)
            topic, qnb, qen, qtag = "administrative", "", "", ""
        if kind in ("identifier",) or kind == "boolean":
            qnb, qen, qtag = ("", "", "") if rng.random() < 0.7 else (qnb, qen, qtag)
        base = technical_name(nb) + (f"_{qtag}" if qtag else "")
        name = self._unique_name(base, form)
        vid = f"{self.rid}:{name}"
        v["id"] = vid
        v["label"] = _lt(nb + qnb, en + qen)
        term_nb, term_en = (nb + qnb).lower(), (en + qen).lower()
        if rng.random() < 0.3:
            dnb, den = rng.choice(DEFINITIONS)
            v["definition"] = _lt(dnb.format(T=nb + qnb), den.format(T=en + qen))
        if rng.random() < 0.5:
            hnb, hen = rng.choice(HELP_TEXTS)
            v["help_text"] = _lt(hnb.format(t=term_nb), hen.format(t=term_en))
        v["datatype"] = fields.pop("datatype")
        if v["datatype"] == "coded":
            v["value_set"] = self._value_set(key, name)
        v.update({k: val for k, val in fields.items() if val is not None and k != "sensitivity"})
        if rng.random() < 0.6:
            v["required"] = rng.random() < 0.5
        if codings and rng.random() < coding_chance:
            v["codings"] = [
                {"system": s, "code": c, **({"display": d} if d else {})} for s, c, d in codings
            ]
        v["collection_mode"] = rng.choice(COLLECTION_MODES)
        v["topic"] = topic
        if "sensitivity" in fields:
            v["sensitivity"] = fields["sensitivity"]
        status = rng.choice(STATUSES)
        if rng.random() < 0.7:
            v["valid_from"] = _date(rng, 2005, 2024)
        previous = self.register["variables"]
        if previous and rng.random() < 0.02:  # an older variable replaced by this one
            old = rng.choice(previous)
            if "superseded_by" not in old and old["id"] not in self.referenced:
                old["status"] = "deprecated"
                old["superseded_by"] = vid
                if "valid_from" in old:
                    old["valid_to"] = f"{int(old['valid_from'][:4]) + 1}-12-31"
                else:
                    old["valid_to"] = "2015-12-31"
                self.referenced.add(vid)
        v["status"] = status
        trigger = self.last_yes_no.get(form)
        if trigger and rng.random() < 0.06:
            v["activated_by"] = {"variable": trigger, "values": ["1"]}
            self.referenced.add(trigger)
        v["table"] = form
        v["physical_name"] = name.lower()
        if is_yes_no:
            self.last_yes_no[form] = vid
        previous.append(v)


def build(n: int, seed: int = 1) -> list[dict]:
    """The registers (as dicts, in file order) of a clean catalogue of n variables."""
    rng = random.Random(seed)
    plan = _register_plan(n)
    sizes = _split(n, len(plan), rng)
    registers = []
    for (rid, nb, en, platform), size in zip(plan, sizes, strict=True):
        builder = _RegisterBuilder(rng, rid, nb, en, platform)
        for _ in range(size):
            builder.add_variable()
        builder.register["_referenced"] = builder.referenced
        registers.append(builder.register)
    return registers


def inject(registers: list[dict], schema_errors: int, ref_errors: int, seed: int) -> list[dict]:
    """Break `schema_errors` + `ref_errors` distinct variables, none of which another
    variable refers to; returns the expected errors."""
    rng = random.Random(f"errors-{seed}")
    candidates = []
    for register in registers:
        referenced = register["_referenced"]
        for index, v in enumerate(register["variables"]):
            if v["id"] not in referenced and "superseded_by" not in v:
                candidates.append((register, index))
    total = schema_errors + ref_errors
    if total > len(candidates):
        raise SystemExit(f"cannot inject {total} errors into {len(candidates)} variables")
    picked = rng.sample(candidates, total)
    kinds = [SCHEMA_ERROR_KINDS[i % 3] for i in range(schema_errors)]
    kinds += [REF_ERROR_KINDS[i % 3] for i in range(ref_errors)]
    expected = []
    for k, ((register, index), kind) in enumerate(zip(picked, kinds, strict=True)):
        v = register["variables"][index]
        rid = register["id"]
        if kind == "unknown-datatype":
            v["datatype"] = rng.choice(["tekst", "heltall", "numeric", "colour"])
        elif kind == "bad-date":
            v["valid_from"] = rng.choice(["2021-13-01", "2019-02-30", "2020-00-10"])
            v.pop("valid_to", None)
        elif kind == "missing-label":
            del v["label"]
        elif kind == "unknown-form":
            v["form"] = f"skjema_finnes_ikke_{k}"
        elif kind == "unknown-value-set":
            v["value_set"] = f"{rid}:FINNES_IKKE_{k}"
            if v["datatype"] != "coded":  # keep the variable consistent otherwise
                v["datatype"] = "coded"
                for key in ("unit", "min_value", "max_value", "soft_min", "soft_max"):
                    v.pop(key, None)
                for key in ("decimals", "max_length", "pattern"):
                    v.pop(key, None)
        elif kind == "missing-superseded-by":
            v["superseded_by"] = f"{rid}:UTGAATT_{k}"
            v["status"] = "deprecated"
        expected.append(
            {
                "file": f"registers/{rid}.yaml",
                "id": v["id"],
                "index": index,
                "kind": kind,
                "class": "schema" if kind in SCHEMA_ERROR_KINDS else "reference",
                "rule": RULES[kind],
                "field": FIELDS[kind],
            }
        )
    expected.sort(key=lambda e: (e["file"], e["index"]))
    return expected


# Variable keys in the model's field order (the schema's slot order), as regcat writes them.
_KEY_RANK = {key: rank for rank, key in enumerate(Variable.model_fields)}


def _ordered(variable: dict) -> dict:
    return dict(sorted(variable.items(), key=lambda item: _KEY_RANK.get(item[0], 99)))


# --- writing ---------------------------------------------------------------------------
# PyYAML's representer is pure Python and costs ~0.3 s per 1,000 variables. Catalogue
# files are block mappings and lists of plain keys and short one-line scalars, so they
# are emitted here directly; each distinct scalar is rendered once by dump_yaml itself
# (in a mapping-value position, which is how it stands in the file), so quoting is
# exactly dump_yaml's. tests/test_bench_generator.py checks the bytes are the same.

_SCALARS: dict[tuple[type, object], str] = {}


def _scalar(value: object) -> str:
    key = (type(value), value)
    text = _SCALARS.get(key)
    if text is None:
        text = dump_yaml({"k": value})[len("k: ") : -1]
        if "\n" in text:
            raise ValueError(f"multi-line scalar not supported by the fast writer: {value!r}")
        _SCALARS[key] = text
    return text


def _empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _emit_mapping(data: dict, indent: int, out: list[str], lead: str | None = None) -> None:
    pad = " " * indent
    for key, value in data.items():
        if _empty(value):
            continue
        head = pad if lead is None else lead
        lead = None
        if isinstance(value, dict):
            out.append(f"{head}{key}:\n")
            _emit_mapping(value, indent + 2, out)
        elif isinstance(value, list):
            out.append(f"{head}{key}:\n")
            _emit_list(value, indent, out)
        else:
            out.append(f"{head}{key}: {_scalar(value)}\n")


def _emit_list(items: list, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            _emit_mapping(item, indent + 2, out, lead=pad + "- ")
        elif isinstance(item, dict | list):
            raise ValueError("empty or nested lists are not supported by the fast writer")
        else:
            out.append(f"{pad}- {_scalar(item)}\n")


def render(data: dict) -> str:
    """`data` as YAML, byte for byte what regcat.io.dump_yaml writes (for the shapes a
    catalogue file has), several times faster."""
    out: list[str] = []
    _emit_mapping(data, 0, out)
    return "".join(out)


def write(registers: list[dict], outdir: Path, expected: list[dict], meta: dict) -> int:
    """Write the catalogue; returns the bytes written."""
    folder = outdir / "registers"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.yaml"):
        stale.unlink()
    text = dump_yaml(CODESYSTEMS)
    (outdir / "codesystems.yaml").write_text(text, encoding="utf-8")
    size = len(text.encode())
    for register in registers:
        clean = {k: v for k, v in register.items() if not k.startswith("_")}
        clean["variables"] = [_ordered(v) for v in clean["variables"]]
        data = render(clean).encode()
        (folder / f"{register['id']}.yaml").write_bytes(data)
        size += len(data)
    report = dict(meta, errors=expected)
    (outdir / "expected-errors.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return size


def is_generated(outdir: Path, n: int, seed: int) -> bool:
    """A clean catalogue of `n` variables from `seed` is in `outdir` already (written by
    an earlier run), so a benchmark can reuse it."""
    meta_file = outdir / "expected-errors.json"
    if not meta_file.is_file():
        return False
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    return meta.get("variables") == n and meta.get("seed") == seed and not meta.get("errors")


def generate_catalogue(
    n: int, outdir: Path, seed: int = 1, schema_errors: int = 0, ref_errors: int = 0
) -> dict:
    """Build, break and write a catalogue; returns the expected-errors report."""
    registers = build(n, seed)
    expected = inject(registers, schema_errors, ref_errors, seed)
    variables = [v for r in registers for v in r["variables"]]
    meta = {
        "variables": len(variables),
        "registers": len(registers),
        "forms": sum(len(r["forms"]) for r in registers),
        "value_sets": sum(len(r["value_sets"]) for r in registers),
        "coded": sum(1 for v in variables if v.get("datatype") == "coded"),
        "with_codings": sum(1 for v in variables if v.get("codings")),
        "seed": seed,
        "schema_errors": schema_errors,
        "ref_errors": ref_errors,
        "variables_per_file": {f"registers/{r['id']}.yaml": len(r["variables"]) for r in registers},
    }
    meta["bytes"] = write(registers, outdir, expected, meta)
    return dict(meta, errors=expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of variables")
    parser.add_argument("outdir", type=Path, help="catalogue directory to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schema-errors", type=int, default=0, metavar="K")
    parser.add_argument("--ref-errors", type=int, default=0, metavar="K")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("N must be at least 1")
    started = time.perf_counter()
    report = generate_catalogue(args.n, args.outdir, args.seed, args.schema_errors, args.ref_errors)
    print(
        f"wrote {args.outdir}: {report['variables']} variables in {report['registers']} registers "
        f"({report['forms']} forms, {report['value_sets']} value sets, "
        f"{100 * report['coded'] / report['variables']:.0f} % coded, "
        f"{100 * report['with_codings'] / report['variables']:.1f} % with codings), "
        f"{report['bytes'] / 1e6:.1f} MB, {len(report['errors'])} injected errors, "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
