"""The FHIRPath that EHR bindings are written in: parsed, checked against the FHIR R4
structure, and compiled to DuckDB SQL.

Bindings use the part of FHIRPath that a column expression over stored resources needs
(as SQL-on-FHIR view definitions do): a resource type, then element names,
`ofType(Type)` on a choice element, `where(element = 'text')` and `first()`. Anything
else is refused with the column where it stands. The general FHIRPath libraries for
Python (fhirpathpy, built on ANTLR ≥ 4.10) cannot be installed beside LinkML, which
pins ANTLR < 4.10, and none compiles to SQL, which bulk prefill needs.

Element names are checked against fhir.resources' R4B models (R4's structure on
pydantic 2), which also say whether an element repeats and what type it has.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass
from functools import cache
from importlib import import_module

from regcat.errors import RegcatError

_TOKEN = re.compile(
    r"\s*(?:(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|`(?P<delimited>[^`]*)`"
    r"|'(?P<string>(?:[^'\\]|\\.)*)'|(?P<number>-?\d+(?:\.\d+)?)|(?P<op>[.()=]))"
)
_FUNCTIONS = ("where", "ofType", "first")


class FhirPathError(RegcatError):
    """A FHIRPath that cannot be parsed or does not fit the FHIR structure."""


@dataclass(frozen=True)
class Step:
    kind: str  # "element" | "where" | "ofType" | "first"
    name: str = ""  # element name, the where() element, or the ofType() type
    value: str | None = None  # the where() literal


@dataclass(frozen=True)
class Parsed:
    text: str
    resource: str
    steps: tuple[Step, ...]


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FhirPathError(
                f"FHIRPath {text!r}: unexpected {text[pos:].strip()[:1]!r} at column {pos + 1}"
            )
        kind = match.lastgroup or "op"
        value = match.group(kind)
        if kind == "delimited":
            kind = "ident"
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value)
        out.append((kind, value, match.start(kind) + 1))
        pos = match.end()
    return out


def parse(text: str) -> Parsed:
    """Parse a binding's FHIRPath; raises FhirPathError naming the column."""
    if not isinstance(text, str) or not text.strip():
        raise FhirPathError("FHIRPath is empty")
    tokens = _tokens(text)
    i = 0

    def expect(kind: str, value: str | None = None) -> str:
        nonlocal i
        if i >= len(tokens):
            want = value or kind
            raise FhirPathError(f"FHIRPath {text!r}: expected {want!r} at the end")
        tk, tv, col = tokens[i]
        if tk != kind or (value is not None and tv != value):
            want = value or ("a name" if kind == "ident" else kind)
            raise FhirPathError(
                f"FHIRPath {text!r}: expected {want!r} at column {col}, found {tv!r}"
            )
        i += 1
        return tv

    resource = expect("ident")
    steps: list[Step] = []
    while i < len(tokens):
        expect("op", ".")
        col = tokens[i][2] if i < len(tokens) else len(text)
        name = expect("ident")
        if i < len(tokens) and tokens[i][1] == "(":
            if name not in _FUNCTIONS:
                raise FhirPathError(
                    f"FHIRPath {text!r}: function {name}() at column {col} is not supported "
                    f"(bindings may use {', '.join(f + '()' for f in _FUNCTIONS)})"
                )
            expect("op", "(")
            if name == "first":
                steps.append(Step("first"))
            elif name == "ofType":
                steps.append(Step("ofType", expect("ident")))
            else:
                element = expect("ident")
                expect("op", "=")
                if i < len(tokens) and tokens[i][0] in ("string", "number"):
                    literal = tokens[i][1]
                    i += 1
                else:
                    expect("string")
                    literal = ""
                steps.append(Step("where", element, literal))
            expect("op", ")")
        else:
            steps.append(Step("element", name))
    return Parsed(text, resource, tuple(steps))


# --- the FHIR structure -------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    json: str  # the key in FHIR JSON
    type: str  # FHIR type: "CodeableConcept", "dateTime", a backbone class name…
    many: bool


_PRIMITIVE_NAMES = {"Uri": "uri", "Url": "url", "Id": "id", "Oid": "oid", "Uuid": "uuid"}


def _fhir_models():
    return import_module("fhir.resources.R4B")


@cache
def _model(type_name: str):
    try:
        return _fhir_models().get_fhir_model_class(type_name)
    except (ValueError, KeyError):
        return None


