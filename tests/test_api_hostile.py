"""Hostile requests: oversized bodies, deep JSON, invalid UTF-8, SQL/FTS/SPARQL
injection attempts in search and filter parameters, junk in Authorization and
If-Match, ids out of any integer range, SPARQL updates. Each gets a clear 4xx (or a
2xx with nothing matched), never a 5xx, and nothing in the catalogue or the store
changes.

Catalogue reads and SPARQL run on SQLite only (the store is not involved); everything
that reaches the store runs on SQLite and, with REGCAT_TEST_POSTGRES, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.api_fixtures import (
    BACKENDS,
    POSTGRES,
    Api,
    _postgres_database,
    bundled_index,  # noqa: F401
    make_api,
)

MAX_BODY = 1_000_000  # Settings.max_body_bytes by default
MAX_DEPTH = 32  # Settings.max_json_depth by default
SPARQL_MAX_ROWS = 100  # the server's row limit in these tests

VARIABLE = {
    "id": "noric:ASA_UTSKRIVNING_NY",
    "form": "utskrivelse",
    "label": {"nb": "Acetylsalisylsyre ved utskrivning", "en": "Aspirin at discharge"},
    "datatype": "boolean",
    "codings": [{"system": "ATC", "code": "B01AC06"}],
    "status": "proposed",
}
PROPOSED = {"variable": VARIABLE, "rationale": "Needed for the 30-day indicator."}


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


needs_search = pytest.mark.skipif(
    not _importable("regcat.search"), reason="regcat.search is not importable yet"
)


# -- fixtures -------------------------------------------------------------------------


def _client(made: Api) -> Api:
    """A 500 comes back as a response (to assert on), not as the app's exception."""
    made.client = TestClient(made.client.app, raise_server_exceptions=False)
    return made


@pytest.fixture(scope="module")
def reader(bundled_index, tmp_path_factory):  # noqa: F811
    """Catalogue reads and SPARQL: one app on SQLite for the whole module."""
    db = tmp_path_factory.mktemp("hostile-read") / "regcat.db"
    made = _client(make_api(bundled_index, f"sqlite:///{db}", sparql_max_rows=SPARQL_MAX_ROWS))
    with made.client:
        yield made
    made.store.close()


@pytest.fixture(scope="module", params=BACKENDS)
def store_api(request, bundled_index, tmp_path_factory):  # noqa: F811
    """Requests that reach the store, on each backend; one app per backend for the
    module (tests compare the store before and after, so they can share it). On
    PostgreSQL a database of its own, apart from the one `database_url` empties."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('hostile-store') / 'regcat.db'}"
    else:
        if not POSTGRES:
            if os.environ.get("CI"):
                pytest.fail("CI must set REGCAT_TEST_POSTGRES (see .ci/run)")
            pytest.skip("no PostgreSQL server: set REGCAT_TEST_POSTGRES (.ci/run does)")
        from sqlmodel import SQLModel

        from regcat.store import open_store

        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        url = _postgres_database(f"{worker}_hostile")
        store = open_store(url)
        SQLModel.metadata.drop_all(store.engine)
        store.close()
    made = _client(make_api(bundled_index, url))
    with made.client:
        made.backend = request.param
        created = made.client.post("/api/proposals", json=PROPOSED, headers=made.auth("admin"))
        assert created.status_code == 201, created.text
        yield made
    made.store.close()


@pytest.fixture
def proposal(store_api) -> tuple[int, str]:
    """A fresh proposal (id, ETag) for a test that sends versioned writes."""
    r = store_api.client.post(
        "/api/proposals", json=PROPOSED, headers=store_api.auth("owner_noric")
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["etag"]


# -- what every answer must be -------------------------------------------------------------


def snapshot(api: Api) -> tuple:
    """Everything a hostile request must leave alone: the catalogue's totals, every
    proposal with its version, every candidate decision, every user."""
    c = api.client
    stats = c.get("/api/stats")
    proposals = c.get("/api/proposals", params={"limit": 500})
    candidates = c.get("/api/mapping-candidates", params={"limit": 500})
    users = c.get("/api/users", headers=api.auth("admin"))
    for r in (stats, proposals, candidates, users):
        assert r.status_code == 200, r.text
    return (
        stats.json(),
        proposals.json()["total"],
        [(p["id"], p["version"], p["status"], p["rationale"]) for p in proposals.json()["items"]],
        [(m["key"], m["version"], m["status"]) for m in candidates.json()["items"]],
        users.json()["items"],
    )


def _detail(r) -> str:
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    body = r.json()
    assert "detail" in body and body["detail"], body
    return json.dumps(body["detail"], ensure_ascii=False)


def clean_4xx(r, *statuses: int, needle: str | None = None) -> str:
    """A 4xx (one of `statuses` when given) with a JSON `detail` naming the problem."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    if statuses:
        assert r.status_code in statuses, (r.status_code, r.text[:500])
    detail = _detail(r)
    if needle is not None:
        assert needle.lower() in detail.lower(), detail
    assert "Traceback" not in r.text
    return detail


