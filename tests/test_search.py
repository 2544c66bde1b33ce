"""regcat.search: full text, codes, typo tolerance, facets, filters, paging, hostile input."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

import regcat.search as search_module
from regcat.errors import RegcatError
from regcat.index import build_index, open_index
from regcat.io import dump_yaml
from regcat.search import FACETS, MAX_QUERY_CHARS, SearchResult, search, warm

from .conftest import REPO, tiny_register, write_catalogue

HIT_KEYS = {
    "id",
    "register_id",
    "form",
    "label",
    "datatype",
    "topic",
    "status",
    "collection_mode",
    "value_set",
    "score",
    "matched",
}


def search_registers() -> list[dict]:
    alpha = tiny_register()
    alpha["variables"][0]["collection_mode"] = "manual"
    alpha["variables"] += [
        {
            "id": "alpha:OSTROGEN",
            "form": "basis",
            "label": {"nb": "Østrogenbehandling", "en": "Oestrogen therapy"},
            "datatype": "boolean",
            "codings": [{"system": "ATC", "code": "G03CA03"}],
            "topic": "medication",
            "status": "draft",
            "collection_mode": "fetched_from_key_register",
        },
        {
            "id": "alpha:PROSEDYRE",
            "form": "basis",
            "label": {"nb": "Prosedyrekode", "en": "Procedure code"},
            "datatype": "string",
            "codings": [{"system": "NCSP", "code": "NFQ19"}],
            "topic": "procedure",
            "status": "accepted",
            "collection_mode": "manual",
        },
        {
            "id": "alpha:PROTESE",
            "form": "basis",
            "label": {"nb": "Protese", "en": "Prosthesis"},
            "datatype": "string",
            "codings": [{"system": "NCSP", "code": "NFB40"}],
            "topic": "procedure",
            "status": "accepted",
            "collection_mode": "manual",
        },
        {
            "id": "alpha:DIABETES",
            "form": "basis",
            "label": {"nb": "Diabetes", "en": "Diabetes"},
            "datatype": "boolean",
            "topic": "diagnosis",
            "status": "accepted",
            "collection_mode": "manual",
        },
        {
            "id": "alpha:BLODSUKKER",
            "form": "basis",
            "label": {"nb": "Blodsukker", "en": "Blood glucose"},
            "definition": {
                "nb": "Fastende blodsukker hos pasienter med diabetes.",
                "en": "Fasting blood glucose in patients with diabetes.",
            },
            "datatype": "string",
            "topic": "laboratory",
            "status": "proposed",
            "collection_mode": "automated_from_ehr",
        },
        {
            "id": "alpha:SVAR",
            "form": "basis",
            "label": {"nb": "Infarkttype", "en": "Type of infarction"},
            "datatype": "coded",
            "value_set": "alpha:SVAR",
            "topic": "diagnosis",
            "status": "accepted",
            "collection_mode": "manual",
        },
    ]
    alpha["value_sets"].append(
        {
            "id": "alpha:SVAR",
            "codes": [
                {"code": "1", "label": {"nb": "Hjerteinfarkt"}, "meaning": "SCTID:22298006"},
                {"code": "2", "label": {"nb": "Annet"}},
            ],
        }
    )
    beta = {
        "id": "beta",
        "name": {"nb": "Betaregisteret", "en": "The Beta Register"},
        "kind": "national_medical_quality_register",
        "forms": [{"id": "inn", "name": {"nb": "Innleggelse"}}],
        "variables": [
            {
                "id": "beta:DIAGNOSE",
                "form": "inn",
                "label": {"nb": "Diagnose ved innleggelse", "en": "Diagnosis at admission"},
                "datatype": "string",
                "codings": [
                    {"system": "ICD10", "code": "I21.4"},
                    {"system": "SCTID", "code": "22298006"},
                ],
                "topic": "diagnosis",
                "status": "accepted",
                "collection_mode": "fetched_from_key_register",
            },
            {
                "id": "beta:ROYK",
                "form": "inn",
                "label": {"nb": "Røykestatus", "en": "Smoking status"},
                "datatype": "string",
                "topic": "lifestyle",
                "status": "retired",
                "collection_mode": "manual",
            },
        ],
    }
    return [alpha, beta]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("search-tiny")
    write_catalogue(root / "cat", search_registers())
    report = build_index(root / "cat", root / "index")
    assert report.written and not report.errors, [f.render() for f in report.errors]
    return root / "index"


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("search-bundled")
    report = build_index(REPO / "catalogue", root / "index")
    assert report.written and not report.errors
    return root / "index"


@pytest.fixture
def tdb(tiny):
    db = open_index(tiny)
    yield db
    db.close()


@pytest.fixture
def bdb(bundled):
    db = open_index(bundled)
    yield db
    db.close()


def ids(result: SearchResult) -> list[str]:
    return [hit["id"] for hit in result.hits]


# -- full text ------------------------------------------------------------------------


def test_hits_have_the_documented_shape(bdb):
    result = search(bdb, "hjerteinfarkt")
    assert result.total >= 5 and result.query == "hjerteinfarkt" and result.corrected is None
    assert set(result.facets) == set(FACETS)
    for hit in result.hits:
        assert set(hit) == HIT_KEYS
        assert set(hit["label"]) == {"nb", "en"}
        assert isinstance(hit["score"], float) and hit["score"] > 0
        assert hit["matched"], hit
    scores = [hit["score"] for hit in result.hits]
    assert scores == sorted(scores, reverse=True)
    json.dumps(result.to_dict())


def test_prefix_finds_longer_words(bdb):
    whole = set(ids(search(bdb, "hjerteinfarkt", limit=200)))
    prefix = search(bdb, "hjerte", limit=200)
    assert whole and whole <= set(ids(prefix))
    assert prefix.total > len(whole)


def test_label_outranks_definition(tdb):
    result = search(tdb, "diabetes")
    assert ids(result) == ["alpha:DIABETES", "alpha:BLODSUKKER"]
    assert result.hits[0]["matched"] == ["label"]
    assert result.hits[1]["matched"] == ["definition"]


@pytest.mark.parametrize("q", ["ostrogen", "østrogen", "Østrogen", "ØSTROGENBEHANDLING", "oestro"])
def test_diacritics_and_case_do_not_matter(tdb, q):
    assert ids(search(tdb, q)) == ["alpha:OSTROGEN"]


def test_several_words_must_all_match(tdb):
    assert ids(search(tdb, "diagnose innleggelse")) == ["beta:DIAGNOSE"]
    assert search(tdb, "diagnose røyk").total == 0


# -- codes ------------------------------------------------------------------------------


def test_code_finds_codings_and_value_set_meanings(tdb):
    assert set(ids(search(tdb, "I21"))) == {"alpha:DIAG", "beta:DIAGNOSE"}
    assert set(ids(search(tdb, "I21.4"))) == {"alpha:DIAG", "beta:DIAGNOSE"}
    assert set(ids(search(tdb, "i21"))) == {"alpha:DIAG", "beta:DIAGNOSE"}
    assert ids(search(tdb, "G03CA03")) == ["alpha:OSTROGEN"]
    hit = search(tdb, "I21").hits[0]
    assert "codes" in hit["matched"]


def test_curie_finds_coding_and_meaning_without_syntax_errors(tdb):
    found = set(ids(search(tdb, "SCTID:22298006")))
    # a coding (alpha:INFARKT, beta:DIAGNOSE) or a value-set meaning (alpha:SVAR)
    assert found == {"alpha:INFARKT", "beta:DIAGNOSE", "alpha:SVAR"}
    assert set(ids(search(tdb, "ICD10:I21"))) == {"alpha:DIAG", "beta:DIAGNOSE"}
    assert set(ids(search(tdb, "ICD10:I21.4"))) == {"alpha:DIAG", "beta:DIAGNOSE"}
    assert search(tdb, "ICD10:I50").total == 0
    for q in ("SCTID:", ":", "a:b:c", "ICD10::I21", "http://snomed.info/id/22298006"):
        search(tdb, q)  # never an FTS5 syntax error


def test_code_prefix_finds_the_procedure_family(tdb):
    assert ids(search(tdb, "NFQ")) == ["alpha:PROSEDYRE"]
    assert ids(search(tdb, "nfb")) == ["alpha:PROTESE"]


def test_code_search_in_the_bundled_catalogue(bdb):
    assert "nhir:innleggelsesdato" in ids(search(bdb, "I21"))


# -- typo tolerance -----------------------------------------------------------------------


def test_typo_is_corrected_to_the_closest_term(bdb):
    result = search(bdb, "hjerteinfrakt")
    assert result.corrected == "hjerteinfarkt"
    assert set(ids(result)) == set(ids(search(bdb, "hjerteinfarkt")))
    result = search(bdb, "diabetis")
    assert result.corrected == "diabetes" and result.total > 0
    assert all("diabetes" in h["id"].lower() or h["matched"] for h in result.hits)


def test_typo_in_one_of_several_words(tdb):
    result = search(tdb, "diagnose innlegelse")
    assert result.corrected == "diagnose innleggelse"
    assert ids(result) == ["beta:DIAGNOSE"]


def test_no_correction_when_something_matches_or_for_codes(tdb):
    assert search(tdb, "diabetes").corrected is None
    result = search(tdb, "I22")  # a code that is not there is not "corrected" to I21
    assert result.total == 0 and result.corrected is None
    assert search(tdb, "xqzwvk").corrected is None


# -- facets and filters -------------------------------------------------------------------


def test_facet_counts_cover_the_whole_match_not_the_page(bdb):
    result = search(bdb, None, limit=1)
    assert result.total == bdb.execute("SELECT count(*) FROM variables").fetchone()[0]
    assert len(result.hits) == 1
    assert sum(result.facets["register"].values()) == result.total
    assert result.facets["register"]["noric"] > 800


@pytest.mark.parametrize("q", [None, "hjerte", "dato", "I21"])
def test_facet_counts_equal_the_hits_of_each_value(bdb, q):
    result = search(bdb, q)
    assert result.total > 0
    for facet in FACETS:
        for value, count in result.facets[facet].items():
            assert search(bdb, q, {facet: [value]}).total == count, (facet, value)


def test_code_system_counts_a_variable_once_per_system(tdb):
    result = search(tdb, None)
    # beta:DIAGNOSE has ICD10 and SCTID codings; alpha:DIAG one ICD10 coding
    assert result.facets["code_system"] == {"ICD10": 2, "NCSP": 2, "SCTID": 2, "ATC": 1}
    assert ids(search(tdb, None, {"code_system": ["SCTID"]})) == ["alpha:INFARKT", "beta:DIAGNOSE"]


def test_filters_or_within_a_facet_and_across_facets(tdb):
    diagnosis = set(ids(search(tdb, None, {"topic": ["diagnosis"]})))
    assert diagnosis == {"alpha:DIAG", "alpha:DIABETES", "alpha:SVAR", "beta:DIAGNOSE"}
    either = set(ids(search(tdb, None, {"topic": ["diagnosis", "procedure"]})))
    assert either == diagnosis | {"alpha:PROSEDYRE", "alpha:PROTESE"}
    both = search(tdb, None, {"topic": ["diagnosis"], "register": ["beta"]})
    assert ids(both) == ["beta:DIAGNOSE"]
    # drill-down: the counts are those of the filtered set
    assert both.facets["register"] == {"beta": 1}
    assert both.facets["topic"] == {"diagnosis": 1}
    assert search(tdb, "I21", {"register": ["alpha"]}).total == 1
    assert search(tdb, None, {"status": "retired"}).total == 1  # one value as text
    assert search(tdb, None, {"status": ["no-such-status"]}).total == 0
    assert search(tdb, None, {"status": []}).total == search(tdb, None).total


def test_unknown_filter_names_the_facet_and_the_allowed_ones(tdb):
    with pytest.raises(RegcatError) as err:
        search(tdb, "x", {"registry": ["alpha"]})
    assert "registry" in err.value.message
    assert all(name in err.value.message for name in FACETS)
    with pytest.raises(RegcatError, match="must be text"):
        search(tdb, None, {"topic": [1]})  # type: ignore[list-item]


def test_empty_query_browses_in_id_order(tdb):
    for q in (None, "", "   "):
        result = search(tdb, q, limit=200)
        assert ids(result) == sorted(ids(result)) and result.total == 10
        assert all(hit["score"] is None and hit["matched"] == [] for hit in result.hits)
    assert search(tdb, "").query is None


# -- paging ---------------------------------------------------------------------------


def pages(db, q, filters=None, size=7, total=None):
    out, offset = [], 0
    while True:
        result = search(db, q, filters, limit=size, offset=offset)
        total = result.total if total is None else total
        assert result.total == total
        if not result.hits:
            return out, total
        out += ids(result)
        offset += size


@pytest.mark.parametrize(
    ("q", "filters"), [(None, None), ("hjerte", None), ("angio", {"status": ["accepted"]})]
)
def test_paging_is_stable_and_complete(bdb, q, filters):
    paged, total = pages(bdb, q, filters)
    assert len(paged) == len(set(paged)) == total
    assert paged == ids(search(bdb, q, filters, limit=200))[: len(paged)] or total > 200


def test_paging_past_the_ranking_cap(bdb, monkeypatch):
    monkeypatch.setattr(search_module, "RANK_CAP", 5)
    search_module._INDEXES.clear()
    try:
        paged, total = pages(bdb, "angio", size=4)
        assert total > 20
        assert len(paged) == len(set(paged)) == total
        first = search(bdb, "angio", limit=20)
        assert ids(first) == paged[:20]
        assert all(hit["score"] is not None for hit in first.hits)
        ranked = [hit["score"] for hit in first.hits[:5]]
        assert ranked == sorted(ranked, reverse=True)
        filtered, ftotal = pages(bdb, "angio", {"register": ["noric"]}, size=6)
        assert len(filtered) == len(set(filtered)) == ftotal
        # the ranked candidates are exactly the head of the shortest-first order
        cur = search_module._cursor(bdb)
        index = search_module._index(cur)
        for q in ("angio", "dato", "tavi"):
            bits = index.match(cur, search_module._expression(search_module._words(q)))
            total = bits.bit_count()
            for count in (1, 5, 17, total):
                head = index.first_in_order(cur, bits, total, count)
                assert index.shortest(cur, bits, count) == sorted(head)
    finally:
        search_module._INDEXES.clear()


def test_offset_past_the_end_is_an_empty_page(tdb):
    result = search(tdb, None, offset=100)
    assert result.total == 10 and result.hits == []


# -- limits and hostile input ------------------------------------------------------------

HOSTILE = [
    '" OR 1=1 --',
    "NEAR(",
    "NEAR(a b, 2)",
    "*",
    ")(",
    '"',
    '"""',
    "'",
    'hjerte"',
    '"hjerte',
    "hjerte*",
    "a AND",
    "AND",
    "OR NOT",
    "-hjerte",
    "^hjerte",
    "label:hjerte",
    "{label definition}: hjerte",
    "'; DROP TABLE variables; --",
    "SELECT * FROM variables",
    "x" * MAX_QUERY_CHARS,
    "a\x00b",
    "\x00",
    "🫀",
    "🫀hjerte💔",
    "\ud800",
    "hjerte\udfff",
    "\u202e\u200b",
    "%_\\",
    "$(rm -rf /)",
    "<script>alert(1)</script>",
    "中文 العربية",
    "İstanbul ﬁ Ⅻ",
    "\t\n\r",
    " ".join(f"w{i}" for i in range(32)),
    " ".join(["ab"] * 100),
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_text_is_searched_as_text(tdb, q):
    result = search(tdb, q)
    assert result.total >= 0 and len(result.hits) <= result.total
    body = json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")  # no surrogates
    assert b"\\u0000" not in body
    assert search(tdb, None).total == 10  # and the index is intact


