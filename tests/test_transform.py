"""Transformation code generated from mappings: DuckDB SQL, its sqlglot dialects, the
Python module, Spark (slow), `regcat transform`, and a hostile catalogue."""

from __future__ import annotations

import ast
import datetime as dt
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlglot

from regcat.catalogue import Catalogue
from regcat.cli import app
from regcat.codegen.expression import ExpressionError, parse
from regcat.codegen.transform import (
    DIALECTS,
    RUNTIME,
    TransformError,
    compile_mapping,
    compile_set,
    render_python,
    render_sql,
)
from regcat.generated.model import Mapping, MappingSet, Transformation
from tests.conftest import REPO

D = dt.date
SET = "mappings/key-register-reuse.sssom.tsv"


@pytest.fixture(scope="module")
def real() -> tuple[Catalogue, MappingSet]:
    cat = Catalogue.load(REPO / "catalogue")
    return cat, cat.mapping_sets[SET]


def extracts() -> dict[str, list[dict]]:
    """Small extracts: several matches, matches outside the window, codes with and
    without the dot, persons with no match."""
    return {
        "noric_angio_pci": [
            {"fodselsnummer": "P1", "REGANGIO_INTERDAT": D(2024, 3, 10)},
            {"fodselsnummer": "P2", "REGANGIO_INTERDAT": D(2024, 5, 1)},
            {"fodselsnummer": "P3", "REGANGIO_INTERDAT": D(2024, 6, 1)},
            {"fodselsnummer": "P1", "REGANGIO_INTERDAT": D(2024, 9, 1)},
        ],
        "noric_utskrivelse": [
            {"fodselsnummer": "P1", "DISCHARGE_DISCHARGE_DATE": D(2024, 3, 12)},
            {"fodselsnummer": "P2", "DISCHARGE_DISCHARGE_DATE": D(2024, 5, 3)},
            {"fodselsnummer": "P3", "DISCHARGE_DISCHARGE_DATE": D(2024, 6, 2)},
        ],
        "npr_episode": [
            # P1: two I21 episodes inside [-7, 0] of the first PCI, the last one wins;
            # one after the PCI (outside); the second PCI has none in its window.
            {"fodselsnummer": "P1", "inndato": D(2024, 3, 4), "hovedtilstand": "I210"},
            {"fodselsnummer": "P1", "inndato": D(2024, 3, 9), "hovedtilstand": "I21.4"},
            {"fodselsnummer": "P1", "inndato": D(2024, 3, 11), "hovedtilstand": "I211"},
            # P2: code without dot, lower case and padded; also an I22 (population only)
            {"fodselsnummer": "P2", "inndato": D(2024, 5, 1), "hovedtilstand": " i219 "},
            {"fodselsnummer": "P2", "inndato": D(2024, 1, 1), "hovedtilstand": "I22.0"},
            # P3: not an infarction
            {"fodselsnummer": "P3", "inndato": D(2024, 5, 30), "hovedtilstand": "J18.9"},
            # P4: only in NPR
            {"fodselsnummer": "P4", "inndato": D(2023, 2, 2), "hovedtilstand": "I21.9"},
            {"fodselsnummer": "P4", "inndato": D(2023, 1, 2), "hovedtilstand": None},
        ],
        "npr_prosedyre": [
            {"fodselsnummer": "P1", "inndato": D(2024, 3, 20), "prosedyrekode": "FNC10"},
            {"fodselsnummer": "P2", "inndato": D(2024, 6, 15), "prosedyrekode": "FNA00"},
            {"fodselsnummer": "P3", "inndato": D(2024, 6, 5), "prosedyrekode": "FNG05"},
        ],
        "lmr_utlevering": [
            {"fodselsnummer": "P1", "utleveringsdato": D(2024, 3, 15), "atc": "B01AC06"},
            {"fodselsnummer": "P1", "utleveringsdato": D(2024, 3, 20), "atc": "C10AA05"},
            {"fodselsnummer": "P2", "utleveringsdato": D(2024, 7, 1), "atc": "B01AC06"},
            {"fodselsnummer": "P3", "utleveringsdato": D(2024, 6, 2), "atc": "C10AA07"},
        ],
        "dar_dodsfall": [
            {"fodselsnummer": "P3", "dodsdato": D(2024, 8, 1)},
            {"fodselsnummer": "P9", "dodsdato": D(2020, 1, 1)},
        ],
    }


