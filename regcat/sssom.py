"""SSSOM/TSV mapping sets: read and write them losslessly, check them against the SSSOM
specification, and turn them into the catalogue's model objects.

A mapping set file is a YAML metadata block in `#` lines followed by a TSV table
(embedded mode), or a bare TSV table with its metadata in a `.sssom.yml` file beside it
(external mode). `read_sssom` keeps everything: metadata keys in file order (unknown and
extension keys too), every column in file order (extension columns too) and every cell
as text, so `write_sssom(read_sssom(x))` gives the same set back. Cells stay as their
TSV text (a multivalued cell is still `a|b`; `split_values` reads it), which keeps the
round trip exact and the reader fast.

The catalogue stores a set as `mappings/<set>.sssom.tsv`; how a mapping's values are
computed lives beside it in `mappings/<set>.transform.yaml`, keyed by record_id, so SSSOM
tools still read the TSV unchanged.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import io
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from regcat.errors import Finding, RegcatError
from regcat.generated.model import (
    Mapping,
    MappingJustification,
    MappingPredicate,
    MappingSet,
    Transformation,
    TransformationFile,
)
from regcat.io import decode_text, parse_yaml, read_bytes, write_text_atomic
from regcat.layout import CODESYSTEMS, MAPPINGS, REGISTERS, ContentFile
from regcat.load import FileResult

csv.field_size_limit(1 << 30)  # long comments are fine; the default stops at 128 KiB

TSV_SUFFIX = ".sssom.tsv"
YML_SUFFIX = ".sssom.yml"
TRANSFORM_SUFFIX = ".transform.yaml"

# --- the SSSOM vocabulary (from the SSSOM LinkML schema, version 1.1) --------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


BUILTIN_PREFIXES: dict[str, str] = {
    "owl": "http://www.w3.org/2002/07/owl#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "semapv": "https://w3id.org/semapv/vocab/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "sssom": "https://w3id.org/sssom/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "linkml": "https://w3id.org/linkml/",
}

MAPPING_SLOTS = _words(
    "record_id subject_id subject_label subject_category predicate_id predicate_label "
    "predicate_modifier object_id object_label object_category mapping_justification "
    "author_id author_label reviewer_id reviewer_label creator_id creator_label license "
    "subject_type subject_source subject_source_version object_type object_source "
    "object_source_version predicate_type mapping_provider mapping_source "
    "mapping_cardinality cardinality_scope mapping_tool mapping_tool_id "
    "mapping_tool_version mapping_date publication_date review_date confidence "
    "reviewer_agreement curation_rule curation_rule_text subject_match_field "
    "object_match_field match_string subject_preprocessing object_preprocessing "
    "similarity_score similarity_measure see_also issue_tracker_item other comment"
)

MAPPING_SET_SLOTS = _words(
    "sssom_version curie_map mapping_set_id mapping_set_version mapping_set_source "
    "mapping_set_title mapping_set_description mapping_set_confidence creator_id "
    "creator_label license subject_type subject_source subject_source_version object_type "
    "object_source object_source_version predicate_type mapping_provider cardinality_scope "
    "mapping_tool mapping_tool_id mapping_tool_version mapping_date publication_date "
    "subject_match_field object_match_field subject_preprocessing object_preprocessing "
    "similarity_measure curation_rule curation_rule_text see_also issue_tracker other "
    "comment extension_definitions"
)

# Set-level values that apply to every mapping (`propagated: true` in the schema).
PROPAGATABLE = frozenset(
    _words(
        "curation_rule curation_rule_text cardinality_scope mapping_date mapping_provider "
        "mapping_tool mapping_tool_id mapping_tool_version object_match_field "
        "object_preprocessing object_source object_source_version object_type "
        "subject_match_field subject_preprocessing subject_source subject_source_version "
        "subject_type predicate_type similarity_measure"
    )
)

MULTIVALUED = frozenset(
    _words(
        "author_id author_label reviewer_id reviewer_label creator_id creator_label "
        "cardinality_scope curation_rule curation_rule_text subject_match_field "
        "object_match_field match_string subject_preprocessing object_preprocessing see_also "
        "mapping_set_source"
    )
)

# Slots whose values are identifiers (EntityReference): CURIEs in SSSOM/TSV.
ENTITY_SLOTS = frozenset(
    _words(
        "record_id subject_id predicate_id object_id mapping_justification author_id "
        "reviewer_id creator_id subject_source object_source mapping_source mapping_tool_id "
        "subject_match_field object_match_field subject_preprocessing object_preprocessing "
        "curation_rule issue_tracker_item"
    )
)
URI_SLOTS = frozenset(
    _words("mapping_set_id license mapping_provider issue_tracker see_also mapping_set_source")
)
DATE_SLOTS = frozenset({"mapping_date", "publication_date", "review_date"})
RANGES = {
    "confidence": (0.0, 1.0),
    "similarity_score": (0.0, 1.0),
    "mapping_set_confidence": (0.0, 1.0),
    "reviewer_agreement": (-1.0, 1.0),
}
ENTITY_TYPES = frozenset(
    {
        "owl class",
        "owl object property",
        "owl data property",
        "owl annotation property",
        "owl named individual",
        "skos concept",
        "rdfs resource",
        "rdfs class",
        "rdfs literal",
        "rdfs datatype",
        "rdf property",
        "composed entity expression",
    }
)
ENUMS: dict[str, frozenset[str]] = {
    "subject_type": ENTITY_TYPES,
    "object_type": ENTITY_TYPES,
    "predicate_type": ENTITY_TYPES - {"rdfs literal", "composed entity expression"},
    "predicate_modifier": frozenset({"Not"}),
    "mapping_cardinality": frozenset({"1:1", "1:n", "n:1", "n:n", "1:0", "0:1", "0:0"}),
}
JUSTIFICATIONS = frozenset(
    "semapv:" + name
    for name in _words(
        "MappingReview ManualMappingCuration LogicalReasoning LexicalMatching "
        "CompositeMatching UnspecifiedMatching SemanticSimilarityThresholdMatching "
        "LexicalSimilarityThresholdMatching MappingChaining MappingInversion "
        "StructuralMatching InstanceBasedMatching BackgroundKnowledgeBasedMatching"
    )
)
_TYPED_SLOTS = ENTITY_SLOTS | frozenset(RANGES) | DATE_SLOTS | frozenset(ENUMS) | URI_SLOTS
SSSOM_VERSIONS = frozenset({"1.0", "1.1"})
REQUIRED_COLUMNS = ("subject_id", "predicate_id", "object_id", "mapping_justification")
NO_TERM_FOUND = "sssom:NoTermFound"
LITERAL = "rdfs literal"

# What the catalogue's model can hold (other valid SSSOM values are kept in the file).
CATALOGUE_PREDICATES = frozenset(p.value for p in MappingPredicate)
CATALOGUE_JUSTIFICATIONS = frozenset(j.value for j in MappingJustification)
# IRIs under this base name catalogue content (e.g. a declared register prefix).
CATALOGUE_IRI_BASE = "https://w3id.org/regcat/"

_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_XSD = "http://www.w3.org/2001/XMLSchema#"
_LINKML = "https://w3id.org/linkml/"


# --- the lossless table -------------------------------------------------------------


@dataclass
class SssomTable:
    """One SSSOM/TSV mapping set, as written: `meta` is the metadata block (keys in file
    order), `columns` the header, `rows` one dict per mapping with every column's cell
    text ("" for an empty cell). Equality compares these three only."""

    meta: dict[str, Any]
    columns: list[str]
    rows: list[dict[str, str]]
    path: str | None = field(default=None, compare=False, repr=False)
    # 1-based file line of each row, for messages
    lines: list[int] = field(default_factory=list, compare=False, repr=False)
    # where the metadata came from (the TSV itself, or the .sssom.yml beside it)
    meta_path: str | None = field(default=None, compare=False, repr=False)
    meta_key_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    # the metadata block exactly as read ('#' lines), written back while meta is unchanged
    meta_block: list[str] | None = field(default=None, compare=False, repr=False)
    _meta_as_read: Any = field(default=None, compare=False, repr=False)

    @property
    def curie_map(self) -> dict[str, str]:
        value = self.meta.get("curie_map")
        return value if isinstance(value, dict) else {}

    def line_of(self, index: int) -> int | None:
        return self.lines[index] if index < len(self.lines) else None

    def entity(self, index: int) -> str:
        """How messages name a mapping: its record_id, else subject→object."""
        row = self.rows[index]
        ident = row.get("record_id")
        if ident:
            return ident
        subject = row.get("subject_id") or row.get("subject_label") or "?"
        return f"{subject}→{row.get('object_id') or row.get('object_label') or '?'}"

    def propagation(self) -> dict[str, str]:
        """The set-level values every mapping has (SSSOM propagation), as cells. A slot
        that any mapping sets itself is not propagated (SSSOM model, "Propagation")."""
        found: dict[str, str] = {}
        for slot, value in self.meta.items():
            if slot not in PROPAGATABLE or value is None or value == "":
                continue
            if slot in self.columns and any(row.get(slot) for row in self.rows):
                continue
            found[slot] = (
                join_values(_scalar_text(v) for v in _as_list(value))
                if slot in MULTIVALUED
                else _scalar_text(value)
            )
        return found

    def value(self, index: int, slot: str, propagated: dict[str, str] | None = None) -> str:
        """A mapping's value after propagation: its own cell, else the set's value. Pass
        `propagation()` when asking for many values."""
        cell = self.rows[index].get(slot, "")
        if cell or slot not in PROPAGATABLE:
            return cell
        if propagated is None:
            propagated = self.propagation()
        return propagated.get(slot, "")


def split_values(cell: str) -> list[str]:
    """A multivalued cell's values: `|` separates, `\\|` is a pipe and `\\\\` a backslash
    inside a value; any other backslash is itself (SSSOM/TSV spec, multi-valued slots)."""
    if not cell:
        return []
    if "\\" not in cell:
        return cell.split("|")
    values, current, i, n = [], [], 0, len(cell)
    while i < n:
        ch = cell[i]
        if ch == "\\" and i + 1 < n and cell[i + 1] in "|\\":
            current.append(cell[i + 1])
            i += 2
            continue
        if ch == "|":
            values.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    values.append("".join(current))
    return values


def join_values(values: Iterable[str]) -> str:
    """The cell for a list of values (the inverse of `split_values`)."""
    return "|".join(v.replace("\\", "\\\\").replace("|", "\\|") for v in values)


def _as_list(value: Any) -> list:
    # SSSOM/TSV allows a single value where the metadata expects a list
    return value if isinstance(value, list) else [value]


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- reading ------------------------------------------------------------------------


def _strip_hashes(lines: list[str]) -> list[str]:
    """The YAML inside '#' lines: drop the '#' and the spaces every line has after it."""
    bodies = [line[1:] for line in lines]
    indents = [len(b) - len(b.lstrip(" ")) for b in bodies if b.strip()]
    common = min(indents) if indents else 0
    out = []
    for body in bodies:
        lead = len(body) - len(body.lstrip(" "))
        out.append(body[min(common, lead) :])
    return out


def _key_lines(yaml_lines: list[str], first_line: int) -> dict[str, int]:
    found: dict[str, int] = {}
    for number, line in enumerate(yaml_lines, start=first_line):
        match = re.match(r"([A-Za-z_][\w.-]*)\s*:", line)
        if match:
            found.setdefault(match.group(1), number)
    return found


def _parse_meta(text: str, path: str, what: str) -> dict:
    try:
        data = parse_yaml(text.encode("utf-8"), Path(path)).data
    except RegcatError as exc:
        message = exc.message.removeprefix("malformed YAML: ")
        raise RegcatError(f"malformed {what} (YAML): {message}", path, exc.line) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RegcatError(
            f"the {what} must be a YAML mapping ('key: value' lines), got {type(data).__name__}",
            path,
            1,
        )
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise RegcatError(f"{what}: keys must be slot names, got {bad[0]!r}", path)
    return data


def read_sssom(
    raw: bytes,
    path: Path | str,
    metadata: bytes | None = None,
    metadata_path: Path | str | None = None,
) -> SssomTable:
    """Parse SSSOM/TSV bytes (and, in external mode, the `.sssom.yml` bytes). Raises
    RegcatError, naming file and line, for what makes the file unreadable as a table:
    malformed metadata YAML, no header, a missing required column, a row whose number of
    fields differs from the header's, an empty line inside the table."""
    path = str(path)
    text = decode_text(raw, Path(path), "SSSOM TSV")
    # The metadata block: the leading lines that start with '#'.
    end = 0
    block: list[str] = []
    while end < len(text) and text.startswith("#", end):
        newline = text.find("\n", end)
        stop = len(text) if newline < 0 else newline + 1
        block.append(text[end:stop].rstrip("\r\n"))
        end = stop
    if block and metadata is not None:
        raise RegcatError(
            f"has an embedded metadata block and an external one in {metadata_path}: "
            "keep one of them",
            path,
            1,
        )
    table = SssomTable({}, [], [], path=path)
    if metadata is not None:
        meta_path = str(metadata_path or path)
        meta_text = decode_text(metadata, Path(meta_path), "SSSOM metadata YAML")
        yaml_lines = meta_text.splitlines()
        while yaml_lines and not yaml_lines[-1].strip():
            yaml_lines.pop()
        table.meta = _parse_meta("\n".join(yaml_lines), meta_path, "SSSOM metadata file")
        table.meta_path = meta_path
        table.meta_key_lines = _key_lines(yaml_lines, 1)
        table.meta_block = ["#" + line if line else "#" for line in yaml_lines]
    elif block:
        yaml_lines = _strip_hashes(block)
        table.meta = _parse_meta("\n".join(yaml_lines), path, "SSSOM metadata block")
        table.meta_path = path
        table.meta_key_lines = _key_lines(yaml_lines, 1)
        table.meta_block = block
    table._meta_as_read = copy.deepcopy(table.meta)
    _read_body(table, text[end:], path, len(block))
    return table


