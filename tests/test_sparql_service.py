"""regcat.sparql: read-only SPARQL in worker processes, with time, row and byte limits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from regcat import sparql
from regcat.index import build_index
from regcat.io import dump_yaml
from regcat.layout import bundled_catalogue
from regcat.rdf import open_store
from regcat.sparql import (
    GRAPH_OFFERS,
    SOLUTION_OFFERS,
    SparqlError,
    SparqlService,
    negotiate,
    scan_query,
)

from .conftest import tiny_register, write_catalogue

P = """PREFIX regcat: <https://w3id.org/regcat/schema/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""
COUNT_REGISTERS = P + "SELECT (COUNT(?r) AS ?n) WHERE { ?r a regcat:Register }"
# 21k triples cubed: runs for hours unless killed.
PATHOLOGICAL = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SERVER_TIMEOUT = 1.5
MAX_ROWS = 100


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sparql") / "index"
    report = build_index(bundled_catalogue(), folder)
    assert report.written and not report.errors
    return folder


@pytest.fixture(scope="module")
def service(index):
    with SparqlService(index, timeout=SERVER_TIMEOUT, max_rows=MAX_ROWS, workers=2) as svc:
        svc.wait_ready(30)
        yield svc


def _count(result) -> int:
    solutions = ox.parse_query_results(result.content, format=ox.QueryResultsFormat.JSON)
    return int(next(iter(solutions))["n"].value)


def _pids(svc: SparqlService) -> set[int]:
    return {w["pid"] for w in svc.info()["workers"]}


