#!/usr/bin/env python3
"""Benchmark: building the documentation site (`regcat site build`, mkdocs-material).

    python bench/bench_site.py [--size 10000] [--seed 1] [--runs 2] [--regenerate]

Times `regcat site build` as a user runs it (a new process, imports included, the index
already up to date) for the bundled catalogue and for a synthetic catalogue of --size
variables written by gen_catalogue.py into bench/out/site-N/catalogue (kept and reused
while its size and seed match). The index is built first and timed apart. Each build is
run --runs times; the best and the median are printed with the page count, the site's
size, the search index's size and the peak memory of the build process, against the
target (< 60 s for 10,000 variables on 2 cores) and against the NHS Data Dictionary's
publication run (30–45 minutes, the comparison the issue names). Figures go to
bench/out/results-site.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

from gen_catalogue import generate_catalogue, is_generated  # noqa: E402

from regcat.index import build_index  # noqa: E402
from regcat.layout import bundled_catalogue  # noqa: E402

TARGET_SECONDS = 60.0
TARGET_SIZE = 10_000
NHS_DD_SECONDS = (30 * 60, 45 * 60)
REGCAT = Path(sys.executable).with_name("regcat")


def say(text: str = "") -> None:
    print(text, flush=True)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _catalogue(n: int, seed: int, regenerate: bool) -> Path:
    path = OUT / f"site-{n}" / "catalogue"
    if regenerate or not is_generated(path, n, seed):
        started = time.perf_counter()
        generate_catalogue(n, path, seed)
        say(f"generated {path.relative_to(REPO)} in {time.perf_counter() - started:.1f} s")
    return path


def _build_once(catalogue: Path, index: Path, site: Path) -> dict:
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [
            str(REGCAT),
            "--catalogue",
            str(catalogue),
            "--index",
            str(index),
            "site",
            "build",
            "--site-dir",
            str(site),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=dict(os.environ, REGCAT_DATABASE_URL=f"sqlite:///{site.parent / 'empty.db'}"),
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"site build failed:\n{proc.stderr}")
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(
            (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2
        ),
        "peak_rss_mb": round(after.ru_maxrss / 1024),  # the largest child so far
        "log": proc.stderr.strip().splitlines()[-1],
    }


def measure(name: str, catalogue: Path, runs: int) -> dict:
    work = OUT / f"site-{name}"
    index = work / "index"
    site = work / "site"
    started = time.perf_counter()
    report = build_index(catalogue, index)
    if report.errors:
        raise SystemExit(f"{catalogue}: {report.errors[0].render()}")
    index_seconds = time.perf_counter() - started
    times = [_build_once(catalogue, index, site) for _ in range(runs)]
    best = min(times, key=lambda t: t["seconds"])
    pages = sum(1 for _ in site.rglob("index.html"))
    search = site / "search" / "search_index.json"
    result = {
        "catalogue": name,
        "variables": sum(1 for _ in (site / "variables").rglob("index.html")),
        "pages": pages,
        "index_seconds": round(index_seconds, 2),
        "build_seconds_best": best["seconds"],
        "build_seconds_median": round(statistics.median(t["seconds"] for t in times), 2),
        "cpu_seconds_best": best["cpu_seconds"],
        "peak_rss_mb": max(t["peak_rss_mb"] for t in times),
        "site_mb": round(_size(site) / 1e6, 1),
        "search_index_mb": round(search.stat().st_size / 1e6, 1),
        "ms_per_page": round(1000 * best["seconds"] / pages, 2),
    }
    say(
        f"{name}: {result['variables']:,} variables, {pages:,} pages; index {index_seconds:.1f} s; "
        f"site build best {best['seconds']:.1f} s (median {result['build_seconds_median']:.1f} s, "
        f"CPU {best['cpu_seconds']:.1f} s, {result['ms_per_page']} ms/page); "
        f"site {result['site_mb']} MB, search index {result['search_index_mb']} MB, "
        f"peak RSS {result['peak_rss_mb']} MB"
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=TARGET_SIZE)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    say(
        f"regcat site build · {platform.python_implementation()} {platform.python_version()} "
        f"· {os.cpu_count()} cores"
    )
    results = [measure("bundled", bundled_catalogue(), args.runs)]
    synthetic = measure(
        str(args.size), _catalogue(args.size, args.seed, args.regenerate), args.runs
    )
    results.append(synthetic)
    best = synthetic["build_seconds_best"]
    verdict = "met" if best < TARGET_SECONDS else "MISSED"
    say(
        f"target: < {TARGET_SECONDS:.0f} s for {TARGET_SIZE:,} variables: {best:.1f} s, "
        f"{best / TARGET_SECONDS:.2f}× the target ({verdict}); NHS Data Dictionary publication "
        f"30–45 min: {NHS_DD_SECONDS[0] / best:.0f}–{NHS_DD_SECONDS[1] / best:.0f}× faster"
    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results-site.json").write_text(
        json.dumps(
            {
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "cores": os.cpu_count(),
                "target_seconds": TARGET_SECONDS,
                "results": results,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0 if best < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
