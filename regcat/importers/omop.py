"""Import the OMOP Common Data Model (OHDSI) as a target model.

The OHDSI/CommonDataModel repository describes each CDM version in two CSV files:
`OMOP_CDMv5.4_Field_Level.csv` (one row per table and field: `cdmTableName`,
`cdmFieldName`, `isRequired`, `cdmDatatype`, `userGuidance`, `etlConventions`,
`isPrimaryKey`, `isForeignKey`, `fkTableName`, `fkFieldName`, `fkDomain`, `fkClass`, …)
and `OMOP_CDMv5.4_Table_Level.csv` (one row per table, with `tableDescription`). The
string `NA` stands for an empty cell in both.

`read_omop` turns the CDM into a register of the catalogue so that mappings, and the
transformations generated from them, can target it:

* each table is a form (id, name and `table` = the table name; its English
  description the Table_Level file's `tableDescription` when that file lies beside the
  Field_Level file under the matching name);
* each field is a variable `<register>:<table>.<field>` (`omop:person.person_id`) in
  that form, with `table`/`physical_name` the table and field, the field name as label
  (nb and en alike: the CDM has no Norwegian), `userGuidance` as English definition,
  `etlConventions` as English help text, `isRequired` as `required`;
* `cdmDatatype` maps to the catalogue's datatypes: integer/bigint → integer,
  varchar(n) → string with max_length n (varchar(MAX): no limit), date, datetime,
  float → decimal. Keys stay integer: an OMOP id is a surrogate integer the ETL
  assigns, and the CDM states it as integer;
* `source_type` keeps the CDM's own datatype as written, followed by the key
  information the catalogue has no slot for: `integer (primary key)`,
  `integer (FK CONCEPT.CONCEPT_ID; domain Condition)`. A concept FK says which OMOP
  vocabulary domain the concept must belong to, which a mapping author needs and which
  is not a code list the catalogue could hold (the concepts live in the OMOP
  vocabulary tables, downloaded separately from Athena under their own licences).

Decisions the real files forced: the CDM writes SQL reserved words quoted in the
field name (`note_nlp."offset"`): the quotes are dropped, the name is `offset`. Table
names are lower-cased (the CDM spells them lower case in `cdmTableName`, upper case in
`fkTableName`; SQL treats them alike), and so are field names.

Input the importer cannot use raises RegcatError naming the file, the line (of the
row's start: fields hold line breaks) and the column: a missing required column, a
file that is not UTF-8 text (UTF-16, binary), a row of the wrong width, an empty or
malformed table or field name, a table.field given twice, a yes/no column holding
something else. A datatype it does not know is imported as string and flagged.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from regcat.errors import RegcatError
from regcat.generated.model import Form, LocalizedText, Variable
from regcat.importers.base import ImportResult, check_register_id
from regcat.io import read_bytes

__all__ = ["read_omop", "table_level_path"]

SCOPE = "omop"
FIELD_COLUMNS = (
    "cdmTableName",
    "cdmFieldName",
    "isRequired",
    "cdmDatatype",
    "userGuidance",
    "etlConventions",
    "isPrimaryKey",
    "isForeignKey",
    "fkTableName",
    "fkFieldName",
    "fkDomain",
    "fkClass",
)
FIELD_REQUIRED = ("cdmTableName", "cdmFieldName", "isRequired", "cdmDatatype")
TABLE_REQUIRED = ("cdmTableName", "tableDescription")

_TABLE = re.compile(r"^[a-z][a-z0-9_]*$")
_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")
_VARCHAR = re.compile(r"^(?:n?varchar|n?char|character varying)\s*\(\s*(\d+|max)\s*\)$", re.I)
_TYPES = {
    "integer": "integer",
    "int": "integer",
    "bigint": "integer",
    "smallint": "integer",
    "float": "decimal",
    "real": "decimal",
    "double": "decimal",
    "numeric": "decimal",
    "decimal": "decimal",
    "date": "date",
    "datetime": "datetime",
    "datetime2": "datetime",
    "timestamp": "datetime",
    "varchar": "string",
    "text": "string",
    "boolean": "boolean",
}
_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0"})
_NA = frozenset({"", "na"})


def table_level_path(field_level: Path) -> Path | None:
    """The Table_Level CSV beside a Field_Level CSV (same name, Field → Table)."""
    name = field_level.name
    if "Field_Level" not in name:
        return None
    return field_level.with_name(name.replace("Field_Level", "Table_Level"))


# --- reading the CSV ------------------------------------------------------------------


def _decode(raw: bytes, path: Path, what: str) -> str:
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise RegcatError(f"UTF-32 text; the OHDSI {what} is UTF-8: save the file as UTF-8", path)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RegcatError(f"UTF-16 text; the OHDSI {what} is UTF-8: save the file as UTF-8", path)
    if b"\x00" in raw[:4096]:
        head = raw[:2000]
        odd, even = head[1::2], head[0::2]
        if odd.count(0) > 0.9 * len(odd) or even.count(0) > 0.9 * len(even):
            raise RegcatError(
                f"UTF-16 text (without byte-order mark); the OHDSI {what} is UTF-8: "
                "save the file as UTF-8",
                path,
            )
        raise RegcatError(f"binary file, expected the OHDSI {what} (CSV text)", path)
    sample = raw[:10000]
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in b"\t\n\r")
    if controls > max(2, len(sample) // 100):
        raise RegcatError(f"binary file, expected the OHDSI {what} (CSV text)", path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RegcatError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            f"the OHDSI {what} is UTF-8: save the file as UTF-8",
            path,
            line,
        ) from None
    return text


@dataclass
class _Row:
    line: int
    cells: dict[str, str]  # column (as in the header) -> cell, stripped, NA as ""


class _Csv:
    """One OHDSI CSV: its header checked, its rows with the line each starts on."""

    def __init__(self, path: Path, what: str, required: tuple[str, ...]) -> None:
        self.path = path
        raw = read_bytes(path)
        if not raw.strip():
            raise RegcatError(f"empty file, expected the OHDSI {what} with a header row", path)
        text = _decode(raw, path, what)
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        try:
            header = next(reader)
        except (StopIteration, csv.Error) as exc:
            raise RegcatError(f"unreadable header row: {exc}", path, 1) from None
        names = [h.strip() for h in header]
        self.columns: dict[str, int] = {}
        for i, name in enumerate(names):
            key = name.lower()
            if not key:
                continue
            if key in self.columns:
                raise RegcatError(
                    f"column '{name}' appears twice (columns {self.columns[key] + 1} and {i + 1})",
                    path,
                    1,
                )
            self.columns[key] = i
        missing = [c for c in required if c.lower() not in self.columns]
        if missing:
            hint = ""
            if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
                hint = " (the header has one column: the OHDSI files are comma-separated)"
            raise RegcatError(
                f"not the OHDSI {what}: required column(s) missing: {', '.join(missing)}{hint}",
                path,
                1,
            )
        width = len(names)
        while width > 1 and not names[width - 1]:
            width -= 1
        self.rows: list[_Row] = []
        start = 2
        try:
            while True:
                start = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) < width:
                    raise RegcatError(
                        f"row has {len(cells)} fields, expected {width} (a truncated row?)",
                        path,
                        start,
                        names[len(cells)],
                    )
                if len(cells) > width and any(c.strip() for c in cells[width:]):
                    raise RegcatError(
                        f"row has {len(cells)} fields, expected {width} "
                        "(an unquoted ',' inside a field?)",
                        path,
                        start,
                    )
                values = {}
                for key, i in self.columns.items():
                    value = cells[i].strip() if i < len(cells) else ""
                    values[key] = "" if value.upper() == "NA" else value
                self.rows.append(_Row(start, values))
        except csv.Error as exc:
            if "EOF" in str(exc) or "end of data" in str(exc):
                raise RegcatError(
                    "the file ends inside a quoted field (truncated file, or a quote that is "
                    "never closed)",
                    path,
                    start,
                ) from None
            raise RegcatError(f"malformed CSV: {exc}", path, reader.line_num) from None
        self.display = {name.lower(): name for name in names if name}

    def get(self, row: _Row, column: str) -> str:
        return row.cells.get(column.lower(), "")

    def fail(self, row: _Row, column: str, message: str) -> RegcatError:
        return RegcatError(message, self.path, row.line, self.display.get(column.lower(), column))


# --- values -----------------------------------------------------------------------------


def _name(value: str) -> str:
    """A table or field name as the CDM writes it, without the SQL quotes it puts
    around reserved words (`"offset"`), lower case."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].strip()
    return value.lower()


