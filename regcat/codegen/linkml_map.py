"""A linkml-map TransformationSpecification from a mapping set's transformations, for
the mappings linkml-map can express, with the minimal source and target schemas it
needs.

What is exported (checked against linkml-map 0.5.4's ObjectTransformer):

* value_map → a slot derivation `populated_from` the source column with
  `value_mappings` (source code → target code; several sources may share a target;
  an unmapped value gives null, as regcat's `CASE … ELSE NULL`);
* unit_conversion → an `expr` `{source} * factor + offset` (regcat's factor is the
  authority: linkml-map's own `unit_conversion` goes through pint/UCUM, which cannot
  convert e.g. mmol/L ↔ mg/dL and may round differently); null stays null;
* plain copies → `populated_from`: an `expression` transformation that is one variable
  (optionally followed by a value map), or a `skos:exactMatch` mapping without a
  transformation between two catalogue variables.

Skipped, with the reason (listed in a YAML comment and returned to the caller):
record linkage (a join on a person key, a date window and an aggregate: linkml-map maps
one object at a time), other expressions (linkml-map's expression language has other
null, division and rounding rules), unit conversions followed by a value map, columns
whose technical names are not identifiers, and mappings without a transformation that
are not exact matches between variables.

Conventions are regcat's transform conventions (regcat.codegen.transform): one source
class per register form, named CamelCase from `<register>_<form>` (`npr_episode` →
`NprEpisode`), whose attributes are the variables' technical names; one target class
per (source form, target form) pair, `<Register><Form>` (suffixed `From<Source>` when
one target form is fed by several source forms), with the source form's identifier
columns copied through and one attribute per target variable. So the rows regcat's SQL
reads are the objects linkml-map reads, and both give the same columns.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from regcat.codegen.schema import class_name
from regcat.codegen.transform import TransformError, compile_mapping, slug

BASE = "https://w3id.org/regcat/linkml-map/"

# LinkML ranges by regcat datatype. Decimals become float: linkml-map coerces a
# `decimal` range to Decimal, and regcat's SQL returns doubles.
_RANGES = {
    "string": "string",
    "integer": "integer",
    "decimal": "float",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "identifier": "string",
    "coded": "string",
}
_BARE_VARIABLE = re.compile(r"\s*([a-z][a-z0-9_]*:[A-Za-z0-9_]+)\s*")
LINKAGE_REASON = (
    "record linkage (join on the person key, date window, aggregate) cannot be expressed "
    "in linkml-map, which maps one object at a time"
)


@dataclass
class Skipped:
    record_id: str
    kind: str
    reason: str

    def render(self) -> str:
        return f"{self.record_id} ({self.kind}): {self.reason}"


@dataclass
class Export:
    spec: dict[str, Any]
    source_schema: dict[str, Any]
    target_schema: dict[str, Any]
    exported: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


@dataclass
class _Slot:
    record_id: str
    column: str  # target column
    derivation: dict[str, Any]
    source_columns: dict[str, str]  # column -> range
    target_range: str
    keys: list[str] = field(default_factory=list)  # the source form's identifier columns


def _kind(t: Any) -> str:
    return str(getattr(t.kind, "value", t.kind))


def _datatype(variable: Any) -> str:
    return str(getattr(variable.datatype, "value", variable.datatype))


def _range(catalogue: Any, variable_id: str) -> str:
    return _RANGES.get(_datatype(catalogue.variables[variable_id]), "string")


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and name.isascii()


def _number(value: float) -> str:
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise TransformError(f"not a finite number: {value!r}")
    return repr(number)


def _value_mappings(entries: list) -> dict[str, dict[str, str]]:
    return {str(e.source): {"key": str(e.source), "value": str(e.target)} for e in entries}


def _plan(catalogue: Any, mapping: Any) -> tuple[str, str, _Slot] | Skipped:
    """(source relation, target relation, slot) or why the mapping is skipped."""
    rid = mapping.record_id or f"{mapping.subject_id}->{mapping.object_id}"
    t = mapping.transformation
    kind = _kind(t) if t is not None else "none"
    if t is None:
        predicate = str(mapping.predicate_id or "")
        both = mapping.subject_id in catalogue.variables and (
            mapping.object_id in catalogue.variables
        )
        if predicate != "skos:exactMatch" or not both:
            return Skipped(
                rid,
                kind,
                "no transformation, and not a skos:exactMatch between two catalogue variables",
            )
        source_id, value_map = mapping.subject_id, None
    elif kind == "record_linkage":
        return Skipped(rid, kind, LINKAGE_REASON)
    elif kind == "expression":
        match = _BARE_VARIABLE.fullmatch(t.expression or "")
        if match is None:
            return Skipped(
                rid,
                kind,
                "only an expression that is one variable (a copy) is exported: linkml-map's "
                "expression language has other null, division and rounding rules",
            )
        source_id, value_map = match.group(1), t.value_map
    elif kind == "unit_conversion":
        if t.value_map:
            return Skipped(rid, kind, "a unit conversion followed by a value map")
        source_id, value_map = mapping.subject_id, None
    elif kind == "value_map":
        source_id, value_map = mapping.subject_id, t.value_map
    else:
        return Skipped(rid, kind, f"unknown transformation kind {kind!r}")

    # regcat's own compiler checks names, forms and value-map conflicts.
    stand_in = mapping
    if t is None or kind == "expression":
        from regcat.generated.model import Mapping, Transformation

        stand_in = Mapping.model_construct(
            record_id=rid,
            subject_id=source_id,
            object_id=mapping.object_id,
            transformation=Transformation.model_construct(
                kind="value_map" if value_map else "expression",
                value_map=value_map,
                expression=source_id,
            ),
        )
    try:
        compiled = compile_mapping(catalogue, stand_in)
    except TransformError as exc:
        return Skipped(rid, kind, f"regcat cannot compile it: {exc}")
    source, target = compiled.inputs[0], compiled.columns[-1]
    keys = compiled.columns[:-1]
    column = source_id.split(":", 1)[1]
    bad = [c for c in [*keys, column, target] if not _identifier(c)]
    if bad:
        return Skipped(rid, kind, f"column names are not identifiers: {', '.join(bad)}")
    target_form = catalogue.variables[mapping.object_id].form
    target_relation = f"{mapping.object_id.split(':', 1)[0]}_{target_form}"
    source_columns = {k: _range(catalogue, f"{source.split('_', 1)[0]}:{k}") for k in keys}
    source_columns.setdefault(column, _range(catalogue, source_id))
    derivation: dict[str, Any]
    if kind == "unit_conversion":
        uc = t.unit_conversion
        try:
            factor, offset = _number(uc.factor), _number(uc.offset or 0.0)
        except (TransformError, TypeError, ValueError) as exc:
            return Skipped(rid, kind, str(exc))
        derivation = {"expr": f"{{{column}}} * {factor} + {offset}"}
        derivation["unit_conversion_note"] = f"{uc.from_unit} -> {uc.to_unit}"
        target_range = "float"
    elif value_map:
        derivation = {"populated_from": column, "value_mappings": _value_mappings(value_map)}
        target_range = "string"
    else:
        derivation = {"populated_from": column}
        target_range = source_columns[column]
    return (
        source,
        target_relation,
        _Slot(rid, target, derivation, source_columns, target_range, keys),
    )


def build(catalogue: Any, mapping_set: Any, name: str) -> Export:
    """The specification and schemas for a mapping set (`name`: its file stem)."""
    stem = slug(name).replace("_", "-")
    planned: list[tuple[str, str, _Slot]] = []
    skipped: list[Skipped] = []
    mappings = sorted(mapping_set.mappings or [], key=lambda m: str(m.record_id or ""))
    for mapping in mappings:
        result = _plan(catalogue, mapping)
        if isinstance(result, Skipped):
            skipped.append(result)
        else:
            planned.append(result)

    # Group by (source relation, target relation), in a stable order.
    groups: dict[tuple[str, str], list[_Slot]] = {}
    for source, target, slot in sorted(planned, key=lambda p: (p[0], p[1], p[2].record_id)):
        groups.setdefault((source, target), []).append(slot)
    feeders: dict[str, int] = {}
    for _, target in groups:
        feeders[target] = feeders.get(target, 0) + 1

    used: set[str] = set()
    source_classes: dict[str, str] = {}
    for source, _ in groups:
        if source not in source_classes:
            source_classes[source] = class_name(source, used)
    source_attrs: dict[str, dict[str, Any]] = {c: {} for c in source_classes.values()}
    target_attrs: dict[str, dict[str, Any]] = {}
    derivations: list[dict[str, Any]] = []
    exported: list[str] = []
    target_used: set[str] = set()
    for (source, target), slots in groups.items():
        source_class = source_classes[source]
        suffix = f"From{source_class}" if feeders[target] > 1 else ""
        target_class = class_name(target, target_used, suffix=suffix)
        attrs: dict[str, Any] = {}
        slot_derivations: dict[str, Any] = {}
        for slot in slots:
            for column, rng in slot.source_columns.items():
                source_attrs[source_class].setdefault(column, {"range": rng})
        # the identifier columns first, copied through (as in regcat's SQL output)
        targets = {s.column for s in slots}
        for key in [k for k in slots[0].keys if k not in targets]:
            attrs[key] = {"range": slots[0].source_columns[key]}
            slot_derivations[key] = {"populated_from": key}
        for slot in slots:
            if slot.column in slot_derivations:
                skipped.append(
                    Skipped(
                        slot.record_id,
                        "duplicate",
                        f"{target_class}.{slot.column} is already derived by another mapping",
                    )
                )
                continue
            derivation = dict(slot.derivation)
            note = derivation.pop("unit_conversion_note", None)
            derivation["comments"] = [slot.record_id] + ([note] if note else [])
            attrs[slot.column] = {"range": slot.target_range}
            slot_derivations[slot.column] = derivation
            exported.append(slot.record_id)
        target_attrs[target_class] = attrs
        derivations.append(
            {
                "name": target_class,
                "populated_from": source_class,
                "slot_derivations": slot_derivations,
            }
        )

    source_name = f"regcat_{slug(name)}_source"
    target_name = f"regcat_{slug(name)}_target"
    spec: dict[str, Any] = {
        "id": f"{BASE}{stem}",
        "title": f"regcat mapping set {name}",
        "description": (
            f"Transformations of the regcat mapping set {name} that linkml-map can run: "
            f"{len(exported)} exported, {len(skipped)} skipped (see the comments above)."
        ),
        "source_schema": {"name": source_name},
        "target_schema": {"name": target_name},
        "class_derivations": derivations,
    }
    return Export(
        spec=spec,
        source_schema=_schema(source_name, source_attrs, "source"),
        target_schema=_schema(target_name, target_attrs, "target"),
        exported=sorted(exported),
        skipped=sorted(skipped, key=lambda s: s.record_id),
    )


def _schema(name: str, classes: dict[str, dict[str, Any]], side: str) -> dict[str, Any]:
    return {
        "id": f"{BASE}{name}",
        "name": name,
        "description": f"Minimal {side} schema for a regcat linkml-map specification.",
        "prefixes": {"linkml": "https://w3id.org/linkml/", name: f"{BASE}{name}/"},
        "default_prefix": name,
        "default_range": "string",
        "imports": ["linkml:types"],
        "classes": {c: {"attributes": attrs} for c, attrs in classes.items()},
    }


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100_000, indent=2)


def _comments(lines: list[str]) -> str:
    return "".join("# " + " ".join(line.split()) + "\n" for line in lines)


def schema_paths(spec_path: Path) -> tuple[Path, Path]:
    """Where the source and target schemas go beside a spec file `x.yaml`."""
    stem = spec_path.name.removesuffix(".yaml").removesuffix(".yml")
    return (
        spec_path.with_name(f"{stem}.source-schema.yaml"),
        spec_path.with_name(f"{stem}.target-schema.yaml"),
    )


def render(export: Export, what: str, version: str, spec_path: Path | None = None) -> dict:
    """{'spec', 'source', 'target'} → YAML text, each with the catalogue-version header."""
    from regcat.codegen.header import header

    head = header("#", what, version)
    if spec_path is not None:
        source_path, target_path = schema_paths(spec_path)
        run = (
            f"Run: linkml-map map-data -T {spec_path.name} -s {source_path.name} "
            f"--target-schema {target_path.name} --source-type <Class> data.yaml"
        )
    else:
        run = "Schemas: the second (source) and third (target) YAML documents of this stream."
    lines = [
        "linkml-map TransformationSpecification (checked with linkml-map 0.5.4).",
        run,
        f"Exported: {', '.join(export.exported) or 'none'}.",
    ]
    if export.skipped:
        lines.append("Skipped (linkml-map cannot express them):")
        lines += [f"- {s.render()}" for s in export.skipped]
    spec = head + _comments(lines) + _dump(export.spec)
    source = head + _comments(["linkml-map source schema."]) + _dump(export.source_schema)
    target = head + _comments(["linkml-map target schema."]) + _dump(export.target_schema)
    return {"spec": spec, "source": source, "target": target}