def no_server_error(r) -> None:
    assert r.status_code < 500, (r.status_code, r.text[:500])
    assert "Traceback" not in r.text
    if r.status_code >= 400:
        _detail(r)


def raw(
    app, method: str, path: str, query: bytes = b"", headers=(), body: bytes = b""
) -> tuple[int, bytes]:
    """Call the ASGI app with bytes exactly as given (a test client would re-encode
    header values and percent-escapes)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    started: dict = {}
    chunks: list[bytes] = []
    delivered = False

    async def receive():
        nonlocal delivered
        if delivered:  # a client that sent everything waits, then goes
            await asyncio.sleep(30)
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        asyncio.run(app(scope, receive, send))
    except Exception:  # the app's own error middleware sent a 500 first, then re-raised
        if "status" not in started:
            raise
    return started["status"], b"".join(chunks)


# -- oversized bodies ----------------------------------------------------------------------


def _big_json(size: int) -> bytes:
    """A proposal body of exactly `size` bytes, padded in the rationale."""
    head, tail = b'{"variable": {}, "rationale": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/proposals", "application/json"),
        ("/api/proposals/reuse-check", "application/json"),
        ("/api/users", "application/json"),
        ("/api/sparql", "application/sparql-query"),
        ("/api/sparql", "application/x-www-form-urlencoded"),
    ],
)
@pytest.mark.parametrize("how", ["honest", "lying_small_length", "lying_big_length", "chunked"])
def test_oversized_bodies_are_413(store_api, path, content_type, how):
    before = snapshot(store_api)
    body = _big_json(2 * MAX_BODY)
    headers = {**store_api.auth("admin"), "Content-Type": content_type}
    if how == "lying_small_length":
        headers["Content-Length"] = "10"
    elif how == "lying_big_length":
        body = _big_json(1000)
        headers["Content-Length"] = str(50 * MAX_BODY)
    if how == "chunked":
        content = (body[i : i + 65536] for i in range(0, len(body), 65536))
        r = store_api.client.post(path, content=content, headers=headers)
    else:
        r = store_api.client.post(path, content=body, headers=headers)
    clean_4xx(r, 413, needle=f"over {MAX_BODY} bytes")
    assert snapshot(store_api) == before


def test_a_body_at_the_limit_is_read(store_api):
    before = snapshot(store_api)
    r = store_api.client.post(
        "/api/proposals",
        content=_big_json(MAX_BODY),
        headers={**store_api.auth("admin"), "Content-Type": "application/json"},
    )
    clean_4xx(r, 422)  # read and refused for what it says, not for its size
    assert snapshot(store_api) == before


@pytest.mark.parametrize("length", ["abc", "1e6", "", "\xb2"])
def test_a_content_length_that_is_no_number_is_400(reader, length):
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", length.encode("latin-1")),
    ]
    status, body = raw(reader.client.app, "POST", "/api/proposals/reuse-check", headers=headers)
    assert status == 400 and b"Content-Length" in body, body


# -- deep JSON ---------------------------------------------------------------------------


def _nested(levels: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * levels + close * levels).encode()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000, id="100000-open-brackets"),
        pytest.param(_nested(MAX_DEPTH + 1), id="33-arrays"),
        pytest.param(b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), id="33-objects"),
        pytest.param(b'{"variable": ' + _nested(200) + b"}", id="deep-inside-a-field"),
        pytest.param(
            b'{"rationale": "]]]]", "variable": ' + b"[" * 40 + b"}", id="closers-in-a-string"
        ),
    ],
)
@pytest.mark.parametrize(
    "path",
    ["/api/proposals", "/api/proposals/reuse-check", "/api/users", "/api/proposals/1/reviews"],
)
def test_deep_json_is_400_before_parsing(store_api, body, path):
    before = snapshot(store_api)
    headers = {**store_api.auth("admin"), "Content-Type": "application/json", "If-Match": "*"}
    r = store_api.client.post(path, content=body, headers=headers)
    clean_4xx(r, 400, needle=f"deeper than {MAX_DEPTH}")
    assert snapshot(store_api) == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_nested(MAX_DEPTH), id="32-levels"),
        pytest.param(
            json.dumps({"variable": {}, "rationale": "[" * 5000}).encode(),
            id="brackets-in-a-string",
        ),
        pytest.param(
            b'{"variable": {}, "rationale": "x\\"' + b"[" * 100 + b'"}',
            id="escaped-quote-then-brackets",
        ),
        pytest.param(
            b'{"variable": {}, "rationale": "x\\\\", "v": ' + _nested(MAX_DEPTH - 1) + b"}",
            id="escaped-backslash-ends-the-string",
        ),
    ],
)
def test_brackets_that_do_not_nest_deeply_are_not_counted(store_api, body):
    r = store_api.client.post(
        "/api/proposals",
        content=body,
        headers={**store_api.auth("admin"), "Content-Type": "application/json"},
    )
    clean_4xx(r, 422)  # parsed, and refused for its shape


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_deep_json_under_another_media_type_is_never_parsed(reader, content_type):
    headers = [(b"content-type", content_type.encode())] if content_type else []
    status, body = raw(
        reader.client.app,
        "POST",
        "/api/proposals/reuse-check",
        headers=headers,
        body=b"[" * 100_000,
    )
    assert status == 422, body


# -- invalid UTF-8 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b'{"a": "\xff"}', b'{"variable": "\xc3\x28"}', b'{"x": "\xed\xa0\x80"}', b'{"x": "\xc0\xaf"}'],
)
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/proposals", "application/json"),
        ("/api/proposals/reuse-check", "application/json; charset=utf-8"),
        ("/api/users", "application/json"),
        ("/api/proposals/1/reviews", "application/json"),
        ("/api/sparql", "application/sparql-query"),
        ("/api/sparql", "application/x-www-form-urlencoded"),
    ],
)
def test_bodies_that_are_not_utf8_are_400(store_api, body, path, content_type):
    before = snapshot(store_api)
    headers = {**store_api.auth("admin"), "Content-Type": content_type, "If-Match": "*"}
    r = store_api.client.post(path, content=body, headers=headers)
    clean_4xx(r, 400, needle="UTF-8")
    assert snapshot(store_api) == before


BAD_QUERY_STRINGS = [
    pytest.param("/api/variables", "register=%ff", id="ff"),
    pytest.param("/api/search", "q=%C3%28", id="bad-continuation"),
    pytest.param("/api/search", "q=%C0%AF", id="overlong-2-byte-slash"),
    pytest.param("/api/search", "q=%E0%80%AF", id="overlong-3-byte-slash"),
    pytest.param("/api/search", "q=%ED%A0%80", id="lone-surrogate"),
    pytest.param("/api/variables", "form=%F4%90%80%80", id="beyond-U+10FFFF"),
    pytest.param("/api/mappings", "subject=%C3", id="truncated"),
    pytest.param("/api/proposals", "register=%FF%FE", id="utf16-bom"),
    pytest.param("/api/sparql", "query=SELECT%20%FF", id="sparql"),
    pytest.param("/api/registers/npr", "format=%ff", id="on-an-entity"),
]


@pytest.mark.parametrize(("path", "query"), BAD_QUERY_STRINGS)
def test_query_strings_that_are_not_utf8_are_400(reader, path, query):
    r = reader.client.get(f"{path}?{query}")
    clean_4xx(r, 400, needle="not UTF-8")
    status, body = raw(reader.client.app, "GET", path, query=query.encode())
    assert status == 400, body
    # and the same bytes sent raw, unescaped
    from urllib.parse import unquote_to_bytes

    status, body = raw(reader.client.app, "GET", path, query=unquote_to_bytes(query))
    assert status == 400, body


@pytest.mark.parametrize(
    "query", ["register=%C3%A6%C3%B8%C3%A5", "register=%F0%9F%98%80", "register=%", "register=%zz"]
)
def test_valid_or_merely_odd_query_strings_pass(reader, query):
    r = reader.client.get(f"/api/variables?{query}")
    assert r.status_code == 200 and r.json()["total"] == 0


@pytest.mark.parametrize(
    "segment", ["%ff", "%ED%A0%80", "%C0%AF", "%00", "a%2F..%2F..%2Fetc%2Fpasswd"]
)
@pytest.mark.parametrize(
    "template",
    ["/api/variables/{}", "/api/registers/{}", "/api/mapping-sets/{}", "/api/codes/ICD10/{}"],
)
def test_odd_bytes_in_paths_are_4xx_or_nothing_found(reader, template, segment):
    r = reader.client.get(template.format(segment))
    no_server_error(r)
    if r.status_code == 200:  # a code look-up answers for any code: it is simply not valid
        assert r.json()["valid"] is False and r.json()["variables"] == []
    elif "%ff" in segment.lower() or "%ed" in segment.lower() or "%c0" in segment.lower():
        assert r.status_code == 400 and "UTF-8" in r.json()["detail"]  # refused by the guard
    else:
        assert r.status_code in (404, 422)


# -- injection in search and filter parameters ---------------------------------------------

INJECTIONS = [
    pytest.param("'; DROP TABLE variables; --", id="sql-drop"),
    pytest.param('" OR 1=1 --', id="sql-or"),
    pytest.param("%' OR '1'='1", id="sql-like"),
    pytest.param(") UNION SELECT * FROM users --", id="sql-union"),
    pytest.param("NEAR(", id="fts-near"),
    pytest.param("*", id="fts-star"),
    pytest.param("col:val", id="fts-column"),
    pytest.param("label_nb:hjerte OR register_id:npr", id="fts-column-or"),
    pytest.param('"unbalanced', id="fts-quote"),
    pytest.param("} . ?s ?p ?o {", id="sparql"),
    pytest.param("\x00", id="nul"),
    pytest.param("npr\x00", id="nul-suffix"),
    pytest.param("x" * 10_000, id="10kB"),
    pytest.param("\\", id="backslash"),
    pytest.param("%_%", id="like-wildcards"),
    pytest.param("\ufeff\u202e", id="bom-rtl"),
    pytest.param("\U0001f600" * 50, id="emoji"),
]
CATALOGUE_FILTERS = [
    ("/api/variables", name)
    for name in ("register", "form", "status", "topic", "datatype", "collection_mode")
] + [
    ("/api/mappings", "subject"),
    ("/api/mappings", "object"),
    ("/api/mappings", "status"),
    ("/api/mapping-candidates", "subject"),
    ("/api/mapping-candidates", "status"),
]
SEARCH_FACETS = ("register", "topic", "code_system", "status", "datatype", "collection_mode")


def _filtered_to_nothing(r) -> None:
    """200 with nothing matched, or a clean 4xx (a value over the length limit)."""
    if r.status_code == 200:
        body = r.json()
        assert body["total"] == 0 and body.get("items", body.get("hits")) == [], body
    else:
        clean_4xx(r, 422)


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_catalogue_filters(reader, value):
    before = snapshot(reader)
    for path, name in CATALOGUE_FILTERS:
        r = reader.client.get(path, params={name: value})
        _filtered_to_nothing(r)
        # next to a real filter as well
        r = reader.client.get(path, params={name: value, "limit": 5, "offset": 0})
        _filtered_to_nothing(r)
    assert snapshot(reader) == before


@needs_search
@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_search(reader, value):
    before = snapshot(reader)
    r = reader.client.get("/api/search", params={"q": value})
    no_server_error(r)
    if r.status_code == 200:
        body = r.json()
        assert body["total"] >= len(body["hits"]) and len(body["hits"]) <= 20
    for facet in SEARCH_FACETS:
        _filtered_to_nothing(reader.client.get("/api/search", params={facet: value}))
        _filtered_to_nothing(reader.client.get("/api/search", params={"q": "hjerte", facet: value}))
    assert snapshot(reader) == before


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize(
    "template",
    [
        "/api/variables/{}",
        "/api/variables/{}/mappings",
        "/api/registers/{}",
        "/api/registers/{}/forms",
        "/api/registers/noric/forms/{}",
        "/api/value-sets/{}",
        "/api/mapping-sets/{}",
        "/api/mapping-candidates/{}",
        "/api/overlap/{}",
        "/api/registers/{}/ehr-bindings",
        "/api/coverage?register={}",
        "/api/codes/{}/I21",
    ],
)
def test_injection_in_path_parameters_is_404_or_422(reader, template, value):
    r = reader.client.get(template.format(quote(value, safe="")))
    clean_4xx(r, 404, 422)


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_a_code_is_an_invalid_code(reader, value):
    r = reader.client.get(f"/api/codes/ICD10/{quote(value, safe='')}")
    if r.status_code == 200:
        body = r.json()
        assert body["valid"] is False and body["problem"] and body["variables"] == []
    else:
        clean_4xx(r, 404, 422)


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_store_filters(store_api, request, value):
    before = snapshot(store_api)
    _filtered_to_nothing(store_api.client.get("/api/proposals", params={"register": value}))
    r = store_api.client.get("/api/proposals", params={"status": value})
    clean_4xx(r, 422)
    assert snapshot(store_api) == before


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_user_names(store_api, value):
    before = snapshot(store_api)
    admin = store_api.auth("admin")
    clean_4xx(
        store_api.client.delete(f"/api/users/{quote(value, safe='')}", headers=admin), 404, 422
    )
    made = store_api.client.post("/api/users", json={"name": value, "role": "admin"}, headers=admin)
    clean_4xx(made, 422)
    made = store_api.client.post(
        "/api/users", json={"name": "ok.name", "role": value}, headers=admin
    )
    clean_4xx(made, 422)
    assert snapshot(store_api) == before


# -- SPARQL ------------------------------------------------------------------------------

COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"
UPDATES = [
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "insert data { <urn:a> <urn:b> <urn:c> }",
    "PREFIX x: <urn:x:> INSERT DATA { x:a x:b x:c }",
    "DELETE WHERE { ?s ?p ?o }",
    "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "WITH <urn:g> DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
    "DROP ALL",
    "DROP SILENT DEFAULT",
    "CLEAR DEFAULT",
    "CLEAR ALL",
    "LOAD <http://example.org/x.ttl>",
    "LOAD <file:///etc/passwd> INTO GRAPH <urn:g>",
    "CREATE GRAPH <urn:g>",
    "COPY DEFAULT TO <urn:g>",
    "MOVE DEFAULT TO <urn:g>",
    "ADD DEFAULT TO <urn:g>",
    "# a comment first\nDROP ALL",
    "SELECT * WHERE { ?s ?p ?o } ; DROP ALL",
]


def _count(api: Api) -> int:
    r = api.client.get("/api/sparql", params={"query": COUNT_ALL})
    assert r.status_code == 200, r.text
    return int(r.json()["results"]["bindings"][0]["n"]["value"])


@pytest.fixture(scope="module")
def triples(reader) -> int:
    n = _count(reader)
    assert n > 1000
    return n


def _sparql_ways(client, text: str):
    yield "GET ?query=", client.get("/api/sparql", params={"query": text})
    yield "form query=", client.post("/api/sparql", data={"query": text})
    yield "form update=", client.post("/api/sparql", data={"update": text})
    yield (
        "sparql-query",
        client.post(
            "/api/sparql",
            content=text.encode(),
            headers={"Content-Type": "application/sparql-query"},
        ),
    )
    yield (
        "sparql-update",
        client.post(
            "/api/sparql",
            content=text.encode(),
            headers={"Content-Type": "application/sparql-update"},
        ),
    )


@pytest.mark.parametrize("update", UPDATES)
def test_sparql_updates_are_refused_every_way(reader, triples, update):
    for way, r in _sparql_ways(reader.client, update):
        detail = clean_4xx(r, 400, 415)
        if way == "sparql-update":
            assert r.status_code == 415, (way, detail)
        else:
            assert r.status_code == 400, (way, detail)
            assert any(w in detail for w in ("read-only", "syntax error")), (way, detail)
    assert _count(reader) == triples


def test_a_client_limit_above_the_server_maximum_is_capped(reader):
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    for params in ({"query": query, "limit": 1_000_000}, {"query": query + " LIMIT 1000000"}):
        r = reader.client.get("/api/sparql", params=params)
        assert r.status_code == 200, r.text
        assert len(r.json()["results"]["bindings"]) == SPARQL_MAX_ROWS
        assert r.headers["x-result-truncated"] == "true"
        assert r.headers["x-result-rows"] == str(SPARQL_MAX_ROWS)
    small = reader.client.get("/api/sparql", params={"query": query, "limit": 3})
    assert len(small.json()["results"]["bindings"]) == 3
    registers = "SELECT ?r WHERE { ?r a <https://w3id.org/regcat/schema/Register> }"
    whole = reader.client.get("/api/sparql", params={"query": registers, "limit": 50})
    assert len(whole.json()["results"]["bindings"]) == 17
    assert "x-result-truncated" not in whole.headers
    clean_4xx(reader.client.get("/api/sparql", params={"query": query, "limit": 0}), 422)
    clean_4xx(reader.client.get("/api/sparql", params={"query": query, "limit": -5}), 422)
    clean_4xx(reader.client.get("/api/sparql", params={"query": query, "limit": "all"}), 422)


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("SELECT * WHERE {", "syntax error"),
        ("SELEKT * WHERE { ?s ?p ?o }", "syntax error"),
        ("} . ?s ?p ?o {", "syntax error"),
        ("SELECT * WHERE { ?s ?p ?o } LIMIT -1", "syntax error"),
        ("SELECT ?x WHERE { ?s <not an iri> ?o }", "syntax error"),
        ("\x00", "syntax error"),
        ("   ", "no query"),
        ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE"),
    ],
)
def test_malformed_sparql_is_400_with_the_parsers_message(reader, query, needle):
    for way, r in list(_sparql_ways(reader.client, query))[:2]:
        detail = clean_4xx(r, 400)
        assert needle.lower() in detail.lower(), (way, detail)
    r = reader.client.get("/api/sparql", params={"query": "SELECT * WHERE {"})
    assert "1:" in r.json()["detail"]  # where the parser stopped


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/json", "application/sparql-update", "multipart/form-data"],
)
def test_sparql_post_with_another_media_type_is_415(reader, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = reader.client.post(
        "/api/sparql", content=b"SELECT * WHERE { ?s ?p ?o } LIMIT 1", headers=headers
    )
    clean_4xx(r, 415, needle="application/sparql-query")


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LONG_QUERY = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 200_000
SPARQL_JUNK = [
    pytest.param(
        "POST",
        {"content": b"query=ASK%7B%7D&query=ASK%7B%7D", "headers": FORM},
        (400,),
        "exactly one",
        id="two-queries",
    ),
    pytest.param("POST", {"content": b"", "headers": FORM}, (400,), "query", id="empty-form"),
    pytest.param(
        "POST",
        {
            "content": b"query=ASK%7B%7D&" + b"&".join(b"f%d=x" % i for i in range(30)),
            "headers": FORM,
        },
        (400,),
        "field",
        id="many-form-fields",
    ),
    pytest.param(
        "POST",
        {"content": LONG_QUERY.encode(), "headers": {"Content-Type": "application/sparql-query"}},
        (400, 413),
        None,
        id="long-post",
    ),
    pytest.param(
        "GET",
        {"params": {"query": "ASK {}"}, "headers": {"Accept": "image/png"}},
        (406,),
        "supported",
        id="unacceptable",
    ),
]


def test_a_sparql_query_string_over_the_limit_is_4xx(reader):
    # Sent raw: a test client refuses to build a URL this long.
    query = b"query=" + quote(LONG_QUERY).encode()
    status, body = raw(reader.client.app, "GET", "/api/sparql", query=query)
    assert status in (413, 414, 422) and b"detail" in body, (status, body[:300])


@pytest.mark.parametrize(("method", "kwargs", "statuses", "needle"), SPARQL_JUNK)
def test_sparql_junk_is_4xx(reader, triples, method, kwargs, statuses, needle):
    r = reader.client.request(method, "/api/sparql", **kwargs)
    clean_4xx(r, *statuses, needle=needle)
    assert _count(reader) == triples


# -- Authorization junk ------------------------------------------------------------------------

AUTH_JUNK = [
    pytest.param("Bearer rct_nope", id="unknown-token"),
    pytest.param("Bearer ", id="empty-token"),
    pytest.param("Bearer", id="no-token"),
    pytest.param("Bearer  a b c", id="spaces"),
    pytest.param("Bearer\trct_x", id="tab"),
    pytest.param("bearer rct_x", id="lower-case-scheme"),
    pytest.param("Basic YWRtaW46YWRtaW4=", id="basic"),
    pytest.param("Digest username=admin", id="digest"),
    pytest.param("Bearer " + "x" * 100_000, id="100kB"),
    pytest.param("Bearer ' OR 1=1 --", id="sql"),
    pytest.param(",,,,", id="commas"),
]


@pytest.mark.parametrize("header", AUTH_JUNK)
def test_authorization_junk_is_401(store_api, header):
    before = snapshot(store_api)
    for method, path, body in (
        ("GET", "/api/me", None),
        ("GET", "/api/users", None),
        ("POST", "/api/proposals", PROPOSED),
        ("POST", "/api/users", {"name": "intruder", "role": "admin"}),
    ):
        r = store_api.client.request(method, path, json=body, headers={"Authorization": header})
        clean_4xx(r, 401)
        assert r.headers.get("www-authenticate") == "Bearer"
    assert snapshot(store_api) == before


@pytest.mark.parametrize(
    "value",
    [
        b"Bearer \xff\xfe\xe6\xf8",
        b"Bearer rct_\xb2",
        b"Bearer \x00rct",
        b"\xff",
        b"Bearer rct_" + b"\x80" * 5000,
    ],
)
def test_non_ascii_authorization_bytes_are_401(store_api, value):
    before = snapshot(store_api)
    for method, path in (("GET", "/api/me"), ("POST", "/api/proposals")):
        headers = [(b"authorization", value), (b"content-type", b"application/json")]
        status, body = raw(store_api.client.app, method, path, headers=headers, body=b"{}")
        assert status == 401, body
        assert b"detail" in body
    assert snapshot(store_api) == before


def test_a_real_token_with_junk_around_it_is_401(store_api):
    token = store_api.tokens["admin"]
    for header in (
        f"Bearer {token}x",
        f"Bearer {token} extra",
        f"Bearer {token.upper()}",
        f"Token {token}",
    ):
        r = store_api.client.get("/api/me", headers={"Authorization": header})
        clean_4xx(r, 401)
    assert (
        store_api.client.get("/api/me", headers=store_api.auth("admin")).json()["role"] == "admin"
    )


# -- wrong JSON types and unknown fields on writes --------------------------------------------

WRONG_BODIES = [
    ("POST", "/api/proposals", {"variable": []}, "variable"),
    ("POST", "/api/proposals", "string", "body"),
    ("POST", "/api/proposals", None, "body"),
    ("POST", "/api/proposals", 42, "body"),
    ("POST", "/api/proposals", [PROPOSED], "body"),
    ("POST", "/api/proposals", {"variable": {**VARIABLE, "id": 7}}, "id"),
    ("POST", "/api/proposals", {"variable": {**VARIABLE, "label": "plain"}}, "label"),
    ("POST", "/api/proposals", {**PROPOSED, "rationale": 5}, "rationale"),
    ("POST", "/api/proposals", {**PROPOSED, "rationale": "x" * 10_001}, "rationale"),
    ("POST", "/api/proposals", {**PROPOSED, "extra": 1}, "extra"),
    ("POST", "/api/proposals", {"variable": {**VARIABLE, "sneaky": True}}, "sneaky"),
    ("POST", "/api/proposals", {**PROPOSED, "value_set": []}, "value_set"),
    ("POST", "/api/proposals/reuse-check", None, "body"),
    ("POST", "/api/proposals/reuse-check", {**PROPOSED, "extra": 1}, "extra"),
    ("PUT", "/api/proposals/{pid}", "string", "body"),
    ("PUT", "/api/proposals/{pid}", {**PROPOSED, "status": "accepted"}, "status"),
    ("POST", "/api/proposals/{pid}/reviews", {"action": 1}, "action"),
    ("POST", "/api/proposals/{pid}/reviews", {"action": None}, "action"),
    ("POST", "/api/proposals/{pid}/reviews", {"action": ["accept"]}, "action"),
    ("POST", "/api/proposals/{pid}/reviews", {"action": "accept", "version": 9}, "version"),
    ("POST", "/api/proposals/{pid}/reviews", {}, "action"),
    ("POST", "/api/proposals/{pid}/reviews", [], "body"),
    ("POST", "/api/users", {"name": 5, "role": "admin"}, "name"),
    ("POST", "/api/users", {"name": "x", "role": ["admin"]}, "role"),
    ("POST", "/api/users", {"name": "x", "role": "admin", "token": "rct_mine"}, "token"),
    ("POST", "/api/users", {"name": "x" * 101, "role": "admin"}, "name"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), WRONG_BODIES)
def test_wrong_json_types_and_unknown_fields_are_422(
    store_api, proposal, method, path, body, field
):
    pid, etag = proposal
    before = snapshot(store_api)
    headers = {**store_api.auth("admin"), "If-Match": etag}
    r = store_api.client.request(method, path.format(pid=pid), json=body, headers=headers)
    detail = clean_4xx(r, 422)
    assert field in detail, detail
    assert isinstance(r.json()["detail"], list)  # FastAPI's shape: each with its loc
    assert snapshot(store_api) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/proposals", {**PROPOSED, "rationale": "\ud800"}),
        ("/api/proposals/reuse-check", {**PROPOSED, "rationale": "\udfff"}),
        ("/api/users", {"name": "x", "role": "owner", "register_id": "\ud800"}),
        ("/api/proposals/{pid}/reviews", {"action": "comment", "comment": "\ud83d"}),
        ("/api/proposals", {**PROPOSED, "variable": {**VARIABLE, "label": {"nb": "\ud800"}}}),
    ],
)
def test_lone_surrogates_in_json_are_refused(store_api, proposal, path, body):
    pid, etag = proposal
    before = snapshot(store_api)
    text = json.dumps(body)  # ASCII, with the surrogate as a \\u escape
    headers = {**store_api.auth("admin"), "Content-Type": "application/json", "If-Match": etag}
    r = store_api.client.post(path.format(pid=pid), content=text.encode(), headers=headers)
    clean_4xx(r, 400, 422)
    assert snapshot(store_api) == before


@pytest.mark.parametrize("field", ["rationale", "comment", "label"])
def test_nul_in_free_text_is_stored_or_refused_never_500(store_api, proposal, request, field):
    pid, etag = proposal
    before = snapshot(store_api)
    admin = store_api.auth("admin")
    if field == "comment":
        body = {"action": "comment", "comment": "a\x00b"}
        r = store_api.client.post(
            f"/api/proposals/{pid}/reviews", json=body, headers={**admin, "If-Match": etag}
        )
    elif field == "rationale":
        r = store_api.client.post(
            "/api/proposals", json={**PROPOSED, "rationale": "a\x00b"}, headers=admin
        )
    else:
        variable = {**VARIABLE, "label": {"nb": "a\x00b"}}
        r = store_api.client.post(
            "/api/proposals", json={**PROPOSED, "variable": variable}, headers=admin
        )
    no_server_error(r)
    if r.status_code >= 400:
        assert snapshot(store_api) == before


# -- If-Match junk ---------------------------------------------------------------------------

IF_MATCH_JUNK = [
    # `*` would match any version, the blind write If-Match is there to prevent: 428.
    pytest.param("*", 428, id="star"),
    pytest.param('W/"x"', 412, id="weak-junk"),
    pytest.param("x" * 5000, 412, id="5kB"),
    pytest.param('"proposal-{pid}-v"', 412, id="no-version"),
    pytest.param('"proposal-{pid}-v-1"', 412, id="negative"),
    pytest.param('"proposal-{pid}-v1.0"', 412, id="decimal"),
    pytest.param('"proposal-{pid}-v99999999999999999999999"', 412, id="huge-version"),
    pytest.param('"proposal-{other}-v1"', 412, id="another-proposal"),
    pytest.param('"mapping-{pid}-v1"', 412, id="another-kind"),
    pytest.param('"proposal-{pid}-v2"', 412, id="stale-future"),
    pytest.param(" ", 412, id="blank"),
    pytest.param("", 428, id="empty"),
]


@pytest.mark.parametrize(("value", "expected"), IF_MATCH_JUNK)
@pytest.mark.parametrize("write", ["review", "revise"])
def test_if_match_junk_is_412_or_428(store_api, proposal, write, value, expected):
    pid, _ = proposal
    before = snapshot(store_api)
    headers = {**store_api.auth("admin"), "If-Match": value.format(pid=pid, other=pid + 1000)}
    if write == "review":
        body = {"action": "comment", "comment": "hostile"}
        r = store_api.client.post(f"/api/proposals/{pid}/reviews", json=body, headers=headers)
    else:
        r = store_api.client.put(f"/api/proposals/{pid}", json=PROPOSED, headers=headers)
    detail = clean_4xx(r, expected)
    assert "If-Match" in detail or "version" in detail, detail
    assert snapshot(store_api) == before


@pytest.mark.parametrize(
    "digits",
    [
        pytest.param(b"\xb2", id="superscript-two"),
        pytest.param(b"\xb9", id="superscript-one"),
        pytest.param(b"\xc2\xb2", id="superscript-two-as-utf8"),
        pytest.param(b"\xd9\xa1", id="arabic-indic-one-as-utf8"),
    ],
)
def test_if_match_with_non_ascii_digits_is_412(store_api, proposal, request, digits):
    pid, _ = proposal
    before = snapshot(store_api)
    token = store_api.auth("admin")["Authorization"].encode()
    headers = [
        (b"authorization", token),
        (b"content-type", b"application/json"),
        (b"if-match", b'"proposal-%d-v' % pid + digits + b'"'),
    ]
    body = json.dumps({"action": "comment"}).encode()
    status, answer = raw(
        store_api.client.app, "POST", f"/api/proposals/{pid}/reviews", headers=headers, body=body
    )
    assert status == 412, answer
    assert snapshot(store_api) == before


# -- proposal ids that are no ids ------------------------------------------------------------

SQLITE_MAX = 2**63 - 1
POSTGRES_MAX = 2**31 - 1  # proposals.id is an INTEGER


@pytest.mark.parametrize(
    "pid",
    [
        "99999999999999999999999",
        str(SQLITE_MAX + 1),
        str(SQLITE_MAX),
        str(POSTGRES_MAX + 1),
        str(POSTGRES_MAX),
        str(-POSTGRES_MAX - 2),
        "-1",
        "0",
        "1e3",
        "0x10",
        "1.0",
        "NaN",
        "%20",
        "\u0661",  # ARABIC-INDIC DIGIT ONE
    ],
)
def test_proposal_ids_that_are_no_ids_are_404_or_422(store_api, request, pid):
    pid = quote(pid, safe="-")
    before = snapshot(store_api)
    admin = store_api.auth("admin")
    c = store_api.client
    answers = [
        c.get(f"/api/proposals/{pid}"),
        c.get(f"/api/proposals/{pid}/history"),
        c.post(
            f"/api/proposals/{pid}/reviews",
            json={"action": "comment"},
            headers={**admin, "If-Match": f'"proposal-{pid}-v1"'},
        ),
        c.put(
            f"/api/proposals/{pid}",
            json=PROPOSED,
            headers={**admin, "If-Match": f'"proposal-{pid}-v1"'},
        ),
    ]
    for r in answers:
        clean_4xx(r, 404, 422)
    assert snapshot(store_api) == before