def _read_body(table: SssomTable, body: str, path: str, offset: int) -> None:
    reader = csv.reader(io.StringIO(body, newline=""), delimiter="\t", quotechar='"')
    header_line = offset + 1
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise RegcatError(f"malformed header line: {exc}", path, header_line) from None
    if not header or header == [""]:
        raise RegcatError(
            "no header line after the metadata block (expected column names such as "
            "subject_id, predicate_id, object_id, mapping_justification)"
            if header is None
            else "empty line where the header line was expected (the table must follow "
            "the metadata block directly)",
            path,
            header_line,
        )
    seen: set[str] = set()
    for name in header:
        if not name.strip():
            raise RegcatError("empty column name in the header line", path, header_line)
        if name in seen:
            raise RegcatError(f"column {name!r} appears twice", path, header_line, name)
        seen.add(name)
    _check_required_columns(table.meta, header, path, header_line)
    columns = header
    width = len(columns)
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    blank: int | None = None
    previous = reader.line_num
    try:
        for values in reader:
            line = offset + previous + 1
            previous = reader.line_num
            if not values:
                blank = blank or line
                continue
            if blank is not None:
                raise RegcatError("empty line inside the mappings block (remove it)", path, blank)
            if len(values) != width:
                raise RegcatError(
                    f"row has {len(values)} fields, the header has {width} "
                    "(fields are separated by tabs; a value with a tab must be quoted)",
                    path,
                    line,
                )
            rows.append(dict(zip(columns, values, strict=True)))
            lines.append(line)
    except csv.Error as exc:
        raise RegcatError(f"malformed row: {exc}", path, offset + reader.line_num) from None
    table.columns = list(columns)
    table.rows = rows
    table.lines = lines


