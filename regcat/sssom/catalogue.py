"""SSSOM sets in the catalogue: the model objects, the transformation side files,
the loader and checks used by `regcat validate`/`build`, and import/export."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from regcat.errors import Finding, RegcatError
from regcat.generated.model import (
    Mapping,
    MappingSet,
    Transformation,
    TransformationFile,
)
from regcat.io import parse_yaml, read_bytes, write_text_atomic
from regcat.layout import CODESYSTEMS, MAPPINGS, REGISTERS, ContentFile
from regcat.load import FileResult
from regcat.sssom.check import (
    Problem,
    check_sssom,
    raise_first,
    read_sssom_file,
)
from regcat.sssom.table import (
    SssomTable,
    _as_list,
    _scalar_text,
    read_sssom,
    split_values,
    write_sssom,
)
from regcat.sssom.vocab import (
    BUILTIN_PREFIXES,
    CATALOGUE_IRI_BASE,
    CATALOGUE_JUSTIFICATIONS,
    CATALOGUE_PREDICATES,
    JUSTIFICATIONS,
    MULTIVALUED,
    TRANSFORM_SUFFIX,
    TSV_SUFFIX,
)

# --- diffing (re-imports) -----------------------------------------------------------


@dataclass
class MappingChanges:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0

    def to_json(self) -> dict:
        return {
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "unchanged": self.unchanged,
        }


def _keyed(table: SssomTable) -> dict[str, dict[str, str]]:
    keyed: dict[str, dict[str, str]] = {}
    seen: Counter[str] = Counter()
    propagated = table.propagation()
    for row in table.rows:
        base = row.get("record_id") or " ".join(
            (
                row.get("subject_id") or row.get("subject_label", ""),
                row.get("predicate_id", ""),
                row.get("object_id") or row.get("object_label", ""),
            )
        )
        seen[base] += 1
        key = base if seen[base] == 1 else f"{base} (#{seen[base]})"
        keyed[key] = {**propagated, **{c: v for c, v in row.items() if v}}
    return keyed


def diff_tables(old: SssomTable | None, new: SssomTable) -> MappingChanges:
    """Mappings added, removed and changed, keyed by record_id, else by subject,
    predicate and object (a repeated triple is numbered in file order)."""
    before = _keyed(old) if old is not None else {}
    after = _keyed(new)
    changes = MappingChanges()
    for key, row in after.items():
        if key not in before:
            changes.added.append(key)
        elif before[key] != row:
            changes.changed.append(key)
        else:
            changes.unchanged += 1
    changes.removed = [key for key in before if key not in after]
    return changes


# --- the catalogue's model ------------------------------------------------------------

_MAPPING_FIELDS = tuple(f for f in Mapping.model_fields if f != "transformation")
_SET_FIELDS = tuple(f for f in MappingSet.model_fields if f != "mappings")


def _unrepresentable(table: SssomTable, index: int) -> tuple[str, str] | None:
    """Why the catalogue's model cannot hold this (valid SSSOM) mapping, if it cannot."""
    row = table.rows[index]
    predicate = row.get("predicate_id", "")
    if predicate and predicate not in CATALOGUE_PREDICATES:
        return (
            "predicate_id",
            f"{predicate} is kept in the file, but the catalogue uses only "
            + ", ".join(sorted(CATALOGUE_PREDICATES)),
        )
    justification = row.get("mapping_justification", "")
    if justification in JUSTIFICATIONS and justification not in CATALOGUE_JUSTIFICATIONS:
        return (
            "mapping_justification",
            f"{justification} is kept in the file, but the catalogue's model has no such "
            "justification",
        )
    for side in ("subject", "object"):
        if not row.get(f"{side}_id"):
            return (f"{side}_id", "a literal mapping is kept in the file, but not catalogued")
    return None


def _mapping_data(table: SssomTable, index: int, propagated: dict[str, str]) -> dict:
    data: dict[str, Any] = {}
    for name in _MAPPING_FIELDS:
        value = table.value(index, name, propagated)
        if not value:
            continue
        if name in MULTIVALUED:
            items = [v for v in split_values(value) if v]
            if items:
                data[name] = items
        else:
            data[name] = value
    return data


