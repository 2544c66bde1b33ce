"""Overlap reports for coordinators: what several registers collect twice, what a
quality register types in by hand that a key register already holds, and which PROM
instruments reach the same patient from several registers.

Three reports, each a plain dict with sorted keys (JSON as it is; CSV and Markdown
rendered by :func:`render_csv` / :func:`render_markdown`). Every number is computed
from the catalogue passed in.

``concepts`` — a concept × register matrix. A concept is
  (i) a group of variables connected by ``skos:exactMatch`` / ``skos:closeMatch``
      mappings (union-find, so a cycle of mappings cannot loop); value maps of
      ``exactMatch`` mappings in a group are followed code by code, and a code that
      reaches two codes of one variable (or comes back to another code of its own
      variable) is flagged as a conflict; or
  (ii) a code CURIE shared by variables of several registers: their codings, their
      ``concept``, and exact/close mappings to a code. Codes are normalised
      (``codes.normalise``: ``icd10:i214`` is ``ICD10:I21.4``) and parents count, so
      ICD-10 ``I21.4`` and ``I21`` meet at ``ICD10:I21``; each variable says how it
      got there ("ICD10:I21.4 → parent ICD10:I21"). Parents used: ICD-10 WHO
      categories, ATC down to the pharmacological subgroup (``C07A``; the anatomical
      and therapeutic main groups would join every heart medicine), NCSP procedure
      groups (``FNG``), ICPC-2 three-character codes. A parent row whose variables are
      exactly those of a more specific row is dropped.

``reuse`` — for each national medical quality register, its manually collected
  variables (collection mode ``manual`` or unset; retired variables left out) and
  which of them a key register (``key_register: true``) already holds:
  *equivalent*: a mapping other than ``relatedMatch`` to a key-register variable; a
  shared code (the key register's code equal to or a parent of the variable's); or a
  key-register variable whose value set is a whole code system the variable's codes
  belong to (NPR's main condition holds every ICD-10 code).
  *topic covered* (weaker, counted apart, only for variables with no equivalent): the
  variable's topic (curated, else inferred by ``regcat.topics``) is one a key register
  holds, derived from the key registers' own variables' topics. Administrative and
  "other" topics never count: ids, statuses and comments describe the register's own
  forms. Counts and percentages per register, per topic and overall, with the
  medication share (the seed analysis found 11 % of manually collected
  quality-register variables concerned medication use).

``prom`` — instruments and instrument items administered by several registers
  (``Form.instrument``, ``Variable.instrument_item``), and per patient pathway
  (:data:`PATHWAYS`) the PROM forms each register sends and the instruments sent by
  more than one register of the pathway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from regcat import codes
from regcat.catalogue import Catalogue
from regcat.generated.model import Form, Mapping, Variable
from regcat.text import fold
from regcat.topics import RULES, infer_topic

REPORTS = ("concepts", "reuse", "prom")

QUALITY_REGISTER = "national_medical_quality_register"
EQUIVALENT = ("skos:exactMatch", "skos:closeMatch")
NOT_REUSE = "skos:relatedMatch"
NOT_HELD = frozenset({"administrative", "other"})
MANUAL = (None, "manual")
# How far up the code hierarchy concepts meet (shortest parent kept), per system.
PARENT_MIN_LENGTH = {"ICD10": 3, "ATC": 4, "NCSP": 3, "ICPC2": 3}


@dataclass(frozen=True)
class Pathway:
    id: str
    name: str
    registers: tuple[str, ...]
    note: str = ""


# Named groups of registers a patient passes through. The seed analysis's example: a
# patient with a myocardial infarction, treated by PCI and followed up, received four
# PROM forms from different cardiac registers within one month.
PATHWAYS: tuple[Pathway, ...] = (
    Pathway(
        id="cardiac",
        name="Hjerte: infarkt, invasiv kardiologi, hjertekirurgi, pacemaker, ablasjon",
        registers=("nhir", "noric", "nhkir", "norpace", "ablanor"),
        note="seed example: one patient received four PROM forms in a month",
    ),
)


# --------------------------------------------------------------------------- helpers


def register_of(variable: Variable) -> str:
    return variable.register_id or variable.id.partition(":")[0]


def curie(system: str, code: str) -> str:
    system = system.strip()
    if system.upper() in codes.KNOWN_SYSTEMS:
        system = system.upper()
    return f"{system}:{codes.normalise(system, code)}"


def split_curie(value: str) -> tuple[str, str] | None:
    prefix, sep, local = value.partition(":")
    return (prefix, local) if sep and prefix and local else None


def parents(value: str, limited: bool = True) -> list[str]:
    """Parent CURIEs of a code CURIE, nearest first (limited to PARENT_MIN_LENGTH)."""
    parts = split_curie(value)
    if parts is None:
        return []
    system, local = parts
    found = codes.parent_codes(system, local)
    if limited:
        shortest = PARENT_MIN_LENGTH.get(system.upper())
        if shortest is None:
            return []
        found = [p for p in found if len(p) >= shortest]
    return [f"{system}:{p}" for p in found]


def topic_map(cat: Catalogue) -> dict[str, tuple[str, str, str]]:
    """variable id → (topic, reason, "curated" | "inferred"), for variables with one."""
    forms = {(r.id, f.id): f for r in cat.registers.values() for f in r.forms or []}
    out = {}
    for variable in cat.variables.values():
        form = forms.get((register_of(variable), variable.form)) if variable.form else None
        value_set = cat.value_sets.get(variable.value_set) if variable.value_set else None
        found = infer_topic(variable, form, value_set)
        if found is not None:
            source = "curated" if found[1] == "curated" else "inferred"
            out[variable.id] = (found[0], found[1], source)
    return out


def mappings(cat: Catalogue) -> list[tuple[str, Mapping]]:
    """Every reviewed mapping with the file it stands in, in a stable order. Candidates
    from `regcat suggest --write` are suggestions, not facts, and are left out."""
    return [
        (f, m)
        for f, ms in sorted(cat.mapping_sets.items())
        for m in ms.mappings or []
        if m.status != "candidate"
    ]


def mapping_name(file: str, mapping: Mapping) -> str:
    return mapping.record_id or f"{file}: {mapping.subject_id} → {mapping.object_id}"


def variable_codes(variable: Variable) -> dict[str, str]:
    """The code CURIEs a variable stands for → how it got each (before parents)."""
    out: dict[str, str] = {}
    for coding in variable.codings or []:
        out.setdefault(curie(coding.system, coding.code), "coding")
    if variable.concept and (parts := split_curie(variable.concept)):
        out.setdefault(curie(*parts), "concept")
    return out


def _mapped_codes(cat: Catalogue) -> dict[str, dict[str, str]]:
    """Codes a variable stands for through exact/close mappings: a mapping to a code
    (not a variable), and the codes a record-linkage mapping filters its source on
    (the ASA variable filled from dispensings of ATC B01AC06 stands for B01AC06)."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for file, mapping in mappings(cat):
        if mapping.predicate_id not in EQUIVALENT:
            continue
        for mine, other in (
            (mapping.subject_id, mapping.object_id),
            (mapping.object_id, mapping.subject_id),
        ):
            if mine in cat.variables and other not in cat.variables and split_curie(other):
                out[mine].setdefault(curie(*split_curie(other)), str(mapping.predicate_id))
        t = mapping.transformation
        linkage = t.record_linkage if t is not None else None
        if linkage is not None and linkage.code_system and mapping.object_id in cat.variables:
            for prefix in linkage.code_prefixes or []:
                out[mapping.object_id].setdefault(
                    curie(linkage.code_system, prefix),
                    f"record linkage of {mapping_name(file, mapping)}",
                )
    return out


