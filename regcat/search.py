"""Catalogue search: full text over labels, definitions and codes, with facets.

`search(db, q, filters, limit, offset)` reads a built index (`regcat.index`) and
returns the total, one page of hits and facet counts (`SearchResult`).

The query language is deliberately small, so that no user text can be an FTS5 syntax
error or an injection: the query is split on white space into *words*; each word is
folded (`regcat.text.fold`: lower case, no diacritics, ø→o, æ→ae, å→a) and cut into
tokens at anything that is not a letter or digit, and becomes one quoted FTS5 phrase
(`SCTID:22298006` → `"sctid 22298006"`, `I21.4` → `"i21 4"`). Every phrase is a prefix
(`hjerte` finds `hjerteinfarkt`, `NFQ` finds NCSP `NFQ..` codes) unless its last token
is a single character. All words must match (AND). There are no operators: `OR`,
`NEAR(`, `*`, quotes and SQL are searched as the text they are. An empty query browses:
every variable that passes the filters, in id order.

A word that matches nothing in the index is replaced by the closest indexed term
(rapidfuzz, optimal string alignment distance 1 for words of 3-5 letters, 2 for
longer ones, also against the beginnings of longer terms; words with digits, codes,
are never rewritten), and `corrected` reports the query that was used.

Ranking: bm25 with the label (and the variable's technical name) weighted above the
codes and those above the definition. When more than `RANK_CAP` variables match,
bm25 ranks the `RANK_CAP` shortest of them (bm25 favours short entries, so these hold
the best hits) and the rest follow, shortest first; totals and facets stay exact.
Hits and pages are in a total order (ties by id), so paging is stable.

Facets (`FACETS`) count the variables of the whole matched set per value, with every
filter applied ("drill-down" counts: a facet's counts are those its values would give
if added as a filter). A variable counts once per code system it has codings in.
Variables without a value for a facet (no topic, say) are not counted under it.
Filters: several values of one facet are OR, different facets AND; an unknown value
matches nothing.

Limits (RegcatError): a query of at most MAX_QUERY_CHARS characters and MAX_WORDS
words, limit 1..MAX_LIMIT, offset 0..MAX_OFFSET; unknown facets. Control characters
and lone surrogates are dropped from the query (and from its echo in the result).

Speed: per index generation (`meta.generation`, new at every build) the facet values
of every variable are kept in memory as bitsets over the variables in id order, so
filters and facet counts are a few big-integer operations. Matched sets, rankings and
pages are kept in LRU caches bounded in bytes, so a repeated or paged query costs a
look-up and one indexed read of the page's rows. `warm(db)` loads the per-generation
state ahead of the first request.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from itertools import compress, islice
from operator import and_, itemgetter
from pathlib import Path
from typing import Any

from regcat.errors import RegcatError
from regcat.text import fold

FACETS = ("register", "topic", "code_system", "status", "datatype", "collection_mode")
MAX_QUERY_CHARS = 500
MAX_WORDS = 32
MAX_LIMIT = 200
MAX_OFFSET = 100_000
RANK_CAP = 1_000
# bm25 weights per variables_fts column: id, file (unindexed), label, definition, codes.
WEIGHTS = (0.0, 0.0, 10.0, 2.0, 5.0)
FIELDS = ("label", "definition", "codes")
# Cache budgets per index generation, in bytes (estimated).
MATCHES_BUDGET = 16 << 20
FOUND_BUDGET = 48 << 20

# Facet name -> column of `variables` (code_system comes from `codings`).
_COLUMNS = {
    "register": "register_id",
    "topic": "topic",
    "status": "status",
    "datatype": "datatype",
    "collection_mode": "collection_mode",
}
_TOKEN = re.compile(r"[^\W_]+")
# Control characters (NUL included) and lone surrogates: never searched, never echoed.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ZERO_ONE = bytes.maketrans(b"01", b"\x00\x01")
_PAGES_KEPT = 8  # pages kept per matched set
_BM25 = "bm25(variables_fts, " + ", ".join(str(w) for w in WEIGHTS) + ")"
_HIT_COLUMNS = (
    "id",
    "register_id",
    "form",
    "label_nb",
    "label_en",
    "datatype",
    "topic",
    "status",
    "collection_mode",
    "value_set",
)

Filters = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass
class SearchResult:
    """One page of a search.

    total: variables matched (after filters); hits: the page, best first (browse: by
    id), each {id, register_id, form, label: {nb, en}, datatype, topic, status,
    collection_mode, value_set, score (bm25, higher is better; None when browsing),
    matched: the fields the query words were found in, of "label" (label or technical
    name), "definition", "codes"}; facets: {facet: {value: count}} over all of
    `total`, largest first; query: the query as searched (None when browsing);
    corrected: the query actually used when typo tolerance rewrote it.
    """

    total: int
    hits: list[dict[str, Any]]
    facets: dict[str, dict[str, int]]
    query: str | None = None
    corrected: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "corrected": self.corrected,
            "total": self.total,
            "hits": self.hits,
            "facets": self.facets,
        }


# -- the query ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    """One word of the query: its folded tokens, searched as one (prefix) phrase."""

    tokens: tuple[str, ...]

    @property
    def prefix(self) -> bool:
        return len(self.tokens[-1]) > 1

    def fts(self) -> str:
        # Tokens are letters and digits only: nothing in them can end the string.
        return '"' + " ".join(self.tokens) + '"' + ("*" if self.prefix else "")

    def text(self) -> str:
        return "-".join(self.tokens)

    def found_in(self, words: list[str]) -> bool:
        n, last = len(self.tokens), self.tokens[-1]
        head = list(self.tokens[:-1])
        for i in range(len(words) - n + 1):
            end = words[i + n - 1]
            if words[i : i + n - 1] == head and (
                end.startswith(last) if self.prefix else end == last
            ):
                return True
        return False


def _expression(words: Sequence[_Word]) -> str:
    return " AND ".join(w.fts() for w in words)


def _clean(q: str) -> str:
    return _UNSAFE.sub("", q).strip()


def _words(text: str) -> list[_Word]:
    words: list[_Word] = []
    for part in text.split():
        tokens = tuple(_TOKEN.findall(fold(part)))
        if tokens and _Word(tokens) not in words:
            words.append(_Word(tokens))
    if len(words) > MAX_WORDS:
        raise RegcatError(f"the query has {len(words)} words; at most {MAX_WORDS} are allowed")
    return words


def _check_args(q: object, limit: object, offset: object) -> None:
    if q is not None and not isinstance(q, str):
        raise RegcatError(f"the query must be text, not {type(q).__name__}")
    if isinstance(q, str) and len(q) > MAX_QUERY_CHARS:
        raise RegcatError(
            f"the query is {len(q)} characters long; at most {MAX_QUERY_CHARS} are allowed"
        )
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise RegcatError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise RegcatError(f"offset must be a whole number from 0 to {MAX_OFFSET}, not {offset!r}")


def _check_filters(filters: Mapping[str, Sequence[str]] | None) -> Filters:
    """Filters as a canonical, hashable key: facets in FACETS order, values sorted."""
    if not filters:
        return ()
    if not isinstance(filters, Mapping):
        raise RegcatError("filters must map facet names to lists of values")
    unknown = [name for name in filters if name not in FACETS]
    if unknown:
        raise RegcatError(
            f"unknown facet {str(unknown[0])!r} in the filters; the facets are: "
            + ", ".join(FACETS)
        )
    key = []
    for name in FACETS:
        values = filters.get(name)
        if values is None:
            continue
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, Iterable) or not all(isinstance(v, str) for v in values):
            raise RegcatError(f"the values of filter {name!r} must be text")
        if values := tuple(sorted(set(values))):
            key.append((name, values))
    return tuple(key)


# -- bitsets over the variables in id order -----------------------------------------
# Position p (the p-th variable in id order) is character p of an n-character string
# of 0/1, i.e. bit n-1-p of a Python int: & | and bit_count() do the set algebra.


def _bits(positions: Iterable[int], n: int) -> int:
    chars = bytearray(b"0") * n
    for p in positions:
        chars[p] = 49
    return int(chars, 2) if n else 0


def _string(bits: int, n: int) -> str:
    return format(bits, f"0{n}b") if n else ""


def _nth_ones(s: str, start: int, count: int) -> list[int]:
    """Positions of the start-th .. (start+count-1)-th '1' in s."""
    lo, hi = 0, len(s)
    if start:  # the shortest prefix holding `start` ones
        if s.count("1") <= start:
            return []
        while lo < hi:
            mid = (lo + hi) // 2
            if s.count("1", 0, mid) >= start:
                hi = mid
            else:
                lo = mid + 1
    out: list[int] = []
    find = s.find
    i = find("1", lo)
    while i >= 0 and len(out) < count:
        out.append(i)
        i = find("1", i + 1)
    return out


def _column_bits(column: Sequence[str], n: int) -> dict[str, int]:
    """Bitsets of the positions holding each value of a column ('': no value)."""
    distinct = sorted(set(column) - {""})
    if len(distinct) > 255:
        positions: dict[str, list[int]] = {}
        for p, value in enumerate(column):
            if value:
                positions.setdefault(value, []).append(p)
        return {value: _bits(ps, n) for value, ps in positions.items()}
    # One byte per position naming its value; translate() picks out one value.
    code = {value: i for i, value in enumerate(distinct, start=1)}
    code[""] = 0
    codes = bytes(map(code.__getitem__, column))
    out = {}
    for value in distinct:
        table = bytearray(b"0" * 256)
        table[code[value]] = 49
        out[value] = int(codes.translate(table), 2)
    return out


# -- caches ------------------------------------------------------------------------------


class _LRU:
    """Least recently used first out, within a budget of (estimated) bytes."""

    def __init__(self, budget: int, weigh: Callable[[Any], int]) -> None:
        self.budget = budget
        self.weigh = weigh
        self.data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self.lock:
            entry = self.data.get(key)
            if entry is None:
                return None
            self.data.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any) -> Any:
        weight = self.weigh(value)
        with self.lock:
            old = self.data.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self.data[key] = (value, weight)
            self.size += weight
            while self.size > self.budget and len(self.data) > 1:
                _, (_, dropped) = self.data.popitem(last=False)
                self.size -= dropped
        return value

    def clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.size = 0


Page = tuple[tuple[int, float | None, tuple[str, ...]], ...]  # rowid, score, matched


@dataclass
class _Found:
    """A matched and filtered set: its size and facet counts, its bits while they are
    needed (browsing, paging past the ranking cap), its ranking and some pages."""

    total: int
    counts: array[int]  # aligned with _Index.keys
    bits: int | None
    ranked: tuple[array[int], array[float]] | None = None  # rowids, scores: best first
    pages: dict[tuple[int, int], Page] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def weight(self) -> int:
        size = 400 + 4 * len(self.counts)
        if self.bits is not None:
            size += self.bits.bit_length() // 8
        if self.ranked is not None:
            size += 16 * len(self.ranked[0])
        return size + sum(100 + 120 * len(page) for page in self.pages.values())


# -- typo tolerance ---------------------------------------------------------------------


class _Vocabulary:
    """The index's terms, for typo tolerance: sorted, and pools of candidates by length."""

    def __init__(self, terms: dict[str, int]) -> None:
        self.docs = terms
        self.sorted = sorted(terms)
        self.words = {t: d for t, d in terms.items() if len(t) > 1 and not _has_digit(t)}
        self.pools: OrderedDict[tuple[int, bool], dict[str, int]] = OrderedDict()

    def matches(self, token: str, prefix: bool) -> bool:
        if not prefix:
            return token in self.docs
        i = bisect_left(self.sorted, token)
        return i < len(self.sorted) and self.sorted[i].startswith(token)

    def _pool(self, length: int, prefix: bool, reach: int) -> dict[str, int]:
        key = (length, prefix)
        pool = self.pools.get(key)
        if pool is None:
            pool = {}
            for term, docs in self.words.items():
                if abs(len(term) - length) <= reach:
                    pool[term] = max(docs, pool.get(term, 0))
                if prefix and len(term) > length:  # a typo in the first letters of a term
                    stem = term[:length]
                    pool[stem] = max(docs, pool.get(stem, 0))
            self.pools[key] = pool
            if len(self.pools) > 8:  # each may be as large as the vocabulary
                self.pools.popitem(last=False)
        return pool

    def closest(self, token: str, prefix: bool) -> str | None:
        if len(token) < 3 or _has_digit(token):
            return None
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        reach = 1 if len(token) <= 5 else 2
        pool = self._pool(len(token), prefix, reach)
        found = process.extract(
            token, list(pool), scorer=OSA.distance, score_cutoff=reach, limit=None
        )
        if not found:
            return None
        best = min(found, key=lambda f: (f[1], -pool[f[0]], f[0]))
        return best[0]


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _load_vocabulary(path: str) -> _Vocabulary | None:
    """The FTS terms, read through a private in-memory connection: the caller's
    connection may be query-only, where even a TEMP fts5vocab table is refused."""
    if not path:
        return None
    mem = sqlite3.connect(":memory:", uri=True)
    try:
        mem.execute("ATTACH DATABASE ? AS idx", (Path(path).as_uri() + "?mode=ro",))
        mem.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(idx, 'variables_fts', 'row')")
        return _Vocabulary(dict(mem.execute("SELECT term, doc FROM temp.vocab")))
    except sqlite3.Error:
        return None
    finally:
        mem.close()


