"""`regcat export healthdcat`: the registers as DCAT-AP 3 / HealthDCAT-AP datasets in one
dcat:Catalog, as Turtle or JSON-LD, checked against regcat's SHACL shapes."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from regcat.cli.common import err, export_app, handle_errors, register_id_option
from regcat.errors import EXIT_FINDINGS, RegcatError


class RdfFormat(StrEnum):
    ttl = "ttl"
    jsonld = "jsonld"


@export_app.command("healthdcat")
@handle_errors
def export_healthdcat(
    format: Annotated[
        RdfFormat, typer.Option("--format", "-f", help="Turtle (ttl) or JSON-LD (jsonld).")
    ] = RdfFormat.ttl,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write here, atomically (default: stdout)."),
    ] = None,
    register: Annotated[
        list[str] | None,
        typer.Option(
            "--register", "-r", metavar="ID", help="Only this register (repeatable; default: all)."
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check/--no-check",
            help="Validate against the SHACL shapes first; on a violation print the "
            "findings, write nothing and exit 1.",
        ),
    ] = True,
) -> None:
    """Registers as DCAT-AP / HealthDCAT-AP datasets (title, description, publisher,
    legislation, frequency, theme, keywords, landing page, …) in one dcat:Catalog."""
    from regcat.cli.core import indexed_catalogue
    from regcat.interop import healthdcat
    from regcat.io import write_text_atomic

    ids = [register_id_option(r) for r in register or []]
    if out_file is not None and out_file.is_dir():
        raise RegcatError("is a directory, expected a file", out_file)
    cat = indexed_catalogue()
    graph = healthdcat.build_graph(cat, healthdcat.select_registers(cat, ids))
    count = healthdcat.dataset_count(graph)
    warnings = 0
    if check:
        findings = healthdcat.validate(graph)
        for finding in findings:
            err.print(finding.render(), markup=False)
        if not healthdcat.conforms(findings):
            violations = sum(f.severity == "violation" for f in findings)
            err.print(
                f"not written: {violations} SHACL violation(s) in {count} dataset(s)",
                markup=False,
            )
            raise typer.Exit(EXIT_FINDINGS)
        warnings = len(findings)
    text = healthdcat.serialize(graph, format.value)
    status = "not checked" if not check else f"conforms, {warnings} warning(s)"
    summary = f"{count} dataset(s), {'JSON-LD' if format is RdfFormat.jsonld else 'Turtle'}"
    if out_file is None:
        typer.echo(text, nl=False)
        err.print(f"{summary} ({status})", markup=False)
    else:
        write_text_atomic(out_file, text)
        err.print(f"wrote {out_file}: {summary} ({status})", markup=False)
