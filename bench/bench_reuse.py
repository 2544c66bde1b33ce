#!/usr/bin/env python3
"""Benchmark: the reuse check of a proposed variable (`regcat.reuse.ReuseChecker`).

    python bench/bench_reuse.py [--size 100000] [--seed 1] [--checks 1000]
                                [--threads 4] [--no-stress] [--regenerate]

Writes a synthetic catalogue of N variables with gen_catalogue.py into
bench/out/reuse-N/catalogue (kept and reused while its size and seed match), adds the
bundled catalogue's four key registers (NPR, KPR, LMR, DÅR: the generator makes
quality registers only), builds the index into bench/out/reuse-N/index with
`regcat.index.build_index` (incremental: seconds when nothing changed) and loads it with
`Catalogue.from_index`, as a server would. Then it times:

* setup: `ReuseChecker(catalogue)`;
* `check` on --checks proposals, one after the other, by kind:
  - *copy*: an existing variable (label, definition, help text, datatype, unit,
    codings, item, and its value set as a proposed local value set) proposed for
    another register under a new id: what a register owner copying a known variable
    sends;
  - *novel*: a label of two made-up words and a qualifier, a random datatype, no
    definition: little to match, so the blocks decide the cost;
  - *hostile*: 5 kB labels, punctuation only, codes in unknown systems, the most
    codings and the largest value set `check` accepts (MAX_CODINGS, MAX_CODES);
* the same proposals from --threads threads at once, checking that every report is the
  one the sequential run gave (`check` is read-only);
* a stress variant where every variable's label gets a made-up word of its own, so that
  no two variables share a core and the blocks are as large as the cap allows (the
  generator repeats a small vocabulary, which flatters the grouping).

After setup the benchmark calls `gc.freeze()`, as a server should once it has loaded
its catalogue and checker (`--no-freeze` to measure without: a full collection then
traverses every object of the catalogue and the checker, seconds at 100k variables,
and lands on whichever check happens to run). It prints wall-clock and CPU times —
setup seconds, median / p99 / max check milliseconds — against the targets (setup a
few seconds, check < 50 ms at 100k variables; judged on CPU time, which a busy shared
machine does not inflate as much) and writes the figures to
bench/out/results-reuse.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import random
import resource
import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

from gen_catalogue import generate_catalogue, is_generated  # noqa: E402

from regcat.catalogue import Catalogue  # noqa: E402
from regcat.generated.model import (  # noqa: E402
    Coding,
    LocalizedText,
    PermissibleValue,
    ValueSet,
    Variable,
)
from regcat.index import build_index  # noqa: E402
from regcat.layout import bundled_catalogue  # noqa: E402
from regcat.reuse import HIDDEN_STATUSES, MAX_CODES, MAX_CODINGS, ReuseChecker  # noqa: E402

TARGET_SIZE = 100_000
TARGET_SETUP_SECONDS = 5.0
TARGET_CHECK_MS = 50.0
KEY_REGISTERS = ("npr", "kpr", "lmr", "dar")


def say(text: str = "") -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------- data


def catalogue_dir(n: int, seed: int, regenerate: bool) -> Path:
    """bench/out/reuse-N/catalogue: generated plus the bundled key registers."""
    path = OUT / f"reuse-{n}" / "catalogue"
    marker = path / "key-registers.json"
    if not regenerate and marker.is_file() and is_generated(path, n, seed):
        return path
    started = time.perf_counter()
    generate_catalogue(n, path, seed)
    for rid in KEY_REGISTERS:
        shutil.copyfile(
            bundled_catalogue() / "registers" / f"{rid}.yaml", path / "registers" / f"{rid}.yaml"
        )
    marker.write_text(json.dumps(list(KEY_REGISTERS)) + "\n", encoding="utf-8")
    say(f"generated {path} in {time.perf_counter() - started:.1f} s")
    return path


def load(n: int, seed: int, regenerate: bool) -> tuple[Catalogue, dict]:
    root = catalogue_dir(n, seed, regenerate)
    index = root.parent / "index"
    started = time.perf_counter()
    report = build_index(root, index)
    built = time.perf_counter() - started
    if report.errors:
        raise SystemExit(f"the catalogue has errors: {report.errors[0].render()}")
    started = time.perf_counter()
    catalogue = Catalogue.from_index(index)
    loaded = time.perf_counter() - started
    say(
        f"index {index.relative_to(REPO)}: {len(report.parsed)} files parsed in {built:.1f} s; "
        f"Catalogue.from_index: {len(catalogue.variables):,} variables, "
        f"{len(catalogue.registers)} registers in {loaded:.1f} s"
    )
    return catalogue, {"build_seconds": round(built, 3), "load_seconds": round(loaded, 3)}


def word(rng: random.Random) -> str:
    letters = "bdfgklmnprstv"
    return "".join(rng.choice(letters) + rng.choice("aeiouy") for _ in range(rng.randint(3, 5)))


def proposals(
    catalogue: Catalogue, count: int, seed: int
) -> list[tuple[str, Variable, ValueSet | None]]:
    """(kind, variable, value set) for `count` proposals: 80 % copies, 15 % novel, 5 %
    hostile."""
    rng = random.Random(seed)
    registers = sorted(catalogue.registers)
    live = [
        v
        for v in catalogue.variables.values()
        if getattr(v.status, "value", v.status) not in HIDDEN_STATUSES
    ]
    out: list[tuple[str, Variable, ValueSet | None]] = []
    hostile = hostile_proposals(registers[0])
    for i in range(count):
        roll = i % 20
        if roll == 0:
            kind, variable, value_set = "hostile", *hostile[(i // 20) % len(hostile)]
            out.append((kind, variable, value_set))
            continue
        target = rng.choice(registers)
        if roll <= 3:
            variable = Variable(
                id=f"{target}:NOVEL_{i}",
                label=LocalizedText(nb=f"{word(rng).capitalize()} {word(rng)} ved innleggelse"),
                datatype=rng.choice(["string", "integer", "decimal", "date", "boolean"]),
            )
            out.append(("novel", variable, None))
            continue
        source = rng.choice(live)
        while source.id.partition(":")[0] == target:
            target = rng.choice(registers)
        variable = source.model_copy(
            update={"id": f"{target}:PROPOSED_{i}", "register_id": None, "form": None}
        )
        value_set = catalogue.value_sets.get(source.value_set) if source.value_set else None
        if value_set is not None:
            value_set = value_set.model_copy(update={"id": f"{target}:PROPOSED_{i}"})
            variable = variable.model_copy(update={"value_set": value_set.id})
        out.append(("copy", variable, value_set))
    return out


def hostile_proposals(register_id: str) -> list[tuple[Variable, ValueSet | None]]:
    rng = random.Random(5)
    long_label = " ".join(word(rng) for _ in range(900))[:5000]
    return [
        (
            Variable(
                id=f"{register_id}:LONG",
                label=LocalizedText(nb=long_label, en=long_label),
                datatype="string",
            ),
            None,
        ),
        (
            Variable(
                id=f"{register_id}:DODSDATO_LONG",
                label=LocalizedText(nb="Dødsdato " * 600),
                datatype="date",
            ),
            None,
        ),
        (
            Variable(
                id=f"{register_id}:PUNCT",
                label=LocalizedText(nb="?!.,;:-–()[]"),
                definition=LocalizedText(nb=""),
                datatype="coded",
            ),
            None,
        ),
        (
            Variable(
                id=f"{register_id}:UNKNOWN",
                label=LocalizedText(nb="Ukjent kode"),
                datatype="coded",
                codings=[Coding(system="XYZ", code="Q" * 40), Coding(system="ICD10", code="I21.4")],
                value_set=f"{register_id}:UNKNOWN",
            ),
            ValueSet(
                id=f"{register_id}:UNKNOWN",
                codes=[PermissibleValue(code=str(i), meaning=f"FOO:{i}") for i in range(20)],
            ),
        ),
        (
            Variable(
                id=f"{register_id}:MANY",
                label=LocalizedText(nb="Diagnoser"),
                datatype="coded",
                codings=[Coding(system="ICD10", code=f"I{i:02d}") for i in range(MAX_CODINGS)],
            ),
            None,
        ),
        (
            Variable(
                id=f"{register_id}:BIG",
                label=LocalizedText(nb="Stor liste"),
                datatype="coded",
                value_set=f"{register_id}:BIG",
            ),
            ValueSet(
                id=f"{register_id}:BIG",
                codes=[
                    PermissibleValue(code=str(i), label=LocalizedText(nb=f"Svar {word(rng)}"))
                    for i in range(MAX_CODES)
                ],
            ),
        ),
    ]


def unique_labels(catalogue: Catalogue, seed: int) -> None:
    """Give every variable's label a made-up word of its own (in place)."""
    rng = random.Random(seed)
    for variable in catalogue.variables.values():
        label = variable.label
        variable.label = LocalizedText(nb=f"{label.nb or label.en or ''} {word(rng)}", en=label.en)


