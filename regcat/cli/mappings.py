"""`regcat import sssom` and `regcat export sssom`: SSSOM/TSV mapping sets in and out of
the catalogue (`mappings/<set>.sssom.tsv`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regcat.cli.common import (
    Format,
    FormatOption,
    app,
    catalogue_dir,
    err,
    export_app,
    handle_errors,
    import_app,
    out,
    print_json,
)
from regcat.errors import EXIT_FINDINGS, RegcatError

app.add_typer(export_app, name="export")


@import_app.command("sssom")
@handle_errors
def import_sssom(
    file: Annotated[
        Path,
        typer.Argument(
            help="SSSOM/TSV file (metadata in '#' lines, or in a .sssom.yml file beside it)."
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", "-n", help="Set name in the catalogue (default: the file name's stem)."
        ),
    ] = None,
    format: FormatOption = Format.text,
) -> None:
    """Import an SSSOM mapping set into mappings/<name>.sssom.tsv, losslessly.

    The file is checked against the SSSOM specification first; an invalid file is
    refused (exit 2) and nothing is written. Importing over an existing set replaces it
    and lists the mappings added, removed and changed. Transformations are not part of
    SSSOM: they live in mappings/<name>.transform.yaml, which an import leaves alone.
    """
    from regcat.sssom import import_sssom as run

    outcome = run(catalogue_dir(), file, name)
    if format is Format.json:
        print_json(outcome.to_json())
    else:
        changes = outcome.changes
        for label, keys in (("+", changes.added), ("-", changes.removed), ("~", changes.changed)):
            if outcome.replaced:
                for key in keys[:200]:
                    out.print(f"{label} {key}", markup=False)
                if len(keys) > 200:
                    out.print(f"{label} … and {len(keys) - 200} more (--format json lists all)")
        verb = "replaced" if outcome.replaced else "wrote"
        if not outcome.written:
            verb = "unchanged:"
        err.print(f"{verb} {outcome.rel}: {outcome.summary()}", markup=False)
        for finding in outcome.findings:
            suffix = "" if finding.severity == "error" else " (warning)"
            out.print(finding.render() + suffix, markup=False)
    if any(f.severity == "error" for f in outcome.findings):
        raise typer.Exit(EXIT_FINDINGS)


@export_app.command("sssom")
@handle_errors
def export_sssom(
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Directory to write <set>.sssom.tsv files to (default: stdout)."
        ),
    ] = None,
    set_name: Annotated[
        str | None, typer.Option("--set", "-s", help="Export only this set (its name).")
    ] = None,
) -> None:
    """Export the catalogue's mapping sets as SSSOM/TSV (metadata block included).

    Each set is written as stored in mappings/<set>.sssom.tsv. Transformations are not
    inlined: they stay in the side files mappings/<set>.transform.yaml, so any SSSOM
    tool reads the exported TSV unchanged. Without --out exactly one set is written to
    stdout (use --set when the catalogue has several).
    """
    import sys

    from regcat.io import AtomicBatch
    from regcat.sssom import export_sssom as run

    root = catalogue_dir()
    exported = run(root, set_name)
    if out_dir is None:
        if not exported:
            raise RegcatError("no mapping sets in the catalogue to export", root / "mappings")
        if len(exported) > 1:
            names = ", ".join(name.removesuffix(".sssom.tsv") for name, _, _ in exported)
            raise RegcatError(
                f"{len(exported)} mapping sets ({names}): choose one with --set, or write "
                "them all with --out DIR"
            )
        _, text, _ = exported[0]
        sys.stdout.write(text)
        return
    if out_dir.exists() and not out_dir.is_dir():
        raise RegcatError("--out expects a directory", out_dir)
    batch = AtomicBatch()
    for file_name, text, _ in exported:
        batch.add(out_dir / file_name, text)
    batch.commit()
    for file_name, _, count in exported:
        err.print(f"wrote {out_dir / file_name}: {count} mappings", markup=False)
    if not exported:
        err.print("no mapping sets in the catalogue; nothing written")
