#!/usr/bin/env python3
"""Benchmark: `regcat.search.search` (full text, codes, typos, facets) at 100k variables.

    python bench/bench_search.py [--size 100000] [--seed 1] [--repeat 20] [--mix 5000]
                                 [--threads 4] [--seconds 5] [--regenerate]

Uses the synthetic catalogue of gen_catalogue.py (bench/out/cat-N when it is there and
clean, else generated into bench/out/search-cat-N) and its index in
bench/out/search-index-N (built, or brought up to date, by `build_index`). Then, in
process, for each kind of query (browse, filters, words, prefixes, codes, CURIEs,
typos, broad words matching 10-25k variables, hostile text):

* cold: the search's caches of matched sets and rankings emptied before each search
  (the per-index-generation state stays loaded: it is loaded once per generation);
* warm: the same search again (what a repeated or paged query costs).

Prints median / p99 / max milliseconds per kind, the one-off costs per index
generation (the facet bitsets, the shortest-first order for the ranking cap, the FTS
vocabulary for typo tolerance), how the ranking cap changes the top 20 of broad queries
against an uncapped bm25 ranking, a mix of --mix distinct queries like the API load
test's (label words, two words, prefixes, typos, codes, 40 % with facet filters,
browsing) run once with empty caches and once more, and the throughput of N threads
(one connection each) on a warm mix. Wall and thread-CPU times are both reported: on
a shared machine the CPU time is the steadier figure. Results go to
bench/out/results-search.json.

Target: p99 < 50 ms for the whole HTTP request at 50 concurrent clients on 2 cores,
so one search should take a few ms, and a broad one well under 20 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

from gen_catalogue import generate_catalogue, is_generated  # noqa: E402

import regcat.search as S  # noqa: E402
from regcat.index import build_index, open_index  # noqa: E402

KINDS: dict[str, list[tuple[str | None, dict | None, int]]] = {
    "browse": [(None, None, 0)],
    "browse, deep page": [(None, None, 9_000), (None, {"status": ["accepted"]}, 5_000)],
    "browse + filters": [
        (None, {"register": ["hjerteinfarkt"]}, 0),
        (None, {"topic": ["diagnosis"], "status": ["draft"]}, 0),
        (None, {"code_system": ["NCSP"]}, 0),
        (None, {"register": ["noric", "norkar"], "datatype": ["coded"]}, 20),
    ],
    "word": [
        ("hjerteinfarkt", None, 0),
        ("atrieflimmer", None, 0),
        ("metformin", None, 0),
        ("hofteprotese", None, 0),
        ("depresjon", None, 0),
    ],
    "prefix": [("hjerte", None, 0), ("diab", None, 0), ("kardio", None, 0), ("lunge", None, 0)],
    "diacritics": [("rokestatus", None, 0), ("Lårhalsbrudd", None, 0), ("blodning", None, 0)],
    "code": [("I21", None, 0), ("I21.4", None, 0), ("B01AC06", None, 0), ("NFB", None, 0)],
    "CURIE": [("SCTID:22298006", None, 0), ("ICD10:I21", None, 0), ("ATC:C09AA05", None, 0)],
    "typo": [
        ("hjerteinfrakt", None, 0),
        ("diabetis", None, 0),
        ("atrieflimer", None, 0),
        ("metforimn", None, 0),
    ],
    "word + filters": [
        ("diabetes", {"register": ["diabetes_voksne"]}, 0),
        ("hjerte", {"topic": ["diagnosis"], "code_system": ["ICD10"]}, 0),
    ],
    "broad (10-25k hits)": [
        ("pasient", None, 0),
        ("sctid", None, 0),
        ("ved", None, 0),
        ("etter", None, 0),
        ("innleggelse", None, 0),
    ],
    "broad, two words": [("ved innleggelse", None, 0), ("etter maneder", None, 0)],
    "broad + filters": [
        ("pasient", {"register": ["noric"]}, 0),
        ("ved", {"topic": ["diagnosis"]}, 0),
        ("sctid", {"status": ["accepted"]}, 0),
    ],
    "broad, page 50": [("pasient", None, 1_000), ("ved", None, 3_000)],
    "hostile": [
        ('" OR 1=1 --', None, 0),
        ("NEAR(", None, 0),
        ("*", None, 0),
        ("'; DROP TABLE variables; --", None, 0),
        ("x" * 500, None, 0),
        ("🫀hjerte\x00\ud800", None, 0),
    ],
}


def say(text: str = "") -> None:
    print(text, flush=True)


def catalogue_dir(n: int, seed: int, regenerate: bool) -> Path:
    for path in (OUT / f"cat-{n}", OUT / f"search-cat-{n}"):
        if not regenerate and is_generated(path, n, seed):
            return path
    path = OUT / f"search-cat-{n}"
    started = time.perf_counter()
    generate_catalogue(n, path, seed)
    say(f"generated {path} in {time.perf_counter() - started:.1f} s")
    return path


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "median_ms": ms(statistics.median(ordered)),
        "p99_ms": ms(p99),
        "max_ms": ms(ordered[-1]),
        "n": len(ordered),
    }


def clear_caches(db) -> None:
    index = S._index(S._cursor(db))
    index.matches.clear()
    index.found.clear()


CPU: list[float] = []  # thread CPU seconds of the searches timed by `timed`


def timed(db, q, filters, offset) -> tuple[float, S.SearchResult]:
    cpu = time.thread_time()
    started = time.perf_counter()
    result = S.search(db, q, filters, limit=20, offset=offset)
    seconds = time.perf_counter() - started
    CPU.append(time.thread_time() - cpu)
    return seconds, result


def one_offs(db) -> dict[str, float]:
    S._INDEXES.clear()
    cpu = time.thread_time()
    started = time.perf_counter()
    index = S._index(S._cursor(db))
    load = time.perf_counter() - started
    load_cpu = time.thread_time() - cpu
    started = time.perf_counter()
    index.short(S._cursor(db))
    short = time.perf_counter() - started
    started = time.perf_counter()
    index.vocabulary()
    vocabulary = time.perf_counter() - started
    return {
        "generation_load_ms": ms(load),
        "generation_load_cpu_ms": ms(load_cpu),
        "shortest_first_order_ms": ms(short),
        "vocabulary_ms": ms(vocabulary),
    }


def kinds(db, repeat: int) -> dict[str, dict]:
    out = {}
    for kind, queries in KINDS.items():
        cold, warm, cold_cpu, totals = [], [], [], {}
        for _ in range(repeat):
            for q, filters, offset in queries:
                clear_caches(db)
                seconds, result = timed(db, q, filters, offset)
                cold.append(seconds)
                cold_cpu.append(CPU[-1])
                warm.append(timed(db, q, filters, offset)[0])
                label = (q if q is None or len(q) < 40 else q[:20] + "…") or "(browse)"
                totals[f"{label} {filters or ''} @{offset}".strip()] = (
                    result.total,
                    result.corrected,
                )
        out[kind] = {
            "cold": summary(cold),
            "cold_cpu": summary(cold_cpu),
            "warm": summary(warm),
            "totals": totals,
        }
        c, cc, w = out[kind]["cold"], out[kind]["cold_cpu"], out[kind]["warm"]
        say(
            f"  {kind:20s} cold {c['median_ms']:6.2f} / {c['p99_ms']:6.2f} / {c['max_ms']:6.2f}"
            f"  cpu {cc['median_ms']:6.2f} / {cc['p99_ms']:6.2f}"
            f"  warm {w['median_ms']:5.2f} / {w['p99_ms']:5.2f} / {w['max_ms']:5.2f}"
        )
    return out


def ranking_cap(db) -> dict[str, dict]:
    """Top 20 with the cap against an uncapped bm25 ranking, for the broad queries."""
    out = {}
    cap = S.RANK_CAP
    for q, filters, _ in KINDS["broad (10-25k hits)"] + KINDS["broad, two words"]:
        clear_caches(db)
        capped_s, capped = timed(db, q, filters, 0)
        S.RANK_CAP = 10**9
        try:
            clear_caches(db)
            exact_s, exact = timed(db, q, filters, 0)
        finally:
            S.RANK_CAP = cap
        a = [h["id"] for h in capped.hits]
        b = [h["id"] for h in exact.hits]
        sa = [h["score"] for h in capped.hits]
        sb = [h["score"] for h in exact.hits]
        out[q] = {
            "total": exact.total,
            # the synthetic labels repeat across registers: many hits tie, so the
            # scores say more than the ids
            "top20_same_ids": len(set(a) & set(b)) / max(1, len(b)),
            "top1_score_ratio": round(sa[0] / sb[0], 4) if sb else None,
            "top20_score_ratio": round(sum(sa) / sum(sb), 4) if sb else None,
            "capped_ms": ms(capped_s),
            "uncapped_ms": ms(exact_s),
        }
        r = out[q]
        say(
            f"  {q:16s} {r['total']:6d} hits: score of the best hit {r['top1_score_ratio']:.3f}"
            f" of the uncapped one, of the top 20 {r['top20_score_ratio']:.3f} (same ids"
            f" {r['top20_same_ids']:.0%}); cold {r['capped_ms']:.1f} ms vs"
            f" {r['uncapped_ms']:.1f} ms uncapped"
        )
    return out


WORD = re.compile(r"[^\W\d_]{4,}")


def mix_queries(db, count: int, seed: int) -> list[tuple[str | None, dict | None]]:
    """Queries like the API load test's: label words, two words, prefixes, typos,
    codes, 40 % with one or two facet filters, and browsing by facets alone."""
    rng = random.Random(seed)
    labels = [r[0] for r in db.execute("SELECT label_nb FROM variables ORDER BY id") if r[0]]
    codings = db.execute("SELECT DISTINCT system, code FROM codings ORDER BY 1, 2").fetchall()
    values = {
        facet: [r[0] for r in db.execute(f"SELECT DISTINCT {column} FROM variables ORDER BY 1")]
        for facet, column in S._COLUMNS.items()
    }
    values["code_system"] = sorted({system for system, _ in codings})

    def word(min_len: int = 4) -> list[str]:
        while True:
            words = [w for w in WORD.findall(rng.choice(labels)) if len(w) >= min_len]
            if words:
                return words

    def filters() -> dict:
        chosen = rng.sample(sorted(values), rng.choice((1, 1, 2)))
        return {f: [rng.choice([v for v in values[f] if v])] for f in chosen}

    out: list[tuple[str | None, dict | None]] = []
    kinds = ["word"] * 25 + ["two"] * 15 + ["prefix"] * 15 + ["typo"] * 10 + ["code"] * 25
    kinds += ["browse"] * 10
    for _ in range(count):
        kind = rng.choice(kinds)
        if kind == "browse":
            out.append((None, filters()))
            continue
        if kind == "word":
            q = rng.choice(word())
        elif kind == "two":
            words = word()
            q = " ".join(words[:2]) if len(words) > 1 else words[0]
        elif kind == "prefix":
            q = rng.choice(word(6))[: rng.randint(3, 5)]
        elif kind == "typo":
            w = rng.choice(word(7)).lower()
            i = rng.randrange(1, len(w) - 2)
            q = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
        else:
            system, code = rng.choice(codings)
            q = rng.choice([code, f"{system}:{code}", code[:3]])
        out.append((q, filters() if rng.random() < 0.4 else None))
    return out


def mixed(db, count: int, seed: int) -> dict[str, dict]:
    """The mix once with empty caches (every query new), then again (all repeated)."""
    queries = mix_queries(db, count, seed)
    clear_caches(db)
    out = {}
    for name in ("first pass", "second pass"):
        wall, cpu = [], []
        for q, filters in queries:
            wall.append(timed(db, q, filters, 0)[0])
            cpu.append(CPU[-1])
        out[name] = {"wall": summary(wall), "cpu": summary(cpu)}
        w, c = out[name]["wall"], out[name]["cpu"]
        say(
            f"  {name}: wall {w['median_ms']:.2f} / {w['p99_ms']:.2f} / {w['max_ms']:.2f}"
            f"  cpu {c['median_ms']:.2f} / {c['p99_ms']:.2f} / {c['max_ms']:.2f}"
        )
    index = S._index(S._cursor(db))
    out["cache"] = {
        "found_entries": len(index.found.data),
        "found_mb": round(index.found.size / 2**20, 1),
        "matches_entries": len(index.matches.data),
        "matches_mb": round(index.matches.size / 2**20, 1),
    }
    say(f"  caches after both passes: {out['cache']}")
    return out


def threaded(index_dir: Path, threads: int, seconds: float) -> dict[str, float]:
    mix = [entry for queries in KINDS.values() for entry in queries]
    times: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(k: int) -> None:
        db = open_index(index_dir)
        mine = []
        i = k
        while time.perf_counter() < stop:
            q, filters, offset = mix[i % len(mix)]
            mine.append(timed(db, q, filters, offset)[0])
            i += 1
        db.close()
        with lock:
            times.extend(mine)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    result = summary(times)
    result["requests_per_second"] = round(len(times) / seconds, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--mix", type=int, default=5_000, help="distinct queries in the mix")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()

    cat = catalogue_dir(args.size, args.seed, args.regenerate)
    index_dir = OUT / f"search-index-{args.size}"
    started = time.perf_counter()
    report = build_index(cat, index_dir)
    if report.errors:
        sys.exit(f"the catalogue has errors: {report.errors[0].render()}")
    say(f"index {index_dir}: {time.perf_counter() - started:.1f} s ({len(report.parsed)} parsed)")
    db = open_index(index_dir)
    variables = db.execute("SELECT count(*) FROM variables").fetchone()[0]
    say(f"{variables:,} variables; load average {os.getloadavg()[0]:.2f}")

    results: dict = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "variables": variables,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "rank_cap": S.RANK_CAP,
        "repeat": args.repeat,
    }
    results["one_off"] = one_offs(db)
    say(
        "once per index generation: " + ", ".join(f"{k} {v}" for k, v in results["one_off"].items())
    )
    say(f"\nper kind, ms: median / p99 / max ({args.repeat} rounds; cpu: thread CPU time)")
    results["kinds"] = kinds(db, args.repeat)
    say(f"\nranking cap ({S.RANK_CAP}) against uncapped bm25, broad queries:")
    results["ranking_cap"] = ranking_cap(db)
    say(f"\nload-test-like mix of {args.mix} distinct queries, ms median / p99 / max:")
    results["mix"] = mixed(db, args.mix, args.seed)
    results["threads"] = {}
    for threads in sorted({1, args.threads}):
        r = threaded(index_dir, threads, args.seconds)
        results["threads"][threads] = r
        say(
            f"\n{threads} thread(s), warm mix, {args.seconds:.0f} s: {r['requests_per_second']} "
            f"searches/s, median {r['median_ms']} ms, p99 {r['p99_ms']} ms"
        )
    results["load_average_at_end"] = round(os.getloadavg()[0], 2)
    db.close()
    OUT.mkdir(exist_ok=True)
    out = OUT / "results-search.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    say(f"\nwrote {out}")


if __name__ == "__main__":
    main()