def _set_data(table: SssomTable, default_id: str | None) -> dict:
    data: dict[str, Any] = {}
    for name in _SET_FIELDS:
        value = table.meta.get(name)
        if value is None or value == "":
            continue
        if name in MULTIVALUED:
            data[name] = [_scalar_text(v) for v in _as_list(value)]
        elif isinstance(value, list | dict):
            continue  # reported by check_sssom
        else:
            data[name] = _scalar_text(value)
    if "mapping_set_id" not in data and default_id:
        data["mapping_set_id"] = default_id
    return data


def _convert(table: SssomTable, default_id: str | None) -> tuple[MappingSet, list[Problem]]:
    problems: list[Problem] = []
    path = table.path or "(mapping set)"
    mappings: list[Mapping] = []
    propagated = table.propagation()
    for index in range(len(table.rows)):
        skip = _unrepresentable(table, index)
        if skip is not None:
            problems.append(
                Problem(
                    path,
                    table.line_of(index),
                    skip[0],
                    table.entity(index),
                    skip[1],
                    "warning",
                    "mapping-model",
                )
            )
            continue
        try:
            mappings.append(Mapping.model_validate(_mapping_data(table, index, propagated)))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                name = ".".join(str(p) for p in error["loc"])
                problems.append(
                    Problem(
                        path,
                        table.line_of(index),
                        name,
                        table.entity(index),
                        _describe(error),
                        rule="schema",
                    )
                )
    data = _set_data(table, default_id)
    try:
        mapping_set = MappingSet.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = ".".join(str(p) for p in error["loc"])
            line = table.meta_key_lines.get(name)
            problems.append(
                Problem(
                    table.meta_path or path,
                    line,
                    name,
                    "mapping set",
                    _describe(error),
                    rule="schema",
                )
            )
        shell = {k: v for k, v in data.items() if k in ("mapping_set_id",)}
        shell.setdefault("mapping_set_id", default_id or "(mapping set)")
        mapping_set = MappingSet.model_validate(shell)
    mapping_set.mappings = mappings
    return mapping_set, problems


def _describe(error: dict) -> str:
    if error["type"] == "missing":
        return "required, but missing"
    message = error["msg"].removeprefix("Value error, ")
    if "input" in error and not isinstance(error["input"], dict | list):
        return f"{message}, got {error['input']!r}"
    return message


def to_mapping_set(table: SssomTable, default_id: str | None = None) -> MappingSet:
    """The set as the catalogue's model objects (known fields only, set-level values
    propagated to the mappings). Mappings the model cannot hold — a predicate other than
    the five SKOS mapping relations, a SEMAPV justification the model lacks, a literal
    end — are left out (they stay in the TSV). Raises RegcatError on a mapping that does
    not fit the model."""
    mapping_set, problems = _convert(table, default_id)
    raise_first(problems)
    return mapping_set


# --- the transformation side file -----------------------------------------------------

_KIND_FIELDS = {
    "value_map": "value_map",
    "unit_conversion": "unit_conversion",
    "expression": "expression",
    "record_linkage": "record_linkage",
}


def transform_path_for(tsv: Path) -> Path:
    name = tsv.name
    stem = name[: -len(TSV_SUFFIX)] if name.endswith(TSV_SUFFIX) else tsv.stem
    return tsv.with_name(stem + TRANSFORM_SUFFIX)


def mapping_digest(raw: bytes, side: bytes | None) -> str:
    """The content hash of a mapping set: its TSV, and its transformation file if any
    (so an edit of either is noticed by an incremental build)."""
    if side is None:
        return hashlib.sha256(raw).hexdigest()
    inner = hashlib.sha256(raw).hexdigest() + hashlib.sha256(side).hexdigest()
    return hashlib.sha256(inner.encode()).hexdigest()


def file_digest(file: ContentFile) -> str:
    """`mapping_digest` of a catalogue mapping file, as `load_mapping_file` records it."""
    side = transform_path_for(file.path)
    return mapping_digest(read_bytes(file.path), read_bytes(side) if side.is_file() else None)


@dataclass
class MappingFileResult(FileResult):
    """A loaded mapping file: the FileResult, plus the SSSOM table it came from (the
    curie_map decides which mapping ends are catalogue content)."""

    table: SssomTable | None = None
    transform_rel: str | None = None
    transform_lines: dict[str, int] = field(default_factory=dict)  # record_id -> line


def _item_lines(text: str, count: int) -> list[int]:
    """The line where each item of the top-level `transformations:` list starts (block
    style); line 1 for all when the layout is something else (e.g. flow style)."""
    starts: list[int] = []
    indent: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^(\s*)- ", line)
        if match and (indent is None or len(match.group(1)) == indent):
            indent = len(match.group(1))
            starts.append(number)
    return starts if len(starts) == count else [1] * count


