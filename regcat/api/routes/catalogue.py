"""Read routes for catalogue entities: registers, forms, variables, value sets, code
systems, instruments and code look-ups. Entity bodies come straight from the index
(stored as the model's JSON), so a read costs one indexed SELECT.

Such reads are `async def`: a query of well under a millisecond is cheaper on the event
loop than a hop through the thread pool, which under 50 clients costs more in GIL
hand-offs than the query itself. What can take long (a report computed once per index,
the first code-table load) stays `def`, in the pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from regcat import __version__
from regcat.api.deps import AppState, state
from regcat.api.http import JSON, JSONLD, TURTLE, cached, dumps, error, negotiate, responses
from regcat.api.schemas import (
    ApiIndex,
    CodeLookup,
    CodeSystemList,
    InstrumentList,
    RegisterPage,
    ValueSetPage,
    VariablePage,
)
from regcat.generated.model import CodeSystem, Form, Register, ValueSet, Variable

router = APIRouter(responses=responses(304, 400, 404, 406))

Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
Ident = Annotated[str, Path(max_length=300, pattern=r"^[^\x00-\x1f]+$")]
Filter = Annotated[str | None, Query(max_length=200)]
Fmt = Annotated[
    str | None,
    Query(alias="format", max_length=10, description="json, jsonld or ttl (overrides Accept)."),
]
ENTITY_TYPES = (JSON, JSONLD, TURTLE)
RDF_FORMATS = {JSONLD: "jsonld", TURTLE: "turtle"}


def json_list(rows) -> bytes:
    # The stored JSON is already the model's JSON: splice it, do not parse and re-dump.
    return b"[" + b",".join(r[0].encode() for r in rows) + b"]"


def page_body(total: int, limit: int, offset: int, rows) -> bytes:
    head = dumps({"total": total, "limit": limit, "offset": offset})[:-1]
    return head + b',"items":' + json_list(rows) + b"}"


def read(request: Request, st: AppState, body: bytes, media_type: str = JSON) -> Response:
    return cached(request, body, media_type, st.reader.generation, st.reader.built)


def _systems(st: AppState) -> dict[str, CodeSystem]:
    def load():
        rows = st.reader.db().execute("SELECT data FROM code_systems")
        return {cs.id: cs for cs in (CodeSystem.model_validate_json(r[0]) for r in rows)}

    return st.reader.derived("code_systems", load)


def entity(request: Request, st: AppState, data: str, fmt: str | None, triples) -> Response:
    """One entity in the representation the client asked for."""
    media = negotiate(request, ENTITY_TYPES, fmt)
    if media == JSON:
        return read(request, st, data.encode(), JSON)
    from regcat.rdf import serialize

    return read(request, st, serialize(triples(), RDF_FORMATS[media]), media)


@router.get("/", response_model=ApiIndex, summary="What this API serves")
def api_index(request: Request, st: AppState = Depends(state)):
    from regcat.stats import index_stats

    totals = st.reader.derived("stats", lambda: index_stats(st.reader.index_dir))["totals"]
    links = {
        "registers": "/api/registers",
        "variables": "/api/variables",
        "search": "/api/search?q=hjerteinfarkt",
        "value_sets": "/api/value-sets",
        "code_systems": "/api/code-systems",
        "mapping_sets": "/api/mapping-sets",
        "overlap": "/api/overlap/reuse",
        "coverage": "/api/coverage",
        "proposals": "/api/proposals",
        "sparql": "/api/sparql",
        "docs": "/api/docs",
        "openapi": "/api/openapi.json",
    }
    body = {
        "name": "regcat",
        "version": __version__,
        "generation": st.reader.generation,
        "built": st.reader.built,
        "totals": totals,
        "links": links,
    }
    return read(request, st, dumps(body))


@router.get("/stats", summary="Counts per register")
def stats(request: Request, st: AppState = Depends(state)):
    from regcat.stats import index_stats

    data = st.reader.derived("stats", lambda: index_stats(st.reader.index_dir))
    return read(request, st, dumps(data))


# -- registers and forms ------------------------------------------------------------


@router.get("/registers", response_model=RegisterPage, summary="Registers")
async def registers(
    request: Request,
    limit: Limit = 100,
    offset: Offset = 0,
    key_register: Annotated[bool | None, Query(description="Only key registers, or none.")] = None,
    st: AppState = Depends(state),
):
    db = st.reader.db()
    where, args = (
        ("WHERE key_register = ?", [int(key_register)]) if key_register is not None else ("", [])
    )
    total = db.execute(f"SELECT count(*) FROM registers {where}", args).fetchone()[0]
    rows = db.execute(
        f"SELECT data FROM registers {where} ORDER BY id LIMIT ? OFFSET ?", [*args, limit, offset]
    ).fetchall()
    return read(request, st, page_body(total, limit, offset, rows))


def _register_row(st: AppState, register_id: str):
    row = (
        st.reader.db().execute("SELECT data FROM registers WHERE id = ?", (register_id,)).fetchone()
    )
    if row is None:
        raise error(404, f"no register {register_id!r}")
    return row


@router.get(
    "/registers/{register_id}",
    response_model=Register,
    summary="One register (JSON, JSON-LD or Turtle)",
    responses={200: {"content": {JSONLD: {}, TURTLE: {}}}},
)
async def register(
    request: Request, register_id: Ident, fmt: Fmt = None, st: AppState = Depends(state)
):
    data = _register_row(st, register_id)[0]

    def triples():
        from regcat.rdf import register_triples

        return list(register_triples(Register.model_validate_json(data), _systems(st)))

    return entity(request, st, data, fmt, triples)


@router.get(
    "/registers/{register_id}/forms", response_model=list[Form], summary="A register's forms"
)
async def forms(request: Request, register_id: Ident, st: AppState = Depends(state)):
    _register_row(st, register_id)
    rows = (
        st.reader.db()
        .execute("SELECT data FROM forms WHERE register_id = ? ORDER BY rowid", (register_id,))
        .fetchall()
    )
    return read(request, st, json_list(rows))


@router.get("/registers/{register_id}/forms/{form_id}", response_model=Form, summary="One form")
async def form(request: Request, register_id: Ident, form_id: Ident, st: AppState = Depends(state)):
    row = (
        st.reader.db()
        .execute("SELECT data FROM forms WHERE register_id = ? AND id = ?", (register_id, form_id))
        .fetchone()
    )
    if row is None:
        raise error(404, f"no form {form_id!r} in register {register_id!r}")
    return read(request, st, row[0].encode())


# -- variables ------------------------------------------------------------------------

VARIABLE_FILTERS = ("register_id", "form", "status", "topic", "datatype", "collection_mode")


@router.get("/variables", response_model=VariablePage, summary="Variables, filtered and paged")
async def variables(
    request: Request,
    register: Filter = None,
    form: Filter = None,
    status: Filter = None,
    topic: Filter = None,
    datatype: Filter = None,
    collection_mode: Filter = None,
    limit: Limit = 50,
    offset: Offset = 0,
    st: AppState = Depends(state),
):
    values = (register, form, status, topic, datatype, collection_mode)
    clauses = [(f"{col} = ?", v) for col, v in zip(VARIABLE_FILTERS, values, strict=True) if v]
    where = ("WHERE " + " AND ".join(c for c, _ in clauses)) if clauses else ""
    args = [v for _, v in clauses]
    db = st.reader.db()
    total = db.execute(f"SELECT count(*) FROM variables {where}", args).fetchone()[0]
    rows = db.execute(
        f"SELECT data FROM variables {where} ORDER BY rowid LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    return read(request, st, page_body(total, limit, offset, rows))


@router.get(
    "/variables/{variable_id}",
    response_model=Variable,
    summary="One variable (JSON, JSON-LD or Turtle)",
    responses={200: {"content": {JSONLD: {}, TURTLE: {}}}},
)
async def variable(
    request: Request, variable_id: Ident, fmt: Fmt = None, st: AppState = Depends(state)
):
    row = (
        st.reader.db().execute("SELECT data FROM variables WHERE id = ?", (variable_id,)).fetchone()
    )
    if row is None:
        raise error(404, f"no variable {variable_id!r}")

    def triples():
        from regcat.rdf import variable_triples

        return variable_triples(Variable.model_validate_json(row[0]), _systems(st))

    return entity(request, st, row[0], fmt, triples)


# -- value sets, code systems, instruments ---------------------------------------------


@router.get("/value-sets", response_model=ValueSetPage, summary="Value sets")
async def value_sets(
    request: Request, limit: Limit = 50, offset: Offset = 0, st: AppState = Depends(state)
):
    db = st.reader.db()
    total = db.execute("SELECT count(*) FROM value_sets").fetchone()[0]
    rows = db.execute(
        "SELECT data FROM value_sets ORDER BY id LIMIT ? OFFSET ?", (limit, offset)
    ).fetchall()
    return read(request, st, page_body(total, limit, offset, rows))


@router.get(
    "/value-sets/{value_set_id}",
    response_model=ValueSet,
    summary="One value set (JSON, JSON-LD or Turtle)",
    responses={200: {"content": {JSONLD: {}, TURTLE: {}}}},
)
async def value_set(
    request: Request, value_set_id: Ident, fmt: Fmt = None, st: AppState = Depends(state)
):
    row = (
        st.reader.db()
        .execute("SELECT data FROM value_sets WHERE id = ?", (value_set_id,))
        .fetchone()
    )
    if row is None:
        raise error(404, f"no value set {value_set_id!r}")

    def triples():
        from regcat.rdf import file_triples

        return file_triples(ValueSet.model_validate_json(row[0]), _systems(st))

    return entity(request, st, row[0], fmt, triples)


@router.get("/code-systems", response_model=CodeSystemList, summary="Code systems")
async def code_systems(request: Request, st: AppState = Depends(state)):
    rows = st.reader.db().execute("SELECT data FROM code_systems ORDER BY id").fetchall()
    return read(request, st, b'{"items":' + json_list(rows) + b"}")


@router.get("/instruments", response_model=InstrumentList, summary="PROM/PREM instruments")
async def instruments(request: Request, st: AppState = Depends(state)):
    rows = st.reader.db().execute("SELECT data FROM instruments ORDER BY id").fetchall()
    return read(request, st, b'{"items":' + json_list(rows) + b"}")


@router.get(
    "/codes/{system}/{code}",
    response_model=CodeLookup,
    summary="Look up a code: is it valid, which variables and value sets use it",
)
def code(
    request: Request,
    system: Annotated[str, Path(max_length=40, pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")],
    code: Annotated[str, Path(max_length=100, pattern=r"^[^\x00-\x1f]+$")],
    st: AppState = Depends(state),
):
    from regcat import codes

    db = st.reader.db()
    known = system in _systems(st)
    problem = codes.check(system, code) if known else f"unknown code system {system!r}"
    try:
        parents = codes.parent_codes(system, code) if known and problem is None else []
    except Exception:  # a system with no hierarchy
        parents = []
    uses = db.execute(
        "SELECT variable_id, system, code FROM codings WHERE system = ? AND code = ? "
        "ORDER BY variable_id LIMIT 500",
        (system, code),
    ).fetchall()
    meaning = f"{system}:{code}"
    in_sets = db.execute(
        "SELECT value_set, code, label_nb, label_en FROM codes WHERE meaning = ? "
        "ORDER BY value_set LIMIT 500",
        (meaning,),
    ).fetchall()
    body = {
        "system": system,
        "code": code,
        "known_system": known,
        "valid": (problem is None) if known else None,
        "problem": problem,
        "parents": list(parents),
        "variables": [{"variable": r[0], "system": r[1], "code": r[2]} for r in uses],
        "value_set_codes": [
            {"value_set": r[0], "code": r[1], "label": {"nb": r[2], "en": r[3]}} for r in in_sets
        ],
    }
    return read(request, st, dumps(body))