def is_resource(type_name: str) -> bool:
    model = _model(type_name)
    if model is None:
        return False
    from fhir.resources.R4B.resource import Resource

    return issubclass(model, Resource) and type_name not in ("Resource", "DomainResource")


def _field_type(annotation) -> tuple[str, bool]:
    many = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Union or origin is types.UnionType:
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        elif origin in (list, typing.List):  # noqa: UP006 - fhir.resources uses typing.List
            many, annotation = True, typing.get_args(annotation)[0]
        elif origin is typing.Annotated:
            meta = typing.get_args(annotation)[1:]
            name = type(meta[0]).__name__ if meta else "string"
            return _PRIMITIVE_NAMES.get(name, name[:1].lower() + name[1:]), many
        else:
            break
    klass = getattr(annotation, "_model_klass", None)
    if isinstance(klass, str):
        return klass.rsplit(".", 1)[1], many
    plain = {"bool": "boolean", "str": "string", "int": "integer", "Decimal": "decimal"}
    name = getattr(annotation, "__name__", "str")
    return plain.get(name, name), many


@cache
def fields(type_name: str) -> dict[str, Field]:
    """A FHIR type's elements by JSON name (choice elements under each concrete name)."""
    model = _model(type_name)
    if model is None:
        return {}
    out: dict[str, Field] = {}
    for name, info in model.model_fields.items():
        if name.endswith("__ext") or name in ("resource_type", "fhir_comments"):
            continue
        json_name = info.alias or name
        kind, many = _field_type(info.annotation)
        out[json_name] = Field(json_name, kind, many)
    return out


@cache
def choices(type_name: str) -> dict[str, dict[str, str]]:
    """Choice elements: `value` -> {"Quantity": "valueQuantity", "dateTime": …}."""
    model = _model(type_name)
    out: dict[str, dict[str, str]] = {}
    if model is None:
        return out
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra or {}
        base = extra.get("one_of_many") if isinstance(extra, dict) else None
        if base and not name.endswith("__ext"):
            json_name = info.alias or name
            out.setdefault(base, {})[json_name[len(base) :]] = json_name
    return out


# --- resolving a parsed path --------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One step of a resolved path, in JSON terms."""

    kind: str  # "element" | "where" | "first"
    key: str = ""
    many: bool = False  # the element repeats
    type: str = ""  # FHIR type after the step
    value: str | None = None  # where(): the literal


@dataclass(frozen=True)
class Resolved:
    parsed: Parsed
    hops: tuple[Hop, ...]
    type: str  # FHIR type of the result
    many: bool  # the result can hold several values

    @property
    def text(self) -> str:
        return self.parsed.text


def resolve(text: str, resource: str | None = None) -> Resolved:
    """Parse and check a path against the R4 structure. With `resource`, the path must
    start from that resource type."""
    parsed = parse(text)
    if not is_resource(parsed.resource):
        raise FhirPathError(
            f"FHIRPath {text!r}: {parsed.resource!r} is not a FHIR R4 resource type"
        )
    if resource is not None and parsed.resource != resource:
        raise FhirPathError(
            f"FHIRPath {text!r} starts from {parsed.resource}, the binding's resource is {resource}"
        )
    current, many = parsed.resource, False
    hops: list[Hop] = []
    steps = list(parsed.steps)
    k = 0
    while k < len(steps):
        step = steps[k]
        if step.kind == "element":
            known = fields(current)
            if step.name in known:
                f = known[step.name]
            elif step.name in choices(current):
                options = choices(current)[step.name]
                # FHIR's own type names: dateTime, Quantity, …
                names = ", ".join(sorted(known[j].type for j in options.values()))
                nxt = steps[k + 1] if k + 1 < len(steps) else None
                if nxt is None or nxt.kind != "ofType":
                    raise FhirPathError(
                        f"FHIRPath {text!r}: {current}.{step.name} is a choice of "
                        f"{names}; say which with ofType(…)"
                    )
                wanted = nxt.name[:1].upper() + nxt.name[1:]
                if wanted not in options:
                    raise FhirPathError(
                        f"FHIRPath {text!r}: {current}.{step.name} cannot be {nxt.name} "
                        f"(one of {names})"
                    )
                f = known[options[wanted]]
                k += 1
            else:
                raise FhirPathError(f"FHIRPath {text!r}: {current} has no element {step.name!r}")
            hops.append(Hop("element", f.json, f.many, f.type))
            many = many or f.many
            current = f.type
        elif step.kind == "ofType":
            raise FhirPathError(
                f"FHIRPath {text!r}: ofType({step.name}) must follow a choice element"
            )
        elif step.kind == "where":
            known = fields(current)
            if step.name not in known or known[step.name].many or _model(known[step.name].type):
                raise FhirPathError(
                    f"FHIRPath {text!r}: where({step.name} = …) needs a single primitive "
                    f"element of {current}"
                )
            hops.append(Hop("where", step.name, type=current, value=step.value))
        elif step.kind == "first":
            hops.append(Hop("first", type=current))
            many = False
        k += 1
    return Resolved(parsed, tuple(hops), current, many)


