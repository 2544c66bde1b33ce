"""A LinkML schema for one register's submissions, derived from the catalogue.

Each form becomes a class, each variable a slot, each value set an enum. LinkML's own
generators (see regcat.codegen.validators) then turn it into Pydantic, JSON Schema,
SHACL and SQL.

Names. Slot names come from the variable's technical name in lower_snake case; class
and enum names are CamelCase from the form and value-set ids. A name that is a Python
keyword, shadows something the generated modules use (`date`, `schema`, `register`,
`model_*`, BaseModel's methods, LinkML's type names…), starts with a digit or collides
with an earlier name is changed (suffix `_value`, prefix `v_`, numbers `_2`, `_3`…).
The original technical name is kept in `aliases` and in the `regcat_name` annotation,
the variable id in `regcat_id`.

What LinkML cannot express is kept as slot annotations (`regcat_*`), so nothing is
lost, but the generated validators do not check it:
- hard limits that are dates or tokens (`'1980-01-01'`, `today`, `regDate`, …): only
  numeric hard limits on integer/decimal variables become minimum_value/maximum_value;
- soft limits (normal range: a warning, not an error);
- decimals (number of decimal places);
- max_length on non-text variables (text variables get it in their pattern, together
  with allowed_characters);
- activated_by: a required sub-question is made optional (it must be empty when its
  activating question does not open it), with `regcat_required_when` saying when.

Retired variables are left out: a validator for new submissions should reject them.
"""

from __future__ import annotations

import keyword
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from regcat.catalogue import Catalogue
from regcat.errors import RegcatError
from regcat.generated.model import Form, LocalizedText, ValueSet, Variable

SCHEMA_BASE = "https://w3id.org/regcat/generated/"
PREFIX = "regcatgen"

_DATATYPE_RANGES = {
    "string": "string",
    "integer": "integer",
    "decimal": "decimal",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "identifier": "string",
}

# Slot names that break or shadow something in the generated code (Pydantic module
# globals and BaseModel attributes, LinkML type names, SQL words) besides keywords.
_RESERVED_SLOTS = frozenset(
    keyword.kwlist
    + keyword.softkwlist
    + [
        "date", "datetime", "time", "decimal", "re", "sys", "enum", "typing", "any",
        "optional", "union", "literal", "classvar", "field", "linkml_meta",
        "metamodel_version", "version", "model_config", "self", "cls", "schema",
        "register", "construct", "copy", "dict", "json", "validate", "from_orm",
        "parse_file", "parse_obj", "parse_raw", "schema_json", "update_forward_refs",
        "fields", "string", "integer", "boolean", "float", "double", "uri", "uriorcurie",
        "curie", "ncname", "str", "int", "bool", "list", "type", "object", "id", "table",
        "select", "order", "group", "where", "from", "user", "index", "key", "check",
        "default", "primary", "references", "column", "constraint",
    ]
)  # fmt: skip

# Class and enum names the generated modules (or LinkML's metamodel) already use.
_RESERVED_CLASSES = frozenset(
    {
        "Any", "BaseModel", "ClassVar", "ConfigDict", "ConfiguredBaseModel", "Decimal",
        "Enum", "Field", "LinkMLMeta", "Literal", "Optional", "RootModel", "Union",
        "SerializationInfo", "SerializerFunctionWrapHandler", "String", "Integer",
        "Boolean", "Float", "Double", "Date", "Datetime", "Time", "DateOrDatetime",
        "Uri", "Uriorcurie", "Curie", "Ncname", "Objectidentifier", "Nodeidentifier",
        "Jsonpointer", "Jsonpath", "Sparqlpath", "PermissibleValue", "ClassDefinition",
        "SlotDefinition", "EnumDefinition", "SchemaDefinition", "TypeDefinition",
        "Element", "Base", "Schema", "Register", "Container",
    }
)  # fmt: skip


def _words(text: str) -> list[str]:
    # Split camelCase and anything that is not a letter or digit; ASCII only.
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return [w for w in re.split(r"[^A-Za-z0-9]+", text.encode("ascii", "ignore").decode()) if w]


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 2
    while candidate.lower() in used:
        candidate, n = f"{name}_{n}" if name[-1:].islower() else f"{name}{n}", n + 1
    used.add(candidate.lower())
    return candidate


def slot_name(technical: str, used: set[str]) -> str:
    """lower_snake, a valid identifier, never reserved, unique within `used`."""
    name = "_".join(w.lower() for w in _words(technical)) or "variable"
    if name[0].isdigit():
        name = "v_" + name
    if name in _RESERVED_SLOTS or name.startswith("model_"):
        name += "_value"
    return _unique(name, used)


def class_name(ident: str, used: set[str], suffix: str = "") -> str:
    """CamelCase, a valid identifier, never reserved, unique within `used`."""
    name = "".join(w[:1].upper() + w[1:].lower() for w in _words(ident)) or "Form"
    if name[0].isdigit():
        name = "Form" + name
    name += suffix
    if name in _RESERVED_CLASSES:
        name += "Record"
    return _unique(name, used)


def _text(text: LocalizedText | None) -> tuple[str | None, str | None]:
    if text is None:
        return None, None
    return text.nb, text.en


