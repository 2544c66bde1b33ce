"""Validators for register submissions, rendered by LinkML's own generators from the
schema regcat.codegen.schema derives: Pydantic, JSON Schema, SHACL and SQL DDL.

Rendering is in memory (`render`); `write` puts the files in place atomically. The
same catalogue gives byte-identical files. LinkML is imported only in here.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regcat.catalogue import Catalogue
from regcat.codegen.header import catalogue_version, format_python, header
from regcat.codegen.schema import register_schema
from regcat.errors import RegcatError
from regcat.io import dump_yaml, write_text_atomic

TARGETS = ("linkml", "pydantic", "jsonschema", "shacl", "sql")


@dataclass(frozen=True)
class Output:
    name: str  # file name inside the output directory
    text: str


def _linkml_version() -> str:
    from importlib.metadata import version

    return version("linkml")


def _generators():
    try:
        from linkml.generators.jsonschemagen import JsonSchemaGenerator
        from linkml.generators.pydanticgen import PydanticGenerator
        from linkml.generators.shaclgen import ShaclGenerator
        from linkml.generators.sqltablegen import SQLTableGenerator
    except ImportError:
        raise RegcatError("LinkML is not installed: pip install linkml") from None
    return PydanticGenerator, JsonSchemaGenerator, ShaclGenerator, SQLTableGenerator


def base_name(register_id: str, form: str | None = None) -> str:
    """The file stem, also an importable Python module name."""
    return f"regcat_{register_id}" + (f"_{form}" if form else "")


# --- hardening of generated text ---------------------------------------------------
# Catalogue texts reach generated code only as descriptions and titles. LinkML writes
# descriptions into triple-quoted strings and docstrings and SQL `--` comments, which a
# text with `"""`, a trailing backslash or a newline could break out of. The schema
# handed to the generators therefore carries "safe" texts: no triple quotes, no
# backslashes, and (for SQL, whose comments are one line) no line breaks. The LinkML
# YAML output keeps the texts exactly as they are (YAML quotes them).


def _safe_text(text: str, one_line: bool = False) -> str:
    text = text.replace("\\", "/").replace('"""', "”””").replace("'''", "’’’")
    text = "".join(ch if ch >= " " or ch in "\n\t" else " " for ch in text)
    text = text.replace("\t", " ")
    if one_line:
        text = " ".join(text.split())
    # Closing quote of a docstring right after the text: never end on a quote.
    if text.endswith(('"', "'")):
        text += " "
    return text.strip() if one_line else text


def _safe_schema(schema: dict, one_line: bool = False) -> dict:
    def walk(node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if isinstance(node, str) and key == "title":
            # LinkML writes titles into one-line "..." literals without escaping.
            return _safe_text(node, one_line=True).replace('"', "”")
        if isinstance(node, str) and key == "description":
            return _safe_text(node, one_line)
        if isinstance(node, str) and key not in ("pattern", "text", "meaning", "ucum_code"):
            # annotation values and aliases: shown in metadata dicts, keep them one line
            return _safe_text(node, one_line=True) if key != "id" else node
        return node

    return walk(copy.deepcopy(schema))


# --- renderers ------------------------------------------------------------------


def _render_linkml(schema: dict, what: str, version: str) -> str:
    return header("#", what, version) + dump_yaml(schema)


def _render_pydantic(schema_yaml: str, what: str, version: str) -> str:
    pydantic_generator = _generators()[0]
    source = pydantic_generator(schema_yaml).serialize()
    return format_python(header("#", what, version) + source)


def _json_forms(schema_yaml: str, schema: dict, what: str, version: str) -> dict[str, str]:
    """One JSON Schema per form class: the form's properties at the root, closed."""
    json_schema_generator = _generators()[1]
    classes = list(schema["classes"])
    full = json.loads(json_schema_generator(schema_yaml, top_class=classes[0]).serialize())
    defs = full.get("$defs", {})
    out: dict[str, str] = {}
    for cls in classes:
        body = copy.deepcopy(defs[cls])
        refs = set(re.findall(r'"#/\$defs/([^"]+)"', json.dumps(body)))
        result: dict[str, Any] = {
            "$schema": full.get("$schema"),
            "$id": f"{full.get('$id')}/{cls}",
            "$comment": header("", what + f", form class {cls}", version)
            .replace("\n", " ")
            .strip(),
            "title": schema["classes"][cls].get("title", cls),
            **body,
            "$defs": {name: defs[name] for name in sorted(refs) if name in defs},
        }
        result["type"] = "object"
        result["additionalProperties"] = False
        result = {k: v for k, v in result.items() if v is not None and v != {}}
        out[cls] = json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return out


def _render_shacl(schema_yaml: str, what: str, version: str) -> str:
    shacl_generator = _generators()[2]
    return header("#", what, version) + shacl_generator(schema_yaml).serialize()


def _render_sql(schema_yaml: str, what: str, version: str) -> str:
    sql_generator = _generators()[3]
    ddl = sql_generator(schema_yaml, dialect="sqlite").generate_ddl()
    return header("--", what, version) + ddl.rstrip() + "\n"


def render(
    catalogue: Catalogue,
    register_id: str,
    target: str,
    form: str | None = None,
    version: str | None = None,
) -> list[Output]:
    """Render one target for a register (or one of its forms) in memory."""
    if target not in TARGETS:
        raise RegcatError(f"unknown target {target!r}; targets: {', '.join(TARGETS)}")
    schema = register_schema(catalogue, register_id, form)
    if version is None:
        version = catalogue_version(catalogue.root)
    base = base_name(register_id, form)
    what = f"register {register_id}" + (f" form {form}" if form else "")
    what += f" (LinkML {_linkml_version()}, target {target})"
    if target == "linkml":
        return [Output(f"{base}.linkml.yaml", _render_linkml(schema, what, version))]
    safe_yaml = dump_yaml(_safe_schema(schema, one_line=target == "sql"))
    if target == "pydantic":
        return [Output(f"{base}.py", _render_pydantic(safe_yaml, what, version))]
    if target == "jsonschema":
        forms = _json_forms(safe_yaml, schema, what, version)
        return [Output(f"{base}.{cls}.schema.json", text) for cls, text in forms.items()]
    if target == "shacl":
        return [Output(f"{base}.shacl.ttl", _render_shacl(safe_yaml, what, version))]
    return [Output(f"{base}.sql", _render_sql(safe_yaml, what, version))]


def write(outputs: list[Output], out_dir: Path) -> list[Path]:
    """Write every output atomically into out_dir (all rendered before any is written)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise RegcatError("not a directory; --out expects a directory", out_dir)
    paths = []
    for output in outputs:
        path = out_dir / output.name
        write_text_atomic(path, output.text)
        paths.append(path)
    return paths


def generate(
    catalogue: Catalogue,
    register_id: str,
    target: str,
    out_dir: Path,
    form: str | None = None,
) -> list[Path]:
    return write(render(catalogue, register_id, target, form), out_dir)
