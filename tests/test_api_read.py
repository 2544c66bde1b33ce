"""The read API over the bundled catalogue: every endpoint, paging, content
negotiation (JSON, JSON-LD, Turtle, SSSOM), conditional GET, and 404s."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient

from regcat.api import create_app
from regcat.api.settings import Settings
from tests.api_fixtures import bundled_index  # noqa: F401


@pytest.fixture(scope="module")
def client(bundled_index, tmp_path_factory):  # noqa: F811
    db = tmp_path_factory.mktemp("db") / "regcat.db"
    app = create_app(Settings(index_dir=bundled_index, database_url=f"sqlite:///{db}"))
    with TestClient(app) as c:
        yield c


def test_index_lists_links_and_totals(client):
    r = client.get("/api/")
    assert r.status_code == 200
    body = r.json()
    assert body["totals"]["registers"] == 17
    assert body["totals"]["key_registers"] == 4
    for name, link in body["links"].items():
        if name != "sparql":  # the protocol endpoint wants a query
            assert client.get(link).status_code == 200, link


def test_registers_paged(client):
    first = client.get("/api/registers", params={"limit": 5}).json()
    second = client.get("/api/registers", params={"limit": 5, "offset": 5}).json()
    assert first["total"] == 17 and len(first["items"]) == 5
    ids = [r["id"] for r in first["items"] + second["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 10
    keys = client.get("/api/registers", params={"key_register": True}).json()
    assert sorted(r["id"] for r in keys["items"]) == ["dar", "kpr", "lmr", "npr"]


def test_register_forms_and_variables(client):
    reg = client.get("/api/registers/noric").json()
    assert reg["id"] == "noric" and "variables" not in reg
    forms = client.get("/api/registers/noric/forms").json()
    assert forms and all("id" in f for f in forms)
    form = forms[0]["id"]
    assert client.get(f"/api/registers/noric/forms/{form}").json()["id"] == form
    page = client.get("/api/variables", params={"register": "noric", "form": form, "limit": 3})
    body = page.json()
    assert body["total"] > 3 and len(body["items"]) == 3
    assert all(v["register_id"] == "noric" and v["form"] == form for v in body["items"])


def test_variable_filters_combine(client):
    body = client.get("/api/variables", params={"register": "npr", "limit": 500}).json()
    assert body["total"] == len(body["items"]) > 0
    none = client.get("/api/variables", params={"register": "npr", "status": "nope"}).json()
    assert none["total"] == 0 and none["items"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/registers/nope",
        "/api/registers/noric/forms/nope",
        "/api/variables/noric:nope",
        "/api/value-sets/nope",
        "/api/mapping-sets/nope",
        "/api/variables/noric:nope/mappings",
        "/api/overlap/nope",
    ],
)
def test_unknown_entities_are_404_with_a_message(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "no " in r.json()["detail"]


def _a_variable(client) -> dict:
    return client.get("/api/variables", params={"register": "npr", "limit": 1}).json()["items"][0]


def test_variable_as_json_jsonld_and_turtle(client):
    v = _a_variable(client)
    url = f"/api/variables/{v['id']}"
    assert client.get(url).json() == v
    ttl = client.get(url, headers={"Accept": "text/turtle"})
    assert ttl.headers["content-type"].startswith("text/turtle")
    graph = list(ox.parse(ttl.content, format=ox.RdfFormat.TURTLE))
    labels = [q.object.value for q in graph if q.predicate.value.endswith("prefLabel")]
    assert v["label"]["nb"] in labels
    jl = client.get(url, headers={"Accept": "application/ld+json"})
    assert jl.headers["content-type"].startswith("application/ld+json")
    doc = jl.json()
    assert "@context" in doc and doc["@graph"]
    again = list(ox.parse(jl.content, format=ox.RdfFormat.JSON_LD))
    assert len(again) == len(graph)
    assert (
        client.get(url, params={"format": "ttl"}).headers["content-type"].startswith("text/turtle")
    )


def test_accept_with_q_values_and_wildcards(client):
    url = "/api/registers/npr"
    r = client.get(url, headers={"Accept": "text/turtle;q=0.5, application/ld+json;q=0.9"})
    assert r.headers["content-type"].startswith("application/ld+json")
    assert client.get(url, headers={"Accept": "*/*"}).headers["content-type"] == "application/json"
    bad = client.get(url, headers={"Accept": "image/png"})
    assert bad.status_code == 406 and "offered" in bad.json()["detail"]
    assert client.get(url, params={"format": "xml"}).status_code == 406


def test_value_set_and_code_lookup(client):
    page = client.get("/api/value-sets", params={"limit": 2}).json()
    vs = page["items"][0]
    assert client.get(f"/api/value-sets/{vs['id']}").json() == vs
    ttl = client.get(f"/api/value-sets/{vs['id']}", params={"format": "ttl"})
    assert "ConceptScheme" in ttl.text
    found = client.get("/api/codes/ICD10/I21").json()
    assert found["known_system"] and found["valid"] is True
    assert (
        any(use["variable"].startswith(("npr:", "noric:", "nhir:")) for use in found["variables"])
        or found["value_set_codes"]
    )
    bad = client.get("/api/codes/ICD10/Q99.99.9").json()
    assert bad["valid"] is False and bad["problem"]
    unknown = client.get("/api/codes/FOO/1").json()
    assert unknown["known_system"] is False and unknown["valid"] is None


def test_code_systems_and_instruments(client):
    systems = {s["id"] for s in client.get("/api/code-systems").json()["items"]}
    assert {"ICD10", "SCTID", "NCSP", "ATC"} <= systems
    instruments = {i["id"] for i in client.get("/api/instruments").json()["items"]}
    assert {"heartqol", "rand12"} <= instruments


def test_mapping_set_in_every_format(client):
    sets = client.get("/api/mapping-sets").json()["items"]
    reuse = next(s for s in sets if s["name"] == "key-register-reuse")
    assert reuse["mappings"] == 6
    url = "/api/mapping-sets/key-register-reuse"
    body = client.get(url).json()
    assert len(body["mappings"]) == 6 and body["mapping_set_id"]
    tsv = client.get(url, headers={"Accept": "text/tab-separated-values"})
    assert tsv.headers["content-type"].startswith("text/tab-separated-values")
    from regcat.layout import bundled_catalogue

    on_disk = (bundled_catalogue() / "mappings" / "key-register-reuse.sssom.tsv").read_text()
    from regcat.sssom import read_sssom

    assert read_sssom(tsv.content, "api").rows == read_sssom(on_disk.encode(), "disk").rows
    ttl = client.get(url, params={"format": "ttl"})
    assert "skos:" in ttl.text or "core#" in ttl.text
    assert client.get(url, params={"format": "jsonld"}).json()["@graph"]


def test_mappings_by_end_and_variable_mappings(client):
    every = client.get("/api/mappings", params={"limit": 500}).json()
    assert every["total"] >= 6
    m = every["items"][0]
    by_subject = client.get("/api/mappings", params={"subject": m["subject_id"]}).json()
    assert all(x["subject_id"] == m["subject_id"] for x in by_subject["items"])
    if m["subject_id"].split(":")[0] in {"npr", "lmr", "dar", "noric", "nhir"}:
        vm = client.get(f"/api/variables/{m['subject_id']}/mappings")
        if vm.status_code == 200:
            assert any(x["object_id"] == m["object_id"] for x in vm.json()["outgoing"])


def test_conditional_get_etag_and_last_modified(client):
    r = client.get("/api/registers/npr")
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    assert client.get("/api/registers/npr", headers={"If-None-Match": etag}).status_code == 304
    assert (
        client.get("/api/registers/npr", headers={"If-Modified-Since": modified}).status_code == 304
    )
    other = client.get("/api/registers/npr", headers={"Accept": "text/turtle"}).headers["etag"]
    assert other != etag  # a different representation is a different ETag
    assert client.get("/api/registers/npr", headers={"If-None-Match": '"x"'}).status_code == 200


def test_etag_changes_when_the_catalogue_changes(tmp_path):
    from regcat.index import build_index
    from tests.conftest import tiny_register, write_catalogue

    root = write_catalogue(tmp_path / "cat")
    index = tmp_path / "index"
    build_index(root, index)
    app = create_app(Settings(index_dir=index, database_url=f"sqlite:///{tmp_path / 'db'}"))
    with TestClient(app) as c:
        before = c.get("/api/registers/alpha").headers["etag"]
        changed = tiny_register(name={"nb": "Alfa, nytt navn"})
        write_catalogue(root, [changed])
        build_index(root, index)
        import time

        time.sleep(0.6)  # the reader looks at the index at most every 0.5 s
        r = c.get("/api/registers/alpha", headers={"If-None-Match": before})
        assert r.status_code == 200 and r.json()["name"]["nb"] == "Alfa, nytt navn"
        assert r.headers["etag"] != before


@pytest.mark.parametrize("report", ["concepts", "reuse", "prom"])
def test_overlap_reports(client, report):
    r = client.get(f"/api/overlap/{report}")
    assert r.status_code == 200 and isinstance(r.json(), dict)


def test_stats_and_landing_page(client):
    stats = client.get("/api/stats").json()
    assert stats["totals"]["registers"] == 17
    home = client.get("/")
    assert home.status_code == 200 and "/api/docs" in home.text
    assert client.get("/api/docs").status_code == 200
    assert json.loads(client.get("/api/openapi.json").text)["info"]["title"] == "regcat"


# -- search -------------------------------------------------------------------------


def _search(client, **params) -> dict:
    r = client.get("/api/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(
    ("q", "needle"),
    [
        ("hjerte", "hjerte"),  # prefix
        ("kjonn", "kjønn"),  # diacritics folded
        ("hjerteinfrakt", "hjerteinfarkt"),  # typo
    ],
)
def test_search_words(client, q, needle):
    from regcat.text import fold

    body = _search(client, q=q)
    assert body["total"] > 0
    labels = [fold(" ".join(filter(None, h["label"].values()))) for h in body["hits"]]
    assert any(fold(needle) in label for label in labels) or body["corrected"], body


@pytest.mark.parametrize(
    ("q", "system"), [("I21", "ICD10"), ("SCTID:22298006", "SCTID"), ("B01AC", "ATC")]
)
def test_search_codes(client, q, system):
    body = _search(client, q=q)
    assert body["total"] > 0
    assert body["facets"]["code_system"].get(system, 0) > 0


def test_search_facets_count_the_whole_match_and_filters_narrow(client):
    body = _search(client, q="dato", limit=5)
    assert body["total"] > 5 and len(body["hits"]) == 5
    by_register = body["facets"]["register"]
    assert sum(by_register.values()) == body["total"]
    register, count = max(by_register.items(), key=lambda kv: kv[1])
    narrowed = _search(client, q="dato", register=register, limit=200)
    assert narrowed["total"] == count
    assert all(h["register_id"] == register for h in narrowed["hits"])
    two = _search(client, q="dato", register=list(by_register)[:2], limit=1)
    assert two["total"] == sum(list(by_register.values())[:2])


def test_search_rejects_unknown_limits_cleanly(client):
    assert client.get("/api/search", params={"q": "x" * 501}).status_code == 422
    assert client.get("/api/search", params={"limit": 0}).status_code == 422
    r = client.get("/api/search", params={"q": "'; DROP TABLE variables; --"})
    assert r.status_code == 200
    assert _search(client)["total"] == client.get("/api/stats").json()["totals"]["variables"]


def test_ehr_bindings_of_a_register(client):
    r = client.get("/api/registers/noric/ehr-bindings")
    assert r.status_code == 200
    body = r.json()
    assert body["register_id"] == "noric" and body["fhir_version"] == "R4"
    weight = next(b for b in body["bindings"] if b["variable"] == "noric:REGANGIO_WEIGHT")
    assert weight["unit"] == "kg" and weight["pick"] == "last"
    again = client.get(
        "/api/registers/noric/ehr-bindings", headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304
    assert client.get("/api/registers/dar/ehr-bindings").status_code == 404  # none bound
    assert client.get("/api/registers/nope/ehr-bindings").status_code == 404


def test_coverage(client):
    body = client.get("/api/coverage").json()
    assert body["total"]["variables"] == sum(f["variables"] for f in body["forms"])
    assert not any(f["register"] == "omop" for f in body["forms"])
    noric = client.get("/api/coverage", params={"register": "noric"}).json()
    angio = next(f for f in noric["forms"] if f["form"] == "angio_pci")
    assert angio["counts"]["ehr"] == 10 and 0 < angio["shares"]["ehr"] < 1
    assert {f["register"] for f in noric["forms"]} == {"noric"}
    assert client.get("/api/coverage", params={"register": "nope"}).status_code == 404
    assert client.get("/api/").json()["links"]["coverage"] == "/api/coverage"
