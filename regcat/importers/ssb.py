"""Import a Statistics Norway (SSB) microdata variable description (JSON).

Each file describes ONE variable of a unit type (the format of
statisticsnorway/microdata-tools): `shortName`, bilingual `name` and `description`
lists (`languageCode` no/en), `dataType`, optional `format`, the `unitType`
(`shortName`, `name`, `description`, `requiresPseudonymization`) and a
`valueDomain` with a `description` or a time-versioned `codeList`.

The unit type becomes the form (NPR_EPISODE → form `episode` of register `npr`); the
variable id is `<register>:<shortName>`; a code list becomes a value set with the
same id, each code keeping its validFrom/validUntil. A code may appear several times
with different validity periods (municipality 0701 was Borre until 2001 and Horten
from 2002): every period is kept, in file order.
"""

from __future__ import annotations

import datetime as dt
import json
import re
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
from regcat.io import decode_text, read_bytes

# Unit-type prefix → register id, used when the caller does not name the register.
UNIT_TYPE_REGISTERS: dict[str, str] = {"NPR": "npr", "KRG": "kreftregisteret"}

DATA_TYPES: dict[str, str] = {
    "STRING": "string",
    "LONG": "integer",
    "INTEGER": "integer",
    "DOUBLE": "decimal",
    "FLOAT": "decimal",
    "DECIMAL": "decimal",
    "DATE": "date",
    "INSTANT": "datetime",
    "DATETIME": "datetime",
    "BOOLEAN": "boolean",
}
_NB = ("no", "nb", "nob")
_EN = ("en", "eng")
_LOCAL_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_FORM_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_IDENTIFIER_NAME = re.compile(r"ID(?:_\d+)?$")