def _check_required_columns(meta: dict, columns: list[str], path: str, line: int) -> None:
    missing = []
    for name in REQUIRED_COLUMNS:
        if name in columns:
            continue
        side = name.split("_")[0]
        # A literal mapping may leave subject_id/object_id out (SSSOM "literal mappings").
        if side in ("subject", "object") and (
            meta.get(f"{side}_type") == LITERAL or f"{side}_type" in columns
        ):
            continue
        missing.append(name)
    if missing:
        raise RegcatError(
            f"not an SSSOM table: missing column(s) {', '.join(missing)} "
            f"(the header has {', '.join(columns[:6])}{', …' if len(columns) > 6 else ''})",
            path,
            line,
            missing[0],
        )


def metadata_path_for(tsv: Path) -> Path:
    """Where an external metadata file for `tsv` lives: `x.sssom.tsv` → `x.sssom.yml`."""
    name = tsv.name
    stem = name[: -len(TSV_SUFFIX)] if name.endswith(TSV_SUFFIX) else tsv.stem
    return tsv.with_name(stem + YML_SUFFIX)


def read_sssom_file(path: Path, *, check: bool = True, prefixes: Iterable[str] = ()) -> SssomTable:
    """Read a TSV (and its `.sssom.yml` if there is one). With `check`, raise the first
    problem `check_sssom` finds (error severity) as a RegcatError."""
    raw = read_bytes(path)
    yml = metadata_path_for(path)
    meta_raw = read_bytes(yml) if yml.is_file() and not raw.startswith(b"#") else None
    table = read_sssom(raw, path, meta_raw, yml if meta_raw is not None else None)
    if check:
        raise_first(check_sssom(table, prefixes=prefixes))
    return table


