#!/usr/bin/env python3
"""Benchmark: `regcat prefill` (NORIC angio_pci) on a FHIR Bulk Data export.

    python bench/bench_prefill.py [--patients 100000] [--repeat 3] [--threads 2]
                                  [--keep DIR] [--seed 1] [--quick]

Writes a synthetic bulk export (bench/fhir_synth.py: ~10.9 resources per patient,
codes from the real NPR code lists when ../shared/data is present) once into a
temporary folder (or DIR with --keep, reused there when the patients and seed match),
timed separately; loads the bundled catalogue; then runs, in process,

    prefill(catalogue, "noric", "angio_pci", folder, "json", out, threads=N)

--repeat times (best and median wall time) and one `questionnaire-response` pass. It
checks the events, patients and filled fields against what the generator knows it
wrote (OK / MISMATCH), and prints resources/s and patients/s of the best run, the peak
RSS, and the ratio against the target: >= 100,000 resources/s on 2 cores.
`--quick` is 10,000 patients, one run (a smoke test). Figures go to
bench/out/results-prefill.json. Exit status: non-zero on errors (including a
MISMATCH), never for missing the target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

from fhir_synth import generate  # noqa: E402

TARGET = 100_000  # resources/s on 2 cores
REGISTER, FORM = "noric", "angio_pci"


def say(text: str = "") -> None:
    print(text, flush=True)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def export(args, folder: Path) -> tuple[dict, bool]:
    """The export in `folder`: reused when its manifest matches, else generated."""
    manifest = folder / ".fhir_synth.json"
    if manifest.is_file():
        info = json.loads(manifest.read_text())
        if info.get("patients") == args.patients and info.get("seed") == args.seed:
            return info, True
    info = generate(folder, args.patients, args.seed)
    manifest.write_text(json.dumps(info, indent=2) + "\n")
    return info, False


def check(report, expected: dict) -> list[str]:
    """What prefill found against what the generator wrote."""
    problems = []
    if report.events != expected["events"]:
        problems.append(f"events {report.events:,} != expected {expected['events']:,}")
    if report.patients != expected["patients"]:
        problems.append(f"patients {report.patients:,} != expected {expected['patients']:,}")
    for field, want in expected["filled"].items():
        got = report.filled.get(field)
        if got != want:
            problems.append(f"{field} filled {got} != expected {want:,}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed json runs (best, median)")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the export here, keep it")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="10,000 patients, one run")
    args = parser.parse_args(argv)
    if args.quick:
        args.patients, args.repeat = 10_000, 1
    if args.patients < 1 or args.repeat < 1:
        parser.error("--patients and --repeat must be at least 1")

    from regcat.catalogue import Catalogue
    from regcat.ehr.prefill import prefill
    from regcat.layout import bundled_catalogue

    with tempfile.TemporaryDirectory(prefix="regcat-bench-prefill-") as tmp:
        tmp_dir = Path(tmp)
        folder = args.keep if args.keep is not None else tmp_dir / "export"
        folder.mkdir(parents=True, exist_ok=True)

        # --- the export (timed on its own) --------------------------------------
        started = time.perf_counter()
        info, reused = export(args, folder)
        gen_seconds = time.perf_counter() - started
        for name, source in info["code_lists"].items():
            say(f"{name:6s} codes: {source}")
        total = info["resources_total"]
        say(
            f"export: {args.patients:,} patients, {total:,} resources "
            f"({info['bytes'] / 1e6:,.1f} MB, {info['outside_windows']:,} dated outside "
            f"their window) "
            + (
                "reused from "
                if reused
                else f"generated in {gen_seconds:.2f} s "
                f"({total / gen_seconds:,.0f} resources/s) -> "
            )
            + str(folder)
        )
        rss_after_generate = peak_rss_mib()

        started = time.perf_counter()
        catalogue = Catalogue.load(bundled_catalogue())
        say(f"catalogue loaded in {time.perf_counter() - started:.2f} s (not counted)")

        # --- json runs -----------------------------------------------------------
        out = tmp_dir / "prefill.json"
        times, report = [], None
        for run in range(args.repeat):
            started = time.perf_counter()
            report = prefill(catalogue, REGISTER, FORM, folder, "json", out, threads=args.threads)
            seconds = time.perf_counter() - started
            times.append(seconds)
            say(
                f"run {run + 1}/{args.repeat} (json): {seconds:.2f} s "
                f"(report.seconds {report.seconds:.2f}), {report.resources_read:,} resources "
                f"read, {report.events:,} events"
            )
        assert report is not None
        out_bytes = out.stat().st_size
        out_lines = sum(1 for _ in out.open("rb"))

        # --- one questionnaire-response pass ----------------------------------------
        qr_out = tmp_dir / "prefill.qr.ndjson"
        started = time.perf_counter()
        qr_report = prefill(
            catalogue,
            REGISTER,
            FORM,
            folder,
            "questionnaire-response",
            qr_out,
            threads=args.threads,
        )
        qr_seconds = time.perf_counter() - started
        qr_lines = sum(1 for _ in qr_out.open("rb"))
        peak = peak_rss_mib()

    problems = check(report, info["expected"])
    if qr_report.events != report.events or qr_lines != report.events:
        problems.append(
            f"questionnaire-response: {qr_report.events:,} events, {qr_lines:,} lines "
            f"!= {report.events:,}"
        )
    if out_lines != report.events:
        problems.append(f"json output has {out_lines:,} lines for {report.events:,} events")

    best, median = min(times), statistics.median(times)
    read = report.resources_read
    rate = read / best
    patient_rate = args.patients / best
    ratio = rate / TARGET
    validation = report.validation

    say()
    say(
        f"prefill {REGISTER}/{FORM}, bulk export, json, {args.threads} DuckDB threads, "
        f"{os.cpu_count()} cores, best of {args.repeat}"
    )
    say(f"  resources in the export     {total:>12,}")
    per_type = ", ".join(f"{t} {n:,}" for t, n in sorted(report.resources.items()))
    say(f"  resources read              {read:>12,}  ({per_type})")
    say(f"  events (procedures)         {report.events:>12,}")
    say(f"  patients with an event      {report.patients:>12,}  (of {args.patients:,})")
    say(f"  best / median               {best:>10.2f} s / {median:.2f} s")
    say(
        f"  resources/s (best)          {rate:>12,.0f}  "
        f"(all {total:,} in the export: {total / best:,.0f}/s)"
    )
    say(f"  patients/s (best)           {patient_rate:>12,.0f}")
    say(
        f"  questionnaire-response      {qr_seconds:>10.2f} s  ({qr_lines:,} responses written, "
        f"{read / qr_seconds:,.0f} resources read/s)"
    )
    say(f"  output (json)               {out_bytes / 1e6:>10.1f} MB")
    say(
        f"  peak RSS                    {peak:>10,.0f} MiB  "
        f"(after generating the export: {rss_after_generate:,.0f} MiB)"
    )
    say(
        f"  validation                  {validation.get('errors', 0):,} errors, "
        f"{validation.get('warnings', 0):,} warnings on the filled fields"
    )
    say("  filled (events with a value):")
    for field, n in report.filled.items():
        if n or field in info["expected"]["filled"]:
            say(f"    {field:28s} {n:>10,}  {n / max(report.events, 1):6.1%}")
    say(f"  check against the generator: {'OK' if not problems else 'MISMATCH'}")
    for problem in problems:
        say(f"    {problem}")
    say()
    say(
        f"target >= {TARGET:,} resources/s on 2 cores: {ratio:.1f}x "
        f"({'met' if ratio >= 1 else 'MISSED'})"
    )

    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg()[0],
        },
        "patients": args.patients,
        "seed": args.seed,
        "threads": args.threads,
        "repeat": args.repeat,
        "export": {k: v for k, v in info.items() if k != "expected"},
        "export_reused": reused,
        "generate_seconds": round(gen_seconds, 2),
        "resources_read": read,
        "resources": report.resources,
        "events": report.events,
        "patients_with_event": report.patients,
        "runs": [round(t, 3) for t in times],
        "best_seconds": round(best, 3),
        "median_seconds": round(median, 3),
        "resources_per_s": round(rate),
        "patients_per_s": round(patient_rate),
        "questionnaire_response_seconds": round(qr_seconds, 3),
        "peak_rss_mib": round(peak),
        "filled": report.filled,
        "expected": info["expected"],
        "check": problems or "OK",
        "validation": {k: validation.get(k) for k in ("errors", "warnings", "by_rule")},
        "target_resources_per_s": TARGET,
        "ratio": round(ratio, 2),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results-prefill.json").write_text(json.dumps(results, indent=2) + "\n")
    say(f"wrote {OUT / 'results-prefill.json'}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