# --------------------------------------------------------------------------- concepts


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        root = self.parent.setdefault(item, item)
        while root != self.parent[root]:
            root = self.parent[root]
        while item != root:  # path compression, iteratively: no recursion on long chains
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _nodes(mapping: Mapping) -> tuple[str, str]:
    """The mapping's two ends as concept-graph nodes. A record-linkage mapping that
    keeps only the source rows with some codes stands for that part of the source
    variable ("lmr:atc [ATC:B01AC06]"), so the ASA and the statin variables that both
    come from the medicines register's ATC code are not one concept."""
    t = mapping.transformation
    linkage = t.record_linkage if t is not None else None
    if linkage is not None and linkage.code_prefixes:
        system = linkage.code_system or "code"
        part = ", ".join(f"{system}:{p}" for p in sorted(linkage.code_prefixes))
        return f"{mapping.subject_id} [{part}]", mapping.object_id
    return mapping.subject_id, mapping.object_id


def _node_via(node: str) -> str:
    _, _, part = node.partition(" [")
    return f"exact/close mappings, records with {part[:-1]}" if part else "exact/close mappings"


def value_map_conflicts(pairs: Iterable[tuple[str, Mapping]]) -> list[str]:
    """Follow exactMatch value maps code by code; a code that reaches two codes of one
    variable, or another code of its own variable, is a conflict."""
    edges: dict[tuple[str, str], set[tuple[str, str, str]]] = defaultdict(set)
    for file, mapping in pairs:
        t = mapping.transformation
        if mapping.predicate_id != "skos:exactMatch" or t is None or not t.value_map:
            continue
        for entry in t.value_map:
            edges[(mapping.subject_id, entry.source)].add(
                (mapping.object_id, entry.target, mapping_name(file, mapping))
            )
    round_trips: dict[str, list[str]] = defaultdict(list)
    ambiguous: dict[str, list[str]] = defaultdict(list)
    via: dict[str, set[str]] = defaultdict(set)
    for start in sorted(edges):
        reached: dict[str, set[str]] = defaultdict(set)
        seen = {start}
        stack = [start]
        variable, code = start
        while stack:  # visited set: a cycle is walked once
            node = stack.pop()
            for other, target, name in edges.get(node, ()):
                reached[other].add(target)
                via[variable].add(name)
                if (other, target) not in seen:
                    seen.add((other, target))
                    stack.append((other, target))
        back = reached.get(variable, set()) - {code}
        if back:
            round_trips[variable].append(f"{code!r} comes back as {sorted(back)}")
        for other, targets in sorted(reached.items()):
            if other != variable and len(targets) > 1:
                ambiguous[variable].append(f"{code!r} reaches {other} as {sorted(targets)}")
    # A round trip explains the ambiguities it causes: report it alone.
    found = [
        f"{variable}: exact-match value maps disagree round a cycle: {'; '.join(items)} "
        f"(via {', '.join(sorted(via[variable]))})"
        for variable, items in round_trips.items()
    ]
    found += [
        f"{variable}: exact-match value maps disagree: {'; '.join(items)} "
        f"(via {', '.join(sorted(via[variable]))})"
        for variable, items in ambiguous.items()
        if variable not in round_trips
    ]
    return sorted(found)