# -- one index generation ---------------------------------------------------------------


@dataclass
class _Short:
    """Positions shortest entry first, each position's rank in that order, and the
    positions of each entry length as bitsets, shortest first."""

    order: list[int]
    rank: list[int]
    buckets: list[int]


class _Index:
    """What search keeps in memory for one generation of one index: the variables in
    id order, their facet values as bitsets over that order, caches of matched sets,
    and, once needed, the shortest-first order and the FTS vocabulary."""

    def __init__(self, cur: sqlite3.Cursor, path: str) -> None:
        self.path = path
        # One scan of the covering index `variables_search`, each column as one string
        # split at C speed: 100k rows fetched as tuples cost several times more.
        names = ", ".join(_COLUMNS.values())
        columns = ", ".join(f"group_concat(ifnull({c}, ''), char(31))" for c in _COLUMNS.values())
        row = cur.execute(
            f"SELECT count(*), group_concat(rowid), {columns} "
            f"FROM (SELECT rowid, {names} FROM variables ORDER BY id)"
        ).fetchone()
        self.n = n = row[0]
        self.rowid_at: list[int] = list(map(int, row[1].split(","))) if n else []
        self.pos = [-1] * (max(self.rowid_at, default=0) + 1)  # rowid -> position
        deque(map(self.pos.__setitem__, self.rowid_at, range(n)), maxlen=0)
        values: dict[str, dict[str, int]] = {}
        for facet, text in zip(_COLUMNS, row[2:], strict=True):
            column = text.split("\x1f") if n else []
            values[facet] = _column_bits(column, n) if len(column) == n else {}
        systems: dict[str, list[int]] = {}
        for rowid, system in cur.execute(
            "SELECT DISTINCT v.rowid, c.system FROM codings c JOIN variables v "
            "ON v.id = c.variable_id WHERE c.system IS NOT NULL"
        ):
            systems.setdefault(system, []).append(self.pos[rowid])
        values["code_system"] = {system: _bits(ps, n) for system, ps in systems.items()}
        self.values = {facet: values[facet] for facet in FACETS}
        # Every (facet, value) in one list: facet counts are arrays aligned with it.
        self.keys = [(facet, value) for facet in FACETS for value in sorted(self.values[facet])]
        self.key_bits = [self.values[facet][value] for facet, value in self.keys]
        self.all = (1 << n) - 1
        self.counts = self._counts(self.all)
        self.matches = _LRU(MATCHES_BUDGET, lambda bits: 100 + bits.bit_length() // 8)
        self.found = _LRU(FOUND_BUDGET, _Found.weight)
        self._short: _Short | None = None
        self._vocabulary: _Vocabulary | None | bool = False
        self._lock = threading.Lock()

    def short(self, cur: sqlite3.Cursor) -> _Short:
        """The shortest-first order (bm25 favours short entries) for the ranking cap."""
        with self._lock:
            if self._short is None:
                n, pos = self.n, self.pos
                length = [0] * n
                for rowid, size in cur.execute("SELECT id, sz FROM variables_fts_docsize"):
                    if rowid < len(pos) and pos[rowid] >= 0 and size:
                        # tokens per column as varints (exact below 128); over 255
                        # counts as 255, to bound the buckets
                        length[pos[rowid]] = min(sum(size), 255)
                order = sorted(range(n), key=length.__getitem__)
                rank = [0] * n
                deque(map(rank.__setitem__, order, range(n)), maxlen=0)
                by_length: dict[int, list[int]] = {}
                for p in order:
                    by_length.setdefault(length[p], []).append(p)
                buckets = [_bits(ps, n) for _, ps in sorted(by_length.items())]
                self._short = _Short(order, rank, buckets)
            return self._short

    def vocabulary(self) -> _Vocabulary | None:
        with self._lock:
            if self._vocabulary is False:
                self._vocabulary = _load_vocabulary(self.path)
            assert self._vocabulary is not False
            return self._vocabulary

    # -- sets and counts

    def _counts(self, bits: int) -> array[int]:
        return array("q", [(bits & vbits).bit_count() for vbits in self.key_bits])

    def facets(self, counts: array[int]) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {facet: {} for facet in FACETS}
        for (facet, value), count in zip(self.keys, counts, strict=True):
            if count:
                out[facet][value] = count
        return {
            facet: dict(sorted(by_value.items(), key=lambda kv: (-kv[1], kv[0])))
            for facet, by_value in out.items()
        }

    def filter_bits(self, filters: Filters) -> int:
        bits = self.all
        for facet, values in filters:
            union = 0
            for value in values:
                union |= self.values[facet].get(value, 0)
            bits &= union
        return bits

    def match(self, cur: sqlite3.Cursor, expression: str, words: Sequence[_Word] = ()) -> int:
        bits = self.matches.get(expression)
        if bits is None and len(words) > 1:  # every word matched before on its own?
            parts = [self.matches.get(word.fts()) for word in words]
            if all(part is not None for part in parts):
                bits = self.matches.put(expression, reduce(and_, parts))
        if bits is None:
            row = cur.execute(
                "SELECT group_concat(rowid) FROM variables_fts WHERE variables_fts MATCH ?",
                (expression,),
            ).fetchone()
            chars = bytearray(b"0") * self.n
            if row and row[0]:
                pos = self.pos
                try:
                    for p in itemgetter(*map(int, row[0].split(",")))(pos):
                        chars[p] = 49
                except (TypeError, IndexError):  # one match: itemgetter gives an int
                    for rowid in map(int, row[0].split(",")):
                        if 0 <= rowid < len(pos) and pos[rowid] >= 0:
                            chars[pos[rowid]] = 49
            bits = int(chars, 2) if self.n else 0
            self.matches.put(expression, bits)
        return bits

    def find(self, cur: sqlite3.Cursor, expression: str | None, filters: Filters) -> _Found:
        key = (expression, filters)
        found = self.found.get(key)
        if found is None:
            bits = self.filter_bits(filters)
            if expression is not None:
                bits &= self.match(cur, expression)
            if bits == self.all:
                found = _Found(self.n, self.counts, bits)
            else:
                found = _Found(bits.bit_count(), self._counts(bits), bits)
            self.found.put(key, found)
        return found

    # -- order

    def shortest(self, cur: sqlite3.Cursor, bits: int, count: int) -> list[int]:
        """The `count` shortest members of the set (ties: first in id order), in id
        order: whole length buckets while they fit, then the first of the next."""
        n, chosen, taken = self.n, 0, 0
        extra: list[int] = []
        for bucket in self.short(cur).buckets:
            part = bits & bucket
            size = part.bit_count()
            if taken + size >= count:
                extra = _nth_ones(_string(part, n), 0, count - taken)
                break
            chosen |= part
            taken += size
        return sorted(_nth_ones(_string(chosen, n), 0, taken) + extra)

    def first_in_order(self, cur: sqlite3.Cursor, bits: int, total: int, count: int) -> list[int]:
        """The first `count` positions of the set in shortest-first order."""
        if not total or count <= 0:
            return []
        short = self.short(cur)
        s = _string(bits, self.n)
        if total * 4 < count * self.n / total:  # few members: collect and sort them
            members = _nth_ones(s, 0, total)
            members.sort(key=short.rank.__getitem__)
            return members[:count]
        flags = s.encode("ascii").translate(_ZERO_ONE)  # walk the order, keep members
        return list(islice(compress(short.order, map(flags.__getitem__, short.order)), count))

    def ranked(
        self, cur: sqlite3.Cursor, expression: str, found: _Found
    ) -> tuple[array[int], array[float]]:
        """The ranking of the set, best first: all of it, or its RANK_CAP shortest."""
        with found.lock:  # one thread ranks; the others wait and share it
            if found.ranked is None:
                assert found.bits is not None
                if found.total > RANK_CAP:
                    members = self.shortest(cur, found.bits, RANK_CAP)
                elif found.bits == self.match(cur, expression):
                    members = None  # no filter narrowed the match: rank it all
                else:
                    members = _nth_ones(_string(found.bits, self.n), 0, found.total)
                pos = self.pos
                scored = sorted(
                    (score, pos[rowid], rowid)
                    for rowid, score in self._scores(cur, expression, members)
                )
                found.ranked = (
                    array("q", [rowid for _, _, rowid in scored]),
                    array("d", [-score for score, _, _ in scored]),
                )
                if found.total <= len(scored):  # the ranking holds them all
                    found.bits = None
            return found.ranked

    def _scores(
        self, cur: sqlite3.Cursor, expression: str, positions: list[int] | None
    ) -> list[tuple[int, float]]:
        sql = f"SELECT rowid, {_BM25} FROM variables_fts WHERE variables_fts MATCH ?"
        if positions is None:
            return cur.execute(sql, (expression,)).fetchall()
        if not positions:
            return []
        rowids = json.dumps([self.rowid_at[p] for p in positions])
        # `+rowid`: test each match against the list; a bare `rowid IN` would make
        # SQLite run the whole query once per listed row.
        sql += " AND +rowid IN (SELECT value FROM json_each(?))"
        return cur.execute(sql, (expression, rowids)).fetchall()

    def page(
        self, cur: sqlite3.Cursor, expression: str | None, found: _Found, limit: int, offset: int
    ) -> list[tuple[int, float | None]]:
        if offset >= found.total:
            return []
        if expression is None:  # browse: id order
            if found.total == self.n:
                positions = list(range(offset, min(offset + limit, self.n)))
            else:
                assert found.bits is not None
                positions = _nth_ones(_string(found.bits, self.n), offset, limit)
            return [(self.rowid_at[p], None) for p in positions]
        rowids, scores = self.ranked(cur, expression, found)
        end = offset + limit
        out: list[tuple[int, float | None]] = list(
            zip(rowids[offset:end], scores[offset:end], strict=True)
        )
        if len(out) < limit and found.total > len(rowids):  # past the ranking cap
            assert found.bits is not None
            tail = self.first_in_order(cur, found.bits, found.total, end)
            tail = tail[max(offset, len(rowids)) :]
            tail_scores = dict(self._scores(cur, expression, tail))
            for p in tail:
                score = tail_scores.get(self.rowid_at[p])
                out.append((self.rowid_at[p], -score if score is not None else None))
        return out


# -- the cache of indexes --------------------------------------------------------------

_INDEXES: OrderedDict[Hashable, _Index] = OrderedDict()
_INDEXES_KEPT = 2  # generations: the current one and the one being replaced
_BUILDING = threading.Lock()


def _index(cur: sqlite3.Cursor) -> _Index:
    path = next((r[2] for r in cur.execute("PRAGMA database_list") if r[1] == "main"), "")
    row = cur.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    if row is not None:
        key: Hashable = row[0]
    else:  # an index written before generations were recorded
        built = cur.execute("SELECT value FROM meta WHERE key = 'built'").fetchone()
        size = cur.execute("SELECT count(*), max(rowid) FROM variables").fetchone()
        key = (path, built[0] if built else None, *size)
    index = _INDEXES.get(key)
    if index is None:
        with _BUILDING:
            index = _INDEXES.get(key)
            if index is None:
                index = _Index(cur, path or "")
                _INDEXES[key] = index
                while len(_INDEXES) > _INDEXES_KEPT:
                    _INDEXES.popitem(last=False)
    return index


def _cursor(db: sqlite3.Connection) -> sqlite3.Cursor:
    cur = db.cursor()
    cur.row_factory = None
    return cur


def warm(db: sqlite3.Connection) -> None:
    """Load what search keeps per index generation now, not on the first request (or
    the first broad or misspelt one): call it at start-up and after a rebuild."""
    cur = _cursor(db)
    try:
        index = _index(cur)
        index.short(cur)
        index.vocabulary()
    except sqlite3.Error as exc:
        raise RegcatError(f"this is not a usable regcat index ({exc})") from None


# -- search ----------------------------------------------------------------------------


def search(
    db: sqlite3.Connection,
    q: str | None,
    filters: Mapping[str, Sequence[str]] | None = None,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Search the index open on `db` (see the module docstring for the semantics).

    An empty or absent `q` browses: every variable passing the filters, in id order.
    Raises RegcatError, with a message for the user, for a query over
    MAX_QUERY_CHARS characters or MAX_WORDS words, an unknown facet, or a limit or
    offset out of range; any other text is searched as text.
    """
    _check_args(q, limit, offset)
    key = _check_filters(filters)
    text = _clean(q) if q else ""
    words = _words(text)
    own = not db.in_transaction
    cur = _cursor(db)
    try:
        if own:  # one snapshot: the cache and the queries must see the same index
            cur.execute("BEGIN")
        return _search(cur, text or None, words, key, limit, offset)
    except sqlite3.Error as exc:
        raise RegcatError(f"the index could not be searched ({exc})") from None
    finally:
        if own and db.in_transaction:
            db.rollback()


def _search(
    cur: sqlite3.Cursor,
    text: str | None,
    words: list[_Word],
    filters: Filters,
    limit: int,
    offset: int,
) -> SearchResult:
    index = _index(cur)
    if text is not None and not words:  # only punctuation, symbols or emoji
        return SearchResult(0, [], {facet: {} for facet in FACETS}, text)
    expression = _expression(words) if words else None
    corrected = None
    if expression is not None and not index.match(cur, expression, words):
        fixed = _correct(index, words)
        if fixed is not None and index.match(cur, _expression(fixed), fixed):
            words, expression = fixed, _expression(fixed)
            corrected = " ".join(w.text() for w in fixed)
    found = index.find(cur, expression, filters)
    page = found.pages.get((limit, offset))
    if page is None:
        rows = index.page(cur, expression, found, limit, offset)
        matched = _matched(cur, [rowid for rowid, _ in rows], words if expression else [])
        page = tuple((rowid, score, matched.get(rowid, ())) for rowid, score in rows)
        if len(found.pages) >= _PAGES_KEPT:
            found.pages.clear()
        found.pages[limit, offset] = page
        index.found.put((expression, filters), found)  # its weight has grown
    return SearchResult(found.total, _hits(cur, page), index.facets(found.counts), text, corrected)


def _correct(index: _Index, words: list[_Word]) -> list[_Word] | None:
    vocabulary = index.vocabulary()
    if vocabulary is None:
        return None
    fixed, changed = [], False
    for word in words:
        tokens = list(word.tokens)
        for i, token in enumerate(tokens):
            prefix = i == len(tokens) - 1 and word.prefix
            if vocabulary.matches(token, prefix):
                continue
            better = vocabulary.closest(token, prefix)
            if better is None:
                return None
            tokens[i], changed = better, True
        fixed.append(_Word(tuple(tokens)))
    return fixed if changed else None


def _matched(
    cur: sqlite3.Cursor, rowids: list[int], words: list[_Word]
) -> dict[int, tuple[str, ...]]:
    """The fields of each row holding a query word, by the same tokens as the index."""
    if not rowids or not words:
        return {}
    out = {}
    for rowid, *texts in cur.execute(
        "SELECT rowid, label, definition, codes FROM variables_fts "
        "WHERE rowid IN (SELECT value FROM json_each(?))",
        (json.dumps(rowids),),
    ):
        out[rowid] = tuple(
            name
            for name, text in zip(FIELDS, texts, strict=True)
            if any(word.found_in(_TOKEN.findall(fold(text))) for word in words)
        )
    return out


def _hits(cur: sqlite3.Cursor, page: Page) -> list[dict[str, Any]]:
    if not page:
        return []
    rows = {
        row[0]: row[1:]
        for row in cur.execute(
            f"SELECT rowid, {', '.join(_HIT_COLUMNS)} FROM variables "
            "WHERE rowid IN (SELECT value FROM json_each(?))",
            (json.dumps([rowid for rowid, _, _ in page]),),
        )
    }
    hits = []
    for rowid, score, matched in page:
        row = rows.get(rowid)
        if row is None:
            continue
        vid, register, form, nb, en, datatype, topic, status, mode, value_set = row
        hits.append(
            {
                "id": vid,
                "register_id": register,
                "form": form,
                "label": {"nb": nb, "en": en},
                "datatype": datatype,
                "topic": topic,
                "status": status,
                "collection_mode": mode,
                "value_set": value_set,
                "score": round(score, 4) if score is not None else None,
                "matched": list(matched),
            }
        )
    return hits


__all__ = ["FACETS", "SearchResult", "search", "warm"]
