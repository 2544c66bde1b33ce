"""Proposals, reviews, candidate mappings and users through the API: what each role
may do (every write endpoint × every role), versions and 412, history, and the export
into catalogue files. Runs on SQLite and, in CI, on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from regcat.catalogue import validate_catalogue
from tests.api_fixtures import *  # noqa: F403
from tests.api_fixtures import Api, make_api

PROPOSED = {
    "variable": {
        "id": "noric:ASA_UTSKRIVNING_NY",
        "form": "utskrivelse",
        "label": {"nb": "Acetylsalisylsyre ved utskrivning", "en": "Aspirin at discharge"},
        "definition": {"nb": "Om pasienten fikk ASA (B01AC06) forskrevet ved utskrivning."},
        "datatype": "boolean",
        "codings": [{"system": "ATC", "code": "B01AC06"}],
        "topic": "medication",
        "collection_mode": "manual",
        "status": "proposed",
    },
    "rationale": "Needed for the 30-day medication indicator.",
}
ROLES = [None, "owner_noric", "owner_npr", "coordinator", "admin"]


def propose(api: Api, who: str = "owner_noric", body: dict | None = None):
    return api.client.post("/api/proposals", json=body or PROPOSED, headers=api.auth(who))


def review(api: Api, pid: int, action: str, who: str, etag: str | None = None, comment="why"):
    headers = api.auth(who)
    if etag is not None:
        headers["If-Match"] = etag
    body = {"action": action, "comment": comment}
    return api.client.post(f"/api/proposals/{pid}/reviews", json=body, headers=headers)


def test_proposal_answers_with_the_reuse_check(api):
    r = propose(api)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/api/proposals/{body['id']}"
    assert body["status"] == "submitted" and body["version"] == 1 and body["kind"] == "new"
    reuse = body["reuse"]
    assert set(reuse) >= {"similar", "key_register"}
    assert any(c["register_id"] == "lmr" for c in reuse["key_register"]), reuse
    for c in reuse["similar"] + reuse["key_register"]:
        assert 0 <= c["score"] <= 1 and c["reasons"] and c["register_id"] != "noric"
    assert r.headers["etag"] == f'"proposal-{body["id"]}-v1"'


@pytest.mark.parametrize(
    ("who", "expected"),
    [(None, 401), ("owner_noric", 201), ("owner_npr", 403), ("coordinator", 403), ("admin", 201)],
)
def test_who_may_propose(api, who, expected):
    r = propose(api, who)
    assert r.status_code == expected, r.text
    if expected >= 400:
        assert api.client.get("/api/proposals").json()["total"] == 0


def test_bad_token_is_401(api):
    for header in ("Bearer rct_nope", "Bearer ", "Basic abc", "Bearer " + "x" * 5000):
        r = api.client.post("/api/proposals", json=PROPOSED, headers={"Authorization": header})
        assert r.status_code == 401
        assert r.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("comment", {"owner_noric", "coordinator", "admin"}),
        ("request_changes", {"coordinator", "admin"}),
        ("accept", {"coordinator", "admin"}),
        ("reject", {"coordinator", "admin"}),
        ("withdraw", {"owner_noric", "admin"}),
    ],
)
def test_who_may_review(api, who, action, allowed):
    created = propose(api).json()
    r = review(api, created["id"], action, who, f'"proposal-{created["id"]}-v1"')
    expected = 200 if who in allowed else (401 if who is None else 403)
    assert r.status_code == expected, r.text
    after = api.client.get(f"/api/proposals/{created['id']}").json()
    assert after["version"] == (2 if expected == 200 else 1)


@pytest.mark.parametrize("who", ROLES)
def test_who_may_revise(api, who):
    created = propose(api).json()
    body = {**PROPOSED, "variable": {**PROPOSED["variable"], "label": {"nb": "ASA ved utreise"}}}
    headers = {**api.auth(who), "If-Match": f'"proposal-{created["id"]}-v1"'}
    r = api.client.put(f"/api/proposals/{created['id']}", json=body, headers=headers)
    expected = {None: 401, "owner_noric": 200, "admin": 200}.get(who, 403)
    assert r.status_code == expected, r.text
    if expected == 200:
        assert r.json()["variable"]["label"]["nb"] == "ASA ved utreise"
        assert r.json()["version"] == 2


def test_status_flow_and_history(api):
    p = propose(api).json()
    pid = p["id"]
    r = review(api, pid, "comment", "coordinator", f'"proposal-{pid}-v1"', "Looks like LMR has it")
    assert r.json()["status"] == "in_review"
    r = review(api, pid, "request_changes", "coordinator", r.headers["etag"], "Use lmr:atc")
    assert r.json()["status"] == "changes_requested"
    headers = {**api.auth("owner_noric"), "If-Match": r.headers["etag"]}
    r = api.client.put(f"/api/proposals/{pid}", json=PROPOSED, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    r = review(api, pid, "accept", "coordinator", r.headers["etag"], None)
    assert r.json()["status"] == "accepted"
    late = review(api, pid, "reject", "coordinator", r.headers["etag"])
    assert late.status_code == 409  # decided proposals do not change
    history = api.client.get(f"/api/proposals/{pid}/history").json()
    assert [(e["action"], e["to_status"]) for e in history] == [
        ("submit", "submitted"),
        ("comment", "in_review"),
        ("request_changes", "changes_requested"),
        ("revise", "in_review"),
        ("accept", "accepted"),
    ]
    assert [e["actor"] for e in history] == [
        "owner_noric",
        "coordinator",
        "coordinator",
        "owner_noric",
        "coordinator",
    ]
    assert [e["version"] for e in history] == [1, 2, 3, 4, 5]


def test_stale_etag_is_412_and_missing_is_428(api):
    pid = propose(api).json()["id"]
    v1 = f'"proposal-{pid}-v1"'
    assert review(api, pid, "comment", "coordinator", v1, "first").status_code == 200
    stale = review(api, pid, "accept", "admin", v1)
    assert stale.status_code == 412 and "version 2" in stale.json()["detail"]
    assert review(api, pid, "accept", "admin", None).status_code == 428
    assert review(api, pid, "accept", "admin", '"something-else"').status_code == 412
    assert api.client.get(f"/api/proposals/{pid}").json()["status"] == "in_review"


def test_two_reviewers_at_once_never_both_win(api):
    pid = propose(api).json()["id"]
    v1 = f'"proposal-{pid}-v1"'
    results: list[int] = []

    def act(action: str, who: str) -> None:
        results.append(review(api, pid, action, who, v1, f"{who} says {action}").status_code)

    threads = [
        threading.Thread(target=act, args=(a, w))
        for a, w in [("accept", "coordinator"), ("reject", "admin")] * 4
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count(200) == 1 and set(results) <= {200, 412}
    history = api.client.get(f"/api/proposals/{pid}/history").json()
    assert len(history) == 2  # submit + the one winner


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"id": "nope:X"}, "no register 'nope'"),
        ({"id": "noric"}, "Invalid id format"),
        ({"form": "no_such_form"}, "no form 'no_such_form'"),
        ({"codings": [{"system": "ICD10", "code": "Q99.99.9"}]}, "Q99.99.9"),
        ({"codings": [{"system": "NOPE", "code": "1"}]}, "no code system 'NOPE'"),
        ({"value_set": "noric:no_such_set"}, "no value set"),
        ({"unit": "furlongs"}, "unit"),
    ],
)
def test_invalid_proposals_are_422_and_stored_nowhere(api, change, needle):
    body = {**PROPOSED, "variable": {**PROPOSED["variable"], **change}}
    r = propose(api, "admin", body)
    assert r.status_code == 422, r.text
    assert needle in r.text
    assert api.client.get("/api/proposals").json()["total"] == 0


def test_proposal_listing_filters(api):
    propose(api)
    npr_body = {**PROPOSED, "variable": {**PROPOSED["variable"], "id": "npr:ASA_NY", "form": None}}
    npr_body["variable"] = {k: v for k, v in npr_body["variable"].items() if v is not None}
    assert propose(api, "owner_npr", npr_body).status_code == 201
    assert api.client.get("/api/proposals", params={"register": "npr"}).json()["total"] == 1
    assert api.client.get("/api/proposals", params={"status": "submitted"}).json()["total"] == 2
    assert api.client.get("/api/proposals", params={"status": "bogus"}).status_code == 422
    assert api.client.get("/api/proposals/999999").status_code == 404


def test_reuse_check_alone_writes_nothing(api):
    r = api.client.post("/api/proposals/reuse-check", json=PROPOSED)
    assert r.status_code == 200 and "key_register" in r.json()
    assert api.client.get("/api/proposals").json()["total"] == 0


# -- users ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ROLES)
def test_who_may_manage_users(api, who):
    r = api.client.post(
        "/api/users", json={"name": "new.person", "role": "coordinator"}, headers=api.auth(who)
    )
    expected = {None: 401, "admin": 201}.get(who, 403)
    assert r.status_code == expected
    d = api.client.delete("/api/users/coordinator", headers=api.auth(who))
    assert d.status_code == {None: 401, "admin": 204}.get(who, 403)
    listing = api.client.get("/api/users", headers=api.auth(who))
    assert listing.status_code == {None: 401, "admin": 200}.get(who, 403)


def test_new_user_token_works_and_revocation_is_immediate(api):
    made = api.client.post(
        "/api/users",
        json={"name": "ola", "role": "owner", "register_id": "noric"},
        headers=api.auth("admin"),
    ).json()
    token = {"Authorization": f"Bearer {made['token']}"}
    assert api.client.get("/api/me", headers=token).json() == {
        "name": "ola",
        "role": "owner",
        "register_id": "noric",
    }
    assert api.client.delete("/api/users/ola", headers=api.auth("admin")).status_code == 204
    assert api.client.get("/api/me", headers=token).status_code == 401
    assert api.client.delete("/api/users/ola", headers=api.auth("admin")).status_code == 404
    listed = api.client.get("/api/users", headers=api.auth("admin")).json()["items"]
    assert all("token" not in u and "token_hash" not in u for u in listed)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "role": "emperor"},
        {"name": "x", "role": "owner"},
        {"name": "bad name!", "role": "admin"},
        {"name": "coordinator", "role": "admin"},
    ],
)
def test_bad_users_are_refused(api, body):
    r = api.client.post("/api/users", json=body, headers=api.auth("admin"))
    assert r.status_code in (409, 422)


# -- candidate mappings and export -------------------------------------------------------


@pytest.fixture
def candidate_api(catalogue_copy, database_url):
    """A catalogue with a candidate set written by `regcat suggest --write`."""
    from regcat.catalogue import Catalogue
    from regcat.index import build_index
    from regcat.suggest import suggest, write_candidates

    root, index = catalogue_copy
    cat = Catalogue.from_index(index)
    found = suggest(cat, between=("noric", "lmr"), min_score=0.5, limit_per_subject=2)
    assert found, "expected noric → lmr candidates"
    write_candidates(cat, root, found, between=("noric", "lmr"))
    assert not build_index(root, index).errors
    made = make_api(index, database_url)
    with made.client:
        yield made, root
    made.store.close()


@pytest.mark.parametrize("who", ROLES)
def test_who_may_review_candidates(candidate_api, who):
    api, _ = candidate_api
    first = api.client.get("/api/mapping-candidates").json()["items"][0]
    r = api.client.post(
        f"/api/mapping-candidates/{first['key']}/reviews",
        json={"action": "approve"},
        headers={**api.auth(who), "If-Match": f'"mapping-{first["key"]}-v0"'},
    )
    assert r.status_code == {None: 401, "coordinator": 200, "admin": 200}.get(who, 403), r.text


def test_candidate_review_versions_and_export(candidate_api):
    api, root = candidate_api
    items = api.client.get("/api/mapping-candidates").json()["items"]
    assert len(items) >= 2 and all(i["status"] == "candidate" and i["version"] == 0 for i in items)
    a, b = items[0], items[1]
    got = api.client.get(f"/api/mapping-candidates/{a['key']}")
    assert got.headers["etag"] == f'"mapping-{a["key"]}-v0"'
    approve = api.client.post(
        f"/api/mapping-candidates/{a['key']}/reviews",
        json={"action": "approve", "comment": "same ATC"},
        headers={**api.auth("coordinator"), "If-Match": got.headers["etag"]},
    )
    assert approve.status_code == 200 and approve.json()["status"] == "approved"
    again = api.client.post(
        f"/api/mapping-candidates/{a['key']}/reviews",
        json={"action": "reject", "comment": "no"},
        headers={**api.auth("admin"), "If-Match": got.headers["etag"]},
    )
    assert again.status_code == 412
    no_reason = api.client.post(
        f"/api/mapping-candidates/{b['key']}/reviews",
        json={"action": "reject"},
        headers={**api.auth("coordinator"), "If-Match": f'"mapping-{b["key"]}-v0"'},
    )
    assert no_reason.status_code == 409
    reject = api.client.post(
        f"/api/mapping-candidates/{b['key']}/reviews",
        json={"action": "reject", "comment": "different timing"},
        headers={**api.auth("coordinator"), "If-Match": f'"mapping-{b["key"]}-v0"'},
    )
    assert reject.status_code == 200
    assert (
        api.client.get("/api/mapping-candidates", params={"status": "approved"}).json()["total"]
        == 1
    )

    # a proposal accepted, then everything exported into the catalogue files
    p = propose(api).json()
    review(api, p["id"], "accept", "coordinator", f'"proposal-{p["id"]}-v1"')
    from regcat.proposals import export_proposals

    report = export_proposals(api.store, root)
    assert not report.findings, [f.render() for f in report.findings]
    assert report.proposals == [p["id"]] and len(report.mappings) == 2
    written = {path.name for path in report.written}
    assert "noric.yaml" in written and "reviewed.sssom.tsv" in written
    text = (root / "registers" / "noric.yaml").read_text()
    assert "noric:ASA_UTSKRIVNING_NY" in text
    reviewed = (root / "mappings" / "reviewed.sssom.tsv").read_text()
    assert a["subject_id"] in reviewed and a["object_id"] in reviewed
    candidates = (root / "mappings" / "candidates-noric-lmr.sssom.tsv").read_text()
    for decided in (a, b):
        line = f"{decided['subject_id']}\t"
        assert not any(
            row.startswith(line) and decided["object_id"] in row for row in candidates.splitlines()
        )
    checked = validate_catalogue(root)
    assert not [f for f in checked.findings if f.severity == "error"]
    assert export_proposals(api.store, root).written == []  # nothing left to export