def is_data_model(cat: Catalogue, register_id: str) -> bool:
    """A common data model (OMOP CDM) is a mapping target, not a register that collects
    anything: the reports and suggestions leave it out."""
    reg = cat.registers.get(register_id)
    return reg is not None and reg.kind == "data_model"


def concepts_report(cat: Catalogue) -> dict:
    rows = []
    # Mappings into a data model say how to load it, not that two registers collect the
    # same thing; chained through one source they would also merge unrelated targets.
    collected = {v.id: v for v in cat.variables.values() if not is_data_model(cat, register_of(v))}
    # (i) groups of variables linked by exact/close mappings
    groups = _UnionFind()
    linked: list[tuple[str, Mapping, str, str]] = []
    for file, mapping in mappings(cat):
        s, o = mapping.subject_id, mapping.object_id
        if mapping.predicate_id in EQUIVALENT and s in collected and o in collected:
            subject, obj = _nodes(mapping)
            groups.union(subject, obj)
            linked.append((file, mapping, subject, obj))
    members: dict[str, list[str]] = defaultdict(list)
    for node in list(groups.parent):
        members[groups.find(node)].append(node)
    in_group: dict[str, list[tuple[str, Mapping]]] = defaultdict(list)
    for file, mapping, subject, _ in linked:
        in_group[groups.find(subject)].append((file, mapping))
    all_conflicts = []
    for root, nodes in sorted(members.items()):
        nodes.sort()
        conflicts = value_map_conflicts(in_group[root])
        all_conflicts += conflicts
        ids = [node.partition(" [")[0] for node in nodes]
        registers = sorted({register_of(cat.variables[v]) for v in ids})
        if len(registers) < 2 and not conflicts:
            continue
        first = cat.variables[ids[0]].label
        rows.append(
            {
                "concept": f"mappings:{nodes[0]}",
                "kind": "mapping_group",
                "label": first.nb or first.en,
                "registers": registers,
                "variables": [
                    {"id": v, "via": _node_via(node)} for v, node in zip(ids, nodes, strict=True)
                ],
                "conflicts": conflicts,
            }
        )

    # (ii) shared code CURIEs, with parents
    by_code: dict[str, dict[str, str]] = defaultdict(dict)
    extra = _mapped_codes(cat)
    for variable in collected.values():
        own = variable_codes(variable)
        for code, how in extra.get(variable.id, {}).items():
            own.setdefault(code, how)
        for code, how in own.items():
            by_code[code].setdefault(variable.id, f"{code} ({how})")
            for parent in parents(code):
                by_code[parent].setdefault(variable.id, f"{code} ({how}) → parent {parent}")
    code_rows = {}
    for code, found in by_code.items():
        registers = sorted({register_of(cat.variables[v]) for v in found})
        if len(registers) >= 2:
            code_rows[code] = {
                "concept": code,
                "kind": "code",
                "label": None,
                "registers": registers,
                "variables": [{"id": v, "via": found[v]} for v in sorted(found)],
                "conflicts": [],
            }
    same: dict[frozenset, list[str]] = defaultdict(list)
    for code, row in code_rows.items():
        same[frozenset(v["id"] for v in row["variables"])].append(code)
    for codes_ in same.values():
        for code in codes_:
            if any(code in parents(other) for other in codes_ if other != code):
                del code_rows[code]
    rows += [code_rows[c] for c in sorted(code_rows)]
    return {
        "concepts": rows,
        "conflicts": sorted(set(all_conflicts)),
        "summary": {
            "concepts": len(rows),
            "mapping_groups": sum(1 for r in rows if r["kind"] == "mapping_group"),
            "shared_codes": sum(1 for r in rows if r["kind"] == "code"),
            "conflicts": len(set(all_conflicts)),
        },
    }


