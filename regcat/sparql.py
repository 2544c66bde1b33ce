"""Read-only SPARQL over a built index, with a time limit, a row limit and a byte limit.

The HTTP API's SPARQL 1.1 Protocol endpoint calls `SparqlService.query`; the service does
everything that is not HTTP: checking the query text, refusing updates and federated
queries, content negotiation, the limits, and answering the query.

Why worker processes: pyoxigraph cannot interrupt a running query, and a pathological one
(a cross product, `?s ?p ?o` joined three times, a `*` property path) runs for minutes in
Rust. Each worker is a process that loads the index's N-Triples into its own in-memory
store once (`regcat.rdf.open_store`) and answers queries over a socket pair, serialising
the result itself so that only bytes cross. When a query passes its deadline the service
kills that worker (SIGKILL), answers with a timeout error and starts a fresh worker at
once, which loads in the background while the next query waits for a free one.

Workers are started with `subprocess` (fork+exec of `python -c`), not `multiprocessing`:
exec is as safe as "spawn" from a threaded server, and unlike "spawn"/"forkserver" it does
not run the host's `__main__` module again in every worker (a script without an
`if __name__ == "__main__"` guard would crash, and under pytest or uvicorn every start
paid for importing them). A worker exits by itself when the pipe closes or, even in the
middle of a query, when its parent process is gone. POSIX only (`pass_fds`).

Limits a client can only lower, never raise: the time limit (`timeout`), the number of rows
(solutions for SELECT, triples for CONSTRUCT/DESCRIBE: `max_rows`) and the size of the
serialised answer (`max_bytes`). A result cut at the row or byte limit is still a valid
document and comes back with `SparqlResult.truncated` set, for the API to pass on in a
header (the SPARQL JSON/XML/CSV formats have no place for it). Optionally `memory_limit`
caps each worker's address space (RLIMIT_AS); a query that needs more kills its worker.

HTTP status of each `SparqlError` (and its `kind`, for the API to tell them apart):

* 400 — empty query, query text too long or not valid Unicode, bad `limit`/`timeout`
  (``bad_request``); a syntax error, with the parser's message (``syntax``); SPARQL Update
  (``update``); a SERVICE clause (``service``).
* 406 — no format the client accepts fits the query form (``not_acceptable``).
* 413 — not even the first row or triple fits in `max_bytes` (``too_large``); larger
  answers are otherwise cut at the last row that fits.
* 500 — the query failed while running, or its worker died, e.g. out of memory
  (``failed``).
* 503 — the query ran past its time limit (``timeout``); no worker became free within the
  time limit (``busy``); the workers cannot load the index (``unavailable``); the service
  is closed (``closed``). 503 rather than 408: 408 says the *client* was too slow to send
  its request, while here the server gave up on it.

Read-only by construction: a worker only ever calls `Store.query`, which does not parse
update syntax; the service refuses update keywords before that so the client gets a clear
message instead of pyoxigraph's "error at 1:10: expected CONSTRUCT".

Federated queries are refused: pyoxigraph sends `SERVICE <url>` to the url over HTTP, so
any client could make the server send requests anywhere (SSRF). The check in the parent
is lexical and deliberately broad, because pyoxigraph's parser splits tokens surprisingly
(`?s ?p trueSERVICE <u> {…}` and `PREFIX : <u> … SERVICE:a {…}` both run a SERVICE call).
Behind it each worker, once its store is loaded, lowers its open-file limit so that it
cannot open any new file or socket at all.

Reloading: before dispatching a query (at most every `check_interval` seconds) the service
compares a fingerprint of `<index>/rdf/**/*.nt` (names, inodes, sizes, mtimes) with the one
its workers loaded, and replaces them when the index was rebuilt; `reload()` forces this.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

MAX_QUERY_BYTES = 100_000
DEFAULT_MAX_BYTES = 16 * 1024 * 1024

UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY"}
)
QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})

# (media type a client may ask for, format name); the first is the default. Answers carry
# the canonical media type of the format (`_MEDIA_TYPES`), not the alias asked for.
SOLUTION_OFFERS = (
    ("application/sparql-results+json", "json"),
    ("application/sparql-results+xml", "xml"),
    ("text/csv", "csv"),
    ("text/tab-separated-values", "tsv"),
    ("application/json", "json"),
)
GRAPH_OFFERS = (
    ("text/turtle", "turtle"),
    ("application/n-triples", "ntriples"),
    ("application/rdf+xml", "rdfxml"),
    ("application/ld+json", "jsonld"),
    ("application/x-turtle", "turtle"),
    ("text/plain", "ntriples"),
    ("application/json", "jsonld"),
)
_MEDIA_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "rdfxml": "application/rdf+xml",
    "jsonld": "application/ld+json",
}


class SparqlError(Exception):
    """A query the service will not or could not answer; `status` is the HTTP status."""

    def __init__(self, status: int, message: str, kind: str = "bad_request") -> None:
        self.status = status
        self.message = message
        self.kind = kind
        super().__init__(message)


@dataclass(frozen=True)
class SparqlResult:
    content: bytes
    media_type: str  # canonical, with "; charset=utf-8" for CSV and TSV
    rows: int | None  # solutions or triples in `content`; None for ASK
    truncated: bool  # cut at the row limit or the byte limit
    form: str | None = None  # SELECT, ASK, CONSTRUCT or DESCRIBE
    limit: int | None = None  # the row limit that applied
    seconds: float = 0.0  # time in the worker


# --- the query text ------------------------------------------------------------------

_LOCAL_ESC = r"\\[_~.\-!$&'()*+,;=/?#@%]"
_LEX = re.compile(
    "|".join(
        [
            r"(?P<ws>\s+)",
            r"(?P<comment>#[^\r\n]*)",
            r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""'
            r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
            r'|"(?:[^"\\\r\n]|\\.)*"'
            r"|'(?:[^'\\\r\n]|\\.)*')",
            r'(?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)',
            r"(?P<var>[?$][\w\u00B7\u0300-\u036F\u203F\u2040]*)",
            rf"(?P<pname>(?:\w[\w\-.\u00B7]*)?:(?:[\w\-.:%\u00B7\u0300-\u036F\u203F\u2040]|{_LOCAL_ESC})*)",
            # The same characters as a prefix: when `pname` fails on a run of them, `word`
            # takes the whole run, so no run is scanned twice (no quadratic time).
            r"(?P<word>\w[\w\-.\u00B7]*)",
            r"(?P<quote>[\"'])",
            r"(?P<other>.)",
        ]
    ),
    re.DOTALL,
)


@dataclass(frozen=True)
class _Scan:
    form: str | None  # the first keyword after the prologue, upper-cased
    update: str | None  # an update keyword found in the text
    service: bool  # anything that could be a SERVICE clause


def scan_query(text: str) -> _Scan:
    """What a query is, from its tokens (comments, strings, IRIs and variables skipped).
    Raises SparqlError for a quote that starts no string: the query is not SPARQL, and
    scanning on from every such quote could take quadratic time."""
    form: str | None = None
    update: str | None = None
    service = False
    prologue = True
    for match in _LEX.finditer(text):
        kind = match.lastgroup
        token = match.group()
        if kind == "pname":
            # pyoxigraph reads `SERVICE:a` as `SERVICE :a`; a prefix is never a keyword.
            service = service or "SERVICE" in token.partition(":")[0].upper()
        elif kind == "word":
            upper = token.upper()
            # pyoxigraph's keywords need no boundary (`trueSERVICE <u> {}` is a SERVICE).
            service = service or "SERVICE" in upper
            if upper in UPDATE_KEYWORDS and update is None:
                update = upper
            if prologue and upper not in ("BASE", "PREFIX"):
                form = upper
                prologue = False
        elif kind == "quote":
            line = text.count("\n", 0, match.start()) + 1
            raise SparqlError(
                400, f"SPARQL syntax error: unterminated string on line {line}", "syntax"
            )
        elif kind in ("string", "var", "other") and prologue:
            prologue = False
    return _Scan(form, update, service)


# --- content negotiation -----------------------------------------------------------------


def _accept_ranges(accept: str | None) -> list[tuple[str, str, float]]:
    ranges = []
    for part in (accept or "").split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        if media == "*":
            media = "*/*"
        main, _, sub = media.partition("/")
        if not main or not sub:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
                q = min(max(q, 0.0), 1.0) if math.isfinite(q) else 0.0
        ranges.append((main.strip(), sub.strip(), q))
    return ranges


def negotiate(accept: str | None, offers: tuple[tuple[str, str], ...]) -> str | None:
    """The format to answer in, from an HTTP Accept value: the offer with the highest
    q-value, each offer taking the q of the most specific range matching it, ties going to
    the earlier offer. No Accept (or none that parses) gives the first offer; None when the
    client accepts none of them."""
    ranges = _accept_ranges(accept)
    if not ranges:
        return offers[0][1]
    best: tuple[float, str] | None = None
    for media, fmt in offers:
        main, _, sub = media.partition("/")
        q, specificity = 0.0, -1
        for rmain, rsub, rq in ranges:
            if (rmain, rsub) == (main, sub):
                rank = 2
            elif rmain == main and rsub == "*":
                rank = 1
            elif (rmain, rsub) == ("*", "*"):
                rank = 0
            else:
                continue
            if rank > specificity:
                q, specificity = rq, rank
            elif rank == specificity:
                q = max(q, rq)
        if q > 0 and (best is None or q > best[0]):
            best = (q, fmt)
    return best[1] if best else None


def _supported() -> str:
    return ", ".join(dict.fromkeys(m for m, _ in SOLUTION_OFFERS[:4] + GRAPH_OFFERS[:4]))


# --- the worker process --------------------------------------------------------------

XSD = "http://www.w3.org/2001/XMLSchema#"
_TSV_BARE = {
    XSD + "boolean": re.compile(r"true|false"),
    XSD + "integer": re.compile(r"[+-]?\d+"),
    XSD + "decimal": re.compile(r"[+-]?\d*\.\d+"),
}


def _direction(literal: Any) -> str | None:
    direction = getattr(literal, "direction", None)
    return str(direction).lower() if direction is not None else None


def _json_term(term: Any) -> dict:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
            if direction := _direction(term):
                out["its:dir"] = direction
        elif term.datatype.value != XSD + "string":
            out["datatype"] = term.datatype.value
        return out
    return {
        "type": "triple",
        "value": {
            "subject": _json_term(term.subject),
            "predicate": _json_term(term.predicate),
            "object": _json_term(term.object),
        },
    }


def _xml_escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
        .replace("\r", "&#13;")  # a raw CR would be read back as LF
    )


def _xml_term(term: Any) -> str:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return f"<uri>{_xml_escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{_xml_escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        attrs = ""
        if term.language:
            attrs = f' xml:lang="{_xml_escape(term.language)}"'
            if direction := _direction(term):
                attrs += (
                    f' its:dir="{direction}" xmlns:its="http://www.w3.org/2005/11/its"'
                    ' its:version="2.0"'
                )
        elif term.datatype.value != XSD + "string":
            attrs = f' datatype="{_xml_escape(term.datatype.value)}"'
        return f"<literal{attrs}>{_xml_escape(term.value)}</literal>"
    return (
        f"<triple><subject>{_xml_term(term.subject)}</subject>"
        f"<predicate>{_xml_term(term.predicate)}</predicate>"
        f"<object>{_xml_term(term.object)}</object></triple>"
    )


def _csv_term(term: Any) -> str:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        value = term.value
        if any(c in value for c in '",\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value
    return " ".join(_csv_term(t) for t in (term.subject, term.predicate, term.object))


def _tsv_term(term: Any) -> str:
    import pyoxigraph as ox

    if isinstance(term, ox.Literal):
        bare = _TSV_BARE.get(term.datatype.value)
        if bare is not None and bare.fullmatch(term.value):
            return term.value
        return str(term)
    if isinstance(term, ox.Triple):
        parts = " ".join(_tsv_term(t) for t in (term.subject, term.predicate, term.object))
        return f"<<( {parts} )>>"
    return str(term)


def _json_row(variables: list[str], solution: Any) -> str:
    row = {v: _json_term(t) for v, t in zip(variables, solution, strict=True) if t is not None}
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def _xml_row(variables: list[str], solution: Any) -> str:
    bindings = "".join(
        f'<binding name="{v}">{_xml_term(t)}</binding>'
        for v, t in zip(variables, solution, strict=True)
        if t is not None
    )
    return f"<result>{bindings}</result>"


def _csv_row(variables: list[str], solution: Any) -> str:
    return ",".join("" if t is None else _csv_term(t) for t in solution) + "\r\n"


def _tsv_row(variables: list[str], solution: Any) -> str:
    return "\t".join("" if t is None else _tsv_term(t) for t in solution) + "\n"


def _solution_writer(fmt: str, variables: list[str]) -> tuple[str, Any, str, str]:
    """(head, row function, separator between rows, tail) for a solutions format."""
    if fmt == "json":
        head = json.dumps({"vars": variables}, ensure_ascii=False, separators=(",", ":"))
        return f'{{"head":{head},"results":{{"bindings":[', _json_row, ",", "]}}"
    if fmt == "xml":
        head = "".join(f'<variable name="{v}"/>' for v in variables)
        return (
            '<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head>{head}</head><results>",
            _xml_row,
            "",
            "</results></sparql>",
        )
    if fmt == "csv":
        return ",".join(variables) + "\r\n", _csv_row, "", ""
    return "\t".join("?" + v for v in variables) + "\n", _tsv_row, "", ""


def _solutions(result: Any, fmt: str, limit: int, max_bytes: int) -> tuple[bytes, int, bool]:
    variables = [v.value for v in result.variables]
    head, row, sep, tail = _solution_writer(fmt, variables)
    parts = [head.encode()]
    size = len(parts[0]) + len(tail)
    rows = 0
    truncated = False
    for solution in result:
        if rows >= limit:
            truncated = True
            break
        chunk = ((sep if rows else "") + row(variables, solution)).encode()
        if size + len(chunk) > max_bytes:
            truncated = True
            break
        parts.append(chunk)
        size += len(chunk)
        rows += 1
    if truncated and not rows:
        raise _too_large(max_bytes)
    parts.append(tail.encode())
    return b"".join(parts), rows, truncated


def _too_large(max_bytes: int) -> SparqlError:
    return SparqlError(
        413,
        f"a single row of the answer is larger than the limit of {max_bytes} bytes",
        "too_large",
    )


def _graph(result: Any, fmt: str, limit: int, max_bytes: int) -> tuple[bytes, int, bool]:
    import pyoxigraph as ox

    from regcat.rdf import PREFIXES

    triples = []
    size = 0
    truncated = False
    for triple in result:
        if len(triples) >= limit:
            truncated = True
            break
        # N-Triples length: close to the Turtle size, a guide for the other formats.
        size += len(str(triple).encode()) + 3
        if size > max_bytes:
            truncated = True
            break
        triples.append(triple)
    rdf_format = {
        "turtle": ox.RdfFormat.TURTLE,
        "ntriples": ox.RdfFormat.N_TRIPLES,
        "rdfxml": ox.RdfFormat.RDF_XML,
        "jsonld": ox.RdfFormat.JSON_LD,
    }[fmt]
    prefixes = PREFIXES if fmt in ("turtle", "rdfxml") else None
    content = ox.serialize(triples, format=rdf_format, prefixes=prefixes) or b""
    while len(content) > max_bytes and triples:
        # Larger than N-Triples (RDF/XML's namespaces, JSON-LD's nesting): cut further.
        keep = int(len(triples) * max_bytes / len(content) * 0.9)
        triples = triples[: min(keep, len(triples) - 1)]
        truncated = True
        content = ox.serialize(triples, format=rdf_format, prefixes=prefixes) or b""
    if truncated and not triples:
        raise _too_large(max_bytes)
    return content, len(triples), truncated


def _answer(store: Any, request: dict) -> tuple:
    import pyoxigraph as ox

    started = time.perf_counter()
    try:
        result = store.query(request["query"], use_default_graph_as_union=True)
    except SyntaxError as exc:
        raise SparqlError(400, f"SPARQL syntax error: {exc}", "syntax") from None
    if isinstance(result, ox.QueryBoolean):
        fmt = request["solutions_format"]
        if fmt is None:
            raise SparqlError(406, _not_acceptable("ASK", SOLUTION_OFFERS), "not_acceptable")
        qrf = {
            "json": ox.QueryResultsFormat.JSON,
            "xml": ox.QueryResultsFormat.XML,
            "csv": ox.QueryResultsFormat.CSV,
            "tsv": ox.QueryResultsFormat.TSV,
        }[fmt]
        content, rows, truncated = result.serialize(format=qrf), None, False
    elif isinstance(result, ox.QuerySolutions):
        fmt = request["solutions_format"]
        if fmt is None:
            raise SparqlError(406, _not_acceptable("SELECT", SOLUTION_OFFERS), "not_acceptable")
        content, rows, truncated = _solutions(result, fmt, request["limit"], request["max_bytes"])
    else:
        fmt = request["graph_format"]
        if fmt is None:
            raise SparqlError(
                406, _not_acceptable("CONSTRUCT and DESCRIBE", GRAPH_OFFERS), "not_acceptable"
            )
        content, rows, truncated = _graph(result, fmt, request["limit"], request["max_bytes"])
    return ("ok", content, _MEDIA_TYPES[fmt], rows, truncated, time.perf_counter() - started)


def _not_acceptable(form: str, offers: tuple[tuple[str, str], ...]) -> str:
    types = ", ".join(m for m, _ in offers[:4])
    return f"none of the accepted media types fits {form} answers; use one of {types}"


def _no_new_files() -> None:
    """From now on this process can open no new file descriptor: no socket for SERVICE,
    whatever the query says. The store is in memory and the pipe is already open."""
    try:
        import resource
    except ImportError:  # not on Unix
        return
    lowest_free = os.dup(0)
    os.close(lowest_free)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))


def _watch_parent(parent: int) -> None:
    """Exit when the service's process is gone, even in the middle of a query (pyoxigraph
    releases the GIL while it evaluates)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _worker_main() -> None:
    """A worker process (`python -c ... <fd> <index> <memory limit> <parent pid>`): load
    the store, report ready, then answer queries until the pipe closes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on a server is the parent's
    fd, index_dir, limit, parent = sys.argv[1:5]
    conn = Connection(int(fd))
    threading.Thread(target=_watch_parent, args=(int(parent),), daemon=True).start()
    try:
        memory_limit = int(limit)
        if memory_limit:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        from regcat.rdf import open_store

        started = time.perf_counter()
        for attempt in range(3):
            try:
                store = open_store(Path(index_dir))
                break
            except OSError:  # a file replaced under us by a build: read it all again
                if attempt == 2:
                    raise
                time.sleep(0.2)
        _no_new_files()
        conn.send(("ready", len(store), time.perf_counter() - started))
    except BaseException as exc:
        with contextlib.suppress(OSError):
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            reply = _answer(store, request)
        except SparqlError as exc:
            reply = ("error", exc.status, exc.kind, exc.message)
        except MemoryError:
            reply = ("error", 500, "failed", "the query ran out of memory")
        except Exception as exc:
            reply = ("error", 500, "failed", f"the query failed: {exc}")
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


# --- the service ---------------------------------------------------------------------


_WORKER_CODE = (
    "import sys; sys.path.insert(0, {root!r}); import regcat.sparql as s; s._worker_main()"
)


class _Worker:
    def __init__(self, index_dir: Path, memory_limit: int | None, generation: int):
        self.generation = generation
        self.ready = False
        self.triples: int | None = None
        self.load_seconds: float | None = None
        self.start_seconds: float | None = None  # spawn to ready, as the parent saw it
        self._lock = threading.Lock()
        self._stopped = False
        self._started = time.perf_counter()
        ours, theirs = socket.socketpair()
        try:
            # fork+exec of a fresh interpreter: safe from a threaded server, and unlike
            # multiprocessing's spawn it does not re-run the host's __main__ module.
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _WORKER_CODE.format(root=str(Path(__file__).resolve().parents[1])),
                    str(theirs.fileno()),
                    str(index_dir),
                    str(memory_limit or 0),
                    str(os.getpid()),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # stderr stays: Rust's panics and OOM aborts
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.pid = self.proc.pid

    @property
    def alive(self) -> bool:
        with self._lock:
            return not self._stopped and self.proc.poll() is None

    def wait_ready(self, timeout: float) -> None:
        if self.ready:
            return
        try:
            if not self.conn.poll(timeout):
                raise SparqlError(
                    503, "the SPARQL worker did not load the index in time", "unavailable"
                )
            message = self.conn.recv()
        except (EOFError, OSError):
            message = ("failed", "the worker stopped while loading")
        if message[0] != "ready":
            raise SparqlError(
                503, f"the SPARQL store cannot be loaded: {message[1]}", "unavailable"
            )
        _, self.triples, self.load_seconds = message
        self.start_seconds = time.perf_counter() - self._started
        self.ready = True

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.kill()

    def stop(self) -> None:
        """Kill, reap and close: no zombie left. Safe from any thread, more than once."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            self.kill()
            with contextlib.suppress(Exception):
                self.proc.wait(5)
            with contextlib.suppress(Exception):
                self.conn.close()


