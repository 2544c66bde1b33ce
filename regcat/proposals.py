"""Proposals as content: checking a proposed variable against the catalogue (the same
rules as `regcat validate`, plus the reuse check), and `regcat proposals export`, which
writes accepted proposals and approved mappings into catalogue files for review in git.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from regcat.errors import RegcatError
from regcat.generated.model import Register, ValueSet, Variable
from regcat.layout import ContentFile
from regcat.load import FileResult
from regcat.store.proposals import ProposalDraft
from regcat.validate import check_file


class ProposalInvalid(RegcatError):
    """The proposed variable breaks catalogue rules; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _defined(db, kind: str, ident: str) -> bool:
    row = db.execute("SELECT 1 FROM defines WHERE kind = ? AND id = ? LIMIT 1", (kind, ident))
    return row.fetchone() is not None


def check_proposal(
    db,
    variable: Variable,
    value_set: ValueSet | None,
    rationale: str | None,
    reuse_check,
) -> ProposalDraft:
    """Validate a proposed variable against the index `db` (a read-only connection)
    and run the reuse check. Raises ProposalInvalid listing every problem."""
    register_id, sep, name = variable.id.partition(":")
    if not sep or not name:
        raise ProposalInvalid([f"variable.id {variable.id!r}: expected '<register>:<name>'"])
    if variable.register_id and variable.register_id != register_id:
        raise ProposalInvalid(
            [
                f"variable.register_id {variable.register_id!r} does not match the id's "
                f"register {register_id!r}"
            ]
        )
    row = db.execute("SELECT file, data FROM registers WHERE id = ?", (register_id,)).fetchone()
    if row is None:
        raise ProposalInvalid([f"variable.id: no register {register_id!r} in the catalogue"])
    variable = variable.model_copy(update={"register_id": register_id})
    shell = Register.model_validate_json(row[1])
    shell.variables = [variable]
    shell.value_sets = [value_set] if value_set is not None else []
    rel = row[0]
    result = FileResult(ContentFile("register", Path(rel), rel), "")
    result.obj = shell
    check_file(result)
    problems = [f"{f.entity}: {f.message}" for f in result.findings if f.severity == "error"]

    exists = _defined(db, "variable", variable.id)
    kind = "change" if exists else "new"
    proposed_sets = {value_set.id} if value_set is not None else set()
    if value_set is not None and _defined(db, "value_set", value_set.id):
        owner = db.execute("SELECT file FROM value_sets WHERE id = ?", (value_set.id,)).fetchone()
        if kind == "new" or owner is None or owner[0] != rel:
            problems.append(
                f"value_set.id {value_set.id!r} exists already; refer to it with "
                "variable.value_set instead of proposing it again"
            )
    names = {
        "value_set": "value set",
        "variable": "variable",
        "item": "instrument item",
        "code_system": "code system",
    }
    for kind_, ident, entity, fieldname in result.symbols.refers:
        if kind_ == "value_set" and ident in proposed_sets:
            continue
        if kind_ in names and not _defined(db, kind_, ident):
            problems.append(
                f"{entity}: field '{fieldname}': no {names[kind_]} {ident!r} in the catalogue"
            )
    if problems:
        raise ProposalInvalid(problems)
    reuse = reuse_check(variable, value_set)
    return ProposalDraft(
        register_id=register_id,
        variable_id=variable.id,
        kind=kind,
        variable=variable.model_dump(mode="json", exclude_none=True),
        value_set=value_set.model_dump(mode="json", exclude_none=True) if value_set else None,
        rationale=rationale,
        reuse=reuse,
    )


# --------------------------------------------------------------------------- export


@dataclass
class ExportReport:
    proposals: list[int] = field(default_factory=list)
    mappings: list[int] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    findings: list = field(default_factory=list)  # validation errors: nothing written

    def to_json(self) -> dict:
        return {
            "proposals": self.proposals,
            "mappings": self.mappings,
            "written": [str(p) for p in self.written],
            "findings": [f.render() for f in self.findings],
        }

    def summary(self) -> str:
        if self.findings:
            lines = [f.render() for f in self.findings]
            return "\n".join([*lines, f"not exported: {len(lines)} error(s); nothing was written"])
        if not self.proposals and not self.mappings:
            return "nothing to export: no accepted proposal or reviewed mapping is waiting"
        files = "\n".join(f"  {p}" for p in self.written) or "  (no file changed)"
        return (
            f"exported {len(self.proposals)} proposal(s) and {len(self.mappings)} mapping "
            f"decision(s); review the diff with `git diff`:\n{files}"
        )


REVIEWED_SET = "reviewed"


def _register_text(root: Path, register_id: str, proposals: list) -> tuple[Path, str]:
    from regcat.importer import render_register
    from regcat.layout import register_path
    from regcat.load import load_file

    path = register_path(root, register_id)
    rel = path.relative_to(root).as_posix()
    loaded = load_file(ContentFile("register", path, rel))
    errors = [f for f in loaded.findings if f.rule == "schema"]
    if loaded.obj is None or errors:
        first = errors[0].render() if errors else rel
        raise RegcatError(
            f"the register file does not match the model; fix it first ({first})", rel
        )
    register: Register = loaded.obj
    variables = list(register.variables or [])
    value_sets = list(register.value_sets or [])
    for proposal in proposals:
        data = json.loads(proposal.variable)
        data["status"] = "accepted"
        data.pop("register_id", None)
        variable = Variable.model_validate(data)
        at = next((i for i, v in enumerate(variables) if v.id == variable.id), None)
        if at is None:
            variables.append(variable)
        else:
            variables[at] = variable
        if proposal.value_set:
            vs = ValueSet.model_validate_json(proposal.value_set)
            at = next((i for i, v in enumerate(value_sets) if v.id == vs.id), None)
            if at is None:
                value_sets.append(vs)
            else:
                value_sets[at] = vs
    register.variables = variables
    register.value_sets = value_sets
    return path, render_register(register)