# --------------------------------------------------------------------------- reuse


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _key_index(cat: Catalogue, topics: dict) -> tuple[dict, dict, dict]:
    """What the key registers hold: code CURIE → key variables; code system → key
    variables whose value set is that whole system; topic → key registers."""
    by_code: dict[str, set[str]] = defaultdict(set)
    by_system: dict[str, set[str]] = defaultdict(set)
    by_topic: dict[str, set[str]] = defaultdict(set)
    extra = _mapped_codes(cat)
    for register in cat.registers.values():
        if not register.key_register:
            continue
        for variable in register.variables or []:
            for code in {**variable_codes(variable), **extra.get(variable.id, {})}:
                by_code[code].add(variable.id)
            value_set = cat.value_sets.get(variable.value_set) if variable.value_set else None
            if value_set is not None and value_set.code_system and not value_set.codes:
                by_system[value_set.code_system.upper()].add(variable.id)
            topic = topics.get(variable.id)
            if topic is not None and topic[0] not in NOT_HELD:
                by_topic[topic[0]].add(register.id)
    return by_code, by_system, by_topic


def _equivalents(cat, variable, key_vars, by_code, by_system, links) -> list[dict]:
    found: dict[tuple[str, str], None] = {}
    for other, predicate in links.get(variable.id, ()):
        if other in key_vars:
            found[(other, f"mapping {predicate}")] = None
    own = variable_codes(variable)
    value_set = cat.value_sets.get(variable.value_set) if variable.value_set else None
    systems = {c.partition(":")[0].upper() for c in own}
    if value_set is not None:
        if value_set.code_system:
            systems.add(value_set.code_system.upper())
        for pv in value_set.codes or []:
            if pv.meaning and split_curie(pv.meaning):
                systems.add(pv.meaning.partition(":")[0].upper())
    for code in own:
        for held in [code, *parents(code, limited=False)]:
            for other in sorted(by_code.get(held, ())):
                found[
                    (other, f"code {held}" + ("" if held == code else f" (parent of {code})"))
                ] = None
    for system in sorted(systems):
        for other in sorted(by_system.get(system, ())):
            found[(other, f"{other} holds every {system} code")] = None
    return [{"variable": v, "via": how} for v, how in found]