def _stop_all(workers: set[_Worker], lock: threading.Lock) -> None:
    with lock:
        doomed = list(workers)
        workers.clear()
    for worker in doomed:
        worker.kill()  # all at once: a worker mid-query does not delay the others
    for worker in doomed:
        worker.stop()


def _fingerprint(index_dir: Path) -> tuple:
    folder = index_dir / "rdf"
    entries = []
    with contextlib.suppress(OSError):
        for path in folder.rglob("*.nt"):
            with contextlib.suppress(OSError):
                st = path.stat()
                entries.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(sorted(entries))


class SparqlService:
    """Read-only SPARQL over `<index_dir>/rdf`, answered by `workers` worker processes.

    `timeout` (seconds), `max_rows` and `max_bytes` are the server's maxima; a query may
    ask for less. The time limit covers waiting for a free worker and running the query,
    not a worker's start (loading the store), which has its own `startup_timeout`.
    `query` blocks and is safe to call from many threads; use the service as a context
    manager or call `close()` (interpreter exit closes it too).
    """

    def __init__(
        self,
        index_dir: Path,
        *,
        timeout: float = 10.0,
        max_rows: int = 10_000,
        workers: int = 1,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_query_bytes: int = MAX_QUERY_BYTES,
        startup_timeout: float = 120.0,
        check_interval: float = 1.0,
        memory_limit: int | None = None,
    ) -> None:
        if timeout <= 0 or max_rows < 1 or workers < 1 or max_bytes < 1:
            raise ValueError("timeout, max_rows, workers and max_bytes must be positive")
        self.index_dir = Path(index_dir)
        self.timeout = float(timeout)
        self.max_rows = int(max_rows)
        self.max_bytes = int(max_bytes)
        self.max_query_bytes = int(max_query_bytes)
        self.startup_timeout = float(startup_timeout)
        self.check_interval = float(check_interval)
        self.memory_limit = memory_limit
        self.workers = int(workers)
        self._lock = threading.Lock()  # guards _all, _generation, _fingerprint, _closed
        self._reload_lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._closed = False
        self._generation = 0
        self._fingerprint = _fingerprint(self.index_dir)
        self._checked = time.monotonic()
        self._finalizer = weakref.finalize(self, _stop_all, self._all, self._lock)
        try:
            for _ in range(self.workers):
                self._idle.put(self._spawn())
        except BaseException:
            self.close()
            raise

    # -- lifecycle

    def _spawn(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise SparqlError(503, "the SPARQL service is closed", "closed")
            try:
                worker = _Worker(self.index_dir, self.memory_limit, self._generation)
            except OSError as exc:
                raise SparqlError(
                    503, f"cannot start a SPARQL worker: {exc}", "unavailable"
                ) from exc
            self._all.add(worker)
            return worker

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.stop()

    def _replace(self, worker: _Worker) -> None:
        """Stop a worker and put a fresh one (starting in the background) in its place."""
        self._retire(worker)
        try:
            fresh = self._spawn()
        except SparqlError as exc:  # closed meanwhile, or no process to be had
            self._idle.put(None if exc.kind == "closed" else worker)
            return
        self._idle.put(fresh)

    def close(self) -> None:
        """Stop every worker (a running query is killed) and reap them."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._finalizer()
        self._idle.put(None)  # wakes a waiting query; each passes it on

    def __enter__(self) -> SparqlService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reload(self, *, if_changed: bool = False) -> None:
        """Load the index again: idle workers are replaced now, busy ones when they finish.
        With `if_changed`, only when the index's RDF files changed since the last load."""
        with self._reload_lock:
            fingerprint = _fingerprint(self.index_dir)
            if if_changed and fingerprint == self._fingerprint:
                return
            with self._lock:
                if self._closed:
                    return
                self._generation += 1
                self._fingerprint = fingerprint
                self._checked = time.monotonic()
            stale = []
            while True:
                try:
                    stale.append(self._idle.get_nowait())
                except queue.Empty:
                    break
            for worker in stale:
                if worker is None:
                    self._idle.put(None)
                else:
                    self._replace(worker)

    def _check_index(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.check_interval:
            return
        self._checked = now
        current = _fingerprint(self.index_dir)
        # No RDF files at all where there were some: most likely `regcat build` swapping a
        # fully rebuilt index into place; keep the workers until the new one is there.
        if current != self._fingerprint and (current or not self._fingerprint):
            self.reload(if_changed=True)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until every worker has loaded the store (for a server's start-up)."""
        deadline = time.monotonic() + (self.startup_timeout if timeout is None else timeout)
        taken: list[_Worker | None] = []
        try:
            for _ in range(self.workers):
                remaining = max(deadline - time.monotonic(), 0)
                try:
                    worker = self._idle.get(timeout=remaining)
                except queue.Empty:
                    raise SparqlError(503, "the SPARQL workers are busy", "busy") from None
                taken.append(worker)
                if worker is None:
                    raise SparqlError(503, "the SPARQL service is closed", "closed")
                worker.wait_ready(max(deadline - time.monotonic(), 0))
        finally:
            for worker in taken:
                self._idle.put(worker)

    def info(self) -> dict:
        """The workers as they are now (for a status endpoint and for tests)."""
        with self._lock:
            workers = [
                {
                    "pid": w.pid,
                    "ready": w.ready,
                    "triples": w.triples,
                    "load_seconds": w.load_seconds,
                    "start_seconds": w.start_seconds,
                }
                for w in self._all
            ]
            return {
                "closed": self._closed,
                "generation": self._generation,
                "timeout": self.timeout,
                "max_rows": self.max_rows,
                "max_bytes": self.max_bytes,
                "workers": workers,
            }

    # -- queries

    def _limits(self, limit: int | None, timeout: float | None) -> tuple[int, float]:
        if limit is None:
            rows = self.max_rows
        elif isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise SparqlError(400, "limit must be a whole number of at least 1")
        else:
            rows = min(limit, self.max_rows)
        if timeout is None:
            seconds = self.timeout
        elif (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not math.isfinite(timeout)
            or timeout <= 0
        ):
            raise SparqlError(400, "timeout must be a positive number of seconds")
        else:
            seconds = min(float(timeout), self.timeout)
        return rows, seconds

    def _check_text(self, text: str) -> _Scan:
        if not isinstance(text, str):
            raise SparqlError(400, "the query must be text")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise SparqlError(400, "the query text is not valid Unicode") from None
        if not text.strip():
            raise SparqlError(400, "the query is empty")
        if size > self.max_query_bytes:
            raise SparqlError(
                400, f"the query is {size} bytes; the limit is {self.max_query_bytes}"
            )
        scan = scan_query(text)
        if scan.update or (scan.form in UPDATE_KEYWORDS):
            raise SparqlError(
                400,
                f"updates are not allowed: this SPARQL endpoint is read-only "
                f"(found {scan.update or scan.form})",
                "update",
            )
        if scan.service:
            raise SparqlError(
                400,
                "SERVICE (federated query) is not allowed; the word SERVICE may appear only "
                "in strings, IRIs, variable names and local names",
                "service",
            )
        return scan

    def query(
        self,
        text: str,
        *,
        accept: str | None = None,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> SparqlResult:
        """Answer one query; raises SparqlError (see the module's docstring)."""
        started = time.monotonic()
        rows, seconds = self._limits(limit, timeout)
        scan = self._check_text(text)
        solutions_format = negotiate(accept, SOLUTION_OFFERS)
        graph_format = negotiate(accept, GRAPH_OFFERS)
        wanted = {
            "SELECT": (solutions_format,),
            "ASK": (solutions_format,),
            "CONSTRUCT": (graph_format,),
            "DESCRIBE": (graph_format,),
        }.get(scan.form or "", (solutions_format, graph_format))
        if all(fmt is None for fmt in wanted):
            raise SparqlError(
                406,
                f"cannot answer in any of the accepted media types ({accept}); "
                f"supported: {_supported()}",
                "not_acceptable",
            )
        if self._closed:
            raise SparqlError(503, "the SPARQL service is closed", "closed")
        self._check_index()
        request = {
            "query": text,
            "solutions_format": solutions_format,
            "graph_format": graph_format,
            "limit": rows,
            "max_bytes": self.max_bytes,
        }
        reply = self._dispatch(request, started + seconds, seconds)
        _, content, media_type, count, truncated, spent = reply
        form = scan.form if scan.form in QUERY_FORMS else None
        return SparqlResult(content, media_type, count, truncated, form, rows, spent)

    def _dispatch(self, request: dict, deadline: float, seconds: float) -> tuple:
        try:
            worker = self._idle.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            raise SparqlError(
                503, f"all SPARQL workers stayed busy for the time limit ({seconds:g} s)", "busy"
            ) from None
        if worker is None or self._closed:
            self._idle.put(worker)
            raise SparqlError(503, "the SPARQL service is closed", "closed")
        # Whatever happens, the slot goes back to the queue: the worker, a fresh one in its
        # place, or a dead one that the next query replaces.
        give_back: _Worker | None = worker
        try:
            if worker.generation != self._generation or not worker.alive:
                self._retire(worker)
                worker = give_back = self._spawn()
            if not worker.ready:
                waited = time.monotonic()
                try:
                    worker.wait_ready(self.startup_timeout)
                except SparqlError:
                    give_back = None
                    self._replace(worker)  # the next query tries again
                    raise
                deadline += time.monotonic() - waited  # loading is not the query's time
            try:
                worker.conn.send(request)
                done = worker.conn.poll(max(deadline - time.monotonic(), 0))
                reply = worker.conn.recv() if done else None
            except (EOFError, OSError, ValueError):
                if self._closed:
                    raise SparqlError(503, "the SPARQL service is closed", "closed") from None
                give_back = None
                self._replace(worker)
                raise SparqlError(
                    500, "the SPARQL worker died running the query (out of memory?)", "failed"
                ) from None
            if reply is None:
                give_back = None
                self._replace(worker)
                raise SparqlError(
                    503, f"the query ran past the time limit of {seconds:g} s", "timeout"
                )
        finally:
            if give_back is not None:
                if self._closed:
                    self._retire(give_back)
                    self._idle.put(None)
                elif give_back.generation != self._generation:
                    self._replace(give_back)  # reloaded meanwhile: start loading now
                else:
                    self._idle.put(give_back)
        if reply[0] == "error":
            _, status, kind, message = reply
            raise SparqlError(status, message, kind)
        return reply
