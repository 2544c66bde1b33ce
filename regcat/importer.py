"""Apply an importer's result to a catalogue: merge into the register's file, check
the result, and write it atomically (or only report, for a dry run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from regcat.errors import Finding, RegcatError
from regcat.importers.base import ImportResult
from regcat.io import dump_yaml, parse_yaml, write_text_atomic
from regcat.layout import ContentFile, register_path
from regcat.load import FileResult, load_file
from regcat.merge import Changes, merge_import
from regcat.validate import check_file


@dataclass
class ImportOutcome:
    path: Path
    written: bool
    changes: Changes
    variables: int
    findings: list[Finding] = field(default_factory=list)

    def summary(self) -> str:
        c = self.changes
        return (
            f"{self.variables} variables ({len(c.added)} added, {len(c.changed)} changed, "
            f"{len(c.retired)} retired, {len(c.revived)} back); "
            f"codes {sum(map(len, c.codes_added.values()))} added, "
            f"{sum(map(len, c.codes_removed.values()))} removed, "
            f"{sum(map(len, c.codes_changed.values()))} relabelled"
        )

    def to_json(self) -> dict:
        return {
            "path": str(self.path),
            "written": self.written,
            "variables": self.variables,
            "changes": self.changes.to_json(),
            "findings": [f.to_json() for f in self.findings],
        }


def render_register(register) -> str:
    return dump_yaml(register.model_dump(mode="json", exclude_none=True))


def _check_rendered(file: ContentFile, text: str) -> FileResult:
    raw = text.encode("utf-8")
    doc = parse_yaml(raw, file.path)
    result = FileResult(file, doc.digest, doc=doc)
    from regcat.load import _load_register

    _load_register(result, doc.data)
    return check_file(result)


def apply_import(root: Path, imported: ImportResult, dry_run: bool = False) -> ImportOutcome:
    path = register_path(root, imported.register_id)
    file = ContentFile("register", path, path.relative_to(root).as_posix())
    existing = None
    if path.exists():
        loaded = load_file(file)
        schema_errors = [f for f in loaded.findings if f.rule == "schema"]
        if loaded.obj is None or schema_errors:
            first = schema_errors[0].render() if schema_errors else file.rel
            raise RegcatError(
                f"the existing register file does not match the model; fix it first ({first})",
                file.rel,
            )
        existing = loaded.obj
    register, changes = merge_import(existing, imported)
    text = render_register(register)
    checked = _check_rendered(file, text)
    findings = [f for f in checked.findings if f.severity == "error"]
    old = path.read_text(encoding="utf-8") if path.exists() else None
    written = False
    if not dry_run and text != old:
        write_text_atomic(path, text)
        written = True
    return ImportOutcome(path, written, changes, len(register.variables or []), findings)
