"""`regcat suggest`: candidate equivalents across registers, for a human to review."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from regcat.cli.common import (
    Format,
    FormatOption,
    app,
    catalogue_dir,
    err,
    handle_errors,
    out,
    print_json,
)
from regcat.cli.core import indexed_catalogue

TOP_REASONS = 3


@app.command()
@handle_errors
def suggest(
    between: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--between",
            metavar="REG_A REG_B",
            help="Only pairs from register REG_A (subjects) to REG_B (objects).",
        ),
    ] = None,
    min_score: Annotated[
        float, typer.Option("--min-score", help="Lowest score to list (0 to 1).")
    ] = 0.5,
    limit: Annotated[int, typer.Option("--limit", help="Candidates per subject, best first.")] = 5,
    format: FormatOption = Format.text,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Also write them as an SSSOM candidate set, "
            "mappings/candidates[-REG_A-REG_B].sssom.tsv (never as accepted mappings).",
        ),
    ] = False,
) -> None:
    """Suggest candidate equivalents across registers (labels, definitions, codings,
    value sets, datatypes, units, PROM instrument items), each with a score, a SKOS
    predicate and its reasons. Candidates only: a human review makes a mapping."""
    from regcat.suggest import suggest as run
    from regcat.suggest import write_candidates

    catalogue = indexed_catalogue()
    pair = tuple(between) if between else None
    stats: dict = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("scoring", total=None)
        candidates = run(
            catalogue,
            pair,
            min_score=min_score,
            limit_per_subject=limit,
            stats=stats,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    written = write_candidates(catalogue, catalogue_dir(), candidates, pair) if write else None
    if format is Format.json:
        print_json([c.to_json() for c in candidates])
    else:
        table = Table("subject", "object", "score", "predicate", "reasons")
        for column in table.columns[:4]:
            column.no_wrap = True
        table.columns[4].overflow = "fold"
        table.columns[4].min_width = 24
        for c in candidates:
            table.add_row(
                c.subject,
                c.object,
                f"{c.score:.2f}",
                c.predicate.removeprefix("skos:").removesuffix("Match"),
                "; ".join(c.reasons[:TOP_REASONS]),
            )
        if candidates:
            # piped output is not cut at 80 columns: the reasons are the point
            console = out if out.is_terminal else Console(highlight=False, width=200)
            console.print(table)
        subjects = len({c.subject for c in candidates})
        scope = f"from {pair[0]} to {pair[1]}" if pair else "across registers"
        err.print(
            f"{len(candidates)} candidate(s) for {subjects} variable(s) {scope} "
            f"(score >= {min_score:g}, at most {limit} each); "
            f"{stats.get('core_pairs_scored', 0) + stats.get('profile_pairs_scored', 0)} "
            f"pairs scored of {stats.get('all_pairs', 0)} possible, "
            f"{stats.get('seconds', 0):.2f} s",
            markup=False,
        )
    if written is not None:
        err.print(f"wrote {written} ({len(candidates)} candidate(s), not reviewed)", markup=False)
