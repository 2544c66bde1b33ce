"""FHIR R4 export: a register (or one form) as a Bundle of Questionnaires, the
ValueSets and CodeSystems of its local value sets, and ConceptMaps from the value maps
of mappings that touch it. Checked with fhir.resources' R4B models (the R4-compatible
release that runs on pydantic 2; Questionnaire, ValueSet, CodeSystem and ConceptMap are
the same in R4 and R4B)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from regcat.catalogue import Catalogue
from regcat.errors import RegcatError
from regcat.generated.model import Form, Mapping, ValueSet, Variable

BASE = "https://w3id.org/regcat/fhir/"
VARIABLE_BASE = "https://w3id.org/regcat/variable/"

# FHIR's own system URIs; code systems without one get a regcat URI (and come back to
# the same id on import).
SYSTEMS = {
    "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "SCTID": "http://snomed.info/sct",
    "ATC": "http://www.whocc.no/atc",
    "LOINC": "http://loinc.org",
    "ICPC2": "http://hl7.org/fhir/sid/icpc-2",
    "NCRP": "http://helsedir.no/fhir/CodeSystem/no-kodeverk-7270-ncrp",
    "UCUM": "http://unitsofmeasure.org",
}
SYSTEM_IDS = {uri: ident for ident, uri in SYSTEMS.items()}
SYSTEM_IDS["http://hl7.org/fhir/sid/icd-10-no"] = "ICD10"

ITEM_TYPES = {
    "string": "string",
    "identifier": "string",
    "integer": "integer",
    "decimal": "decimal",
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
    "time": "time",
    "coded": "choice",
}

EXT = "http://hl7.org/fhir/StructureDefinition/"
EXT_MIN, EXT_MAX = EXT + "minValue", EXT + "maxValue"
EXT_DECIMALS = EXT + "maxDecimalPlaces"
EXT_REGEX = EXT + "regex"
EXT_UNIT = EXT + "questionnaire-unit"
EXT_SOFT_MIN = BASE + "StructureDefinition/soft-min"
EXT_SOFT_MAX = BASE + "StructureDefinition/soft-max"
# Value sets up to this size go inline as answerOption; larger ones by reference.
MAX_INLINE_OPTIONS = 40


def system_uri(system: str) -> str:
    return SYSTEMS.get(system, f"{BASE}CodeSystem/{system}")


def system_id(uri: str) -> str | None:
    if uri in SYSTEM_IDS:
        return SYSTEM_IDS[uri]
    prefix = f"{BASE}CodeSystem/"
    if uri.startswith(prefix) and re.fullmatch(r"[A-Z][A-Z0-9_]*", uri[len(prefix) :]):
        return uri[len(prefix) :]
    return None


def fhir_id(text: str) -> str:
    """A FHIR resource id ([A-Za-z0-9.-]{1,64}) from a catalogue id, stable and readable."""
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-.")
    if len(cleaned) > 64:
        import hashlib

        cleaned = cleaned[:55] + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return cleaned or "x"


def local_code_system(vs: ValueSet) -> str:
    """The CodeSystem URL of a local value set's codes."""
    return f"{BASE}CodeSystem/{fhir_id(vs.id)}"


def codes_system(vs: ValueSet) -> str:
    """The system a value set's codes are in: an external one it names, else its own."""
    return system_uri(vs.code_system) if vs.code_system else local_code_system(vs)


def _nb(text) -> str | None:
    if text is None:
        return None
    return text.nb or text.en


def _number(value: str, datatype: str | None) -> dict | None:
    """minValue/maxValue need the item's type; tokens such as `today` have no FHIR form."""
    try:
        if datatype == "integer":
            return {"valueInteger": int(value)}
        if datatype == "decimal":
            return {"valueDecimal": float(value)}
    except ValueError:
        return None
    if datatype == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return {"valueDate": value}
    return None


@dataclass
class _Context:
    cat: Catalogue
    register_id: str
    value_sets: dict[str, ValueSet]  # the value sets the exported items use


def _answer_options(vs: ValueSet) -> list[dict]:
    system = codes_system(vs)
    options = []
    for pv in vs.codes or []:
        coding = {"system": system, "code": pv.code}
        if _nb(pv.label):
            coding["display"] = _nb(pv.label)
        options.append({"valueCoding": coding})
    return options


