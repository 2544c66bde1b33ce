"""Small FHIR R4 resources as plain dicts, for the `regcat prefill` tests: each builder
gives the least a resource needs to be valid (fhir.resources R4B accepts every one)
plus what the bindings read. Bundles and Bulk Data folders are built from them."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
NCRP = "http://helsedir.no/fhir/CodeSystem/no-kodeverk-7270-ncrp"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_NO = "http://hl7.org/fhir/sid/icd-10-no"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"


def _subject(patient_id: str) -> dict:
    return {"reference": patient_id if "/" in patient_id else f"Patient/{patient_id}"}


def _concept(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


def patient(
    id: str = "p1",
    gender: str | None = "male",
    birth_date: str | None = "1950-03-04",
    fnr: str | None = "01015012345",
    identifiers: list[dict] | None = None,
    deceased: str | None = None,
) -> dict:
    resource: dict = {"resourceType": "Patient", "id": id}
    ids = list(identifiers or [])
    if fnr is not None:
        ids.insert(0, {"system": FNR, "value": fnr})
    if ids:
        resource["identifier"] = ids
    if gender is not None:
        resource["gender"] = gender
    if birth_date is not None:
        resource["birthDate"] = birth_date
    if deceased is not None:
        resource["deceasedDateTime"] = deceased
    return resource


def procedure(
    id: str = "proc1",
    patient: str = "p1",
    code: str = "FNQ05B",
    performed: str | None = "2024-03-15",
    system: str = NCRP,
    status: str = "completed",
) -> dict:
    resource: dict = {
        "resourceType": "Procedure",
        "id": id,
        "status": status,
        "code": _concept(system, code),
        "subject": _subject(patient),
    }
    if performed is not None:
        resource["performedDateTime"] = performed
    return resource


def observation_quantity(
    id: str,
    code: str,
    value: float | None,
    unit: str | None,
    effective: str | None,
    patient: str = "p1",
    system: str = LOINC,
    unit_system: str = UCUM,
    status: str = "final",
) -> dict:
    resource: dict = {
        "resourceType": "Observation",
        "id": id,
        "status": status,
        "code": _concept(system, code),
        "subject": _subject(patient),
    }
    if effective is not None:
        resource["effectiveDateTime"] = effective
    if value is not None:
        quantity: dict = {"value": value}
        if unit is not None:
            quantity.update({"unit": unit, "system": unit_system, "code": unit})
        resource["valueQuantity"] = quantity
    return resource


def condition(
    id: str,
    code: str,
    onset: str | None,
    patient: str = "p1",
    system: str = ICD10,
    recorded: str | None = None,
) -> dict:
    resource: dict = {
        "resourceType": "Condition",
        "id": id,
        "code": _concept(system, code),
        "subject": _subject(patient),
    }
    if onset is not None:
        resource["onsetDateTime"] = onset
    if recorded is not None:
        resource["recordedDate"] = recorded
    return resource


def medication_administration(
    id: str,
    atc: str,
    effective: str,
    patient: str = "p1",
    system: str = ATC,
    status: str = "completed",
) -> dict:
    return {
        "resourceType": "MedicationAdministration",
        "id": id,
        "status": status,
        "medicationCodeableConcept": _concept(system, atc),
        "subject": _subject(patient),
        "effectiveDateTime": effective,
    }


def medication_statement(
    id: str,
    atc: str,
    asserted: str,
    patient: str = "p1",
    system: str = ATC,
    status: str = "active",
) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": id,
        "status": status,
        "medicationCodeableConcept": _concept(system, atc),
        "subject": _subject(patient),
        "dateAsserted": asserted,
    }


def encounter(
    id: str,
    start: str | None,
    end: str | None = None,
    patient: str = "p1",
    status: str = "finished",
) -> dict:
    resource: dict = {
        "resourceType": "Encounter",
        "id": id,
        "status": status,
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
        },
        "subject": _subject(patient),
    }
    period = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    if period:
        resource["period"] = period
    return resource


def bundle(*resources: dict, urn: bool = False) -> dict:
    """A collection Bundle. With `urn`, every entry has a `urn:uuid:` fullUrl and
    references to patients use it (as transaction Bundles do)."""
    entries = []
    urls = {}
    if urn:
        for i, r in enumerate(resources):
            urls[f"{r['resourceType']}/{r['id']}"] = f"urn:uuid:00000000-0000-4000-8000-{i:012d}"
    for r in resources:
        r = dict(r)
        entry: dict = {}
        if urn:
            entry["fullUrl"] = urls[f"{r['resourceType']}/{r['id']}"]
            ref = r.get("subject")
            if isinstance(ref, dict) and ref.get("reference") in urls:
                r["subject"] = {"reference": urls[ref["reference"]]}
        entry["resource"] = r
        entries.append(entry)
    data: dict = {"resourceType": "Bundle", "type": "collection"}
    if entries:
        data["entry"] = entries
    return data


def write_bundle(path: Path, *resources: dict, urn: bool = False) -> Path:
    path.write_text(json.dumps(bundle(*resources, urn=urn)), encoding="utf-8")
    return path


def write_bulk(folder: Path, resources: list[dict] | tuple[dict, ...]) -> Path:
    """A Bulk Data export: one `<Type>.ndjson` per resource type."""
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[str]] = defaultdict(list)
    for r in resources:
        by_type[r["resourceType"]].append(json.dumps(r, separators=(",", ":")))
    for kind, lines in by_type.items():
        (folder / f"{kind}.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
