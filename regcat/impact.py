"""What a new release of a code system (NCSP, ICD-10, ATC, …) breaks in the catalogue.

Two releases come as CSV files with a header row; one column holds the codes and one
the labels. The columns are found by name (``code``/``kode``/…, ``label``/``tekst``/…,
or a column named after the system, as ICD-10's ``ICD10;Tekst``), else a two-column
file is taken as code, label; ``--code-column`` and ``--label-column`` say it outright.
The delimiter (``,`` ``;`` tab ``|``) is sniffed from the header; UTF-8 (with or
without BOM) is expected.

The releases are compared code by code (after ``codes.normalise``): added, removed,
and relabelled (same code, another label; surrounding space ignored). Then every
place in the catalogue that names a removed or relabelled code is listed:

- variables: codings, and the ``concept`` CURIE;
- value sets: codes' meanings; codes of a value set drawn from the system; a value set
  that is the whole system (no codes listed) is listed once, as it now accepts
  different codes;
- mappings: subject and object CURIEs; value-map sources and targets, written as
  CURIEs or as bare codes of a variable whose value set is drawn from the system;
  record-linkage code prefixes that catch a removed or relabelled code, and prefixes
  that catch no code of the new release at all.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from regcat import codes
from regcat.catalogue import Catalogue
from regcat.errors import RegcatError
from regcat.generated.model import Mapping
from regcat.io import decode_text, read_bytes
from regcat.text import fold

CODE_NAMES = ("code", "kode", "koder", "codes", "kodeverdi", "verdi", "value")
LABEL_NAMES = ("label", "tekst", "text", "beskrivelse", "description", "navn", "name", "term")


@dataclass
class CodeRelease:
    path: Path
    system: str
    codes: dict[str, str]  # code -> label
    code_column: str
    label_column: str


@dataclass
class ReleaseDiff:
    system: str
    old: CodeRelease
    new: CodeRelease
    added: list[str]
    removed: list[str]
    relabelled: dict[str, tuple[str, str]]  # code -> (old label, new label)

    def change(self, code: str) -> str | None:
        if code in self.relabelled:
            return "relabelled"
        if code in self.old.codes and code not in self.new.codes:
            return "removed"
        return None


@dataclass(frozen=True, order=True)
class Reference:
    """One place in the catalogue that names an affected code."""

    kind: str  # variable, value_set, mapping
    id: str
    where: str
    code: str
    change: str  # removed, relabelled, or a note for whole-system value sets and prefixes
    detail: str = ""

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.id,
            "where": self.where,
            "code": self.code,
            "change": self.change,
            "detail": self.detail,
        }

    def render(self) -> str:
        text = f"{self.kind} {self.id}: {self.where}: {self.code} {self.change}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass
class Impact:
    diff: ReleaseDiff
    references: list[Reference] = field(default_factory=list)

    def to_json(self) -> dict:
        d = self.diff
        return {
            "system": d.system,
            "old": {"path": str(d.old.path), "codes": len(d.old.codes)},
            "new": {"path": str(d.new.path), "codes": len(d.new.codes)},
            "counts": {
                "added": len(d.added),
                "removed": len(d.removed),
                "relabelled": len(d.relabelled),
                "references": len(self.references),
            },
            "added": {c: d.new.codes[c] for c in d.added},
            "removed": {c: d.old.codes[c] for c in d.removed},
            "relabelled": {c: {"old": o, "new": n} for c, (o, n) in d.relabelled.items()},
            "references": [r.to_json() for r in self.references],
        }


# --------------------------------------------------------------------------- reading


def _find_column(
    header: list[str], given: str | None, names: tuple[str, ...], what: str, path: Path
) -> int | None:
    folded = [fold(h).strip() for h in header]
    if given is not None:
        if fold(given).strip() in folded:
            return folded.index(fold(given).strip())
        raise RegcatError(
            f"no {what} column '{given}'; the columns are {', '.join(header)}", path, 1
        )
    for index, name in enumerate(folded):
        if name in names or any(name.endswith(f"_{n}") for n in names):
            return index
    return None


def read_release(
    path: Path,
    system: str,
    code_column: str | None = None,
    label_column: str | None = None,
) -> CodeRelease:
    """Read one release of a code system. Errors name the file, row and column."""
    text = decode_text(read_bytes(path), path, "CSV")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise RegcatError("empty file; expected a header row and one code per row", path, 1)
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(rows)]
        code_at = _find_column(header, code_column, CODE_NAMES, "code", path)
        if code_at is None and fold(system) in [fold(h) for h in header]:
            code_at = [fold(h) for h in header].index(fold(system))
        label_at = _find_column(header, label_column, LABEL_NAMES, "label", path)
        if code_at is None and label_at is None and len(header) == 2:
            code_at, label_at = 0, 1
        if code_at is None:
            raise RegcatError(
                f"cannot tell which column holds the codes (columns: {', '.join(header)}); "
                "pass --code-column",
                path,
                1,
            )
        if label_at is None:
            others = [i for i in range(len(header)) if i != code_at]
            if len(others) != 1:
                raise RegcatError(
                    "cannot tell which column holds the labels "
                    f"(columns: {', '.join(header)}); pass --label-column",
                    path,
                    1,
                )
            label_at = others[0]
        found: dict[str, str] = {}
        first_row: dict[str, int] = {}
        for values in rows:
            row = rows.line_num
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise RegcatError(
                    f"row has {len(values)} fields, the header has {len(header)}", path, row
                )
            raw = values[code_at].strip()
            if not raw:
                raise RegcatError("empty code", path, row, header[code_at])
            code = codes.normalise(system, raw)
            label = values[label_at].strip()
            if code in found and found[code] != label:
                raise RegcatError(
                    f"code {raw!r} is listed again with another label "
                    f"(first on row {first_row[code]})",
                    path,
                    row,
                    header[code_at],
                )
            found.setdefault(code, label)
            first_row.setdefault(code, row)
    except csv.Error as exc:
        raise RegcatError(f"malformed CSV: {exc}", path, rows.line_num) from None
    if not found:
        raise RegcatError("no codes: the file has a header row and nothing else", path, 2)
    return CodeRelease(path, system, found, header[code_at], header[label_at])


def guess_system(path: Path) -> str | None:
    """The code system named at the start of the file name (NCSP_2016…csv → NCSP)."""
    stem = path.stem.upper()
    for system in sorted(codes.KNOWN_SYSTEMS, key=len, reverse=True):
        if stem.startswith(system) and not stem[len(system) : len(system) + 1].isalpha():
            return system
    return None


def compare_releases(old: CodeRelease, new: CodeRelease) -> ReleaseDiff:
    return ReleaseDiff(
        system=new.system,
        old=old,
        new=new,
        added=sorted(set(new.codes) - set(old.codes)),
        removed=sorted(set(old.codes) - set(new.codes)),
        relabelled={
            c: (old.codes[c], new.codes[c])
            for c in sorted(set(old.codes) & set(new.codes))
            if old.codes[c] != new.codes[c]
        },
    )


# --------------------------------------------------------------------------- impact


def _in_system(prefix: str, system: str) -> bool:
    return prefix.strip().upper() == system.upper()


def _curie_change(diff: ReleaseDiff, value: str | None) -> tuple[str, str] | None:
    """(code, change) when ``value`` is a CURIE of an affected code of the system."""
    if not value:
        return None
    prefix, sep, local = value.partition(":")
    if not sep or not _in_system(prefix, diff.system):
        return None
    code = codes.normalise(diff.system, local)
    change = diff.change(code)
    return (code, change) if change else None


def _label_detail(diff: ReleaseDiff, code: str, change: str) -> str:
    if change == "relabelled":
        before, after = diff.relabelled[code]
        return f"'{before}' → '{after}'"
    return f"was '{diff.old.codes[code]}'"


def _system_variables(cat: Catalogue, system: str) -> set[str]:
    """Variables whose value set is drawn from the system: their values are its codes."""
    return {
        v.id
        for v in cat.variables.values()
        if v.value_set
        and v.value_set in cat.value_sets
        and _in_system(cat.value_sets[v.value_set].code_system or "", system)
    }


def _mapping_refs(diff: ReleaseDiff, file: str, mapping: Mapping, coded: set[str]) -> list:
    name = mapping.record_id or f"{file}: {mapping.subject_id} → {mapping.object_id}"
    refs = []

    def add(where: str, code: str, change: str, detail: str = "") -> None:
        detail = detail or _label_detail(diff, code, change)
        refs.append(Reference("mapping", name, where, f"{diff.system}:{code}", change, detail))

    for where, value in (("subject_id", mapping.subject_id), ("object_id", mapping.object_id)):
        if found := _curie_change(diff, value):
            add(where, *found)
    t = mapping.transformation
    if t is None:
        return refs
    for index, entry in enumerate(t.value_map or []):
        for side, value, variable in (
            ("source", entry.source, mapping.subject_id),
            ("target", entry.target, mapping.object_id),
        ):
            found = _curie_change(diff, value)
            if found is None and variable in coded:
                code = codes.normalise(diff.system, value)
                found = (code, diff.change(code)) if diff.change(code) else None
            if found:
                add(f"transformation.value_map[{index}].{side}", *found)
    linkage = t.record_linkage
    if linkage is not None and linkage.code_prefixes:
        stated = linkage.code_system
        if stated is not None and not _in_system(stated, diff.system):
            return refs
        for prefix in linkage.code_prefixes:
            if stated is None and codes.check_prefix(diff.system, prefix) is not None:
                continue  # no system stated and the prefix is not one of this system's
            p = codes.normalise(diff.system, prefix)
            where = "transformation.record_linkage.code_prefixes"
            hit = [c for c in diff.removed if c.startswith(p)]
            hit += [c for c in diff.relabelled if c.startswith(p)]
            for code in sorted(hit):
                change = diff.change(code) or ""
                add(where, code, change, f"prefix {p!r}; {_label_detail(diff, code, change)}")
            if not any(c.startswith(p) for c in diff.new.codes):
                refs.append(
                    Reference(
                        "mapping",
                        name,
                        where,
                        f"{diff.system}:{p}*",
                        "matches no code",
                        f"no code of the new release starts with {p!r}",
                    )
                )
    return refs


def catalogue_impact(cat: Catalogue, diff: ReleaseDiff) -> Impact:
    refs: list[Reference] = []
    system = diff.system

    def ref(kind: str, ident: str, where: str, code: str, change: str) -> None:
        detail = _label_detail(diff, code, change)
        refs.append(Reference(kind, ident, where, f"{system}:{code}", change, detail))

    for variable in cat.variables.values():
        for index, coding in enumerate(variable.codings or []):
            if _in_system(coding.system, system):
                code = codes.normalise(system, coding.code)
                if change := diff.change(code):
                    ref("variable", variable.id, f"codings[{index}]", code, change)
        if found := _curie_change(diff, variable.concept):
            ref("variable", variable.id, "concept", *found)

    for vs in cat.value_sets.values():
        drawn = _in_system(vs.code_system or "", system)
        for pv in vs.codes or []:
            if found := _curie_change(diff, pv.meaning):
                ref("value_set", vs.id, f"code {pv.code!r} meaning", *found)
            elif drawn and not pv.meaning:
                code = codes.normalise(system, pv.code)
                if change := diff.change(code):
                    ref("value_set", vs.id, f"code {pv.code!r}", code, change)
        if drawn and not vs.codes and (diff.removed or diff.relabelled):
            users = sorted(v.id for v in cat.variables.values() if v.value_set == vs.id)
            refs.append(
                Reference(
                    "value_set",
                    vs.id,
                    "code_system",
                    f"{system}:*",
                    "whole system",
                    f"accepts every {system} code: {len(diff.removed)} removed, "
                    f"{len(diff.relabelled)} relabelled; used by "
                    + (", ".join(users) or "no variable"),
                )
            )

    coded = _system_variables(cat, system)
    for file, mapping_set in sorted(cat.mapping_sets.items()):
        for mapping in mapping_set.mappings or []:
            refs += _mapping_refs(diff, file, mapping, coded)
    return Impact(diff, sorted(set(refs)))


def impact(
    cat: Catalogue,
    old: Path,
    new: Path,
    system: str | None = None,
    code_column: str | None = None,
    label_column: str | None = None,
) -> Impact:
    system = (system or "").strip() or guess_system(new) or guess_system(old)
    if not system:
        raise RegcatError(
            "cannot tell the code system from the file names; pass --system (e.g. NCSP)", new
        )
    if system.upper() in codes.KNOWN_SYSTEMS:
        system = system.upper()
    elif system not in cat.code_systems:
        known = sorted(set(codes.KNOWN_SYSTEMS) | set(cat.code_systems))
        raise RegcatError(f"--system {system!r}: unknown code system (known: {', '.join(known)})")
    before = read_release(old, system, code_column, label_column)
    after = read_release(new, system, code_column, label_column)
    return catalogue_impact(cat, compare_releases(before, after))
