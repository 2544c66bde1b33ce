#!/usr/bin/env python3
"""Benchmark: `check_data` (one generated DuckDB query) on a 40-column form.

    python bench/bench_check.py [--rows 10000000] [--pydantic-sample 200000]
                                [--linkml-sample 2000] [--threads 2]

Writes into bench/out/ (gitignored): a one-register catalogue (check-cat/), a Parquet
file of N synthetic rows (check-N.parquet) with a KNOWN number of injected violations
per rule, and results-check.json. It then

* times `check_data` on the file (rows/s; target >= 1M rows/s on 2 threads) and asserts
  that it reports exactly the injected counts, rule by rule;
* times a Pydantic v2 model per row (built with `pydantic.create_model` from the same
  variables: types, hard limits, lengths, patterns, value sets, activation) on a sample,
  with and without the conversion of Arrow rows into Python dicts;
* times `linkml-validate` on a small sample (rows as JSON, a LinkML schema derived from
  the form) in a fresh process, start-up measured separately, and extrapolates;
* prints the ratios (target: >= 500x linkml-validate).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO))

TODAY = dt.date(2025, 6, 1)

# Each column: the variable, the SQL for a valid value of row i, and the injected
# violations (rule, residue) at rows where i % MOD == residue (one modulus per column,
# distinct residues, so the violations of one column never overlap).
JA_NEI = "bench:JA_NEI"
NYHA = "bench:NYHA"


def spec() -> list[dict]:
    cols: list[dict] = []

    def add(name, datatype, good, bad=(), sql_type="VARCHAR", mod=None, **var):
        cols.append(
            {
                "name": name,
                "var": {"datatype": datatype, **var},
                "good": good,
                "bad": list(bad),
                "type": sql_type,
                "mod": mod,
            }
        )

    add(
        "FNR",
        "identifier",
        "lpad(CAST(i % 99999999999 AS VARCHAR), 11, '0')",
        [("pattern", "'0101701234X'", 0)],
        mod=100_003,
        pattern="^[0-9]{11}$",
        required=True,
        sensitivity="direct_identifier",
        max_length=11,
    )
    add(
        "FODSELSDATO",
        "date",
        "DATE '1940-01-01' + CAST(i % 20000 AS INTEGER)",
        [("hard_max", "DATE '2030-01-01'", 3), ("hard_min", "DATE '1850-01-01'", 5)],
        sql_type="DATE",
        mod=200_003,
        min_value="'1900-01-01'",
        max_value="today",
    )
    add(
        "INNDATO",
        "date",
        "DATE '2024-01-01' + CAST(i % 300 AS INTEGER)",
        [("hard_max", "DATE '2025-07-15'", 7), ("soft_max", "DATE '2025-06-20'", 8)],
        sql_type="DATE",
        mod=150_001,
        max_value="toDayPlus30Days",
        soft_max="today",
        required=True,
    )
    for k in range(8):  # coded Ja/Nei and NYHA
        vs = NYHA if k % 2 else JA_NEI
        n = 4 if k % 2 else 2
        good = f"CAST((i + {k}) % {n} + {1 if k % 2 else 0} AS VARCHAR)"
        bad = [("value_set", "'9'", k)] if k < 4 else []
        req = [("required", "NULL", k + 10)] if k in (1, 5) else []
        add(
            f"KODE{k}",
            "coded",
            good,
            bad + req,
            mod=50_021 + k * 2,
            value_set=vs,
            required=k in (1, 5),
        )
    for k in range(11):  # integers with hard and soft limits
        good = f"CAST(50 + (i + {k}) % 50 AS BIGINT)"
        bad = [("hard_min", "CAST(-1 AS BIGINT)", 1), ("soft_max", "CAST(180 AS BIGINT)", 2)]
        if k >= 6:
            bad = bad[:1]
        add(
            f"HELTALL{k}",
            "integer",
            good,
            bad,
            sql_type="BIGINT",
            mod=30_011 + k * 6,
            min_value="0",
            max_value="250",
            soft_min="40",
            soft_max="150",
        )
    add(
        "ALDER_TEKST",
        "integer",
        "CAST(i % 100 AS VARCHAR)",
        [("type", "'x1'", 4)],
        mod=70_001,
        min_value="0",
        max_value="120",
    )
    for k in range(6):  # decimals
        good = f"round(1.0 + ((i + {k}) % 900) / 10.0, 1)"
        bad = [("decimals", "CAST(12.34 AS DOUBLE)", 3), ("hard_max", "CAST(400.5 AS DOUBLE)", 4)]
        add(
            f"DESIMAL{k}",
            "decimal",
            good,
            bad,
            sql_type="DOUBLE",
            mod=40_009 + k * 4,
            decimals=1,
            min_value="0.1",
            max_value="300",
            soft_min="0.5",
        )
    chars = "aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxXyYzZæÆøØåÅ -.,0123456789"
    for k in range(6):  # free text
        good = "'Tekst nr ' || CAST(i % 1000 AS VARCHAR)"
        bad = [("max_length", "repeat('a', 60)", 1), ("allowed_characters", "'ugyldig #'", 2)]
        add(
            f"TEKST{k}",
            "string",
            good,
            bad,
            mod=60_013 + k * 2,
            max_length=50,
            allowed_characters=chars,
        )
    add("ROYKER", "coded", "CAST(i % 2 AS VARCHAR)", value_set=JA_NEI, required=True)
    add(
        "PAKKEAAR",
        "integer",
        "",
        sql_type="BIGINT",
        min_value="0",
        max_value="200",
        required=True,
        activated_by={"variable": "bench:ROYKER", "values": ["1"]},
    )
    add("SYKEHUS", "boolean", "i % 3 = 0", sql_type="BOOLEAN")
    add("OPERERT", "boolean", "i % 5 = 0", sql_type="BOOLEAN", required=True)
    add("DOD", "boolean", "i % 7 = 0", sql_type="BOOLEAN")
    assert len(cols) == 40, len(cols)
    return cols


# PAKKEAAR: answered (10) when ROYKER = '1' (i odd), except i % 2018 == 1009 (i odd and
# i % 1009 == 0: missing -> required); answered (5) when not activated at i % 2026 == 2.
PAKKEAAR_SQL = (
    "CASE WHEN i % 2 = 1 THEN (CASE WHEN i % 2018 = 1009 THEN NULL ELSE CAST(10 AS BIGINT) END)"
    " ELSE (CASE WHEN i % 2026 = 2 THEN CAST(5 AS BIGINT) ELSE NULL END) END"
)


def n_matching(n: int, mod: int, residue: int) -> int:
    return 0 if residue >= n else (n - residue + mod - 1) // mod


def expected_counts(cols: list[dict], n: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for col in cols:
        for rule, _sql, residue in col["bad"]:
            key = f"{rule}:{col['name']}"
            counts[key] = counts.get(key, 0) + n_matching(n, col["mod"], residue)
    counts["required:PAKKEAAR"] = n_matching(n, 2018, 1009)
    counts["activation:PAKKEAAR"] = n_matching(n, 2026, 2)
    return {k: v for k, v in counts.items() if v}


def write_catalogue(cols: list[dict], root: Path) -> Path:
    from regcat.io import dump_yaml
    from tests.conftest import CODESYSTEMS

    variables = []
    for col in cols:
        variables.append(
            {
                "id": f"bench:{col['name']}",
                "form": "skjema",
                "label": {"nb": col["name"]},
                **col["var"],
            }
        )
    register = {
        "id": "bench",
        "name": {"nb": "Benkeregisteret", "en": "The Bench Register"},
        "kind": "national_medical_quality_register",
        "forms": [{"id": "skjema", "name": {"nb": "Skjema"}}],
        "variables": variables,
        "value_sets": [
            {
                "id": JA_NEI,
                "codes": [
                    {"code": "0", "label": {"nb": "Nei"}},
                    {"code": "1", "label": {"nb": "Ja"}},
                ],
            },
            {
                "id": NYHA,
                "codes": [{"code": str(c), "label": {"nb": f"NYHA {c}"}} for c in range(1, 5)],
            },
        ],
    }
    (root / "registers").mkdir(parents=True, exist_ok=True)
    (root / "codesystems.yaml").write_text(dump_yaml(CODESYSTEMS), encoding="utf-8")
    (root / "registers" / "bench.yaml").write_text(dump_yaml(register), encoding="utf-8")
    return root


def write_parquet(cols: list[dict], n: int, path: Path) -> float:
    import duckdb

    exprs = []
    for col in cols:
        if col["name"] == "PAKKEAAR":
            expr = PAKKEAAR_SQL
        else:
            whens = " ".join(
                f"WHEN i % {col['mod']} = {residue} THEN {sql}" for _r, sql, residue in col["bad"]
            )
            expr = f"CASE {whens} ELSE {col['good']} END" if whens else col["good"]
        exprs.append(f'CAST({expr} AS {col["type"]}) AS "{col["name"]}"')
    start = time.perf_counter()
    tmp = path.with_suffix(".tmp")
    duckdb.sql(
        f"COPY (SELECT {', '.join(exprs)} FROM range({n}) t(i)) TO '{tmp}' "
        "(FORMAT parquet, ROW_GROUP_SIZE 122880)"
    )
    tmp.replace(path)
    return time.perf_counter() - start


# --- Pydantic ------------------------------------------------------------------------


def pydantic_model(cat):
    from typing import Annotated, Literal, Optional

    from pydantic import Field, create_model, model_validator

    fields = {}
    for v in cat.registers["bench"].variables:
        name = v.id.split(":", 1)[1]
        dtype = getattr(v.datatype, "value", v.datatype)
        kw = {}
        if v.min_value and dtype in ("integer", "decimal"):
            kw["ge"] = float(v.min_value)
        if v.max_value and dtype in ("integer", "decimal"):
            kw["le"] = float(v.max_value)
        if v.max_length:
            kw["max_length"] = v.max_length
        if v.pattern:
            kw["pattern"] = v.pattern
        if dtype == "decimal" and v.decimals is not None:
            kw["decimal_places"] = v.decimals
        base = {"integer": int, "decimal": float, "boolean": bool, "date": dt.date}.get(dtype, str)
        if dtype == "decimal":
            from decimal import Decimal

            base = Decimal
        if v.value_set:
            base = Literal[tuple(c.code for c in cat.value_sets[v.value_set].codes)]
            kw.pop("max_length", None)
        typ = Annotated[base, Field(**kw)] if kw else base
        fields[name] = (typ if v.required and not v.activated_by else Optional[typ], ...)  # noqa: UP045

    def activation(self):
        if self.PAKKEAAR is not None and self.ROYKER != "1":
            raise ValueError("activation")
        if self.PAKKEAAR is None and self.ROYKER == "1":
            raise ValueError("required")
        return self

    return create_model(
        "BenchRow",
        __validators__={"activation": model_validator(mode="after")(activation)},
        **fields,
    )


def time_pydantic(cat, path: Path, sample: int) -> dict:
    import pyarrow.parquet as pq
    from pydantic import ValidationError

    model = pydantic_model(cat)
    table = pq.ParquetFile(path).read_row_groups([0, 1]).slice(0, sample)
    start = time.perf_counter()
    rows = table.to_pylist()
    convert = time.perf_counter() - start
    invalid = 0
    start = time.perf_counter()
    for row in rows:
        try:
            model.model_validate(row)
        except ValidationError:
            invalid += 1
    validate = time.perf_counter() - start
    return {
        "rows": len(rows),
        "invalid_rows": invalid,
        "convert_s": round(convert, 3),
        "validate_s": round(validate, 3),
        "rows_per_s": round(len(rows) / validate),
        "rows_per_s_with_conversion": round(len(rows) / (validate + convert)),
    }


# --- linkml-validate ---------------------------------------------------------------------


def linkml_schema(cat) -> dict:
    slots, enums = {}, {}
    for v in cat.registers["bench"].variables:
        name = v.id.split(":", 1)[1]
        dtype = getattr(v.datatype, "value", v.datatype)
        rng = {"integer": "integer", "decimal": "float", "boolean": "boolean", "date": "date"}.get(
            dtype, "string"
        )
        slot: dict = {"range": rng}
        if v.value_set:
            enum = v.value_set.split(":")[1]
            enums[enum] = {
                "permissible_values": {c.code: {} for c in cat.value_sets[v.value_set].codes}
            }
            slot["range"] = enum
        if dtype in ("integer", "decimal"):
            if v.min_value:
                slot["minimum_value"] = (
                    float(v.min_value) if dtype == "decimal" else int(v.min_value)
                )
            if v.max_value:
                slot["maximum_value"] = (
                    float(v.max_value) if dtype == "decimal" else int(v.max_value)
                )
        if v.pattern:
            slot["pattern"] = v.pattern
        if v.required and not v.activated_by:
            slot["required"] = True
        slots[name] = slot
    return {
        "id": "https://example.org/bench",
        "name": "bench",
        "prefixes": {"linkml": "https://w3id.org/linkml/"},
        "imports": ["linkml:types"],
        "default_range": "string",
        "slots": {**slots, "rows": {"range": "Row", "multivalued": True, "inlined_as_list": True}},
        "enums": enums,
        "classes": {
            "Row": {"slots": list(slots)},
            "Container": {"tree_root": True, "slots": ["rows"]},
        },
    }


def time_linkml(cat, path: Path, sample: int) -> dict:
    import duckdb
    import yaml

    schema = OUT / "check-linkml-schema.yaml"
    schema.write_text(yaml.safe_dump(linkml_schema(cat), sort_keys=False), encoding="utf-8")
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{path}') LIMIT {sample}").fetchall()
    names = [c["name"] for c in spec()]

    def to_json(value):
        return value.isoformat() if isinstance(value, dt.date) else value

    exe = Path(sys.executable).parent / "linkml-validate"

    def run(n: int) -> float:
        data = OUT / f"check-linkml-{n}.json"
        records = [
            {k: to_json(v) for k, v in zip(names, r, strict=True) if v is not None}
            for r in rows[:n]
        ]
        data.write_text(json.dumps({"rows": records}), encoding="utf-8")
        start = time.perf_counter()
        subprocess.run(
            [str(exe), "-s", str(schema), "-C", "Container", str(data)],
            capture_output=True,
            text=True,
            check=False,
        )
        return time.perf_counter() - start

    startup = run(1)
    total = run(sample)
    per_row = max(total - startup, 1e-9) / sample
    return {
        "rows": sample,
        "wall_s": round(total, 2),
        "startup_s": round(startup, 2),
        "rows_per_s": round(1 / per_row),
        "rows_per_s_incl_startup": round(sample / total),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--pydantic-sample", type=int, default=200_000)
    parser.add_argument("--linkml-sample", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from regcat.catalogue import Catalogue
    from regcat.checker import check_data

    OUT.mkdir(parents=True, exist_ok=True)
    cols = spec()
    cat = Catalogue.load(write_catalogue(cols, OUT / "check-cat"))
    path = OUT / f"check-{args.rows}.parquet"
    if not path.exists():
        seconds = write_parquet(cols, args.rows, path)
        print(f"wrote {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {seconds:.1f} s")
    expected = expected_counts(cols, args.rows)

    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        report = check_data(cat, "bench", path, form="skjema", today=TODAY, threads=args.threads)
        times.append(time.perf_counter() - start)
    best = min(times)
    assert report.rows == args.rows, report.rows
    got = dict(report.by_rule)
    if got != expected:
        diff = {
            k: (expected.get(k), got.get(k))
            for k in set(got) | set(expected)
            if expected.get(k) != got.get(k)
        }
        raise SystemExit(f"check_data counts differ from the injected ones: {diff}")
    rules = sum(1 for _ in report.by_rule)
    checker = {
        "rows": args.rows,
        "columns": len(cols),
        "threads": args.threads,
        "seconds": [round(t, 3) for t in times],
        "best_s": round(best, 3),
        "rows_per_s": round(args.rows / best),
        "rule_fields_with_findings": rules,
        "errors": report.errors,
        "warnings": report.warnings,
        "counts_match_injected": True,
    }
    print(
        f"check_data: {args.rows:,} rows x {len(cols)} columns in {best:.2f} s "
        f"= {args.rows / best / 1e6:.2f}M rows/s (target >= 1M); counts match the "
        f"{len(expected)} injected rule/field totals"
    )

    pyd = time_pydantic(cat, path, args.pydantic_sample)
    print(
        f"pydantic v2 per row: {pyd['rows_per_s']:,} rows/s "
        f"({pyd['rows_per_s_with_conversion']:,} with Arrow->dict conversion)"
    )
    lml = time_linkml(cat, path, args.linkml_sample)
    print(
        f"linkml-validate: {lml['rows_per_s']:,} rows/s after {lml['startup_s']} s start-up "
        f"({args.linkml_sample} rows in {lml['wall_s']} s)"
    )
    ratios = {
        "vs_pydantic": round(checker["rows_per_s"] / pyd["rows_per_s"], 1),
        "vs_pydantic_with_conversion": round(
            checker["rows_per_s"] / pyd["rows_per_s_with_conversion"], 1
        ),
        "vs_linkml_validate": round(checker["rows_per_s"] / lml["rows_per_s"], 1),
    }
    print(
        f"ratios: {ratios['vs_pydantic']}x pydantic, "
        f"{ratios['vs_linkml_validate']}x linkml-validate (target >= 500x)"
    )
    results = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "check_data": checker,
        "pydantic": pyd,
        "linkml_validate": lml,
        "ratios": ratios,
        "expected": expected,
    }
    out = OUT / "results-check.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