def _enable_when(ctx: _Context, variable: Variable) -> tuple[list[dict], str | None]:
    rule = variable.activated_by
    if rule is None:
        return [], None
    trigger = ctx.cat.variables.get(rule.variable)
    vs = ctx.cat.value_sets.get(trigger.value_set) if trigger and trigger.value_set else None
    conditions = []
    for value in rule.values or []:
        condition: dict = {"question": rule.variable, "operator": "="}
        if trigger is not None and trigger.datatype == "boolean":
            condition["answerBoolean"] = value.lower() in ("true", "1", "ja", "yes")
        elif vs is not None:
            condition["answerCoding"] = {"system": codes_system(vs), "code": value}
        elif trigger is not None and trigger.datatype == "integer" and value.lstrip("-").isdigit():
            condition["answerInteger"] = int(value)
        else:
            condition["answerString"] = value
        conditions.append(condition)
    return conditions, ("any" if len(conditions) > 1 else None)


def _item(ctx: _Context, v: Variable) -> dict:
    item: dict = {
        "linkId": v.id,
        "definition": VARIABLE_BASE + v.id.replace(":", "/", 1),
        "text": _nb(v.label) or v.id,
        "type": ITEM_TYPES.get(v.datatype or "string", "string"),
    }
    if v.codings:
        item["code"] = [
            {
                "system": system_uri(c.system),
                "code": c.code,
                **({"display": c.display} if c.display else {}),
            }
            for c in v.codings
        ]
    if v.required:
        item["required"] = True
    if v.max_length is not None and item["type"] in ("string", "text"):
        item["maxLength"] = v.max_length
    extensions = []
    for url, value in ((EXT_MIN, v.min_value), (EXT_MAX, v.max_value)):
        if value is not None and (typed := _number(value, v.datatype)):
            extensions.append({"url": url, **typed})
    for url, value in ((EXT_SOFT_MIN, v.soft_min), (EXT_SOFT_MAX, v.soft_max)):
        if value is not None:
            extensions.append({"url": url, "valueString": value})
    if v.decimals is not None:
        extensions.append({"url": EXT_DECIMALS, "valueInteger": v.decimals})
    if v.pattern:
        extensions.append({"url": EXT_REGEX, "valueString": v.pattern})
    if v.unit:
        extensions.append(
            {"url": EXT_UNIT, "valueCoding": {"system": SYSTEMS["UCUM"], "code": v.unit}}
        )
    if extensions:
        item["extension"] = extensions
    vs = ctx.cat.value_sets.get(v.value_set) if v.value_set else None
    if vs is not None and item["type"] == "choice":
        ctx.value_sets[vs.id] = vs
        if len(vs.codes or []) <= MAX_INLINE_OPTIONS:
            item["answerOption"] = _answer_options(vs)
        else:
            item["answerValueSet"] = f"{BASE}ValueSet/{fhir_id(vs.id)}"
    enable, behaviour = _enable_when(ctx, v)
    if enable:
        item["enableWhen"] = enable
        if behaviour:
            item["enableBehavior"] = behaviour
    if v.help_text and _nb(v.help_text):
        item["item"] = [
            {
                "linkId": v.id + "/help",
                "text": _nb(v.help_text),
                "type": "display",
                "extension": [
                    {
                        "url": EXT + "questionnaire-itemControl",
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": "http://hl7.org/fhir/questionnaire-item-control",
                                    "code": "help",
                                }
                            ]
                        },
                    }
                ],
            }
        ]
    return item


def _questionnaire(ctx: _Context, form: Form, variables: list[Variable]) -> dict:
    ident = fhir_id(f"{ctx.register_id}-{form.id}")
    q = {
        "resourceType": "Questionnaire",
        "id": ident,
        "url": f"{BASE}Questionnaire/{ident}",
        "name": re.sub(r"[^A-Za-z0-9_]", "_", f"{ctx.register_id}_{form.id}"),
        "title": _nb(form.name) or form.id,
        "status": "active",
        "language": "nb",
        "subjectType": ["Patient"],
        "item": [_item(ctx, v) for v in variables],
    }
    if form.description and _nb(form.description):
        q["description"] = _nb(form.description)
    if form.valid_from or form.valid_to:
        q["effectivePeriod"] = {
            k: str(d) for k, d in (("start", form.valid_from), ("end", form.valid_to)) if d
        }
    return q


def _value_set_resources(vs: ValueSet) -> list[dict]:
    ident = fhir_id(vs.id)
    name = re.sub(r"[^A-Za-z0-9_]", "_", vs.id)
    title = _nb(vs.name) or vs.id
    concepts = []
    for pv in vs.codes or []:
        concept: dict = {"code": pv.code}
        if _nb(pv.label):
            concept["display"] = _nb(pv.label)
        if pv.label is not None and pv.label.en and pv.label.en != concept.get("display"):
            concept["designation"] = [{"language": "en", "value": pv.label.en}]
        concepts.append(concept)
    resources = []
    if vs.code_system:  # codes of an external system: the ValueSet lists them
        include = {"system": system_uri(vs.code_system), "concept": concepts}
    else:
        resources.append(
            {
                "resourceType": "CodeSystem",
                "id": ident,
                "url": local_code_system(vs),
                "name": name,
                "title": title,
                "status": "active",
                "content": "complete",
                "caseSensitive": True,
                "valueSet": f"{BASE}ValueSet/{ident}",
                "count": len(concepts),
                "concept": concepts,
            }
        )
        include = {"system": local_code_system(vs)}
    resources.append(
        {
            "resourceType": "ValueSet",
            "id": ident,
            "url": f"{BASE}ValueSet/{ident}",
            "name": name,
            "title": title,
            "status": "active",
            "compose": {"include": [include]},
        }
    )
    return resources


