"""What changed between two versions: two catalogue directories, or two codebook
files of one register (OpenQReg klokebok .csv, MRS kodebok .xlsx, SSB .json).

Catalogues are compared entity by entity (registers, forms, variables, value sets and
their codes, code systems, instruments, mappings), naming the fields that changed.

Codebooks are read with the importers and compared the way an import would apply
them: the old codebook is merged into an empty register, the new one into that
(``regcat.merge.merge_import``), and merge's change list says which variables were
added or changed and which codes were added, removed or relabelled. Fields a curator
owns (codings, topic, English text, …) are not compared, as an import keeps them.

Either way the result is a :class:`CatalogueDiff`; it is empty when the two are the
same (``regcat diff`` then exits 0, else 1, like ``diff``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from regcat.catalogue import Catalogue
from regcat.errors import RegcatError
from regcat.generated.model import Mapping
from regcat.importers.base import ImportResult
from regcat.layout import content_files, resolve_catalogue
from regcat.load import load_file
from regcat.merge import merge_import

# The entity kinds in the order they are reported.
KINDS = (
    "registers",
    "forms",
    "variables",
    "value_sets",
    "code_systems",
    "instruments",
    "mappings",
)
# Parts of an entity compared on their own, so not listed as a changed field.
_APART = {
    "registers": {"forms", "variables", "value_sets"},
    "variables": {"register_id"},
    "value_sets": {"codes"},
}
CODEBOOK_KINDS = {"klokebok": "OpenQReg klokebok", "mrs": "MRS kodebok", "ssb": "SSB variable"}


@dataclass
class Delta:
    """Added and removed ids, and changed ids with the fields that changed."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def to_json(self) -> dict:
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


@dataclass
class CatalogueDiff:
    old: str
    new: str
    kind: str  # "catalogue" or a codebook kind
    register: str | None = None
    entities: dict[str, Delta] = field(default_factory=lambda: {k: Delta() for k in KINDS})
    codes_added: dict[str, list[str]] = field(default_factory=dict)  # value set -> codes
    codes_removed: dict[str, list[str]] = field(default_factory=dict)
    codes_changed: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    @property
    def identical(self) -> bool:
        codes = self.codes_added or self.codes_removed or self.codes_changed
        return not codes and not any(self.entities.values())

    def counts(self) -> dict[str, int]:
        out = {}
        for kind, delta in self.entities.items():
            out[f"{kind}_added"] = len(delta.added)
            out[f"{kind}_removed"] = len(delta.removed)
            out[f"{kind}_changed"] = len(delta.changed)
        out["codes_added"] = sum(map(len, self.codes_added.values()))
        out["codes_removed"] = sum(map(len, self.codes_removed.values()))
        out["codes_changed"] = sum(map(len, self.codes_changed.values()))
        return out

    def to_json(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            "kind": self.kind,
            "register": self.register,
            "identical": self.identical,
            "counts": self.counts(),
            **{kind: delta.to_json() for kind, delta in self.entities.items()},
            "codes": {
                "added": self.codes_added,
                "removed": self.codes_removed,
                "changed": self.codes_changed,
            },
        }

    def lines(self) -> list[str]:
        out = []
        for kind, delta in self.entities.items():
            noun = kind[:-1].replace("_", " ")
            out += [f"+ {noun} {i}" for i in delta.added]
            out += [f"- {noun} {i}" for i in delta.removed]
            out += [f"~ {noun} {i}: {', '.join(f)}" for i, f in delta.changed.items()]
        out += [f"+ code {vs} {c}" for vs, cs in self.codes_added.items() for c in cs]
        out += [f"- code {vs} {c}" for vs, cs in self.codes_removed.items() for c in cs]
        out += [
            f"~ code {vs} {c}: {', '.join(f)}"
            for vs, cs in self.codes_changed.items()
            for c, f in cs.items()
        ]
        return out

    def summary(self) -> str:
        if self.identical:
            return "no differences"
        counts = self.counts()
        parts = []
        for kind in (*KINDS, "codes"):
            a, r, c = (counts[f"{kind}_{x}"] for x in ("added", "removed", "changed"))
            if a or r or c:
                name = kind.replace("_", " ")
                parts.append(f"{name} {a} added, {r} removed, {c} changed")
        return "; ".join(parts)


# --------------------------------------------------------------------------- compare


def _dump(model: BaseModel, exclude: set[str]) -> dict:
    return model.model_dump(mode="json", exclude=exclude)


def compare(old: dict[str, BaseModel], new: dict[str, BaseModel], kind: str = "") -> Delta:
    """Ids added and removed, and for ids in both the fields whose values differ."""
    exclude = _APART.get(kind, set())
    delta = Delta(sorted(set(new) - set(old)), sorted(set(old) - set(new)))
    for ident in sorted(set(old) & set(new)):
        before, after = _dump(old[ident], exclude), _dump(new[ident], exclude)
        fields = [name for name in after if before.get(name) != after.get(name)]
        if fields:
            delta.changed[ident] = fields
    return delta


def _compare_codes(diff: CatalogueDiff, old: dict, new: dict) -> None:
    for vs_id in sorted(set(old) & set(new)):
        before = {pv.code: pv for pv in old[vs_id].codes or []}
        after = {pv.code: pv for pv in new[vs_id].codes or []}
        delta = compare(before, after)
        if delta.added:
            diff.codes_added[vs_id] = delta.added
        if delta.removed:
            diff.codes_removed[vs_id] = delta.removed
        if delta.changed:
            diff.codes_changed[vs_id] = delta.changed


def mapping_key(mapping: Mapping) -> str:
    return mapping.record_id or f"{mapping.subject_id} {mapping.predicate_id} {mapping.object_id}"


