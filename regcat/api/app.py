"""Assembling the app: routers, error handlers, guards, the site at /."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from regcat import __version__
from regcat.api.deps import AppState
from regcat.api.guards import Guards
from regcat.api.reader import IndexReader
from regcat.api.routes import catalogue, ehr, mappings, proposals, search, sparql, users
from regcat.api.settings import Settings
from regcat.errors import RegcatError
from regcat.store import StoreError, open_store

log = logging.getLogger("regcat.api")

DESCRIPTION = """\
The regcat catalogue of Norwegian health-register variables: registers, forms,
variables, value sets, codings and the mappings between registers; search with facets;
SPARQL; and the proposal and review workflow.

Reading needs no token. Writing needs `Authorization: Bearer <token>` (tokens come
from `regcat users add`): owners propose for their own register, coordinators review,
admins manage users. Every change to a proposal or candidate mapping must send the
ETag it read as `If-Match`; a stale one gets 412.
"""

LANDING = """<!doctype html>
<html lang="nb"><head><meta charset="utf-8"><title>regcat</title></head>
<body><h1>regcat</h1>
<p>Katalog over variabler i norske helseregistre / catalogue of Norwegian health-register
variables.</p>
<ul><li><a href="/api/docs">API documentation</a></li>
<li><a href="/api/">API index</a></li>
<li><a href="/api/search?q=hjerteinfarkt">Search: hjerteinfarkt</a></li></ul>
<p>The documentation site appears here once it is built: <code>regcat site build</code>
(or <code>make run</code>), then <code>regcat serve --site build/site</code>.</p></body></html>
"""


def _errors(app: FastAPI) -> None:
    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError):
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(RegcatError)
    async def regcat_error(_: Request, exc: RegcatError):
        return JSONResponse({"detail": exc.render()}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError):
        # FastAPI's own shape, minus the echoed input: a hostile body is not sent back.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception):
        log.exception("unexpected error")
        return JSONResponse(
            {"detail": f"internal error ({type(exc).__name__}); it has been logged"},
            status_code=500,
        )


def _warm(st: AppState) -> None:
    from regcat.api.routes.proposals import reuse_checker
    from regcat.api.routes.sparql import service

    try:
        from regcat.search import warm

        warm(st.reader.db())
        service(st)
        reuse_checker(st)
    except Exception:  # the first proposal will report it
        log.exception("preparing the reuse check failed")


def create_app(settings: Settings | None = None, *, contract_only: bool = False) -> FastAPI:
    """The app. `contract_only`: no index and no database are opened (to write the
    OpenAPI document)."""
    settings = settings or Settings()
    reader = IndexReader(settings.index_dir, check=not contract_only)
    store = open_store("sqlite://" if contract_only else settings.database_url)
    regcat_state = AppState(settings, reader, store)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if settings.warm and not contract_only:
            threading.Thread(target=_warm, args=(regcat_state,), daemon=True).start()
        yield
        for service in regcat_state.services.values():
            service.close()
        store.close()

    app = FastAPI(
        title="regcat",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.regcat = regcat_state
    _errors(app)
    for module in (catalogue, search, mappings, proposals, users, sparql, ehr):
        app.include_router(module.router, prefix="/api")
    _site(app, None if contract_only else settings.site_dir)
    app.add_middleware(Guards, max_body=settings.max_body_bytes, max_depth=settings.max_json_depth)
    return app


def _site(app: FastAPI, site_dir: Path | None) -> None:
    if site_dir is not None and (site_dir / "index.html").is_file():
        from fastapi.staticfiles import StaticFiles

        app.mount("/", StaticFiles(directory=site_dir, html=True), name="site")
        return

    @app.get("/", include_in_schema=False)
    def landing():
        return HTMLResponse(LANDING)


def openapi_text() -> str:
    """The published contract (api/openapi.json), byte for byte."""
    import json

    schema = create_app(Settings(), contract_only=True).openapi()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