def reuse_report(cat: Catalogue, topics: dict | None = None) -> dict:
    topics = topic_map(cat) if topics is None else topics
    by_code, by_system, by_topic = _key_index(cat, topics)
    key_vars = {v.id for r in cat.registers.values() if r.key_register for v in r.variables or []}
    links: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for _, mapping in mappings(cat):
        if mapping.predicate_id != NOT_REUSE:
            links[mapping.subject_id].add((mapping.object_id, str(mapping.predicate_id)))
            links[mapping.object_id].add((mapping.subject_id, str(mapping.predicate_id)))

    registers = []
    overall = defaultdict(int)
    overall_topics: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for register in sorted(cat.registers.values(), key=lambda r: r.id):
        if register.kind != QUALITY_REGISTER:
            continue
        manual = [
            v
            for v in register.variables or []
            if v.collection_mode in MANUAL and v.status != "retired"
        ]
        equivalents, covered = {}, {}
        by_topic_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        unclassified = 0
        for variable in manual:
            topic = topics.get(variable.id)
            name = topic[0] if topic else "unclassified"
            unclassified += topic is None
            counts = by_topic_counts[name]
            counts["manual"] += 1
            found = _equivalents(cat, variable, key_vars, by_code, by_system, links)
            if found:
                equivalents[variable.id] = found
                counts["equivalent"] += 1
            elif topic is not None and topic[0] in by_topic:
                covered[variable.id] = {
                    "topic": topic[0],
                    "topic_source": topic[2],
                    "key_registers": sorted(by_topic[topic[0]]),
                }
                counts["topic_covered"] += 1
        n = len(manual)
        medication = by_topic_counts["medication"]["manual"] if manual else 0
        summary = {
            "manual": n,
            "equivalent": len(equivalents),
            "equivalent_pct": _pct(len(equivalents), n),
            "topic_covered": len(covered),
            "topic_covered_pct": _pct(len(covered), n),
            "medication": medication,
            "medication_pct": _pct(medication, n),
            "unclassified": unclassified,
            "topics_inferred": sum(
                1 for v in manual if topics.get(v.id, ("", "", ""))[2] == "inferred"
            ),
        }
        for key in ("manual", "equivalent", "topic_covered", "medication", "unclassified"):
            overall[key] += summary[key]
        topic_rows = {}
        for name, counts in sorted(by_topic_counts.items()):
            if not counts.get("manual"):
                continue
            topic_rows[name] = {
                "manual": counts["manual"],
                "share_pct": _pct(counts["manual"], n),
                "equivalent": counts.get("equivalent", 0),
                "topic_covered": counts.get("topic_covered", 0),
                "key_registers": sorted(by_topic.get(name, ())),
            }
            for key in ("manual", "equivalent", "topic_covered"):
                overall_topics[name][key] += counts.get(key, 0)
        registers.append(
            {
                "register": register.id,
                "summary": summary,
                "topics": topic_rows,
                "equivalents": equivalents,
                "topic_covered": covered,
            }
        )
    total = overall["manual"]
    return {
        "key_registers": sorted(r.id for r in cat.registers.values() if r.key_register),
        "key_register_topics": {t: sorted(rs) for t, rs in sorted(by_topic.items())},
        "registers": registers,
        "overall": {
            "quality_registers": len(registers),
            "manual": total,
            "equivalent": overall["equivalent"],
            "equivalent_pct": _pct(overall["equivalent"], total),
            "topic_covered": overall["topic_covered"],
            "topic_covered_pct": _pct(overall["topic_covered"], total),
            "medication": overall["medication"],
            "medication_pct": _pct(overall["medication"], total),
            "unclassified": overall["unclassified"],
            "topics": {
                name: {**dict(counts), "share_pct": _pct(counts["manual"], total)}
                for name, counts in sorted(overall_topics.items())
            },
        },
    }


