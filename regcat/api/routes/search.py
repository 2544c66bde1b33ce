"""Search (full text, codes, facets) and the overlap reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from regcat.api.deps import AppState, state
from regcat.api.http import dumps, error, invalid, responses
from regcat.api.routes.catalogue import read
from regcat.api.schemas import SearchResponse
from regcat.errors import RegcatError

router = APIRouter(responses=responses(304, 400, 404))
Facet = Annotated[list[str] | None, Query(max_length=200)]


@router.get("/search", response_model=SearchResponse, summary="Search variables, with facets")
async def search(
    request: Request,
    q: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Words (prefix, accent-insensitive, typo-tolerant) or codes "
            "such as I21, SCTID:22298006 or NFQ.",
        ),
    ] = None,
    register: Facet = None,
    topic: Facet = None,
    code_system: Facet = None,
    status: Facet = None,
    datatype: Facet = None,
    collection_mode: Facet = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    st: AppState = Depends(state),
):
    from regcat.search import search as run

    filters = {
        name: values
        for name, values in (
            ("register", register),
            ("topic", topic),
            ("code_system", code_system),
            ("status", status),
            ("datatype", datatype),
            ("collection_mode", collection_mode),
        )
        if values
    }
    try:
        found = run(st.reader.db(), q, filters, limit=limit, offset=offset)
    except RegcatError as exc:
        raise invalid([exc.message], ["query"]) from None
    body = {
        "query": found.query,
        "corrected": found.corrected,
        "total": found.total,
        "limit": limit,
        "offset": offset,
        "hits": found.hits,
        "facets": found.facets,
    }
    return read(request, st, dumps(body))


@router.get("/overlap/{report}", summary="An overlap report: concepts, reuse or prom")
def overlap(request: Request, report: str, st: AppState = Depends(state)):
    from regcat.overlap import REPORTS, overlap_report

    if report not in REPORTS:
        raise error(404, f"no report {report!r}; there are: {', '.join(REPORTS)}")

    def make() -> bytes:
        return dumps(overlap_report(st.reader.catalogue(), [report])[report])

    return read(request, st, st.reader.derived(f"overlap:{report}", make))
