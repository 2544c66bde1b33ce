"""`regcat import …` end to end: merge into the catalogue, report changes, retire what
disappeared, and leave the catalogue untouched on bad input."""

from __future__ import annotations

import json

import pytest

from regcat.catalogue import validate_catalogue
from regcat.cli import app
from regcat.io import read_yaml

from .conftest import snapshot, write_catalogue

HEADER = (
    "skjemanavn;navn_i_rapporteket;ledetekst;obligatorisk;type;listeverdier;listetekst;"
    "normalintervall_start_numerisk;normalintervall_slutt_numerisk;maksintervall_start_numerisk;"
    "maksintervall_slutt_numerisk;normalintervall_start_dato;normalintervall_slutt_dato;"
    "maksintervall_start_dato;maksintervall_slutt_dato;antall_tegn;lovlige_tegn;desimaler;"
    "aktiveringsspoersmaal;underspoersmaal;innfoert_dato;utfaset_dato;tabell;fysisk_feltnavn;"
    "kommentar;variabel_id;hjelpetekst"
)


def row(form, label, typ, var, code="", text="", lo="", hi="", start="2020-01-01"):
    cells = [
        form,
        "",
        label,
        "Ja",
        typ,
        code,
        text,
        "",
        "",
        lo,
        hi,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "Nei",
        "Nei",
        start,
        "",
        "t",
        var,
        "",
        var,
        "",
    ]
    return ";".join(cells)


def klokebok(tmp_path, rows, name="kb.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


V1 = [
    row("Basis", "Røyker", "Listevariabel", "ROYK", "0", "Nei"),
    row("Basis", "Røyker", "Listevariabel", "ROYK", "1", "Ja"),
    row("Basis", "Vekt", "Tallvariabel", "VEKT", lo="0", hi="300"),
    row("Basis", "Gammel", "Tekstvariabel", "GAMMEL"),
]
V2 = [
    row("Basis", "Røyker", "Listevariabel", "ROYK", "0", "Nei"),
    row("Basis", "Røyker", "Listevariabel", "ROYK", "1", "Ja, daglig"),
    row("Basis", "Røyker", "Listevariabel", "ROYK", "2", "Ja, av og til"),
    row("Basis", "Kroppsvekt", "Tallvariabel", "VEKT", lo="0", hi="350"),
    row("Oppfølging", "Ny", "Datovariabel", "NY"),
]


@pytest.fixture
def cat(tmp_path):
    return write_catalogue(tmp_path / "cat", [])


def invoke(runner, cat, *args):
    return runner.invoke(app, ["--catalogue", str(cat), *args])


def test_first_import_creates_register(runner, cat, tmp_path):
    result = invoke(
        runner, cat, "import", "klokebok", str(klokebok(tmp_path, V1)), "--register", "demo"
    )
    assert result.exit_code == 0, result.output
    assert "3 variables (3 added" in result.output
    data = read_yaml(cat / "registers" / "demo.yaml").data
    assert [v["id"] for v in data["variables"]] == ["demo:ROYK", "demo:VEKT", "demo:GAMMEL"]
    assert validate_catalogue(cat, jobs=1).findings == []


def test_reimport_reports_changes_retires_and_keeps_curation(runner, cat, tmp_path):
    invoke(runner, cat, "import", "klokebok", str(klokebok(tmp_path, V1)), "--register", "demo")
    path = cat / "registers" / "demo.yaml"
    # A curator adds an English label and a topic: a re-import must keep them.
    text = path.read_text().replace("    nb: Vekt\n", "    nb: Vekt\n    en: Weight\n")
    path.write_text(
        text.replace("  datatype: integer\n", "  datatype: integer\n  topic: clinical_finding\n", 1)
    )
    assert "en: Weight" in path.read_text()

    result = invoke(
        runner,
        cat,
        "import",
        "klokebok",
        str(klokebok(tmp_path, V2, "kb2.csv")),
        "--register",
        "demo",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)["changes"]
    assert changes["variables_added"] == ["demo:NY"]
    assert changes["variables_retired"] == ["demo:GAMMEL"]
    assert set(changes["variables_changed"]) == {"demo:VEKT"}
    assert set(changes["variables_changed"]["demo:VEKT"]) == {"label", "max_value"}
    assert changes["codes_added"] == {"demo:ROYK": ["2"]}
    assert changes["codes_changed"] == {"demo:ROYK": ["1"]}
    assert changes["forms_added"] == ["oppfolging"]

    data = read_yaml(path).data
    by_id = {v["id"]: v for v in data["variables"]}
    assert by_id["demo:GAMMEL"]["status"] == "retired" and "valid_to" in by_id["demo:GAMMEL"]
    assert by_id["demo:VEKT"]["label"] == {"nb": "Kroppsvekt", "en": "Weight"}
    assert by_id["demo:VEKT"]["topic"] == "clinical_finding"
    # the retired variable keeps its place after its old neighbour
    assert [v["id"] for v in data["variables"]] == [
        "demo:ROYK",
        "demo:VEKT",
        "demo:GAMMEL",
        "demo:NY",
    ]
    assert validate_catalogue(cat, jobs=1).findings == []


def test_reimport_same_file_is_a_no_op(runner, cat, tmp_path):
    source = klokebok(tmp_path, V1)
    invoke(runner, cat, "import", "klokebok", str(source), "--register", "demo")
    before = snapshot(cat)
    result = invoke(runner, cat, "import", "klokebok", str(source), "--register", "demo")
    assert result.exit_code == 0
    assert "unchanged:" in result.output
    assert snapshot(cat) == before


def test_dry_run_writes_nothing(runner, cat, tmp_path):
    before = snapshot(cat)
    result = invoke(
        runner, cat, "import", "klokebok", str(klokebok(tmp_path, V1)), "-r", "demo", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "would write" in result.output
    assert snapshot(cat) == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\x01\x02\x03" * 100, "binary"),
        (b"", "empty"),
        (b"a,b,c\n1,2,3\n", "missing"),
    ],
)
def test_bad_codebook_exit_2_catalogue_untouched(runner, cat, tmp_path, content, expected):
    invoke(runner, cat, "import", "klokebok", str(klokebok(tmp_path, V1)), "--register", "demo")
    before = snapshot(cat)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    result = invoke(runner, cat, "import", "klokebok", str(bad), "--register", "demo")
    assert result.exit_code == 2, result.output
    assert expected in result.output.lower()
    assert "bad.csv" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert snapshot(cat) == before


