"""File I/O for catalogue content: YAML in canonical form, atomic writes.

Everything that reads or writes catalogue files goes through here, so the rest of
the code works on dicts and model objects only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from regcat.errors import RegcatError

try:  # libyaml is ~4x faster; fall back to the pure-Python loader where it is missing
    _BaseLoader: type = yaml.CSafeLoader
    _BaseDumper: type = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader
    _BaseDumper = yaml.SafeDumper


try:  # a Rust YAML 1.2 parser, ~15x faster than libyaml on catalogue files
    import fast_yaml as _fast_yaml
except ImportError:  # pragma: no cover - optional speed-up
    _fast_yaml = None


class _StrDateLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """PyYAML loader that, like YAML 1.2, leaves dates as strings: the model parses
    them, so a malformed date becomes a finding with a line number."""


_StrDateLoader.add_constructor("tag:yaml.org,2002:timestamp", _BaseLoader.construct_yaml_str)
# YAML 1.1 reads an unquoted `no`/`yes`/`on`/`off` as booleans; catalogue text (and
# Norway's country code) means the word. Resolve booleans as YAML 1.2 does, like the
# parser on the fast path.
_StrDateLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_StrDateLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class YamlDocument:
    """A parsed YAML file. Lines of entities are looked up only when a finding needs
    one, so the fast path never tracks positions."""

    __slots__ = ("path", "data", "text", "digest", "_lines", "id_line")

    def __init__(self, path: Path, data: Any, text: str, digest: str) -> None:
        self.path = path
        self.data = data
        self.text = text
        self.digest = digest
        self._lines: dict[str, int] | None = None
        self.id_line = _ID_LINE  # what names an entity; EHR binding files name variables

    def line_of(self, key: str | None) -> int | None:
        """The line where the mapping with `id: key` (or `code: key`; see `id_line`)
        starts."""
        if key is None:
            return None
        if self._lines is None:
            self._lines = {}
            for number, line in enumerate(self.text.splitlines(), start=1):
                match = self.id_line.match(line)
                if match:
                    value = match.group(2).strip().strip("'\"")
                    self._lines.setdefault(value, number)
        return self._lines.get(key)


_ID_LINE = re.compile(r"^\s*(?:-\s+)?(id|code):\s*(.+?)\s*$")
BINDING_LINE = re.compile(r"^\s*(?:-\s+)?(variable|form|register_id):\s*(.+?)\s*$")


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RegcatError("file not found", path) from None
    except IsADirectoryError:
        raise RegcatError("is a directory, expected a file", path) from None
    except PermissionError:
        raise RegcatError("permission denied", path) from None


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def decode_text(raw: bytes, path: Path, what: str = "YAML") -> str:
    if b"\x00" in raw[:4096]:
        raise RegcatError(f"binary file, expected {what} text", path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegcatError(
            f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8", path
        ) from None


def _pyyaml_load(text: str, path: Path) -> Any:
    try:
        return yaml.load(text, Loader=_StrDateLoader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise RegcatError(f"malformed YAML: {problem}", path, line) from None
    except yaml.YAMLError as exc:
        raise RegcatError(f"malformed YAML: {exc}", path) from None


def parse_yaml(raw: bytes, path: Path) -> YamlDocument:
    """Parse YAML bytes; any problem becomes a RegcatError naming file and line."""
    text = decode_text(raw, path)
    if _fast_yaml is not None:
        try:
            data = _fast_yaml.safe_load(text)
        except Exception:  # noqa: BLE001 - re-parsed below for a located message
            data = _pyyaml_load(text, path)
    else:
        data = _pyyaml_load(text, path)
    return YamlDocument(path, data, text, digest(raw))


def read_yaml(path: Path) -> YamlDocument:
    return parse_yaml(read_bytes(path), path)


# --- canonical form ---------------------------------------------------------------


class _CanonicalDumper(_BaseDumper):  # type: ignore[misc, valid-type]
    pass


# Plain scalars that a YAML 1.2 parser reads as something other than a string, while
# PyYAML (YAML 1.1) would write them unquoted: "0937" (a municipality code) must not
# come back as the integer 937.
_YAML12_NON_STRING = re.compile(
    r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|~|null|Null|NULL|true|True|TRUE|false|False|FALSE)$"
)


def _represent_str(dumper: yaml.Dumper, value: str) -> yaml.Node:
    if "\n" in value and value.strip() and _block_safe(value):
        style: str | None = "|"
    elif _YAML12_NON_STRING.match(value):
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _block_safe(value: str) -> bool:
    # Literal blocks cannot carry trailing spaces on lines or most control characters
    # faithfully; fall back to a quoted scalar for those.
    return not any(line != line.rstrip(" \t") for line in value.split("\n")) and all(
        ch in "\n\t" or ch >= " " for ch in value
    )


def _represent_date(dumper: yaml.Dumper, value: dt.date) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value.isoformat())


_CanonicalDumper.add_representer(str, _represent_str)
_CanonicalDumper.add_representer(dt.date, _represent_date)


def prune(value: Any) -> Any:
    """Drop None, empty strings, empty lists and empty dicts, recursively."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = prune(item)
            if item is None or item == "" or item == [] or item == {}:
                continue
            out[key] = item
        return out
    if isinstance(value, list):
        return [prune(item) for item in value]
    return value


def dump_yaml(data: Any) -> str:
    """Canonical YAML: key order as given (the model's field order, so `id` comes
    first and a reader finds it), 2-space indent, no nulls, UTF-8, no line wrapping."""
    return yaml.dump(
        prune(data),
        Dumper=_CanonicalDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100_000,
        indent=2,
    )


# --- atomic writes ----------------------------------------------------------------


def write_text_atomic(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename over it: a reader sees
    the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicBatch:
    """Several files written together: every file is rendered first, then all are
    renamed into place, so a failure while rendering leaves the catalogue as it was."""

    def __init__(self) -> None:
        self._pending: dict[Path, str] = {}

    def add(self, path: Path, text: str) -> None:
        self._pending[path] = text

    def __iter__(self) -> Iterator[Path]:
        return iter(self._pending)

    def text(self, path: Path) -> str:
        return self._pending[path]

    def commit(self) -> list[Path]:
        written = []
        for path, text in self._pending.items():
            if path.exists() and path.read_text(encoding="utf-8") == text:
                continue
            write_text_atomic(path, text)
            written.append(path)
        return written