def reference_element(resource: str) -> str | None:
    """The element that names the patient: `subject`, else `patient`."""
    known = fields(resource)
    for name in ("subject", "patient"):
        if name in known and known[name].type == "Reference" and not known[name].many:
            return name
    return None


# --- DuckDB ----------------------------------------------------------------------------


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def to_sql(resolved: Resolved, row: str = "r") -> tuple[str, bool]:
    """A DuckDB expression for the path over a row of the resource's table, and whether
    it is a list. Lambdas get numbered names so nested ones never shadow each other."""
    expr: str = row
    many = False
    for n, hop in enumerate(resolved.hops):
        var = f"x{n}"
        if hop.kind == "element":
            key = quote(hop.key)
            if not many:
                expr = f"{expr}.{key}" if expr == row else f"({expr}).{key}"
            elif hop.many:
                expr = f"flatten(list_transform({expr}, lambda {var}: {var}.{key}))"
            else:
                expr = f"list_transform({expr}, lambda {var}: {var}.{key})"
            many = many or hop.many
        elif hop.kind == "where":
            key = quote(hop.key)
            if many:
                expr = (
                    f"list_filter({expr}, lambda {var}: {var}.{key} = {literal(hop.value or '')})"
                )
            else:
                expr = f"CASE WHEN ({expr}).{key} = {literal(hop.value or '')} THEN {expr} END"
        elif hop.kind == "first" and many:
            expr = f"({expr})[1]"
            many = False
    return expr, many


# Sub-elements read for a complex type that a path ends on.
_LEAVES = {
    "CodeableConcept": {"coding": ("Coding", True), "text": ("string", False)},
    "Coding": {"system": ("uri", False), "code": ("code", False), "display": ("string", False)},
    "Quantity": {
        "value": ("decimal", False),
        "unit": ("string", False),
        "system": ("uri", False),
        "code": ("code", False),
    },
    "Identifier": {"system": ("uri", False), "value": ("string", False)},
    "Period": {"start": ("dateTime", False), "end": ("dateTime", False)},
    "Reference": {"reference": ("string", False)},
}


class ColumnTree:
    """The JSON columns a query reads from one resource type, merged over every path,
    as DuckDB types for read_json's `columns` (everything else in a resource is skipped
    by the reader). Leaves are read as text and cast where they are used."""

    def __init__(self) -> None:
        self.root: dict[str, tuple[bool, dict]] = {}

    def add_key(self, key: str, many: bool = False) -> dict:
        node = self.root.setdefault(key, (many, {}))
        return node[1]

    def add(self, resolved: Resolved) -> None:
        node = self.root
        for hop in resolved.hops:
            if hop.kind == "element":
                many, children = node.setdefault(hop.key, (hop.many, {}))
                node = children
            elif hop.kind == "where":
                node.setdefault(hop.key, (False, {}))
        self._leaves(node, resolved.type)

    def _leaves(self, node: dict, type_name: str) -> None:
        for key, (kind, many) in _LEAVES.get(type_name, {}).items():
            _, children = node.setdefault(key, (many, {}))
            self._leaves(children, kind)

    @staticmethod
    def _type(many: bool, children: dict) -> str:
        if children:
            inner = ", ".join(
                f"{quote(k)} {ColumnTree._type(m, c)}" for k, (m, c) in sorted(children.items())
            )
            base = f"STRUCT({inner})"
        else:
            base = "VARCHAR"
        return base + ("[]" if many else "")

    def columns(self) -> dict[str, str]:
        return {k: self._type(m, c) for k, (m, c) in sorted(self.root.items())}