def _load_transformations(
    result: MappingFileResult, side: Path, raw: bytes, record_ids: set[str]
) -> dict[str, Transformation]:
    rel = result.file.rel.rsplit("/", 1)
    side_rel = (rel[0] + "/" if len(rel) > 1 else "") + side.name
    result.transform_rel = side_rel
    doc = parse_yaml(raw, Path(side_rel))
    data = doc.data
    line = 1

    def finding(entity: str, message: str, rule: str = "transform", severity="error") -> None:
        result.findings.append(Finding(side_rel, line, entity, message, rule, severity))

    if data is None:
        return {}
    if not isinstance(data, dict) or set(data) - {"transformations"}:
        finding("transformations", "expected a mapping with one key, 'transformations: [...]'")
        return {}
    items = data.get("transformations") or []
    if not isinstance(items, list):
        finding("transformations", "expected a list of transformations")
        return {}
    found: dict[str, Transformation] = {}
    lines = _item_lines(doc.text, len(items))
    for number, item in enumerate(items, start=1):
        line = lines[number - 1]
        ident = item.get("record_id") if isinstance(item, dict) else None
        entity = str(ident) if ident else f"transformation #{number}"
        if isinstance(ident, str):
            result.transform_lines.setdefault(ident, line)
        try:
            transformation = TransformationFile.model_validate(
                {"transformations": [item]}
            ).transformations[0]  # type: ignore[index]
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                name = ".".join(str(p) for p in error["loc"][2:] if not isinstance(p, int))
                finding(entity, f"field '{name or '(entry)'}': {_describe(error)}", "schema")
            continue
        if not transformation.record_id:
            finding(entity, "field 'record_id': required, to name the mapping it transforms")
            continue
        if transformation.record_id in found:
            finding(
                entity,
                f"field 'record_id': {transformation.record_id!r} has more than one "
                "transformation (keep one)",
            )
            continue
        if transformation.record_id not in record_ids:
            finding(
                entity,
                f"field 'record_id': no mapping with record_id {transformation.record_id!r} "
                f"in {result.file.rel}",
            )
            continue
        kind_field = _KIND_FIELDS[transformation.kind]
        if getattr(transformation, kind_field) in (None, [], ""):
            finding(
                entity,
                f"field '{kind_field}': required for kind '{transformation.kind}', but missing",
            )
        # A record-linkage result may be recoded by a value map afterwards (e.g. `any`
        # → the register's Ja/Nei codes): the one combination that is not ignored.
        allowed = {kind_field} | (
            {"value_map"} if transformation.kind == "record_linkage" else set()
        )
        for other in sorted(set(_KIND_FIELDS.values()) - allowed):
            if getattr(transformation, other) not in (None, [], ""):
                finding(
                    entity,
                    f"field '{other}': ignored for kind '{transformation.kind}'",
                    severity="warning",
                )
        found[transformation.record_id] = transformation
    return found


CANDIDATE_PREFIX = "candidates"


def load_mapping_file(file: ContentFile) -> MappingFileResult:
    """Read one catalogue mapping set (and its transformation file): SSSOM problems and
    mappings that do not fit the model become findings; a file that is not a readable
    SSSOM table raises RegcatError."""
    raw = read_bytes(file.path)
    side = transform_path_for(file.path)
    side_raw = read_bytes(side) if side.is_file() else None
    table = read_sssom(raw, file.rel)
    result = MappingFileResult(file, mapping_digest(raw, side_raw), table=table)
    checked = check_sssom(table, catalogue=True)
    result.findings.extend(p.finding(with_line=True) for p in checked)
    mapping_set, problems = _convert(table, file.path.name)
    # A value the SSSOM check already reported (a bad date, a confidence above 1) would
    # fail the model too: report it once.
    seen = {(p.line, p.field) for p in checked}
    result.findings.extend(
        p.finding(with_line=True) for p in problems if (p.line, p.field) not in seen
    )
    # SSSOM 1.0 has no status column: a set written by `regcat suggest --write`
    # (candidates*.sssom.tsv) holds candidates for review; curated sets are approved.
    status = "candidate" if file.path.name.startswith(CANDIDATE_PREFIX) else "approved"
    for mapping in mapping_set.mappings or []:
        if mapping.status is None:
            mapping.status = status
    result.obj = mapping_set
    if side_raw is not None:
        record_ids = {row.get("record_id", "") for row in table.rows} - {""}
        transformations = _load_transformations(result, side, side_raw, record_ids)
        for mapping in mapping_set.mappings or []:
            if mapping.record_id in transformations:
                mapping.transformation = transformations[mapping.record_id]
    return result


