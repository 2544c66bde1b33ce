"""`regcat lint`: every YAML content file in canonical form (see regcat.io.dump_yaml)."""

from __future__ import annotations

from pathlib import Path

from regcat.errors import RegcatError
from regcat.io import AtomicBatch, dump_yaml, read_yaml
from regcat.layout import content_files


def canonical_text(path: Path) -> str:
    data = read_yaml(path).data
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        raise RegcatError(f"expected a YAML mapping, got {got}; lint rewrites nothing", path)
    return dump_yaml(data)


def lint_catalogue(root: Path, write: bool = True) -> list[str]:
    """Return the files (relative) whose text is not canonical; rewrite them unless
    `write` is false. All files are rendered before any is written."""
    batch = AtomicBatch()
    changed = []
    for file in content_files(root):
        if file.kind == "mappings":
            continue
        text = canonical_text(file.path)
        if file.path.read_text(encoding="utf-8") != text:
            changed.append(file.rel)
            batch.add(file.path, text)
    if write:
        batch.commit()
    return changed
