#!/usr/bin/env python3
"""Benchmark: `regcat validate` against `linkml-validate`, and the incremental build.

    python bench/bench_validate.py [--sizes 20000,100000] [--linkml-sample N] [--repeat R]

For each size N it writes two synthetic catalogues of N variables into bench/out/
(see gen_catalogue.py): one with a few injected schema and reference errors, one
clean. Then it measures, each command in a fresh process as a user runs it:

* `regcat --catalogue DIR validate --format json` (cold, median of R runs; also with
  `--jobs 1`), and checks it reports exactly the injected errors;
* `linkml-validate -s schema/regcat.yaml -C Register <register files...>` on the same
  files, and which injected errors it reports (schema errors: all; reference errors:
  none, as LinkML does not resolve references). With --linkml-sample N it validates
  only the register files holding the errors plus enough others for N variables and
  extrapolates linearly (start-up counted once), and says so;
* `regcat build` on the clean catalogue: full, after a one-label edit in one register
  file, and with nothing changed.

Prints a table against the targets (regcat validate >= 20x faster than linkml-validate
at 100k variables; rebuild after a one-register edit < 1 s) and writes the figures to
bench/out/results-validate.json.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
SCHEMA = REPO / "schema" / "regcat.yaml"
sys.path.insert(0, str(BENCH))

from gen_catalogue import generate_catalogue  # noqa: E402

TARGET_RATIO = 20.0  # regcat validate at least this much faster than linkml-validate
TARGET_REBUILD = 1.0  # seconds, after a one-register edit
TARGET_SIZE = 100_000  # the ratio target applies at this size

_LINKML_LINE = re.compile(r"^\[(ERROR|WARNING)\] \[(.+?)/\d+\] (.*)$")
_LINKML_WHERE = re.compile(r" in /variables/(\d+)(?:/(\w+))?$")
_BUILD_LINE = re.compile(r"(\d+) files, (\d+) parsed, (\d+) removed, ([\d.]+) s")


def tool(name: str) -> str:
    """The venv's console script beside this interpreter, else the one on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc


