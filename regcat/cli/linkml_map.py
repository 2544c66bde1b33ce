"""`regcat export linkml-map`: a linkml-map TransformationSpecification (and the
minimal source and target schemas it needs) for a mapping set's transformations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regcat.cli.common import err, export_app, handle_errors, out
from regcat.errors import RegcatError


@export_app.command("linkml-map")
@handle_errors
def export_linkml_map(
    mapping_set: Annotated[str, typer.Argument(help="Mapping set name (or its .sssom.tsv).")],
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write the specification here, and the schemas beside it as "
            "<stem>.source-schema.yaml and <stem>.target-schema.yaml (default: stdout, "
            "three YAML documents).",
        ),
    ] = None,
) -> None:
    """Export the value maps, unit conversions and copies of a mapping set as a
    linkml-map TransformationSpecification; record linkages are listed as skipped."""
    from regcat.cli.transform import load_set
    from regcat.codegen.header import catalogue_version
    from regcat.codegen.linkml_map import build, render, schema_paths
    from regcat.io import AtomicBatch

    cat, rel, mapping_set_obj = load_set(mapping_set)
    stem = Path(rel).name.removesuffix(".sssom.tsv")
    export = build(cat, mapping_set_obj, stem)
    texts = render(export, rel, catalogue_version(cat.root), out_file)
    for skipped in export.skipped:
        err.print(f"skipped {skipped.render()}", markup=False)
    summary = f"{rel}: {len(export.exported)} exported, {len(export.skipped)} skipped"
    if out_file is None:
        out.file.write(texts["spec"] + "---\n" + texts["source"] + "---\n" + texts["target"])
        err.print(summary, markup=False)
        return
    source_path, target_path = schema_paths(out_file)
    for path in (out_file, source_path, target_path):
        if path.is_dir():
            raise RegcatError("is a directory, expected a file", path)
    batch = AtomicBatch()  # all three files, or none
    batch.add(source_path, texts["source"])
    batch.add(target_path, texts["target"])
    batch.add(out_file, texts["spec"])
    batch.commit()
    err.print(f"wrote {out_file}, {source_path.name}, {target_path.name} ({summary})", markup=False)
