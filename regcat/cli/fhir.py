"""`regcat export fhir` and `regcat import fhir-questionnaire`: FHIR R4 Questionnaire,
ValueSet, CodeSystem and ConceptMap resources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from regcat.cli.common import (
    Format,
    FormatOption,
    err,
    export_app,
    handle_errors,
    import_app,
    register_id_option,
)
from regcat.cli.imports import DryRunOption, RegisterOption, _run_import
from regcat.errors import EXIT_FINDINGS


@export_app.command("fhir")
@handle_errors
def export_fhir(
    register: Annotated[str, typer.Argument(help="Register id, e.g. noric.")],
    form: Annotated[str | None, typer.Option(help="Only this form (default: every form).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the Bundle here (default: stdout).")
    ] = None,
) -> None:
    """A register as a FHIR R4 Bundle: a Questionnaire per form, ValueSets and
    CodeSystems for its local value sets, ConceptMaps from value maps. Checked with
    fhir.resources before it is written."""
    from regcat.cli.core import indexed_catalogue
    from regcat.interop.fhir import check_bundle, export_bundle
    from regcat.io import write_text_atomic

    bundle = export_bundle(indexed_catalogue(), register_id_option(register), form)
    problems = check_bundle(bundle)
    if problems:  # a bug in the exporter, not in the user's input: say what and stop
        for problem in problems[:20]:
            err.print(f"invalid FHIR: {problem}", markup=False)
        raise typer.Exit(EXIT_FINDINGS)
    text = json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "nothing"
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text_atomic(out, text)
        err.print(f"wrote {out}: {summary}", markup=False)


@import_app.command("fhir-questionnaire")
@handle_errors
def import_fhir_questionnaire(
    file: Annotated[Path, typer.Argument(help="FHIR Questionnaire, or a Bundle (JSON).")],
    register: RegisterOption,
    dry_run: DryRunOption = False,
    format: FormatOption = Format.text,
) -> None:
    """Import a FHIR R4 Questionnaire as a form: items become variables (codes,
    answer options and value sets, enableWhen, limits)."""
    from regcat.interop.fhir_import import read_questionnaire

    _run_import(read_questionnaire(file, register_id_option(register)), dry_run, format)
