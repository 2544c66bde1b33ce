"""SPARQL 1.1 Protocol (query only): GET ?query=, POST form-encoded, POST
application/sparql-query. Read-only, with the server's time and row limits."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from regcat.api.deps import AppState, state
from regcat.api.http import error, responses

router = APIRouter(responses=responses(400, 406, 413, 415, 500, 503))
MAX_QUERY = 100_000
RESULTS = {
    200: {
        "description": "Query results (SPARQL JSON/XML/CSV/TSV, or RDF for CONSTRUCT/DESCRIBE)",
        "content": {
            "application/sparql-results+json": {},
            "application/sparql-results+xml": {},
            "text/csv": {},
            "text/tab-separated-values": {},
            "text/turtle": {},
            "application/n-triples": {},
        },
    }
}


def service(st: AppState):
    found = st.services.get("sparql")
    if found is None:
        from regcat.sparql import SparqlService

        s = st.settings
        found = st.services["sparql"] = SparqlService(
            s.index_dir,
            timeout=s.sparql_timeout,
            max_rows=s.sparql_max_rows,
            workers=s.sparql_workers,
        )
    return found


async def _run(request: Request, st: AppState, text: str | None, limit: int | None) -> Response:
    from regcat.sparql import SparqlError

    if not text or not text.strip():
        raise error(
            400, "no query: pass query= (GET or form POST) or a application/sparql-query body"
        )
    if len(text) > MAX_QUERY:
        raise error(413, f"query longer than {MAX_QUERY} characters")
    try:
        result = await run_in_threadpool(
            service(st).query, text, accept=request.headers.get("accept"), limit=limit
        )
    except SparqlError as exc:
        raise error(exc.status, exc.message) from None
    headers = {"X-Result-Rows": str(result.rows) if result.rows is not None else ""}
    if result.truncated:
        headers["X-Result-Truncated"] = "true"
    return Response(result.content, media_type=result.media_type, headers=headers)


Limit = Annotated[
    int | None, Query(ge=1, le=1_000_000, description="Row limit (capped at the server maximum).")
]


@router.get("/sparql", summary="SPARQL query (GET)", responses=RESULTS)
async def sparql_get(
    request: Request,
    query: Annotated[str | None, Query(max_length=MAX_QUERY)] = None,
    limit: Limit = None,
    st: AppState = Depends(state),
):
    return await _run(request, st, query, limit)


@router.post(
    "/sparql", summary="SPARQL query (POST form or application/sparql-query)", responses=RESULTS
)
async def sparql_post(request: Request, limit: Limit = None, st: AppState = Depends(state)):
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(400, "the request body is not UTF-8") from None
    if media == "application/sparql-query":
        return await _run(request, st, text, limit)
    if media == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(text, max_num_fields=20)
        except ValueError:
            raise error(400, "too many form fields: send query= (and nothing much else)") from None
        if "update" in form:
            raise error(400, "updates are not allowed: this endpoint is read-only")
        queries = form.get("query", [])
        if len(queries) != 1:
            raise error(400, "pass exactly one query= field")
        return await _run(request, st, queries[0], limit)
    raise error(
        415, "send application/sparql-query or application/x-www-form-urlencoded (query=...)"
    )
