#!/usr/bin/env python3
"""A synthetic FHIR R4 Bulk Data export for `regcat prefill` (NORIC angio_pci).

    python bench/fhir_synth.py N OUTDIR [--seed S]

Writes one NDJSON file per resource type into OUTDIR (Patient, Encounter, Procedure,
Observation, Condition, MedicationStatement, MedicationAdministration), ~10.9 resources
per patient, deterministic for a seed:

* Patient: FNR (urn:oid:2.16.578.1.12.4.1.4.1, 11 digits with valid mod-11 check
  digits, sex digit matching `gender`), gender (0.1 % `unknown`), birthDate, ~3 %
  deceasedDateTime;
* Encounter: one inpatient/outpatient stay around the first procedure;
* Procedure (1, 40 % a second): ~90 % of first procedures carry a coronary
  angiography/PCI code (SFN0CB, SFN0DB, FNP02B, FNQ05B: the NORIC anchor), the rest and
  most second procedures another NCRP code; performedDateTime;
* Observation (3): height 8302-2 cm, weight 29463-7 kg, creatinine 14682-9 umol/L as
  valueQuantity (UCUM), ~5 % replaced by another LOINC code (heart rate, blood
  pressure, HbA1c), ~1 % of weights in [lb_av] (fails the unit filter);
* Condition (2): ~60 % cardiac/diabetes (I20-I25, E10-E14, I10), the rest any ICD-10
  code; dotted codes; recordedDate (70 %) or onsetDateTime;
* MedicationStatement (1, 50 % a second): statins, insulin, antithrombotics, beta
  blockers… or a random ATC code; dateAsserted;
* MedicationAdministration (1): acetylsalicylic acid, ticagrelor, or another ATC code;
  effectiveDateTime.

A few percent of the dated resources fall outside the binding's window (too early, or
after the procedure), so the window filters have something to drop. The generator
counts what prefill must find (events, patients, and per NORIC field the events with a
value) and returns it as `expected`.

Codes come from the real code lists in ../shared/data/npr-kodeverk (ICD10.csv,
NCRP_2017 and ATC_2017 parsed from SAS; GPL, read at run time, never copied) when
present, else from short built-in lists of real codes (the output says which).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
KODEVERK = SHARED / "npr-kodeverk"

FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
NCRP = "http://helsedir.no/fhir/CodeSystem/no-kodeverk-7270-ncrp"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

TYPES = (
    "Patient",
    "Encounter",
    "Procedure",
    "Observation",
    "Condition",
    "MedicationStatement",
    "MedicationAdministration",
)

ANGIO = {
    "SFN0CB": "Koronar angiografi av kun native kar ved venstre hjertekateterisering",
    "SFN0DB": (
        "Koronar angiografi med undersøkelse av koronar bypass ved venstre hjertekateterisering"
    ),
    "FNP02B": "Perkutan transluminal koronar angioplastikk",
    "FNQ05B": "Perkutan transluminal koronar angioplastikk med stentinnlegging",
}
ANGIO_WEIGHTS = (("SFN0CB", 0.50), ("SFN0DB", 0.10), ("FNP02B", 0.15), ("FNQ05B", 0.25))
CARDIAC_ATC = {
    "B01AC06": "Acetylsalisylsyre",
    "B01AC24": "Tikagrelor",
    "B01AC04": "Klopidogrel",
    "B01AC22": "Prasugrel",
    "C10AA05": "Atorvastatin",
    "C10AA01": "Simvastatin",
    "C10AA07": "Rosuvastatin",
    "C10BA02": "Simvastatin og ezetimib",
    "C10AX09": "Ezetimib",
    "A10AB05": "Insulin aspart",
    "A10AE04": "Insulin glargin",
    "A10AD05": "Insulin aspart, kombinasjoner",
    "A10BA02": "Metformin",
    "C07AB02": "Metoprolol",
    "C09AA05": "Ramipril",
    "C09CA01": "Losartan",
    "C03CA01": "Furosemid",
    "B01AF01": "Rivaroksaban",
}
STATIN = ("C10AA", "C10BA", "C10BX")
INSULIN = ("A10A",)
CARDIAC_ICD_PREFIXES = (
    "I20",
    "I21",
    "I22",
    "I23",
    "I24",
    "I25",
    "E10",
    "E11",
    "E12",
    "E13",
    "E14",
    "I10",
)

# Built-in fallbacks: real codes (labels shortened).
NCRP_FALLBACK = {
    "SFN0CB": ANGIO["SFN0CB"],
    "SFN0DB": ANGIO["SFN0DB"],
    "FNP02B": ANGIO["FNP02B"],
    "FNQ05B": ANGIO["FNQ05B"],
    "FNA00B": "Koronar trombektomi",
    "TFN00B": "Perkutan perikardpunksjon",
    "AAB06K": "Perkutan biopsi av calvariet",
    "AAE11B": "Perkutan trombektomi i intrakraniell arterie",
    "AAI00B": "Injeksjon i intrakraniell arterie",
    "PAQ21B": "Perkutan innsetting av stent i aorta",
}
ICD_FALLBACK = {
    "I200": "Ustabil angina",
    "I209": "Uspesifisert angina pectoris",
    "I210": "Akutt transmuralt hjerteinfarkt av fremre vegg",
    "I211": "Akutt transmuralt hjerteinfarkt av nedre vegg",
    "I214": "Akutt subendokardielt hjerteinfarkt",
    "I219": "Uspesifisert akutt hjerteinfarkt",
    "I220": "Nytt hjerteinfarkt av fremre vegg",
    "I251": "Aterosklerotisk hjertesykdom",
    "I252": "Gammelt hjerteinfarkt",
    "I259": "Uspesifisert kronisk iskemisk hjertesykdom",
    "I10": "Essensiell hypertensjon",
    "E109": "Diabetes mellitus type 1 uten komplikasjoner",
    "E119": "Diabetes mellitus type 2 uten komplikasjoner",
    "E149": "Uspesifisert diabetes mellitus uten komplikasjoner",
    "I48": "Atrieflimmer og atrieflutter",
    "I500": "Hjertesvikt med stuvning",
    "J449": "Uspesifisert kronisk obstruktiv lungesykdom",
    "N183": "Kronisk nyresykdom, stadium 3",
    "K210": "Gastroøsofageal reflukssykdom med øsofagitt",
    "M545": "Lumbago",
    "F329": "Uspesifisert depressiv episode",
}
ATC_FALLBACK = {
    "V09AB03": "Jodioflupane (123I)",
    "V09GA01": "Technetium (99mTc) sestamibi",
    "N02BE01": "Paracetamol",
    "A02BC01": "Omeprazol",
}

OTHER_OBS = (
    ("8867-4", "Heart rate", "/min", "/min", 50, 110),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", "mmHg", 95, 190),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%", 4.5, 11.0),
)

# NORIC fields with a time window (days relative to the procedure), as in
# catalogue/ehr/noric.yaml: the generator counts the events each one must fill.
WINDOWS = {
    "REGANGIO_HEIGHT": (-365, 0),
    "REGANGIO_WEIGHT": (-30, 0),
    "REGANGIO_SKREATININ": (-90, 0),
    "REGANGIO_DIABETES": (-36500, 0),
    "REGANGIO_TIDINF": (-36500, -29),
    "REGANGIO_STATINS": (-7, 0),
    "REGANGIO_DIABETESINSULIN": (-7, 0),
    "PCI_ASAFORE": (-1, 0),
    "PCI_TICFORE": (-1, 0),
}


def _read_sas_csv(name: str) -> dict[str, str]:
    path = KODEVERK / name
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {
            row["code"].strip(): (row.get("label") or "").strip()
            for row in csv.DictReader(handle)
            if (row.get("code") or "").strip()
        }


def _read_icd10() -> dict[str, str]:
    path = KODEVERK / "ICD10.csv"
    if not path.is_file():
        return {}
    out = {}
    with path.open(encoding="utf-8-sig") as handle:
        next(handle, None)  # header: ICD10;Tekst
        for line in handle:
            code, _, label = line.rstrip("\r\n").partition(";")
            code = code.strip().upper()
            if 3 <= len(code) <= 5 and code[0].isalpha() and code[1:3].isdigit():
                out[code] = label.strip()
    return out


def code_lists() -> dict:
    """Codes and labels: the real lists when present, else built-in ones (and says so)."""
    ncrp, icd, atc = (
        _read_sas_csv("NCRP_2017__parsed_from_sas.csv"),
        _read_icd10(),
        _read_sas_csv("ATC_2017__parsed_from_sas.csv"),
    )
    sources = {}
    for name, table, fallback, fname in (
        ("ncrp", ncrp, NCRP_FALLBACK, "NCRP_2017__parsed_from_sas.csv"),
        ("icd10", icd, ICD_FALLBACK, "ICD10.csv"),
        ("atc", atc, ATC_FALLBACK, "ATC_2017__parsed_from_sas.csv"),
    ):
        if table:
            sources[name] = f"{KODEVERK / fname} ({len(table):,} codes)"
        else:
            table.update(fallback)
            sources[name] = f"BUILT-IN list ({len(table)} codes; {KODEVERK / fname} not found)"
    other_ncrp = sorted(c for c in ncrp if c not in ANGIO)
    cardiac_icd = sorted(c for c in icd if c.startswith(CARDIAC_ICD_PREFIXES))
    if not cardiac_icd:
        cardiac_icd = sorted(c for c in ICD_FALLBACK if c.startswith(CARDIAC_ICD_PREFIXES))
        icd.update({c: ICD_FALLBACK[c] for c in cardiac_icd})
    return {
        "ncrp": ncrp,
        "icd10": icd,
        "atc": {**atc, **{c: lbl for c, lbl in CARDIAC_ATC.items() if c not in atc}},
        "other_ncrp": other_ncrp,
        "all_icd": sorted(icd),
        "cardiac_icd": cardiac_icd,
        "random_atc": sorted(atc),
        "cardiac_atc": sorted(CARDIAC_ATC),
        "sources": sources,
    }


def _dotted(code: str) -> str:
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _fnr(birth: dt.date, individual: int) -> str | None:
    """An 11-digit fødselsnummer with valid mod-11 check digits (None: none exist)."""
    digits = [
        int(c) for c in f"{birth.day:02d}{birth.month:02d}{birth.year % 100:02d}{individual:03d}"
    ]
    k1 = 11 - sum(d * w for d, w in zip(digits, (3, 7, 6, 1, 8, 9, 4, 5, 2), strict=True)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10:
        return None
    digits.append(k1)
    k2 = 11 - sum(d * w for d, w in zip(digits, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    if k2 == 10:
        return None
    return "".join(map(str, digits)) + str(k2)


def generate(directory: Path, patients: int, seed: int = 1, chunk: int = 5_000) -> dict:
    """Write the export into `directory`; return counts, code-list sources and `expected`."""
    started = time.perf_counter()
    directory.mkdir(parents=True, exist_ok=True)
    codes = code_lists()
    rng = random.Random(seed)
    rand, randint, choice = rng.random, rng.randint, rng.choice
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

    ncrp_lbl, icd_lbl, atc_lbl = codes["ncrp"], codes["icd10"], codes["atc"]
    other_ncrp = codes["other_ncrp"] or sorted(c for c in NCRP_FALLBACK if c not in ANGIO)
    all_icd, cardiac_icd = codes["all_icd"], codes["cardiac_icd"]
    random_atc, cardiac_atc = codes["random_atc"] or sorted(ATC_FALLBACK), codes["cardiac_atc"]
    angio_codes = [c for c, _ in ANGIO_WEIGHTS]
    angio_cum, total = [], 0.0
    for _, w in ANGIO_WEIGHTS:
        total += w
        angio_cum.append(total / sum(w for _, w in ANGIO_WEIGHTS))
    angio_cum[-1] = 1.0

    base_day = dt.date(2016, 1, 1).toordinal()
    span = dt.date(2024, 12, 31).toordinal() - base_day
    iso = {}  # ordinal -> "YYYY-MM-DD"

    def day(ordinal: int) -> str:
        text = iso.get(ordinal)
        if text is None:
            text = iso[ordinal] = dt.date.fromordinal(ordinal).isoformat()
        return text

    def stamp(ordinal: int) -> str:
        return f"{day(ordinal)}T{randint(7, 17):02d}:{randint(0, 59):02d}:00+01:00"

    def ref(pid: str) -> dict:
        return {"reference": f"Patient/{pid}"}

    def concept(system: str, code: str, display: str) -> dict:
        return {"coding": [{"system": system, "code": code, "display": display}]}

    handles = {t: (directory / f"{t}.ndjson").open("w", encoding="utf-8") for t in TYPES}
    buffers: dict[str, list[str]] = {t: [] for t in TYPES}
    counts = dict.fromkeys(TYPES, 0)
    expected = {"events": 0, "patients": 0, "filled": dict.fromkeys(WINDOWS, 0)}
    outside = 0  # resources whose date puts them outside their binding's window
    filled = expected["filled"]
    serial = {
        "Procedure": 0,
        "Observation": 0,
        "Condition": 0,
        "MedicationStatement": 0,
        "MedicationAdministration": 0,
    }

    def emit(kind: str, resource: dict) -> None:
        buffers[kind].append(dumps(resource))

    def next_id(kind: str, prefix: str) -> str:
        serial[kind] += 1
        return f"{prefix}{serial[kind]:08d}"

    try:
        for i in range(patients):
            pid = f"p{i:08d}"
            subject = ref(pid)
            facts: list[tuple[str, int]] = []  # (NORIC field, day) a binding would match

            # --- Patient ---------------------------------------------------------
            birth = dt.date(randint(1930, 1999), randint(1, 12), randint(1, 28))
            fnr = None
            while fnr is None:
                individual = randint(0, 499)
                fnr = _fnr(birth, individual)
            gender = "male" if individual % 2 else "female"  # 9th digit: odd is male
            if rand() < 0.001:
                gender = "unknown"
            patient = {
                "resourceType": "Patient",
                "id": pid,
                "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
                "name": [
                    {
                        "family": f"Testesen{i % 997}",
                        "given": ["Kari" if gender == "female" else "Ola"],
                    }
                ],
                "gender": gender,
                "birthDate": birth.isoformat(),
            }

            # --- the procedure day ---------------------------------------------
            anchor = base_day + randint(0, span)
            if rand() < 0.03:
                patient["deceasedDateTime"] = stamp(anchor + randint(1, 700))
            emit("Patient", patient)
            emit(
                "Encounter",
                {
                    "resourceType": "Encounter",
                    "id": f"e{i:08d}",
                    "status": "finished",
                    "class": {"system": ACT, "code": "IMP" if rand() < 0.7 else "AMB"},
                    "subject": subject,
                    "period": {
                        "start": stamp(anchor - randint(0, 2)),
                        "end": stamp(anchor + randint(0, 5)),
                    },
                },
            )

            # --- Procedures: the anchor (most) and sometimes a second one --------
            events = []
            n_proc = 2 if rand() < 0.4 else 1
            for k in range(n_proc):
                when = anchor if k == 0 else anchor + randint(1, 400)
                if rand() < (0.9 if k == 0 else 0.3):
                    r = rand()
                    code = next(
                        c for c, cum in zip(angio_codes, angio_cum, strict=True) if r <= cum
                    )
                    events.append(when)
                else:
                    code = choice(other_ncrp)
                emit(
                    "Procedure",
                    {
                        "resourceType": "Procedure",
                        "id": next_id("Procedure", "pr"),
                        "status": "completed",
                        "code": concept(NCRP, code, ncrp_lbl.get(code, "")),
                        "subject": subject,
                        "encounter": {"reference": f"Encounter/e{i:08d}"},
                        "performedDateTime": stamp(when),
                    },
                )

            # --- Observations: height, weight, creatinine ------------------------
            for loinc, display, unit, field, lo, hi, back, late in (
                ("8302-2", "Body height", "cm", "REGANGIO_HEIGHT", 150, 198, 300, 0.02),
                ("29463-7", "Body weight", "kg", "REGANGIO_WEIGHT", 48, 140, 25, 0.04),
                (
                    "14682-9",
                    "Creatinine [Moles/volume] in Serum or Plasma",
                    "umol/L",
                    "REGANGIO_SKREATININ",
                    45,
                    180,
                    80,
                    0.04,
                ),
            ):
                if rand() < 0.05:  # another measurement instead
                    loinc, display, unit, human, lo, hi = choice(OTHER_OBS)
                    field = None
                else:
                    human = "µmol/L" if unit == "umol/L" else unit
                r = rand()
                if r < late:  # too early for the window
                    when = anchor - back - randint(40, 400)
                    outside += 1
                elif r < late + 0.01:  # after the procedure
                    when = anchor + randint(1, 10)
                    outside += 1
                else:
                    when = anchor - randint(0, back)
                value = round(lo + (hi - lo) * rand(), 1)
                if field == "REGANGIO_WEIGHT" and rand() < 0.01:  # pounds: fails the unit filter
                    unit = human = "[lb_av]"
                    value = round(value * 2.2046, 1)
                    field = None
                emit(
                    "Observation",
                    {
                        "resourceType": "Observation",
                        "id": next_id("Observation", "ob"),
                        "status": "final",
                        "category": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                        "code": "vital-signs"
                                        if field != "REGANGIO_SKREATININ"
                                        else "laboratory",
                                    }
                                ]
                            }
                        ],
                        "code": concept(LOINC, loinc, display),
                        "subject": subject,
                        "effectiveDateTime": stamp(when),
                        "valueQuantity": {
                            "value": value,
                            "unit": human,
                            "system": UCUM,
                            "code": unit,
                        },
                    },
                )
                if field:
                    facts.append((field, when))

            # --- Conditions -------------------------------------------------------
            for _ in range(2):
                code = choice(cardiac_icd) if rand() < 0.6 else choice(all_icd)
                r = rand()
                if r < 0.03:  # recorded after the procedure
                    when = anchor + randint(1, 60)
                    outside += 1
                elif code.startswith(("I21", "I22")) and r < 0.5:  # the infarction treated now
                    when = anchor - randint(0, 3)
                else:
                    when = anchor - randint(0, 3650)
                condition = {
                    "resourceType": "Condition",
                    "id": next_id("Condition", "co"),
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "code": concept(ICD10, _dotted(code), icd_lbl.get(code, "")),
                    "subject": subject,
                }
                if rand() < 0.7:
                    condition["recordedDate"] = day(when)
                else:
                    condition["onsetDateTime"] = stamp(when)
                emit("Condition", condition)
                if code.startswith(("E10", "E11", "E12", "E13", "E14")):
                    facts.append(("REGANGIO_DIABETES", when))
                if code.startswith(("I21", "I22")) or code == "I252":
                    facts.append(("REGANGIO_TIDINF", when))

            # --- MedicationStatements ------------------------------------------------
            for _ in range(2 if rand() < 0.5 else 1):
                code = choice(cardiac_atc) if rand() < 0.75 else choice(random_atc)
                r = rand()
                if r < 0.05:  # reconciled long before
                    when = anchor - randint(8, 120)
                    outside += 1
                elif r < 0.07:
                    when = anchor + randint(1, 30)
                    outside += 1
                else:
                    when = anchor - randint(0, 7)
                emit(
                    "MedicationStatement",
                    {
                        "resourceType": "MedicationStatement",
                        "id": next_id("MedicationStatement", "ms"),
                        "status": "active",
                        "medicationCodeableConcept": concept(ATC, code, atc_lbl.get(code, "")),
                        "subject": subject,
                        "dateAsserted": stamp(when),
                    },
                )
                if code.startswith(STATIN):
                    facts.append(("REGANGIO_STATINS", when))
                if code.startswith(INSULIN):
                    facts.append(("REGANGIO_DIABETESINSULIN", when))

            # --- MedicationAdministration ------------------------------------------
            r = rand()
            code = (
                "B01AC06"
                if r < 0.5
                else "B01AC24"
                if r < 0.75
                else choice(cardiac_atc + random_atc)
            )
            r = rand()
            if r < 0.05:
                when = anchor - randint(2, 10)
                outside += 1
            else:
                when = anchor - randint(0, 1)
            emit(
                "MedicationAdministration",
                {
                    "resourceType": "MedicationAdministration",
                    "id": next_id("MedicationAdministration", "ma"),
                    "status": "completed",
                    "medicationCodeableConcept": concept(ATC, code, atc_lbl.get(code, "")),
                    "subject": subject,
                    "effectiveDateTime": stamp(when),
                },
            )
            if code == "B01AC06":
                facts.append(("PCI_ASAFORE", when))
            elif code == "B01AC24":
                facts.append(("PCI_TICFORE", when))

            # --- what prefill must find ----------------------------------------------
            if events:
                expected["patients"] += 1
                expected["events"] += len(events)
                for ev in events:
                    seen = set()
                    for field, when in facts:
                        lo, hi = WINDOWS[field]
                        if field not in seen and ev + lo <= when <= ev + hi:
                            seen.add(field)
                            filled[field] += 1

            if (i + 1) % chunk == 0:
                for t in TYPES:
                    if buffers[t]:
                        counts[t] += len(buffers[t])
                        handles[t].write("\n".join(buffers[t]) + "\n")
                        buffers[t].clear()
        for t in TYPES:
            if buffers[t]:
                counts[t] += len(buffers[t])
                handles[t].write("\n".join(buffers[t]) + "\n")
                buffers[t].clear()
    finally:
        for h in handles.values():
            h.close()
    size = sum((directory / f"{t}.ndjson").stat().st_size for t in TYPES)
    return {
        "patients": patients,
        "seed": seed,
        "resources": counts,
        "resources_total": sum(counts.values()),
        "bytes": size,
        "outside_windows": outside,
        "code_lists": codes["sources"],
        "expected": expected,
        "seconds": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("patients", type=int)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    info = generate(args.outdir, args.patients, args.seed)
    for name, source in info["code_lists"].items():
        print(f"{name:6s} codes: {source}")
    print(
        f"{info['resources_total']:,} resources for {args.patients:,} patients "
        f"({info['bytes'] / 1e6:,.1f} MB, {info['outside_windows']:,} dated outside their "
        f"window) in {info['seconds']:.2f} s -> {args.outdir}"
    )
    for t, n in info["resources"].items():
        print(f"  {t:26s} {n:>10,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
