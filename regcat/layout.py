"""Where things live in a catalogue directory, and how to find the bundled one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from regcat.errors import RegcatError

REGISTERS = "registers"
VALUESETS = "valuesets"
INSTRUMENTS = "instruments"
MAPPINGS = "mappings"
EHR = "ehr"
CODESYSTEMS = "codesystems.yaml"

# Kinds of content file, in the order they are loaded and reported.
KINDS = ("codesystems", "register", "valueset", "instrument", "mappings", "ehr")


@dataclass(frozen=True, order=True)
class ContentFile:
    kind: str
    path: Path  # absolute
    rel: str  # relative to the catalogue directory, with forward slashes: used in messages


def bundled_catalogue() -> Path:
    """The catalogue shipped inside the package (the repo's catalogue/ in a checkout)."""
    return Path(str(resources.files("regcat.bundled")))


def resolve_catalogue(path: Path | None) -> Path:
    """The catalogue to work on: the option, else $REGCAT_CATALOGUE, else the bundled one."""
    if path is None:
        env = os.environ.get("REGCAT_CATALOGUE")
        path = Path(env) if env else bundled_catalogue()
    if not path.exists():
        raise RegcatError("catalogue directory not found (create one with `regcat init`)", path)
    if not path.is_dir():
        raise RegcatError("not a directory; --catalogue expects a catalogue directory", path)
    if not (path / REGISTERS).is_dir():
        raise RegcatError(
            f"not a regcat catalogue: no '{REGISTERS}/' folder (create one with `regcat init`)",
            path,
        )
    return path


def content_files(root: Path) -> list[ContentFile]:
    """Every content file, in a stable order. Hidden files (editor and temp files) are
    skipped."""
    found: list[ContentFile] = []

    def add(kind: str, path: Path) -> None:
        found.append(ContentFile(kind, path, path.relative_to(root).as_posix()))

    if (root / CODESYSTEMS).is_file():
        add("codesystems", root / CODESYSTEMS)
    for kind, folder, pattern in (
        ("register", REGISTERS, "*.yaml"),
        ("valueset", VALUESETS, "*.yaml"),
        ("instrument", INSTRUMENTS, "*.yaml"),
        ("mappings", MAPPINGS, "*.sssom.tsv"),
        ("ehr", EHR, "*.yaml"),
    ):
        directory = root / folder
        if directory.is_dir():
            for path in sorted(directory.glob(pattern)):
                if not path.name.startswith("."):
                    add(kind, path)
    return found


def register_path(root: Path, register_id: str) -> Path:
    return root / REGISTERS / f"{register_id}.yaml"


def init_catalogue(root: Path) -> list[Path]:
    """Create an empty catalogue; refuses to touch a non-empty directory."""
    if root.exists() and any(root.iterdir()):
        raise RegcatError("directory is not empty; `regcat init` only creates new catalogues", root)
    created = []
    for folder in (REGISTERS, VALUESETS, INSTRUMENTS, MAPPINGS):
        (root / folder).mkdir(parents=True, exist_ok=True)
        keep = root / folder / ".gitkeep"
        keep.touch()
        created.append(root / folder)
    # Start from the standard code systems, so codings validate from the first import.
    bundled = bundled_catalogue() / CODESYSTEMS
    if bundled.is_file():
        (root / CODESYSTEMS).write_bytes(bundled.read_bytes())
        created.append(root / CODESYSTEMS)
    return created
