"""`regcat codegen-transform` (SQL / Python from a mapping set's transformations) and
`regcat transform` (run the DuckDB SQL on an extract directory, write the target rows,
validate them with the target register's checker)."""

from __future__ import annotations

import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from regcat.cli.common import app, catalogue_dir, err, handle_errors, out
from regcat.errors import EXIT_FINDINGS, RegcatError
from regcat.io import write_text_atomic


class Target(StrEnum):
    sql = "sql"
    python = "python"


class Dialect(StrEnum):
    duckdb = "duckdb"
    postgres = "postgres"
    spark = "spark"
    trino = "trino"


def load_set(name: str):
    """The catalogue and one mapping set, by file name, stem or path."""
    from regcat.cli.core import indexed_catalogue

    root = catalogue_dir()
    cat = indexed_catalogue()
    wanted = Path(name).name
    for suffix in (".sssom.tsv", ".tsv"):
        if wanted.endswith(suffix):
            wanted = wanted[: -len(suffix)]
    for rel, mapping_set in sorted(cat.mapping_sets.items()):
        if Path(rel).name.removesuffix(".sssom.tsv") == wanted:
            return cat, rel, mapping_set
    known = ", ".join(sorted(Path(r).name.removesuffix(".sssom.tsv") for r in cat.mapping_sets))
    raise RegcatError(f"no mapping set {name!r} in {root} (known: {known or 'none'})")


def generate(name: str, target: str, dialect: str, mappings: list[str] | None = None) -> str:
    from regcat.codegen.header import catalogue_version
    from regcat.codegen.transform import compile_set, render_python, render_sql

    cat, rel, mapping_set = load_set(name)
    compiled = compile_set(cat, mapping_set, mappings or None)
    if not compiled:
        raise RegcatError(f"{rel}: no mapping in this set has a transformation")
    version = catalogue_version(cat.root)
    if target == "python":
        return render_python(compiled, rel, version)
    return render_sql(compiled, dialect, rel, version)


@app.command("codegen-transform")
@handle_errors
def codegen_transform(
    mapping_set: Annotated[str, typer.Argument(help="Mapping set name (or its .sssom.tsv).")],
    target: Annotated[Target, typer.Option(help="What to generate.")] = Target.sql,
    dialect: Annotated[Dialect, typer.Option(help="SQL dialect (transpiled by sqlglot).")] = (
        Dialect.duckdb
    ),
    mapping: Annotated[
        list[str] | None, typer.Option("--mapping", "-m", help="Only this record_id (repeat).")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")
    ] = None,
) -> None:
    """Generate transformation code (SQL or Python) from a mapping set's transformations."""
    text = generate(mapping_set, target.value, dialect.value, mapping)
    if out_file is None:
        out.file.write(text)
        return
    if out_file.is_dir():
        raise RegcatError("--out is a directory, expected a file", out_file)
    write_text_atomic(out_file, text)
    err.print(f"wrote {out_file}", markup=False)


def _relation_sql(path: Path) -> str:
    from regcat.codegen.expression import sql_string

    if path.suffix == ".parquet":
        return f"read_parquet({sql_string(str(path))})"
    return f"read_csv({sql_string(str(path))}, header = true, auto_detect = true)"


