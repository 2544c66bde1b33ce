"""`regcat build`: the index (SQLite + FTS5, RDF store, Turtle), incremental and safe."""

from __future__ import annotations

import sqlite3

from regcat.cli import app
from regcat.index import build_index, open_index
from regcat.io import dump_yaml
from regcat.rdf import open_store

from .conftest import snapshot, tiny_register, write_catalogue


def test_build_writes_sqlite_rdf_and_turtle(catalogue, tmp_path):
    index = tmp_path / "index"
    report = build_index(catalogue, index)
    assert report.written and not report.errors
    assert sorted(report.parsed) == ["codesystems.yaml", "registers/alpha.yaml"]
    db = open_index(index)
    assert db.execute("SELECT count(*) FROM variables").fetchone()[0] == 2
    row = db.execute("SELECT * FROM variables WHERE id='alpha:DIAG'").fetchone()
    assert (row["register_id"], row["label_nb"], row["datatype"]) == (
        "alpha",
        "Hoveddiagnose",
        "coded",
    )
    assert db.execute("SELECT count(*) FROM codes").fetchone()[0] == 2
    assert [tuple(r) for r in db.execute("SELECT system, code FROM codings ORDER BY code")] == [
        ("SCTID", "22298006"),
        ("ICD10", "I21.4"),
    ]
    turtle = (index / "turtle" / "registers" / "alpha.yaml.ttl").read_text()
    assert "Hoveddiagnose" in turtle and "@prefix skos:" in turtle
    db.close()
    store = open_store(index)
    count = next(iter(store.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")))
    assert int(count["n"].value) > 20
    label = store.query(
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?l WHERE { GRAPH ?g "
        "{ <https://w3id.org/regcat/variable/alpha/DIAG> skos:prefLabel ?l } } ORDER BY ?l"
    )
    assert [s["l"].value for s in label] == ["Hoveddiagnose", "Main diagnosis"]


def fts(index, query: str) -> list[str]:
    db = open_index(index)
    try:
        return [
            r[0]
            for r in db.execute(
                "SELECT id FROM variables_fts WHERE variables_fts MATCH ?", (query,)
            )
        ]
    finally:
        db.close()


def test_fts_is_folded_and_prefix_searchable(tmp_path):
    register = tiny_register()
    register["variables"][1]["label"]["nb"] = "Østrogenbehandling etter hjerteinfarkt"
    root = write_catalogue(tmp_path / "cat", [register])
    build_index(root, tmp_path / "index")
    assert fts(tmp_path / "index", "ostrogen*") == ["alpha:INFARKT"]
    assert fts(tmp_path / "index", "hjerte*") == ["alpha:INFARKT"]
    assert fts(tmp_path / "index", '"I21.4"') == ["alpha:DIAG"]


def test_incremental_build_parses_only_changed_files(catalogue, tmp_path):
    index = tmp_path / "index"
    build_index(catalogue, index)
    again = build_index(catalogue, index)
    assert again.parsed == [] and again.written
    register = tiny_register()
    register["variables"][0]["label"]["nb"] = "Endret ledetekst"
    (catalogue / "registers" / "alpha.yaml").write_text(dump_yaml(register))
    third = build_index(catalogue, index)
    assert third.parsed == ["registers/alpha.yaml"]
    db = open_index(index)
    assert (
        db.execute("SELECT label_nb FROM variables WHERE id='alpha:DIAG'").fetchone()[0]
        == "Endret ledetekst"
    )
    assert db.execute("SELECT count(*) FROM variables").fetchone()[0] == 2  # no duplicates
    db.close()


def test_incremental_build_still_sees_cross_file_references(catalogue, tmp_path):
    index = tmp_path / "index"
    beta = tiny_register(id="beta", forms=[], value_sets=[])
    beta["variables"] = [
        {"id": "beta:A", "label": {"nb": "A"}, "datatype": "string", "superseded_by": "alpha:DIAG"}
    ]
    (catalogue / "registers" / "beta.yaml").write_text(dump_yaml(beta))
    assert not build_index(catalogue, index).errors
    register = tiny_register()
    register["variables"] = register["variables"][1:]  # alpha:DIAG goes away
    (catalogue / "registers" / "alpha.yaml").write_text(dump_yaml(register))
    report = build_index(catalogue, index)
    assert [f.render() for f in report.errors] == [
        "registers/beta.yaml: beta:A: field 'superseded_by': no variable 'alpha:DIAG'"
    ]


def test_removed_file_is_dropped_from_index(catalogue, tmp_path):
    index = tmp_path / "index"
    beta = tiny_register(id="beta", forms=[], value_sets=[], variables=[])
    (catalogue / "registers" / "beta.yaml").write_text(dump_yaml(beta))
    build_index(catalogue, index)
    (catalogue / "registers" / "beta.yaml").unlink()
    report = build_index(catalogue, index)
    assert report.removed == ["registers/beta.yaml"]
    db = open_index(index)
    assert [r[0] for r in db.execute("SELECT id FROM registers")] == ["alpha"]
    db.close()


def test_build_with_errors_leaves_index_untouched(catalogue, tmp_path, runner):
    index = tmp_path / "index"
    build_index(catalogue, index)
    before = snapshot(index)
    register = tiny_register()
    register["variables"][0]["form"] = "nope"
    (catalogue / "registers" / "alpha.yaml").write_text(dump_yaml(register))
    result = runner.invoke(app, ["--catalogue", str(catalogue), "--index", str(index), "build"])
    assert result.exit_code == 1
    assert "no form 'nope'" in result.stdout
    assert "the index was left as it was" in result.output
    after = snapshot(index)
    assert {k: v for k, v in after.items() if not k.endswith(("-wal", "-shm"))} == {
        k: v for k, v in before.items() if not k.endswith(("-wal", "-shm"))
    }


def test_stale_index_version_is_rebuilt(catalogue, tmp_path):
    index = tmp_path / "index"
    build_index(catalogue, index)
    db = sqlite3.connect(index / "regcat.sqlite")
    db.execute("UPDATE meta SET value='0' WHERE key='version'")
    db.commit()
    db.close()
    report = build_index(catalogue, index)
    assert len(report.parsed) == 2


def test_cli_build_and_stats(runner, catalogue, tmp_path):
    index = tmp_path / "index"
    result = runner.invoke(app, ["-c", str(catalogue), "--index", str(index), "build"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["-c", str(catalogue), "--index", str(index), "stats", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert data["totals"]["variables"] == 2
    assert data["registers"] == [
        {
            "id": "alpha",
            "name": "Alfaregisteret",
            "key_register": False,
            "forms": 1,
            "variables": 2,
            "value_sets": 1,
            "codings": 2,
        }
    ]


def test_catalogue_from_index_equals_catalogue_from_files(catalogue, tmp_path):
    from regcat.catalogue import Catalogue

    build_index(catalogue, tmp_path / "index")
    from_files = Catalogue.load(catalogue)
    from_index = Catalogue.from_index(tmp_path / "index")
    assert from_index.stats() == from_files.stats()
    assert from_index.variables["alpha:DIAG"].register_id == "alpha"
    assert from_index.registers["alpha"].variables[0].id == "alpha:DIAG"
    assert from_index.value_sets == from_files.value_sets


def test_hostile_labels_survive_rdf_and_turtle(tmp_path):
    hostile = 'a "quoted" \\ back\\slash\nnewline\t<script>alert(1)</script> > {{ x }} 😀'
    register = tiny_register()
    register["variables"][0]["label"]["nb"] = hostile
    root = write_catalogue(tmp_path / "cat", [register])
    assert not build_index(root, tmp_path / "index").errors
    store = open_store(tmp_path / "index")
    labels = store.query(
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT ?l WHERE { GRAPH ?g "
        "{ <https://w3id.org/regcat/variable/alpha/DIAG> skos:prefLabel ?l "
        "FILTER(lang(?l) = 'nb') } }"
    )
    assert [s["l"].value for s in labels] == [hostile]
    import pyoxigraph as ox

    turtle = (tmp_path / "index" / "turtle" / "registers" / "alpha.yaml.ttl").read_bytes()
    parsed = ox.Store()
    parsed.load(turtle, format=ox.RdfFormat.TURTLE)
    assert len(parsed) > 10


def test_incremental_build_checks_changed_file_against_the_rest(catalogue, tmp_path):
    index = tmp_path / "index"
    beta = tiny_register(id="beta", forms=[], value_sets=[], variables=[])
    (catalogue / "registers" / "beta.yaml").write_text(dump_yaml(beta))
    assert not build_index(catalogue, index).errors
    # a reference from the changed file to an unchanged one resolves
    beta["variables"] = [
        {"id": "beta:A", "label": {"nb": "A"}, "datatype": "coded", "value_set": "alpha:DIAG"}
    ]
    (catalogue / "registers" / "beta.yaml").write_text(dump_yaml(beta))
    report = build_index(catalogue, index)
    assert report.parsed == ["registers/beta.yaml"] and not report.errors
    # a duplicate of an id that an unchanged file defines is found
    beta["value_sets"] = [{"id": "alpha:DIAG", "codes": [{"code": "1", "label": {"nb": "x"}}]}]
    (catalogue / "registers" / "beta.yaml").write_text(dump_yaml(beta))
    report = build_index(catalogue, index)
    assert any(
        "duplicate value set id (also defined in registers/alpha.yaml)" in f.render()
        for f in report.errors
    )


def test_incremental_build_sees_mapping_ends_lost_elsewhere(catalogue, tmp_path):
    index = tmp_path / "index"
    (catalogue / "mappings").mkdir()
    (catalogue / "mappings" / "m.sssom.tsv").write_text(
        "# curie_map:\n#   alpha: https://w3id.org/regcat/variable/alpha/\n"
        "#   skos: http://www.w3.org/2004/02/skos/core#\n#   semapv: https://w3id.org/semapv/vocab/\n"
        "# mapping_set_id: https://w3id.org/regcat/mappings/m\n"
        "# license: https://creativecommons.org/licenses/by/4.0/\n"
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\n"
        "alpha:INFARKT\tskos:closeMatch\talpha:DIAG\tsemapv:ManualMappingCuration\n"
    )
    assert not build_index(catalogue, index).errors
    register = tiny_register()
    register["variables"] = register["variables"][:1]  # alpha:INFARKT goes away
    (catalogue / "registers" / "alpha.yaml").write_text(dump_yaml(register))
    report = build_index(catalogue, index)
    assert [f.render() for f in report.errors] == [
        "mappings/m.sssom.tsv: alpha:INFARKT→alpha:DIAG: "
        "field 'subject_id': no variable 'alpha:INFARKT'"
    ]


def test_failed_full_build_keeps_the_previous_index(catalogue, tmp_path, runner):
    index = tmp_path / "index"
    build_index(catalogue, index)
    before = {k: v for k, v in snapshot(index).items() if not k.endswith(("-wal", "-shm"))}
    (catalogue / "registers" / "alpha.yaml").write_text("id: alpha\n\tbad: tab\n")
    for args in (["build", "--force"], ["build"]):
        result = runner.invoke(app, ["-c", str(catalogue), "--index", str(index), *args])
        assert result.exit_code == 2, result.output
        after = {k: v for k, v in snapshot(index).items() if not k.endswith(("-wal", "-shm"))}
        assert after == before
    # a changed codesystems.yaml forces a full build: an error must not wipe the index
    (catalogue / "registers" / "alpha.yaml").write_text(
        dump_yaml(
            tiny_register(
                variables=[
                    {"id": "alpha:X", "label": {"nb": "X"}, "datatype": "string", "form": "nope"}
                ]
            )
        )
    )
    (catalogue / "codesystems.yaml").write_text((catalogue / "codesystems.yaml").read_text() + "\n")
    result = runner.invoke(app, ["-c", str(catalogue), "--index", str(index), "build"])
    assert result.exit_code == 1, result.output
    after = {k: v for k, v in snapshot(index).items() if not k.endswith(("-wal", "-shm"))}
    assert after == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_failed_first_build_leaves_no_index_behind(catalogue, tmp_path):
    register = tiny_register()
    register["variables"][0]["form"] = "nope"
    (catalogue / "registers" / "alpha.yaml").write_text(dump_yaml(register))
    report = build_index(catalogue, tmp_path / "index")
    assert report.errors and not report.written
    assert not (tmp_path / "index").exists()