# --------------------------------------------------------------------------- PROM

_PROM_RULE = next(rule for rule in RULES if rule.topic == "prom")


def _instrument_of_item(cat: Catalogue) -> dict[str, str]:
    return {
        item.id: instrument.id
        for instrument in cat.instruments.values()
        for item in instrument.items or []
    }


def _prom_forms(cat: Catalogue, item_instrument: dict[str, str]) -> dict[str, list[dict]]:
    """register id → its PROM forms: a form that administers an instrument, holds
    answers to instrument items, or whose name says PROM."""
    out: dict[str, list[dict]] = {}
    for register in sorted(cat.registers.values(), key=lambda r: r.id):
        items: dict[str, set[str]] = defaultdict(set)
        for variable in register.variables or []:
            if variable.instrument_item and variable.form:
                item = variable.instrument_item
                items[variable.form].add(item_instrument.get(item, item.partition(":")[0]))
        forms = []
        for form in register.forms or []:
            instruments = set(items.get(form.id, ()))
            if form.instrument:
                instruments.add(form.instrument)
            named = _PROM_RULE.match(fold(f"{form.name.nb or ''} {form.name.en or ''}"))
            if instruments or named:
                forms.append(_form_row(form, sorted(instruments)))
        out[register.id] = forms
    return out


def _form_row(form: Form, instruments: list[str]) -> dict:
    return {"form": form.id, "name": form.name.nb or form.name.en, "instruments": instruments}


def prom_report(cat: Catalogue) -> dict:
    item_instrument = _instrument_of_item(cat)
    forms = _prom_forms(cat, item_instrument)
    senders: dict[str, set[str]] = defaultdict(set)
    for register, rows in forms.items():
        for row in rows:
            for instrument in row["instruments"]:
                senders[instrument].add(register)
    item_users: dict[str, set[str]] = defaultdict(set)
    item_vars: dict[str, list[str]] = defaultdict(list)
    for variable in sorted(cat.variables.values(), key=lambda v: v.id):
        if variable.instrument_item:
            item_users[variable.instrument_item].add(register_of(variable))
            item_vars[variable.instrument_item].append(variable.id)
    instruments = [
        {
            "instrument": instrument,
            "name": (cat.instruments[instrument].name.nb or cat.instruments[instrument].name.en)
            if instrument in cat.instruments and cat.instruments[instrument].name
            else None,
            "registers": sorted(registers),
        }
        for instrument, registers in sorted(senders.items())
    ]
    items = [
        {
            "item": item,
            "instrument": item_instrument.get(item, item.partition(":")[0]),
            "registers": sorted(registers),
            "variables": item_vars[item],
        }
        for item, registers in sorted(item_users.items())
        if len(registers) > 1
    ]
    pathways = []
    for pathway in PATHWAYS:
        members = []
        sent: dict[str, set[str]] = defaultdict(set)
        for register in pathway.registers:
            rows = forms.get(register)
            members.append(
                {"register": register, "in_catalogue": rows is not None, "prom_forms": rows or []}
            )
            for row in rows or []:
                for instrument in row["instruments"]:
                    sent[instrument].add(register)
        pathways.append(
            {
                "pathway": pathway.id,
                "name": pathway.name,
                "note": pathway.note,
                "registers": members,
                "prom_forms": sum(len(m["prom_forms"]) for m in members),
                "shared_instruments": {
                    i: sorted(rs) for i, rs in sorted(sent.items()) if len(rs) > 1
                },
            }
        )
    return {
        "instruments": instruments,
        "shared_instruments": [i for i in instruments if len(i["registers"]) > 1],
        "shared_items": items,
        "pathways": pathways,
    }


# --------------------------------------------------------------------------- entry


def overlap_report(cat: Catalogue, reports: Iterable[str] = REPORTS) -> dict:
    """The selected reports, keyed by name."""
    builders = {"concepts": concepts_report, "reuse": reuse_report, "prom": prom_report}
    return {name: builders[name](cat) for name in REPORTS if name in set(reports)}


# --------------------------------------------------------------------------- render
