"""The lossless SSSOM table: read and write SSSOM/TSV (embedded or external metadata)."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from regcat.errors import RegcatError
from regcat.io import decode_text, parse_yaml
from regcat.sssom.vocab import (
    LITERAL,
    MULTIVALUED,
    PROPAGATABLE,
    REQUIRED_COLUMNS,
    TSV_SUFFIX,
    YML_SUFFIX,
)

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