# --------------------------------------------------------------------------- timing


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(catalogue: Catalogue, count: int, seed: int, threads: int, freeze: bool) -> dict:
    gc.collect()
    started, cpu = time.perf_counter(), time.process_time()
    checker = ReuseChecker(catalogue)
    setup = time.perf_counter() - started
    setup_cpu = time.process_time() - cpu
    if freeze:  # what a server does once it has loaded: collections skip what it holds
        gc.freeze()
    collections = [0, 0.0]

    def count_collections(phase: str, info: dict) -> None:
        if info["generation"] == 2:
            if phase == "start":
                collections[1] -= time.perf_counter()
            else:
                collections[0] += 1
                collections[1] += time.perf_counter()

    gc.callbacks.append(count_collections)
    items = proposals(catalogue, count, seed)
    for _, variable, value_set in items[:20]:  # warm the caches a server would have warm
        checker.check(variable, value_set)
    times: dict[str, list[float]] = {}
    cpu_times: dict[str, list[float]] = {}
    reports = []
    found = {"similar": 0, "key_register": 0}
    for kind, variable, value_set in items:
        started, cpu = time.perf_counter(), time.thread_time()
        report = checker.check(variable, value_set)
        cpu_times.setdefault(kind, []).append(1000 * (time.thread_time() - cpu))
        times.setdefault(kind, []).append(1000 * (time.perf_counter() - started))
        reports.append(report.to_json())
        found["similar"] += bool(report.similar)
        found["key_register"] += bool(report.key_register)
    gc.callbacks.remove(count_collections)
    every = [t for ts in times.values() for t in ts]
    every_cpu = [t for ts in cpu_times.values() for t in ts]

    def figures(ms: list[float]) -> dict:
        return {
            "checks": len(ms),
            "median_ms": round(statistics.median(ms), 3),
            "p99_ms": round(percentile(ms, 0.99), 3),
            "max_ms": round(max(ms), 3),
        }

    result = {
        "variables": len(catalogue.variables),
        "setup_seconds": round(setup, 3),
        "setup_cpu_seconds": round(setup_cpu, 3),
        "all": figures(every),
        "all_cpu": figures(every_cpu),
        "by_kind": {kind: figures(ms) for kind, ms in sorted(times.items())},
        "by_kind_cpu": {kind: figures(ms) for kind, ms in sorted(cpu_times.items())},
        "gc_frozen": freeze,
        "full_collections_during_checks": collections[0],
        "full_collection_seconds": round(collections[1], 3),
        "with_similar": found["similar"],
        "with_key_register": found["key_register"],
    }
    if threads > 1:
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            parallel = list(pool.map(lambda item: checker.check(item[1], item[2]).to_json(), items))
        result["threads"] = {
            "threads": threads,
            "seconds": round(time.perf_counter() - started, 3),
            "sequential_seconds": round(sum(every) / 1000, 3),
            "same_reports": parallel == reports,
        }
    if freeze:
        gc.unfreeze()
    return result


