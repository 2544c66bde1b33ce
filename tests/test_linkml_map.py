"""`regcat export linkml-map`: the TransformationSpecification runs in linkml-map's
ObjectTransformer and gives the same rows as regcat's DuckDB SQL for value maps, unit
conversions and copies; record linkages are reported as skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from regcat.catalogue import Catalogue
from regcat.cli import app
from regcat.codegen.linkml_map import build, render
from regcat.codegen.transform import compile_mapping
from regcat.io import dump_yaml

from .conftest import tiny_register, write_catalogue

pytest.importorskip("linkml_map")


def _var(ident: str, form: str, datatype: str, **extra) -> dict:
    return {"id": ident, "form": form, "label": {"nb": ident}, "datatype": datatype} | extra


def register() -> dict:
    return tiny_register(
        id="beta",
        name={"nb": "Betaregisteret"},
        forms=[{"id": "basis", "name": {"nb": "Basis"}}, {"id": "oppf", "name": {"nb": "Oppf"}}],
        variables=[
            _var("beta:pid", "basis", "identifier"),
            _var("beta:DIAG", "basis", "string"),
            _var("beta:VEKT_G", "basis", "integer", unit="g"),
            _var("beta:NAVN", "basis", "string"),
            _var("beta:DATO", "basis", "date"),
            _var("beta:INFARKTTYPE", "oppf", "string"),
            _var("beta:VEKT_KG", "oppf", "decimal", unit="kg"),
            _var("beta:NAVN_KOPI", "oppf", "string"),
            _var("beta:NAVN_LIK", "oppf", "string"),
            _var("beta:STOR", "oppf", "boolean"),
            _var("beta:HAR_I21", "oppf", "string"),
        ],
        value_sets=[],
    )


ROWS = [
    ("m:copy", "beta:NAVN", "skos:exactMatch", "beta:NAVN_KOPI"),
    ("m:exact", "beta:NAVN", "skos:exactMatch", "beta:NAVN_LIK"),
    ("m:expr", "beta:VEKT_G", "skos:relatedMatch", "beta:STOR"),
    ("m:link", "beta:DIAG", "skos:relatedMatch", "beta:HAR_I21"),
    ("m:unit", "beta:VEKT_G", "skos:exactMatch", "beta:VEKT_KG"),
    ("m:vmap", "beta:DIAG", "skos:closeMatch", "beta:INFARKTTYPE"),
]
TRANSFORMS = [
    {"record_id": "m:copy", "kind": "expression", "expression": "beta:NAVN"},
    {"record_id": "m:expr", "kind": "expression", "expression": "beta:VEKT_G > 100000"},
    {
        "record_id": "m:link",
        "kind": "record_linkage",
        "record_linkage": {
            "person_key": "pid",
            "event_date": "beta:DATO",
            "code_variable": "beta:DIAG",
            "code_system": "ICD10",
            "code_prefixes": ["I21"],
            "aggregate": "any",
        },
    },
    {
        "record_id": "m:unit",
        "kind": "unit_conversion",
        "unit_conversion": {"from_unit": "g", "to_unit": "kg", "factor": 0.001},
    },
    {
        "record_id": "m:vmap",
        "kind": "value_map",
        "value_map": [  # many-to-one
            {"source": "I21.0", "target": "1"},
            {"source": "I21.1", "target": "1"},
            {"source": "I21.3", "target": "1"},
            {"source": "I21.4", "target": "2"},
            {"source": "I21.9", "target": "9"},
        ],
    },
]
DATA = [
    {"pid": "P1", "DIAG": "I21.0", "VEKT_G": 80500, "NAVN": "Kari", "DATO": "2024-01-02"},
    {"pid": "P2", "DIAG": "I21.1", "VEKT_G": None, "NAVN": "Ola", "DATO": "2024-02-03"},
    {"pid": "P3", "DIAG": "I21.4", "VEKT_G": 1, "NAVN": None, "DATO": "2024-03-04"},
    {"pid": "P4", "DIAG": "J18.9", "VEKT_G": 123456, "NAVN": "Åse Ærø", "DATO": None},
    {"pid": "P5", "DIAG": None, "VEKT_G": 0, "NAVN": "", "DATO": "2024-05-06"},
    {"pid": "P6", "DIAG": "I21.9", "VEKT_G": 72250, "NAVN": "Per", "DATO": "2024-06-07"},
]


def write_set(root: Path) -> None:
    lines = [
        "# curie_map:",
        "#   m: https://w3id.org/regcat/mapping/",
        "#   beta: https://w3id.org/regcat/variable/beta/",
        "# mapping_set_id: https://w3id.org/regcat/mappings/lm",
        "# license: https://creativecommons.org/licenses/by/4.0/",
        "record_id\tsubject_id\tpredicate_id\tobject_id\tmapping_justification",
    ]
    lines += ["\t".join((*row, "semapv:ManualMappingCuration")) for row in ROWS]
    folder = root / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lm.sssom.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    side = dump_yaml({"transformations": TRANSFORMS})
    (folder / "lm.transform.yaml").write_text(side, encoding="utf-8")


@pytest.fixture(scope="module")
def cat(tmp_path_factory) -> Catalogue:
    root = write_catalogue(tmp_path_factory.mktemp("lm") / "cat", [register()])
    write_set(root)
    return Catalogue.load(root)


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


def transformer(export):
    from linkml_map.transformer.object_transformer import ObjectTransformer
    from linkml_runtime import SchemaView

    tr = ObjectTransformer()
    tr.source_schemaview = SchemaView(yaml.safe_dump(export.source_schema))
    tr.target_schemaview = SchemaView(yaml.safe_dump(export.target_schema))
    tr.create_transformer_specification(export.spec)
    return tr


def test_object_transformer_agrees_with_duckdb_sql(cat) -> None:
    mapping_set = cat.mapping_sets["mappings/lm.sssom.tsv"]
    export = build(cat, mapping_set, "lm")
    assert export.exported == ["m:copy", "m:exact", "m:unit", "m:vmap"]
    [derivation] = export.spec["class_derivations"]
    assert derivation["name"] == "BetaOppf" and derivation["populated_from"] == "BetaBasis"
    tr = transformer(export)
    from_linkml_map = [tr.map_object(dict(row), source_type="BetaBasis") for row in DATA]
    assert [r["pid"] for r in from_linkml_map] == [r["pid"] for r in DATA]
    by_id = {m.record_id: m for m in mapping_set.mappings}
    for rid in ("m:copy", "m:unit", "m:vmap"):
        compiled = compile_mapping(cat, by_id[rid])
        from_sql = run_duckdb(compiled.sql, {"beta_basis": DATA})
        projected = sorted(
            ({c: row.get(c) for c in compiled.columns} for row in from_linkml_map),
            key=lambda r: r["pid"],
        )
        assert projected == from_sql, rid
    got = {r["pid"]: (r["INFARKTTYPE"], r["VEKT_KG"], r["NAVN_LIK"]) for r in from_linkml_map}
    assert got["P1"] == ("1", 80.5, "Kari")
    assert got["P2"] == ("1", None, "Ola")
    assert got["P4"] == (None, 123.456, "Åse Ærø")
    assert got["P6"] == ("9", 72.25, "Per")


def test_record_linkage_and_other_expressions_are_skipped(cat) -> None:
    export = build(cat, cat.mapping_sets["mappings/lm.sssom.tsv"], "lm")
    reasons = {s.record_id: (s.kind, s.reason) for s in export.skipped}
    assert set(reasons) == {"m:link", "m:expr"}
    assert reasons["m:link"][0] == "record_linkage"
    assert "record linkage" in reasons["m:link"][1]
    assert reasons["m:expr"][0] == "expression"
    texts = render(export, "mappings/lm.sssom.tsv", "v1")
    assert "# - m:link (record_linkage): record linkage" in texts["spec"]
    assert texts["spec"].startswith("# Generated by regcat from mappings/lm.sssom.tsv, ")
    assert "catalogue version v1" in texts["spec"]
    assert texts == render(
        build(cat, cat.mapping_sets["mappings/lm.sssom.tsv"], "lm"), "mappings/lm.sssom.tsv", "v1"
    )


def test_cli_export_linkml_map(tmp_path: Path, runner) -> None:
    root = write_catalogue(tmp_path / "cat", [register()])
    write_set(root)
    target = tmp_path / "out" / "lm.yaml"
    args = ["--catalogue", str(root), "export", "linkml-map", "lm"]
    result = runner.invoke(app, [*args, "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert "skipped m:link (record_linkage)" in result.stderr
    assert "4 exported, 2 skipped" in result.stderr
    files = sorted(p.name for p in target.parent.iterdir())
    assert files == ["lm.source-schema.yaml", "lm.target-schema.yaml", "lm.yaml"]
    spec = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert spec["source_schema"] == {"name": "regcat_lm_source"}
    source = yaml.safe_load((target.parent / "lm.source-schema.yaml").read_text("utf-8"))
    assert set(source["classes"]["BetaBasis"]["attributes"]) == {"pid", "DIAG", "VEKT_G", "NAVN"}

    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    documents = list(yaml.safe_load_all(first.stdout))
    assert [d["name"] for d in documents[1:]] == ["regcat_lm_source", "regcat_lm_target"]
    assert documents[0]["class_derivations"] == spec["class_derivations"]
    assert runner.invoke(app, args).stdout == first.stdout  # deterministic

    result = runner.invoke(app, ["--catalogue", str(root), "export", "linkml-map", "nope"])
    assert result.exit_code == 2