def _mapped_from(m: Mapping) -> str | None:
    """The variable whose codes a value map translates: the subject, or for a record
    linkage the value it carries over. A linkage that yields yes/no or a count maps
    values no FHIR code system holds, so it gets no ConceptMap."""
    t = m.transformation
    if t is None or t.kind != "record_linkage" or t.record_linkage is None:
        return m.subject_id
    linkage = t.record_linkage
    if linkage.aggregate in ("any", "count") or not linkage.value_variable:
        return None
    return linkage.value_variable


def _concept_map(cat: Catalogue, file: str, m: Mapping) -> dict | None:
    t = m.transformation
    if t is None or not t.value_map or (source_id := _mapped_from(m)) is None:
        return None
    source = cat.variables.get(source_id)
    target = cat.variables.get(m.object_id)
    source_vs = cat.value_sets.get(source.value_set) if source and source.value_set else None
    target_vs = cat.value_sets.get(target.value_set) if target and target.value_set else None

    def system(vs: ValueSet | None, variable_id: str) -> str:
        if vs is None:
            return f"{BASE}CodeSystem/values-of/{fhir_id(variable_id)}"
        return codes_system(vs)

    ident = fhir_id(f"{m.record_id or m.subject_id + '-' + m.object_id}")
    elements: dict[str, list[dict]] = {}
    for entry in t.value_map:
        elements.setdefault(entry.source, []).append(
            {"code": entry.target, "equivalence": "equivalent"}
        )
    cm: dict = {
        "resourceType": "ConceptMap",
        "id": ident,
        "url": f"{BASE}ConceptMap/{ident}",
        "name": re.sub(r"[^A-Za-z0-9_]", "_", ident),
        "title": f"{m.subject_id} → {m.object_id}",
        "status": "active",
        "description": m.comment or f"Value map of {m.record_id or file}",
        "group": [
            {
                "source": system(source_vs, source_id),
                "target": system(target_vs, m.object_id),
                "element": [
                    {"code": code, "target": targets} for code, targets in elements.items()
                ],
            }
        ],
    }
    if source_vs is not None:
        cm["sourceUri"] = f"{BASE}ValueSet/{fhir_id(source_vs.id)}"
    if target_vs is not None:
        cm["targetUri"] = f"{BASE}ValueSet/{fhir_id(target_vs.id)}"
    return cm


def export_bundle(cat: Catalogue, register_id: str, form_id: str | None = None) -> dict:
    """A Bundle (type collection) for a register, or one of its forms."""
    reg = cat.registers.get(register_id)
    if reg is None:
        raise RegcatError(f"no register {register_id!r} in the catalogue")
    forms = list(reg.forms or [])
    if form_id is not None:
        forms = [f for f in forms if f.id == form_id]
        if not forms:
            known = ", ".join(f.id for f in reg.forms or []) or "none"
            raise RegcatError(f"register {register_id} has no form {form_id!r} (forms: {known})")
    ctx = _Context(cat, register_id, {})
    entries: list[dict] = []
    by_form: dict[str, list[Variable]] = {}
    for v in reg.variables or []:
        if v.status not in ("retired",):
            by_form.setdefault(v.form or "", []).append(v)
    for form in forms:
        entries.append(_questionnaire(ctx, form, by_form.get(form.id, [])))
    for vs_id in sorted(ctx.value_sets):
        entries += _value_set_resources(ctx.value_sets[vs_id])
    exported = {v.id for f in forms for v in by_form.get(f.id, [])}
    for file, ms in sorted(cat.mapping_sets.items()):
        for m in ms.mappings or []:
            if m.status == "candidate" or not ({m.subject_id, m.object_id} & exported):
                continue
            if (cm := _concept_map(cat, file, m)) is not None:
                entries.append(cm)
    return {
        "resourceType": "Bundle",
        "id": fhir_id(f"{register_id}-{form_id}" if form_id else register_id),
        "type": "collection",
        "entry": [{"fullUrl": r["url"], "resource": r} for r in entries],
    }


def check_bundle(bundle: dict) -> list[str]:
    """Problems fhir.resources finds in the Bundle, one line each (empty: it validates)."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        return [
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        ]
    return []