def code_version() -> dict:
    """The commit measured, and whether regcat/ had uncommitted changes (read-only git)."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "regcat_changed": bool(git("status", "--porcelain", "--", "regcat", "schema")),
    }


def say(text: str = "") -> None:
    print(text, flush=True)


# --- regcat validate --------------------------------------------------------------


def check_regcat(findings: list[dict], expected: list[dict]) -> dict:
    """Exactly the injected errors, each once, and no warnings."""
    got = Counter((f["path"], f["id"], f["rule"]) for f in findings)
    want = Counter((e["file"], e["id"], e["rule"]) for e in expected)
    missing = sorted((want - got).elements())
    extra = sorted((got - want).elements())
    return {"ok": not missing and not extra, "missing": missing, "unexpected": extra}


def bench_regcat_validate(cat: Path, expected: list[dict], repeat: int, jobs: int | None) -> dict:
    cmd = [tool("regcat"), "--catalogue", str(cat), "validate", "--format", "json"]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    times, report = [], None
    for _ in range(repeat):
        seconds, proc = timed(cmd)
        times.append(seconds)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"regcat validate failed ({proc.returncode}): {proc.stderr[-2000:]}")
        report = json.loads(proc.stdout)
    assert report is not None
    check = check_regcat(report["findings"], expected)
    return {
        "seconds": statistics.median(times),
        "runs": times,
        "jobs": jobs if jobs is not None else (os.cpu_count() or 1),
        "findings": len(report["findings"]),
        **check,
    }


# --- linkml-validate --------------------------------------------------------------


def parse_linkml(output: str) -> list[tuple[str, int | None, str]]:
    """(file, variable index or None, message) for each reported problem."""
    problems = []
    for line in output.splitlines():
        match = _LINKML_LINE.match(line.strip())
        if not match:
            continue
        _, file, message = match.groups()
        where = _LINKML_WHERE.search(message)
        problems.append((file, int(where.group(1)) if where else None, message))
    return problems


def linkml_cmd(files: list[str]) -> list[str]:
    return [tool("linkml-validate"), "-s", str(SCHEMA), "-C", "Register", *files]


def linkml_startup(workdir: Path) -> float:
    """Wall time of linkml-validate on a one-line valid register: its fixed cost."""
    tiny = workdir / "linkml-startup.yaml"
    tiny.write_text("id: tiny\nname:\n  nb: Lite register\n", encoding="utf-8")
    seconds, proc = timed(linkml_cmd([str(tiny)]))
    if proc.returncode != 0:
        raise SystemExit(f"linkml-validate fails on a valid file: {proc.stdout}{proc.stderr}")
    return seconds


def linkml_modes(cat: Path, files: list[str]) -> dict:
    """One process per file vs all files in one process, on the same few files."""
    per_file = sum(timed(linkml_cmd([f]), cwd=cat)[0] for f in files)
    together, _ = timed(linkml_cmd(files), cwd=cat)
    return {"files": files, "one_process_per_file": per_file, "one_process_for_all": together}


def bench_linkml(cat: Path, gen: dict, sample: int | None, startup: float) -> dict:
    per_file: dict[str, int] = gen["variables_per_file"]
    expected = gen["errors"]
    files = list(per_file)
    chosen = files
    if sample is not None and sample < gen["variables"]:
        with_errors = list(dict.fromkeys(e["file"] for e in expected))
        chosen = list(with_errors)
        count = sum(per_file[f] for f in chosen)
        for f in files:
            if count >= sample:
                break
            if f not in chosen:
                chosen.append(f)
                count += per_file[f]
        chosen = [f for f in files if f in chosen]  # catalogue order
    sampled_vars = sum(per_file[f] for f in chosen)
    seconds, proc = timed(linkml_cmd(chosen), cwd=cat)
    problems = parse_linkml(proc.stdout + proc.stderr)
    by_place = {(e["file"], e["index"]): e for e in expected}
    found, unexpected = [], []
    for file, index, message in problems:
        hit = by_place.get((file, index))
        if hit is not None:
            found.append({**hit, "message": message})
        else:
            unexpected.append(f"{file}: {message}")
    in_sample = [e for e in expected if e["file"] in chosen]
    found_keys = {(e["file"], e["index"]) for e in found}
    schema = [e for e in in_sample if e["class"] == "schema"]
    refs = [e for e in in_sample if e["class"] == "reference"]
    schema_found = [e for e in schema if (e["file"], e["index"]) in found_keys]
    refs_found = [e for e in refs if (e["file"], e["index"]) in found_keys]
    extrapolated = len(chosen) < len(files)
    estimate = seconds
    if extrapolated:
        estimate = startup + (seconds - startup) * gen["variables"] / sampled_vars
    return {
        "seconds": estimate,
        "measured_seconds": seconds,
        "extrapolated": extrapolated,
        "sampled_files": len(chosen),
        "total_files": len(files),
        "sampled_variables": sampled_vars,
        "exit_code": proc.returncode,
        "reported": len(problems),
        "schema_errors_found": f"{len(schema_found)}/{len(schema)}",
        "reference_errors_found": f"{len(refs_found)}/{len(refs)}",
        "ok": len(schema_found) == len(schema) and not refs_found and not unexpected,
        "missed": [e["id"] for e in schema if e not in schema_found],
        "unexpected": unexpected[:20],
        "found": found,
    }


# --- regcat build -----------------------------------------------------------------


def build_once(cat: Path, index: Path) -> dict:
    seconds, proc = timed([tool("regcat"), "--catalogue", str(cat), "--index", str(index), "build"])
    if proc.returncode != 0:
        raise SystemExit(
            f"regcat build failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    match = _BUILD_LINE.search(proc.stderr)
    return {
        "seconds": seconds,
        "internal_seconds": float(match.group(4)) if match else None,
        "parsed": int(match.group(2)) if match else None,
    }


def edit_one_label(cat: Path, gen: dict, round_: int) -> str:
    """Change one variable label in one register file (as a curator would)."""
    files = list(gen["variables_per_file"])
    rel = files[len(files) // 2]
    path = cat / rel
    text = path.read_text(encoding="utf-8")
    body = text.index("\nvariables:\n")
    marker = "\n  label:\n    nb: "
    at = body
    for _ in range(round_ + 1):
        at = text.index(marker, at + 1)
    end = text.index("\n", at + len(marker))
    path.write_text(text[:end] + f" (endret {round_ + 1})" + text[end:], encoding="utf-8")
    return rel


def bench_build(cat: Path, index: Path, gen: dict, repeat: int) -> dict:
    if index.exists():
        shutil.rmtree(index)
    full = build_once(cat, index)
    edits, nochange = [], []
    edited = None
    for round_ in range(repeat):
        edited = edit_one_label(cat, gen, round_)
        edits.append(build_once(cat, index))
        nochange.append(build_once(cat, index))
    return {
        "full": full,
        "edited_file": edited,
        "one_register": {
            "seconds": statistics.median(e["seconds"] for e in edits),
            "internal_seconds": statistics.median(e["internal_seconds"] or 0 for e in edits),
            "parsed": [e["parsed"] for e in edits],
            "runs": [e["seconds"] for e in edits],
        },
        "no_change": {
            "seconds": statistics.median(e["seconds"] for e in nochange),
            "internal_seconds": statistics.median(e["internal_seconds"] or 0 for e in nochange),
            "parsed": [e["parsed"] for e in nochange],
            "runs": [e["seconds"] for e in nochange],
        },
    }


# --- profile ------------------------------------------------------------------------


def profile_validate(cat: Path, target: Path) -> str:
    """cProfile of validate_catalogue(jobs=1) in process; the top entries as text."""
    from regcat.catalogue import validate_catalogue

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    validate_catalogue(cat, jobs=1)
    profiler.disable()
    wall = time.perf_counter() - started
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    buffer.write(f"validate_catalogue({cat.name}, jobs=1): {wall:.2f} s under cProfile\n")
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    target.write_text(buffer.getvalue(), encoding="utf-8")
    return buffer.getvalue()


# --- main ---------------------------------------------------------------------------


def fmt(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000", help="comma-separated variable counts")
    parser.add_argument(
        "--linkml-sample",
        type=int,
        default=None,
        metavar="N",
        help="validate only ~N variables with linkml-validate and extrapolate linearly",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--schema-errors", type=int, default=3)
    parser.add_argument("--ref-errors", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile regcat validate")
    parser.add_argument("--skip-linkml", action="store_true", help="regcat figures only")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    OUT.mkdir(parents=True, exist_ok=True)

    results: dict = {
        "date": dt.date.today().isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "targets": {
            "ratio_at_100k": TARGET_RATIO,
            "one_register_rebuild_seconds": TARGET_REBUILD,
        },
        "code": code_version(),
        "linkml_command": "linkml-validate -s schema/regcat.yaml -C Register <register files...>",
        "sizes": {},
    }
    code = results["code"]
    say(
        f"regcat at {code['commit']}"
        + (" (with uncommitted changes)" if code["regcat_changed"] else "")
    )
    load = os.getloadavg()[0]
    results["machine"]["load_average_at_start"] = load
    if load > 0.5:
        say(f"warning: load average {load:.2f} at start: other work will skew the timings")
    startup = None
    if not args.skip_linkml:
        startup = linkml_startup(OUT)
        results["linkml_startup_seconds"] = startup
        say(f"linkml-validate start-up (one tiny valid file): {startup:.2f} s")

    for n in sizes:
        say(f"\n=== {n:,} variables ===")
        broken = OUT / f"cat-{n}-errors"
        clean = OUT / f"cat-{n}"
        started = time.perf_counter()
        gen = generate_catalogue(n, broken, args.seed, args.schema_errors, args.ref_errors)
        gen_clean = generate_catalogue(n, clean, args.seed)
        say(
            f"generated {broken.name} and {clean.name}: {gen['registers']} registers, "
            f"{gen['forms']} forms, {gen['value_sets']} value sets, "
            f"{gen['bytes'] / 1e6:.1f} MB each, {time.perf_counter() - started:.1f} s"
        )
        row: dict = {"catalogue": {k: v for k, v in gen.items() if k != "variables_per_file"}}

        cold = bench_regcat_validate(broken, gen["errors"], args.repeat, None)
        status = "OK" if cold["ok"] else "MISMATCH"
        say(
            f"regcat validate (cold, {cold['jobs']} jobs): {fmt(cold['seconds'])} "
            f"(runs {min(cold['runs']):.2f}-{max(cold['runs']):.2f} s); "
            f"{cold['findings']} findings for {len(gen['errors'])} injected: {status}"
        )
        for item in cold["missing"]:
            say(f"  missing:    {item}")
        for item in cold["unexpected"]:
            say(f"  unexpected: {item}")
        row["regcat_validate"] = cold
        single = bench_regcat_validate(broken, gen["errors"], args.repeat, 1)
        say(
            f"regcat validate (cold, --jobs 1): {fmt(single['seconds'])} "
            f"(runs {min(single['runs']):.2f}-{max(single['runs']):.2f} s)"
        )
        row["regcat_validate_jobs1"] = single
        clean_run = bench_regcat_validate(clean, [], 1, None)
        say(
            f"regcat validate on the clean catalogue: {fmt(clean_run['seconds'])}, "
            f"{clean_run['findings']} findings: {'OK' if clean_run['ok'] else 'MISMATCH'}"
        )
        row["regcat_validate_clean"] = clean_run

        if not args.skip_linkml:
            if "linkml_modes" not in results:
                smallest = sorted(gen["variables_per_file"], key=gen["variables_per_file"].get)[:2]
                modes = linkml_modes(broken, smallest)
                results["linkml_modes"] = modes
                say(
                    f"linkml-validate on {len(smallest)} files: one process per file "
                    f"{fmt(modes['one_process_per_file'])}, one process for all "
                    f"{fmt(modes['one_process_for_all'])} (used below: the faster)"
                )
            lk = bench_linkml(broken, gen, args.linkml_sample, startup or 0.0)
            note = (
                f" (EXTRAPOLATED from {lk['sampled_variables']:,} variables in "
                f"{lk['sampled_files']}/{lk['total_files']} files, measured "
                f"{fmt(lk['measured_seconds'])})"
                if lk["extrapolated"]
                else ""
            )
            say(
                f"linkml-validate: {fmt(lk['seconds'])}{note}; schema errors found "
                f"{lk['schema_errors_found']}, reference errors found "
                f"{lk['reference_errors_found']}, other reports {len(lk['unexpected'])}: "
                f"{'OK' if lk['ok'] else 'MISMATCH'}"
            )
            for item in lk["unexpected"]:
                say(f"  unexpected: {item}")
            row["linkml_validate"] = lk
            row["ratio"] = lk["seconds"] / cold["seconds"]
            row["ratio_jobs1"] = lk["seconds"] / single["seconds"]
            say(
                f"ratio linkml-validate / regcat validate: {row['ratio']:.1f}x "
                f"({row['ratio_jobs1']:.1f}x against --jobs 1)"
            )

        built = bench_build(clean, OUT / f"index-{n}", gen_clean, args.repeat)
        say(
            f"regcat build: full {fmt(built['full']['seconds'])}, after a one-label edit "
            f"{fmt(built['one_register']['seconds'])} (in-process "
            f"{fmt(built['one_register']['internal_seconds'])}, parsed "
            f"{built['one_register']['parsed']}), no change {fmt(built['no_change']['seconds'])}"
        )
        row["build"] = built
        if args.profile:
            text = profile_validate(clean, OUT / f"profile-validate-{n}.txt")
            say(text.split("\n", 1)[0] + f" (top functions in bench/out/profile-validate-{n}.txt)")
        results["sizes"][str(n)] = row

    # --- summary table -----------------------------------------------------------
    say("\nSummary (wall time of a fresh process; medians)")
    header = (
        f"{'variables':>10} | {'regcat validate':>15} | {'--jobs 1':>9} | "
        f"{'linkml-validate':>16} | {'ratio':>7} | {'full build':>10} | "
        f"{'1-reg rebuild':>13} | {'no-change':>9} | checks"
    )
    say(header)
    say("-" * len(header))
    for n, row in results["sizes"].items():
        lk = row.get("linkml_validate")
        lk_text = "-" if lk is None else fmt(lk["seconds"]) + ("*" if lk["extrapolated"] else "")
        ratio = row.get("ratio")
        checks = ["regcat " + ("OK" if row["regcat_validate"]["ok"] else "MISMATCH")]
        if lk is not None:
            checks.append("linkml " + ("OK" if lk["ok"] else "MISMATCH"))
        say(
            f"{int(n):>10,} | {fmt(row['regcat_validate']['seconds']):>15} | "
            f"{fmt(row['regcat_validate_jobs1']['seconds']):>9} | {lk_text:>16} | "
            f"{'-' if ratio is None else f'{ratio:.1f}x':>7} | "
            f"{fmt(row['build']['full']['seconds']):>10} | "
            f"{fmt(row['build']['one_register']['seconds']):>13} | "
            f"{fmt(row['build']['no_change']['seconds']):>9} | {', '.join(checks)}"
        )
    if any(r.get("linkml_validate", {}).get("extrapolated") for r in results["sizes"].values()):
        say("* extrapolated linearly from a sample of register files (see above)")

    say("\nTargets")
    verdicts = {}
    at_target = results["sizes"].get(str(TARGET_SIZE))
    if at_target is not None and "ratio" in at_target:
        ok = at_target["ratio"] >= TARGET_RATIO
        verdicts["ratio_at_100k"] = ok
        say(
            f"  regcat validate >= {TARGET_RATIO:.0f}x faster than linkml-validate at 100k: "
            f"{at_target['ratio']:.1f}x -> {'MET' if ok else 'NOT MET'}"
        )
    else:
        say(f"  ratio target is at {TARGET_SIZE:,} variables: not measured in this run")
    for n, row in results["sizes"].items():
        seconds = row["build"]["one_register"]["seconds"]
        ok = seconds < TARGET_REBUILD
        verdicts[f"rebuild_{n}"] = ok
        say(
            f"  rebuild after a one-register edit < {TARGET_REBUILD:.0f} s at {int(n):,}: "
            f"{seconds:.2f} s -> {'MET' if ok else 'NOT MET'}"
        )
    results["verdicts"] = verdicts
    results["machine"]["load_average_at_end"] = os.getloadavg()[0]
    target = OUT / "results-validate.json"
    target.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"\nwrote {target.relative_to(REPO)}")
    mismatch = any(
        not row["regcat_validate"]["ok"] or not row.get("linkml_validate", {"ok": True})["ok"]
        for row in results["sizes"].values()
    )
    return 1 if mismatch else 0


if __name__ == "__main__":
    sys.exit(main())