def run_duckdb(sql: str, tables: dict[str, list[dict]]) -> list[dict]:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect()
    try:
        for name, rows in tables.items():
            con.register(name, pa.Table.from_pylist(rows))
        cur = con.execute(sql)
        columns = [d[0] for d in cur.description]
        return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def load_module(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<generated transform>", "exec"), namespace)  # noqa: S102 (the test runs generated code)
    return namespace


EXPECTED = {
    "noric_dar_dodsdato": [
        {"fodselsnummer": "P3", "PATIENT_DECEASED_DATE": D(2024, 8, 1)},
        {"fodselsnummer": "P9", "PATIENT_DECEASED_DATE": D(2020, 1, 1)},
    ],
    "noric_npr_infarkttype": [
        {"fodselsnummer": "P1", "REGANGIO_INTERDAT": D(2024, 3, 10), "DISCHARGE_INFARCTTYPE": "2"},
        {"fodselsnummer": "P1", "REGANGIO_INTERDAT": D(2024, 9, 1), "DISCHARGE_INFARCTTYPE": None},
        {"fodselsnummer": "P2", "REGANGIO_INTERDAT": D(2024, 5, 1), "DISCHARGE_INFARCTTYPE": "9"},
        {"fodselsnummer": "P3", "REGANGIO_INTERDAT": D(2024, 6, 1), "DISCHARGE_INFARCTTYPE": None},
    ],
    "noric_npr_acb": [
        {"fodselsnummer": "P1", "REGANGIO_INTERDAT": D(2024, 3, 10), "ANGIOPCICOMP_AVDCABG": "1"},
        {"fodselsnummer": "P1", "REGANGIO_INTERDAT": D(2024, 9, 1), "ANGIOPCICOMP_AVDCABG": "0"},
        {"fodselsnummer": "P2", "REGANGIO_INTERDAT": D(2024, 5, 1), "ANGIOPCICOMP_AVDCABG": "0"},
        {"fodselsnummer": "P3", "REGANGIO_INTERDAT": D(2024, 6, 1), "ANGIOPCICOMP_AVDCABG": "0"},
    ],
    "noric_lmr_asa": [
        {
            "fodselsnummer": "P1",
            "DISCHARGE_DISCHARGE_DATE": D(2024, 3, 12),
            "DISCHARGE_ASPIRIN_DISCHARGE": "1",
        },
        {
            "fodselsnummer": "P2",
            "DISCHARGE_DISCHARGE_DATE": D(2024, 5, 3),
            "DISCHARGE_ASPIRIN_DISCHARGE": "0",
        },
        {
            "fodselsnummer": "P3",
            "DISCHARGE_DISCHARGE_DATE": D(2024, 6, 2),
            "DISCHARGE_ASPIRIN_DISCHARGE": "0",
        },
    ],
    "nhir_npr_populasjon": [
        {"fodselsnummer": "P1", "innleggelsesdato": D(2024, 3, 4)},
        {"fodselsnummer": "P2", "innleggelsesdato": D(2024, 1, 1)},
        {"fodselsnummer": "P4", "innleggelsesdato": D(2023, 2, 2)},
    ],
}


def test_real_set_sql_and_python_agree(real) -> None:
    cat, mapping_set = real
    compiled = compile_set(cat, mapping_set)
    assert len(compiled) == 6
    tables = extracts()
    module = load_module(render_python(compiled, SET, "test"))
    for c in compiled:
        from_sql = run_duckdb(c.sql, tables)
        from_python = module[c.name](tables)
        assert from_sql == from_python, c.name
        if c.name in EXPECTED:
            assert from_sql == EXPECTED[c.name], c.name
        assert list(from_sql[0]) == c.columns
    statins = {
        r["fodselsnummer"]: r["DISCHARGE_STATINS_DISCHARGE"]
        for r in module["noric_lmr_statiner"](tables)
    }
    assert statins == {"P1": "1", "P2": "0", "P3": "1"}


def test_dialects_parse_and_output_is_deterministic(real) -> None:
    cat, mapping_set = real
    compiled = compile_set(cat, mapping_set)
    for dialect in DIALECTS:
        text = render_sql(compiled, dialect, SET, "v1")
        assert text.startswith("-- Generated by regcat from mappings/key-register-reuse")
        assert "catalogue version v1" in text
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
        assert len(statements) == len(compiled), dialect
        assert text == render_sql(compile_set(cat, mapping_set), dialect, SET, "v1")
    python = render_python(compiled, SET, "v1")
    assert python == render_python(compile_set(cat, mapping_set), SET, "v1")
    ast.parse(python)


def _cat(variables: dict[str, dict]) -> SimpleNamespace:
    """A stand-in catalogue built without validation: content a hostile editor could
    slip past a careless loader."""
    return SimpleNamespace(
        variables={
            vid: SimpleNamespace(id=vid, form=v.get("form", "f"), datatype=v.get("datatype"))
            for vid, v in variables.items()
        }
    )


def _mapping(subject: str, obj: str, **transformation) -> Mapping:
    return Mapping.model_construct(
        record_id="mapping:x",
        subject_id=subject,
        object_id=obj,
        transformation=Transformation.model_construct(**transformation),
    )


HOSTILE = [
    "'; DROP TABLE x; --",
    '"; DROP TABLE x; --',
    "__import__('os').system('rm -rf /')",
    "back\\slash\\' and \\\"",
    "new\nline\r\n",
    "Ærø – blåbær ✓ 𝛼",
]
ALLOWED_CALLS = {
    "_date",
    "_norm",
    "_map",
    "_unit",
    "_add",
    "_sub",
    "_mul",
    "_div",
    "_neg",
    "_cmp",
    "_and",
    "_or",
    "_not",
    "_coalesce",
    "_round",
    "_abs",
    "_year",
    "_lower",
    "_upper",
    "_key",
    "_ordered",
    "_link",
    "get",
    "append",
    "isinstance",
    "str",
    "float",
    "int",
    "abs",
    "any",
    "len",
    "min",
    "max",
    "sorted",
    "list",
    "set",
    "add",
    "setdefault",
    "items",
    "fromisoformat",
    "strip",
    "replace",
    "upper",
    "lower",
    "date",
    "scaleb",
    "quantize",
    "_Decimal",
    "repr",
    "toordinal",
    "Decimal",
}


def _calls(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else getattr(f, "attr", "?"))
    return names


def test_hostile_catalogue_generates_safe_code() -> None:
    cat = _cat({"a:CODE": {}, "a:OUT": {}, "a:pid": {"datatype": "identifier"}, "a:d": {}})
    entries = [SimpleNamespace(source=h, target=HOSTILE[-1 - i]) for i, h in enumerate(HOSTILE)]
    value_map = _mapping("a:CODE", "a:OUT", kind="value_map", value_map=entries)
    linkage = _mapping(
        "a:CODE",
        "a:OUT",
        kind="record_linkage",
        value_map=entries,
        record_linkage=SimpleNamespace(
            person_key="pid",
            anchor=None,
            event_date="a:d",
            window_start_days=None,
            window_end_days=None,
            code_variable="a:CODE",
            code_system="ICD10",
            code_prefixes=HOSTILE,
            aggregate="last",
            value_variable="a:CODE",
        ),
    )
    expression = _mapping(
        "a:CODE",
        "a:OUT",
        kind="expression",
        expression="coalesce(lower(a:CODE), " + "'" + HOSTILE[0].replace("'", "''") + "')",
    )
    compiled = [compile_mapping(cat, m) for m in (value_map, linkage, expression)]
    for i, c in enumerate(compiled):
        c.name = f"m{i}"
        c.python = c.python.replace("def x(", f"def m{i}(")
    for dialect in DIALECTS:
        text = render_sql(compiled, dialect, "hostile\n'; DROP TABLE x; --", "v")
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
        assert [type(s).__name__ for s in statements] == ["Create"] * 3, dialect
        for s in statements:
            assert not list(s.find_all(sqlglot.exp.Drop))
    # the hostile values survive as data: run the DuckDB SQL
    rows = [{"pid": "p", "CODE": h, "d": D(2024, 1, 1)} for h in HOSTILE]
    got = run_duckdb(compiled[0].sql, {"a_f": rows})
    assert all(list(r) == ["pid", "OUT"] for r in got)
    assert sorted(r["OUT"] for r in got) == sorted(HOSTILE)
    source = render_python(compiled, "hostile\n'; DROP TABLE x; --", "v\nimport os")
    assert _calls(source) <= ALLOWED_CALLS, _calls(source) - ALLOWED_CALLS
    module = load_module(source)
    assert sorted(r["OUT"] for r in module["m0"]({"a_f": rows})) == sorted(HOSTILE)
    assert run_duckdb(compiled[2].sql, {"a_f": rows}) == module["m2"]({"a_f": rows})


@pytest.mark.parametrize(
    "name",
    ['a:x"; DROP TABLE y; --', "a:x\ny", "a:x'y", "a:x\\y", "a:__import__('os')"],
)
def test_hostile_identifiers_are_refused(name: str) -> None:
    cat = _cat({name: {}, "a:OUT": {}})
    with pytest.raises(TransformError, match="not allowed"):
        compile_mapping(
            cat,
            _mapping(
                name,
                "a:OUT",
                kind="unit_conversion",
                unit_conversion=SimpleNamespace(factor=2, offset=0),
            ),
        )


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "a:x.__class__",
        "eval('1')",
        "a:x; DROP TABLE y",
        "open('/etc/passwd')",
        "lambda: 1",
        "a:x[0]",
        "round(a:x, 1, 2)",
        "1 +",
    ],
)
def test_expressions_outside_the_allow_list_are_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse(text)


