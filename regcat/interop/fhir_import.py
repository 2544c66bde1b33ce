"""FHIR Questionnaire → a form with variables and value sets (`regcat import
fhir-questionnaire`). Reads one Questionnaire, or a Bundle of them with the ValueSets
and CodeSystems their answerValueSets point at. What regcat's own export writes comes
back as it was: item codes, answer options, enableWhen, limits."""

from __future__ import annotations

import re
from pathlib import Path

from regcat.errors import RegcatError
from regcat.generated.model import (
    ActivationRule,
    Coding,
    Form,
    LocalizedText,
    PermissibleValue,
    ValueSet,
    Variable,
)
from regcat.importers.base import ImportResult, check_register_id
from regcat.interop import fhir
from regcat.interop.fhir_json import load_json, validate_resource

DATATYPES = {
    "string": "string",
    "text": "string",
    "integer": "integer",
    "decimal": "decimal",
    "quantity": "decimal",
    "boolean": "boolean",
    "date": "date",
    "dateTime": "datetime",
    "time": "time",
    "choice": "coded",
    "open-choice": "coded",
}
MAX_BYTES = 20_000_000


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    return slug if slug and slug[0].isalpha() else f"f_{slug}"


class _Reader:
    def __init__(self, path: Path, register_id: str, resources: list[dict]) -> None:
        self.path = path
        self.register_id = register_id
        self.result = ImportResult(register_id, str(path), scope="fhir", complete=False)
        # Resources a Questionnaire carries (contained) or a Bundle beside it, by their
        # canonical URL and, for contained ones, by "#id".
        found = list(resources)
        for r in resources:
            for inner in r.get("contained") or []:
                if isinstance(inner, dict):
                    found.append(inner)
                    if inner.get("id"):
                        found.append({**inner, "url": "#" + str(inner["id"])})
        self.value_sets_by_url = {
            r["url"]: r for r in found if r.get("resourceType") == "ValueSet" and r.get("url")
        }
        self.code_systems_by_url = {
            r["url"]: r for r in found if r.get("resourceType") == "CodeSystem" and r.get("url")
        }
        self.ids: dict[str, str] = {}  # linkId → variable id
        self.seen: set[str] = set()

    def warn(self, where: str, message: str) -> None:
        self.result.warnings.append(f"{self.path}: {where}: {message}")

    def variable_id(self, link_id: str, where: str) -> str:
        prefix = self.register_id + ":"
        if link_id.startswith(prefix) and re.fullmatch(r"[A-Za-z0-9_.-]+", link_id[len(prefix) :]):
            ident = link_id
        else:
            local = re.sub(r"[^A-Za-z0-9_.-]+", "_", link_id).strip("_.") or "item"
            ident = prefix + local
        if ident in self.seen:
            raise RegcatError(
                f"{where}: linkId {link_id!r} gives the variable id {ident}, used twice", self.path
            )
        self.seen.add(ident)
        return ident

    # -- one Questionnaire -----------------------------------------------------------

    def questionnaire(self, q: dict, index: int) -> None:
        where = f"Questionnaire[{index}]"
        name = q.get("name") or q.get("id") or f"form{index}"
        form_id = _slug(name)
        own = _slug(self.register_id) + "_"
        if form_id.startswith(own) and len(form_id) > len(own):
            form_id = form_id[len(own) :]  # what regcat's export prefixed
        period = q.get("effectivePeriod") or {}
        self.result.forms.append(
            Form(
                id=form_id,
                name=LocalizedText(nb=q.get("title") or name),
                description=LocalizedText(nb=q["description"]) if q.get("description") else None,
                valid_from=(period.get("start") or "")[:10] or None,
                valid_to=(period.get("end") or "")[:10] or None,
            )
        )
        items = list(self._walk(q.get("item") or [], f"{where}.item"))
        for item, item_where in items:  # ids first: enableWhen may point forward
            self.ids[item["linkId"]] = self.variable_id(item["linkId"], item_where)
        for item, item_where in items:
            self.item(item, item_where, form_id)

    def _walk(self, items: list[dict], where: str):
        for i, item in enumerate(items):
            here = f"{where}[{i}] {item.get('linkId')!r}"
            if item.get("type") == "group":
                yield from self._walk(item.get("item") or [], f"{here}.item")
            elif item.get("type") == "display":
                continue  # help texts are read with their parent item
            else:
                yield item, here

    def item(self, item: dict, where: str, form_id: str) -> None:
        ident = self.ids[item["linkId"]]
        kind = item.get("type")
        datatype = DATATYPES.get(kind)
        if datatype is None:
            self.warn(where, f"item type {kind!r} has no regcat datatype; read as string")
            datatype = "string"
        fields: dict = {
            "id": ident,
            "register_id": self.register_id,
            "form": form_id,
            "label": LocalizedText(nb=item.get("text") or item["linkId"]),
            "datatype": datatype,
            "required": bool(item.get("required")),
            "status": "accepted",
        }
        helps = [
            child["text"]
            for child in item.get("item") or []
            if child.get("type") == "display" and child.get("text")
        ]
        if helps:
            fields["help_text"] = LocalizedText(nb="\n".join(helps))
        if item.get("maxLength") is not None:
            fields["max_length"] = item["maxLength"]
        codings = []
        for coding in item.get("code") or []:
            system = fhir.system_id(coding.get("system") or "")
            if system is None:
                self.warn(
                    where,
                    f"code {coding.get('code')!r} in system {coding.get('system')!r}, "
                    "which regcat does not know; left out",
                )
                continue
            codings.append(
                Coding(system=system, code=coding["code"], display=coding.get("display"))
            )
        if codings:
            fields["codings"] = codings
        fields.update(self.extensions(item, where, datatype))
        if datatype == "coded":
            vs = self.value_set(item, ident, where)
            if vs is not None:
                fields["value_set"] = vs.id
        rule = self.enable_when(item, where)
        if rule is not None:
            fields["activated_by"] = rule
        self.result.variables.append(Variable(**fields))

    def extensions(self, item: dict, where: str, datatype: str) -> dict:
        found: dict = {}
        for ext in item.get("extension") or []:
            url = ext.get("url")
            value = next((v for k, v in ext.items() if k.startswith("value")), None)
            if url in (fhir.EXT_MIN, fhir.EXT_MAX):
                found["min_value" if url == fhir.EXT_MIN else "max_value"] = str(value)
            elif url == fhir.EXT_SOFT_MIN:
                found["soft_min"] = str(value)
            elif url == fhir.EXT_SOFT_MAX:
                found["soft_max"] = str(value)
            elif url == fhir.EXT_DECIMALS:
                found["decimals"] = int(value)
            elif url == fhir.EXT_REGEX:
                found["pattern"] = str(value)
            elif url == fhir.EXT_UNIT and isinstance(value, dict) and value.get("code"):
                found["unit"] = value["code"]
        return found

    def value_set(self, item: dict, ident: str, where: str) -> ValueSet | None:
        codes: list[PermissibleValue] = []
        systems: set[str] = set()
        for option in item.get("answerOption") or []:
            if "valueCoding" in option:
                coding = option["valueCoding"]
                systems.add(coding.get("system") or "")
                label = LocalizedText(nb=coding["display"]) if coding.get("display") else None
                codes.append(PermissibleValue(code=coding["code"], label=label))
            else:
                value = next((v for k, v in option.items() if k.startswith("value")), None)
                codes.append(PermissibleValue(code=str(value), label=LocalizedText(nb=str(value))))
        if not codes and item.get("answerValueSet"):
            url = item["answerValueSet"]
            resource = self.value_sets_by_url.get(url)
            if resource is None:
                self.warn(where, f"answerValueSet {url} is not in the file; no value set imported")
                return None
            for include in (resource.get("compose") or {}).get("include") or []:
                systems.add(include.get("system") or "")
                listed = include.get("concept")
                if listed is None:
                    listed = (self.code_systems_by_url.get(include.get("system")) or {}).get(
                        "concept"
                    ) or []
                for concept in listed:
                    label = LocalizedText(nb=concept.get("display") or concept["code"])
                    for designation in concept.get("designation") or []:
                        if designation.get("language") == "en":
                            label.en = designation.get("value")
                    codes.append(PermissibleValue(code=concept["code"], label=label))
        if not codes:
            return None
        external = {fhir.system_id(s) for s in systems if s} - {None}
        code_system = external.pop() if len(external) == 1 and len(systems) == 1 else None
        vs = ValueSet(id=ident, code_system=code_system, codes=codes)
        self.result.value_sets.append(vs)
        return vs

    def enable_when(self, item: dict, where: str) -> ActivationRule | None:
        conditions = item.get("enableWhen") or []
        if not conditions:
            return None
        questions = {c.get("question") for c in conditions}
        if len(questions) > 1 and item.get("enableBehavior") == "all":
            self.warn(where, "enableWhen on several questions (all) cannot be kept; the first is")
        question = conditions[0].get("question")
        target = self.ids.get(question)
        if target is None:
            self.warn(
                where, f"enableWhen refers to {question!r}, not an item of this form; left out"
            )
            return None
        values = []
        for condition in conditions:
            if condition.get("question") != question:
                continue
            if condition.get("operator") != "=":
                self.warn(
                    where,
                    f"enableWhen operator {condition.get('operator')!r} cannot be kept; "
                    "only '=' is",
                )
                continue
            answer = next((v for k, v in condition.items() if k.startswith("answer")), None)
            if isinstance(answer, dict):
                values.append(str(answer.get("code")))
            elif isinstance(answer, bool):
                values.append("true" if answer else "false")
            elif answer is not None:
                values.append(str(answer))
        return ActivationRule(variable=target, values=values) if values else None


def read_questionnaire(path: Path, register_id: str) -> ImportResult:
    check_register_id(register_id)
    data = load_json(path, ("Questionnaire", "Bundle"), MAX_BYTES, "FHIR Questionnaire or Bundle")
    if data["resourceType"] == "Bundle":
        resources = [
            e["resource"]
            for e in data.get("entry") or []
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
        ]
    else:
        resources = [data]
    questionnaires = [r for r in resources if r.get("resourceType") == "Questionnaire"]
    if not questionnaires:
        raise RegcatError("the Bundle holds no Questionnaire", path)
    for i, resource in enumerate(resources):
        if resource.get("resourceType") in ("Questionnaire", "ValueSet", "CodeSystem"):
            validate_resource(resource, path, f"{resource['resourceType']}[{i}]")
    reader = _Reader(path, register_id, resources)
    for i, q in enumerate(questionnaires):
        reader.questionnaire(q, i)
    return reader.result
