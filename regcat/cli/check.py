"""`regcat check-data`: check a register submission (CSV, Parquet, JSON Lines) against
the catalogue with one generated DuckDB query. Reports cite rows and fields, never values."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
from regcat.errors import EXIT_FINDINGS


@app.command("check-data")
@handle_errors
def check_data_command(
    register: Annotated[str, typer.Argument(help="Register id, e.g. noric.")],
    file: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON Lines file.")],
    form: Annotated[
        str | None,
        typer.Option("--form", help="Form id (default: the form the file's columns fit best)."),
    ] = None,
    format: FormatOption = Format.text,
) -> None:
    """Check a data file against a register form: types, required, codes, limits,
    characters, length, decimals, patterns, sub-question activation. Exit 1 on errors
    (warnings alone exit 0). Row numbers are 1-based data rows, the CSV header not counted."""
    from regcat.checker import check_data, detect_format
    from regcat.cli.core import indexed_catalogue

    register_id_option(register)
    detect_format(file)  # a missing or binary file is reported before the index is built
    report = check_data(indexed_catalogue(), register, file, form=form)
    if format is Format.json:
        print_json(report.to_json())
    else:
        out.print(
            f"{file}: register {report.register}, form {report.form or '-'}: "
            f"{report.rows} rows, {report.errors} error(s), {report.warnings} warning(s)",
            markup=False,
        )
        if report.by_rule:
            firsts: dict[str, list[int]] = {}
            for example in report.examples:
                firsts.setdefault(f"{example['rule']}:{example['field']}", []).append(
                    example["row"]
                )
            table = Table("rule", "field", "severity", "count", "first rows")
            for key, count in sorted(
                report.by_rule.items(), key=lambda kv: (report.severity[kv[0]], kv[0])
            ):
                rule, _, field = key.partition(":")
                if rule == "missing_column":
                    continue  # one line below, not one row per column
                rows = ", ".join(str(r) for r in firsts.get(key, []))
                table.add_row(rule, field, report.severity[key], str(count), rows)
            out.print(table)
        if report.missing_columns:
            names = report.missing_columns
            shown = ", ".join(names[:12]) + (
                f", … ({len(names) - 12} more)" if len(names) > 12 else ""
            )
            out.print(
                f"missing_column (error): {len(names)} expected column(s): {shown}", markup=False
            )
        for note in report.notes:
            err.print(f"note: {note}", markup=False)
        err.print("row numbers are 1-based data rows (a CSV header is not counted)")
    if report.errors:
        raise typer.Exit(EXIT_FINDINGS)
