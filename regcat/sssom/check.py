"""Checks of an SSSOM table against the SSSOM specification."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regcat.errors import Finding, RegcatError
from regcat.io import read_bytes
from regcat.sssom.table import (
    SssomTable,
    _as_list,
    _scalar_text,
    metadata_path_for,
    read_sssom,
    split_values,
)
from regcat.sssom.vocab import (
    _DATE,
    _LINKML,
    _PREFIX,
    _SCHEME,
    _TYPED_SLOTS,
    _XSD,
    BUILTIN_PREFIXES,
    DATE_SLOTS,
    ENTITY_SLOTS,
    ENUMS,
    JUSTIFICATIONS,
    LITERAL,
    MAPPING_SET_SLOTS,
    MAPPING_SLOTS,
    MULTIVALUED,
    NO_TERM_FOUND,
    RANGES,
    SSSOM_VERSIONS,
    URI_SLOTS,
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
