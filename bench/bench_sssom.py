#!/usr/bin/env python3
"""Benchmark: regcat's SSSOM/TSV read + write against sssom-py's on the same file.

    python bench/bench_sssom.py [--mappings 20000] [--repeat 3] [--setup]

Writes bench/out/sssom-<N>.sssom.tsv: N realistic register-variable mappings (a YAML
metadata block with a curie_map, 12 columns, a multivalued author_id, quoted comments),
then times, best of R runs each:

* regcat, in this process: `read_sssom` (parse), `check_sssom` (the SSSOM checks) and
  `write_sssom` (serialise), and their sum; the cost of `import regcat.sssom` is measured
  separately in a fresh process;
* sssom-py, in a fresh process of its own venv (bench/out/venv-sssom, made by --setup:
  sssom-py must not go into the project's venv, it pins its own linkml-runtime):
  `sssom.parsers.parse_sssom_table` + `sssom.writers.write_table`, timed inside that
  process, and its import time separately.

Prints both and the ratio (target: regcat read+write at least 10x faster), and writes
the figures to bench/out/results-sssom.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
VENV = OUT / "venv-sssom"
TARGET_RATIO = 10.0
sys.path.insert(0, str(REPO))

REGISTERS = {
    "noric": ["PCI_DATO", "STENT_TYPE", "DIABETES", "ROYKER", "KREATININ", "HB", "VEKT"],
    "hjerteinfarkt": ["INNLEGGELSE", "DIAGNOSE", "TROPONIN", "BLODTRYKK", "ASA_UTSKR"],
    "hjerneslag": ["SYMPTOMDEBUT", "TROMBOLYSE", "NIHSS", "ATRIEFLIMMER", "ANTIKOAG"],
    "diabetes_voksne": ["HBA1C", "INSULIN", "BMI", "LDL", "NETTHINNE"],
    "npr": ["hovedtilstand", "bitilstand", "prosedyre", "innDato", "utDato", "omsorgsniva"],
    "reseptregisteret": ["atc", "utleveringsdato", "ddd", "antall_pakninger"],
}
LABELS = {
    "PCI_DATO": "Dato for PCI",
    "STENT_TYPE": "Type stent",
    "DIABETES": "Diabetes mellitus",
    "ROYKER": "Røykestatus",
    "KREATININ": "Kreatinin (µmol/L)",
    "HB": "Hemoglobin",
    "VEKT": "Vekt (kg)",
    "hovedtilstand": "Hovedtilstand (ICD-10)",
    "atc": "ATC-kode for utlevert legemiddel",
}
TARGETS = [
    ("ICD10", ["I21.0", "I21.4", "I63.9", "E11.9", "I48.0", "N18.3", "J44.1"]),
    ("SCTID", ["22298006", "73211009", "44054006", "49436004", "230690007"]),
    ("ATC", ["B01AC06", "C10AA05", "A10BA02", "B01AF01", "C07AB02"]),
    ("LOINC", ["4548-4", "2160-0", "718-7", "29463-7"]),
]
PREDICATES = (
    ["skos:exactMatch"] * 6
    + ["skos:closeMatch"] * 2
    + [
        "skos:broadMatch",
        "skos:narrowMatch",
        "skos:relatedMatch",
    ]
)
JUSTIFICATIONS = ["semapv:ManualMappingCuration"] * 4 + [
    "semapv:LexicalMatching",
    "semapv:MappingReview",
]
COMMENTS = [
    "",
    "",
    "",
    "Samme begrep; kodeverk ulikt mellom registrene.",
    'Registreres som "ja/nei" i kvalitetsregisteret, som kode i NPR.',
    "Kun ved innleggelse; se oppfølgingsskjema for senere verdier.",
    "Avledes fra reseptregisteret (utlevering siste 12 mnd).",
]


def generate(path: Path, n: int, seed: int = 11) -> None:
    """N mappings between register variables and to codes, as a realistic SSSOM file."""
    rng = random.Random(seed)
    orcids = [
        f"orcid:0000-000{d}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        for d in range(1, 10)
    ]
    lines = [
        "#curie_map:",
        "#  m: https://w3id.org/regcat/mapping/",
        "#  orcid: https://orcid.org/",
        "#  ICD10: http://hl7.org/fhir/sid/icd-10/",
        "#  SCTID: http://snomed.info/id/",
        "#  ATC: http://www.whocc.no/atc/",
        "#  LOINC: https://loinc.org/",
    ]
    lines += [f"#  {reg}: https://w3id.org/regcat/variable/{reg}/" for reg in REGISTERS]
    lines += [
        "#mapping_set_id: https://w3id.org/regcat/mappings/bench",
        "#mapping_set_title: Kvalitetsregistre mot sentrale helseregistre og kodeverk",
        "#license: https://creativecommons.org/licenses/by/4.0/",
        "#creator_id:",
        f"#  - {orcids[0]}",
        "#mapping_date: 2024-05-02",
    ]
    header = [
        "record_id",
        "subject_id",
        "subject_label",
        "predicate_id",
        "object_id",
        "object_label",
        "mapping_justification",
        "author_id",
        "reviewer_id",
        "confidence",
        "mapping_date",
        "comment",
    ]
    lines.append("\t".join(header))
    registers = list(REGISTERS)
    for i in range(1, n + 1):
        reg = rng.choice(registers[:4])
        var = rng.choice(REGISTERS[reg])
        subject = f"{reg}:{var}_{i % 997}"
        label = LABELS.get(var, var.replace("_", " ").capitalize())
        if rng.random() < 0.5:
            key = rng.choice(registers[4:])
            target = rng.choice(REGISTERS[key])
            obj, obj_label = f"{key}:{target}", LABELS.get(target, target)
        else:
            system, values = rng.choice(TARGETS)
            code = rng.choice(values)
            obj, obj_label = f"{system}:{code}", f"{system} {code}"
        authors = "|".join(rng.sample(orcids, rng.randint(1, 3)))
        comment = rng.choice(COMMENTS)
        if '"' in comment:
            comment = '"' + comment.replace('"', '""') + '"'
        row = [
            f"m:{i:06d}",
            subject,
            f"{label} ({reg})",
            rng.choice(PREDICATES),
            obj,
            obj_label,
            rng.choice(JUSTIFICATIONS),
            authors,
            rng.choice(orcids) if rng.random() < 0.6 else "",
            f"{rng.uniform(0.5, 1.0):.2f}",
            (dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 700))).isoformat(),
            comment,
        ]
        lines.append("\t".join(row))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


SSSOM_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
from sssom.parsers import parse_sssom_table
from sssom.writers import write_table
t1 = time.perf_counter()
source, target = sys.argv[1], sys.argv[2]
t2 = time.perf_counter()
msdf = parse_sssom_table(source)
t3 = time.perf_counter()
with open(target, "w") as handle:
    write_table(msdf, handle)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "parse": t3 - t2, "write": t4 - t3,
                  "mappings": len(msdf.df)}))
"""


