"""The SPARQL 1.1 protocol endpoint: GET, form POST and direct POST, result formats,
read-only, and the server's row and time limits."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api_fixtures import bundled_index, make_api  # noqa: F401

COUNT_REGISTERS = "SELECT (COUNT(*) AS ?n) WHERE { ?s a <https://w3id.org/regcat/schema/Register> }"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def client(bundled_index, tmp_path_factory):  # noqa: F811
    db = tmp_path_factory.mktemp("sparql") / "db.sqlite"
    api = make_api(bundled_index, f"sqlite:///{db}", sparql_timeout=2.0, sparql_max_rows=50)
    with api.client as c:
        yield c
    api.store.close()


def _count(response) -> int:
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def test_get_form_post_and_direct_post_agree(client):
    a = client.get("/api/sparql", params={"query": COUNT_REGISTERS})
    b = client.post("/api/sparql", data={"query": COUNT_REGISTERS})
    c = client.post(
        "/api/sparql",
        content=COUNT_REGISTERS,
        headers={"Content-Type": "application/sparql-query"},
    )
    assert a.status_code == b.status_code == c.status_code == 200
    assert a.headers["content-type"].startswith("application/sparql-results+json")
    assert _count(a) == _count(b) == _count(c) == 17


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("application/sparql-results+xml", "application/sparql-results+xml"),
        ("text/csv", "text/csv"),
        ("text/tab-separated-values", "text/tab-separated-values"),
    ],
)
def test_select_result_formats(client, accept, media):
    r = client.get("/api/sparql", params={"query": COUNT_REGISTERS}, headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    assert "17" in r.text


def test_construct_as_turtle(client):
    q = (
        "CONSTRUCT { ?s a <https://w3id.org/regcat/schema/Register> } "
        "WHERE { ?s a <https://w3id.org/regcat/schema/Register> }"
    )
    r = client.get("/api/sparql", params={"query": q}, headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    assert "register:noric" in r.text or "register/noric" in r.text


def test_row_limit_is_the_servers_at_most(client):
    q = "SELECT ?s WHERE { ?s ?p ?o }"
    capped = client.get(
        "/api/sparql", params={"query": q, "limit": 100000}, headers={"Accept": "text/csv"}
    )
    rows = list(csv.reader(io.StringIO(capped.text)))[1:]
    assert len(rows) == 50 and capped.headers["x-result-truncated"] == "true"
    lower = client.get(
        "/api/sparql", params={"query": q, "limit": 7}, headers={"Accept": "text/csv"}
    )
    assert len(list(csv.reader(io.StringIO(lower.text)))[1:]) == 7


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "DELETE WHERE { ?s ?p ?o }",
        "DROP ALL",
        "CLEAR DEFAULT",
    ],
)
def test_updates_are_refused_and_change_nothing(client, update):
    before = _count(
        client.get("/api/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
    )
    for r in (
        client.get("/api/sparql", params={"query": update}),
        client.post("/api/sparql", data={"update": update}),
        client.post(
            "/api/sparql", content=update, headers={"Content-Type": "application/sparql-query"}
        ),
    ):
        assert r.status_code == 400 and (
            "not allowed" in r.json()["detail"] or "read-only" in r.json()["detail"]
        )
    after = _count(
        client.get("/api/sparql", params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"})
    )
    assert after == before


def test_syntax_errors_and_bad_requests(client):
    bad = client.get("/api/sparql", params={"query": "SELEC ?x"})
    assert bad.status_code == 400 and "syntax" in bad.json()["detail"].lower()
    assert client.get("/api/sparql").status_code == 400
    assert (
        client.post("/api/sparql", content="x", headers={"Content-Type": "text/plain"}).status_code
        == 415
    )
    assert (
        client.get(
            "/api/sparql", params={"query": COUNT_REGISTERS}, headers={"Accept": "image/png"}
        ).status_code
        == 406
    )


@pytest.mark.slow
def test_a_runaway_query_times_out_and_the_next_one_works(client):
    r = client.get("/api/sparql", params={"query": SLOW})
    assert r.status_code == 503 and "time" in r.json()["detail"].lower()
    assert _count(client.get("/api/sparql", params={"query": COUNT_REGISTERS})) == 17