# --- writing ------------------------------------------------------------------------


class _MetaDumper(yaml.SafeDumper):
    """Canonical SSSOM metadata: plain scalars where possible, else double-quoted."""

    def choose_scalar_style(self):  # type: ignore[override]
        style = super().choose_scalar_style()
        return '"' if style == "'" else style

    def increase_indent(self, flow: bool = False, indentless: bool = False):  # type: ignore[override]
        return super().increase_indent(flow, False)  # list items indented under their key


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_MetaDumper.add_representer(str, _represent_str)
_MetaDumper.add_representer(
    dt.date, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v.isoformat())
)


def dump_metadata(meta: dict) -> list[str]:
    """The metadata as YAML lines (no '#'): keys in the given order, block sequences."""
    if not meta:
        return []
    text = yaml.dump(
        meta,
        Dumper=_MetaDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1 << 30,
    )
    return text.splitlines()


def write_sssom(table: SssomTable) -> str:
    """SSSOM/TSV text, metadata embedded. The metadata block is written back exactly as
    it was read while `meta` is unchanged (comments, quoting and key order survive);
    otherwise it is dumped as canonical YAML. Rows are written with LF line ends and
    quotes only where needed (a tab, a line break or a double quote in the value)."""
    out = io.StringIO()
    if table.meta_block is not None and table.meta == table._meta_as_read:
        block = table.meta_block
    else:
        block = ["#" + line for line in dump_metadata(table.meta)]
    for line in block:
        out.write(line)
        out.write("\n")
    columns = table.columns
    tabs = len(columns) - 1
    out.write(_tsv_line(columns, tabs))
    for row in table.rows:
        out.write(_tsv_line([row.get(c, "") for c in columns], tabs))
    return out.getvalue()


