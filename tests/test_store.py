"""The store on its own, on SQLite and PostgreSQL: tokens, compare-and-set versions
under real concurrency, history, and bad database URLs."""

from __future__ import annotations

import threading

import pytest

from regcat.errors import RegcatError
from regcat.store import PreconditionFailed, open_store
from regcat.store import mappings as decisions
from regcat.store import proposals as P
from regcat.store.users import add_user, authenticate, hash_token, list_users, revoke_user
from tests.api_fixtures import database_url  # noqa: F401


@pytest.fixture
def store(database_url):  # noqa: F811
    made = open_store(database_url)
    yield made
    made.close()


def _draft(n: int = 1) -> P.ProposalDraft:
    return P.ProposalDraft("noric", f"noric:X{n}", "new", {"id": f"noric:X{n}"}, None, "why", {})


def test_tokens_are_hashed_and_revocable(store):
    token = add_user(store, "kari", "owner", "noric")
    who = authenticate(store, token)
    assert who is not None and (who.role, who.register_id) == ("owner", "noric")
    [user] = list_users(store)
    assert user.token_hash == hash_token(token) and token not in user.token_hash
    assert authenticate(store, token + "x") is None
    assert revoke_user(store, "kari") and authenticate(store, token) is None
    again = add_user(store, "kari", "coordinator")  # a revoked name can be given out anew
    assert authenticate(store, again).role == "coordinator" and authenticate(store, token) is None


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("a b", "admin"), "user name"),
        (("x", "king"), "role"),
        (("x", "owner"), "needs --register"),
        (("x", "admin", "noric"), "owners only"),
    ],
)
def test_bad_users(store, args, needle):
    with pytest.raises(RegcatError, match=needle):
        add_user(store, *args)


def test_only_one_of_many_concurrent_writers_wins(store):
    owner = authenticate(store, add_user(store, "owner", "owner", "noric"))
    coord = authenticate(store, add_user(store, "coord", "coordinator"))
    proposal = P.create(store, owner, _draft())
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def act(i: int) -> None:
        barrier.wait()
        try:
            P.act(store, coord, proposal.id, "accept" if i % 2 else "comment", 1, f"#{i}")
            outcomes.append("ok")
        except PreconditionFailed:
            outcomes.append("412")

    threads = [threading.Thread(target=act, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1 and outcomes.count("412") == 7
    assert [e.version for e in P.history(store, proposal.id)] == [1, 2]


def test_first_decisions_on_a_candidate_race_safely(store):
    coord = authenticate(store, add_user(store, "coord", "coordinator"))
    candidate = {
        "key": decisions.candidate_key("m.tsv", "a:1", "skos:exactMatch", "b:1"),
        "file": "mappings/candidates.sssom.tsv",
        "subject_id": "a:1",
        "predicate_id": "skos:exactMatch",
        "object_id": "b:1",
    }
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def act() -> None:
        barrier.wait()
        try:
            decisions.act(store, coord, candidate, "approve", 0)
            outcomes.append("ok")
        except PreconditionFailed:
            outcomes.append("412")

    threads = [threading.Thread(target=act) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert decisions.decisions(store)[candidate["key"]].status == "approved"


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://u@h/db", "unsupported database"),
        ("not a url", "not a database URL"),
        ("postgresql://nobody:secret@127.0.0.1:1/none", "cannot open the database"),
    ],
)
def test_bad_database_urls_are_one_clear_error(url, needle):
    with pytest.raises(RegcatError, match=needle) as caught:
        open_store(url)
    assert "secret" not in str(caught.value)
