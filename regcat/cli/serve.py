"""`regcat serve` (the API and the site), `regcat users …` (tokens and roles),
`regcat proposals export` and `regcat api openapi`."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

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
    register_id_option,
)
from regcat.cli.core import run_build
from regcat.errors import EXIT_FINDINGS, RegcatError

users_app = typer.Typer(help="API users: tokens and roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")
proposals_app = typer.Typer(help="Proposals made through the API.", no_args_is_help=True)
app.add_typer(proposals_app, name="proposals")
api_app = typer.Typer(help="The API contract.", no_args_is_help=True)
app.add_typer(api_app, name="api")

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Database for users and proposals (default: $REGCAT_DATABASE_URL, else "
        "sqlite:///regcat-data/regcat.db).",
    ),
]


def _store(url: str | None):
    from regcat.store import open_store

    return open_store(url)


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=0, max=64, help="Worker processes (0, the default: one per core, at most 2)."
        ),
    ] = 0,
    site: Annotated[
        Path | None,
        typer.Option(
            help="Built site to serve at / (default: $REGCAT_SITE, else build/site when "
            "`regcat site build` made one, else a landing page)."
        ),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Serve the API under /api (docs at /api/docs) and the site at /.

    Builds the index first when the catalogue changed."""
    import uvicorn

    run_build(quiet=True)
    # One process per core: an API process is one Python thread doing the work, so on
    # 2 cores two of them roughly double what it answers (bench/README.md).
    workers = workers or min(2, os.cpu_count() or 1)
    # Settings travel by environment so every worker process reads the same ones.
    os.environ["REGCAT_INDEX"] = str(index_dir().resolve())
    os.environ["REGCAT_WARM"] = "1"
    if database_url:
        os.environ["REGCAT_DATABASE_URL"] = database_url
    if site is None and not os.environ.get("REGCAT_SITE"):
        built = Path("build") / "site"
        site = built if (built / "index.html").is_file() else None
    if site is not None:
        if not (site / "index.html").is_file():
            raise RegcatError("--site: no index.html here; build the site first", site)
        os.environ["REGCAT_SITE"] = str(site.resolve())
    _store(None).close()  # create the tables once, before the workers race to
    err.print(f"serving http://{host}:{port}/ (API docs at /api/docs)", markup=False)
    uvicorn.run(
        "regcat.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


class Role(StrEnum):
    owner = "owner"
    coordinator = "coordinator"
    admin = "admin"


@users_app.command("add")
@handle_errors
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ -).")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    register: Annotated[
        str | None,
        typer.Option(
            help="The register an owner proposes for.",
            callback=lambda v: v and register_id_option(v),
        ),
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Add a user and print their token (shown once; only a hash is kept)."""
    from regcat.store.users import add_user

    store = _store(database_url)
    try:
        token = add_user(store, name, role.value, register)
    finally:
        store.close()
    err.print(
        f"user {name} ({role.value}{' of ' + register if register else ''}); token:", markup=False
    )
    out.print(token, markup=False)


@users_app.command("list")
@handle_errors
def users_list(database_url: DatabaseOption = None, format: FormatOption = Format.text) -> None:
    """List users (never their tokens)."""
    from regcat.store.users import list_users, user_json

    store = _store(database_url)
    try:
        users = list_users(store)
    finally:
        store.close()
    rows = [user_json(u) for u in users]
    if format is Format.json:
        print_json(rows)
        return
    for r in rows:
        state = f"revoked {r['revoked']}" if r["revoked"] else "active"
        reg = f" of {r['register_id']}" if r["register_id"] else ""
        out.print(f"{r['name']}\t{r['role']}{reg}\t{state}", markup=False)


@users_app.command("revoke")
@handle_errors
def users_revoke(
    name: Annotated[str, typer.Argument(help="User name.")], database_url: DatabaseOption = None
) -> None:
    """Revoke a user's token at once."""
    from regcat.store.users import revoke_user

    store = _store(database_url)
    try:
        if not revoke_user(store, name):
            raise RegcatError(f"no active user {name!r}")
    finally:
        store.close()
    err.print(f"revoked {name}", markup=False)


@proposals_app.command("export")
@handle_errors
def proposals_export(
    database_url: DatabaseOption = None,
    dry_run: Annotated[bool, typer.Option(help="Show what would be written.")] = False,
    format: FormatOption = Format.text,
) -> None:
    """Write accepted proposals and reviewed candidate mappings into catalogue files.

    The result is an ordinary diff to review in git; the files are validated first and
    nothing is written when they would not validate."""
    from regcat.proposals import export_proposals

    run_build(quiet=True)
    store = _store(database_url)
    try:
        report = export_proposals(store, catalogue_dir(), dry_run=dry_run)
    finally:
        store.close()
    if format is Format.json:
        print_json(report.to_json())
    else:
        out.print(report.summary(), markup=False)
    if report.findings:
        raise typer.Exit(EXIT_FINDINGS)


@api_app.command("openapi")
@handle_errors
def api_openapi(
    path: Annotated[Path, typer.Option("--out", help="Where the contract lives.")] = Path(
        "api/openapi.json"
    ),
    check: Annotated[bool, typer.Option(help="Exit 1 if the file differs from the app.")] = False,
) -> None:
    """Write the OpenAPI document of the app (api/openapi.json)."""
    from regcat.api.app import openapi_text
    from regcat.io import write_text_atomic

    text = openapi_text()
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if check:
        if current != text:
            err.print(f"{path} is out of date: run `regcat api openapi`", markup=False)
            raise typer.Exit(EXIT_FINDINGS)
        return
    if current != text:
        write_text_atomic(path, text)
    err.print(f"wrote {path}" if current != text else f"{path} is up to date", markup=False)