def report(name: str, result: dict) -> None:
    """Wall-clock and CPU figures: on a shared machine the CPU time (of the process for
    the setup, of the thread for a check) is what the code costs."""

    def line(f: dict, c: dict) -> str:
        return (
            f"median {f['median_ms']:6.2f} ms  p99 {f['p99_ms']:6.2f} ms  max {f['max_ms']:6.2f} ms"
            f"  | CPU median {c['median_ms']:6.2f}  p99 {c['p99_ms']:6.2f}  max {c['max_ms']:6.2f}"
        )

    say(
        f"{name}: setup {result['setup_seconds']:.2f} s (CPU {result['setup_cpu_seconds']:.2f} s)"
        f" at {result['variables']:,} variables"
    )
    every = result["all"]
    say(f"  {'all':<8} {every['checks']:>5} checks  {line(every, result['all_cpu'])}")
    for kind, f in result["by_kind"].items():
        c = result["by_kind_cpu"][kind]
        say(f"  {kind:<8} {f['checks']:>5} checks  {line(f, c)}")
    say(
        f"  proposals with similar candidates: {result['with_similar']}, "
        f"with key-register candidates: {result['with_key_register']}"
    )
    say(
        f"  gc.freeze() after setup: {result['gc_frozen']}; full collections during the "
        f"checks: {result['full_collections_during_checks']} "
        f"({result['full_collection_seconds']:.2f} s)"
    )
    if "threads" in result:
        t = result["threads"]
        say(
            f"  {t['threads']} threads: {t['seconds']:.2f} s wall for "
            f"{t['sequential_seconds']:.2f} s of sequential checks; reports identical: "
            f"{t['same_reports']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=TARGET_SIZE)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4, help="1 to skip")
    parser.add_argument("--no-stress", action="store_true")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="do not gc.freeze() after setup (full collections then traverse everything)",
    )
    args = parser.parse_args(argv)
    freeze = not args.no_freeze
    OUT.mkdir(parents=True, exist_ok=True)

    catalogue, load_figures = load(args.size, args.seed, args.regenerate)
    results: dict = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "catalogue": f"bench/out/reuse-{args.size}/catalogue",
        "size": args.size,
        "seed": args.seed,
        **load_figures,
        "targets": {"setup_seconds": TARGET_SETUP_SECONDS, "check_ms": TARGET_CHECK_MS},
        "runs": {},
    }
    say()
    results["runs"]["generated"] = run(catalogue, args.checks, args.seed, args.threads, freeze)
    report("generated", results["runs"]["generated"])
    if not args.no_stress:
        unique_labels(catalogue, args.seed)
        results["runs"]["unique_labels"] = run(catalogue, args.checks, args.seed, 1, freeze)
        report("unique labels (stress)", results["runs"]["unique_labels"])

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    results["peak_rss_mib"] = round(peak)
    runs = results["runs"].values()
    # judged on CPU time: wall-clock time on a shared machine measures the neighbours
    worst_setup = max(r["setup_cpu_seconds"] for r in runs)
    worst_p99 = max(r["all_cpu"]["p99_ms"] for r in runs)
    same = all(r.get("threads", {}).get("same_reports", True) for r in runs)
    ok = (
        args.size < TARGET_SIZE
        or (worst_setup < TARGET_SETUP_SECONDS and worst_p99 < TARGET_CHECK_MS)
    ) and same
    results["target_met"] = ok
    say()
    say(
        f"targets at {TARGET_SIZE:,} variables (CPU time): setup < {TARGET_SETUP_SECONDS:.0f} s "
        f"(slowest {worst_setup:.2f} s), check p99 < {TARGET_CHECK_MS:.0f} ms "
        f"(worst {worst_p99:.2f} ms)"
        f"{'' if same else ', threads gave different reports'}: {'met' if ok else 'MISSED'} "
        f"(peak memory {peak:,.0f} MiB)"
    )
    out = OUT / "results-reuse.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
