"""`regcat prefill` (a register form filled from FHIR data) and `regcat coverage` (how
much of each form is EHR-bound, fetched from a key register, or typed by hand)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from regcat.cli.common import Format, FormatOption, app, err, handle_errors, out, print_json
from regcat.errors import EXIT_FINDINGS
from regcat.io import write_text_atomic


class PrefillFormat(StrEnum):
    json = "json"
    csv = "csv"
    questionnaire_response = "questionnaire-response"


@app.command("prefill")
@handle_errors
def prefill_command(
    register: Annotated[str, typer.Argument(help="Register id, e.g. noric.")],
    input: Annotated[
        Path,
        typer.Argument(
            help="A FHIR Bundle (one patient) or a Bulk Data export folder of NDJSON files."
        ),
    ],
    form: Annotated[str, typer.Option("--form", help="Form id, e.g. angio_pci.")],
    format: Annotated[
        PrefillFormat, typer.Option("--format", "-f", help="What to write.")
    ] = PrefillFormat.json,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: standard output).")
    ] = None,
    report_file: Annotated[
        Path | None, typer.Option("--report", help="Also write the run's report as JSON here.")
    ] = None,
    max_resource_bytes: Annotated[
        int,
        typer.Option(
            "--max-resource-bytes",
            min=1024,
            help="Refuse a resource (NDJSON line) longer than this.",
        ),
    ] = 16 * 1024 * 1024,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="DuckDB threads.")] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when the register's validator finds errors.")
    ] = False,
) -> None:
    """Fill a register form from EHR data (FHIR R4) using the catalogue's EHR bindings.

    Each event (each anchor resource, e.g. each procedure; or each patient) gets the
    bound fields with the resources they came from, and the list of fields still to
    complete by hand. The filled values are checked with the register's generated
    validator; its findings are reported, not dropped. Bulk mode is one generated
    DuckDB query over the NDJSON files."""
    from regcat.cli.core import indexed_catalogue
    from regcat.ehr.prefill import prefill

    report = prefill(
        indexed_catalogue(),
        register,
        form,
        input,
        format.value,
        out_file,
        max_resource_bytes=max_resource_bytes,
        threads=threads,
    )
    if report_file is not None:
        write_text_atomic(
            report_file, json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
        )
    validation = report.validation
    errors, warnings = validation.get("errors", 0), validation.get("warnings", 0)
    err.print(
        f"{report.register}:{report.form}: {report.events} event(s) for "
        f"{report.patients} patient(s) "
        f"from {report.resources_read:,} resource(s) in {report.seconds:.2f} s; "
        f"{len(report.bound)} of {report.fields} field(s) bound; "
        f"validator: {errors} error(s), {warnings} warning(s)",
        markup=False,
    )
    if report.events and report.bound:
        table = Table("field", "filled", "to complete", title="bound fields", title_justify="left")
        for name in report.bound:
            table.add_row(
                name, str(report.filled.get(name, 0)), str(report.to_complete.get(name, 0))
            )
        err.print(table)
    for key, count in sorted(validation.get("by_rule", {}).items()):
        severity = validation.get("severity", {}).get(key, "error")
        err.print(f"  {severity}: {key}: {count} event(s)", markup=False)
    if report.manual:
        err.print(
            f"{len(report.manual)} field(s) have no EHR binding and are completed by hand "
            "in every event (listed as `manual` in --report)",
            markup=False,
        )
    for why, count in report.skipped.items():
        err.print(f"warning: {count:,} resource(s) skipped: {why}", markup=False)
    if report.ignored_files:
        err.print(
            f"note: not read (no resource type in the name): {', '.join(report.ignored_files)}",
            markup=False,
        )
    if strict and errors:
        raise typer.Exit(EXIT_FINDINGS)


@app.command("coverage")
@handle_errors
def coverage_command(
    register: Annotated[
        str | None, typer.Option("--register", "-r", help="Only this register.")
    ] = None,
    format: FormatOption = Format.text,
) -> None:
    """Per register and form: the share of variables bound to the EHR (automatable),
    fetched from a key register, derived, or typed in by hand."""
    from regcat.cli.core import indexed_catalogue
    from regcat.ehr.coverage import CATEGORIES, coverage, totals

    rows = coverage(indexed_catalogue(), register)
    summary = totals(rows)
    if format is Format.json:
        print_json({"forms": [r.to_dict() for r in rows], "total": summary})
        return
    table = Table("register", "form", "variables", *(c.replace("_", " ") for c in CATEGORIES))
    for r in rows:
        cells = [f"{r.counts[c]} ({r.share(c):.0%})" if r.counts[c] else "0" for c in CATEGORIES]
        table.add_row(r.register, r.form, str(r.variables), *cells)
    cells = [f"{summary['counts'][c]} ({summary['shares'][c]:.0%})" for c in CATEGORIES]
    table.add_row("all", "", str(summary["variables"]), *cells, style="bold")
    out.print(table)


@app.command("codegen-prefill")
@handle_errors
def codegen_prefill_command(
    register: Annotated[str, typer.Argument(help="Register id, e.g. noric.")],
    form: Annotated[str, typer.Option("--form", help="Form id, e.g. angio_pci.")],
    input_dir: Annotated[
        str, typer.Option("--input-dir", help="Where the script will find the NDJSON files.")
    ] = "export",
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: standard output).")
    ] = None,
) -> None:
    """The SQL `regcat prefill` runs for a form, as a DuckDB script over a Bulk Data
    export folder: to review, or to run where regcat is not installed."""
    from regcat.cli.core import indexed_catalogue
    from regcat.codegen.header import catalogue_version, header
    from regcat.ehr.bindings import plan_form
    from regcat.ehr.sql import script

    catalogue = indexed_catalogue()
    plan = plan_form(catalogue, register, form)
    what = f"the EHR bindings of {register}:{form}"
    text = script(plan, input_dir, header("--", what, catalogue_version(catalogue.root)))
    if out_file is None:
        out.print(text, markup=False, highlight=False, soft_wrap=True, end="")
    else:
        write_text_atomic(out_file, text)
        err.print(f"wrote {out_file}", markup=False)