def _is_catalogue_end(curie: str, curie_map: dict) -> bool:
    """Does this mapping end name catalogue content (a variable or a code)? Ends with a
    built-in SSSOM prefix, or a prefix the set declares with an IRI outside the
    catalogue's namespace, are external entities."""
    prefix = curie.partition(":")[0]
    if prefix in BUILTIN_PREFIXES:  # sssom:NoTermFound, owl:Thing, …
        return False
    declared = curie_map.get(prefix)
    return not (isinstance(declared, str) and not declared.startswith(CATALOGUE_IRI_BASE))


def check_mapping_set(result: FileResult) -> None:
    """Record what the mappings refer to (variables, code systems) for the cross-file
    check, and check codes, code prefixes and units of the transformations."""
    from regcat import codes  # its ICD-10 tables cost ~80 ms to import: only when needed

    mapping_set = result.obj
    table = getattr(result, "table", None)
    curie_map = table.curie_map if table is not None else {}
    side_rel = getattr(result, "transform_rel", None) or result.file.rel
    side_lines = getattr(result, "transform_lines", {})
    refers = result.symbols.refers
    for mapping in mapping_set.mappings or []:
        entity = mapping.record_id or f"{mapping.subject_id}→{mapping.object_id}"
        for name in ("subject_id", "object_id"):
            curie = getattr(mapping, name)
            if not _is_catalogue_end(curie, curie_map):
                continue
            refers.append(("term", curie, entity, name))
            prefix, _, local = curie.partition(":")
            if prefix in codes.KNOWN_SYSTEMS:
                problem = codes.check(prefix, local)
                if problem:
                    result.findings.append(
                        Finding(
                            result.file.rel,
                            None,
                            entity,
                            f"field '{name}': {curie}: {problem}",
                            "code",
                        )
                    )
        if mapping.transformation is not None:
            line = side_lines.get(mapping.record_id or "", 1)
            _check_transformation(result, side_rel, line, entity, mapping.transformation)


def _check_transformation(
    result: FileResult,
    side_rel: str,
    line: int | None,
    entity: str,
    transformation: Transformation,
) -> None:
    from regcat import codes

    refers = result.symbols.refers

    def finding(message: str, rule: str) -> None:
        result.findings.append(Finding(side_rel, line, entity, message, rule))

    linkage = transformation.record_linkage
    if transformation.kind == "record_linkage" and linkage is not None:
        where = "transformation.record_linkage."
        for name in ("anchor", "event_date", "code_variable", "value_variable"):
            value = getattr(linkage, name)
            if value:
                refers.append(("variable", value, entity, where + name))
        if linkage.code_system:
            refers.append(("code_system", linkage.code_system, entity, where + "code_system"))
        for prefix in linkage.code_prefixes or []:
            if not linkage.code_system:
                finding(f"field '{where}code_prefixes': needs a code_system", "transform")
                break
            problem = codes.check_prefix(linkage.code_system, prefix)
            if problem:
                finding(
                    f"field '{where}code_prefixes': {linkage.code_system} {prefix!r}: {problem}",
                    "code",
                )
        start, end = linkage.window_start_days, linkage.window_end_days
        if start is not None and end is not None and start > end:
            finding(
                f"field '{where}window_start_days': {start} is after window_end_days {end}",
                "transform",
            )
    conversion = transformation.unit_conversion
    if transformation.kind == "unit_conversion" and conversion is not None:
        for name in ("from_unit", "to_unit"):
            unit = getattr(conversion, name)
            problem = codes.check_unit(unit)
            if problem:
                finding(
                    f"field 'transformation.unit_conversion.{name}': {unit!r}: {problem}", "unit"
                )
    if transformation.kind == "value_map":
        sources = Counter(entry.source for entry in transformation.value_map or [])
        for source, count in sorted(sources.items()):
            if count > 1:
                finding(
                    f"field 'transformation.value_map': source {source!r} appears {count} "
                    "times (a source maps to one target)",
                    "transform",
                )


# --- import and export ----------------------------------------------------------------