def _description(variable: Variable) -> str:
    lines = []
    for lang, index in (("nb", 0), ("en", 1)):
        label = _text(variable.label)[index]
        definition = _text(variable.definition)[index]
        parts = [p for p in (label, definition) if p]
        if parts:
            lines.append(f"{lang}: " + " — ".join(parts))
    return "\n".join(lines)


def _number(value: str | None) -> int | float | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _char_class(chars: str) -> str:
    out = []
    for ch in sorted(set(chars)):
        if ch in '\\]^-["':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        else:
            out.append(ch)
    return "[" + "".join(out) + "]"


def _escape_quotes(pattern: str) -> str:
    """`"` as `\\"` (same regex): LinkML's Pydantic generator puts patterns in r"..."."""
    return re.sub(r'(?<!\\)((?:\\\\)*)"', r'\1\\"', pattern)


def _anchored(pattern: str) -> str:
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern
    return f"^({pattern})$"


def _text_pattern(variable: Variable) -> str | None:
    """pattern, allowed_characters and max_length of a text variable as one regex."""
    length = variable.max_length
    chars = variable.allowed_characters
    if chars or length is not None:
        quantifier = f"{{0,{length}}}" if length is not None else "*"
        any_char = r"[\s\S]"
        shape = f"^{_char_class(chars) if chars else any_char}{quantifier}$"
    else:
        shape = None
    if variable.pattern:
        own = _anchored(_escape_quotes(variable.pattern))
        # Both: a lookahead for the shape (Python and ECMA regexes support it).
        return own if shape is None else f"^(?={shape[1:-1]}$){own[1:]}"
    return shape


def _enum(value_set: ValueSet, prefixes: dict[str, str], systems: dict) -> dict:
    values: dict[str, Any] = {}
    for code in value_set.codes or []:
        if any(ch < " " or ch == "\\" for ch in code.code):
            # LinkML's Pydantic generator writes codes into string literals unescaped.
            raise RegcatError(
                f"value set {value_set.id}: code {code.code!r} contains a line break, a "
                "control character or a backslash; codes must be one line of printable "
                "text without backslashes"
            )
        entry: dict[str, Any] = {"text": code.code}
        nb, en = _text(code.label)
        label = " / ".join(p for p in (nb, en) if p)
        if label:
            entry["description"] = label
        if code.meaning and ":" in code.meaning and not code.meaning.startswith("http"):
            prefix = code.meaning.split(":", 1)[0]
            system = systems.get(prefix)
            if system is not None and system.uri_prefix:
                prefixes.setdefault(prefix, str(system.uri_prefix))
            else:
                prefixes.setdefault(prefix, f"https://w3id.org/regcat/codesystem/{prefix}/")
            entry["meaning"] = code.meaning
        elif code.meaning:
            entry["meaning"] = code.meaning
        values.setdefault(code.code, entry)
    enum: dict[str, Any] = {}
    nb, en = _text(value_set.name)
    title = " / ".join(p for p in (nb, en) if p)
    enum["description"] = title or value_set.id
    enum["annotations"] = {"regcat_id": value_set.id}
    enum["permissible_values"] = values
    return enum


def _annotate(slot: dict, key: str, value: Any) -> None:
    if value is None or value == "":
        return
    slot.setdefault("annotations", {})[key] = str(value)


def _slot(variable: Variable, enums: dict[str, str]) -> dict:
    technical = variable.id.split(":", 1)[1]
    datatype = _datatype(variable)
    slot: dict[str, Any] = {}
    nb, en = _text(variable.label)
    if nb or en:
        slot["title"] = nb or en
    description = _description(variable)
    if description:
        slot["description"] = description
    slot["aliases"] = [technical]
    slot["annotations"] = {"regcat_id": variable.id, "regcat_name": technical}
    if datatype == "coded":
        enum = enums.get(variable.value_set or "")
        slot["range"] = enum or "string"
        if enum is None:
            _annotate(slot, "regcat_value_set", variable.value_set or "(none)")
    else:
        slot["range"] = _DATATYPE_RANGES.get(datatype, "string")
    activated = variable.activated_by
    if variable.required and activated is None:
        slot["required"] = True
    elif variable.required:
        values = ", ".join(activated.values or [])
        _annotate(slot, "regcat_required_when", f"{activated.variable} in [{values}]")
    if activated is not None:
        _annotate(
            slot,
            "regcat_activated_by",
            f"{activated.variable} in [{', '.join(activated.values or [])}]",
        )
    numeric = slot["range"] in ("integer", "decimal")
    for key, target in (("min_value", "minimum_value"), ("max_value", "maximum_value")):
        raw = getattr(variable, key)
        number = _number(raw) if numeric else None
        if number is not None:
            slot[target] = number
        else:
            _annotate(slot, f"regcat_{key}", raw)
    _annotate(slot, "regcat_soft_min", variable.soft_min)
    _annotate(slot, "regcat_soft_max", variable.soft_max)
    _annotate(slot, "regcat_decimals", variable.decimals)
    if slot["range"] == "string" and datatype != "coded":
        pattern = _text_pattern(variable)
        if pattern:
            slot["pattern"] = pattern
    else:
        _annotate(slot, "regcat_max_length", variable.max_length)
        _annotate(slot, "regcat_allowed_characters", variable.allowed_characters)
        _annotate(slot, "regcat_pattern", variable.pattern)
    if variable.unit:
        slot["unit"] = {"ucum_code": variable.unit}
    return slot


