"""Import an MRS "kodebok" (codebook) xlsx export.

MRS (Medisinsk registreringssystem) exports one sheet per form. Each variable is a
row; a coded variable's codes follow in the column `Mulige verdier`, the first on
the variable's own row and the rest on continuation rows written `N = label`.

Two layouts are known:

- newer (2020s): `Visningsnavn`, `Unik teknisk referanse`, `Variabelnavn`,
  `Mulige verdier`, `Felttype`, `Gyldighet`, `Hjelpetekst`, `GammeltNavn`,
  `Beskrivelse`, …, `Feltkilde`, `VisningsTekst`; field types Enkeltvalg,
  Avkrysning, Tall, Tekst, Dato/tid.
- older (2018): `Feltnavn`, `Navn i kode`, `Variabelnavn`, `Mulige verdier`,
  `Felttype`, `Gyldighet`, `Hjelpetekst`; field types also Enum, Numerisk (heltall),
  Numerisk (flyttall), Id (Guid).

The technical name is `Variabelnavn`: it is the column name in the register's data
extracts (what the register's own analysis code uses, e.g. `Med_StartDato`), it is
filled on every variable row, and it already tells apart fields that share an MRS
reference on different forms (`LegemiddelType2020` is `Med_LegemiddelType2020` on
one form and `Bivirkning_LegemiddelType2020` on another). `Unik teknisk referanse` /
`Navn i kode` is MRS's internal field reference; it is not always filled (older
files) and is not unique across forms.

The same `Variabelnavn` on several sheets (the patient GUID on every form, the
inclusion questions repeated on the follow-up form) is one data element asked on
several forms. The variable id must be `<register>:<technical name>`, so the first
sheet's definition is kept. Repeats with the same definition are summarised in one
warning per sheet; repeats whose label, type or codes differ get a warning each and
an `import_flags` entry on the kept variable, since a curator must decide.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from regcat.errors import RegcatError
from regcat.generated.model import (
    Form,
    LocalizedText,
    PermissibleValue,
    ValueSet,
    Variable,
)
from regcat.importers.base import ImportResult, check_register_id
from regcat.io import read_bytes
from regcat.text import slug

# Canonical column -> header names seen in the wild (compared case-insensitively).
_HEADERS: dict[str, tuple[str, ...]] = {
    "label": ("Visningsnavn", "Feltnavn"),
    "reference": ("Unik teknisk referanse", "Navn i kode"),
    "name": ("Variabelnavn",),
    "values": ("Mulige verdier",),
    "type": ("Felttype",),
    "validity": ("Gyldighet",),
    "help": ("Hjelpetekst",),
    "definition": ("Beskrivelse",),
    "source": ("Feltkilde",),
}
# Columns whose content makes a row a variable row (rather than a code row).
_KEY_COLUMNS = ("label", "reference", "name", "type")
_HEADER_SCAN_ROWS = 10

_LOCAL_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_CODE_ROW = re.compile(r"^\s*([^=\s][^=]*?)\s*=\s*(.*?)\s*$")
# MRS has one "Dato/tid" type for dates and timestamps; names tell them apart
# (ImportTidspunkt, ReturnedDateTime, CreationDate, LastUpdate, FirstTimeClosed; a
# label starting "Tidspunkt …"). Labels such as "Diagnosetidspunkt" on `…Dato`
# fields are dates, so the label only counts when it starts with the word.
_DATETIME_NAME = re.compile(r"tidspunkt|time|lastupdate|creationdate", re.IGNORECASE)
_DATETIME_LABEL = re.compile(r"^\s*tidspunkt\b", re.IGNORECASE)

_TRANSLIT = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "Ae", "Ø": "O", "Å": "A"})


def slugify(text: str) -> str:
    """Form id from a sheet name (the catalogue's one slug rule, `regcat.text.slug`)."""
    return slug(text)


def _local_name(text: str) -> str:
    """A technical name made safe for the id pattern `[A-Za-z0-9_.-]+`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", _fold(text)).strip("_")


def _fold(text: str) -> str:
    """æ→ae ø→o å→a, accents dropped (é→e); other characters are left for the
    caller to replace."""
    folded = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def map_field_type(source_type: str, name: str = "", label: str = "") -> str | None:
    """The regcat datatype for an MRS `Felttype`, or None when it is not known."""
    key = " ".join(source_type.lower().split())
    if key in ("enkeltvalg", "enum"):
        return "coded"
    if key in ("avkrysning", "avkrysningsboks", "boolean", "bool"):
        return "boolean"
    if key in ("tekst", "fritekst", "string"):
        return "string"
    if key.startswith(("id (guid)", "guid")) or key == "id":
        return "identifier"
    if key.startswith(("tall", "numerisk", "heltall", "desimal")):
        if "heltall" in key:
            return "integer"
        # The newer exports say only "Tall" for fields the 2018 export calls
        # "Numerisk (flyttall)" (weight, height, CRP…): integer would reject 72.5.
        return "decimal"
    if key in ("dato/tid", "dato", "dato og tid", "tid", "dato/klokkeslett"):
        if key == "dato":
            return "date"
        if key == "tid":
            return "time"
        if _DATETIME_NAME.search(name) or _DATETIME_LABEL.search(label):
            return "datetime"
        return "date"
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def _cell(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(column + 1)


@dataclass
class _Entry:
    """One variable row of a sheet with its code rows."""

    row: int
    cells: dict[str, str]
    codes: list[tuple[int, str]] = field(default_factory=list)  # (row, raw text)


@dataclass
class _Kept:
    variable: Variable
    sheet: str
    row: int
    signature: tuple


class _Reader:
    def __init__(self, path: Path, register_id: str) -> None:
        self.path = path
        self.register_id = register_id
        self.result = ImportResult(register_id=register_id, source=str(path), scope="mrs")
        self.kept: dict[str, _Kept] = {}
        self.form_ids: set[str] = set()
        # sheet -> technical names repeated there with the first sheet's definition
        self.same: dict[str, list[str]] = {}

    # --- messages -----------------------------------------------------------------

    def where(self, sheet: str, row: int | None = None) -> str:
        return f"sheet '{sheet}'" + (f" row {row}" if row is not None else "")

    def warn(self, sheet: str, row: int | None, column: str | None, message: str) -> None:
        parts = [str(self.path), self.where(sheet, row)]
        if column:
            parts.append(f"field '{column}'")
        self.result.warnings.append(": ".join(parts + [message]))

    def error(self, sheet: str, row: int | None, column: str | None, message: str) -> RegcatError:
        return RegcatError(f"in {self.where(sheet, row)}: {message}", self.path, row, column)

    # --- workbook -----------------------------------------------------------------

    def read(self) -> ImportResult:
        raw = read_bytes(self.path)
        if not zipfile.is_zipfile(io.BytesIO(raw)):
            kind = "an old binary .xls file" if raw[:4] == b"\xd0\xcf\x11\xe0" else "not a zip"
            raise RegcatError(
                f"not an xlsx workbook ({kind}); export the kodebok as .xlsx", self.path
            )
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as exc:  # corrupt zip members, missing workbook.xml, bad XML
            raise RegcatError(
                f"not a readable xlsx workbook ({type(exc).__name__}: {exc})", self.path
            ) from None
        try:
            for index, sheet in enumerate(workbook.worksheets, start=1):
                try:
                    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
                except Exception as exc:  # a damaged sheet part
                    raise RegcatError(
                        f"sheet '{sheet.title}' cannot be read ({type(exc).__name__}: {exc})",
                        self.path,
                    ) from None
                self.read_sheet(sheet.title, index, rows)
        finally:
            workbook.close()
        self.summarise_repeats()
        if not self.result.variables:
            raise RegcatError("no variables found in any sheet of the workbook", self.path)
        return self.result

    # --- one sheet ----------------------------------------------------------------

    def find_header(self, sheet: str, rows: list[tuple]) -> tuple[int, dict[str, int]]:
        known = {h.lower(): key for key, names in _HEADERS.items() for h in names}
        for number, row in enumerate(rows[:_HEADER_SCAN_ROWS], start=1):
            columns: dict[str, int] = {}
            for index, value in enumerate(row):
                key = known.get(" ".join(_text(value).lower().split()))
                if key is not None and key not in columns:
                    columns[key] = index
            if len(columns) >= 2:
                return number, columns
        expected = ", ".join(names[0] for names in _HEADERS.values())
        raise self.error(
            sheet,
            None,
            None,
            f"none of the expected kodebok headers ({expected}; older files: Feltnavn, "
            f"Navn i kode) in the first {_HEADER_SCAN_ROWS} rows",
        )

    def read_sheet(self, sheet: str, index: int, rows: list[tuple]) -> None:
        if not any(_text(value) for row in rows for value in row):
            self.warn(sheet, None, None, "empty sheet, skipped")
            return
        header_row, columns = self.find_header(sheet, rows)
        for key, names in (("name", _HEADERS["name"]), ("type", _HEADERS["type"])):
            if key not in columns:
                raise self.error(
                    sheet, header_row, names[0], f"header row has no '{names[0]}' column"
                )

        entries: list[_Entry] = []
        for number, row in enumerate(rows[header_row:], start=header_row + 1):
            cells = {key: (_text(row[i]) if i < len(row) else "") for key, i in columns.items()}
            if any(cells.get(key) for key in _KEY_COLUMNS):
                entries.append(_Entry(number, cells))
                if cells.get("values"):
                    entries[-1].codes.append((number, cells["values"]))
            elif cells.get("values"):
                if not entries:
                    column = _HEADERS["values"][0]
                    raise self.error(
                        sheet,
                        number,
                        column,
                        f"cell {_cell(columns['values'])}{number}: code row "
                        f"'{cells['values']}' has no variable above it",
                    )
                entries[-1].codes.append((number, cells["values"]))

        form_id = self.form_id(sheet, index)
        self.result.forms.append(Form(id=form_id, name=LocalizedText(nb=sheet.strip())))
        for entry in entries:
            self.add_variable(sheet, form_id, entry)

    def form_id(self, sheet: str, index: int) -> str:
        base = slugify(sheet) or f"sheet_{index}"
        form_id, n = base, 1
        while form_id in self.form_ids:
            n += 1
            form_id = f"{base}_{n}"
        if form_id != base:
            self.warn(
                sheet, None, None, f"sheet name gives form id '{base}' twice; using '{form_id}'"
            )
        self.form_ids.add(form_id)
        return form_id

    # --- one variable ---------------------------------------------------------------

    def add_variable(self, sheet: str, form_id: str, entry: _Entry) -> None:
        cells, row = entry.cells, entry.row
        flags: list[str] = []

        def flag(column: str | None, message: str) -> None:
            flags.append(message)
            self.warn(sheet, row, column, message)

        raw_name = cells.get("name", "")
        if not raw_name and cells.get("reference"):
            raw_name = cells["reference"]
            flag("Variabelnavn", f"no Variabelnavn; using the MRS reference '{raw_name}'")
        if not raw_name:
            raise self.error(
                sheet, row, "Variabelnavn", "variable row without a technical name (Variabelnavn)"
            )
        name = raw_name
        if not _LOCAL_NAME.match(name):
            name = _local_name(raw_name)
            if not name:
                raise self.error(
                    sheet,
                    row,
                    "Variabelnavn",
                    f"technical name '{raw_name}' has no letters or digits to build an id from",
                )
            flag("Variabelnavn", f"technical name '{raw_name}' is not id-safe; id uses '{name}'")

        label = " ".join(cells.get("label", "").split())
        if not label:
            label = raw_name
            flag(_HEADERS["label"][0], "no display name; the technical name is used as label")

        source_type = cells.get("type", "")
        datatype = map_field_type(source_type, raw_name, label)
        if datatype is None:
            datatype = "string"
            shown = f"unknown field type '{source_type}'" if source_type else "no field type"
            flag("Felttype", f"{shown}; imported as string")

        codes = self.parse_codes(sheet, entry, flag)
        if datatype == "coded" and not codes:
            flag("Mulige verdier", f"{source_type} field without codes")

        signature = (label, source_type, tuple((c.code, _label_nb(c)) for c in codes))
        variable_id = f"{self.register_id}:{name}"
        previous = self.kept.get(variable_id)
        if previous is not None:
            self.repeat(previous, sheet, row, signature)
            return

        value_set_id = None
        if codes:
            value_set_id = variable_id
            self.result.value_sets.append(
                ValueSet(id=value_set_id, name=LocalizedText(nb=label), codes=codes)
            )
        source = cells.get("source", "").lower()
        try:
            variable = Variable(
                id=variable_id,
                form=form_id,
                label=LocalizedText(nb=label),
                definition=_nb(cells.get("definition")),
                help_text=_nb(cells.get("help")),
                datatype=datatype,
                value_set=value_set_id,
                collection_mode="derived" if source.startswith("beregnet") else "manual",
                status="accepted",
                physical_name=raw_name,
                source_type=source_type or None,
                import_flags=flags or None,
            )
        except ValidationError as exc:  # pragma: no cover - inputs are sanitised above
            raise self.error(sheet, row, None, f"cannot build variable: {exc}") from None
        self.kept[variable_id] = _Kept(variable, sheet, row, signature)
        self.result.variables.append(variable)

    def parse_codes(
        self, sheet: str, entry: _Entry, flag: Callable[[str | None, str], None]
    ) -> list[PermissibleValue]:
        codes: list[PermissibleValue] = []
        seen: set[str] = set()
        # one `N = label` per row; a cell holding several lines is read line by line
        lines = [(row, line) for row, cell in entry.codes for line in cell.splitlines()]
        for row, text in ((row, line.strip()) for row, line in lines if line.strip()):
            match = _CODE_ROW.match(text)
            if match is None:
                message = f"value '{text}' (row {row}) is not written 'N = label'; skipped"
                flag("Mulige verdier", message)
                continue
            code, code_label = match.group(1), " ".join(match.group(2).split())
            if code in seen:
                flag("Mulige verdier", f"code '{code}' given twice (row {row}); first kept")
                continue
            seen.add(code)
            codes.append(
                PermissibleValue(
                    code=code, label=LocalizedText(nb=code_label) if code_label else None
                )
            )
        return codes

    # --- repeats across sheets ------------------------------------------------------

    def repeat(self, kept: _Kept, sheet: str, row: int, signature: tuple) -> None:
        if signature == kept.signature:
            self.same.setdefault(sheet, []).append(kept.variable.id.split(":", 1)[1])
            return
        differences = [
            what
            for what, a, b in zip(
                ("label", "field type", "codes"), kept.signature, signature, strict=True
            )
            if a != b
        ]
        detail = ", ".join(differences)
        types = f"type '{signature[1]}'" if signature[1] != kept.signature[1] else ""
        kept.variable.import_flags = [
            *(kept.variable.import_flags or []),
            f"also defined in {self.where(sheet, row)} with a different {detail}"
            + (f" ({types} there)" if types else "")
            + "; the first definition was kept",
        ]
        self.warn(
            sheet,
            row,
            "Variabelnavn",
            f"'{kept.variable.id}' is already defined in {self.where(kept.sheet, kept.row)} "
            f"with a different {detail}"
            + (f" (type '{kept.signature[1]}' there)" if types else "")
            + "; that first definition is kept, this one is not imported",
        )

    def summarise_repeats(self) -> None:
        for sheet, names in self.same.items():
            shown = ", ".join(names[:10]) + (", …" if len(names) > 10 else "")
            self.warn(
                sheet,
                None,
                "Variabelnavn",
                f"{len(names)} variable(s) already defined identically on an earlier sheet "
                f"are kept once, on the first sheet: {shown}",
            )


def _nb(text: str | None) -> LocalizedText | None:
    text = (text or "").strip()
    return LocalizedText(nb=text) if text else None


def _label_nb(value: PermissibleValue) -> str | None:
    return value.label.nb if value.label is not None else None


def read_mrs(path: Path, register_id: str) -> ImportResult:
    """Read an MRS kodebok xlsx export of the register `register_id`.

    Returns one form per sheet, one variable per distinct `Variabelnavn` and one value
    set per coded variable. Raises RegcatError (naming file, sheet, row and field) on
    input it cannot use."""
    path = Path(path)
    check_register_id(register_id)
    return _Reader(path, register_id).read()
