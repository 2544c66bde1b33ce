"""`regcat import …`: codebook importers, merged into the catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regcat.cli.common import (
    Format,
    FormatOption,
    catalogue_dir,
    err,
    handle_errors,
    import_app,
    out,
    print_json,
    register_id_option,
)
from regcat.errors import EXIT_FINDINGS

# --- import -------------------------------------------------------------------------

RegisterOption = Annotated[
    str, typer.Option("--register", "-r", help="Register id, e.g. noric (lower-case).")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
]


def _run_import(result, dry_run: bool, format: Format) -> None:
    from regcat.importer import apply_import

    outcome = apply_import(catalogue_dir(), result, dry_run=dry_run)
    if format is Format.json:
        print_json(outcome.to_json())
    else:
        for warning in result.warnings:
            err.print(f"warning: {warning}", markup=False)
        for line in outcome.changes.lines()[:200]:
            out.print(line, markup=False)
        hidden = len(outcome.changes.lines()) - 200
        if hidden > 0:
            out.print(f"… and {hidden} more changes (--format json lists them all)")
        verb = "would write" if dry_run else ("wrote" if outcome.written else "unchanged:")
        err.print(f"{verb} {outcome.path}: {outcome.summary()}", markup=False)
        for finding in outcome.findings:
            out.print(finding.render(), markup=False)
    if outcome.findings:
        raise typer.Exit(EXIT_FINDINGS)


@import_app.command("klokebok")
@handle_errors
def import_klokebok(
    file: Annotated[Path, typer.Argument(help="OpenQReg klokebok CSV.")],
    register: RegisterOption,
    dry_run: DryRunOption = False,
    format: FormatOption = Format.text,
) -> None:
    """Import an OpenQReg klokebok (CSV; any common encoding and delimiter)."""
    from regcat.importers.klokebok import read_klokebok

    _run_import(read_klokebok(file, register_id_option(register)), dry_run, format)


@import_app.command("mrs")
@handle_errors
def import_mrs(
    file: Annotated[Path, typer.Argument(help="MRS kodebok (.xlsx).")],
    register: RegisterOption,
    dry_run: DryRunOption = False,
    format: FormatOption = Format.text,
) -> None:
    """Import an MRS kodebok (xlsx, one sheet per form)."""
    from regcat.importers.mrs import read_mrs

    _run_import(read_mrs(file, register_id_option(register)), dry_run, format)


@import_app.command("ssb")
@handle_errors
def import_ssb(
    file: Annotated[Path, typer.Argument(help="SSB microdata variable JSON.")],
    register: Annotated[
        str | None,
        typer.Option("--register", "-r", help="Register id (default: from the unit type)."),
    ] = None,
    dry_run: DryRunOption = False,
    format: FormatOption = Format.text,
) -> None:
    """Import a Statistics Norway microdata variable (JSON)."""
    from regcat.importers.ssb import read_ssb

    _run_import(read_ssb(file, register_id_option(register) if register else None), dry_run, format)


@import_app.command("omop")
@handle_errors
def import_omop(
    file: Annotated[
        Path,
        typer.Argument(
            help="OMOP CDM Field_Level CSV (e.g. OMOP_CDMv5.4_Field_Level.csv); the "
            "Table_Level CSV beside it gives the tables' descriptions."
        ),
    ],
    register: Annotated[
        str, typer.Option("--register", "-r", help="Register id for the CDM (default: omop).")
    ] = "omop",
    dry_run: DryRunOption = False,
    format: FormatOption = Format.text,
) -> None:
    """Import the OMOP Common Data Model (OHDSI) as a target model: tables as forms,
    fields as variables `<register>:<table>.<field>`."""
    from regcat.importers.omop import read_omop

    _run_import(read_omop(file, register_id_option(register)), dry_run, format)
