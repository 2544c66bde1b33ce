"""`regcat coverage`: how a register's data comes in, per form. Each variable in use is
counted once, in the first of these that holds:

- ehr: it has an EHR binding (`ehr/<register>.yaml`), so `regcat prefill` fills it;
- key_register: it is fetched from a key register (collection mode
  `fetched_from_key_register`, or an approved mapping with a transformation from a
  variable of a key register such as NPR or the Cause of Death Register);
- derived: computed from other variables;
- manual: typed in by hand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from regcat.ehr.bindings import bindings_by_variable, in_use

CATEGORIES = ("ehr", "key_register", "derived", "manual")


@dataclass
class FormCoverage:
    register: str
    form: str
    variables: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))

    def share(self, category: str) -> float:
        return round(self.counts[category] / self.variables, 4) if self.variables else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["shares"] = {c: self.share(c) for c in CATEGORIES}
        return data


def _key_fed(catalogue) -> set[str]:
    """Variables an approved, transformable mapping fills from a key register."""
    key = {r.id for r in catalogue.registers.values() if r.key_register}
    fed: set[str] = set()
    for mapping_set in catalogue.mapping_sets.values():
        for m in mapping_set.mappings or []:
            if m.status in ("candidate", "rejected") or m.transformation is None:
                continue
            ends = (m.subject_id, m.object_id)
            for here, there in (ends, ends[::-1]):
                if there.split(":", 1)[0] in key and here.split(":", 1)[0] not in key:
                    fed.add(here)
    return fed


def coverage(catalogue, register_id: str | None = None) -> list[FormCoverage]:
    from regcat.errors import RegcatError

    if register_id is not None and register_id not in catalogue.registers:
        raise RegcatError(f"no register {register_id!r} in the catalogue")
    bound = bindings_by_variable(catalogue)
    fed = _key_fed(catalogue)
    rows: list[FormCoverage] = []
    registers = [register_id] if register_id else sorted(catalogue.registers)
    for rid in registers:
        register = catalogue.registers[rid]
        if register.kind == "data_model":
            continue  # a mapping target, not a register anyone reports to
        by_form = {f.id: FormCoverage(rid, f.id) for f in register.forms or []}
        for v in register.variables or []:
            if not in_use(v) or v.form not in by_form:
                continue
            row = by_form[v.form]
            row.variables += 1
            if v.id in bound:
                row.counts["ehr"] += 1
            elif v.collection_mode == "fetched_from_key_register" or v.id in fed:
                row.counts["key_register"] += 1
            elif v.collection_mode == "derived":
                row.counts["derived"] += 1
            else:
                row.counts["manual"] += 1
        rows += [r for r in by_form.values() if r.variables]
    return rows


def totals(rows: list[FormCoverage]) -> dict:
    variables = sum(r.variables for r in rows)
    counts = {c: sum(r.counts[c] for r in rows) for c in CATEGORIES}
    shares = {c: round(counts[c] / variables, 4) if variables else 0.0 for c in CATEGORIES}
    return {"variables": variables, "counts": counts, "shares": shares}