def setup_venv() -> None:
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "sssom"], check=True)


def time_regcat(path: Path, repeat: int) -> dict:
    from regcat.sssom import check_sssom, read_sssom, write_sssom

    raw = path.read_bytes()
    best: dict[str, float] = {}
    rows = 0
    problems = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        table = read_sssom(raw, path)
        t1 = time.perf_counter()
        problems = check_sssom(table)
        t2 = time.perf_counter()
        text = write_sssom(table)
        t3 = time.perf_counter()
        for key, value in (("read", t1 - t0), ("check", t2 - t1), ("write", t3 - t2)):
            best[key] = min(best.get(key, value), value)
        rows = len(table.rows)
    assert problems == [], problems[:3]
    assert text.encode("utf-8") == raw, "regcat did not write the file back byte for byte"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import regcat.sssom"], check=True, cwd=REPO)
    startup = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - started
    return {
        **best,
        "read_write": best["read"] + best["write"],
        "read_check_write": best["read"] + best["check"] + best["write"],
        "import": startup - bare,
        "mappings": rows,
    }


def time_sssom_py(path: Path, repeat: int) -> dict:
    python = VENV / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"sssom-py venv missing: run `python {Path(__file__).name} --setup`")
    best: dict[str, float] = {}
    rows = 0
    target = OUT / "sssom-py-output.sssom.tsv"
    for _ in range(repeat):
        done = subprocess.run(
            [str(python), "-c", SSSOM_SCRIPT, str(path), str(target)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        rows = figures.pop("mappings")
        for key, value in figures.items():
            best[key] = min(best.get(key, value), value)
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('sssom'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        **best,
        "read_write": best["parse"] + best["write"],
        "mappings": rows,
        "version": version,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mappings", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--setup", action="store_true", help="create the sssom-py venv first")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.setup:
        setup_venv()
    path = OUT / f"sssom-{args.mappings}.sssom.tsv"
    generate(path, args.mappings)
    size = path.stat().st_size
    print(f"{path.relative_to(REPO)}: {args.mappings} mappings, {size / 1e6:.1f} MB")
    ours = time_regcat(path, args.repeat)
    theirs = time_sssom_py(path, args.repeat)
    assert theirs["mappings"] == ours["mappings"] == args.mappings, (theirs, ours)
    ratio = theirs["read_write"] / ours["read_write"]
    ratio_checked = theirs["read_write"] / ours["read_check_write"]
    print(f"{'':26}{'regcat':>10}{'sssom-py':>10}")
    print(f"{'parse (read)':26}{ours['read']:>9.3f}s{theirs['parse']:>9.3f}s")
    print(f"{'check (SSSOM rules)':26}{ours['check']:>9.3f}s{'(in parse)':>10}")
    print(f"{'write':26}{ours['write']:>9.3f}s{theirs['write']:>9.3f}s")
    print(f"{'read + write':26}{ours['read_write']:>9.3f}s{theirs['read_write']:>9.3f}s")
    print(f"{'read + check + write':26}{ours['read_check_write']:>9.3f}s")
    print(f"{'import':26}{ours['import']:>9.3f}s{theirs['import']:>9.3f}s")
    verdict = "ok" if ratio >= TARGET_RATIO else "MISSED"
    print(
        f"ratio sssom-py / regcat: {ratio:.1f}x read+write, {ratio_checked:.1f}x with regcat's "
        f"checks (target >= {TARGET_RATIO:g}x: {verdict})"
    )
    results = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "mappings": args.mappings,
        "bytes": size,
        "repeat": args.repeat,
        "regcat": ours,
        "sssom_py": theirs,
        "ratio_read_write": ratio,
        "ratio_with_checks": ratio_checked,
        "target_ratio": TARGET_RATIO,
    }
    (OUT / "results-sssom.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {(OUT / 'results-sssom.json').relative_to(REPO)}")


if __name__ == "__main__":
    main()