_NEEDS_QUOTES = re.compile('["\t\r\n]')


def _tsv_line(values: list[str], tabs: int) -> str:
    line = "\t".join(values)
    if line.count("\t") == tabs and _NEEDS_QUOTES.search(line) is None:
        return line + "\n"
    return (
        "\t".join(
            '"' + v.replace('"', '""') + '"' if _NEEDS_QUOTES.search(v) else v for v in values
        )
        + "\n"
    )


# --- checking -----------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a mapping set, located in its file."""

    path: str
    line: int | None
    field: str | None
    entity: str
    message: str
    severity: str = "error"
    rule: str = "sssom"

    def error(self) -> RegcatError:
        return RegcatError(self.message, self.path, self.line, self.field)

    def finding(self, with_line: bool = True) -> Finding:
        where = f"field '{self.field}': " if self.field else ""
        line = self.line if with_line else None
        return Finding(self.path, line, self.entity, where + self.message, self.rule, self.severity)


def raise_first(problems: list[Problem]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise RegcatError(first.message + more, first.path, first.line, first.field)


class _Checker:
    def __init__(self, table: SssomTable, prefixes: Iterable[str], catalogue: bool) -> None:
        self.table = table
        self.catalogue = catalogue
        self.path = table.path or "(mapping set)"
        self.meta_path = table.meta_path or self.path
        self.problems: list[Problem] = []
        self.prefixes = set(BUILTIN_PREFIXES) | set(prefixes)
        self.version = _scalar_text(table.meta.get("sssom_version", "1.0"))
        self.extensions: dict[str, str] = {}  # slot name -> type hint IRI

    # where
    def meta_problem(self, key: str, message: str, severity: str = "error") -> None:
        # a missing key is reported at line 1, where the metadata starts
        line = self.table.meta_key_lines.get(key, 1)
        self.problems.append(Problem(self.meta_path, line, key, "mapping set", message, severity))

    def row_problem(self, index: int, column: str | None, message: str) -> None:
        self.problems.append(
            Problem(
                self.path,
                self.table.line_of(index),
                column,
                self.table.entity(index),
                message,
            )
        )

    # value checks: return a message or None
    def curie(self, value: str) -> str | None:
        prefix, sep, _ = value.partition(":")
        if not sep or not _PREFIX.fullmatch(prefix):
            return f"{value!r} is not a CURIE (expected prefix:local, e.g. skos:exactMatch)"
        if prefix in self.prefixes:
            return None
        if prefix.lower() in ("http", "https", "urn") or value.startswith(prefix + "://"):
            return f"{value!r} is an IRI; SSSOM/TSV expects a CURIE with a curie_map prefix"
        return f"prefix {prefix!r} of {value!r} is not declared in the curie_map"

    def check_value(self, slot: str, value: str) -> str | None:
        if slot in ENTITY_SLOTS:
            if self.catalogue and slot in ("subject_id", "object_id"):
                # catalogue ends (variables, codes) are resolved across files instead
                prefix, sep, _ = value.partition(":")
                if sep and _PREFIX.fullmatch(prefix):
                    return None
            return self.curie(value)
        if slot in RANGES:
            low, high = RANGES[slot]
            try:
                number = float(value)
            except ValueError:
                return f"{value!r} is not a number (expected {low:g} to {high:g})"
            if math.isnan(number) or not low <= number <= high:
                return f"{value} is outside {low:g}..{high:g}"
            return None
        if slot in DATE_SLOTS:
            return _date_problem(value)
        if slot in ENUMS:
            if value not in ENUMS[slot]:
                allowed = ", ".join(sorted(ENUMS[slot]))
                return f"{value!r} is not one of: {allowed}"
            return None
        if slot in URI_SLOTS and self.version != "1.0" and not _SCHEME.match(value):
            return f"{value!r} is not an absolute URI (expected e.g. https://…)"
        return None

    def check_extension(self, slot: str, value: str) -> str | None:
        hint = self.extensions.get(slot)
        if hint is None or not value:
            return None
        if hint == _XSD + "integer" and not re.fullmatch(r"[+-]?\d+", value):
            return f"{value!r} is not an integer (extension type {hint})"
        if hint == _XSD + "double":
            try:
                float(value)
            except ValueError:
                return f"{value!r} is not a number (extension type {hint})"
        if hint == _XSD + "boolean" and value not in ("true", "false"):
            return f"{value!r} is not true or false (extension type {hint})"
        if hint == _XSD + "date":
            return _date_problem(value)
        if hint == _LINKML + "Uriorcurie":
            return self.curie(value)
        return None

    def expand(self, curie: Any) -> str | None:
        if not isinstance(curie, str):
            return None
        prefix, sep, local = curie.partition(":")
        base = self.table.curie_map.get(prefix) or BUILTIN_PREFIXES.get(prefix)
        if sep and base:
            return base + local
        return curie if _SCHEME.match(curie) and "//" in curie else None

    # the parts
    def run(self) -> list[Problem]:
        self.check_curie_map()
        self.check_meta()
        self.check_rows()
        return self.problems

    def check_curie_map(self) -> None:
        raw = self.table.meta.get("curie_map")
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.meta_problem("curie_map", "must be a mapping of prefix: IRI prefix")
            return
        for prefix, iri in raw.items():
            if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
                self.meta_problem("curie_map", f"{prefix!r} is not a valid prefix name")
            elif not isinstance(iri, str) or not iri:
                self.meta_problem("curie_map", f"prefix {prefix!r} has no IRI prefix")
            elif prefix in BUILTIN_PREFIXES and iri != BUILTIN_PREFIXES[prefix]:
                self.meta_problem(
                    "curie_map",
                    f"built-in prefix {prefix!r} must expand to {BUILTIN_PREFIXES[prefix]}, "
                    f"not {iri}",
                )
            else:
                self.prefixes.add(prefix)

    def check_meta(self) -> None:
        meta = self.table.meta
        if self.version not in SSSOM_VERSIONS:
            self.meta_problem(
                "sssom_version",
                f"unsupported SSSOM version {self.version!r} (this reader knows 1.0 and 1.1)",
            )
        for key in ("mapping_set_id", "license"):
            value = meta.get(key)
            if value is None or value == "":
                self.meta_problem(key, "required by SSSOM, but missing from the metadata")
            elif not isinstance(value, str):
                self.meta_problem(key, f"expected a URI, got {value!r}")
        self.check_extension_definitions(meta.get("extension_definitions"))
        for key, value in meta.items():
            if key in ("curie_map", "extension_definitions", "sssom_version"):
                continue
            if key in MULTIVALUED:
                values = _as_list(value)
            elif isinstance(value, list | dict):
                self.meta_problem(key, "expected a single value, got a list or mapping")
                continue
            else:
                values = [value]
            for item in values:
                if isinstance(item, list | dict) or item is None:
                    self.meta_problem(key, f"expected a value, got {item!r}")
                    continue
                text = _scalar_text(item)
                if key in MAPPING_SET_SLOTS:
                    message = self.check_value(key, text)
                else:
                    message = self.check_extension(key, text)
                if message:
                    self.meta_problem(key, message)

    def check_extension_definitions(self, definitions: Any) -> None:
        # Invalid definitions are ignored, as the spec says; valid ones type their slot.
        if not isinstance(definitions, list):
            return
        for definition in definitions:
            if not isinstance(definition, dict):
                continue
            name = definition.get("slot_name")
            if not isinstance(name, str) or not _PREFIX.fullmatch(name):
                continue
            if set(definition) - {"slot_name", "property", "type_hint"}:
                continue
            hint = definition.get("type_hint", "xsd:string")
            expanded = self.expand(hint)
            if expanded is not None:
                self.extensions[name] = expanded

    def check_rows(self) -> None:
        table = self.table
        columns = table.columns
        meta = table.meta
        checks = []
        for column in columns:
            if column in MAPPING_SLOTS:
                if column in _TYPED_SLOTS:
                    checks.append((column, column in MULTIVALUED, self.check_value))
            elif column in self.extensions:
                checks.append((column, False, self.check_extension))
        literal = {
            side: f"{side}_type" in columns or meta.get(f"{side}_type") == LITERAL
            for side in ("subject", "object")
        }
        has_record_ids = "record_id" in columns
        propagated = table.propagation()
        record_ids: Counter[str] = Counter()
        cache: dict[tuple[str, str], str | None] = {}
        for index, row in enumerate(table.rows):
            for side in ("subject", "object"):
                if not row.get(f"{side}_id"):
                    if literal[side] and table.value(index, f"{side}_type", propagated) == LITERAL:
                        if not row.get(f"{side}_label"):
                            self.row_problem(
                                index, f"{side}_label", "a literal mapping needs its label"
                            )
                    else:
                        self.row_problem(index, f"{side}_id", "required, but empty")
            for column in ("predicate_id", "mapping_justification"):
                if not row.get(column):
                    self.row_problem(index, column, "required, but empty")
            justification = row.get("mapping_justification", "")
            if justification and justification not in JUSTIFICATIONS:
                self.row_problem(
                    index,
                    "mapping_justification",
                    f"{justification!r} is not a SEMAPV mapping justification "
                    "(expected semapv:ManualMappingCuration, semapv:LexicalMatching, …)",
                )
            for column, multi, check in checks:
                cell = row[column]
                if not cell or (column == "mapping_justification"):
                    continue
                for value in split_values(cell) if multi else (cell,):
                    key = (column, value)
                    if key in cache:
                        message = cache[key]
                    else:
                        message = cache[key] = check(column, value)
                    if message:
                        self.row_problem(index, column, message)
            if has_record_ids:
                record_ids[row["record_id"]] += 1
            if (row.get("review_date") or row.get("reviewer_agreement")) and not (
                row.get("reviewer_id") or row.get("reviewer_label")
            ):
                slot = "review_date" if row.get("review_date") else "reviewer_agreement"
                self.row_problem(
                    index, slot, "needs a reviewer_id or reviewer_label in the same row"
                )
            cardinality = row.get("mapping_cardinality")
            if cardinality:
                self.check_cardinality(index, row, cardinality)
        if has_record_ids:
            for index, row in enumerate(table.rows):
                ident = row["record_id"]
                if not ident:
                    self.row_problem(
                        index, "record_id", "empty, but other mappings have one (all must)"
                    )
                elif record_ids[ident] > 1:
                    self.row_problem(
                        index, "record_id", f"{ident!r} appears {record_ids[ident]} times"
                    )

    def check_cardinality(self, index: int, row: dict[str, str], value: str) -> None:
        none_s = row.get("subject_id") == NO_TERM_FOUND
        none_o = row.get("object_id") == NO_TERM_FOUND
        expected = {(True, True): "0:0", (True, False): "0:1", (False, True): "1:0"}
        want = expected.get((none_s, none_o))
        if want is not None and value != want:
            self.row_problem(
                index, "mapping_cardinality", f"must be {want} when an end is {NO_TERM_FOUND}"
            )
        elif want is None and value in ("1:0", "0:1", "0:0"):
            self.row_problem(
                index,
                "mapping_cardinality",
                f"{value} is only for mappings to {NO_TERM_FOUND}",
            )


def _date_problem(value: str) -> str | None:
    if not _DATE.fullmatch(value):
        return f"{value!r} is not a date (expected YYYY-MM-DD)"
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not a valid date"
    return None


def check_sssom(
    table: SssomTable, *, prefixes: Iterable[str] = (), catalogue: bool = False
) -> list[Problem]:
    """Everything wrong with a set by the SSSOM specification: required slots, CURIEs
    whose prefix is neither declared nor built-in, predicates that are not CURIEs,
    justifications outside SEMAPV, numbers out of range, bad dates and enum values,
    duplicate record ids. `prefixes` are known besides the curie_map (e.g. the
    catalogue's registers and code systems). In `catalogue` mode the subject/object
    prefixes are left to the catalogue's reference check instead."""
    return _Checker(table, prefixes, catalogue).run()


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