def _mapping_texts(root: Path, decided: list) -> dict[Path, str]:
    """The reviewed set with the approved mappings added, and each candidate set without
    the rows that have been decided (approved or rejected)."""
    from regcat.sssom import SssomTable, read_sssom_file, write_sssom
    from regcat.store.mappings import candidate_key

    texts: dict[Path, str] = {}
    decided_keys = {d.key for d in decided}
    for source in sorted({d.source_file for d in decided}):
        path = root / source
        if not path.is_file():
            continue  # the candidate set was regenerated or removed since the review
        table = read_sssom_file(path, check=False)
        kept = [
            row
            for row in table.rows
            if candidate_key(source, row["subject_id"], row["predicate_id"], row["object_id"])
            not in decided_keys
        ]
        if len(kept) != len(table.rows):
            table.rows = kept
            texts[path] = write_sssom(table)
    approved = [d for d in decided if d.status == "approved"]
    if not approved:
        return texts
    path = root / "mappings" / f"{REVIEWED_SET}.sssom.tsv"
    columns = [
        "subject_id",
        "predicate_id",
        "object_id",
        "mapping_justification",
        "reviewer_label",
        "mapping_date",
        "comment",
    ]
    if path.is_file():
        table = read_sssom_file(path, check=False)
    else:
        table = SssomTable(
            {
                "curie_map": {
                    "skos": "http://www.w3.org/2004/02/skos/core#",
                    "semapv": "https://w3id.org/semapv/vocab/",
                },
                "mapping_set_id": f"https://w3id.org/regcat/mappings/{REVIEWED_SET}",
                "mapping_set_title": "Mappings approved in review (regcat API)",
                "license": "https://creativecommons.org/licenses/by/4.0/",
            },
            columns,
            [],
        )
    curie_map = dict(table.meta.get("curie_map") or {})
    for column in columns:
        if column not in table.columns:
            table.columns.append(column)
            for row in table.rows:
                row[column] = ""
    present = {(r["subject_id"], r["predicate_id"], r["object_id"]) for r in table.rows}
    for d in approved:
        if (d.subject_id, d.predicate_id, d.object_id) in present:
            continue
        for curie in (d.subject_id, d.object_id):
            prefix = curie.partition(":")[0]
            curie_map.setdefault(prefix, f"https://w3id.org/regcat/variable/{prefix}/")
        row = dict.fromkeys(table.columns, "")
        row.update(
            subject_id=d.subject_id,
            predicate_id=d.predicate_id,
            object_id=d.object_id,
            mapping_justification="semapv:ManualMappingCuration",
            reviewer_label=d.reviewer or "",
            mapping_date=d.updated.date().isoformat(),
            comment=" ".join((d.comment or "").split()),
        )
        table.rows.append(row)
    table.meta["curie_map"] = dict(sorted(curie_map.items()))
    texts[path] = write_sssom(table)
    return texts


def export_proposals(store, root: Path, dry_run: bool = False) -> ExportReport:
    """Write accepted proposals and decided candidate mappings into the catalogue at
    `root`. The changed catalogue is validated in a scratch copy first: on any error
    nothing is written and the report carries the findings."""
    import shutil
    import tempfile

    from regcat.catalogue import validate_catalogue
    from regcat.io import AtomicBatch
    from regcat.store import mappings as store_mappings
    from regcat.store import proposals as store_proposals

    report = ExportReport()
    accepted = store_proposals.accepted_unexported(store)
    decided = store_mappings.decided_unexported(store)
    if not accepted and not decided:
        return report
    batch = AtomicBatch()
    by_register: dict[str, list] = {}
    for proposal in accepted:
        by_register.setdefault(proposal.register_id, []).append(proposal)
    for register_id, proposals in sorted(by_register.items()):
        path, text = _register_text(root, register_id, proposals)
        batch.add(path, text)
    for path, text in _mapping_texts(root, decided).items():
        batch.add(path, text)

    with tempfile.TemporaryDirectory(prefix="regcat-export-") as scratch:
        copy = Path(scratch) / "catalogue"
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".*"))
        for path in batch:
            target = copy / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(batch.text(path), encoding="utf-8")
        checked = validate_catalogue(copy)
    if checked.errors:
        raise RegcatError("the exported catalogue has unusable files: " + "; ".join(checked.errors))
    errors = [f for f in checked.findings if f.severity == "error"]
    if errors:
        report.findings = errors
        return report
    report.proposals = [p.id for p in accepted]
    report.mappings = [d.id for d in decided]
    if dry_run:
        report.written = [
            p for p in batch if not p.is_file() or p.read_text(encoding="utf-8") != batch.text(p)
        ]
        return report
    report.written = batch.commit()
    # After the files: a crash in between exports again next time, which is harmless
    # (the same variable replaces itself; an approved mapping already present is skipped).
    store_proposals.mark_exported(store, report.proposals)
    store_mappings.mark_exported(store, report.mappings)
    return report
