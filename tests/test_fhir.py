"""FHIR R4: `regcat export fhir` (Questionnaire, ValueSet, CodeSystem, ConceptMap in a
Bundle that fhir.resources accepts) and `regcat import fhir-questionnaire`, round trip
included, on the bundled catalogue, a tiny one and a death-certificate example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regcat.catalogue import Catalogue
from regcat.cli import app
from regcat.interop import fhir
from regcat.interop.fhir import check_bundle, export_bundle
from regcat.interop.fhir_import import read_questionnaire
from tests.api_fixtures import bundled_index  # noqa: F401
from tests.conftest import snapshot, tiny_register, write_catalogue

DATA = Path(__file__).parent / "data"
DEATH_CERTIFICATE = DATA / "dodsmelding.questionnaire.json"


def _resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def _items(bundle: dict) -> dict[str, dict]:
    return {i["linkId"]: i for q in _resources(bundle, "Questionnaire") for i in q["item"]}


@pytest.fixture(scope="module")
def noric(bundled_index) -> dict:  # noqa: F811
    return export_bundle(Catalogue.from_index(bundled_index), "noric")


def test_bundled_register_exports_valid_fhir(noric: dict) -> None:
    assert check_bundle(noric) == []
    assert noric["type"] == "collection"
    assert len(_resources(noric, "Questionnaire")) == 16  # one per NORIC form
    items = _items(noric)
    asa = items["noric:DISCHARGE_ASPIRIN_DISCHARGE"]
    assert asa["type"] == "choice" and asa["required"] is True
    assert asa["definition"] == "https://w3id.org/regcat/variable/noric/DISCHARGE_ASPIRIN_DISCHARGE"
    assert {"system": "http://www.whocc.no/atc", "code": "B01AC06"} in [
        {k: c[k] for k in ("system", "code")} for c in asa["code"]
    ]
    assert [o["valueCoding"]["code"] for o in asa["answerOption"]] == ["0", "1", "9"]
    # every answer system used has its CodeSystem and ValueSet in the Bundle
    systems = {
        o["valueCoding"]["system"] for i in items.values() for o in i.get("answerOption", [])
    }
    assert systems <= {cs["url"] for cs in _resources(noric, "CodeSystem")}
    gated = [i for i in items.values() if "enableWhen" in i]
    assert gated and all(c["question"] in items for i in gated for c in i["enableWhen"])


def test_value_maps_become_concept_maps(noric: dict) -> None:
    maps = {cm["id"]: cm for cm in _resources(noric, "ConceptMap")}
    infarct = maps["mapping-noric-npr-infarkttype"]
    group = infarct["group"][0]
    assert group["source"] == "http://hl7.org/fhir/sid/icd-10"
    assert {e["code"]: e["target"][0]["code"] for e in group["element"]}["I21.4"] == "2"
    # ASA from dispensings is a yes/no from a record linkage: no code system to map from
    assert "mapping-noric-lmr-asa" not in maps


def _tiny() -> dict:
    register = tiny_register()
    register["variables"] += [
        {
            "id": "alpha:VEKT",
            "form": "basis",
            "label": {"nb": "Vekt <kg>", "en": "Weight"},
            "datatype": "decimal",
            "unit": "kg",
            "min_value": "0.5",
            "max_value": "400",
            "soft_min": "30",
            "soft_max": "250",
            "decimals": 1,
            "required": True,
            "help_text": {"nb": "Vei pasienten uten sko."},
        },
        {
            "id": "alpha:NSTEMI_DATO",
            "form": "basis",
            "label": {"nb": "Dato for NSTEMI"},
            "datatype": "date",
            "activated_by": {"variable": "alpha:DIAG", "values": ["2"]},
        },
        {
            "id": "alpha:KODE",
            "form": "basis",
            "label": {"nb": "Lokal kode"},
            "datatype": "string",
            "max_length": 8,
            "pattern": "^[A-Z]{2}[0-9]+$",
        },
    ]
    return register


def test_limits_units_and_enable_when(tmp_path: Path) -> None:
    root = write_catalogue(tmp_path / "cat", [_tiny()])
    bundle = export_bundle(Catalogue.load(root), "alpha")
    assert check_bundle(bundle) == []
    items = _items(bundle)
    weight = items["alpha:VEKT"]
    ext = {e["url"]: e for e in weight["extension"]}
    assert ext[fhir.EXT_MIN]["valueDecimal"] == 0.5 and ext[fhir.EXT_MAX]["valueDecimal"] == 400
    assert ext[fhir.EXT_SOFT_MAX]["valueString"] == "250"
    assert ext[fhir.EXT_DECIMALS]["valueInteger"] == 1
    assert ext[fhir.EXT_UNIT]["valueCoding"] == {
        "system": "http://unitsofmeasure.org",
        "code": "kg",
    }
    assert weight["text"] == "Vekt <kg>"
    assert weight["item"][0]["type"] == "display"
    assert items["alpha:KODE"]["maxLength"] == 8
    assert {e["url"]: e for e in items["alpha:KODE"]["extension"]}[fhir.EXT_REGEX]
    (condition,) = items["alpha:NSTEMI_DATO"]["enableWhen"]
    assert condition["question"] == "alpha:DIAG" and condition["answerCoding"]["code"] == "2"
    assert items["alpha:INFARKT"]["code"][0]["system"] == "http://snomed.info/sct"


def test_round_trip_keeps_codes_options_enable_when_and_limits(tmp_path: Path, runner) -> None:
    root = write_catalogue(tmp_path / "cat", [_tiny()])
    first = export_bundle(Catalogue.load(root), "alpha")
    path = tmp_path / "alpha.json"
    path.write_text(json.dumps(first), encoding="utf-8")
    target = write_catalogue(tmp_path / "new", [])
    result = runner.invoke(
        app,
        [
            "-c",
            str(target),
            "--index",
            str(tmp_path / "idx"),
            "import",
            "fhir-questionnaire",
            str(path),
            "--register",
            "alpha",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        runner.invoke(
            app, ["-c", str(target), "--index", str(tmp_path / "i2"), "validate"]
        ).exit_code
        == 0
    )
    second = export_bundle(Catalogue.load(target), "alpha")
    assert check_bundle(second) == []
    a, b = _items(first), _items(second)
    assert a.keys() == b.keys()
    for link_id, item in a.items():
        for key in (
            "type",
            "code",
            "required",
            "answerOption",
            "answerValueSet",
            "enableWhen",
            "extension",
            "maxLength",
            "item",
            "text",
        ):
            assert item.get(key) == b[link_id].get(key), (link_id, key)
    assert (
        _resources(first, "Questionnaire")[0]["name"]
        == _resources(second, "Questionnaire")[0]["name"]
    )


def test_bundled_form_round_trips(bundled_index, tmp_path: Path) -> None:  # noqa: F811
    first = export_bundle(Catalogue.from_index(bundled_index), "noric", "angio_pci")
    path = tmp_path / "angio.json"
    path.write_text(json.dumps(first), encoding="utf-8")
    result = read_questionnaire(path, "noric")
    assert [f.id for f in result.forms] == ["angio_pci"]
    assert len(result.variables) == len(_items(first)) == 188
    root = write_catalogue(tmp_path / "cat", [])
    from regcat.importer import apply_import

    apply_import(root, result)
    assert _items(export_bundle(Catalogue.load(root), "noric", "angio_pci")) == _items(first)


def test_death_certificate_example(tmp_path: Path) -> None:
    result = read_questionnaire(DEATH_CERTIFICATE, "dodsmelding")
    (form,) = result.forms
    assert form.id == "dodsmelding" and form.name.nb.startswith("Legeerklæring")
    variables = {v.id: v for v in result.variables}
    # groups are flattened; display items become the help text of their parent
    assert "dodsmelding:del1a" in variables and "dodsmelding:del1" not in variables
    assert variables["dodsmelding:del1a"].help_text.nb.startswith("Skriv sykdommen")
    assert variables["dodsmelding:dodsdato"].datatype == "datetime"
    assert variables["dodsmelding:dodsdato"].codings[0].system == "LOINC"
    assert variables["dodsmelding:del1-tid"].max_value == "40000"
    skade = variables["dodsmelding:skadedato"].activated_by
    assert skade.variable == "dodsmelding:dodsmate" and skade.values == [
        "ulykke",
        "selvmord",
        "drap",
    ]
    assert variables["dodsmelding:obduksjon-funn"].activated_by.values == ["true"]
    # the contained ICD-10 value set is found by its canonical URL
    icd = {vs.id: vs for vs in result.value_sets}["dodsmelding:del1a"]
    assert icd.code_system == "ICD10" and [c.code for c in icd.codes] == ["I21.9", "I46.9", "J18.9"]
    assert any("'exists' cannot be kept" in w and "'gravid'" in w for w in result.warnings)
    root = write_catalogue(tmp_path / "cat", [])
    from regcat.catalogue import validate_catalogue
    from regcat.importer import apply_import
    from regcat.layout import bundled_catalogue

    # the bundled code systems, LOINC among them
    (root / "codesystems.yaml").write_bytes((bundled_catalogue() / "codesystems.yaml").read_bytes())

    apply_import(root, result)
    report = validate_catalogue(root)
    assert [f for f in report.findings if f.severity == "error"] == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"resourceType": "Questionnaire", "status": ', "line 1, column 45: not JSON"),
        (
            b'{"resourceType": "Patient", "id": "p1"}',
            "expected a FHIR Questionnaire or Bundle, found 'Patient'",
        ),
        (b"[1, 2]", "expected a FHIR Questionnaire or Bundle, found 'list'"),
        (
            b'{"resourceType": "Questionnaire", "item": [{"linkId": "a", "type": "string"}]}',
            "not valid FHIR R4: Questionnaire[0].status",
        ),
        (
            b'{"resourceType": "Questionnaire", "status": "active", "item": [{"type": "string"}]}',
            "Questionnaire[0].item.0.linkId",
        ),
        (
            b'{"resourceType": "Bundle", "type": "collection", "entry": []}',
            "holds no Questionnaire",
        ),
        (
            b'{"resourceType": "Questionnaire", "status": "active", "item": ['
            b'{"linkId": "a b", "type": "string"}, {"linkId": "a_b", "type": "string"}]}',
            "gives the variable id x:a_b, used twice",
        ),
        (b"\x00\xff\xfe junk \x80\x81", "JSON"),
    ],
)
def test_bad_questionnaires_are_clear_errors(
    tmp_path: Path, runner, content: bytes, expected: str
) -> None:
    path = tmp_path / "q.json"
    path.write_bytes(content)
    root = write_catalogue(tmp_path / "cat")
    before = snapshot(root)
    result = runner.invoke(
        app, ["-c", str(root), "import", "fhir-questionnaire", str(path), "--register", "x"]
    )
    assert result.exit_code == 2, result.output
    assert expected in result.output and str(path) in result.output
    assert "Traceback" not in result.output
    assert snapshot(root) == before


def test_utf16_questionnaire_is_read(tmp_path: Path) -> None:
    path = tmp_path / "q.json"
    q = {
        "resourceType": "Questionnaire",
        "status": "active",
        "name": "skjema",
        "item": [{"linkId": "røyk", "text": "Røyker du?", "type": "boolean"}],
    }
    path.write_text(json.dumps(q, ensure_ascii=False), encoding="utf-16")
    result = read_questionnaire(path, "x")
    assert [v.id for v in result.variables] == ["x:r_yk"]
    assert result.variables[0].label.nb == "Røyker du?"


def test_export_cli(tmp_path: Path, runner) -> None:
    root = write_catalogue(tmp_path / "cat", [_tiny()])
    base = ["-c", str(root), "--index", str(tmp_path / "idx"), "export", "fhir"]
    out = tmp_path / "alpha.json"
    done = runner.invoke(app, [*base, "alpha", "--form", "basis", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "1 Questionnaire" in done.output
    assert check_bundle(json.loads(out.read_text(encoding="utf-8"))) == []
    printed = runner.invoke(app, [*base, "alpha"])
    assert json.loads(printed.stdout)["resourceType"] == "Bundle"
    unknown = runner.invoke(app, [*base, "beta"])
    assert unknown.exit_code == 2 and "no register 'beta'" in unknown.output
    no_form = runner.invoke(app, [*base, "alpha", "--form", "nope"])
    assert no_form.exit_code == 2 and "forms: basis" in no_form.output