def _yes_no(sheet: _Csv, row: _Row, column: str) -> bool | None:
    value = sheet.get(row, column)
    key = value.lower()
    if key in _NA:
        return None
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise sheet.fail(row, column, f"'{value}' is not Yes or No")


def _datatype(source: str) -> tuple[str | None, int | None]:
    """(catalogue datatype, max_length) for a CDM datatype; (None, None) if unknown."""
    text = " ".join(source.split())
    match = _VARCHAR.match(text)
    if match:
        size = match.group(1)
        return "string", None if size.lower() == "max" else int(size)
    return _TYPES.get(text.lower()), None


def _text(value: str) -> LocalizedText | None:
    value = value.replace("\r\n", "\n").strip()
    return LocalizedText(en=value) if value else None


# --- the import -------------------------------------------------------------------------


def _table_descriptions(path: Path) -> dict[str, str]:
    sheet = _Csv(path, "CDM Table_Level CSV", TABLE_REQUIRED)
    out: dict[str, str] = {}
    for row in sheet.rows:
        table = _name(sheet.get(row, "cdmTableName"))
        if not _TABLE.match(table):
            raise sheet.fail(row, "cdmTableName", f"'{table}' is not a table name")
        if table in out:
            raise sheet.fail(row, "cdmTableName", f"table '{table}' is described twice")
        out[table] = sheet.get(row, "tableDescription")
    return out