def _gone(pid: int) -> bool:
    """Neither running nor a zombie: the pid no longer exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# --- answers ---------------------------------------------------------------------------


def test_select_counts_the_bundled_registers(service):
    result = service.query(COUNT_REGISTERS)
    registers = len(list((bundled_catalogue() / "registers").glob("*.yaml")))
    assert _count(result) == registers == 17
    assert result.media_type == "application/sparql-results+json"
    assert (result.rows, result.truncated, result.form) == (1, False, "SELECT")


def test_workers_start_quickly_and_see_every_graph(service):
    workers = service.info()["workers"]
    assert len(workers) == 2
    for worker in workers:
        assert worker["ready"] and worker["triples"] > 10_000
        assert worker["start_seconds"] < 10
    # The default graph is the union of the per-file named graphs.
    result = service.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert _count(result) == workers[0]["triples"]


def test_ask(service):
    yes = service.query(P + "ASK { ?r a regcat:Register }")
    no = service.query(P + "ASK { ?r a regcat:NoSuchThing }")
    assert yes.content == b'{"head":{},"boolean":true}' and yes.rows is None
    assert no.content == b'{"head":{},"boolean":false}' and yes.form == "ASK"
    xml = service.query("ASK {}", accept="application/sparql-results+xml")
    assert b"<boolean>true</boolean>" in xml.content
    assert service.query("ASK {}", accept="text/csv").content == b"true"


def test_construct_as_turtle_and_other_rdf_formats(service):
    query = (
        P
        + "CONSTRUCT { ?r dcterms:title ?t }"
        + " WHERE { ?r a regcat:Register ; dcterms:title ?t }"
    )
    turtle = service.query(query)
    assert turtle.media_type == "text/turtle" and turtle.form == "CONSTRUCT"
    assert b"@prefix register: <https://w3id.org/regcat/register/>" in turtle.content
    expected = set(ox.parse(turtle.content, format=ox.RdfFormat.TURTLE))
    assert len(expected) == turtle.rows and turtle.rows >= 16 and not turtle.truncated
    for accept, fmt in [
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("text/plain", ox.RdfFormat.N_TRIPLES),
    ]:
        result = service.query(query, accept=accept)
        assert result.media_type == fmt.media_type
        assert set(ox.parse(result.content, format=fmt)) == expected, accept


def test_describe(service):
    result = service.query("DESCRIBE <https://w3id.org/regcat/register/noric>")
    assert result.form == "DESCRIBE" and result.rows > 5
    assert b"register:noric" in result.content


ORDERED = (
    P
    + """SELECT ?v ?label ?min WHERE {
  ?v a regcat:Variable ; skos:prefLabel ?label .
  OPTIONAL { ?v regcat:min_value ?min }
} ORDER BY ?v ?label LIMIT 60"""
)
TRICKY = r"""SELECT ?a ?b ?t WHERE {
  VALUES (?a ?b) {
    (<http://x/a> "plain")
    ("hei"@nb "quote \" comma , lt < amp & gt > apos '")
    ("tab\tnewline\ncr\r" "æøå ☃")
    (42 -7)
    (2.50 1.0e3)
    (true false)
    ("x"^^<http://x/type> "1"^^<http://www.w3.org/2001/XMLSchema#string>)
    (UNDEF "")
  }
  OPTIONAL { BIND(<<( <http://x/s> <http://x/p> "o"@en )>> AS ?t) FILTER(isIRI(?a)) }
}"""


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        (None, ox.QueryResultsFormat.JSON),
        ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
        ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("text/csv", ox.QueryResultsFormat.CSV),
        ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
    ],
)
def test_select_formats_match_pyoxigraph_byte_for_byte(service, index, accept, fmt):
    # Rows are serialised by regcat (pyoxigraph cannot serialise a cut result), so check
    # them against pyoxigraph's own serialisers on the same store.
    store = open_store(index)
    for query in (ORDERED, TRICKY):
        result = service.query(query, accept=accept)
        own = store.query(query, use_default_graph_as_union=True).serialize(format=fmt)
        assert result.content == own, query
        assert result.media_type == fmt.media_type
        assert not result.truncated


def test_accept_negotiation():
    assert negotiate(None, SOLUTION_OFFERS) == "json"
    assert negotiate("", GRAPH_OFFERS) == "turtle"
    assert negotiate("*/*", SOLUTION_OFFERS) == "json"
    assert negotiate("text/csv;q=0.5, application/sparql-results+xml", SOLUTION_OFFERS) == "xml"
    assert negotiate("text/csv;q=0.9, text/*;q=0.1", SOLUTION_OFFERS) == "csv"
    assert negotiate("text/*", SOLUTION_OFFERS) == "csv"
    assert negotiate("application/json", SOLUTION_OFFERS) == "json"
    assert negotiate("application/json", GRAPH_OFFERS) == "jsonld"
    # The most specific range decides: JSON is refused even though */* is accepted.
    accept = "application/sparql-results+json;q=0, */*;q=0.5"
    assert negotiate(accept, SOLUTION_OFFERS) == "xml"
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert negotiate(browser, SOLUTION_OFFERS) == "json"
    assert negotiate(browser, GRAPH_OFFERS) == "turtle"
    assert negotiate("image/png", SOLUTION_OFFERS) is None
    assert negotiate("text/turtle;q=0", GRAPH_OFFERS) is None
    assert negotiate("garbage", SOLUTION_OFFERS) == "json"


def test_unacceptable_formats_are_406(service):
    with pytest.raises(SparqlError) as err:
        service.query(COUNT_REGISTERS, accept="image/png")
    assert err.value.status == 406
    with pytest.raises(SparqlError) as err:
        service.query(COUNT_REGISTERS, accept="text/turtle")
    assert err.value.status == 406
    with pytest.raises(SparqlError) as err:
        service.query("CONSTRUCT WHERE { ?s ?p ?o }", accept="text/csv")
    assert err.value.status == 406 and err.value.kind == "not_acceptable"


# --- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <http://x/a> <http://x/b> <http://x/c> }",
        "DELETE WHERE { ?s ?p ?o }",
        "PREFIX x: <http://x/>\nDELETE { ?s ?p ?o } INSERT { ?s x:p 1 } WHERE { ?s ?p ?o }",
        "WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "LOAD <http://example.org/data.ttl>",
        "CLEAR ALL",
        "DROP GRAPH <urn:regcat:file:registers/noric.yaml>",
        "CREATE GRAPH <http://x/g>",
        "ADD DEFAULT TO <http://x/g>",
        "MOVE <http://x/a> TO <http://x/b>",
        "COPY <http://x/a> TO <http://x/b>",
        "# a comment\n  insert data { <http://x/a> <http://x/b> 1 }",
        "SELECT * WHERE { ?s ?p ?o } ; INSERT DATA { <http://x/a> <http://x/b> 1 }",
    ],
)
def test_updates_are_refused(service, update):
    with pytest.raises(SparqlError) as err:
        service.query(update)
    assert (err.value.status, err.value.kind) == (400, "update")
    assert "updates are not allowed" in err.value.message
    assert _count(service.query(COUNT_REGISTERS)) == 17


def test_pyoxigraph_query_itself_refuses_updates(index):
    store = open_store(index)
    with pytest.raises(SyntaxError):
        store.query("DELETE WHERE { ?s ?p ?o }")
    assert len(store) > 10_000


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { service silent<http://127.0.0.1:1/>{ ?s ?p ?o } }",
        # pyoxigraph splits these into a SERVICE clause:
        "SELECT * WHERE { ?s ?p trueSERVICE <http://127.0.0.1:1/> { ?a ?b ?c } }",
        "SELECT * WHERE { ?s ?p 1SERVICE <http://127.0.0.1:1/> { ?a ?b ?c } }",
        "PREFIX : <http://127.0.0.1:1/> SELECT * WHERE { SERVICE:a { ?a ?b ?c } }",
        "SELECT * WHERE { ?s ?p ?o FILTER(?o<?s)SERVICE<http://127.0.0.1:1/>{?a ?b ?c} }",
    ],
)
def test_federated_queries_are_refused(service, query):
    with pytest.raises(SparqlError) as err:
        service.query(query)
    assert (err.value.status, err.value.kind) == (400, "service")


def test_the_word_service_elsewhere_is_fine(service):
    query = (
        'PREFIX x: <http://x/> SELECT ?service WHERE { BIND("SERVICE" AS ?service) '
        "FILTER(?service != <http://x/SERVICE> && ?service != x:service) } # a comment"
    )
    assert service.query(query).rows == 1
    # ... but not as a prefix, which pyoxigraph may read as the keyword (SERVICE:a).
    with pytest.raises(SparqlError) as err:
        service.query("PREFIX service: <http://x/> SELECT * WHERE { service:a ?p ?o }")
    assert err.value.kind == "service"


def test_workers_cannot_open_sockets_even_if_service_slips_through(service, monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    monkeypatch.setattr(sparql, "scan_query", lambda text: sparql._Scan("SELECT", None, False))
    query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{port}/> {{ ?s ?p ?o }} }}"
    with pytest.raises(SparqlError) as err:
        service.query(query)
    assert err.value.status == 500 and "Too many open files" in err.value.message
    with pytest.raises(TimeoutError):
        listener.accept()
    listener.close()
    assert _count(service.query(COUNT_REGISTERS)) == 17


def test_scan_query():
    assert scan_query("PREFIX a: <http://x/> BASE <http://y/> select * {}").form == "SELECT"
    assert scan_query("# SELECT\nASK {}").form == "ASK"
    assert scan_query('SELECT * { ?s ?p "INSERT DATA" }').update is None
    assert not scan_query("SELECT * { ?s ?p ?o } #SERVICE").service
    assert scan_query("SELECT * { ?s ?p ex:a\\# . SERVICE <u> {} }").service


@pytest.mark.parametrize(
    "text",
    ["-" * 99_000, "a." * 49_000, "<a" * 49_000, "a:" * 49_000, ("x:a.b ?v <i> 'str' 1.5 ") * 4000],
)
def test_scanning_takes_linear_time(text):
    started = time.monotonic()
    scan_query(text)
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("text", ['"' + '\\"' * 49_000, '"""' + "a" * 99_000, "SELECT ?x' {}"])
def test_a_quote_that_starts_no_string_is_a_syntax_error(service, text):
    started = time.monotonic()
    with pytest.raises(SparqlError) as err:
        service.query(text)
    assert (err.value.status, err.value.kind) == (400, "syntax")
    assert "unterminated string" in err.value.message and time.monotonic() - started < 0.5


def test_syntax_errors_carry_the_parser_message(service):
    with pytest.raises(SparqlError) as err:
        service.query("SELECT * WHERE { ?s ?p }")
    assert (err.value.status, err.value.kind) == (400, "syntax")
    assert err.value.message.startswith("SPARQL syntax error: error at 1:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("  \n\t ", "empty"),
        ("SELECT * WHERE { ?s ?p ?o } #" + "x" * 100_001, "limit is 100000"),
        ("SELECT * WHERE { ?s ?p '\ud800' }", "not valid Unicode"),
    ],
)
def test_bad_query_text(service, text, message):
    with pytest.raises(SparqlError) as err:
        service.query(text)
    assert err.value.status == 400 and message in err.value.message


@pytest.mark.parametrize(
    ("limit", "timeout"), [(0, None), (-5, None), (True, None), ("5", None), (None, 0), (None, -1)]
)
def test_bad_limits(service, limit, timeout):
    with pytest.raises(SparqlError) as err:
        service.query(COUNT_REGISTERS, limit=limit, timeout=timeout)
    assert err.value.status == 400


# --- limits ----------------------------------------------------------------------------

VARIABLES = P + "SELECT ?v WHERE { ?v a regcat:Variable } ORDER BY ?v"


def test_row_limit_lower_higher_and_exact(service):
    low = service.query(VARIABLES, limit=3, accept="text/tab-separated-values")
    assert (low.rows, low.truncated, low.limit) == (3, True, 3)
    assert low.content.count(b"\n") == 4  # header + 3 rows
    capped = service.query(VARIABLES, limit=10**9)
    assert (capped.rows, capped.truncated, capped.limit) == (MAX_ROWS, True, MAX_ROWS)
    solutions = ox.parse_query_results(capped.content, format=ox.QueryResultsFormat.JSON)
    assert len(list(solutions)) == MAX_ROWS
    exact = service.query(P + "SELECT ?r WHERE { ?r a regcat:Register }", limit=17)
    assert (exact.rows, exact.truncated) == (17, False)


def test_row_limit_applies_to_triples(service):
    result = service.query("CONSTRUCT WHERE { ?s ?p ?o }", accept="application/n-triples")
    assert (result.rows, result.truncated) == (MAX_ROWS, True)
    assert result.content.count(b"\n") == MAX_ROWS
    low = service.query("CONSTRUCT WHERE { ?s ?p ?o }", limit=7)
    assert len(set(ox.parse(low.content, format=ox.RdfFormat.TURTLE))) <= 7 and low.truncated


@pytest.fixture(scope="module")
def tight(index):
    """One worker and a small byte limit."""
    with SparqlService(index, timeout=SERVER_TIMEOUT, max_rows=50, max_bytes=3000) as svc:
        svc.wait_ready(30)
        yield svc


def test_byte_limit_cuts_answers_at_a_row(tight):
    result = tight.query(VARIABLES, accept="application/sparql-results+xml")
    assert result.truncated and 0 < result.rows < 50 and len(result.content) <= 3000
    solutions = ox.parse_query_results(result.content, format=ox.QueryResultsFormat.XML)
    assert len(list(solutions)) == result.rows
    for accept, fmt in [
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        ("application/rdf+xml", ox.RdfFormat.RDF_XML),
    ]:
        # Typed nodes: JSON-LD is larger than the N-Triples the first cut is based on.
        query = "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t }"
        triples = tight.query(query, accept=accept)
        assert triples.truncated and 0 < triples.rows < 50 and len(triples.content) <= 3000
        assert len(set(ox.parse(triples.content, format=fmt))) == triples.rows


def test_a_single_row_over_the_byte_limit_is_413(tight):
    big = "SELECT ?x WHERE { BIND(CONCAT(" + ", ".join(['"' + "x" * 500 + '"'] * 8) + ") AS ?x) }"
    with pytest.raises(SparqlError) as err:
        tight.query(big)
    assert (err.value.status, err.value.kind) == (413, "too_large")
    graph = big.replace("SELECT ?x WHERE", "CONSTRUCT { <http://x/s> <http://x/p> ?x } WHERE")
    with pytest.raises(SparqlError) as err:
        tight.query(graph)
    assert err.value.status == 413


# --- time limit, workers, concurrency ----------------------------------------------------


def test_pathological_query_times_out_and_a_fresh_worker_answers(service):
    before = _pids(service)
    for timeout, limit in ((60, SERVER_TIMEOUT), (0.5, 0.5)):  # 60: capped at the server max
        service.wait_ready(30)  # a worker's start is not part of the query's time
        started = time.monotonic()
        with pytest.raises(SparqlError) as err:
            service.query(PATHOLOGICAL, timeout=timeout)
        spent = time.monotonic() - started
        assert (err.value.status, err.value.kind) == (503, "timeout")
        assert limit <= spent < limit + 2, (timeout, spent)
    assert _count(service.query(COUNT_REGISTERS)) == 17
    after = _pids(service)
    assert len(after) == 2 and after != before
    assert all(_gone(pid) for pid in before - after)


def test_concurrent_queries_from_threads(service):
    results: list[int] = []
    errors: list[Exception] = []

    def run() -> None:
        try:
            for _ in range(5):
                results.append(_count(service.query(COUNT_REGISTERS)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [17] * 30


def test_a_stuck_worker_does_not_stop_the_other(service):
    service.wait_ready(30)
    stuck = threading.Thread(target=lambda: pytest.raises(SparqlError, service.query, PATHOLOGICAL))
    stuck.start()
    time.sleep(0.2)
    assert [_count(service.query(COUNT_REGISTERS)) for _ in range(5)] == [17] * 5
    assert stuck.is_alive()  # all five answered while the other worker was stuck
    stuck.join()


def test_all_workers_busy_is_503_busy(tight):
    stuck = threading.Thread(
        target=lambda: pytest.raises(SparqlError, tight.query, PATHOLOGICAL, timeout=0.8)
    )
    stuck.start()
    time.sleep(0.2)
    with pytest.raises(SparqlError) as err:
        tight.query(COUNT_REGISTERS, timeout=0.3)
    assert (err.value.status, err.value.kind) == (503, "busy")
    stuck.join()
    assert _count(tight.query(COUNT_REGISTERS)) == 17


def test_close_kills_a_running_query_and_leaves_no_child(index):
    svc = SparqlService(index, workers=2, timeout=30)
    svc.wait_ready(30)
    pids = _pids(svc)
    outcome: list[SparqlError] = []
    runner = threading.Thread(
        target=lambda: outcome.append(pytest.raises(SparqlError, svc.query, PATHOLOGICAL).value)
    )
    runner.start()
    time.sleep(0.3)
    started = time.monotonic()
    svc.close()
    runner.join(5)
    assert not runner.is_alive() and time.monotonic() - started < 3
    assert outcome[0].status == 503 and outcome[0].kind == "closed"
    assert all(_gone(pid) for pid in pids)
    with pytest.raises(SparqlError) as err:
        svc.query(COUNT_REGISTERS)
    assert err.value.kind == "closed"
    svc.close()  # twice is fine


def test_a_rebuilt_index_is_reloaded(tmp_path):
    root = write_catalogue(tmp_path / "cat")
    index = tmp_path / "index"
    build_index(root, index)
    with SparqlService(index, check_interval=0) as svc:
        assert _count(svc.query(COUNT_REGISTERS)) == 1
        beta = tiny_register(id="beta", variables=[], value_sets=[])
        (root / "registers" / "beta.yaml").write_text(dump_yaml(beta), encoding="utf-8")
        assert build_index(root, index).written
        assert _count(svc.query(COUNT_REGISTERS)) == 2
        assert svc.info()["generation"] == 1
        svc.reload()
        assert _count(svc.query(COUNT_REGISTERS)) == 2
        assert svc.info()["generation"] == 2
        # A full build is swapped into place; while the folder is gone nothing reloads.
        gone = index.with_name("swapped-out")
        index.rename(gone)
        assert _count(svc.query(COUNT_REGISTERS)) == 2
        gone.rename(index)
        gamma = tiny_register(id="gamma", variables=[], value_sets=[])
        (root / "registers" / "gamma.yaml").write_text(dump_yaml(gamma), encoding="utf-8")
        assert build_index(root, index, force=True).written
        assert _count(svc.query(COUNT_REGISTERS)) == 3
        assert svc.info()["generation"] == 3


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan is reaped by whatever pid 1 is, if at all)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


HOST = """
import os, sys
from pathlib import Path
from regcat.sparql import SparqlService
svc = SparqlService(Path(sys.argv[1]), workers=2, timeout=60)
svc.wait_ready(30)
Path(sys.argv[3]).write_text(" ".join(str(w["pid"]) for w in svc.info()["workers"]))
if sys.argv[2] == "crash":
    import threading
    threading.Thread(target=svc.query, args=(sys.argv[4],), daemon=True).start()
    import time; time.sleep(0.3)
    os._exit(3)  # no atexit, no finalizers: the workers must notice by themselves
"""


@pytest.mark.parametrize("how", ["exit", "crash"])
def test_workers_do_not_outlive_their_host(index, tmp_path, how):
    # No `if __name__ == "__main__"` guard needed in the host script either.
    script, pidfile, log = tmp_path / "host.py", tmp_path / "pids", tmp_path / "log"
    script.write_text(HOST, encoding="utf-8")
    with log.open("w") as stderr:
        subprocess.run(
            [sys.executable, str(script), str(index), how, str(pidfile), PATHOLOGICAL],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            timeout=30,
            cwd=Path(__file__).resolve().parents[1],
        )
    pids = [int(pid) for pid in pidfile.read_text().split()]
    assert len(pids) == 2, log.read_text()
    deadline = time.monotonic() + 3
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in pids if _running(pid)]
    for pid in left:  # don't leave them running if this fails
        os.kill(pid, 9)
    assert not left


def test_memory_limit_kills_a_greedy_query_not_the_service(index):
    with SparqlService(index, timeout=10, memory_limit=512 << 20) as svc:
        greedy = "SELECT ?a ?c ?d WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?c ?d LIMIT 1"
        with pytest.raises(SparqlError) as err:
            svc.query(greedy)
        assert (err.value.status, err.value.kind) == (500, "failed")
        assert _count(svc.query(COUNT_REGISTERS)) == 17
