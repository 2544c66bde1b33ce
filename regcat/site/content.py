"""What the site shows, gathered once per build from the index: the catalogue, the
overlap reports, and for every variable its mappings, the variables in other registers
that collect the same concept and its key-register equivalents. Open proposals come from
the store, as they stood when the site was built."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from regcat.catalogue import Catalogue
from regcat.generated.model import Form, Mapping, Variable
from regcat.overlap import overlap_report
from regcat.site import urls

log = logging.getLogger("mkdocs.plugins.regcat")

OPEN_STATUSES = ("submitted", "in_review", "changes_requested")


@dataclass(frozen=True)
class MappingRef:
    file: str  # the mapping set's file
    mapping: Mapping
    other: str  # the id on the other side
    outgoing: bool  # the variable is the subject (its values flow to the other side)


@dataclass
class Proposals:
    items: list[dict] = field(default_factory=list)
    note: str | None = None  # why there are none to show, when that is not "none open"


@dataclass
class SiteContent:
    cat: Catalogue
    built: str | None
    reports: dict
    mappings_of: dict[str, list[MappingRef]]
    also_collected: dict[str, list[dict]]  # variable → [{variable, via}] in other registers
    equivalents: dict[str, list[dict]]  # variable → key-register equivalents
    proposals: Proposals
    forms: dict[tuple[str, str], Form]  # (register, form id) → form
    supersedes: dict[str, list[str]]  # variable → the variables it replaced
    bindings: dict = field(default_factory=dict)  # variable → its EHR binding
    anchors: dict = field(default_factory=dict)  # variable → the forms it is the anchor of
    coverage: dict = field(default_factory=dict)  # (register, form) → FormCoverage
    sources: dict[str, str] = field(default_factory=dict)  # id → page source

    def form_of(self, variable: Variable) -> Form | None:
        if not variable.form:
            return None
        return self.forms.get((variable.register_id, variable.form))

    def page_of(self, entity_id: str) -> str | None:
        return self.sources.get(entity_id)


def _mappings_of(cat: Catalogue) -> dict[str, list[MappingRef]]:
    found: dict[str, list[MappingRef]] = defaultdict(list)
    for file, ms in sorted(cat.mapping_sets.items()):
        for m in ms.mappings or []:
            found[m.subject_id].append(MappingRef(file, m, m.object_id, True))
            found[m.object_id].append(MappingRef(file, m, m.subject_id, False))
    return dict(found)


def _also_collected(concepts: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for group in concepts["concepts"]:
        members = group["variables"]
        for member in members:
            own = member["id"].partition(":")[0]
            for other in members:
                if other["id"] != member["id"] and other["id"].partition(":")[0] != own:
                    found[member["id"]].append(
                        {"variable": other["id"], "via": other["via"], "concept": group["label"]}
                    )
    return dict(found)


def _equivalents(reuse: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for register in reuse["registers"]:
        found.update(register["equivalents"])
    return found


def read_proposals(database_url: str | None) -> Proposals:
    """Open proposals from the store, read only: a site build never creates a database."""
    from regcat.store.db import DEFAULT_PATH
    from regcat.store.db import database_url as resolve

    url = resolve(database_url)
    if url == f"sqlite:///{DEFAULT_PATH}" and not DEFAULT_PATH.exists():
        return Proposals(note="no proposal database yet (regcat-data/regcat.db)")
    from regcat.errors import RegcatError
    from regcat.store import open_store
    from regcat.store.proposals import listing, to_json

    try:
        store = open_store(url)
    except RegcatError as exc:
        log.warning("regcat: open proposals left out: %s", exc.render())
        return Proposals(note="the proposal database could not be read when the site was built")
    try:
        items = []
        for status in OPEN_STATUSES:
            _, rows = listing(store, status=status, limit=10_000)
            items += [to_json(p) for p in rows]
    finally:
        store.close()
    items.sort(key=lambda p: p["id"])
    return Proposals(items=items)


def load_content(index_dir: Path, database_url: str | None = None) -> SiteContent:
    from regcat.index import open_index

    cat = Catalogue.from_index(index_dir)
    db = open_index(index_dir)
    try:
        row = db.execute("SELECT value FROM meta WHERE key='built'").fetchone()
    finally:
        db.close()
    reports = overlap_report(cat)
    forms: dict[tuple[str, str], Form] = {}
    for reg in cat.registers.values():
        for form in reg.forms or []:
            forms[(reg.id, form.id)] = form
    supersedes: dict[str, list[str]] = defaultdict(list)
    for v in cat.variables.values():
        if v.superseded_by:
            supersedes[v.superseded_by].append(v.id)
    content = SiteContent(
        cat=cat,
        built=row[0] if row else None,
        reports=reports,
        mappings_of=_mappings_of(cat),
        also_collected=_also_collected(reports["concepts"]),
        equivalents=_equivalents(reports["reuse"]),
        proposals=read_proposals(database_url),
        forms=forms,
        supersedes=dict(supersedes),
    )
    from regcat.ehr.bindings import bindings_by_variable
    from regcat.ehr.coverage import coverage

    content.bindings = bindings_by_variable(cat)
    for bset in cat.ehr_bindings.values():
        for anchor in bset.anchors or []:
            content.anchors.setdefault(anchor.variable, []).append(anchor.form)
    content.coverage = {(r.register, r.form): r for r in coverage(cat)}
    sources: dict[str, str] = {}
    for reg_id in cat.registers:
        sources[reg_id] = urls.register_src(reg_id)
    for var_id in cat.variables:
        sources[var_id] = urls.variable_src(var_id)
    for file in cat.mapping_sets:
        sources[file] = urls.mapping_set_src(file)
    urls.check_unique(sources)
    content.sources = sources
    return content