def test_row_wise_kinds_sql_matches_python() -> None:
    cat = _cat(
        {
            "r:pid": {"datatype": "identifier"},
            "r:kg": {},
            "r:g": {},
            "r:code": {},
            "r:koded": {},
            "r:bmi": {},
            "r:h": {},
            "r:flag": {},
            "r:d": {},
            "r:yr": {},
        }
    )
    mappings = [
        _mapping(
            "r:g",
            "r:kg",
            kind="unit_conversion",
            unit_conversion=SimpleNamespace(factor=0.001, offset=None),
        ),
        _mapping(
            "r:code",
            "r:koded",
            kind="value_map",
            value_map=[
                SimpleNamespace(source="A", target="1"),
                SimpleNamespace(source="B", target="1"),
                SimpleNamespace(source="C", target="2"),
            ],
        ),
        _mapping("r:kg", "r:bmi", kind="expression", expression="round(r:kg / (r:h * r:h), 1)"),
        _mapping(
            "r:kg",
            "r:flag",
            kind="expression",
            expression="not (r:kg > 100 or r:h < 1.5) and coalesce(r:code, 'x') <> 'C'",
        ),
        _mapping("r:d", "r:yr", kind="expression", expression="year(r:d) - 2000 + abs(-1)"),
    ]
    compiled = []
    for i, m in enumerate(mappings):
        c = compile_mapping(cat, m)
        c.name = f"m{i}"
        c.python = c.python.replace("def x(", f"def m{i}(")
        compiled.append(c)
    rows = [
        {"pid": "1", "g": 80500, "code": "A", "kg": 80.5, "h": 1.8, "d": D(2024, 2, 1)},
        {"pid": "2", "g": None, "code": "B", "kg": 120.0, "h": 1.7, "d": None},
        {"pid": "3", "g": 50, "code": "C", "kg": 45.25, "h": 0.0, "d": D(1999, 1, 1)},
        {"pid": "4", "g": 1, "code": None, "kg": None, "h": 1.4, "d": D(2000, 1, 1)},
    ]
    module = load_module(render_python(compiled, "t", "v"))
    for c in compiled:
        assert run_duckdb(c.sql, {"r_f": rows}) == module[c.name]({"r_f": rows}), c.name
    assert [r["koded"] for r in module["m1"]({"r_f": rows})] == ["1", "1", "2", None]


