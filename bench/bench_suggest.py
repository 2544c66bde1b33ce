#!/usr/bin/env python3
"""Benchmark: `regcat suggest` (candidate equivalents across registers) at scale.

    python bench/bench_suggest.py [--size 100000] [--seed 1] [--recall-size 20000]
                                  [--no-stress] [--regenerate]

Writes a synthetic catalogue of N variables with gen_catalogue.py into
bench/out/suggest-N/ (kept and reused while its size and seed match), loads it once,
and times `regcat.suggest.suggest`:

* all registers (every variable a subject, objects in every other register);
* `between` the two largest registers;
* a stress variant where every variable gets a definition of its own, so that no two
  variables share a profile and the grouping of identical variables cannot help (the
  generator repeats a small vocabulary, which flatters the grouping);
* at --recall-size, the same run with the block-size cap switched off, to measure what
  the cap costs in recall (subjects that lose their best candidate).

Prints the pairs scored against the all-pairs count and the seconds, against the
target (< 60 s at 100k variables on 2 cores), and writes the figures to
bench/out/results-suggest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

from gen_catalogue import generate_catalogue, is_generated  # noqa: E402

from regcat.catalogue import Catalogue  # noqa: E402
from regcat.generated.model import LocalizedText  # noqa: E402

TARGET_SECONDS = 60.0
TARGET_SIZE = 100_000


def say(text: str = "") -> None:
    print(text, flush=True)


def catalogue_dir(n: int, seed: int, regenerate: bool) -> Path:
    """bench/out/suggest-N, generated unless a matching one is there already."""
    path = OUT / f"suggest-{n}"
    if not regenerate and is_generated(path, n, seed):
        return path
    started = time.perf_counter()
    generate_catalogue(n, path, seed)
    say(f"generated {path} in {time.perf_counter() - started:.1f} s")
    return path


def load(path: Path) -> tuple[Catalogue, float]:
    started = time.perf_counter()
    catalogue = Catalogue.load(path)
    return catalogue, time.perf_counter() - started


def run(catalogue: Catalogue, between=None) -> tuple[list, dict]:
    from regcat.suggest import suggest

    stats: dict = {}
    started = time.perf_counter()
    candidates = suggest(catalogue, between, stats=stats)
    stats["seconds_total"] = round(time.perf_counter() - started, 3)
    stats["predicates"] = dict(Counter(c.predicate for c in candidates).most_common())
    stats["subjects"] = len({c.subject for c in candidates})
    return candidates, stats


def report(name: str, stats: dict) -> None:
    scored = stats["core_pairs_scored"] + stats["profile_pairs_scored"]
    share = scored / stats["all_pairs"] if stats["all_pairs"] else 0.0
    say(
        f"{name:<28} {stats['seconds_total']:>7.2f} s  "
        f"{stats['variables']:>7} variables  {stats['cores']:>6} cores  "
        f"{stats['profiles']:>6} profiles"
    )
    say(
        f"{'':<28} pairs scored: {stats['core_pairs_scored']:,} core + "
        f"{stats['profile_pairs_scored']:,} profile = {scored:,} "
        f"of {stats['all_pairs']:,} cross-register variable pairs ({100 * share:.4f} %); "
        f"variable pairs those cover: {stats['variable_pairs_scored']:,}"
    )
    say(
        f"{'':<28} {stats['candidates']:,} candidates for {stats['subjects']:,} subjects: "
        + ", ".join(f"{k.removeprefix('skos:')} {v:,}" for k, v in stats["predicates"].items())
    )


def unique_definitions(catalogue: Catalogue) -> None:
    """Give every variable a definition of its own (in place)."""
    for variable in catalogue.variables.values():
        variable.definition = LocalizedText(
            nb=f"Variabelen {variable.id} slik registeret definerer den."
        )


def recall(n: int, seed: int, regenerate: bool) -> dict:
    import regcat.suggest as suggest_module

    catalogue, _ = load(catalogue_dir(n, seed, regenerate))
    capped, capped_stats = run(catalogue)
    saved = suggest_module.BLOCK_CAP_MIN
    suggest_module.BLOCK_CAP_MIN = 10**9
    try:
        full, full_stats = run(catalogue)
    finally:
        suggest_module.BLOCK_CAP_MIN = saved

    def best(candidates) -> dict[str, float]:
        out: dict[str, float] = {}
        for c in candidates:
            out[c.subject] = max(out.get(c.subject, 0.0), c.score)
        return out

    with_cap, without = best(capped), best(full)
    lost = [s for s in without if s not in with_cap]
    worse = [s for s in without if s in with_cap and with_cap[s] < without[s] - 1e-9]
    return {
        "variables": n,
        "subjects_without_cap": len(without),
        "subjects_with_cap": len(with_cap),
        "subjects_lost": len(lost),
        "subjects_with_a_worse_best": len(worse),
        "seconds_with_cap": capped_stats["seconds_total"],
        "seconds_without_cap": full_stats["seconds_total"],
        "core_pairs_with_cap": capped_stats["core_pairs_scored"],
        "core_pairs_without_cap": full_stats["core_pairs_scored"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=TARGET_SIZE)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--recall-size", type=int, default=20_000, help="0 to skip")
    parser.add_argument("--no-stress", action="store_true")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)

    path = catalogue_dir(args.size, args.seed, args.regenerate)
    catalogue, load_seconds = load(path)
    say(f"loaded {path}: {len(catalogue.variables):,} variables in {load_seconds:.1f} s")
    say()
    results: dict = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "catalogue": str(path.relative_to(BENCH.parent)),
        "size": args.size,
        "seed": args.seed,
        "load_seconds": round(load_seconds, 3),
        "target_seconds": TARGET_SECONDS,
        "runs": {},
    }

    _, stats = run(catalogue)
    report("all registers", stats)
    results["runs"]["all_registers"] = stats

    sizes = Counter({rid: len(r.variables or []) for rid, r in catalogue.registers.items()})
    between = tuple(sorted(rid for rid, _ in sizes.most_common(2)))
    _, stats = run(catalogue, between)
    report(f"between {between[0]} {between[1]}", stats)
    results["runs"]["between"] = dict(stats, between=list(between))

    if not args.no_stress:
        unique_definitions(catalogue)
        _, stats = run(catalogue)
        report("all, unique definitions", stats)
        results["runs"]["all_registers_unique_definitions"] = stats

    if args.recall_size:
        say()
        figures = recall(args.recall_size, args.seed, args.regenerate)
        say(
            f"block cap recall at {figures['variables']:,} variables: "
            f"{figures['subjects_lost']} of {figures['subjects_without_cap']:,} subjects lose "
            f"all candidates, {figures['subjects_with_a_worse_best']} get a worse best one; "
            f"{figures['core_pairs_with_cap']:,} vs {figures['core_pairs_without_cap']:,} core "
            f"pairs, {figures['seconds_with_cap']:.1f} s vs {figures['seconds_without_cap']:.1f} s"
        )
        results["recall"] = figures

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    results["peak_rss_mib"] = round(peak)
    worst = max(r["seconds_total"] for r in results["runs"].values())
    ok = args.size < TARGET_SIZE or worst < TARGET_SECONDS
    results["target_met"] = ok
    say()
    say(
        f"target: < {TARGET_SECONDS:.0f} s at {TARGET_SIZE:,} variables — slowest run "
        f"{worst:.1f} s: {'met' if ok else 'MISSED'} (peak memory {peak:,.0f} MiB)"
    )
    out = OUT / "results-suggest.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