def test_hostile_text_finds_what_it_contains(tdb):
    assert ids(search(tdb, '"diabetes')) == ["alpha:DIABETES", "alpha:BLODSUKKER"]
    assert ids(search(tdb, "🫀røyk")) == ["beta:ROYK"]
    assert search(tdb, "a\x00b").query == "ab"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"q": "x" * (MAX_QUERY_CHARS + 1)}, "500"),
        ({"q": "x" * 10_000}, "at most 500"),
        ({"q": " ".join(f"w{i}" for i in range(33))}, "at most 32"),
        ({"q": 5}, "must be text"),
        ({"q": None, "limit": 0}, "1 to 200"),
        ({"q": None, "limit": 201}, "1 to 200"),
        ({"q": None, "limit": "20"}, "1 to 200"),
        ({"q": None, "offset": -1}, "offset"),
        ({"q": None, "offset": 10**9}, "offset"),
        ({"q": None, "filters": ["topic"]}, "filters"),
    ],
)
def test_limits_are_clean_errors(tdb, kwargs, message):
    with pytest.raises(RegcatError) as err:
        search(tdb, **kwargs)
    assert message in err.value.message


# -- the index and its caches -----------------------------------------------------------


def test_a_rebuild_is_seen_at_once(tmp_path):
    registers = search_registers()
    root = write_catalogue(tmp_path / "cat", registers)
    index = tmp_path / "index"
    build_index(root, index)
    db = open_index(index)
    assert ids(search(db, "blodsukker")) == ["alpha:BLODSUKKER"]
    registers[0]["variables"][-2]["label"]["nb"] = "Glukose i blod"
    (root / "registers" / "alpha.yaml").write_text(dump_yaml(registers[0]), encoding="utf-8")
    report = build_index(root, index)
    assert report.parsed == ["registers/alpha.yaml"]
    assert search(db, "glukose").total == 1  # same connection, new generation
    assert search(db, "blodsukker").hits[0]["label"]["nb"] == "Glukose i blod"
    (root / "registers" / "beta.yaml").unlink()
    build_index(root, index)
    assert search(db, None).total == 8
    assert "beta" not in search(db, None).facets["register"]
    db.close()


