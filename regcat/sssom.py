"""SSSOM TSV mapping sets: a YAML metadata block in `#` lines, then a TSV table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import yaml
from pydantic import ValidationError

from regcat.errors import Finding, RegcatError
from regcat.generated.model import Mapping, MappingSet
from regcat.io import decode_text, digest, read_bytes
from regcat.layout import ContentFile
from regcat.load import FileResult

MULTIVALUED = {"author_id", "reviewer_id", "creator_id"}


def parse_sssom(raw: bytes, path: Path | str) -> tuple[dict, list[tuple[int, dict]]]:
    """Return the metadata block and the rows (with their 1-based file line)."""
    text = decode_text(raw, Path(path), "SSSOM TSV")
    lines = text.splitlines()
    header = []
    first = 0
    while first < len(lines) and lines[first].startswith("#"):
        header.append(lines[first][1:])
        first += 1
    try:
        meta = yaml.safe_load("\n".join(header)) if header else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise RegcatError(
            "malformed SSSOM metadata block (YAML in '#' lines)", path, line
        ) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise RegcatError("SSSOM metadata block must be a YAML mapping", path, 1)
    reader = csv.reader(io.StringIO("\n".join(lines[first:])), delimiter="\t")
    rows: list[tuple[int, dict]] = []
    columns: list[str] | None = None
    for offset, values in enumerate(reader):
        line = first + offset + 1
        if columns is None:
            columns = values
            missing = {"subject_id", "predicate_id", "object_id"} - set(columns)
            if missing:
                raise RegcatError(
                    f"not an SSSOM table: missing column(s) {', '.join(sorted(missing))}",
                    path,
                    line,
                )
            continue
        if not values or values == [""]:
            continue
        if len(values) != len(columns):
            raise RegcatError(
                f"row has {len(values)} fields, the header has {len(columns)}", path, line
            )
        rows.append((line, {c: v for c, v in zip(columns, values, strict=True) if v != ""}))
    return meta, rows


def _mapping(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if key in MULTIVALUED:
            out[key] = [v for v in value.split("|") if v]
        elif key in Mapping.model_fields:
            out[key] = value
    return out


def load_mapping_file(file: ContentFile) -> FileResult:
    raw = read_bytes(file.path)
    meta, rows = parse_sssom(raw, file.rel)
    result = FileResult(file, digest(raw))
    mappings = []
    for line, row in rows:
        ident = row.get("record_id") or f"{row.get('subject_id')}→{row.get('object_id')}"
        try:
            mappings.append(Mapping.model_validate(_mapping(row)))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                fieldname = ".".join(str(p) for p in error["loc"])
                result.findings.append(
                    _finding(file.rel, line, ident, f"field '{fieldname}': {error['msg']}")
                )
    set_meta = {k: v for k, v in meta.items() if k in MappingSet.model_fields}
    set_meta.setdefault("mapping_set_id", file.path.name)
    try:
        result.obj = MappingSet.model_validate({**set_meta, "mappings": []})
        result.obj.mappings = mappings
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            fieldname = ".".join(str(p) for p in error["loc"])
            message = f"field '{fieldname}': {error['msg']}"
            result.findings.append(_finding(file.rel, 1, file.path.name, message))
    return result


def _finding(path: str, line: int | None, entity: str, message: str) -> Finding:
    return Finding(path, line, entity, message, "schema")


def check_mapping_set(result: FileResult) -> None:
    """Subjects and objects must be catalogue variables or codes in a known system."""
    for mapping in result.obj.mappings or []:
        entity = mapping.record_id or f"{mapping.subject_id}→{mapping.object_id}"
        for fieldname in ("subject_id", "object_id"):
            result.symbols.refers.append(("term", getattr(mapping, fieldname), entity, fieldname))
