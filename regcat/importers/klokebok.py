"""Import an OpenQReg "klokebok" (codebook) CSV export.

One row per variable, repeated once per list value (`listeverdier`/`listetekst`).
`read_klokebok` returns forms, variables and value sets; it never writes.

Decisions the real files (NORIC 2025, AblaNor 2023 and 2024) forced:

* `innfoert_dato`/`utfaset_dato` are *per row*, so for a list variable per code: NORIC
  retires single codes of live variables (REGANGIO_PUNKT code 2 since 2005-05-01). They
  become the codes' `valid_from`/`valid_to` where they differ from the variable's; the
  variable is valid from its earliest row and is retired (`valid_to`, status
  "retired") only when every row is retired. They are therefore not compared between
  rows like the other fields.
* Activation: `aktiveringsspoersmaal`/`underspoersmaal` are only Ja/Nei per variable.
  The file never names which question opens a sub-question, nor with which value, and
  the flags are not consistent with the layout (PATIENT_SSNSUBTYPE is a sub-question
  though nothing before it activates anything; PCI_TROFORE is opened by PCI_ANTIFORE
  but is not marked a sub-question). The only explicit links are in the free-text
  `kommentar` ("endast vid 1 på ANTIFORE", "svaras endast på om LABDODSFALL = 2"):
  `activated_by` is set from those when the named variable exists in the same table
  and the values are among its codes. Every other flag is kept as an import flag; a
  sub-question's flag suggests the nearest preceding activating question of the same
  table as a candidate (a guess, never set as the rule).
* `kommentar` is a register-internal note (Swedish or Norwegian): where a value is
  fetched from, conditional requirements ("obligatorisk om indikation är 3,4,5"),
  code changes ("Kodbyte"), "calculated, not saved". It is not a definition, and the
  model has no note slot, so it becomes an import flag `kommentar: …`: exactly what a
  curator must read to correct collection_mode, required or activated_by.
* Types seen in real files: Listevariabel, Dynamisk Listevariabel (codes filled in by
  the application, none in the file: coded with no value set, flagged), Tallvariabel,
  Datovariabel, Tekstvariabel, Stor tekstvariabel, Avkrysningsboks, Statusvariabel
  (the form's completion status: integer) and Skjult variabel (a hidden field the
  application fills: string, flagged).
* Some variables have no `ledetekst` (hidden fields); the label then falls back to the
  technical name and the variable is flagged, since the model requires a label.
* sensitivity "direct_identifier" when the physical field name (or the label) plainly
  names a person: fødselsnummer/SSN, the patient table's ID, first/last names, street
  address, phone, e-mail. Nothing else is marked (birth date, postcode and municipality
  are indirect and left to a curator).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from regcat.errors import RegcatError
from regcat.generated.model import (
    ActivationRule,
    Form,
    LocalizedText,
    PermissibleValue,
    ValueSet,
    Variable,
)
from regcat.importers.base import ImportResult, check_register_id
from regcat.io import read_bytes
from regcat.text import slug as text_slug

__all__ = ["read_klokebok"]

# --- columns --------------------------------------------------------------------------

COLUMNS = (
    "skjemanavn",
    "navn_i_rapporteket",
    "ledetekst",
    "obligatorisk",
    "type",
    "listeverdier",
    "listetekst",
    "normalintervall_start_numerisk",
    "normalintervall_slutt_numerisk",
    "maksintervall_start_numerisk",
    "maksintervall_slutt_numerisk",
    "normalintervall_start_dato",
    "normalintervall_slutt_dato",
    "maksintervall_start_dato",
    "maksintervall_slutt_dato",
    "antall_tegn",
    "lovlige_tegn",
    "desimaler",
    "aktiveringsspoersmaal",
    "underspoersmaal",
    "innfoert_dato",
    "utfaset_dato",
    "tabell",
    "fysisk_feltnavn",
    "kommentar",
    "variabel_id",
    "hjelpetekst",
)
REQUIRED = ("skjemanavn", "ledetekst", "type", "listeverdier", "listetekst", "variabel_id")


def _aliases() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in COLUMNS:
        # ø/å written as o/a instead of oe/aa, and the name without underscores
        variants = {name, name.replace("oe", "o").replace("aa", "a")}
        variants |= {v.replace("_", "") for v in variants}
        variants |= {v.replace("maksintervall", "maksimalintervall") for v in variants}
        for variant in variants:
            out[variant] = name
    out.update(
        {
            "skjema": "skjemanavn",
            "skjema_navn": "skjemanavn",
            "listeverdi": "listeverdier",
            "listetekster": "listetekst",
            "obligatorisk_felt": "obligatorisk",
            "variabeltype": "type",
            "feltnavn": "fysisk_feltnavn",
            "hjelp_tekst": "hjelpetekst",
        }
    )
    return out


_ALIASES = _aliases()
_KNOWN = frozenset(COLUMNS)


def _normalise_header(name: str) -> str:
    s = name.strip().strip('"').strip().lower()
    s = s.replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    s = re.sub(r"[\s\-/]+", "_", s)
    s = re.sub(r"[^a-z0-9_]", "", s)
    s = re.sub(r"_+", "_", s).strip("_")
    return _ALIASES.get(s, s)


# --- values ---------------------------------------------------------------------------

_TYPES = {
    "listevariabel": "coded",
    "dynamisk listevariabel": "coded",
    "tallvariabel": "integer",
    "datovariabel": "date",
    "tekstvariabel": "string",
    "stor tekstvariabel": "string",
    "avkrysningsboks": "boolean",
    "statusvariabel": "integer",
    "skjult variabel": "string",
    # not seen in the real files, named as OpenQReg names its other types
    "tidsvariabel": "time",
    "klokkeslettvariabel": "time",
    "dato og tid": "datetime",
    "dato/tid": "datetime",
    "datotidvariabel": "datetime",
    "dato- og tidsvariabel": "datetime",
}
_TYPE_NOTES = {
    "dynamisk listevariabel": "Dynamisk Listevariabel: the application fills in the codes "
    "at run time; the klokebok lists none",
    "skjult variabel": "Skjult variabel: a hidden field the application fills; datatype "
    "not given (imported as string) and it may not be collected by hand",
}
_YES = frozenset({"ja", "j", "yes", "y", "true", "sann", "1", "x"})
_NO = frozenset({"nei", "n", "no", "false", "usann", "0"})

_VARIABLE_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NO_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_NUMBER = re.compile(r"^([+-]?)(\d*)(?:[.,](\d*))?$")
_INTEGER = re.compile(r"^\+?\d+$")


def _parse_date(text: str) -> dt.date | None:
    """An ISO yyyy-mm-dd or Norwegian dd.mm.yyyy date; None when neither; ValueError for
    an impossible date written in one of the two forms."""
    match = _ISO_DATE.match(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
        return dt.date(year, month, day)
    match = _NO_DATE.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return dt.date(year, month, day)
    return None


def _normal_number(text: str) -> str | None:
    """ "300", "2.5", "-1": trailing zeros and leading zeros dropped, comma as dot."""
    match = _NUMBER.match(text)
    if not match or not (match.group(2) or match.group(3)):
        return None
    sign, whole, frac = match.groups()
    out = (whole.lstrip("0") or "0") + ("." + frac.rstrip("0") if frac and frac.strip("0") else "")
    return "-" + out if sign == "-" and out != "0" else out


def _type_key(text: str) -> str:
    return " ".join(text.casefold().split())


# Direct identifiers: physical field names (upper case) and labels (case-folded).
_IDENTIFYING_FIELDS = frozenset(
    {
        "SSN",
        "FNR",
        "FODSELSNUMMER",
        "FOEDSELSNUMMER",
        "PERSONNUMMER",
        "FIRSTNAME",
        "LASTNAME",
        "MIDDLENAME",
        "FULLNAME",
        "FORNAVN",
        "ETTERNAVN",
        "MELLOMNAVN",
        "ADDRESS",
        "FREEFORM_ADDR",
        "ADRESSE",
        "PHONE",
        "ALT_PHONE",
        "MOBILE",
        "TELEFON",
        "EMAIL",
        "EPOST",
    }
)
_IDENTIFYING_LABELS = frozenset(
    {"fødselsnummer", "personnummer", "fornavn", "etternavn", "mellomnavn", "navn"}
)


def _is_direct_identifier(vid: str, table: str, physical: str, label: str) -> bool:
    name = (physical or vid).upper()
    if name in _IDENTIFYING_FIELDS or label.strip().casefold() in _IDENTIFYING_LABELS:
        return True
    # the patient table's key (NORIC/AblaNor PATIENT_ID "Pasient ID")
    return vid.upper() == "PATIENT_ID" or (name == "ID" and table.lower() == "patient")


# Explicit activation links written in `kommentar` (Swedish as in NORIC, or Norwegian).
_CODES = r"(?P<codes>[A-Za-z0-9]+(?:\s*(?:,|/|eller|och|og|or)\s*[A-Za-z0-9]+)*)"
_FIELD = r"(?P<field>[A-Za-z][A-Za-z0-9_]*)"
_ACTIVATION_PATTERNS = (
    re.compile(rf"\b(?:endast|bara|kun|bare)\s+(?:vid|ved)\s+{_CODES}\s+p[åa]\s+{_FIELD}", re.I),
    re.compile(
        rf"\b(?:endast|bara|kun|bare)\s+(?:p[åa]\s+)?(?:om|hvis|dersom|när|når)\s+"
        rf"{_FIELD}\s*=\s*{_CODES}",
        re.I,
    ),
)


# --- decoding -------------------------------------------------------------------------

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def _line_of_offset(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    """The text and the encoding it was read in."""
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "utf-32"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif b"\x00" in raw:
        head = raw[:2000]
        if head[1::2].count(0) > 0.9 * len(head[1::2]) and head[0::2].count(0) == 0:
            encoding = "utf-16-le"
        elif head[0::2].count(0) > 0.9 * len(head[0::2]) and head[1::2].count(0) == 0:
            encoding = "utf-16-be"
        else:
            raise RegcatError("binary file, expected a klokebok CSV (text)", path)
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":  # a BOM (or NUL pattern) named the encoding: no guessing
            shown = {"utf-8-sig": "UTF-8"}.get(encoding, encoding.upper())
            line = raw[: exc.start].decode(encoding, errors="replace").count("\n") + 1
            raise RegcatError(
                f"undecodable bytes for {shown} at byte {exc.start}; save the file as UTF-8",
                path,
                line,
            ) from None
        if _UTF8_MULTIBYTE.search(raw):
            raise RegcatError(
                f"not valid UTF-8 at byte {exc.start}, although other parts of the file are "
                "UTF-8 (mixed encodings?); save the file as UTF-8",
                path,
                _line_of_offset(raw, exc.start),
            ) from None
        try:
            text = raw.decode("cp1252")
            encoding = "cp1252"
        except UnicodeDecodeError as exc2:
            raise RegcatError(
                f"undecodable byte 0x{raw[exc2.start]:02x} at byte {exc2.start}: neither UTF-8 "
                "nor Windows-1252; save the file as UTF-8",
                path,
                _line_of_offset(raw, exc2.start),
            ) from None
    text = text.lstrip("\ufeff")
    sample = text[:10000]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r")
    if controls > max(2, len(sample) // 100):
        raise RegcatError("binary file, expected a klokebok CSV (text)", path)
    return text, encoding


# --- reading --------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    cells: list[str]


@dataclass
class _Acc:
    """Everything read for one variabel_id."""

    vid: str
    first: _Row
    rows: list[_Row] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    conflicts: set[str] = field(default_factory=set)


# not compared between the rows of one variable: per-code fields, and a column not imported
_PER_ROW = frozenset(
    {"listeverdier", "listetekst", "innfoert_dato", "utfaset_dato", "navn_i_rapporteket"}
)
_LIMITS = (
    ("soft_min", "normalintervall_start_numerisk", "normalintervall_start_dato"),
    ("soft_max", "normalintervall_slutt_numerisk", "normalintervall_slutt_dato"),
    ("min_value", "maksintervall_start_numerisk", "maksintervall_start_dato"),
    ("max_value", "maksintervall_slutt_numerisk", "maksintervall_slutt_dato"),
)
_VERBATIM = frozenset({"lovlige_tegn"})  # spaces are allowed characters: never stripped


class _Reader:
    def __init__(self, path: Path, register_id: str) -> None:
        self.path = path
        self.register_id = register_id
        self.warnings: list[str] = []
        self.index: dict[str, int] = {}
        self.display: dict[str, str] = {}
        self.header_names: dict[int, str] = {}
        self.offset = 0  # lines before the header, so row numbers are the file's lines

    # messages -----------------------------------------------------------------------
    def name(self, column: str | None) -> str | None:
        return self.display.get(column, column) if column else None

    def error(self, message: str, line: int | None = None, column: str | None = None):
        return RegcatError(message, self.path, line, self.name(column))

    def warn(
        self,
        message: str,
        line: int | None,
        column: str | None,
        acc: _Acc | None,
        flag: str | None = None,
    ) -> None:
        """A warning naming file, line and field (as the file spells it), also recorded
        on the variable as an import flag. Flags name the canonical field and no line,
        so they stay the same when a new version of the file moves rows."""
        where = str(self.path) + (f":{line}" if line is not None else "")
        col = self.name(column)
        self.warnings.append(f"{where}: field '{col}': {message}" if col else f"{where}: {message}")
        if acc is not None:
            self.add_flag(acc, column, flag or message)

    @staticmethod
    def add_flag(acc: _Acc, column: str | None, message: str) -> None:
        acc.flags.append(f"field '{column}': {message}" if column else message)

    def get(self, row: _Row, column: str) -> str:
        idx = self.index.get(column)
        if idx is None:
            return ""
        value = row.cells[idx] if idx < len(row.cells) else ""
        return value if column in _VERBATIM else value.strip()

    # structure ----------------------------------------------------------------------
    def header(self, text: str) -> tuple[str, list[str]]:
        first = text.split("\n", 1)[0].rstrip("\r")
        best: tuple[int, int, str, list[str]] | None = None
        for delimiter in (";", "\t", ","):
            cells = next(csv.reader([first], delimiter=delimiter))
            score = sum(1 for c in cells if _normalise_header(c) in _KNOWN)
            candidate = (score, len(cells), delimiter, cells)
            if best is None or candidate[:2] > best[:2]:
                best = candidate
        assert best is not None
        _, _, delimiter, cells = best
        names = [_normalise_header(c) for c in cells]
        for position, (name, original) in enumerate(zip(names, cells, strict=True), start=1):
            if name not in _KNOWN:
                continue
            if name in self.index:
                raise self.error(
                    f"column '{original.strip()}' appears twice "
                    f"(columns {self.index[name] + 1} and {position})",
                    1 + self.offset,
                )
            self.index[name] = position - 1
            self.display[name] = original.strip().strip('"').strip()
        missing = [c for c in REQUIRED if c not in self.index]
        if missing:
            hint = ""
            if len(cells) == 1:
                hint = " (the header has one column: is the delimiter ';', tab or ','?)"
            raise self.error(
                "not an OpenQReg klokebok: required column(s) missing: "
                + ", ".join(missing)
                + hint,
                1 + self.offset,
            )
        return delimiter, cells

    def rows(self, text: str, delimiter: str, width: int) -> list[_Row]:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        out: list[_Row] = []
        start = 1
        try:
            next(reader)  # the header
            while True:
                start = reader.line_num + 1 + self.offset
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                if not any(c.strip() for c in cells):
                    continue  # blank line or a row of bare delimiters
                if len(cells) < width:
                    missing = self.header_names[len(cells)]
                    raise self.error(
                        f"row has {len(cells)} fields, expected {width} "
                        "(a truncated row, or a field with an unquoted line break?)",
                        start,
                        missing,
                    )
                if len(cells) > width and any(c.strip() for c in cells[width:]):
                    raise self.error(
                        f"row has {len(cells)} fields, expected {width} "
                        f"(an unquoted '{delimiter}' inside a field?)",
                        start,
                    )
                out.append(_Row(start, cells))
        except csv.Error as exc:
            if "end of data" in str(exc) or "EOF" in str(exc):
                raise self.error(
                    "the file ends inside a quoted field (truncated file, or a quote that "
                    "is never closed)",
                    start,
                ) from None
            raise self.error(f"malformed CSV: {exc}", reader.line_num + self.offset) from None
        return out

    # content ------------------------------------------------------------------------
    def read(self) -> ImportResult:
        path = self.path
        check_register_id(self.register_id)
        raw = read_bytes(path)
        if not raw.strip():
            raise self.error("empty file, expected a klokebok CSV with a header row")
        text, encoding = _decode(raw, path)
        if not text.strip():
            raise self.error("empty file, expected a klokebok CSV with a header row")
        if encoding == "cp1252":
            self.warnings.append(f"{path}: not UTF-8; read as Windows-1252")
        body = text.lstrip()
        self.offset = text[: len(text) - len(body)].count("\n")  # blank lines before the header
        text = body
        delimiter, header = self.header(text)
        self.header_names = {i: _normalise_header(c) for i, c in enumerate(header)}
        for i, name in self.header_names.items():
            self.display.setdefault(name, header[i].strip().strip('"').strip() or f"#{i + 1}")
        width = len(header)
        while width > 1 and not header[width - 1].strip():
            width -= 1  # trailing unnamed columns (a stray delimiter at the header's end)
        rows = self.rows(text, delimiter, width)
        if not rows:
            raise self.error("no variables: the file has a header but no rows", 1 + self.offset)

        accs: dict[str, _Acc] = {}
        for row in rows:
            vid = self.get(row, "variabel_id")
            if not vid:
                raise self.error("empty; every row needs a variable id", row.line, "variabel_id")
            if not _VARIABLE_ID.match(vid):
                raise self.error(
                    f"variable id {vid!r} may contain only letters, digits, '_', '.' and '-'",
                    row.line,
                    "variabel_id",
                )
            acc = accs.get(vid)
            if acc is None:
                accs[vid] = acc = _Acc(vid, row)
            else:
                self.compare(acc, row)
            acc.rows.append(row)

        result = ImportResult(register_id=self.register_id, source=str(path), scope="klokebok")
        forms: dict[str, tuple[str, Form, set[str]]] = {}  # skjemanavn -> slug, form, tables
        slugs: set[str] = set()
        variables: dict[str, Variable] = {}
        for acc in accs.values():
            try:
                form_id = self.form_of(acc, forms, slugs)
                variable, value_set = self.variable(acc, form_id)
            except ValidationError as exc:  # a safety net: the checks above should catch all
                problem = exc.errors()[0]
                column = str(problem["loc"][0]) if problem.get("loc") else None
                raise self.error(
                    f"variable {acc.vid!r} cannot be imported: {problem['msg']}",
                    acc.first.line,
                    column if column in self.index else None,
                ) from None
            variables[acc.vid] = variable
            if value_set is not None:
                result.value_sets.append(value_set)
        self.activation(accs, variables)
        for acc in accs.values():
            if acc.flags:
                variables[acc.vid].import_flags = acc.flags
        for _, form, tables in forms.values():
            if len(tables) == 1:
                form.table = next(iter(tables))
            result.forms.append(form)
        result.variables = list(variables.values())
        result.warnings = self.warnings
        return result

    def compare(self, acc: _Acc, row: _Row) -> None:
        for column in self.index:
            if column in _PER_ROW or column in acc.conflicts:
                continue
            first, here = self.get(acc.first, column), self.get(row, column)
            if first != here:
                acc.conflicts.add(column)
                self.warn(
                    f"variable {acc.vid!r} has {here!r} here but {first!r} on line "
                    f"{acc.first.line}; kept the first",
                    row.line,
                    column,
                    acc,
                    f"rows disagree: {first!r} and {here!r}; kept {first!r} (the first row)",
                )

    def form_of(
        self, acc: _Acc, forms: dict[str, tuple[str, Form, set[str]]], slugs: set[str]
    ) -> str | None:
        name = self.get(acc.first, "skjemanavn")
        if not name:
            self.warn("empty form name; variable has no form", acc.first.line, "skjemanavn", acc)
            return None
        entry = forms.get(name)
        if entry is None:
            slug = text_slug(name)
            if not slug:
                raise self.error(
                    f"form name {name!r} gives no usable form id (it needs a letter or digit)",
                    acc.first.line,
                    "skjemanavn",
                )
            base, n = slug, 1
            while slug in slugs:
                n += 1
                slug = f"{base}_{n}"
            if slug != base:
                self.warn(
                    f"form {name!r} has the same id {base!r} as another form; "
                    f"given the id {slug!r}",
                    acc.first.line,
                    "skjemanavn",
                    None,
                )
            slugs.add(slug)
            entry = forms[name] = (slug, Form(id=slug, name=LocalizedText(nb=name)), set())
        table = self.get(acc.first, "tabell")
        if table:
            entry[2].add(table)
        return entry[0]

    def flag(self, acc: _Acc, column: str | None, message: str, warn: bool = False) -> None:
        if warn:
            self.warn(message, acc.first.line, column, acc)
        else:
            self.add_flag(acc, column, message)

    def yes_no(self, acc: _Acc, column: str) -> bool | None:
        value = self.get(acc.first, column)
        if not value:
            return None
        key = value.casefold()
        if key in _YES:
            return True
        if key in _NO:
            return False
        self.flag(acc, column, f"{value!r} is neither Ja nor Nei; left unset", warn=True)
        return None

    def whole(self, acc: _Acc, column: str) -> int | None:
        value = self.get(acc.first, column)
        if not value:
            return None
        if _INTEGER.match(value):
            return int(value)
        self.flag(acc, column, f"{value!r} is not a whole number; left unset", warn=True)
        return None

    def date_of(self, row: _Row, column: str) -> dt.date | None:
        value = self.get(row, column)
        if not value:
            return None
        try:
            parsed = _parse_date(value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise self.error(
                f"{value!r} is not a date (expected yyyy-mm-dd or dd.mm.yyyy)", row.line, column
            )
        return parsed

    def limit(self, acc: _Acc, column: str, is_date: bool) -> str | None:
        value = self.get(acc.first, column)
        if not value:
            return None
        if not is_date:
            return _normal_number(value) or value
        quoted = len(value) >= 2 and value[0] == value[-1] and value[0] in "'\""
        inner = value[1:-1].strip() if quoted else value
        try:
            parsed = _parse_date(inner)
        except ValueError:
            self.flag(acc, column, f"{value!r} is not a valid date; kept as written", warn=True)
            return value
        if parsed is None:
            return value  # a token: today, toDayPlus30Days, regDate, …
        iso = f"'{parsed.isoformat()}'"
        return value if value == iso else iso

    def variable(self, acc: _Acc, form_id: str | None) -> tuple[Variable, ValueSet | None]:
        row = acc.first
        vid = acc.vid
        ident = f"{self.register_id}:{vid}"

        source_type = self.get(row, "type")
        key = _type_key(source_type)
        datatype = _TYPES.get(key)
        if datatype is None:
            datatype = "string"
            problem = f"unknown type {source_type!r}" if source_type else "no type given"
            self.flag(acc, "type", f"{problem}, imported as string", warn=True)
        elif key in _TYPE_NOTES:
            self.flag(acc, "type", _TYPE_NOTES[key])
        decimals = self.whole(acc, "desimaler")
        if datatype == "integer" and key == "tallvariabel" and decimals:
            datatype = "decimal"

        label = self.get(row, "ledetekst")
        physical = self.get(row, "fysisk_feltnavn")
        table = self.get(row, "tabell")
        if not label:
            label = physical or vid
            self.flag(acc, "ledetekst", f"no label in the klokebok; label set to {label!r}")
        help_text = self.get(row, "hjelpetekst")

        is_date = datatype in ("date", "datetime", "time")
        limits: dict[str, str | None] = {}
        for target, numeric_col, date_col in _LIMITS:
            numeric = self.limit(acc, numeric_col, False)
            as_date = self.limit(acc, date_col, True)
            if numeric and as_date and numeric != as_date:
                chosen = date_col if is_date else numeric_col
                self.warn(
                    f"both {self.name(numeric_col)!r} ({numeric}) and {self.name(date_col)!r} "
                    f"({as_date}) are set; kept {self.name(chosen)!r}",
                    acc.first.line,
                    chosen,
                    acc,
                    f"both {numeric_col!r} ({numeric}) and {date_col!r} ({as_date}) are set; "
                    f"kept {chosen!r}",
                )
            limits[target] = (as_date or numeric) if is_date else (numeric or as_date)

        # dates: per row (per code for list variables)
        starts: list[dt.date] = []
        ends: list[dt.date | None] = []
        row_dates: list[tuple[dt.date | None, dt.date | None]] = []
        for r in acc.rows:
            start, end = self.date_of(r, "innfoert_dato"), self.date_of(r, "utfaset_dato")
            row_dates.append((start, end))
            if start is not None:
                starts.append(start)
            ends.append(end)
        valid_from = min(starts) if starts else None
        valid_to = max(e for e in ends if e) if ends and all(ends) else None  # type: ignore[type-var]

        value_set = self.value_set(acc, ident, label, row_dates, valid_from, valid_to)
        if datatype == "coded" and value_set is None and key != "dynamisk listevariabel":
            self.flag(acc, "listeverdier", "a list variable with no codes", warn=True)

        variable = Variable(
            id=ident,
            form=form_id,
            label=LocalizedText(nb=label),
            help_text=LocalizedText(nb=help_text) if help_text else None,
            datatype=datatype,
            value_set=value_set.id if value_set is not None else None,
            min_value=limits["min_value"],
            max_value=limits["max_value"],
            soft_min=limits["soft_min"],
            soft_max=limits["soft_max"],
            max_length=self.whole(acc, "antall_tegn"),
            decimals=decimals,
            allowed_characters=self.get(row, "lovlige_tegn") or None,
            required=self.yes_no(acc, "obligatorisk"),
            collection_mode="manual",
            sensitivity=(
                "direct_identifier"
                if _is_direct_identifier(vid, table, physical, self.get(row, "ledetekst"))
                else None
            ),
            status="retired" if valid_to is not None else "accepted",
            valid_from=valid_from,
            valid_to=valid_to,
            table=table or None,
            physical_name=physical or None,
            source_type=source_type,
        )
        kommentar = self.get(row, "kommentar")
        if kommentar:
            self.flag(acc, None, f"kommentar: {kommentar}")
        return variable, value_set

    def value_set(
        self,
        acc: _Acc,
        ident: str,
        label: str,
        row_dates: list[tuple[dt.date | None, dt.date | None]],
        valid_from: dt.date | None,
        valid_to: dt.date | None,
    ) -> ValueSet | None:
        codes: list[PermissibleValue] = []
        seen: dict[str, tuple[int, str]] = {}
        for r, (start, end) in zip(acc.rows, row_dates, strict=True):
            code = self.get(r, "listeverdier")
            text = self.get(r, "listetekst")
            if not code:
                if text or len(acc.rows) > 1:
                    self.warn(
                        f"no code for {text!r} in variable {acc.vid!r}; row skipped",
                        r.line,
                        "listeverdier",
                        acc,
                    )
                continue
            if code in seen:
                first_line, first_text = seen[code]
                self.warn(
                    f"code {code!r} of variable {acc.vid!r} repeats line {first_line}; kept "
                    f"{first_text!r}, dropped {text!r}",
                    r.line,
                    "listeverdier",
                    acc,
                    f"code {code!r} appears twice; kept {first_text!r}, dropped {text!r}",
                )
                continue
            seen[code] = (r.line, text)
            if not text:
                self.warn(f"code {code!r} has no text", r.line, "listetekst", acc)
            codes.append(
                PermissibleValue(
                    code=code,
                    label=LocalizedText(nb=text) if text else None,
                    valid_from=start if start is not None and start != valid_from else None,
                    valid_to=end if end is not None and end != valid_to else None,
                )
            )
        if not codes:
            return None
        return ValueSet(id=ident, name=LocalizedText(nb=label), codes=codes)

    # activation ---------------------------------------------------------------------
    def activation(self, accs: dict[str, _Acc], variables: dict[str, Variable]) -> None:
        by_field: dict[tuple[str, str], str] = {}
        for vid, acc in accs.items():
            table = self.get(acc.first, "tabell").upper()
            physical = self.get(acc.first, "fysisk_feltnavn").upper()
            if physical:
                by_field.setdefault((table, physical), vid)

        order = list(accs)
        unexplained = 0
        for position, vid in enumerate(order):
            acc = accs[vid]
            variable = variables[vid]
            rule = self.rule_from_comment(acc, accs, by_field)
            if rule is not None:
                variable.activated_by = rule
            activating = self.yes_no(acc, "aktiveringsspoersmaal")
            sub = self.yes_no(acc, "underspoersmaal")
            if activating:
                self.flag(
                    acc,
                    "aktiveringsspoersmaal",
                    "aktiveringsspoersmaal=Ja: opens sub-questions, which the klokebok "
                    "does not name",
                )
            if sub and rule is None:
                unexplained += 1
                table = self.get(acc.first, "tabell")
                candidate = None
                for earlier in reversed(order[:position]):
                    other = accs[earlier].first
                    if self.get(other, "tabell") != table:
                        break
                    if self.get(other, "aktiveringsspoersmaal").casefold() in _YES:
                        candidate = earlier
                        break
                hint = (
                    f"; candidate (nearest activating question before it in table "
                    f"{table!r}): {self.register_id}:{candidate}"
                    if candidate
                    else ""
                )
                self.flag(
                    acc,
                    "underspoersmaal",
                    "underspoersmaal=Ja: a sub-question, but the klokebok names neither the "
                    "question nor the value that activates it; set activated_by by hand" + hint,
                )
        if unexplained:
            self.warnings.append(
                f"{self.path}: {unexplained} sub-question(s) (underspoersmaal=Ja) do not name "
                "their activating question or value; flagged on the variables"
            )

    def rule_from_comment(
        self, acc: _Acc, accs: dict[str, _Acc], by_field: dict[tuple[str, str], str]
    ) -> ActivationRule | None:
        comment = self.get(acc.first, "kommentar")
        if not comment:
            return None
        for pattern in _ACTIVATION_PATTERNS:
            match = pattern.search(comment)
            if match is None:
                continue
            name = match.group("field")
            codes = re.split(r"\s*(?:,|/|\beller\b|\boch\b|\bog\b|\bor\b)\s*", match["codes"])
            codes = [c for c in codes if c]
            table = self.get(acc.first, "tabell").upper()
            target = (
                name
                if name in accs
                else by_field.get((table, name.upper()))
                or (f"{table}_{name.upper()}" if f"{table}_{name.upper()}" in accs else None)
            )
            if target is None or target == acc.vid:
                self.flag(
                    acc,
                    "kommentar",
                    f"kommentar names {name!r} as the activating question, but no such "
                    "variable is in this table; activated_by not set",
                )
                return None
            known = {self.get(r, "listeverdier") for r in accs[target].rows} - {""}
            if known and not set(codes) <= known:
                self.flag(
                    acc,
                    "kommentar",
                    f"kommentar says {target} = {', '.join(codes)}, but those are not all "
                    f"codes of {target}; activated_by not set",
                )
                return None
            self.flag(
                acc,
                "kommentar",
                f"activated_by read from the kommentar ({match.group(0)!r}): check it",
            )
            return ActivationRule(variable=f"{self.register_id}:{target}", values=codes)
        return None


def read_klokebok(path: Path, register_id: str) -> ImportResult:
    """Read an OpenQReg klokebok CSV of the register `register_id`.

    Raises RegcatError (naming file, line and field) for input it cannot use; things it
    kept but a curator should check are in `warnings` and the variables' `import_flags`.
    """
    return _Reader(Path(path), register_id).read()
