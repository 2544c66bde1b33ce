"""Reports: overlap (for coordinators), diff (two catalogues or codebooks), impact (a
code-system release against the catalogue)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from regcat.cli.common import (
    Format,
    FormatOption,
    app,
    err,
    handle_errors,
    out,
    print_json,
    register_id_option,
)
from regcat.errors import EXIT_FINDINGS, RegcatError


def _catalogue():
    from regcat.cli.core import indexed_catalogue

    return indexed_catalogue()


# --- overlap ------------------------------------------------------------------------


class ReportFormat(StrEnum):
    md = "md"
    json = "json"
    csv = "csv"


class Report(StrEnum):
    all = "all"
    concepts = "concepts"
    reuse = "reuse"
    prom = "prom"


@app.command()
@handle_errors
def overlap(
    format: Annotated[
        ReportFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ReportFormat.md,
    report: Annotated[
        Report,
        typer.Option(
            "--report",
            "-r",
            help="concepts: collected by several registers; reuse: manual collection a "
            "key register holds; prom: PROM instruments sent by several registers.",
        ),
    ] = Report.all,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Write one file per report here (required for csv with all)."),
    ] = None,
) -> None:
    """Overlap reports: concepts several registers collect, key-register reuse, PROM.

    Exits 1 when exact-match value maps conflict (see the concepts report)."""
    from regcat.io import write_text_atomic
    from regcat.overlap import REPORTS, overlap_report
    from regcat.overlap_render import render_csv, render_markdown

    names = list(REPORTS) if report is Report.all else [report.value]
    if format is ReportFormat.csv and len(names) > 1 and out_dir is None:
        raise RegcatError("--format csv --report all writes one table per report: pass --out DIR")
    if out_dir is not None and out_dir.exists() and not out_dir.is_dir():
        raise RegcatError("--out must be a directory", out_dir)
    data = overlap_report(_catalogue(), names)

    def text(name: str) -> str:
        if format is ReportFormat.json:
            return json.dumps(data[name], ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        if format is ReportFormat.csv:
            return render_csv(name, data[name])
        return render_markdown(name, data[name])

    if out_dir is not None:
        for name in names:
            path = out_dir / f"overlap-{name}.{format.value}"
            write_text_atomic(path, text(name))
            err.print(f"wrote {path}", markup=False)
    elif format is ReportFormat.json:
        out.print(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), markup=False)
    else:
        out.print("\n".join(text(name) for name in names).rstrip("\n"), markup=False)
    conflicts = data.get("concepts", {}).get("conflicts", [])
    if conflicts:
        err.print(f"{len(conflicts)} value-map conflict(s) among exact matches", markup=False)
        raise typer.Exit(EXIT_FINDINGS)


# --- diff ---------------------------------------------------------------------------


@app.command()
@handle_errors
def diff(
    old: Annotated[Path, typer.Argument(help="Old catalogue directory or codebook file.")],
    new: Annotated[Path, typer.Argument(help="New catalogue directory or codebook file.")],
    register: Annotated[
        str | None,
        typer.Option(
            "--register",
            "-r",
            help="Register id: required for codebooks; limits a catalogue diff to it.",
        ),
    ] = None,
    format: FormatOption = Format.text,
) -> None:
    """Variables, codes and more added, removed or changed between two versions.

    OLD and NEW are two catalogue directories, or two codebooks of one register
    (klokebok .csv, MRS .xlsx, SSB .json). Exits 0 when identical, 1 when they differ."""
    from regcat.diff import diff_paths

    result = diff_paths(old, new, register_id_option(register) if register else None)
    if format is Format.json:
        print_json(result.to_json())
    else:
        for line in result.lines():
            out.print(line, markup=False)
        err.print(f"{result.kind}: {result.summary()}", markup=False)
    if not result.identical:
        raise typer.Exit(EXIT_FINDINGS)


# --- impact -------------------------------------------------------------------------


@app.command()
@handle_errors
def impact(
    codes: Annotated[
        tuple[Path, Path],
        typer.Option(
            "--codes",
            help="Old and new release of the code system (CSV).",
            metavar="OLD.csv NEW.csv",
            show_default=False,
        ),
    ],
    system: Annotated[
        str | None,
        typer.Option(
            "--system", "-s", help="Code system, e.g. NCSP (default: from the file name)."
        ),
    ] = None,
    code_column: Annotated[
        str | None, typer.Option("--code-column", help="The CSV column holding the codes.")
    ] = None,
    label_column: Annotated[
        str | None, typer.Option("--label-column", help="The CSV column holding the labels.")
    ] = None,
    format: FormatOption = Format.text,
) -> None:
    """Codes a new code-system release removes or relabels, and where the catalogue
    uses them (variables, value sets, mappings). Exits 1 when the catalogue does."""
    from regcat.impact import impact as compute

    old, new = codes
    result = compute(_catalogue(), old, new, system, code_column, label_column)
    d = result.diff
    if format is Format.json:
        print_json(result.to_json())
    else:
        out.print(
            f"{d.system}: {len(d.old.codes)} → {len(d.new.codes)} codes: {len(d.added)} added, "
            f"{len(d.removed)} removed, {len(d.relabelled)} relabelled",
            markup=False,
        )
        for code in d.removed:
            out.print(f"- {code} {d.old.codes[code]}", markup=False)
        for code, (before, after) in d.relabelled.items():
            out.print(f"~ {code} '{before}' → '{after}'", markup=False)
        for reference in result.references:
            out.print(reference.render(), markup=False)
        err.print(
            f"{len(result.references)} catalogue reference(s) to removed or relabelled codes",
            markup=False,
        )
    if result.references:
        raise typer.Exit(EXIT_FINDINGS)
