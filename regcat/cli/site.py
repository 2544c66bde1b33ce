"""`regcat site build`: the documentation site (mkdocs-material), generated from the
index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regcat.cli.common import app, err, handle_errors, state
from regcat.errors import EXIT_FINDINGS

site_app = typer.Typer(help="The documentation site.", no_args_is_help=True)
app.add_typer(site_app, name="site")


@site_app.command("build")
@handle_errors
def site_build(
    config: Annotated[
        Path, typer.Option("--config", "-f", help="The mkdocs configuration.")
    ] = Path("mkdocs.yml"),
    site_dir: Annotated[
        Path | None,
        typer.Option(
            "--site-dir", "-d", help="Where to write the site (default: mkdocs.yml's site_dir)."
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Database to read open proposals from (default: $REGCAT_DATABASE_URL, else "
            "sqlite:///regcat-data/regcat.db when it exists).",
        ),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Fail (exit 1) on any mkdocs warning.")] = False,
) -> None:
    """Build the site: the same as `mkdocs build`, swapped in only when it succeeds.

    Brings the index up to date first. Serve it with `regcat serve --site DIR`."""
    from regcat.site.build import build_site

    report = build_site(
        config,
        site_dir=site_dir,
        catalogue=state.catalogue,
        index=state.index,
        database_url=database_url,
    )
    for message in report.warnings:
        err.print(f"warning: {message}", markup=False)
    err.print(
        f"site {report.site_dir}: {report.pages} pages, {report.seconds:.1f} s"
        + (f", {len(report.warnings)} warning(s)" if report.warnings else ""),
        markup=False,
    )
    if strict and report.warnings:
        raise typer.Exit(EXIT_FINDINGS)