def test_an_older_index_and_a_query_only_connection(tmp_path):
    root = write_catalogue(tmp_path / "cat", search_registers())
    build_index(root, tmp_path / "index")
    raw = sqlite3.connect(tmp_path / "index" / "regcat.sqlite")
    raw.executescript("DROP INDEX variables_search; DELETE FROM meta WHERE key = 'generation';")
    raw.close()
    db = open_index(tmp_path / "index")
    db.execute("PRAGMA query_only=ON")  # as the API opens it
    warm(db)
    result = search(db, "I21", {"register": ["beta"]})
    assert ids(result) == ["beta:DIAGNOSE"]
    assert result.facets["code_system"] == {"ICD10": 1, "SCTID": 1}
    assert search(db, "infrakt").corrected == "infarkt"  # vocabulary read aside
    db.close()


def test_incremental_builds_keep_id_order_and_facets(tmp_path):
    registers = search_registers()
    root = write_catalogue(tmp_path / "cat", registers)
    index = tmp_path / "index"
    build_index(root, index)
    registers[1]["variables"].append(
        {
            "id": "beta:AAA",
            "form": "inn",
            "label": {"nb": "Første variabel", "en": "First variable"},
            "datatype": "string",
            "topic": "other",
        }
    )
    (root / "registers" / "beta.yaml").write_text(dump_yaml(registers[1]), encoding="utf-8")
    build_index(root, index)
    db = open_index(index)
    browse = search(db, None, limit=200)
    assert ids(browse) == sorted(ids(browse)) and "beta:AAA" in ids(browse)
    assert browse.facets["topic"]["other"] == 1
    assert ids(search(db, "forste")) == ["beta:AAA"]
    assert search(db, "variabl").total == 1
    db.close()