_SET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def set_name_for(path: Path, name: str | None = None) -> str:
    """The catalogue name of a set: `--name`, else the file name without `.sssom.tsv`."""
    if name is None:
        base = path.name
        for suffix in (TSV_SUFFIX, ".tsv"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
                break
        candidate = base
    else:
        candidate = name.removesuffix(TSV_SUFFIX)
    if not _SET_NAME.fullmatch(candidate) or candidate.endswith(".transform"):
        source = "--name" if name is not None else "the file name"
        raise RegcatError(
            f"{source} gives the set name {candidate!r}; use letters, digits, '_', '-' and "
            "'.' (e.g. --name noric_npr)"
        )
    return candidate


def catalogue_prefixes(root: Path) -> set[str]:
    """Prefixes a catalogue resolves without a curie_map: register ids (variable ids
    are `<register>:<name>`) and code system ids."""
    found = {p.stem for p in (root / REGISTERS).glob("*.yaml") if not p.name.startswith(".")}
    path = root / CODESYSTEMS
    if path.is_file():
        try:
            data = parse_yaml(read_bytes(path), path).data
        except RegcatError:
            data = None
        if isinstance(data, dict):
            for item in data.get("code_systems") or []:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    found.add(item["id"])
    return found


@dataclass
class SssomImport:
    path: Path
    rel: str
    written: bool
    mappings: int
    changes: MappingChanges
    replaced: bool
    findings: list[Finding] = field(default_factory=list)

    def summary(self) -> str:
        c = self.changes
        return (
            f"{self.mappings} mappings ({len(c.added)} added, {len(c.removed)} removed, "
            f"{len(c.changed)} changed)"
        )

    def to_json(self) -> dict:
        return {
            "path": str(self.path),
            "written": self.written,
            "replaced": self.replaced,
            "mappings": self.mappings,
            "changes": self.changes.to_json(),
            "findings": [f.to_json() for f in self.findings],
        }


def import_sssom(root: Path, source: Path, name: str | None = None) -> SssomImport:
    """Read and check an external SSSOM/TSV file (and its `.sssom.yml`), then store it
    losslessly as `mappings/<name>.sssom.tsv`, replacing a set of that name. Invalid
    input raises RegcatError before anything is written. Returns what changed and the
    catalogue findings about the stored set (e.g. a mapping to a variable that does not
    exist)."""
    set_name = set_name_for(source, name)
    table = read_sssom_file(source, check=False)
    raise_first(check_sssom(table, prefixes=catalogue_prefixes(root)))
    text = write_sssom(table)
    again = read_sssom(text.encode("utf-8"), source)
    if again != table:  # pragma: no cover - a bug, never the user's input
        raise RegcatError("internal error: the set would not read back the same; nothing written")
    target = root / MAPPINGS / (set_name + TSV_SUFFIX)
    rel = target.relative_to(root).as_posix()
    old = None
    if target.is_file():
        try:
            old = read_sssom_file(target, check=False)
        except RegcatError:
            old = None  # an unreadable file is replaced; every mapping counts as added
    changes = diff_tables(old, table)
    written = False
    if not target.is_file() or target.read_bytes() != text.encode("utf-8"):
        write_text_atomic(target, text)
        written = True
    from regcat.catalogue import validate_catalogue

    report = validate_catalogue(root, jobs=1)
    side_rel = transform_path_for(target).relative_to(root).as_posix()
    findings = [f for f in report.findings if f.path in (rel, side_rel)]
    return SssomImport(target, rel, written, len(table.rows), changes, old is not None, findings)


def mapping_set_files(root: Path) -> list[Path]:
    directory = root / MAPPINGS
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*" + TSV_SUFFIX) if not p.name.startswith("."))


def export_sssom(root: Path, set_name: str | None = None) -> list[tuple[str, str, int]]:
    """The catalogue's mapping sets as SSSOM/TSV text: (file name, text, mappings) for
    each set, or only `set_name`. Transformations stay in their side files."""
    files = mapping_set_files(root)
    if set_name is not None:
        wanted = set_name.removesuffix(TSV_SUFFIX)
        files = [p for p in files if p.name == wanted + TSV_SUFFIX]
        if not files:
            known = ", ".join(p.name[: -len(TSV_SUFFIX)] for p in mapping_set_files(root))
            raise RegcatError(
                f"--set {set_name!r}: no such mapping set in {root / MAPPINGS}"
                + (f" (there are: {known})" if known else " (there are none)")
            )
    exported = []
    for path in files:
        table = read_sssom_file(path, check=False)
        exported.append((path.name, write_sssom(table), len(table.rows)))
    return exported
