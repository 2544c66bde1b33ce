"""Mapping sets (JSON, SSSOM TSV, Turtle, JSON-LD), mappings by end, and the review of
candidate mappings that `regcat suggest --write` put in the catalogue."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from regcat.api.deps import AppState, signed_in, state
from regcat.api.http import (
    JSON,
    JSONLD,
    SSSOM,
    TURTLE,
    dumps,
    error,
    if_match_version,
    negotiate,
    responses,
)
from regcat.api.routes.catalogue import Ident, Limit, Offset, _systems, json_list, page_body, read
from regcat.api.schemas import (
    CandidateOut,
    CandidatePage,
    MappingPage,
    MappingReviewIn,
    MappingSetList,
    VariableMappings,
)
from regcat.generated.model import Mapping, MappingSet
from regcat.store import mappings as decisions
from regcat.store.proposals import event_json
from regcat.store.users import Principal

router = APIRouter(responses=responses(304, 400, 401, 403, 404, 406, 409, 412, 413, 428))
SET_TYPES = (JSON, SSSOM, TURTLE, JSONLD)


def _set_name(file: str) -> str:
    return file.rsplit("/", 1)[-1].removesuffix(".sssom.tsv")


def _sets(st: AppState) -> dict[str, tuple[str, str]]:
    """name → (file, mapping set JSON without its mappings)."""
    rows = st.reader.db().execute("SELECT file, data FROM mapping_sets ORDER BY file")
    return {_set_name(r[0]): (r[0], r[1]) for r in rows}


@router.get("/mapping-sets", response_model=MappingSetList, summary="Mapping sets")
def mapping_sets(request: Request, st: AppState = Depends(state)):
    db = st.reader.db()
    counts = dict(db.execute("SELECT file, count(*) FROM mappings GROUP BY file").fetchall())
    items = []
    for name, (file, data) in _sets(st).items():
        meta = json.loads(data)
        items.append(
            {
                "name": name,
                "mapping_set_id": meta.get("mapping_set_id"),
                "title": meta.get("mapping_set_title"),
                "mappings": counts.get(file, 0),
            }
        )
    return read(request, st, dumps({"items": items}))


@router.get(
    "/mapping-sets/{name}",
    response_model=MappingSet,
    summary="One mapping set (JSON, SSSOM TSV, Turtle or JSON-LD)",
    responses={200: {"content": {SSSOM: {}, TURTLE: {}, JSONLD: {}}}},
)
def mapping_set(
    request: Request,
    name: Ident,
    fmt: Annotated[
        str | None,
        Query(alias="format", max_length=10, description="json, sssom, ttl or jsonld."),
    ] = None,
    st: AppState = Depends(state),
):
    found = _sets(st).get(name)
    if found is None:
        raise error(404, f"no mapping set {name!r}; see /api/mapping-sets")
    file, data = found
    media = negotiate(request, SET_TYPES, fmt)
    if media == SSSOM:
        from regcat.sssom import export_sssom

        def export() -> bytes:
            root = st.reader.catalogue_root()
            return export_sssom(root, name)[0][1].encode()

        body = st.reader.derived(f"sssom:{name}", export)
        return read(request, st, body, SSSOM + "; charset=utf-8")
    rows = (
        st.reader.db()
        .execute("SELECT data FROM mappings WHERE file = ? ORDER BY rowid", (file,))
        .fetchall()
    )
    if media == JSON:
        items = json_list(rows)
        head = data.encode()[:-1]
        body = head + (b"," if head.strip() != b"{" else b"") + b'"mappings":' + items + b"}"
        return read(request, st, body)
    from regcat.rdf import file_triples, serialize

    ms = MappingSet.model_validate_json(data)
    ms.mappings = [Mapping.model_validate_json(r[0]) for r in rows]
    lines = file_triples(ms, _systems(st))
    return read(request, st, serialize(lines, "jsonld" if media == JSONLD else "turtle"), media)


@router.get(
    "/mappings", response_model=MappingPage, summary="Mappings by subject, object or status"
)
async def mappings(
    request: Request,
    subject: Annotated[str | None, Query(max_length=300)] = None,
    object: Annotated[str | None, Query(max_length=300)] = None,
    status: Annotated[str | None, Query(max_length=20, description="candidate or approved")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    st: AppState = Depends(state),
):
    clauses, args = [], []
    if subject:
        clauses.append("subject_id = ?")
        args.append(subject)
    if object:
        clauses.append("object_id = ?")
        args.append(object)
    if status:
        clauses.append("json_extract(data, '$.status') = ?")
        args.append(status)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    db = st.reader.db()
    total = db.execute(f"SELECT count(*) FROM mappings {where}", args).fetchone()[0]
    rows = db.execute(
        f"SELECT data FROM mappings {where} ORDER BY rowid LIMIT ? OFFSET ?", [*args, limit, offset]
    ).fetchall()
    return read(request, st, page_body(total, limit, offset, rows))


@router.get(
    "/variables/{variable_id}/mappings",
    response_model=VariableMappings,
    summary="Mappings from and to one variable",
)
async def variable_mappings(request: Request, variable_id: Ident, st: AppState = Depends(state)):
    db = st.reader.db()
    if db.execute("SELECT 1 FROM variables WHERE id = ?", (variable_id,)).fetchone() is None:
        raise error(404, f"no variable {variable_id!r}")
    out = db.execute(
        "SELECT data FROM mappings WHERE subject_id = ? ORDER BY rowid", (variable_id,)
    )
    inc = db.execute("SELECT data FROM mappings WHERE object_id = ? ORDER BY rowid", (variable_id,))
    body = (
        dumps({"variable": variable_id})[:-1]
        + b',"outgoing":'
        + json_list(out.fetchall())
        + b',"incoming":'
        + json_list(inc.fetchall())
        + b"}"
    )
    return read(request, st, body)


# -- candidate review -----------------------------------------------------------------


def _candidates(st: AppState) -> list[dict]:
    """Every candidate mapping in the index, with its stable key."""

    def load():
        rows = st.reader.db().execute(
            "SELECT file, subject_id, predicate_id, object_id, confidence, data FROM mappings "
            "WHERE json_extract(data, '$.status') = 'candidate' ORDER BY rowid"
        )
        out = []
        for file, subject, predicate, obj, confidence, data in rows:
            out.append(
                {
                    "key": decisions.candidate_key(file, subject, predicate, obj),
                    "file": file,
                    "subject_id": subject,
                    "predicate_id": predicate,
                    "object_id": obj,
                    "confidence": confidence,
                    "comment": json.loads(data).get("comment"),
                }
            )
        return out

    return st.reader.derived("candidates", load)


def _with_decision(candidate: dict, decision) -> dict:
    return {
        **candidate,
        "status": decision.status if decision else "candidate",
        "version": decision.version if decision else 0,
        "reviewer": decision.reviewer if decision else None,
        "review_comment": decision.comment if decision else None,
    }


@router.get(
    "/mapping-candidates", response_model=CandidatePage, summary="Candidate mappings to review"
)
def candidates(
    request: Request,
    status: Annotated[
        str | None, Query(max_length=20, description="candidate, approved or rejected")
    ] = None,
    subject: Annotated[str | None, Query(max_length=300)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    st: AppState = Depends(state),
):
    found = _candidates(st)
    if subject:
        found = [c for c in found if c["subject_id"] == subject]
    made = decisions.decisions(st.store)
    rows = [_with_decision(c, made.get(c["key"])) for c in found]
    if status:
        rows = [r for r in rows if r["status"] == status]
    page = rows[offset : offset + limit]
    return JSONResponse({"total": len(rows), "limit": limit, "offset": offset, "items": page})


def _candidate(st: AppState, key: str) -> dict:
    for c in _candidates(st):
        if c["key"] == key:
            return c
    raise error(404, f"no candidate mapping {key!r}")


@router.get(
    "/mapping-candidates/{key}", response_model=CandidateOut, summary="One candidate mapping"
)
def candidate(request: Request, key: Ident, st: AppState = Depends(state)):
    c = _candidate(st, key)
    d = decisions.decisions(st.store, [key]).get(key)
    body = _with_decision(c, d)
    body["history"] = [event_json(e) for e in decisions.history(st.store, key)]
    return JSONResponse(body, headers={"ETag": decisions.etag(key, body["version"])})


@router.post(
    "/mapping-candidates/{key}/reviews",
    response_model=CandidateOut,
    summary="Approve, reject or comment on a candidate mapping (coordinators; If-Match)",
)
def review_candidate(
    request: Request,
    key: Ident,
    review: MappingReviewIn,
    who: Principal = Depends(signed_in),
    st: AppState = Depends(state),
):
    c = _candidate(st, key)
    decisions.may_review(who)  # 403 before 428
    version = if_match_version(request, "mapping", key)
    d = decisions.act(st.store, who, c, review.action, version, review.comment)
    body = _with_decision(c, d)
    body["history"] = [event_json(e) for e in decisions.history(st.store, key)]
    return JSONResponse(body, headers={"ETag": decisions.etag(key, d.version)})