def test_value_map_conflict_and_bad_linkage_are_refused(real) -> None:
    cat = _cat({"a:x": {}, "a:y": {}})
    with pytest.raises(TransformError, match="both"):
        compile_mapping(
            cat,
            _mapping(
                "a:x",
                "a:y",
                kind="value_map",
                value_map=[
                    SimpleNamespace(source="1", target="a"),
                    SimpleNamespace(source="1", target="b"),
                ],
            ),
        )
    with pytest.raises(TransformError, match="not in the catalogue"):
        compile_mapping(cat, _mapping("a:x", "a:nope", kind="value_map", value_map=[]))


def _write_extracts(directory: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    directory.mkdir(parents=True)
    for i, (name, rows) in enumerate(extracts().items()):
        table = pa.Table.from_pylist(rows)
        if i % 2:
            pq.write_table(table, directory / f"{name}.parquet")
        else:
            pacsv.write_csv(table, directory / f"{name}.csv")


def test_cli_codegen_and_transform_round_trip(tmp_path: Path, runner, monkeypatch) -> None:
    monkeypatch.setenv("REGCAT_CATALOGUE", str(REPO / "catalogue"))
    result = runner.invoke(app, ["codegen-transform", "key-register-reuse", "--dialect", "spark"])
    assert result.exit_code == 0, result.output
    assert "CREATE OR REPLACE VIEW `noric_lmr_asa`" in result.output
    target = tmp_path / "t.py"
    result = runner.invoke(
        app, ["codegen-transform", "key-register-reuse", "--target", "python", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith("# Generated by regcat")

    _write_extracts(tmp_path / "in")
    out = tmp_path / "out" / "infarkt.csv"
    result = runner.invoke(
        app,
        [
            "transform",
            "key-register-reuse",
            "--input",
            str(tmp_path / "in"),
            "--out",
            str(out),
            "--mapping",
            "mapping:noric-npr-infarkttype",
        ],
    )
    assert result.exit_code == 0, result.output  # the output passes its own checker
    assert "wrote" in result.output
    assert "checked against noric form utskrivelse" in result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "fodselsnummer,REGANGIO_INTERDAT,DISCHARGE_INFARCTTYPE"
    assert len(lines) == 5
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]

    result = runner.invoke(
        app,
        [
            "transform",
            "key-register-reuse",
            "--input",
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "all"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "all").glob("*.parquet"))) == 6

    # one file for several mappings: bad usage, nothing written
    result = runner.invoke(
        app,
        [
            "transform",
            "key-register-reuse",
            "--input",
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 2
    assert not (tmp_path / "x.parquet").exists()
    shutil.rmtree(tmp_path / "in")
    (tmp_path / "in").mkdir()
    result = runner.invoke(
        app,
        [
            "transform",
            "key-register-reuse",
            "--input",
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "y"),
        ],
    )
    assert result.exit_code == 2
    assert "missing" in result.output
    result = runner.invoke(app, ["codegen-transform", "no-such-set"])
    assert result.exit_code == 2


@pytest.mark.slow
def test_spark_sql_gives_the_same_rows_as_duckdb(real) -> None:
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: PySpark local mode needs a JVM")
    pyspark_sql = pytest.importorskip("pyspark.sql")
    cat, mapping_set = real
    compiled = compile_set(cat, mapping_set)
    tables = extracts()
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("regcat-transform-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        for name, rows in tables.items():
            frame = spark.createDataFrame([tuple(r.values()) for r in rows], _spark_schema(rows))
            frame.createOrReplaceTempView(name)
        for c in compiled:
            got = [row.asDict() for row in spark.sql(c.sql_for("spark")).collect()]
            assert got == run_duckdb(c.sql, tables), c.name
    finally:
        spark.stop()


def _spark_schema(rows: list[dict]) -> str:
    types = {}
    for row in rows:
        for key, value in row.items():
            if value is not None:
                types[key] = "DATE" if isinstance(value, dt.date) else "STRING"
            types.setdefault(key, "STRING")
    return ", ".join(f"`{k}` {t}" for k, t in types.items())


def test_runtime_is_plain_python() -> None:
    assert "import os" not in RUNTIME and "eval(" not in RUNTIME and "exec(" not in RUNTIME


def test_transform_output_is_checked_by_the_target_checker(tmp_path: Path, runner) -> None:
    # The same mapping gives the transform and the validator of its output: a value map
    # that writes a code the target's value set lacks is caught on the way out.
    catalogue = tmp_path / "cat"
    shutil.copytree(REPO / "catalogue", catalogue)
    side = catalogue / "mappings" / "key-register-reuse.transform.yaml"
    text = side.read_text(encoding="utf-8")
    side.write_text(
        text.replace("  - source: I21.4\n    target: '2'", "  - source: I21.4\n    target: '7'")
    )
    _write_extracts(tmp_path / "in")
    out = tmp_path / "out.csv"
    args = ["--catalogue", str(catalogue), "--index", str(tmp_path / "idx"), "transform"]
    args += ["key-register-reuse", "--input", str(tmp_path / "in"), "--out", str(out)]
    result = runner.invoke(app, [*args, "--mapping", "mapping:noric-npr-infarkttype"])
    assert result.exit_code == 1, result.output
    assert "value_set" in result.output and "DISCHARGE_INFARCTTYPE" in result.output
    assert out.exists()  # the rows are written; the report says what is wrong with them