def read_omop(path: Path, register_id: str = "omop") -> ImportResult:
    """Read an OMOP CDM Field_Level CSV (and the Table_Level CSV beside it, if any).

    Raises RegcatError (naming file, line and column) for input it cannot use; things
    it kept but a curator should check are in `warnings` and the variables'
    `import_flags`."""
    path = Path(path)
    check_register_id(register_id)
    sheet = _Csv(path, "CDM Field_Level CSV", FIELD_REQUIRED)
    if not sheet.rows:
        raise RegcatError("no rows after the header: no table or field to import", path, 2)
    descriptions: dict[str, str] = {}
    table_file = table_level_path(path)
    if table_file is not None and table_file.is_file():
        descriptions = _table_descriptions(table_file)

    warnings: list[str] = []
    forms: dict[str, Form] = {}
    variables: list[Variable] = []
    seen: dict[tuple[str, str], int] = {}
    for row in sheet.rows:
        raw_table = sheet.get(row, "cdmTableName")
        raw_field = sheet.get(row, "cdmFieldName")
        table, name = _name(raw_table), _name(raw_field)
        if not table:
            raise sheet.fail(row, "cdmTableName", "empty: every row names its table")
        if not _TABLE.match(table):
            raise sheet.fail(
                row,
                "cdmTableName",
                f"'{raw_table}' is not a valid table name (letters, digits and '_', "
                "starting with a letter)",
            )
        if not name:
            raise sheet.fail(row, "cdmFieldName", "empty: every row names its field")
        if not _FIELD.match(name):
            raise sheet.fail(
                row,
                "cdmFieldName",
                f"'{raw_field}' is not a valid field name (letters, digits and '_'): "
                f"it cannot become the variable id {register_id}:{table}.<field>",
            )
        if (table, name) in seen:
            raise sheet.fail(
                row,
                "cdmFieldName",
                f"{table}.{name} is given twice (first on line {seen[table, name]})",
            )
        seen[table, name] = row.line

        flags: list[str] = []

        def flag(column: str, message: str, row: _Row = row, flags: list[str] = flags) -> None:
            flags.append(f"field '{column}': {message}")
            warnings.append(f"{path}:{row.line}: field '{column}': {message}")

        if table not in forms:
            description = descriptions.get(table)
            forms[table] = Form(
                id=table,
                name=LocalizedText(nb=table, en=table),
                description=LocalizedText(en=description) if description else None,
                table=table,
            )

        source_type = " ".join(sheet.get(row, "cdmDatatype").split())
        datatype, max_length = _datatype(source_type)
        if datatype is None:
            flag(
                "cdmDatatype",
                f"unknown datatype '{source_type}'; imported as string"
                if source_type
                else "no datatype; imported as string",
            )
            datatype = "string"
        required = _yes_no(sheet, row, "isRequired")
        if required is None:
            flag("isRequired", "not given (NA); required left unset")
        notes = []
        if _yes_no(sheet, row, "isPrimaryKey"):
            notes.append("primary key")
        if _yes_no(sheet, row, "isForeignKey"):
            fk_table = sheet.get(row, "fkTableName").upper()
            fk_field = sheet.get(row, "fkFieldName").upper()
            if not fk_table:
                flag("fkTableName", "isForeignKey is Yes but no table is named")
            fk = ["FK " + ".".join(x for x in (fk_table, fk_field) if x)]
            domain = sheet.get(row, "fkDomain")
            concept_class = sheet.get(row, "fkClass")
            if domain:
                fk.append(f"domain {domain}")
            if concept_class:
                fk.append(f"class {concept_class}")
            notes.append("; ".join(fk))
        if notes:
            source_type = f"{source_type or '?'} ({'; '.join(notes)})"

        try:
            variable = Variable(
                id=f"{register_id}:{table}.{name}",
                form=table,
                label=LocalizedText(nb=name, en=name),
                definition=_text(sheet.get(row, "userGuidance")),
                help_text=_text(sheet.get(row, "etlConventions")),
                datatype=datatype,
                max_length=max_length,
                required=required,
                status="accepted",
                table=table,
                physical_name=name,
                source_type=source_type or None,
                import_flags=flags or None,
            )
        except ValidationError as exc:  # pragma: no cover - names are checked above
            raise sheet.fail(row, "cdmFieldName", f"cannot build the variable: {exc}") from None
        variables.append(variable)

    return ImportResult(
        register_id=register_id,
        source=str(path),
        scope=SCOPE,
        complete=True,  # the file lists every table and field of the CDM version
        forms=list(forms.values()),
        variables=variables,
        warnings=warnings,
    )
