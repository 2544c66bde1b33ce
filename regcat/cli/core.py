"""Core commands: init, validate, build, stats, lint, generate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from regcat.cli.common import (
    Format,
    FormatOption,
    app,
    catalogue_dir,
    err,
    handle_errors,
    index_dir,
    out,
    print_json,
)
from regcat.errors import EXIT_FINDINGS


@app.command()
@handle_errors
def init(directory: Annotated[Path, typer.Argument(help="Directory to create.")]) -> None:
    """Create an empty catalogue to import into."""
    from regcat.layout import init_catalogue

    init_catalogue(directory)
    out.print(f"created an empty catalogue in {directory}", markup=False)


@app.command()
@handle_errors
def validate(
    format: FormatOption = Format.text,
    jobs: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Worker processes (default: one per core)."),
    ] = None,
) -> None:
    """Check the catalogue: schema, unique ids, references, codes, date order."""
    from regcat.catalogue import validate_catalogue

    root = catalogue_dir()
    report = validate_catalogue(root, jobs=jobs)
    if format is Format.json:
        print_json(report.to_json())
    else:
        for problem in report.errors:
            err.print(f"error: {problem}", markup=False)
        for finding in report.findings:
            out.print(
                finding.render() + ("" if finding.severity == "error" else " (warning)"),
                markup=False,
            )
        errors = sum(1 for f in report.findings if f.severity == "error")
        warnings = len(report.findings) - errors
        err.print(
            f"{report.files} files checked: {errors} error(s), {warnings} warning(s)"
            + (f", {len(report.errors)} unusable file(s)" if report.errors else ""),
            markup=False,
        )
    raise typer.Exit(report.exit_code)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def run_build(force: bool = False, quiet: bool = False):
    """Build (or bring up to date) the index; exit 1 with the findings on errors."""
    from regcat.index import build_index

    root = catalogue_dir()
    with _progress() as bar:
        task = bar.add_task("parsing", total=None)
        report = build_index(
            root,
            index_dir(),
            force=force,
            progress=lambda d, t: bar.update(task, completed=d, total=t),
        )
    if report.errors:
        for finding in report.errors:
            out.print(finding.render(), markup=False)
        err.print(
            f"not built: {len(report.errors)} error(s); the index was left as it was",
            markup=False,
        )
        raise typer.Exit(EXIT_FINDINGS)
    if not quiet:
        err.print(
            f"index {report.index}: {report.files} files, {len(report.parsed)} parsed, "
            f"{len(report.removed)} removed, {report.seconds:.2f} s",
            markup=False,
        )
    return report


def indexed_catalogue():
    """The catalogue as the index holds it, brought up to date first: what every
    command that reads content uses, so no command parses the YAML twice."""
    from regcat.catalogue import Catalogue

    run_build(quiet=True)
    return Catalogue.from_index(index_dir())


@app.command()
@handle_errors
def build(
    force: Annotated[bool, typer.Option(help="Rebuild everything, ignoring the cache.")] = False,
) -> None:
    """Validate the catalogue and build the index (SQLite + FTS5, RDF store, Turtle)."""
    run_build(force=force)


@app.command()
@handle_errors
def stats(format: FormatOption = Format.text) -> None:
    """Counts per register: forms, variables, value sets, codings."""
    from regcat.stats import index_stats

    run_build(quiet=True)
    data = index_stats(index_dir())
    if format is Format.json:
        print_json(data)
        return
    table = Table("register", "key", "forms", "variables", "value sets", "codings", "name")
    for column in table.columns[:-1]:
        column.no_wrap = True
    table.columns[-1].overflow = "ellipsis"
    table.columns[-1].max_width = 48
    for reg in data["registers"]:
        table.add_row(
            reg["id"],
            "yes" if reg["key_register"] else "",
            *(str(reg[k]) for k in ("forms", "variables", "value_sets", "codings")),
            reg["name"] or "",
        )
    out.print(table)
    out.print(
        ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in data["totals"].items()), markup=False
    )


@app.command()
@handle_errors
def lint(
    check: Annotated[
        bool, typer.Option("--check", help="Only report files not in canonical form (exit 1).")
    ] = False,
) -> None:
    """Rewrite every YAML content file in canonical form (stable keys, indent, no nulls)."""
    from regcat.lint import lint_catalogue

    changed = lint_catalogue(catalogue_dir(), write=not check)
    for path in changed:
        out.print(f"{'not canonical' if check else 'rewrote'}: {path}", markup=False)
    if check and changed:
        err.print("run `regcat lint` to fix", markup=False)
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
@handle_errors
def generate(
    check: Annotated[
        bool, typer.Option("--check", help="Report drift instead of writing (exit 1).")
    ] = False,
) -> None:
    """Regenerate the Python model and JSON Schemas from schema/regcat.yaml."""
    from regcat import generate as gen

    artefacts = gen.render()
    if check:
        drifted = gen.drift(artefacts)
        for path in drifted:
            out.print(f"out of date: {path}", markup=False)
        if drifted:
            err.print("run `regcat generate` (or `make generate`) to fix", markup=False)
            raise typer.Exit(EXIT_FINDINGS)
        return
    for path in gen.write(artefacts):
        out.print(f"wrote {path}", markup=False)