class _Doc:
    """The parsed JSON with typed, located access: every problem names the JSON path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, jpath: str, message: str) -> RegcatError:
        return RegcatError(message, self.path, None, jpath or "$")

    def get(
        self, obj: dict, key: str, jpath: str, kind: type | tuple[type, ...], required: bool
    ) -> Any:
        where = f"{jpath}.{key}" if jpath else key
        value = obj.get(key)
        if value is None:
            if required:
                raise self.fail(where, f"missing; a microdata variable needs '{key}'")
            return None
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            expected = _kind_name(kind)
            raise self.fail(where, f"expected {expected}, found {_json_type(value)}")
        return value

    def text(self, obj: dict, key: str, jpath: str, required: bool = False) -> str | None:
        value = self.get(obj, key, jpath, str, required)
        if value is None:
            return None
        value = value.strip()
        if not value and required:
            raise self.fail(f"{jpath}.{key}" if jpath else key, "is empty")
        return value or None

    def localized(self, obj: dict, key: str, jpath: str) -> LocalizedText | None:
        """A list of {languageCode, value}: no/nb → nb, en → en; other languages are
        ignored. None when absent or when neither language is present."""
        items = self.get(obj, key, jpath, list, False)
        if items is None:
            return None
        base = f"{jpath}.{key}" if jpath else key
        texts: dict[str, str] = {}
        for i, item in enumerate(items):
            where = f"{base}[{i}]"
            if not isinstance(item, dict):
                raise self.fail(
                    where,
                    f"expected an object with languageCode and value, found {_json_type(item)}",
                )
            language = (self.text(item, "languageCode", where, required=True) or "").lower()
            value = self.text(item, "value", where)
            if value is None:
                continue
            slot = "nb" if language in _NB else "en" if language in _EN else None
            if slot is not None and slot not in texts:
                texts[slot] = " ".join(value.split()) if key in ("name", "categoryTitle") else value
        return LocalizedText(**texts) if texts else None

    def date(self, obj: dict, key: str, jpath: str) -> dt.date | None:
        value = self.text(obj, key, jpath)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            raise self.fail(
                f"{jpath}.{key}", f"'{value}' is not a date; expected YYYY-MM-DD"
            ) from None


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    return " or ".join(names.get(k, "a number") for k in kinds)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "a number"


def _load(path: Path) -> Any:
    text = decode_text(read_bytes(path), path, "JSON")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegcatError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", path, exc.lineno
        ) from None


def register_for_unit_type(unit_type: str) -> str | None:
    """The register a unit type belongs to by its prefix (NPR_EPISODE → npr)."""
    prefix = unit_type.split("_", 1)[0].upper()
    return UNIT_TYPE_REGISTERS.get(prefix) if "_" in unit_type else None


def read_ssb(path: Path, register_id: str | None = None) -> ImportResult:
    """Read one SSB microdata variable JSON file.

    `register_id` defaults to the register named by the unit type's prefix (NPR_ →
    npr, KRG_ → kreftregisteret). Raises RegcatError naming the file and the JSON
    path of the field on input it cannot use."""
    path = Path(path)
    if register_id is not None:
        check_register_id(register_id)
    data = _load(path)
    doc = _Doc(path)
    if not isinstance(data, dict):
        raise doc.fail(
            "$", f"expected a JSON object describing one variable, found {_json_type(data)}"
        )

    short_name = doc.text(data, "shortName", "", required=True)
    assert short_name is not None
    if not _LOCAL_NAME.match(short_name):
        raise doc.fail(
            "shortName", f"'{short_name}' may only use letters, digits, '_', '.' and '-'"
        )

    unit = doc.get(data, "unitType", "", dict, True)
    unit_name = doc.text(unit, "shortName", "unitType", required=True)
    assert unit_name is not None

    warnings: list[str] = []
    flags: list[str] = []

    def flag(jpath: str, message: str) -> None:
        flags.append(message)
        warnings.append(f"{path}: field '{jpath}': {message}")

    inferred = register_for_unit_type(unit_name)
    if register_id is None:
        if inferred is None:
            known = ", ".join(f"{p}_ → {r}" for p, r in UNIT_TYPE_REGISTERS.items())
            raise doc.fail(
                "unitType.shortName",
                f"cannot tell the register from unit type '{unit_name}' (known prefixes: "
                f"{known}); name it with --register",
            )
        register_id = inferred
    elif inferred is not None and inferred != register_id:
        warnings.append(
            f"{path}: field 'unitType.shortName': unit type '{unit_name}' belongs to register "
            f"'{inferred}', imported into '{register_id}' as asked"
        )

    # --- form -------------------------------------------------------------------------
    form_local = unit_name
    prefix = unit_name.split("_", 1)[0]
    if "_" in unit_name and UNIT_TYPE_REGISTERS.get(prefix.upper()) == register_id:
        form_local = unit_name.split("_", 1)[1]
    form_id = form_local.lower()
    if not _FORM_ID.match(form_id):
        form_id = re.sub(r"[^a-z0-9]+", "_", form_id).strip("_")
        if not form_id:
            raise doc.fail("unitType.shortName", f"'{unit_name}' gives no usable form id")
    form_name = doc.localized(unit, "name", "unitType") or LocalizedText(nb=unit_name)
    form = Form(
        id=form_id,
        name=form_name,
        description=doc.localized(unit, "description", "unitType"),
    )
    pseudonymised = doc.get(unit, "requiresPseudonymization", "unitType", bool, False)

    # --- variable -------------------------------------------------------------------
    label = doc.localized(data, "name", "")
    if label is None:
        label = LocalizedText(nb=short_name)
        flag("name", "no Norwegian or English name; the short name is used as label")
    definition = doc.localized(data, "description", "")
    data_type = doc.text(data, "dataType", "")
    value_format = doc.text(data, "format", "")
    domain = doc.get(data, "valueDomain", "", dict, False) or {}
    code_list = doc.get(domain, "codeList", "valueDomain", list, False)

    variable_id = f"{register_id}:{short_name}"
    value_set = None
    if code_list:
        value_set = _value_set(doc, variable_id, label, domain, code_list, warnings)

    datatype = DATA_TYPES.get((data_type or "").upper())
    if datatype is None:
        shown = f"unknown dataType '{data_type}'" if data_type else "no dataType"
        flag("dataType", f"{shown}; imported as string")
        datatype = "string"
    is_identifier = value_format == "RandomUInt48" or bool(_IDENTIFIER_NAME.search(short_name))
    if value_set is not None:
        datatype = "coded"
    elif is_identifier and datatype in ("string", "integer"):
        datatype = "identifier"

    source_type = data_type or None
    if value_format:
        source_type = f"{data_type or '?'} ({value_format})"
    try:
        variable = Variable(
            id=variable_id,
            form=form_id,
            label=label,
            definition=definition,
            datatype=datatype,
            value_set=value_set.id if value_set is not None else None,
            collection_mode="reported",
            sensitivity="indirect_identifier"
            if datatype == "identifier" and pseudonymised
            else None,
            status="accepted",
            physical_name=short_name,
            source_type=source_type,
            import_flags=flags or None,
        )
    except ValidationError as exc:  # pragma: no cover - inputs are checked above
        raise doc.fail("", f"cannot build the variable: {exc}") from None

    return ImportResult(
        register_id=register_id,
        source=str(path),
        scope="ssb",
        complete=False,  # one variable per file: importing one never retires the others
        forms=[form],
        variables=[variable],
        value_sets=[value_set] if value_set is not None else [],
        warnings=warnings,
    )


def _value_set(
    doc: _Doc,
    value_set_id: str,
    label: LocalizedText,
    domain: dict,
    code_list: list,
    warnings: list[str],
) -> ValueSet:
    codes: list[PermissibleValue] = []
    periods: dict[str, list[tuple[dt.date | None, dt.date | None, int]]] = {}
    for i, item in enumerate(code_list):
        where = f"valueDomain.codeList[{i}]"
        if not isinstance(item, dict):
            raise doc.fail(
                where, f"expected an object with code and categoryTitle, found {_json_type(item)}"
            )
        raw_code = doc.get(item, "code", where, (str, int), True)
        code = str(raw_code).strip()
        if not code:
            raise doc.fail(f"{where}.code", "is empty")
        valid_from = doc.date(item, "validFrom", where)
        valid_to = doc.date(item, "validUntil", where)
        if valid_from and valid_to and valid_to < valid_from:
            raise doc.fail(f"{where}.validUntil", f"{valid_to} is before validFrom {valid_from}")
        for start, end, j in periods.get(code, []):
            if (start is None or valid_to is None or start <= valid_to) and (
                end is None or valid_from is None or valid_from <= end
            ):
                warnings.append(
                    f"{doc.path}: field '{where}': code '{code}' is valid in a period that "
                    f"overlaps valueDomain.codeList[{j}]"
                )
                break
        periods.setdefault(code, []).append((valid_from, valid_to, i))
        codes.append(
            PermissibleValue(
                code=code,
                label=doc.localized(item, "categoryTitle", where),
                valid_from=valid_from,
                valid_to=valid_to,
            )
        )
    uris = doc.get(domain, "uriDefinition", "valueDomain", list, False) or []
    url = next((u.strip() for u in uris if isinstance(u, str) and u.strip()), None)
    return ValueSet(
        id=value_set_id,
        name=label,
        description=doc.localized(domain, "description", "valueDomain"),
        url=url,
        codes=codes,
    )
