"""`regcat prefill`: a register form filled from EHR data, with provenance, the fields
left to complete by hand, and the register's validator run on what was filled.

    report = prefill(catalogue, "noric", "angio_pci", Path("bundle.json"), "json", out)

Formats: `json` (one object per event: values, sources, to_complete), `csv` (the
submission rows `regcat check` reads) and `questionnaire-response` (a FHIR
QuestionnaireResponse per event against the Questionnaire `regcat export fhir` writes:
a Bundle of them for a Bundle, NDJSON for a bulk export). Output is written to a temp
file beside the target and moved into place only when everything worked.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from regcat.ehr import sql as ehr_sql
from regcat.ehr.bindings import plan_form
from regcat.ehr.source import MAX_RESOURCE_BYTES, first_bad_line, open_source
from regcat.errors import RegcatError

FORMATS = ("json", "csv", "questionnaire-response")
EXT_SOURCE = "https://w3id.org/regcat/fhir/StructureDefinition/prefill-source"
EXT_TO_COMPLETE = "https://w3id.org/regcat/fhir/StructureDefinition/to-complete"
QR_CHECKED_IN_BULK = 50  # QuestionnaireResponses of a bulk run checked with fhir.resources


@dataclass
class PrefillReport:
    register: str
    form: str
    input: str
    input_kind: str
    format: str
    output: str | None
    events: int = 0
    patients: int = 0
    resources: dict[str, int] = field(default_factory=dict)  # read, per type
    ignored_files: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # why -> resources not used
    fields: int = 0
    bound: list[str] = field(default_factory=list)
    manual: list[str] = field(default_factory=list)  # no binding: to complete in every event
    filled: dict[str, int] = field(default_factory=dict)  # field -> events with a value
    to_complete: dict[str, int] = field(default_factory=dict)  # field -> events without
    validation: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def resources_read(self) -> int:
        return sum(self.resources.values())

    def to_dict(self) -> dict:
        data = asdict(self)
        data["resources_read"] = self.resources_read
        return data


def _duck_error(exc: Exception, files: dict[str, list[str]]) -> RegcatError:
    import re

    message = str(exc).splitlines()[0]
    found = re.search(r'file "([^"]+)"', message)
    line = re.search(r"line (\d+)", message)
    path = found.group(1) if found else None
    if "maximum_object_size" in message:
        return RegcatError("a resource is larger than the limit (--max-resource-bytes)", path)
    if "Malformed JSON" in message or "JSON" in message and "parse" in message.lower():
        # DuckDB's line number is not always the bad line's: find it ourselves.
        located = first_bad_line(Path(path)) if path else None
        if located is not None:
            return RegcatError(f"line {located[0]}: not valid JSON ({located[1]})", path)
        where = f"line {line.group(1)}: " if line else ""
        detail = message.split(":", 2)[-1].strip()
        return RegcatError(f"{where}not valid JSON ({detail})", path)
    if path is None and len([f for fs in files.values() for f in fs]) == 1:
        path = next(f for fs in files.values() for f in fs)
    return RegcatError(f"cannot read the FHIR resources: {message}", path)


def _systems(catalogue, plan) -> dict[str, str]:
    from regcat.interop.fhir import codes_system

    out = {}
    for v in plan.variables:
        vs = catalogue.value_sets.get(v.value_set or "")
        if vs is not None:
            out[v.id] = codes_system(vs)
    return out


def _copy_lines(con, query: str, target: Path) -> None:
    """Each row's single JSON text column as one line (no CSV quoting can trigger:
    serialised JSON holds no control characters)."""
    con.execute(
        f"COPY ({query}) TO '{_sql_path(target)}' "
        "(FORMAT CSV, HEADER false, DELIMITER '\x1f', QUOTE '\x1e', ESCAPE '\x1e')"
    )


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _check_questionnaire_responses(lines: list[str], where: Path) -> None:
    from regcat.interop.fhir_json import validate_resource

    for i, line in enumerate(lines):
        try:
            validate_resource(json.loads(line), where, f"QuestionnaireResponse[{i}]")
        except RegcatError as exc:  # regcat wrote it: a bug here, not bad input
            raise RegcatError(
                f"internal error, an invalid QuestionnaireResponse was built: {exc.message}"
            ) from None


def _write(con, plan, catalogue, fmt: str, kind: str, target: Path) -> None:
    if fmt == "json":
        con.execute(f"COPY ({ehr_sql.json_rows(plan)}) TO '{_sql_path(target)}' (FORMAT JSON)")
    elif fmt == "csv":
        cols = ", ".join(ehr_sql.quote(n) for n in plan.names())
        con.execute(
            f"COPY (SELECT {cols} FROM prefill ORDER BY _row) TO '{_sql_path(target)}' "
            "(FORMAT CSV, HEADER true)"
        )
    else:
        query = ehr_sql.questionnaire_rows(
            plan, EXT_SOURCE, EXT_TO_COMPLETE, _systems(catalogue, plan)
        )
        _copy_lines(con, query, target)
        lines = (
            target.read_text(encoding="utf-8").splitlines() if kind == "bundle" else _head(target)
        )
        _check_questionnaire_responses(lines, target)
        if kind == "bundle":
            bundle = {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": json.loads(line)} for line in lines],
            }
            if not lines:
                del bundle["entry"]
            target.write_text(
                json.dumps(bundle, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )


def _head(path: Path) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            out.append(line)
            if len(out) >= QR_CHECKED_IN_BULK:
                break
    return out


def _validation(con, catalogue, plan, today: dt.date | None, input_path: Path) -> dict:
    from regcat.checker import check_relation

    filled = [b.name for b in plan.bound]
    if not filled:
        return {
            "errors": 0,
            "warnings": 0,
            "by_rule": {},
            "severity": {},
            "examples": [],
            "note": "no field of the form is bound: nothing was filled to check",
        }
    con.execute(ehr_sql.submission_view(plan))
    report = check_relation(
        con,
        catalogue,
        plan.register,
        "submission",
        plan.form,
        today,
        file=str(input_path),
        only=filled,
    )
    data = report.to_json()
    data["severity"] = dict(report.severity)
    # A required field without a value is in to_complete, with the reason; the
    # validator's `required` findings would only repeat it.
    required = [k for k in data["by_rule"] if k.startswith(("required:", "missing_column:"))]
    for key in required:
        data["by_rule"].pop(key)
        data["severity"].pop(key, None)
    data["examples"] = [
        e for e in data["examples"] if e["rule"] not in ("required", "missing_column")
    ]
    data["errors"] = sum(c for k, c in data["by_rule"].items() if data["severity"][k] == "error")
    data["warnings"] = sum(c for k, c in data["by_rule"].items() if data["severity"][k] != "error")
    data["note"] = "required fields without a value are listed in to_complete"
    rows = {
        int(r): (p, e)
        for r, p, e in con.execute("SELECT _row, patient, event FROM prefill").fetchall()
    }
    for example in data.get("examples", []):
        patient, event = rows.get(example["row"], (None, None))
        example["patient"], example["event"] = patient, event
    return data


def prefill(
    catalogue,
    register_id: str,
    form: str,
    input_path: Path,
    fmt: str = "json",
    out: Path | None = None,
    max_resource_bytes: int = MAX_RESOURCE_BYTES,
    threads: int | None = None,
    today: dt.date | None = None,
) -> PrefillReport:
    """Fill one form from a Bundle or a bulk export; write to `out` (stdout if None)."""
    import duckdb

    if fmt not in FORMATS:
        raise RegcatError(f"unknown format {fmt!r} (choose {', '.join(FORMATS)})")
    started = time.perf_counter()
    plan = plan_form(catalogue, register_id, form)
    report = PrefillReport(register_id, form, str(input_path), "", fmt, str(out) if out else None)
    report.fields = len(plan.variables)
    report.bound = [b.name for b in plan.bound]
    report.manual = [n for n in plan.names() if n not in set(report.bound)]
    with open_source(input_path, max_resource_bytes) as source:
        report.input_kind = source.kind
        report.ignored_files = source.ignored
        compiled = ehr_sql.compile_plan(plan, source.files, max_resource_bytes + (1 << 20))
        con = duckdb.connect()
        try:
            if threads:
                con.execute(f"SET threads = {int(threads)}")
            con.execute("SET preserve_insertion_order = true")
            # Dates without an offset are read as UTC, whatever the machine's zone.
            con.execute("SET TimeZone = 'UTC'")
            try:
                _run(con, compiled, report)
            except duckdb.Error as exc:
                raise _duck_error(exc, source.files) from None
            _summarise(con, plan, report)
            report.validation = _validation(con, catalogue, plan, today, input_path)
            _deliver(con, plan, catalogue, fmt, source.kind, out)
        finally:
            con.close()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _run(con, compiled: ehr_sql.Compiled, report: PrefillReport) -> None:
    """Read each resource type, set aside (and count) what cannot be used, fill the form."""
    for statement in compiled.reads:
        con.execute(statement)
    for resource, files in compiled.resources.items():
        other, orphan, twice = con.execute(ehr_sql.unusable(resource)).fetchone()
        con.execute(ehr_sql.tidy(resource))
        if files:
            table = ehr_sql.quote("res_" + resource)
            report.resources[resource] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for count, why in (
            (other, "another resource type in its file"),
            (orphan, "names no patient"),
            (twice, "an id seen before (the first is used)"),
        ):
            if count:
                report.skipped[f"{resource}: {why}"] = int(count)
    con.execute(compiled.build)


def _deliver(con, plan, catalogue, fmt: str, kind: str, out: Path | None) -> None:
    """Write to a temp file beside the target, then move it into place (or copy it to
    standard output): a failed run never leaves half a file."""
    target_dir = out.parent if out is not None else None
    if target_dir is not None and not target_dir.is_dir():
        raise RegcatError("the output's folder does not exist", target_dir)
    fd, tmp_name = tempfile.mkstemp(prefix=".regcat-prefill-", dir=target_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _write(con, plan, catalogue, fmt, kind, tmp)
        if out is None:
            with tmp.open("rb") as handle:
                shutil.copyfileobj(handle, sys.stdout.buffer)
            sys.stdout.flush()
        else:
            os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _summarise(con, plan, report: PrefillReport) -> None:
    names = plan.names()
    if names:
        counts = ", ".join(f"count({ehr_sql.quote(n)})" for n in names)
        row = con.execute(
            f"SELECT count(*), count(DISTINCT patient), {counts} FROM prefill"
        ).fetchone()
    else:
        row = con.execute("SELECT count(*), count(DISTINCT patient) FROM prefill").fetchone()
    report.events, report.patients = int(row[0]), int(row[1])
    for name, filled in zip(names, row[2:], strict=True):
        report.filled[name] = int(filled)
        if report.events - int(filled):
            report.to_complete[name] = report.events - int(filled)
