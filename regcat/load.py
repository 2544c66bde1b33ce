"""Read one content file into model objects, turning schema errors into findings.

Each file is handled on its own (so files can be parsed in parallel and skipped when
unchanged); what crosses files — ids one file defines and another refers to — is
collected as `Symbols` and checked by `regcat.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from regcat.errors import Finding, RegcatError
from regcat.generated.model import (
    CodeSystem,
    EhrBindingSet,
    Form,
    Instrument,
    Register,
    ValueSet,
    Variable,
)
from regcat.io import BINDING_LINE, YamlDocument, read_yaml
from regcat.layout import ContentFile

# Lists inside a register file and the model class of their items.
_REGISTER_LISTS: dict[str, type[BaseModel]] = {
    "forms": Form,
    "variables": Variable,
    "value_sets": ValueSet,
}


@dataclass
class Symbols:
    """Ids a file defines and the ids it refers to, for the cross-file checks."""

    defines: list[tuple[str, str]] = field(default_factory=list)  # (kind, id)
    # (kind, id, referring entity, field)
    refers: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass
class FileResult:
    file: ContentFile
    digest: str
    obj: Any = None  # Register | ValueSet | Instrument | list[CodeSystem] | MappingSet
    findings: list[Finding] = field(default_factory=list)
    symbols: Symbols = field(default_factory=Symbols)
    doc: YamlDocument | None = None

    def line_of(self, key: str | None) -> int | None:
        return self.doc.line_of(key) if self.doc is not None else None

    def finding(self, entity: str, message: str, rule: str, severity: str = "error") -> None:
        self.findings.append(
            Finding(self.file.rel, self.line_of(entity), entity, message, rule, severity)
        )


def _describe(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (not in the model; see schema/regcat.yaml)"
    if kind == "missing":
        return "required, but missing"
    message = error["msg"]
    if kind in ("enum", "literal_error"):
        return f"{message}, got {error.get('input')!r}"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    return message


def _schema_findings(result: FileResult, data: dict, exc: ValidationError, default: str) -> None:
    """One finding per pydantic error, attributed to the innermost entity with an id."""
    for error in exc.errors(include_url=False):
        entity, node, path = default, data, []
        for step in error["loc"]:
            path.append(str(step))
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                node = None
            if isinstance(node, dict):
                ident = node.get("id") or node.get("code")
                if isinstance(ident, str):
                    entity, path = ident, []
        fieldname = ".".join(p for p in path if not p.isdigit()) or "(entry)"
        result.finding(entity, f"field '{fieldname}': {_describe(error)}", "schema")


def _validate(
    result: FileResult, model: type[BaseModel], data: Any, entity: str
) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        _schema_findings(result, data if isinstance(data, dict) else {}, exc, entity)
        return None


def _load_register(result: FileResult, data: dict) -> None:
    register_id = data.get("id") if isinstance(data.get("id"), str) else result.file.path.stem
    register = _validate(result, Register, data, register_id)
    if register is None:
        # Keep what is valid, so one bad variable does not hide every reference check.
        shell = {k: v for k, v in data.items() if k not in _REGISTER_LISTS}
        quiet = FileResult(result.file, result.digest, doc=result.doc)
        register = _validate(quiet, Register, shell, register_id)
        if register is None:
            return
        for key, model in _REGISTER_LISTS.items():
            items = data.get(key)
            kept = []
            for item in items if isinstance(items, list) else []:
                try:
                    kept.append(model.model_validate(item))
                except ValidationError:
                    continue
            setattr(register, key, kept)
    result.obj = register
    stem = result.file.path.stem
    if register.id != stem:
        result.finding(register.id, f"register id must match the file name '{stem}'", "file-name")
    for variable in register.variables or []:
        # Derived, and known to be a valid id: skip validate_assignment, which costs
        # ~0.25 s per 100k variables.
        variable.__dict__["register_id"] = register.id


def _load_codesystems(result: FileResult, data: dict) -> None:
    items = data.get("code_systems")
    if not isinstance(items, list) or set(data) - {"code_systems"}:
        result.finding(
            "code_systems", "expected a mapping with one key, 'code_systems: [...]'", "schema"
        )
        return
    systems = []
    for item in items:
        ident = item.get("id", "(code system)") if isinstance(item, dict) else "(code system)"
        system = _validate(result, CodeSystem, item, ident)
        if system is not None:
            systems.append(system)
    result.obj = systems


def read_document(file: ContentFile) -> YamlDocument:
    """A content file's YAML, with the lines that name its entities: `id:`/`code:`, and
    in EHR binding files the `variable:` (or form, register) a binding is about."""
    doc = read_yaml(file.path)
    if file.kind == "ehr":
        doc.id_line = BINDING_LINE
    return doc


def load_file(file: ContentFile) -> FileResult:
    """Parse and schema-check one file. Unreadable or malformed files raise RegcatError."""
    if file.kind == "mappings":
        from regcat.sssom import load_mapping_file

        return load_mapping_file(file)
    doc = read_document(file)
    result = FileResult(file, doc.digest, doc=doc)
    data = doc.data
    if not isinstance(data, dict):
        raise RegcatError(
            f"expected a YAML mapping at the top of a {file.kind} file, got "
            f"{type(data).__name__ if data is not None else 'an empty file'}",
            file.rel,
        )
    ident = data.get("id") if isinstance(data.get("id"), str) else file.path.stem
    if file.kind == "register":
        _load_register(result, data)
    elif file.kind == "codesystems":
        _load_codesystems(result, data)
    elif file.kind == "valueset":
        result.obj = _validate(result, ValueSet, data, ident)
    elif file.kind == "instrument":
        result.obj = _validate(result, Instrument, data, ident)
    elif file.kind == "ehr":
        register_id = data.get("register_id")
        result.obj = _validate(
            result, EhrBindingSet, data, register_id if isinstance(register_id, str) else ident
        )
    return result