def form_ids(catalogue: Catalogue, register_id: str) -> list[str]:
    return [f.id for f in catalogue.forms(register_id)]


def check_target(catalogue: Catalogue, register_id: str, form: str | None = None) -> None:
    """RegcatError (one line, listing the valid ids) on an unknown register or form."""
    if register_id not in catalogue.registers:
        valid = ", ".join(sorted(catalogue.registers)) or "(none)"
        raise RegcatError(f"unknown register {register_id!r}; registers: {valid}")
    if form is not None and form not in form_ids(catalogue, register_id):
        valid = ", ".join(form_ids(catalogue, register_id)) or "(none)"
        raise RegcatError(f"register {register_id!r} has no form {form!r}; forms: {valid}")


def register_schema(catalogue: Catalogue, register_id: str, form: str | None = None) -> dict:
    """The LinkML schema (a plain dict) for a register's forms, or for one form."""
    check_target(catalogue, register_id, form)
    register = catalogue.registers[register_id]
    variables = [v for v in register.variables or [] if _status(v) != "retired"]
    forms: list[tuple[str, Form | None]] = [(f.id, f) for f in register.forms or []]
    known = {fid for fid, _ in forms}
    if any(v.form not in known for v in variables):
        forms.append(("", None))  # a class for variables not assigned to a form
    if form is not None:
        forms = [(fid, f) for fid, f in forms if fid == form]
        variables = [v for v in variables if v.form == form]
    members: dict[str, list[Variable]] = {}
    for variable in variables:
        members.setdefault(variable.form if variable.form in known else "", []).append(variable)

    # Value sets the chosen variables use, in order of first use.
    enum_ids: list[str] = []
    for variable in variables:
        vs_id = variable.value_set
        if (
            _datatype(variable) == "coded"
            and vs_id
            and vs_id not in enum_ids
            and vs_id in catalogue.value_sets
        ):
            enum_ids.append(vs_id)

    class_names: set[str] = set()
    classes: dict[str, Any] = {}
    prefixes: dict[str, str] = {}
    enums: dict[str, Any] = {}
    enum_names: dict[str, str] = {}
    form_class: dict[str, str] = {}
    for fid, _ in forms:
        form_class[fid] = class_name(fid or f"{register_id}_other", class_names)
    for vs_id in enum_ids:
        local = vs_id.split(":", 1)[-1]
        enum_names[vs_id] = class_name(local, class_names, suffix="Enum")
    systems = catalogue.code_systems
    for vs_id in enum_ids:
        enums[enum_names[vs_id]] = _enum(catalogue.value_sets[vs_id], prefixes, systems)

    slot_names: set[str] = set()
    slots: dict[str, Any] = {}
    for fid, form_obj in forms:
        names = []
        for variable in members.get(fid, []):
            name = slot_name(variable.id.split(":", 1)[1], slot_names)
            slots[name] = _slot(variable, enum_names)
            names.append(name)
        cls: dict[str, Any] = {}
        if form_obj is not None:
            nb, en = _text(form_obj.name)
            if nb or en:
                cls["title"] = nb or en
            dnb, den = _text(form_obj.description)
            text = "\n".join(
                f"{lang}: " + " — ".join(p for p in parts if p)
                for lang, parts in (("nb", (nb, dnb)), ("en", (en, den)))
                if any(parts)
            )
            cls["description"] = text or f"Form {fid} of register {register_id}."
            cls["annotations"] = {"regcat_form": fid, "regcat_register": register_id}
        else:
            cls["description"] = f"Variables of register {register_id} not assigned to a form."
            cls["annotations"] = {"regcat_register": register_id}
        cls["slots"] = names
        classes[form_class[fid]] = cls

    nb, en = _text(register.name)
    schema: dict[str, Any] = {
        "id": f"{SCHEMA_BASE}{register_id}",
        "name": f"regcat_{register_id}" + (f"_{form}" if form else ""),
        "title": nb or en or register_id,
        "description": "\n".join(
            f"{lang}: {text}" for lang, text in (("nb", nb), ("en", en)) if text
        )
        or register_id,
        "prefixes": {
            "linkml": "https://w3id.org/linkml/",
            PREFIX: f"{SCHEMA_BASE}{register_id}/",
            **{p: prefixes[p] for p in sorted(prefixes) if p not in ("linkml", PREFIX)},
        },
        "default_prefix": PREFIX,
        "default_range": "string",
        "imports": ["linkml:types"],
        "classes": classes,
        "slots": slots,
        "enums": enums,
    }
    return schema


def _status(variable: Variable) -> str | None:
    return str(getattr(variable.status, "value", variable.status))


def _datatype(variable: Variable) -> str:
    return str(getattr(variable.datatype, "value", variable.datatype))
