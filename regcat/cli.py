"""The `regcat` command line: a thin adapter that parses options, calls one library
function and prints. Exit codes: 0 ok, 1 findings, 2 bad usage or unusable input."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from regcat.errors import EXIT_BAD_INPUT, EXIT_FINDINGS, RegcatError

app = typer.Typer(
    help="regcat — catalogue of Norwegian health-register variables, codings and mappings.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import a codebook into the catalogue.", no_args_is_help=True)
app.add_typer(import_app, name="import")

out = Console(highlight=False, soft_wrap=True, emoji=False, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False, markup=False)


class Format(StrEnum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


class State:
    catalogue: Path | None = None
    index: Path | None = None


state = State()


def _index_dir() -> Path:
    if state.index is not None:
        return state.index
    return Path(os.environ.get("REGCAT_INDEX", ".regcat"))


def handle_errors(function: Callable) -> Callable:
    """Turn RegcatError into one line on stderr and exit 2; never a traceback."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except RegcatError as exc:
            err.print(f"error: {exc.render()}", markup=False)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except KeyboardInterrupt:
            err.print("interrupted; nothing was half-written")
            raise typer.Exit(130) from None

    return wrapper


def catalogue_dir() -> Path:
    from regcat.layout import resolve_catalogue

    return resolve_catalogue(state.catalogue)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@app.callback()
def main_options(
    catalogue: Annotated[
        Path | None,
        typer.Option(
            "--catalogue",
            "-c",
            help="Catalogue directory (default: $REGCAT_CATALOGUE, else the bundled catalogue).",
        ),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option("--index", help="Index directory (default: $REGCAT_INDEX, else ./.regcat)."),
    ] = None,
) -> None:
    state.catalogue = catalogue
    state.index = index


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
        int | None, typer.Option(help="Worker processes (default: one per core).")
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
            _index_dir(),
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
    data = index_stats(_index_dir())
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

    _run_import(read_klokebok(file, _register_id(register)), dry_run, format)


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

    _run_import(read_mrs(file, _register_id(register)), dry_run, format)


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

    _run_import(read_ssb(file, _register_id(register) if register else None), dry_run, format)


def _register_id(value: str) -> str:
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
        raise RegcatError(
            f"--register {value!r}: expected a lower-case id such as 'noric' (a-z, 0-9, _)"
        )
    return value


def main() -> None:
    app()


if __name__ == "__main__":
    main()
