"""Reading FHIR JSON from a file, shared by the Questionnaire import and prefill: a
size limit before parsing, UTF-8 or UTF-16 with a BOM, parse errors with line and
column, the resource type checked, and fhir.resources' R4B validation with the
element path of each error."""

from __future__ import annotations

import json
from pathlib import Path

from regcat.errors import RegcatError
from regcat.io import decode_text, read_bytes


def load_json(path: Path, expected: tuple[str, ...], max_bytes: int, what: str) -> dict:
    """The file's JSON object, whose resourceType must be one of `expected`."""
    raw = read_bytes(path)
    if len(raw) > max_bytes:
        raise RegcatError(f"larger than {max_bytes // 1_000_000} MB; not a {what}", path)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16 with a BOM, as Windows tools save
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise RegcatError(f"not valid UTF-16 (byte {exc.start})", path) from None
    else:
        text = decode_text(raw, path, "JSON")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegcatError(
            f"line {exc.lineno}, column {exc.colno}: not JSON ({exc.msg})", path
        ) from None
    if not isinstance(data, dict) or data.get("resourceType") not in expected:
        if isinstance(data, dict) and "resourceType" not in data:
            raise RegcatError(f"not FHIR: the JSON has no resourceType; expected a {what}", path)
        kind = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise RegcatError(f"expected a {what}, found {kind!r}", path)
    return data


def validate_resource(resource: dict, path: Path, where: str) -> None:
    """Raise RegcatError naming up to five invalid elements, as `where.element.path`."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except (ValidationError, KeyError, ValueError, TypeError) as exc:
        errors = (
            exc.errors() if isinstance(exc, ValidationError) else [{"loc": (), "msg": str(exc)}]
        )
        shown = "; ".join(
            f"{where}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5]
        )
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise RegcatError(f"not valid FHIR R4: {shown}{more}", path) from None
