"""What `regcat prefill` reads: a FHIR Bundle for one patient, or a FHIR Bulk Data
export (a folder of NDJSON files, one resource type per file).

A Bundle is checked with fhir.resources and written out as NDJSON per resource type
(references to `urn:uuid:` full URLs rewritten to `Type/id`), so it runs through the
same SQL as a bulk export. In a bulk export, a file's resource type comes from its name
(`Condition.ndjson`, `Condition.001.ndjson`, `1.Condition.ndjson`; `.gz` too). Every
plain NDJSON file is first scanned for a line longer than the limit, without reading
it into memory: the scan looks for a newline within each limit-sized window.
"""

from __future__ import annotations

import json
import mmap
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from regcat.errors import RegcatError
from regcat.interop.fhir_json import load_json, validate_resource

MAX_RESOURCE_BYTES = 16 * 1024 * 1024
MAX_BUNDLE_BYTES = 200_000_000
_NDJSON = re.compile(r"^(?:\d+\.)?([A-Z][A-Za-z]+)(?:[._-]\d+)*\.(?:ndjson|jsonl)(\.gz)?$")


@dataclass
class Source:
    path: Path
    kind: str  # "bundle" | "bulk"
    files: dict[str, list[str]] = field(default_factory=dict)  # resource type -> files
    ignored: list[str] = field(default_factory=list)  # files whose name names no type
    _tmp: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_lines(path: Path, limit: int) -> None:
    """RegcatError naming the line when one is longer than `limit` bytes."""
    size = path.stat().st_size
    if size <= limit:
        return
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = 0
        while size - start > limit:
            cut = data.rfind(b"\n", start, start + limit + 1)
            if cut < 0:
                line = 1 + _count_newlines(data, start)
                raise RegcatError(
                    f"line {line}: a resource longer than {limit:,} bytes (the limit; "
                    "raise it with --max-resource-bytes if this is a real resource)",
                    path,
                )
            start = cut + 1


def _count_newlines(data: mmap.mmap, end: int) -> int:
    count, pos, step = 0, 0, 1 << 24
    while pos < end:
        count += data[pos : min(end, pos + step)].count(b"\n")
        pos += step
    return count


def first_bad_line(path: Path) -> tuple[int, str] | None:
    """The first line that is not a JSON object, with what is wrong: read only when the
    reader has already failed, one line at a time (lines are within the limit)."""
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                try:
                    data = json.loads(raw)
                except UnicodeDecodeError as exc:
                    return number, f"not UTF-8 at byte {exc.start + 1} of the line; NDJSON is UTF-8"
                except json.JSONDecodeError as exc:
                    return number, f"{exc.msg} at column {exc.colno}"
                if not isinstance(data, dict):
                    return number, f"a JSON {type(data).__name__}, not a resource"
    except OSError:
        return None
    return None


def _bulk(path: Path, limit: int) -> Source:
    source = Source(path, "bulk")
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    for file in files:
        if file.name.startswith(".") or not file.is_file():
            continue
        match = _NDJSON.match(file.name)
        if match is None:
            source.ignored.append(file.name)
            continue
        if not match.group(2):
            check_lines(file, limit)
        source.files.setdefault(match.group(1), []).append(str(file))
    if not source.files:
        raise RegcatError(
            "no NDJSON files named after a resource type (e.g. Patient.ndjson, "
            "Condition.001.ndjson): not a FHIR Bulk Data export",
            path,
        )
    return source


def _local(reference: str, urls: dict[str, str]) -> str:
    return urls.get(reference, reference)


def _bundle(path: Path, limit: int) -> Source:
    data = load_json(path, ("Bundle",), MAX_BUNDLE_BYTES, "FHIR Bundle")
    validate_resource(data, path, "Bundle")
    urls: dict[str, str] = {}
    entries = [e for e in data.get("entry") or [] if isinstance(e.get("resource"), dict)]
    for entry in entries:
        resource = entry["resource"]
        if entry.get("fullUrl") and resource.get("id"):
            urls[entry["fullUrl"]] = f"{resource['resourceType']}/{resource['id']}"
    by_type: dict[str, list[str]] = defaultdict(list)
    for i, entry in enumerate(entries):
        resource = dict(entry["resource"])
        if not resource.get("id"):
            raise RegcatError(
                f"Bundle.entry.{i}.resource: a {resource['resourceType']} without an id", path
            )
        for key in ("subject", "patient"):
            ref = resource.get(key)
            if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
                resource[key] = {**ref, "reference": _local(ref["reference"], urls)}
        line = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
        if len(line.encode()) > limit:
            raise RegcatError(f"Bundle.entry.{i}: a resource longer than {limit:,} bytes", path)
        by_type[resource["resourceType"]].append(line)
    tmp = tempfile.TemporaryDirectory(prefix="regcat-bundle-")
    source = Source(path, "bundle", _tmp=tmp)
    for resource_type, lines in sorted(by_type.items()):
        out = Path(tmp.name) / f"{resource_type}.ndjson"
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        source.files[resource_type] = [str(out)]
    return source


def open_source(path: Path, limit: int = MAX_RESOURCE_BYTES) -> Source:
    """A Bundle file, a Bulk Data folder or a single NDJSON file."""
    if not path.exists():
        raise RegcatError("not found: expected a FHIR Bundle (.json) or a Bulk Data folder", path)
    if path.is_dir() or _NDJSON.match(path.name):
        return _bulk(path, limit)
    return _bundle(path, limit)