def _load_catalogue(path: Path, which: str) -> Catalogue:
    root = resolve_catalogue(path)
    results = []
    for file in content_files(root):
        result = load_file(file)
        schema = [f for f in result.findings if f.rule == "schema"]
        if schema:
            raise RegcatError(
                f"the {which} catalogue does not match the model ({schema[0].render()}); "
                "`regcat validate` lists every problem",
                root,
            )
        results.append(result)
    return Catalogue.from_results(root, results)


def _entities(cat: Catalogue, register: str | None) -> dict[str, dict[str, BaseModel]]:
    def mine(ident: str) -> bool:
        return register is None or ident.startswith(f"{register}:")

    mappings = {
        mapping_key(m): m
        for ms in cat.mapping_sets.values()
        for m in ms.mappings or []
        if mine(m.subject_id) or mine(m.object_id)
    }
    return {
        "registers": {r: v for r, v in cat.registers.items() if register in (None, r)},
        "forms": {
            f"{r.id}:{f.id}": f
            for r in cat.registers.values()
            if register in (None, r.id)
            for f in r.forms or []
        },
        "variables": {i: v for i, v in cat.variables.items() if mine(i)},
        "value_sets": {i: v for i, v in cat.value_sets.items() if mine(i)},
        "code_systems": dict(cat.code_systems) if register is None else {},
        "instruments": dict(cat.instruments) if register is None else {},
        "mappings": mappings,
    }


def diff_catalogues(old: Path, new: Path, register: str | None = None) -> CatalogueDiff:
    before, after = _load_catalogue(old, "old"), _load_catalogue(new, "new")
    if register is not None and register not in before.registers | after.registers:
        raise RegcatError(f"register '{register}' is in neither catalogue", new)
    diff = CatalogueDiff(str(old), str(new), "catalogue", register)
    old_parts, new_parts = _entities(before, register), _entities(after, register)
    for kind in KINDS:
        diff.entities[kind] = compare(old_parts[kind], new_parts[kind], kind)
    _compare_codes(diff, old_parts["value_sets"], new_parts["value_sets"])
    return diff


# --------------------------------------------------------------------------- codebooks


def _readers() -> dict[str, Callable[[Path, str], ImportResult]]:
    from regcat.importers.klokebok import read_klokebok
    from regcat.importers.mrs import read_mrs
    from regcat.importers.ssb import read_ssb

    return {"klokebok": read_klokebok, "mrs": read_mrs, "ssb": read_ssb}


def codebook_kind(path: Path) -> str:
    """klokebok, mrs or ssb: by content (a zip is an xlsx, `{` starts JSON), then by
    extension."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise RegcatError(f"cannot read: {exc.strerror}", path) from None
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        return "mrs"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")) or suffix == ".json":
        return "ssb"
    if suffix in (".csv", ".txt", ".tsv", ""):
        return "klokebok"
    raise RegcatError(
        f"cannot tell what codebook this is ({suffix}); expected .csv (OpenQReg klokebok), "
        ".xlsx (MRS kodebok) or .json (SSB variable)",
        path,
    )


def diff_codebooks(old: Path, new: Path, register: str) -> CatalogueDiff:
    kinds = codebook_kind(old), codebook_kind(new)
    if kinds[0] != kinds[1]:
        raise RegcatError(
            f"the two files are different kinds of codebook ({CODEBOOK_KINDS[kinds[0]]} "
            f"and {CODEBOOK_KINDS[kinds[1]]}); compare two versions of the same kind",
            new,
        )
    read = _readers()[kinds[0]]
    before, after = read(old, register), read(new, register)
    # Merge as an import would: the old codebook into an empty register, the new one
    # into that. A fixed date keeps the result independent of the day it runs.
    base, _ = merge_import(None, before, today=dt.date(2000, 1, 1))
    _, changes = merge_import(base, after, today=dt.date(2000, 1, 1))

    diff = CatalogueDiff(str(old), str(new), kinds[0], register)
    old_ids = {v.id for v in before.variables}
    new_ids = {v.id for v in after.variables}
    diff.entities["variables"] = Delta(
        sorted(changes.added),
        sorted(old_ids - new_ids),  # also for partial sources, which merge never retires
        {v: sorted(f) for v, f in sorted(changes.changed.items())},
    )
    old_forms = {f.id for f in before.forms}
    new_forms = {f.id for f in after.forms}
    diff.entities["forms"] = Delta(sorted(new_forms - old_forms), sorted(old_forms - new_forms))
    old_sets = {vs.id for vs in before.value_sets}
    new_sets = {vs.id for vs in after.value_sets}
    diff.entities["value_sets"] = Delta(sorted(new_sets - old_sets), sorted(old_sets - new_sets))
    diff.codes_added = {vs: sorted(c) for vs, c in sorted(changes.codes_added.items())}
    diff.codes_removed = {vs: sorted(c) for vs, c in sorted(changes.codes_removed.items())}
    diff.codes_changed = {
        vs: {c: ["label"] for c in sorted(cs)} for vs, cs in sorted(changes.codes_changed.items())
    }
    return diff


def diff_paths(old: Path, new: Path, register: str | None = None) -> CatalogueDiff:
    """Two catalogue directories, or two codebook files (then ``register`` is needed)."""
    for path in (old, new):
        if not path.exists():
            raise RegcatError("no such file or directory", path)
    if old.is_dir() and new.is_dir():
        return diff_catalogues(old, new, register)
    if old.is_dir() or new.is_dir():
        raise RegcatError(
            "compare two catalogue directories or two codebook files, not one of each", new
        )
    if register is None:
        raise RegcatError("comparing codebooks needs --register (the register's id)")
    return diff_codebooks(old, new, register)