def run_transform(
    name: str, input_dir: Path, out_path: Path, mappings: list[str] | None = None
) -> tuple[object, list[tuple[object, Path]]]:
    """Run the DuckDB SQL of each selected mapping on the extracts in input_dir; write
    one file (out_path, when one mapping) or one file per mapping in out_path (a
    directory). Returns the catalogue and (compiled, written path) pairs."""
    import duckdb

    from regcat.codegen.transform import compile_set, q

    cat, rel, mapping_set = load_set(name)
    compiled = compile_set(cat, mapping_set, mappings or None)
    if not compiled:
        raise RegcatError(f"{rel}: no mapping in this set has a transformation")
    if not input_dir.is_dir():
        raise RegcatError(f"--input {input_dir}: not a directory")
    single = out_path.suffix in (".csv", ".parquet")
    if single and len(compiled) != 1:
        names = ", ".join(c.record_id for c in compiled)
        raise RegcatError(
            f"--out {out_path}: {len(compiled)} mappings ({names}) give different tables; "
            "pick one with --mapping, or give a directory for one file per mapping"
        )
    con = duckdb.connect()
    try:
        needed = sorted({r for c in compiled for r in c.inputs})
        for relation in needed:
            found = [input_dir / f"{relation}{ext}" for ext in (".parquet", ".csv")]
            found = [p for p in found if p.is_file()]
            if not found:
                raise RegcatError(
                    f"--input {input_dir}: missing {relation}.csv or {relation}.parquet "
                    f"(needed by {', '.join(c.name for c in compiled if relation in c.inputs)})"
                )
            con.execute(f"CREATE VIEW {q(relation)} AS SELECT * FROM {_relation_sql(found[0])}")
        written = []
        for c in compiled:
            path = out_path if single else out_path / f"{c.name}.parquet"
            fmt = "FORMAT CSV, HEADER" if path.suffix == ".csv" else "FORMAT PARQUET"
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
            os.close(fd)
            try:
                from regcat.codegen.expression import sql_string

                con.execute(f"COPY ({c.sql}) TO {sql_string(tmp)} ({fmt})")
                os.replace(tmp, path)
            except duckdb.Error as exc:
                Path(tmp).unlink(missing_ok=True)
                raise RegcatError(
                    f"{c.record_id}: the transformation failed on the extract: "
                    + (str(exc).strip().splitlines() or [""])[0]
                ) from None
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            written.append((c, path))
        return cat, written
    finally:
        con.close()


def validate_output(cat, compiled, path: Path):
    """Validate the written rows with the target register's checker: the mapping's
    target variable is checked against everything the catalogue says about it."""
    from regcat.checker import check_data

    target = compiled.object_id.split(":", 1)[1]
    return check_data(cat, compiled.target_register, path, form=compiled.target_form, only=[target])


@app.command("transform")
@handle_errors
def transform(
    mapping_set: Annotated[str, typer.Argument(help="Mapping set name (or its .sssom.tsv).")],
    input_dir: Annotated[
        Path,
        typer.Option(
            "--input", "-i", help="Directory with one <register>_<form>.csv|.parquet per input."
        ),
    ],
    out_path: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Output .csv/.parquet (one mapping) or a directory (one per mapping).",
        ),
    ],
    mapping: Annotated[
        list[str] | None, typer.Option("--mapping", "-m", help="Only this record_id (repeat).")
    ] = None,
    check: Annotated[
        bool, typer.Option(help="Validate the output with the target register's checker.")
    ] = True,
) -> None:
    """Run a mapping set's transformations on key-register extracts (DuckDB) and
    validate the resulting rows with the target register's checker."""
    cat, written = run_transform(mapping_set, input_dir, out_path, mapping)
    findings = False
    for compiled, path in written:
        out.print(f"{compiled.record_id}: wrote {path}", markup=False)
        if not check:
            continue
        report = validate_output(cat, compiled, path)
        data = report.to_json()
        out.print(
            f"  checked against {compiled.target_register}"
            + (f" form {compiled.target_form}" if compiled.target_form else "")
            + f": {data['rows']} rows, {data['errors']} error(s), {data['warnings']} warning(s)",
            markup=False,
        )
        for rule, count in sorted(data["by_rule"].items()):
            out.print(f"    {rule}: {count}", markup=False)
        for key in ("missing_columns", "unknown_columns", "notes"):
            if data.get(key):
                out.print(f"    {key.replace('_', ' ')}: {', '.join(map(str, data[key]))}")
        if getattr(report, "exit_code", 0):
            findings = True
    if findings:
        raise typer.Exit(EXIT_FINDINGS)
