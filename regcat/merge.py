"""Merge a newly imported codebook into a register, and say what changed.

The codebook owns what it states (labels in Norwegian, types, limits, lists, forms);
curators own what they added (English text, codings, concepts, topics). A variable
that disappeared from a complete codebook of the kind it came from is retired with a
valid_to date, never deleted; variables from other sources are left alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from regcat.generated.model import LocalizedText, Register, ValueSet, Variable
from regcat.importers.base import ImportResult

# Fields a curator adds and an import must keep; every other field follows the codebook.
CURATED = {
    "codings",
    "concept",
    "topic",
    "collection_mode",
    "sensitivity",
    "superseded_by",
    "instrument_item",
    "unit",
}
# Localized fields whose English side is curated while the codebook gives Norwegian.
LOCALIZED = {"label", "definition", "help_text"}


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    revived: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # variable id -> fields
    codes_added: dict[str, list[str]] = field(default_factory=dict)  # value set -> codes
    codes_removed: dict[str, list[str]] = field(default_factory=dict)
    codes_changed: dict[str, list[str]] = field(default_factory=dict)
    forms_added: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(
            (self.added, self.retired, self.revived, self.changed, self.codes_added)
            + (self.codes_removed, self.codes_changed, self.forms_added)
        )

    def to_json(self) -> dict:
        return {
            "variables_added": self.added,
            "variables_retired": self.retired,
            "variables_revived": self.revived,
            "variables_changed": self.changed,
            "codes_added": self.codes_added,
            "codes_removed": self.codes_removed,
            "codes_changed": self.codes_changed,
            "forms_added": self.forms_added,
        }

    def lines(self) -> list[str]:
        out = [f"+ variable {v}" for v in self.added]
        out += [f"- variable {v} (retired)" for v in self.retired]
        out += [f"+ variable {v} (back from retired)" for v in self.revived]
        out += [f"~ variable {v}: {', '.join(f)}" for v, f in self.changed.items()]
        out += [f"+ form {f}" for f in self.forms_added]
        for label, codes in (
            ("+", self.codes_added),
            ("-", self.codes_removed),
            ("~", self.codes_changed),
        ):
            out += [f"{label} code {vs} {c}" for vs, cs in codes.items() for c in cs]
        return out


def _merge_text(old: LocalizedText | None, new: LocalizedText | None) -> LocalizedText | None:
    nb = new.nb if new is not None else None
    en = (new.en if new is not None and new.en else None) or (old.en if old is not None else None)
    return LocalizedText(nb=nb, en=en) if (nb or en) else None


def _merge_variable(old: Variable, new: Variable) -> tuple[Variable, list[str]]:
    merged = {}
    changed = []
    old_data = old.model_dump()
    new_data = new.model_dump()
    for name in Variable.model_fields:
        before, after = old_data.get(name), new_data.get(name)
        if name in CURATED:
            value = after if before in (None, []) else before
        elif name in LOCALIZED:
            text = _merge_text(getattr(old, name), getattr(new, name))
            value = text.model_dump() if text is not None else None
        else:
            value = after
        merged[name] = value
        if value != before and name != "register_id":
            changed.append(name)
    return Variable.model_validate(merged), changed


def _diff_codes(old: ValueSet | None, new: ValueSet, changes: Changes) -> None:
    before = {c.code: c for c in (old.codes or [])} if old else {}
    after = {c.code: c for c in (new.codes or [])}
    if old is None:
        return
    added = [c for c in after if c not in before]
    removed = [c for c in before if c not in after]
    relabelled = [c for c in after if c in before and after[c].label != before[c].label]
    if added:
        changes.codes_added[new.id] = added
    if removed:
        changes.codes_removed[new.id] = removed
    if relabelled:
        changes.codes_changed[new.id] = relabelled


def merge_import(
    existing: Register | None, imported: ImportResult, today: dt.date | None = None
) -> tuple[Register, Changes]:
    today = today or dt.date.today()
    changes = Changes()
    if existing is None:
        existing = Register(id=imported.register_id, name=LocalizedText(nb=imported.register_id))
    old_vars = {v.id: v for v in existing.variables or []}
    new_ids = {v.id for v in imported.variables}

    variables: list[Variable] = []
    for new in imported.variables:
        if imported.scope:
            new = new.model_copy(update={"imported_from": imported.scope})
        old = old_vars.get(new.id)
        if old is None:
            changes.added.append(new.id)
            variables.append(new)
            continue
        merged, changed = _merge_variable(old, new)
        if old.status == "retired" and merged.status != "retired":
            changes.revived.append(new.id)
        elif changed:
            changes.changed[new.id] = changed
        variables.append(merged)

    # Variables gone from the codebook stay, retired, after the neighbour they had.
    position = {v.id: i for i, v in enumerate(variables)}
    previous: str | None = None
    inserts: list[tuple[int, Variable]] = []
    for old in existing.variables or []:
        if old.id in new_ids:
            previous = old.id
            continue
        in_scope = imported.complete and imported.scope and old.imported_from == imported.scope
        if in_scope and old.status != "retired":
            old = old.model_copy(update={"status": "retired", "valid_to": old.valid_to or today})
            changes.retired.append(old.id)
        inserts.append((position[previous] + 1 if previous in position else 0, old))
    for offset, (index, variable) in enumerate(inserts):
        variables.insert(index + offset, variable)

    old_sets = {vs.id: vs for vs in existing.value_sets or []}
    new_sets = {vs.id: vs for vs in imported.value_sets}
    for vs in imported.value_sets:
        _diff_codes(old_sets.get(vs.id), vs, changes)
    kept = [vs for vs in existing.value_sets or [] if vs.id not in new_sets]
    value_sets = list(imported.value_sets) + kept

    old_forms = {f.id for f in existing.forms or []}
    forms = list(existing.forms or [])
    form_index = {f.id: i for i, f in enumerate(forms)}
    for form in imported.forms:
        if form.id in form_index:
            forms[form_index[form.id]] = form
        else:
            forms.append(form)
            if old_forms:
                changes.forms_added.append(form.id)

    register = existing.model_copy(
        update={"forms": forms, "variables": variables, "value_sets": value_sets}
    )
    for variable in register.variables or []:
        variable.register_id = None  # derived from the file; not written
    return register, changes
