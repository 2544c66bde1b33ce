"""`regcat impact`: two releases of a code system against the catalogue: the release
diff, every kind of catalogue reference to a removed or relabelled code, malformed
CSV files, and the real NCSP 2016 → 2017 lists (when ../shared/data is present)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regcat.catalogue import Catalogue
from regcat.cli import app
from regcat.errors import RegcatError
from regcat.impact import catalogue_impact, compare_releases, guess_system, read_release

from .conftest import snapshot, tiny_register, write_catalogue
from .test_overlap import write_mappings

OLD = [
    ("FNA00", "Koronar bypass"),
    ("FNA10", "Bypass med én anastomose"),
    ("FNA20", "Bypass med to anastomoser"),
    ("NAK40", "Vertebroplastikk"),
]
NEW = [
    ("FNA00", "Koronar bypass, åpen"),
    ("FNA20", "Bypass med to anastomoser"),
    ("NAK40", "Vertebroplastikk"),
    ("FNB00", "Ny kode"),
]


def release(path: Path, rows, header="sas_format,code,label,comment", sep=",") -> Path:
    lines = [header] + [sep.join(("$NCSPF", code, f'"{label}"', "")) for code, label in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def releases(tmp_path: Path) -> tuple[Path, Path]:
    return release(tmp_path / "NCSP_old.csv", OLD), release(tmp_path / "NCSP_new.csv", NEW)


def registers() -> list[dict]:
    alpha = {
        "id": "alpha",
        "name": {"nb": "Alfa"},
        "kind": "national_medical_quality_register",
        "variables": [
            {
                "id": "alpha:OP",
                "label": {"nb": "Bypassoperasjon"},
                "datatype": "boolean",
                "codings": [{"system": "NCSP", "code": "fna10"}],
                "concept": "NCSP:FNA00",
            },
            {
                "id": "alpha:PROC",
                "label": {"nb": "Prosedyre"},
                "datatype": "coded",
                "value_set": "alpha:PROC",
            },
            {
                "id": "alpha:KODE",
                "label": {"nb": "Prosedyrekode"},
                "datatype": "coded",
                "value_set": "alpha:NCSPLIST",
            },
            {
                "id": "alpha:ALL",
                "label": {"nb": "Alle koder"},
                "datatype": "coded",
                "value_set": "alpha:NCSP",
            },
            {"id": "alpha:BYPASS", "label": {"nb": "Bypass"}, "datatype": "boolean"},
            {"id": "alpha:DATO", "label": {"nb": "Dato"}, "datatype": "date"},
        ],
        "value_sets": [
            {
                "id": "alpha:PROC",
                "codes": [
                    {"code": "1", "label": {"nb": "Én"}, "meaning": "NCSP:FNA10"},
                    {"code": "2", "label": {"nb": "To"}, "meaning": "NCSP:FNA20"},
                ],
            },
            {
                "id": "alpha:NCSPLIST",
                "code_system": "NCSP",
                "codes": [
                    {"code": "FNA10", "label": {"nb": "Én anastomose"}},
                    {"code": "FNA20", "label": {"nb": "To anastomoser"}},
                ],
            },
            {"id": "alpha:NCSP", "code_system": "NCSP"},
        ],
    }
    keyx = {
        "id": "keyx",
        "name": {"nb": "Nøkkel"},
        "kind": "central_health_register",
        "key_register": True,
        "variables": [
            {
                "id": "keyx:prosedyre",
                "label": {"nb": "Prosedyrekode"},
                "datatype": "coded",
                "value_set": "keyx:NCSP",
            },
            {"id": "keyx:dato", "label": {"nb": "Dato"}, "datatype": "date"},
        ],
        "value_sets": [{"id": "keyx:NCSP", "code_system": "NCSP"}],
    }
    return [alpha, keyx]


@pytest.fixture
def cat_dir(tmp_path: Path) -> Path:
    root = write_catalogue(tmp_path / "cat", registers())
    write_mappings(
        root,
        [
            ("mapping:linkage", "keyx:prosedyre", "skos:closeMatch", "alpha:BYPASS"),
            ("mapping:code", "alpha:OP", "skos:exactMatch", "NCSP:FNA00"),
            ("mapping:values", "keyx:prosedyre", "skos:closeMatch", "alpha:KODE"),
        ],
        [
            {
                "record_id": "mapping:linkage",
                "kind": "record_linkage",
                "record_linkage": {
                    "person_key": "fodselsnummer",
                    "anchor": "alpha:DATO",
                    "event_date": "keyx:dato",
                    "code_variable": "keyx:prosedyre",
                    "code_system": "NCSP",
                    "code_prefixes": ["FNA1", "FNQ"],
                    "aggregate": "any",
                },
            },
            {
                "record_id": "mapping:values",
                "kind": "value_map",
                "value_map": [
                    {"source": "FNA10", "target": "FNA10"},
                    {"source": "NCSP:FNA00", "target": "FNA20"},
                ],
            },
        ],
    )
    return root


# --- releases ---------------------------------------------------------------------------


def test_release_diff(releases):
    old, new = (read_release(p, "NCSP") for p in releases)
    assert (old.code_column, old.label_column) == ("code", "label")
    diff = compare_releases(old, new)
    assert diff.added == ["FNB00"]
    assert diff.removed == ["FNA10"]
    assert diff.relabelled == {"FNA00": ("Koronar bypass", "Koronar bypass, åpen")}


def test_semicolon_file_with_system_named_column(tmp_path):
    path = tmp_path / "ICD10.csv"
    path.write_text("\ufeffICD10;Tekst\nI214;NSTEMI\nI21;Akutt hjerteinfarkt\n", encoding="utf-8")
    found = read_release(path, "ICD10")
    assert found.codes == {"I21.4": "NSTEMI", "I21": "Akutt hjerteinfarkt"}


def test_named_columns(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\nFNA00,1,Koronar bypass\n", encoding="utf-8")
    with pytest.raises(RegcatError, match="pass --code-column"):
        read_release(path, "NCSP")
    found = read_release(path, "NCSP", code_column="a", label_column="c")
    assert found.codes == {"FNA00": "Koronar bypass"}


def test_guess_system():
    assert guess_system(Path("NCSP_2016__parsed_from_sas.csv")) == "NCSP"
    assert guess_system(Path("icd10.csv")) == "ICD10"
    assert guess_system(Path("NCSPX.csv")) is None
    assert guess_system(Path("codes.csv")) is None


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("code,label\nFNA00,A\nFNA10,B,extra\n", 3, "row has 3 fields, the header has 2"),
        ("code,label\nFNA00,A\n,B\n", 3, "field 'code': empty code"),
        ("code,label\nFNA00,A\nfna00,B\n", 3, "listed again with another label (first on row 2)"),
        ("", 1, "empty file"),
        ("code,label\n", 2, "nothing else"),
    ],
    ids=["field-count", "empty-code", "duplicate", "empty", "header-only"],
)
def test_malformed_csv(tmp_path, text, line, expected):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegcatError) as caught:
        read_release(path, "NCSP")
    assert caught.value.line == line
    assert expected in caught.value.render()
    assert str(path) in caught.value.render()


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("code,label\nFNA00,Åpen\n".encode("latin-1"))
    with pytest.raises(RegcatError, match="not valid UTF-8"):
        read_release(path, "NCSP")


# --- catalogue impact -------------------------------------------------------------------


def test_every_kind_of_reference(cat_dir, releases):
    old, new = (read_release(p, "NCSP") for p in releases)
    result = catalogue_impact(Catalogue.load(cat_dir), compare_releases(old, new))
    found = {(r.kind, r.id, r.where, r.code, r.change) for r in result.references}
    assert found == {
        ("variable", "alpha:OP", "codings[0]", "NCSP:FNA10", "removed"),
        ("variable", "alpha:OP", "concept", "NCSP:FNA00", "relabelled"),
        ("value_set", "alpha:PROC", "code '1' meaning", "NCSP:FNA10", "removed"),
        ("value_set", "alpha:NCSPLIST", "code 'FNA10'", "NCSP:FNA10", "removed"),
        ("value_set", "alpha:NCSP", "code_system", "NCSP:*", "whole system"),
        ("value_set", "keyx:NCSP", "code_system", "NCSP:*", "whole system"),
        ("mapping", "mapping:code", "object_id", "NCSP:FNA00", "relabelled"),
        (
            "mapping",
            "mapping:linkage",
            "transformation.record_linkage.code_prefixes",
            "NCSP:FNA10",
            "removed",
        ),
        (
            "mapping",
            "mapping:linkage",
            "transformation.record_linkage.code_prefixes",
            "NCSP:FNQ*",
            "matches no code",
        ),
        # FNA1 caught only FNA10, so it now catches nothing
        (
            "mapping",
            "mapping:linkage",
            "transformation.record_linkage.code_prefixes",
            "NCSP:FNA1*",
            "matches no code",
        ),
        (
            "mapping",
            "mapping:values",
            "transformation.value_map[0].source",
            "NCSP:FNA10",
            "removed",
        ),
        (
            "mapping",
            "mapping:values",
            "transformation.value_map[0].target",
            "NCSP:FNA10",
            "removed",
        ),
        (
            "mapping",
            "mapping:values",
            "transformation.value_map[1].source",
            "NCSP:FNA00",
            "relabelled",
        ),
    }
    details = {(r.id, r.where): r.detail for r in result.references}
    assert details[("alpha:OP", "concept")] == "'Koronar bypass' → 'Koronar bypass, åpen'"
    assert details[("alpha:OP", "codings[0]")] == "was 'Bypass med én anastomose'"
    assert "used by alpha:ALL" in details[("alpha:NCSP", "code_system")]


def test_cli_json_and_exit_1(runner, cat_dir, releases, tmp_path):
    old, new = releases
    before = snapshot(cat_dir)
    args = ["-c", str(cat_dir), "--index", str(tmp_path / "idx"), "impact"]
    result = runner.invoke(app, [*args, "--codes", str(old), str(new), "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["system"] == "NCSP"  # from the file names
    assert data["counts"] == {"added": 1, "removed": 1, "relabelled": 1, "references": 13}
    assert data["removed"] == {"FNA10": "Bypass med én anastomose"}
    assert snapshot(cat_dir) == before
    text = runner.invoke(app, [*args, "--codes", str(old), str(new)])
    assert text.exit_code == 1
    assert "NCSP: 4 → 4 codes: 1 added, 1 removed, 1 relabelled" in text.stdout
    assert "variable alpha:OP: codings[0]: NCSP:FNA10 removed" in text.stdout


def test_cli_no_references_exit_0(runner, catalogue, releases, tmp_path):
    old, new = releases
    args = ["-c", str(catalogue), "--index", str(tmp_path / "idx"), "impact", "-s", "ncsp"]
    result = runner.invoke(app, [*args, "--codes", str(old), str(new)])
    assert result.exit_code == 0, result.output
    assert "0 catalogue reference(s)" in result.output


@pytest.mark.parametrize("case", ["malformed", "missing", "no-system", "one-file"])
def test_cli_bad_input(runner, catalogue, releases, tmp_path, case):
    old, new = releases
    bad = tmp_path / "bad.csv"
    bad.write_text("code,label\nFNA00,A\nFNA10\n", encoding="utf-8")
    plain = release(tmp_path / "codes.csv", OLD)
    codes = {
        "malformed": [str(old), str(bad)],
        "missing": [str(old), str(tmp_path / "nope.csv")],
        "no-system": [str(plain), str(plain)],
        "one-file": [str(old)],
    }[case]
    args = ["-c", str(catalogue), "--index", str(tmp_path / "idx"), "impact", "--codes", *codes]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    expected = {
        "malformed": f"{bad}:3: row has 1 fields, the header has 2",
        "missing": "nope.csv: file not found",
        "no-system": "pass --system",
        "one-file": "requires 2 arguments",
    }[case]
    assert expected in result.output


# --- the real NCSP 2016 → 2017 lists ----------------------------------------------------


def test_real_ncsp_release(shared_data, runner, tmp_path):
    folder = shared_data / "npr-kodeverk"
    old = folder / "NCSP_2016__parsed_from_sas.csv"
    new = folder / "NCSP_2017__parsed_from_sas.csv"
    if not (old.is_file() and new.is_file()):
        pytest.skip("the NCSP 2016/2017 lists are absent")
    register = tiny_register(
        variables=[
            {
                "id": "alpha:PYELO",
                "label": {"nb": "Pyelostomi"},
                "datatype": "boolean",
                "codings": [{"system": "NCSP", "code": "KAJ10"}],  # removed in 2017
            },
            {
                "id": "alpha:BYPASS",
                "label": {"nb": "Ventrikkelbypass"},
                "datatype": "boolean",
                "codings": [{"system": "NCSP", "code": "JDF10"}],  # relabelled in 2017
            },
        ],
        value_sets=[],
    )
    cat = write_catalogue(tmp_path / "cat", [register])
    args = ["-c", str(cat), "--index", str(tmp_path / "idx"), "impact", "--system", "NCSP"]
    result = runner.invoke(app, [*args, "--codes", str(old), str(new), "-f", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    print(f"\nNCSP 2016 → 2017: {data['counts']}")
    # the data README: 217 added, 32 removed, 14 relabelled
    assert data["counts"] == {"added": 217, "removed": 32, "relabelled": 14, "references": 2}
    assert (data["old"]["codes"], data["new"]["codes"]) == (6497, 6682)
    assert data["relabelled"]["JDF10"] == {"old": "Ventrikkelbypass", "new": "Gastrisk bypass"}
    assert [(r["id"], r["change"]) for r in data["references"]] == [
        ("alpha:BYPASS", "relabelled"),
        ("alpha:PYELO", "removed"),
    ]