def test_concurrent_searches_agree(bundled):
    queries = ["hjerte", "dato", "I21", None, "diabetis", "pasient"]
    db = open_index(bundled)
    expected = {q: (search(db, q).total, ids(search(db, q))) for q in queries}
    db.close()
    problems: list[str] = []

    start = threading.Barrier(4)

    def worker() -> None:
        conn = open_index(bundled)
        start.wait()
        try:
            for _ in range(5):
                for q in queries:
                    try:
                        r = search(conn, q)
                    except Exception as exc:  # noqa: BLE001 - reported below
                        problems.append(f"{q!r}: {exc!r}")
                        continue
                    if (r.total, ids(r)) != expected[q]:
                        problems.append(repr(q))
        finally:
            conn.close()

    search_module._INDEXES.clear()  # all threads start cold, on the same queries
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == []


def test_search_leaves_the_connection_as_it_found_it(tdb):
    assert not tdb.in_transaction
    search(tdb, "hjerte")
    assert not tdb.in_transaction
    tdb.execute("BEGIN")
    search(tdb, "hjerte")
    assert tdb.in_transaction
    tdb.rollback()


def test_results_are_copies_of_what_is_cached(tdb):
    first = search(tdb, "diabetes")
    first.hits[0]["label"]["nb"] = "changed"
    first.hits[0]["matched"].append("x")
    first.facets["register"]["alpha"] = 99
    again = search(tdb, "diabetes")
    assert again.hits[0]["label"]["nb"] == "Diabetes"
    assert again.hits[0]["matched"] == ["label"]
    assert again.facets["register"] == {"alpha": 2}