def test_missing_file_and_bad_register_id(runner, cat, tmp_path):
    result = invoke(
        runner, cat, "import", "klokebok", str(tmp_path / "nope.csv"), "--register", "demo"
    )
    assert result.exit_code == 2
    assert "nope.csv" in result.output
    result = invoke(
        runner, cat, "import", "klokebok", str(klokebok(tmp_path, V1)), "--register", "Bad Id"
    )
    assert result.exit_code == 2
    assert "--register 'Bad Id'" in result.output


def test_init_creates_catalogue_and_refuses_non_empty(runner, tmp_path):
    target = tmp_path / "new"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "registers").is_dir()
    assert runner.invoke(app, ["--catalogue", str(target), "validate"]).exit_code == 0
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 2
    assert "not empty" in result.output


def test_reimport_retires_only_variables_of_its_own_kind(runner, cat, tmp_path):
    invoke(runner, cat, "import", "klokebok", str(klokebok(tmp_path, V1)), "--register", "demo")
    path = cat / "registers" / "demo.yaml"
    curated = (
        "- id: demo:HANDMADE\n  label:\n    nb: Kuratert\n  datatype: string\n  status: accepted\n"
    )
    text = path.read_text()
    path.write_text(text.replace("value_sets:\n", curated + "value_sets:\n", 1))
    result = invoke(
        runner,
        cat,
        "import",
        "klokebok",
        str(klokebok(tmp_path, V2, "kb2.csv")),
        "-r",
        "demo",
        "-f",
        "json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["changes"]["variables_retired"] == ["demo:GAMMEL"]
    by_id = {v["id"]: v for v in read_yaml(path).data["variables"]}
    assert by_id["demo:HANDMADE"]["status"] == "accepted"
    assert by_id["demo:ROYK"]["imported_from"] == "klokebok"
    assert "imported_from" not in by_id["demo:HANDMADE"]


def test_partial_sources_never_retire(runner, cat, tmp_path):
    for name in ("A", "B"):
        (tmp_path / f"{name}.json").write_text(
            json.dumps(
                {
                    "shortName": f"NPR_{name}ID",
                    "name": [
                        {"languageCode": "no", "value": f"Id {name}"},
                        {"languageCode": "en", "value": f"Id {name}"},
                    ],
                    "description": [{"languageCode": "no", "value": "x"}],
                    "dataType": "STRING",
                    "format": "RandomUInt48",
                    "unitType": {
                        "shortName": "NPR_EPISODE",
                        "name": [{"languageCode": "no", "value": "Episode"}],
                        "requiresPseudonymization": True,
                    },
                    "valueDomain": {"description": [{"languageCode": "no", "value": "x"}]},
                }
            )
        )
        result = invoke(runner, cat, "import", "ssb", str(tmp_path / f"{name}.json"), "-f", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["changes"]["variables_retired"] == []
    ids = [v["id"] for v in read_yaml(cat / "registers" / "npr.yaml").data["variables"]]
    assert ids == ["npr:NPR_AID", "npr:NPR_BID"]
