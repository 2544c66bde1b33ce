"""Overlap reports on a small catalogue written here: concepts shared through codes
(with parents) and mapping groups (with a cycle of conflicting value maps), key-register
reuse with counts per topic, PROM instruments per pathway, and the CLI's formats."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from regcat.catalogue import Catalogue
from regcat.cli import app
from regcat.generated.model import Mapping
from regcat.io import dump_yaml
from regcat.overlap import (
    PATHWAYS,
    concepts_report,
    overlap_report,
    prom_report,
    reuse_report,
    value_map_conflicts,
)
from regcat.overlap_render import render_csv, render_markdown

from .conftest import snapshot, write_catalogue

MAPPING_COLUMNS = ("record_id", "subject_id", "predicate_id", "object_id")


def write_mappings(root: Path, rows: list[tuple], transforms: list[dict] = (), name="test"):
    """An embedded SSSOM/TSV mapping set and its transformation side file."""
    lines = [
        "# curie_map:",
        "#   mapping: https://w3id.org/regcat/mapping/",
        f"# mapping_set_id: https://w3id.org/regcat/mappings/{name}",
        "# license: https://creativecommons.org/licenses/by/4.0/",
        "\t".join((*MAPPING_COLUMNS, "mapping_justification")),
    ]
    lines += ["\t".join((*row, "semapv:ManualMappingCuration")) for row in rows]
    folder = root / "mappings"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.sssom.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    if transforms:
        side = dump_yaml({"transformations": list(transforms)})
        (folder / f"{name}.transform.yaml").write_text(side, encoding="utf-8")


def v(ident: str, label: str, **extra) -> dict:
    return {
        "id": ident,
        "label": {"nb": label},
        "datatype": extra.pop("datatype", "boolean"),
    } | extra


def whole_system(register: str, system: str) -> dict:
    return {"id": f"{register}:{system}", "code_system": system}


def registers() -> list[dict]:
    noric = {
        "id": "noric",
        "name": {"nb": "NORIC"},
        "kind": "national_medical_quality_register",
        "forms": [
            {"id": "basis", "name": {"nb": "Basisskjema"}},
            {"id": "prom", "name": {"nb": "Oppfølging 3 mnd"}},
        ],
        "variables": [
            v("noric:STATINER", "Statiner", form="basis", collection_mode="manual"),
            v("noric:ASA", "ASA", form="basis", collection_mode="manual"),
            v("noric:DODSDATO", "Dødsdato", form="basis", datatype="date"),
            v(
                "noric:INFARKT",
                "Hjerteinfarkt",
                form="basis",
                codings=[{"system": "ICD10", "code": "I21.4"}],
            ),
            v("noric:KOMMENTAR", "Kommentar", form="basis", datatype="string"),
            v(
                "noric:HENTET",
                "Inndato",
                form="basis",
                datatype="date",
                collection_mode="fetched_from_key_register",
            ),
            v("noric:GAMMEL", "Warfarin", form="basis", status="retired"),
            v("noric:Q1", "Helse generelt", form="prom", instrument_item="rand12:q1"),
        ],
    }
    nhir = {
        "id": "nhir",
        "name": {"nb": "NHIR"},
        "kind": "national_medical_quality_register",
        "forms": [{"id": "oppf", "name": {"nb": "Oppfølging"}, "instrument": "rand12"}],
        "variables": [
            v(
                "nhir:MI",
                "Hjerteinfarkt",
                form="oppf",
                codings=[{"system": "ICD10", "code": "I21"}],
            ),
            v("nhir:Q1", "Helse generelt", form="oppf", instrument_item="rand12:q1"),
        ],
    }
    keyx = {
        "id": "keyx",
        "name": {"nb": "Nøkkelregisteret"},
        "kind": "central_health_register",
        "key_register": True,
        "variables": [
            v("keyx:fnr", "Fødselsnummer", datatype="identifier", topic="administrative"),
            v("keyx:dodsdato", "Dødsdato", datatype="date", topic="death"),
            v("keyx:atc", "ATC-kode", datatype="coded", value_set="keyx:ATC", topic="medication"),
            v("keyx:diag", "Diagnose", datatype="coded", value_set="keyx:ICD10", topic="diagnosis"),
        ],
        "value_sets": [whole_system("keyx", "ATC"), whole_system("keyx", "ICD10")],
    }
    return [noric, nhir, keyx]


def write_instrument(root: Path) -> None:
    (root / "instruments").mkdir(exist_ok=True)
    instrument = {
        "id": "rand12",
        "name": {"nb": "RAND-12"},
        "items": [{"id": "rand12:q1", "text": {"nb": "Stort sett, vil du si at din helse er"}}],
    }
    (root / "instruments" / "rand12.yaml").write_text(dump_yaml(instrument), encoding="utf-8")


@pytest.fixture
def cat_dir(tmp_path: Path) -> Path:
    root = write_catalogue(tmp_path / "cat", registers())
    write_instrument(root)
    write_mappings(
        root,
        [
            ("mapping:dod", "keyx:dodsdato", "skos:exactMatch", "noric:DODSDATO"),
            ("mapping:asa", "keyx:atc", "skos:closeMatch", "noric:ASA"),
            ("mapping:kommentar", "keyx:fnr", "skos:relatedMatch", "noric:KOMMENTAR"),
        ],
        [
            {
                "record_id": "mapping:asa",
                "kind": "record_linkage",
                "record_linkage": {
                    "person_key": "fodselsnummer",
                    "anchor": "noric:HENTET",
                    "event_date": "keyx:dodsdato",
                    "code_variable": "keyx:atc",
                    "code_system": "ATC",
                    "code_prefixes": ["B01AC06"],
                    "aggregate": "any",
                },
            }
        ],
    )
    return root


@pytest.fixture
def cat(cat_dir: Path) -> Catalogue:
    return Catalogue.load(cat_dir)


# --- concepts -------------------------------------------------------------------------


def test_shared_code_meets_at_the_parent(cat):
    report = concepts_report(cat)
    rows = {r["concept"]: r for r in report["concepts"]}
    assert rows["ICD10:I21"]["registers"] == ["nhir", "noric"]
    assert rows["ICD10:I21"]["variables"] == [
        {"id": "nhir:MI", "via": "ICD10:I21 (coding)"},
        {"id": "noric:INFARKT", "via": "ICD10:I21.4 (coding) → parent ICD10:I21"},
    ]
    assert "ICD10:I21.4" not in rows  # only one register codes I21.4


def test_mapping_groups_and_record_linkage_parts(cat):
    rows = {r["concept"]: r for r in concepts_report(cat)["concepts"]}
    assert rows["mappings:keyx:dodsdato"]["registers"] == ["keyx", "noric"]
    part = rows["mappings:keyx:atc [ATC:B01AC06]"]
    assert [x["id"] for x in part["variables"]] == ["keyx:atc", "noric:ASA"]
    assert "records with ATC:B01AC06" in part["variables"][0]["via"]
    # a relatedMatch does not make a concept
    assert not any("KOMMENTAR" in json.dumps(r) for r in rows.values())


def test_a_parent_row_with_the_same_variables_is_dropped(tmp_path):
    regs = registers()
    regs[1]["variables"][0]["codings"] = [{"system": "icd10", "code": "i214"}]  # not normalised
    cat = Catalogue.load(write_catalogue(tmp_path / "cat", regs))
    concepts = [r["concept"] for r in concepts_report(cat)["concepts"]]
    assert "ICD10:I21.4" in concepts
    assert "ICD10:I21" not in concepts


def cycle_catalogue(tmp_path: Path, closing: list[tuple[str, str]]) -> Path:
    regs = [
        {
            "id": rid,
            "name": {"nb": rid.upper()},
            "kind": "national_medical_quality_register",
            "variables": [v(f"{rid}:X", "Røyking", datatype="string")],
        }
        for rid in ("aa", "bb", "cc")
    ]
    root = write_catalogue(tmp_path / "cycle", regs)

    def value_map(pairs):
        return [{"source": s, "target": t} for s, t in pairs]

    same = [("1", "1"), ("2", "2")]
    write_mappings(
        root,
        [
            ("mapping:ab", "aa:X", "skos:exactMatch", "bb:X"),
            ("mapping:bc", "bb:X", "skos:exactMatch", "cc:X"),
            ("mapping:ca", "cc:X", "skos:exactMatch", "aa:X"),
        ],
        [
            {"record_id": "mapping:ab", "kind": "value_map", "value_map": value_map(same)},
            {"record_id": "mapping:bc", "kind": "value_map", "value_map": value_map(same)},
            {"record_id": "mapping:ca", "kind": "value_map", "value_map": value_map(closing)},
        ],
    )
    return root


def test_cycle_of_exact_matches_with_conflicting_value_maps(tmp_path):
    root = cycle_catalogue(tmp_path, [("1", "2"), ("2", "1")])
    report = concepts_report(Catalogue.load(root))
    (row,) = report["concepts"]
    assert row["registers"] == ["aa", "bb", "cc"]
    assert [x["id"] for x in row["variables"]] == ["aa:X", "bb:X", "cc:X"]
    assert row["conflicts"] and report["summary"]["conflicts"] == len(report["conflicts"])
    assert report["conflicts"][0] == (
        "aa:X: exact-match value maps disagree round a cycle: '1' comes back as ['2']; "
        "'2' comes back as ['1'] (via mapping:ab, mapping:bc, mapping:ca)"
    )
    assert [c.split(":")[0] for c in report["conflicts"]] == ["aa", "bb", "cc"]


def exact(subject: str, obj: str, pairs: list[tuple[str, str]], record_id: str):
    mapping = Mapping(
        record_id=record_id,
        subject_id=subject,
        predicate_id="skos:exactMatch",
        object_id=obj,
        mapping_justification="semapv:ManualMappingCuration",
        transformation={
            "kind": "value_map",
            "value_map": [{"source": s, "target": t} for s, t in pairs],
        },
    )
    return "test.sssom.tsv", mapping


def test_two_maps_of_one_pair_that_disagree():
    conflicts = value_map_conflicts(
        [exact("a:X", "b:Y", [("1", "1")], "m1"), exact("a:X", "b:Y", [("1", "2")], "m2")]
    )
    assert conflicts == [
        "a:X: exact-match value maps disagree: '1' reaches b:Y as ['1', '2'] (via m1, m2)"
    ]


def test_many_to_one_is_no_conflict():
    assert value_map_conflicts([exact("a:X", "b:Y", [("1", "1"), ("2", "1")], "m1")]) == []


def test_consistent_cycle_has_no_conflict(tmp_path):
    root = cycle_catalogue(tmp_path, [("1", "1"), ("2", "2")])
    report = concepts_report(Catalogue.load(root))
    assert report["conflicts"] == []
    assert len(report["concepts"]) == 1


# --- reuse ----------------------------------------------------------------------------


def test_reuse_counts(cat):
    report = reuse_report(cat)
    assert report["key_registers"] == ["keyx"]
    # administrative is never "held": ids describe the register's own forms
    assert report["key_register_topics"] == {
        "death": ["keyx"],
        "diagnosis": ["keyx"],
        "medication": ["keyx"],
    }
    noric = next(r for r in report["registers"] if r["register"] == "noric")
    s = noric["summary"]
    # manual: STATINER, ASA, DODSDATO, INFARKT, KOMMENTAR, Q1 (not HENTET: fetched;
    # not GAMMEL: retired)
    assert s["manual"] == 6
    assert sorted(noric["equivalents"]) == ["noric:ASA", "noric:DODSDATO", "noric:INFARKT"]
    assert noric["equivalents"]["noric:DODSDATO"] == [
        {"variable": "keyx:dodsdato", "via": "mapping skos:exactMatch"}
    ]
    assert noric["equivalents"]["noric:INFARKT"] == [
        {"variable": "keyx:diag", "via": "keyx:diag holds every ICD10 code"}
    ]
    assert s["equivalent"] == 3 and s["equivalent_pct"] == 50.0
    assert noric["topic_covered"] == {
        "noric:STATINER": {
            "topic": "medication",
            "topic_source": "inferred",
            "key_registers": ["keyx"],
        }
    }
    assert s["topic_covered"] == 1 and s["topic_covered_pct"] == 16.7
    assert s["medication"] == 2 and s["medication_pct"] == 33.3
    assert noric["topics"]["medication"] == {
        "manual": 2,
        "share_pct": 33.3,
        "equivalent": 1,
        "topic_covered": 1,
        "key_registers": ["keyx"],
    }
    assert noric["topics"]["prom"]["key_registers"] == []
    overall = report["overall"]
    assert overall["quality_registers"] == 2
    assert (overall["manual"], overall["equivalent"], overall["medication"]) == (8, 4, 2)
    assert overall["medication_pct"] == 25.0


def test_reuse_without_key_registers(tmp_path):
    regs = [r for r in registers() if r["id"] != "keyx"]
    for r in regs:
        r["variables"] = [x for x in r["variables"] if "instrument_item" not in x]
    report = reuse_report(Catalogue.load(write_catalogue(tmp_path / "c", regs)))
    assert report["key_registers"] == []
    assert report["overall"]["equivalent"] == 0
    assert report["overall"]["topic_covered"] == 0


# --- PROM -----------------------------------------------------------------------------


def test_prom_instruments_and_pathway(cat):
    report = prom_report(cat)
    assert report["shared_instruments"] == [
        {"instrument": "rand12", "name": "RAND-12", "registers": ["nhir", "noric"]}
    ]
    assert report["shared_items"] == [
        {
            "item": "rand12:q1",
            "instrument": "rand12",
            "registers": ["nhir", "noric"],
            "variables": ["nhir:Q1", "noric:Q1"],
        }
    ]
    (cardiac,) = [p for p in report["pathways"] if p["pathway"] == "cardiac"]
    assert [m["register"] for m in cardiac["registers"]] == list(PATHWAYS[0].registers)
    members = {m["register"]: m for m in cardiac["registers"]}
    assert members["nhkir"]["in_catalogue"] is False
    assert members["noric"]["prom_forms"] == [
        {"form": "prom", "name": "Oppfølging 3 mnd", "instruments": ["rand12"]}
    ]
    assert cardiac["prom_forms"] == 2
    assert cardiac["shared_instruments"] == {"rand12": ["nhir", "noric"]}


# --- rendering and CLI ----------------------------------------------------------------


def test_renderings_are_stable_and_well_formed(cat):
    data = overlap_report(cat)
    assert data == overlap_report(cat)
    for name, report in data.items():
        rows = list(csv.reader(io.StringIO(render_csv(name, report))))
        assert len(rows) > 1 and len({len(r) for r in rows}) == 1, name
        md = render_markdown(name, report)
        assert md.startswith("## ") and "|---|" in md
    assert "33.3 %" in render_markdown("reuse", data["reuse"])


def cli(runner, root: Path, tmp_path: Path, *args: str):
    return runner.invoke(app, ["-c", str(root), "--index", str(tmp_path / "idx"), *args])


def test_cli_json(runner, cat_dir, tmp_path):
    result = cli(runner, cat_dir, tmp_path, "overlap", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(data) == ["concepts", "prom", "reuse"]
    assert data["reuse"]["overall"]["medication_pct"] == 25.0
    one = cli(runner, cat_dir, tmp_path, "overlap", "-f", "json", "--report", "prom")
    assert sorted(json.loads(one.stdout)) == ["prom"]


def test_cli_csv_needs_out_for_all(runner, cat_dir, tmp_path):
    result = cli(runner, cat_dir, tmp_path, "overlap", "--format", "csv")
    assert result.exit_code == 2
    assert "--out" in result.output and "Traceback" not in result.output
    out = tmp_path / "reports"
    before = snapshot(cat_dir)
    result = cli(runner, cat_dir, tmp_path, "overlap", "-f", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "overlap-concepts.csv",
        "overlap-prom.csv",
        "overlap-reuse.csv",
    ]
    assert snapshot(cat_dir) == before
    single = cli(runner, cat_dir, tmp_path, "overlap", "-f", "csv", "--report", "reuse")
    assert single.stdout.startswith("register,topic,manual")


def test_cli_markdown(runner, cat_dir, tmp_path):
    result = cli(runner, cat_dir, tmp_path, "overlap", "--report", "reuse")
    assert result.exit_code == 0, result.output
    assert "## Manual collection a key register already holds" in result.stdout
    assert "| noric | 6 | 3 (50.0 %) | 1 (16.7 %) | 2 (33.3 %) | 0 |" in result.stdout


def test_cli_conflicts_exit_1(runner, tmp_path):
    root = cycle_catalogue(tmp_path, [("1", "2"), ("2", "1")])
    result = cli(runner, root, tmp_path, "overlap", "--report", "concepts")
    assert result.exit_code == 1, result.output
    assert "value-map conflict" in result.output


def test_cli_out_must_be_a_directory(runner, cat_dir, tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x", encoding="utf-8")
    result = cli(runner, cat_dir, tmp_path, "overlap", "--out", str(file))
    assert result.exit_code == 2
    assert "--out must be a directory" in result.output