def test_tiny_cache_budgets_give_the_same_answers(bdb, monkeypatch):
    queries = [("hjerte", None, 0), ("angio", {"status": ["accepted"]}, 5), (None, None, 7)]
    expected = [
        (r.total, ids(r), r.facets) for r in (search(bdb, *q[:2], offset=q[2]) for q in queries)
    ]
    monkeypatch.setattr(search_module, "MATCHES_BUDGET", 1)
    monkeypatch.setattr(search_module, "FOUND_BUDGET", 1)
    search_module._INDEXES.clear()
    try:
        for _ in range(2):
            got = [
                (r.total, ids(r), r.facets)
                for r in (search(bdb, *q[:2], offset=q[2]) for q in queries)
            ]
            assert got == expected
        index = search_module._index(search_module._cursor(bdb))
        assert len(index.found.data) == 1 and len(index.matches.data) == 1
    finally:
        search_module._INDEXES.clear()


def test_words_matched_alone_before_combine_to_the_same_answer(tdb):
    index = search_module._index(search_module._cursor(tdb))
    index.matches.clear()
    index.found.clear()
    cold = search(tdb, "diagnose innleggelse")
    index.matches.clear()
    index.found.clear()
    search(tdb, "diagnose")
    search(tdb, "innleggelse")
    warm = search(tdb, "diagnose innleggelse")
    assert (warm.total, ids(warm), warm.facets) == (cold.total, ids(cold), cold.facets)
    assert search(tdb, "diabetes diagnose").total == 0
