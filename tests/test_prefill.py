"""`regcat prefill`: NORIC and NPR forms filled from FHIR R4 data built here (a Bundle
for one patient, or a Bulk Data folder of NDJSON), through the bundled catalogue's EHR
bindings: codes, units, windows, picks, provenance, what is left to complete, bad
input, output formats and the validator's findings."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest

from regcat.catalogue import Catalogue
from regcat.cli import app
from regcat.ehr.prefill import EXT_SOURCE, EXT_TO_COMPLETE, prefill
from regcat.errors import RegcatError
from regcat.layout import bundled_catalogue
from tests import fhir_builders as fb
from tests.conftest import snapshot

ANCHOR = "2024-03-15"  # the procedure every test registers, unless it says otherwise


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return Catalogue.load(bundled_catalogue())


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("prefill-index") / "index"


@pytest.fixture
def cli(runner, index_dir):
    base = ["-c", str(bundled_catalogue()), "--index", str(index_dir)]

    def invoke(*args: str):
        return runner.invoke(app, [*base, *args])

    return invoke


def happy_resources() -> list[dict]:
    """One NORIC patient with a PCI and what the angio_pci bindings read before it."""
    return [
        fb.patient(),
        fb.procedure("proc1", performed=ANCHOR),
        fb.observation_quantity("w1", "29463-7", 82.4, "kg", "2024-03-10"),
        fb.observation_quantity("h1", "8302-2", 178, "cm", "2023-06-01"),
        fb.observation_quantity("k1", "14682-9", 87.4, "umol/L", "2024-02-01"),
        fb.condition("c1", "E11.9", "2015-01-01"),
        fb.condition("c2", "I21.4", "2022-01-01"),
        fb.medication_administration("m1", "B01AC06", "2024-03-14"),
        fb.medication_statement("s1", "C10AA05", "2024-03-12"),
    ]


def run(
    cat,
    tmp_path: Path,
    resources,
    form="angio_pci",
    register="noric",
    fmt="json",
    bulk=False,
    name="out",
):
    """Prefill from a Bundle (or a bulk folder) of `resources`: (report, output)."""
    if bulk:
        source = fb.write_bulk(tmp_path / f"{name}-bulk", list(resources))
    else:
        source = fb.write_bundle(tmp_path / f"{name}-bundle.json", *resources)
    out = tmp_path / f"{name}.{fmt}"
    report = prefill(cat, register, form, source, fmt, out)
    if fmt == "json":
        return report, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return report, out


def one(rows: list[dict]) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


def reasons(row: dict) -> dict[str, str]:
    """Each row's to_complete names the bound fields nothing was found for; fields with
    no binding are in the report's `manual`, the same for every event."""
    return dict.fromkeys(row["to_complete"], "no matching FHIR resource")


# --- the builders ---------------------------------------------------------------------


def test_every_builder_makes_valid_fhir_r4() -> None:
    from fhir.resources.R4B import get_fhir_model_class

    built = [
        *happy_resources(),
        fb.patient(
            "p2",
            gender="other",
            fnr=None,
            identifiers=[{"system": fb.DNR, "value": "41015012345"}],
            deceased="2024-05-01",
        ),
        fb.procedure("proc2", performed=None),
        fb.observation_quantity("o", "29463-7", None, None, None),
        fb.condition("c", "E11.9", None, recorded="2020-01-01", system=fb.SNOMED),
        fb.medication_statement("s", "A10AB01", "2024-03-10"),
        fb.encounter("e1", "2024-01-01T10:00:00+01:00", "2024-01-05"),
        fb.encounter("e2", None),
    ]
    for resource in built:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for bundle in (fb.bundle(*built), fb.bundle(*built, urn=True), fb.bundle()):
        get_fhir_model_class("Bundle").model_validate(bundle)


# --- 1. the happy path ----------------------------------------------------------------


def test_bundle_fills_angio_pci_with_sources_and_reasons(cat, tmp_path: Path) -> None:
    report, rows = run(cat, tmp_path, happy_resources())
    row = one(rows)
    assert (row["register"], row["form"]) == ("noric", "angio_pci")
    assert row["patient"] == "Patient/p1" and row["event"] == "Procedure/proc1"
    assert row["anchor_date"] == ANCHOR
    assert row["values"] == {
        "REGANGIO_INTERDAT": ANCHOR,
        "REGANGIO_HEIGHT": "178",
        "REGANGIO_WEIGHT": "82",
        "REGANGIO_SKREATININ": "87",  # an integer: 87.4 rounds
        "REGANGIO_DIABETES": "1",
        "REGANGIO_TIDINF": "1",
        "REGANGIO_STATINS": "1",
        "PCI_ASAFORE": "1",
    }
    assert row["sources"] == {
        "REGANGIO_INTERDAT": ["Procedure/proc1"],
        "REGANGIO_HEIGHT": ["Observation/h1"],
        "REGANGIO_WEIGHT": ["Observation/w1"],
        "REGANGIO_SKREATININ": ["Observation/k1"],
        "REGANGIO_DIABETES": ["Condition/c1"],
        "REGANGIO_TIDINF": ["Condition/c2"],
        "REGANGIO_STATINS": ["MedicationStatement/s1"],
        "PCI_ASAFORE": ["MedicationAdministration/m1"],
    }
    why = reasons(row)
    assert why["REGANGIO_DIABETESINSULIN"] == "no matching FHIR resource"
    assert why["PCI_TICFORE"] == "no matching FHIR resource"
    assert "REGANGIO_SMOKING_STATUS" in report.manual and "REGANGIO_SMOKING_STATUS" not in why
    assert not set(why) & set(row["values"]) and not set(report.manual) & set(row["values"])
    # every form field, once: filled, bound but not found, or never bound
    assert set(why) | set(row["values"]) | set(report.manual) == set(report.filled)
    assert set(why) | set(row["values"]) == set(report.bound)
    assert report.input_kind == "bundle"
    assert (report.events, report.patients) == (1, 1)
    assert report.resources == {
        "Condition": 2,
        "MedicationAdministration": 1,
        "MedicationStatement": 1,
        "Observation": 3,
        "Patient": 1,
        "Procedure": 1,
    }
    assert report.to_complete["REGANGIO_DIABETESINSULIN"] == 1
    assert "REGANGIO_WEIGHT" not in report.to_complete
    assert report.filled["REGANGIO_WEIGHT"] == 1
    assert report.validation["errors"] == 0


def test_bulk_folder_gives_the_same_lines_as_the_bundle(cat, tmp_path: Path) -> None:
    resources = happy_resources()
    _, from_bundle = run(cat, tmp_path, resources, name="b")
    report, from_bulk = run(cat, tmp_path, resources, bulk=True, name="k")
    assert report.input_kind == "bulk"
    assert from_bulk == from_bundle
    assert (tmp_path / "b.json").read_bytes() == (tmp_path / "k.json").read_bytes()


def test_urn_uuid_and_absolute_references_name_the_patient(cat, tmp_path: Path) -> None:
    resources = happy_resources()
    source = fb.write_bundle(tmp_path / "urn.json", *resources, urn=True)
    prefill(cat, "noric", "angio_pci", source, "json", tmp_path / "urn.jsonl")
    _, plain = run(cat, tmp_path, resources)
    assert [json.loads(x) for x in (tmp_path / "urn.jsonl").read_text().splitlines()] == plain
    absolute = [dict(r) for r in resources]
    for r in absolute:
        if "subject" in r:
            r["subject"] = {"reference": "https://ehr.example.org/fhir/Patient/p1"}
    _, rows = run(cat, tmp_path, absolute, bulk=True, name="abs")
    assert one(rows)["values"] == one(plain)["values"]


def test_bulk_file_names_numbered_and_single_file(cat, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    lines = lambda rs: "".join(json.dumps(r) + "\n" for r in rs)  # noqa: E731
    (folder / "Patient.ndjson").write_text(lines([fb.patient()]))
    (folder / "Procedure.001.ndjson").write_text(lines([fb.procedure()]))
    (folder / "1.Observation.ndjson").write_text(
        lines([fb.observation_quantity("w1", "29463-7", 70, "kg", "2024-03-01")])
    )
    (folder / "2.Observation.ndjson").write_text(
        lines([fb.observation_quantity("h1", "8302-2", 170, "cm", "2024-03-01")])
    )
    (folder / "manifest.json").write_text("{}")
    report = prefill(cat, "noric", "angio_pci", folder, "json", tmp_path / "o.jsonl")
    row = json.loads((tmp_path / "o.jsonl").read_text())
    assert row["values"]["REGANGIO_WEIGHT"] == "70" and row["values"]["REGANGIO_HEIGHT"] == "170"
    assert report.resources["Observation"] == 2
    assert report.ignored_files == ["manifest.json"]
    single = tmp_path / "Patient.ndjson"
    single.write_text(lines([fb.patient("a"), fb.patient("b", gender="female")]))
    report = prefill(cat, "noric", "personopplysninger", single, "json", tmp_path / "p.jsonl")
    assert report.input_kind == "bulk" and report.events == 2


# --- 2. codes in the wrong system -----------------------------------------------------


def test_codes_in_another_system_are_not_used(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.procedure("proc-snomed", code="FNQ05B", system=fb.SNOMED, performed="2024-01-01"),
            fb.condition("c1", "E11.9", "2015-01-01", system=fb.SNOMED),
            fb.condition("c2", "I21.4", "2020-01-01", system=fb.LOINC),
            fb.observation_quantity("w1", "29463-7", 82, "kg", "2024-03-10", system=fb.SNOMED),
            fb.observation_quantity(
                "k1", "14682-9", 90, "umol/L", "2024-03-10", system="http://example.org/lab"
            ),
            fb.medication_administration("m1", "B01AC06", "2024-03-15", system=fb.SNOMED),
        ],
    )
    row = one(rows)  # the SNOMED-coded procedure is no event
    assert row["event"] == "Procedure/proc1"
    assert set(row["values"]) == {"REGANGIO_INTERDAT"}
    why = reasons(row)
    for name in (
        "REGANGIO_DIABETES",
        "REGANGIO_TIDINF",
        "REGANGIO_WEIGHT",
        "REGANGIO_SKREATININ",
        "PCI_ASAFORE",
    ):
        assert why[name] == "no matching FHIR resource"


def test_icd10_no_system_and_codes_without_dots_match(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.condition("c1", "E119", "2015-01-01", system=fb.ICD10_NO),
            fb.condition("c2", "I25.2", "2010-01-01", system=fb.ICD10_NO),
            fb.condition("c3", "I25.1", "2010-01-01"),  # not an old infarction
        ],
    )
    row = one(rows)
    assert row["values"]["REGANGIO_DIABETES"] == "1"
    assert row["values"]["REGANGIO_TIDINF"] == "1"
    assert row["sources"]["REGANGIO_TIDINF"] == ["Condition/c2"]


def test_other_codes_of_the_right_system_are_not_used(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.procedure("proc-other", code="FNG05", performed="2024-01-01"),
            fb.condition("c1", "E15", "2015-01-01"),  # hypoglycaemia, not diabetes
            fb.condition("c2", "I20.0", "2015-01-01"),
            fb.observation_quantity("w1", "3141-9", 82, "kg", "2024-03-10"),  # another LOINC
            fb.medication_administration("m1", "B01AC04", "2024-03-15"),  # clopidogrel
        ],
    )
    row = one(rows)
    assert set(row["values"]) == {"REGANGIO_INTERDAT"}


# --- 3. several matching resources ----------------------------------------------------


def test_pick_last_takes_the_latest_weight_and_names_it(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.observation_quantity("w-old", "29463-7", 90, "kg", "2024-02-20"),
            fb.observation_quantity("w-new", "29463-7", 84, "kg", "2024-03-14T08:00:00+01:00"),
            fb.observation_quantity("w-mid", "29463-7", 86, "kg", "2024-03-01"),
            fb.observation_quantity("w-after", "29463-7", 99, "kg", "2024-03-16"),  # after: no
        ],
    )
    row = one(rows)
    assert row["values"]["REGANGIO_WEIGHT"] == "84"
    assert row["sources"]["REGANGIO_WEIGHT"] == ["Observation/w-new"]


def test_pick_last_compares_instants_not_text(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.observation_quantity("w-utc", "29463-7", 90, "kg", "2024-03-10T12:00:00Z"),
            fb.observation_quantity("w-ny", "29463-7", 70, "kg", "2024-03-10T09:00:00-05:00"),
        ],
    )
    row = one(rows)
    assert row["sources"]["REGANGIO_WEIGHT"] == ["Observation/w-ny"]  # 14:00Z, the latest
    assert row["values"]["REGANGIO_WEIGHT"] == "70"


def test_two_procedures_are_two_events_each_with_its_window(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure("proc-a", code="SFN0CB", performed="2024-01-10"),
            fb.procedure("proc-b", code="FNP02B", performed="2024-06-10"),
            fb.observation_quantity("w-a", "29463-7", 80, "kg", "2024-01-05"),
            fb.observation_quantity("w-b", "29463-7", 75, "kg", "2024-06-01"),
            fb.medication_administration("m-b", "B01AC06", "2024-06-09"),
            fb.condition("c1", "E11.9", "2024-03-01"),  # between the two
        ],
        bulk=True,
    )
    assert [r["event"] for r in rows] == ["Procedure/proc-a", "Procedure/proc-b"]
    first, second = rows
    assert first["anchor_date"] == "2024-01-10" and second["anchor_date"] == "2024-06-10"
    assert first["values"]["REGANGIO_WEIGHT"] == "80"
    assert first["sources"]["REGANGIO_WEIGHT"] == ["Observation/w-a"]
    assert second["values"]["REGANGIO_WEIGHT"] == "75"
    assert second["sources"]["REGANGIO_WEIGHT"] == ["Observation/w-b"]
    assert "PCI_ASAFORE" not in first["values"] and second["values"]["PCI_ASAFORE"] == "1"
    assert "REGANGIO_DIABETES" not in first["values"]  # diagnosed after the first one
    assert second["values"]["REGANGIO_DIABETES"] == "1"


def test_bulk_patients_do_not_share_data(cat, tmp_path: Path) -> None:
    report, rows = run(
        cat,
        tmp_path,
        [
            fb.patient("p1"),
            fb.patient("p2", gender="female", fnr="02026012345"),
            fb.procedure("proc1", patient="p1"),
            fb.procedure("proc2", patient="p2"),
            fb.observation_quantity("w2", "29463-7", 60, "kg", "2024-03-10", patient="p2"),
            fb.condition("c1", "E10.9", "2000-01-01", patient="p1"),
        ],
        bulk=True,
    )
    assert (report.events, report.patients) == (2, 2)
    by_patient = {r["patient"]: r for r in rows}
    assert "REGANGIO_WEIGHT" not in by_patient["Patient/p1"]["values"]
    assert by_patient["Patient/p2"]["values"]["REGANGIO_WEIGHT"] == "60"
    assert by_patient["Patient/p1"]["values"]["REGANGIO_DIABETES"] == "1"
    assert "REGANGIO_DIABETES" not in by_patient["Patient/p2"]["values"]


# --- 4. windows -----------------------------------------------------------------------


def test_weight_outside_its_30_day_window_is_ignored(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.observation_quantity("w40", "29463-7", 82, "kg", "2024-02-04"),  # 40 days before
            fb.observation_quantity("k100", "14682-9", 90, "umol/L", "2023-12-06"),  # 100 days
        ],
    )
    row = one(rows)
    assert reasons(row)["REGANGIO_WEIGHT"] == "no matching FHIR resource"
    assert reasons(row)["REGANGIO_SKREATININ"] == "no matching FHIR resource"


def test_window_edges_are_included(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.observation_quantity("w30", "29463-7", 81, "kg", "2024-02-14"),  # exactly -30
            fb.observation_quantity("w31", "29463-7", 99, "kg", "2024-02-13"),  # -31
            fb.condition("inf29", "I21.0", "2024-02-15"),  # exactly -29: previous
        ],
    )
    row = one(rows)
    assert row["values"]["REGANGIO_WEIGHT"] == "81"
    assert row["sources"]["REGANGIO_WEIGHT"] == ["Observation/w30"]
    assert row["sources"]["REGANGIO_TIDINF"] == ["Condition/inf29"]


def test_previous_infarction_must_be_older_than_28_days(cat, tmp_path: Path) -> None:
    recent = [fb.patient(), fb.procedure(), fb.condition("inf-now", "I21.4", "2024-03-05")]
    _, rows = run(cat, tmp_path, recent, name="recent")
    assert reasons(one(rows))["REGANGIO_TIDINF"] == "no matching FHIR resource"
    old = [*recent, fb.condition("inf-old", "I22.1", "2022-03-15")]
    _, rows = run(cat, tmp_path, old, name="old")
    row = one(rows)
    assert row["values"]["REGANGIO_TIDINF"] == "1"
    assert row["sources"]["REGANGIO_TIDINF"] == ["Condition/inf-old"]


def test_medication_windows(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.medication_administration("asa-early", "B01AC06", "2024-03-13"),  # -2 days
            fb.medication_administration("tica", "B01AC24", "2024-03-15T07:30:00+01:00"),
            fb.medication_statement("ins", "A10AB05", "2024-03-08"),  # -7: in
            fb.medication_statement("statin", "C10AA01", "2024-03-07"),  # -8: out
        ],
    )
    row = one(rows)
    assert "PCI_ASAFORE" not in row["values"]
    assert row["values"]["PCI_TICFORE"] == "1"
    assert row["values"]["REGANGIO_DIABETESINSULIN"] == "1"
    assert reasons(row)["REGANGIO_STATINS"] == "no matching FHIR resource"


def test_diabetes_after_the_procedure_is_not_used(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.condition("c1", "E11.9", "2024-04-01"),
        ],
    )
    assert reasons(one(rows))["REGANGIO_DIABETES"] == "no matching FHIR resource"


# --- 5. missing elements and wrong units ----------------------------------------------


def test_procedure_without_performed_is_no_event(cat, tmp_path: Path) -> None:
    report, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure("undated", performed=None),
            fb.observation_quantity("w1", "29463-7", 82, "kg", "2024-03-10"),
        ],
    )
    assert rows == [] and report.events == 0


def test_observation_without_value_leaves_the_field_to_complete(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.observation_quantity("w-empty", "29463-7", None, None, "2024-03-14"),
            fb.observation_quantity("h-ok", "8302-2", 180, "cm", "2024-01-01"),
            fb.observation_quantity("h-empty", "8302-2", None, None, "2024-03-01"),  # later, empty
        ],
    )
    row = one(rows)
    assert reasons(row)["REGANGIO_WEIGHT"] == "no matching FHIR resource"
    assert row["values"]["REGANGIO_HEIGHT"] == "180"
    assert row["sources"]["REGANGIO_HEIGHT"] == ["Observation/h-ok"]


def test_observation_without_date_is_outside_every_window(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.observation_quantity("w", "29463-7", 82, "kg", None),
        ],
    )
    assert reasons(one(rows))["REGANGIO_WEIGHT"] == "no matching FHIR resource"


def test_quantity_in_another_unit_is_not_used(cat, tmp_path: Path) -> None:
    grams = fb.observation_quantity("w-g", "29463-7", 82000, "g", "2024-03-14")
    no_ucum = fb.observation_quantity(
        "w-x", "29463-7", 82, "kg", "2024-03-14", unit_system="http://example.org/units"
    )
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.procedure(),
            fb.observation_quantity("k-mg", "14682-9", 1.1, "mg/dL", "2024-03-10"),
            fb.observation_quantity(
                "k-um", "14682-9", 95, "umol/L", "2024-01-10"
            ),  # older, right unit
            grams,
            no_ucum,
        ],
    )
    row = one(rows)
    assert row["values"]["REGANGIO_SKREATININ"] == "95"
    assert row["sources"]["REGANGIO_SKREATININ"] == ["Observation/k-um"]
    assert reasons(row)["REGANGIO_WEIGHT"] == "no matching FHIR resource"


# --- 6. input that is not a FHIR Bundle -----------------------------------------------


NOT_A_BUNDLE = [
    pytest.param(b'{"name": "x"}', "no resourceType", id="no-resourceType"),
    pytest.param(b"[1, 2]", "found 'list'", id="array"),
    pytest.param(json.dumps(fb.patient()).encode(), "found 'Patient'", id="patient"),
    pytest.param(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": ["x"]}).encode(),
        "not valid FHIR R4: Bundle.entry",
        id="entry-string",
    ),
    pytest.param(
        json.dumps({"resourceType": "Bundle"}).encode(), "not valid FHIR R4", id="no-type"
    ),
    pytest.param(
        json.dumps(fb.bundle({**fb.patient(), "gender": 5})).encode(),
        "not valid FHIR R4",
        id="invalid-resource",
    ),
    pytest.param(b"hello, not json", "not JSON", id="not-json"),
    pytest.param(bytes(range(256)) * 8, "binary", id="binary"),
    pytest.param(
        json.dumps(fb.bundle({"resourceType": "Patient", "gender": "male"})).encode(),
        "without an id",
        id="no-id",
    ),
]


@pytest.mark.parametrize(("content", "expected"), NOT_A_BUNDLE)
def test_not_a_bundle_is_refused_naming_the_file(cat, tmp_path: Path, content, expected) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    out = tmp_path / "out.jsonl"
    with pytest.raises(RegcatError) as caught:
        prefill(cat, "noric", "angio_pci", path, "json", out)
    assert expected in caught.value.message
    assert caught.value.path == str(path)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.json"]


def test_cli_refuses_not_a_bundle_with_exit_2(cli, tmp_path: Path) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(fb.patient()))
    out = tmp_path / "out.jsonl"
    result = cli("prefill", "noric", str(path), "--form", "angio_pci", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert f"error: {path}: expected a FHIR Bundle, found 'Patient'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_missing_input_and_empty_folder(cat, tmp_path: Path) -> None:
    with pytest.raises(RegcatError, match="not found"):
        prefill(cat, "noric", "angio_pci", tmp_path / "nope.json", "json", tmp_path / "o")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RegcatError, match="not a FHIR Bulk Data export") as caught:
        prefill(cat, "noric", "angio_pci", empty, "json", tmp_path / "o")
    assert caught.value.path == str(empty)


# --- 7. oversized and malformed NDJSON lines -------------------------------------------


def _bulk_with_conditions(folder: Path, text: str) -> Path:
    fb.write_bulk(folder, [fb.patient(), fb.procedure()])
    (folder / "Condition.ndjson").write_text(text, encoding="utf-8")
    return folder


def test_oversized_line_is_refused_quickly_naming_file_and_line(cat, tmp_path: Path) -> None:
    small = json.dumps(fb.condition("c0", "E11.9", "2020-01-01"))
    other = json.dumps(fb.condition("c2", "E11.9", "2020-01-01"))
    big = fb.condition("c1", "E11.9", "2020-01-01")
    big["note"] = [{"text": "x" * 3_000_000}]
    folder = _bulk_with_conditions(tmp_path / "bulk", f"{small}\n{other}\n{json.dumps(big)}\n")
    out = tmp_path / "out.jsonl"
    started = time.perf_counter()
    with pytest.raises(RegcatError) as caught:
        prefill(cat, "noric", "angio_pci", folder, "json", out, max_resource_bytes=1_000_000)
    assert time.perf_counter() - started < 2
    assert caught.value.path == str(folder / "Condition.ndjson")
    assert caught.value.message.startswith("line 3: ")
    assert "1,000,000 bytes" in caught.value.message
    assert not out.exists()
    # with a higher limit the same resource is read
    report = prefill(cat, "noric", "angio_pci", folder, "json", out, max_resource_bytes=4_000_000)
    assert report.resources["Condition"] == 3


def test_oversized_line_via_cli(cli, tmp_path: Path) -> None:
    big = fb.condition("c1", "E11.9", "2020-01-01")
    big["note"] = [{"text": "x" * 3_000_000}]
    folder = _bulk_with_conditions(tmp_path / "bulk", json.dumps(big) + "\n")
    result = cli(
        "prefill", "noric", str(folder), "--form", "angio_pci", "--max-resource-bytes", "1000000"
    )
    assert result.exit_code == 2, result.output
    assert f"{folder / 'Condition.ndjson'}: line 1:" in result.output


def test_oversized_resource_in_a_bundle(cat, tmp_path: Path) -> None:
    big = fb.condition("c1", "E11.9", "2020-01-01")
    big["note"] = [{"text": "x" * 300_000}]
    path = fb.write_bundle(tmp_path / "b.json", fb.patient(), big)
    with pytest.raises(RegcatError, match=r"Bundle\.entry\.1: a resource longer") as caught:
        prefill(cat, "noric", "angio_pci", path, "json", tmp_path / "o", max_resource_bytes=100_000)
    assert caught.value.path == str(path)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("not json at all", id="garbage"),
        pytest.param('{"resourceType":"Condition","id":"c2"', id="unclosed"),
        pytest.param('{"resourceType":"Condition","id":"c2"}}', id="extra-brace"),
    ],
)
def test_malformed_line_names_the_file(cat, tmp_path: Path, bad: str) -> None:
    good = json.dumps(fb.condition("c1", "E11.9", "2020-01-01"))
    folder = _bulk_with_conditions(tmp_path / "bulk", f"{good}\n{good}\n{bad}\n{good}\n")
    out = tmp_path / "out.jsonl"
    with pytest.raises(RegcatError) as caught:
        prefill(cat, "noric", "angio_pci", folder, "json", out)
    assert caught.value.path == str(folder / "Condition.ndjson")
    assert "not valid JSON" in caught.value.message
    assert caught.value.message.startswith("line ")
    assert not out.exists()


@pytest.mark.parametrize("at", [1, 3])
def test_malformed_line_names_the_right_line(cat, tmp_path: Path, at: int) -> None:
    good = json.dumps(fb.condition("c1", "E11.9", "2020-01-01"))
    lines = [good] * 4
    lines[at - 1] = "not json at all"
    folder = _bulk_with_conditions(tmp_path / "bulk", "\n".join(lines) + "\n")
    with pytest.raises(RegcatError) as caught:
        prefill(cat, "noric", "angio_pci", folder, "json", tmp_path / "out.jsonl")
    assert caught.value.message.startswith(f"line {at}: ")


def test_line_that_is_not_an_object_names_file_and_line(cat, tmp_path: Path) -> None:
    good = json.dumps(fb.condition("c1", "E11.9", "2020-01-01"))
    folder = _bulk_with_conditions(tmp_path / "bulk", f"{good}\n[1, 2]\n")
    with pytest.raises(RegcatError) as caught:
        prefill(cat, "noric", "angio_pci", folder, "json", tmp_path / "out.jsonl")
    assert caught.value.path == str(folder / "Condition.ndjson")
    assert "line 2" in caught.value.message


# --- 8. nothing half-written ----------------------------------------------------------


def _no_temp_files(folder: Path) -> None:
    assert not [p for p in folder.rglob(".regcat-prefill-*")]


def test_failed_run_leaves_an_existing_output_unchanged(cat, cli, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    out = work / "filled.jsonl"
    out.write_text("the previous run's output\n")
    report = work / "report.json"
    report.write_text("{}\n")
    folder = _bulk_with_conditions(tmp_path / "bulk", "garbage\n")
    before = snapshot(work)
    with pytest.raises(RegcatError):
        prefill(cat, "noric", "angio_pci", folder, "json", out)
    result = cli(
        "prefill",
        "noric",
        str(folder),
        "--form",
        "angio_pci",
        "--out",
        str(out),
        "--report",
        str(report),
    )
    assert result.exit_code == 2, result.output
    assert snapshot(work) == before
    _no_temp_files(work)


def test_failure_while_moving_into_place_leaves_no_temp_file(cat, cli, tmp_path: Path) -> None:
    source = fb.write_bundle(tmp_path / "b.json", *happy_resources())
    target = tmp_path / "out"
    target.mkdir()  # an existing folder where the output file should go
    (target / "keep.txt").write_text("keep")
    before = snapshot(tmp_path)
    with pytest.raises(OSError):
        prefill(cat, "noric", "angio_pci", source, "json", target)
    result = cli("prefill", "noric", str(source), "--form", "angio_pci", "--out", str(target))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before
    _no_temp_files(tmp_path)


def test_successful_run_replaces_the_output_and_leaves_no_temp(cat, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text("old")
    source = fb.write_bundle(tmp_path / "b.json", *happy_resources())
    prefill(cat, "noric", "angio_pci", source, "json", out)
    assert json.loads(out.read_text())["event"] == "Procedure/proc1"
    _no_temp_files(tmp_path)


def test_output_folder_must_exist(cat, tmp_path: Path) -> None:
    source = fb.write_bundle(tmp_path / "b.json", *happy_resources())
    with pytest.raises(RegcatError, match="output's folder does not exist"):
        prefill(cat, "noric", "angio_pci", source, "json", tmp_path / "nope" / "out.json")
    assert not (tmp_path / "nope").exists()


# --- 9. QuestionnaireResponse ---------------------------------------------------------


@pytest.fixture(scope="module")
def angio_questionnaire(cat) -> dict:
    from regcat.interop.fhir import export_bundle

    bundle = export_bundle(cat, "noric", form_id="angio_pci")
    [questionnaire] = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Questionnaire"
    ]
    return questionnaire


def _link_ids(items: list[dict]) -> set[str]:
    out = set()
    for item in items:
        out.add(item["linkId"])
        out |= _link_ids(item.get("item", []))
    return out


def _check_qr(qr: dict, questionnaire: dict) -> dict[str, dict]:
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    QuestionnaireResponse.model_validate(qr)
    assert qr["questionnaire"] == questionnaire["url"]
    items = {i["linkId"]: i for i in qr.get("item", [])}
    assert set(items) <= _link_ids(questionnaire["item"])
    return items


def test_questionnaire_response_bundle_matches_the_exported_questionnaire(
    cat, tmp_path: Path, angio_questionnaire: dict
) -> None:
    _, out = run(cat, tmp_path, happy_resources(), fmt="questionnaire-response")
    bundle = json.loads(out.read_text())
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    [qr] = [e["resource"] for e in bundle["entry"]]
    items = _check_qr(qr, angio_questionnaire)
    assert qr["status"] == "in-progress"
    assert qr["subject"] == {"reference": "Patient/p1"}
    assert items["noric:REGANGIO_WEIGHT"]["answer"] == [{"valueInteger": 82}]
    assert items["noric:REGANGIO_INTERDAT"]["answer"] == [{"valueDate": ANCHOR}]
    diabetes = items["noric:REGANGIO_DIABETES"]["answer"][0]["valueCoding"]
    assert diabetes["code"] == "1" and diabetes["system"]
    assert items["noric:REGANGIO_WEIGHT"]["extension"] == [
        {"url": EXT_SOURCE, "valueReference": {"reference": "Observation/w1"}}
    ]
    assert all(i["extension"][0]["url"] == EXT_SOURCE for i in items.values())
    todo = {e["valueString"] for e in qr["extension"] if e["url"] == EXT_TO_COMPLETE}
    # the bound fields nothing was found for; unbound ones are unanswered items, and the
    # status stays in-progress while the form has any
    assert todo == {"noric:REGANGIO_DIABETESINSULIN", "noric:PCI_TICFORE"}
    assert not todo & set(items)
    assert todo | set(items) == _link_ids(angio_questionnaire["item"]) & (todo | set(items))


def test_questionnaire_canonical_equals_the_cli_export(cat, cli, tmp_path: Path) -> None:
    exported = tmp_path / "noric.json"
    result = cli("export", "fhir", "noric", "--form", "angio_pci", "--out", str(exported))
    assert result.exit_code == 0, result.output
    [questionnaire] = [
        e["resource"]
        for e in json.loads(exported.read_text())["entry"]
        if e["resource"]["resourceType"] == "Questionnaire"
    ]
    _, out = run(cat, tmp_path, happy_resources(), fmt="questionnaire-response")
    for entry in json.loads(out.read_text())["entry"]:
        _check_qr(entry["resource"], questionnaire)


def test_questionnaire_responses_from_bulk_are_ndjson(
    cat, tmp_path: Path, angio_questionnaire: dict
) -> None:
    resources = [
        *happy_resources(),
        fb.patient("p2", gender="female"),
        fb.procedure("proc2", patient="p2", code="SFN0DB", performed="2024-05-02"),
    ]
    report, out = run(cat, tmp_path, resources, fmt="questionnaire-response", bulk=True)
    qrs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(qrs) == report.events == 2
    assert len({q["id"] for q in qrs}) == 2
    for qr in qrs:
        _check_qr(qr, angio_questionnaire)
    bare = next(q for q in qrs if q["subject"]["reference"] == "Patient/p2")
    assert {i["linkId"] for i in bare["item"]} == {"noric:REGANGIO_INTERDAT"}


def test_questionnaire_response_of_a_form_without_anchor(cat, tmp_path: Path) -> None:
    from regcat.interop.fhir import export_bundle

    bundle = export_bundle(cat, "noric", form_id="personopplysninger")
    [questionnaire] = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Questionnaire"
    ]
    _, out = run(
        cat,
        tmp_path,
        [fb.patient(deceased="2024-05-01")],
        form="personopplysninger",
        fmt="questionnaire-response",
    )
    [entry] = json.loads(out.read_text())["entry"]
    items = _check_qr(entry["resource"], questionnaire)
    assert items["noric:PATIENT_SSN"]["answer"] == [{"valueString": "01015012345"}]
    assert items["noric:PATIENT_BIRTH_DATE"]["answer"] == [{"valueDate": "1950-03-04"}]
    assert items["noric:PATIENT_DECEASED_DATE"]["answer"] == [{"valueDate": "2024-05-01"}]


# --- 10. csv --------------------------------------------------------------------------


def test_csv_has_every_field_and_passes_check_data(cat, cli, tmp_path: Path) -> None:
    from regcat.checker import check_data
    from regcat.ehr.bindings import plan_form

    resources = [
        *happy_resources(),
        fb.procedure("proc2", code="FNP02B", performed="2024-09-01"),
    ]
    report, out = run(cat, tmp_path, resources, fmt="csv", bulk=True)
    with out.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == plan_form(cat, "noric", "angio_pci").names()
    assert len(rows) == 2
    assert [r["REGANGIO_INTERDAT"] for r in rows] == [ANCHOR, "2024-09-01"]
    assert rows[0]["REGANGIO_WEIGHT"] == "82" and rows[1]["REGANGIO_WEIGHT"] == ""
    checked = check_data(cat, "noric", out, form="angio_pci", only=report.bound).to_json()
    # The filled values break no rule; the only errors are bound fields left empty (to
    # complete by hand), and the unbound columns are merely not checked.
    errors = {k: n for k, n in checked["by_rule"].items() if not k.startswith("unknown_column:")}
    assert errors == {
        f"required:{name}": report.to_complete[name]
        for name in ("REGANGIO_DIABETESINSULIN", "REGANGIO_STATINS")
    }
    assert checked["errors"] == sum(errors.values())
    assert checked["rows"] == 2


# --- 11. the validator's findings -----------------------------------------------------


def test_unmapped_gender_is_kept_and_reported(cat, tmp_path: Path) -> None:
    report, rows = run(
        cat,
        tmp_path,
        [
            fb.patient("p1", gender="other"),
            fb.patient("p2", gender="female", fnr="02026012345"),
        ],
        form="personopplysninger",
        bulk=True,
    )
    assert report.events == 2  # one row per patient, no anchor
    by_patient = {r["patient"]: r for r in rows}
    assert by_patient["Patient/p1"]["values"]["PATIENT_GENDER"] == "other"
    assert by_patient["Patient/p2"]["values"]["PATIENT_GENDER"] == "2"
    assert by_patient["Patient/p1"]["event"] == "Patient/p1"
    assert by_patient["Patient/p1"]["anchor_date"] is None
    validation = report.validation
    assert validation["by_rule"] == {"value_set:PATIENT_GENDER": 1}
    assert validation["severity"]["value_set:PATIENT_GENDER"] == "error"
    assert validation["errors"] == 1
    [example] = validation["examples"]
    assert example["patient"] == "Patient/p1"


def test_strict_exits_1_on_validator_errors(cli, tmp_path: Path) -> None:
    source = fb.write_bundle(tmp_path / "b.json", fb.patient(gender="other"))
    args = [
        "prefill",
        "noric",
        str(source),
        "--form",
        "personopplysninger",
        "--out",
        str(tmp_path / "o.jsonl"),
    ]
    lenient = cli(*args)
    assert lenient.exit_code == 0, lenient.output
    assert "value_set:PATIENT_GENDER" in lenient.output
    strict = cli(*args, "--strict")
    assert strict.exit_code == 1, strict.output
    fine = fb.write_bundle(tmp_path / "ok.json", fb.patient(gender="male"))
    assert (
        cli(
            "prefill",
            "noric",
            str(fine),
            "--form",
            "personopplysninger",
            "--strict",
            "--out",
            str(tmp_path / "ok.jsonl"),
        ).exit_code
        == 0
    )


def test_identifier_and_demographics(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(
                "p1",
                fnr=None,
                identifiers=[
                    {"system": fb.DNR, "value": "41015012345"},
                    {"system": fb.FNR, "value": "01015012345"},
                ],
            ),
            fb.patient("p2", fnr=None, gender=None, identifiers=[{"system": fb.DNR, "value": "4"}]),
        ],
        form="personopplysninger",
        bulk=True,
    )
    by_patient = {r["patient"]: r for r in rows}
    assert by_patient["Patient/p1"]["values"]["PATIENT_SSN"] == "01015012345"
    assert by_patient["Patient/p1"]["values"]["PATIENT_GENDER"] == "1"
    why = reasons(by_patient["Patient/p2"])
    assert why["PATIENT_SSN"] == "no matching FHIR resource"
    assert why["PATIENT_GENDER"] == "no matching FHIR resource"
    assert "PATIENT_FIRSTNAME" not in why


# --- 12. CLI smoke --------------------------------------------------------------------


def test_cli_writes_output_and_report(cli, tmp_path: Path) -> None:
    source = fb.write_bundle(tmp_path / "b.json", *happy_resources())
    out, report_file = tmp_path / "filled.jsonl", tmp_path / "report.json"
    result = cli(
        "prefill",
        "noric",
        str(source),
        "--form",
        "angio_pci",
        "--out",
        str(out),
        "--report",
        str(report_file),
    )
    assert result.exit_code == 0, result.output
    assert "1 event(s) for 1 patient(s)" in result.output
    report = json.loads(report_file.read_text())
    assert report["events"] == 1 and report["resources_read"] == 9
    assert report["input_kind"] == "bundle" and report["output"] == str(out)
    assert json.loads(out.read_text())["values"]["REGANGIO_WEIGHT"] == "82"


def test_cli_prints_to_stdout_and_refuses_unknown_form(cli, tmp_path: Path) -> None:
    source = fb.write_bundle(tmp_path / "b.json", *happy_resources())
    printed = cli("prefill", "noric", str(source), "--form", "angio_pci", "--format", "csv")
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.startswith("REGANGIO_INTERDAT,")
    unknown = cli("prefill", "noric", str(source), "--form", "nope")
    assert unknown.exit_code == 2 and "has no form 'nope'" in unknown.output
    _no_temp_files(tmp_path)


def test_unknown_format_is_refused(cat, tmp_path: Path) -> None:
    source = fb.write_bundle(tmp_path / "b.json", *happy_resources())
    with pytest.raises(RegcatError, match="unknown format"):
        prefill(cat, "noric", "angio_pci", source, "xml", tmp_path / "o")


# --- 13. NPR --------------------------------------------------------------------------


def test_npr_episode_dates_from_encounters(cat, tmp_path: Path) -> None:
    report, rows = run(
        cat,
        tmp_path,
        [
            fb.patient(),
            fb.encounter("e1", "2024-01-02T10:00:00+01:00", "2024-01-05T12:00:00+01:00"),
            fb.encounter("e2", "2024-02-10", None, status="in-progress"),
        ],
        register="npr",
        form="episode",
    )
    assert report.events == 2
    first, second = rows
    assert first["event"] == "Encounter/e1" and first["anchor_date"] == "2024-01-02"
    assert first["values"]["inndato"] == "2024-01-02"
    assert first["values"]["utdato"] == "2024-01-05"
    assert first["sources"] == {"inndato": ["Encounter/e1"], "utdato": ["Encounter/e1"]}
    # still admitted: utdato of its own encounter, not the other one's
    assert second["values"] == {"inndato": "2024-02-10"}
    assert reasons(second)["utdato"] == "no matching FHIR resource"
    assert "hovedtilstand" not in reasons(second)


def test_npr_fodselsnummer_on_the_pasient_form(cat, tmp_path: Path) -> None:
    _, rows = run(
        cat,
        tmp_path,
        [
            fb.patient("p1", fnr="01015012345"),
            fb.patient("p2", fnr=None, identifiers=[{"system": fb.DNR, "value": "41015012345"}]),
            fb.encounter("e1", "2024-01-02", "2024-01-05"),
        ],
        register="npr",
        form="pasient",
        bulk=True,
    )
    by_patient = {r["patient"]: r for r in rows}
    assert set(by_patient) == {"Patient/p1", "Patient/p2"}
    assert by_patient["Patient/p1"]["values"] == {"fodselsnummer": "01015012345"}
    assert by_patient["Patient/p1"]["sources"] == {"fodselsnummer": ["Patient/p1"]}
    assert by_patient["Patient/p2"]["to_complete"] == ["fodselsnummer"]


def test_resources_that_cannot_be_used_are_counted_not_dropped(cat, tmp_path: Path, cli) -> None:
    diabetes = fb.condition("c1", "E11.9", "2020-01-01")
    no_subject = {
        k: v for k, v in fb.condition("c2", "E10.9", "2020-01-01").items() if k != "subject"
    }
    stray = fb.observation_quantity("o9", "29463-7", 80, "kg", "2024-03-10")
    no_type = {
        k: v for k, v in fb.condition("c3", "E13.9", "2020-01-01").items() if k != "resourceType"
    }
    lines = "\n".join(json.dumps(r) for r in (diabetes, no_subject, stray, no_type)) + "\n"
    folder = _bulk_with_conditions(tmp_path / "bulk", lines)
    report = prefill(cat, "noric", "angio_pci", folder, "json", tmp_path / "out.jsonl")
    assert report.resources["Condition"] == 1
    assert report.skipped == {
        "Condition: another resource type in its file": 2,
        "Condition: names no patient": 1,
    }
    row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert row["values"]["REGANGIO_DIABETES"] == "1"
    done = cli(
        "prefill", "noric", str(folder), "--form", "angio_pci", "--out", str(tmp_path / "o2")
    )
    assert done.exit_code == 0, done.output
    assert "2 resource(s) skipped: Condition: another resource type in its file" in done.output


def test_entered_in_error_and_refuted_resources_never_count(cat, tmp_path: Path) -> None:
    mistaken = fb.procedure("proc9", "2024-03-20")
    mistaken["status"] = "entered-in-error"
    refuted = fb.condition("c1", "E11.9", "2020-01-01")
    refuted["verificationStatus"] = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "code": "refuted",
            }
        ]
    }
    cancelled = fb.observation_quantity("w1", "29463-7", 80, "kg", "2024-03-10")
    cancelled["status"] = "cancelled"
    _, rows = run(cat, tmp_path, [fb.patient(), fb.procedure(), mistaken, refuted, cancelled])
    row = one(rows)  # the procedure entered in error is no event
    assert row["event"] == "Procedure/proc1"
    assert "REGANGIO_DIABETES" not in row["values"] and "REGANGIO_WEIGHT" not in row["values"]


def test_ndjson_in_another_encoding_names_the_line(cat, tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    fb.write_bulk(folder, [fb.patient("p1")])
    with (folder / "Patient.ndjson").open("ab") as handle:
        handle.write('{"resourceType":"Patient","id":"p2","gender":"Sørensen"}\n'.encode("latin-1"))
    with pytest.raises(RegcatError) as caught:
        prefill(cat, "noric", "personopplysninger", folder, "json", tmp_path / "out.jsonl")
    assert caught.value.message.startswith("line 2: ") and "not UTF-8" in caught.value.message
    assert caught.value.path == str(folder / "Patient.ndjson")
    assert not (tmp_path / "out.jsonl").exists()


def test_a_form_without_bindings_is_all_manual(cat, tmp_path: Path) -> None:
    report, rows = run(cat, tmp_path, [fb.patient("p1"), fb.patient("p2")], form="heart_qol")
    assert [r["patient"] for r in rows] == ["Patient/p1", "Patient/p2"]
    assert all(r["values"] == {} and r["to_complete"] == [] for r in rows)
    assert report.bound == [] and len(report.manual) == report.fields == 14
    assert report.validation["by_rule"] == {} and report.validation["errors"] == 0


def test_a_resource_id_seen_twice_counts_once(cat, tmp_path: Path) -> None:
    first = fb.medication_administration("m1", "B01AC06", "2024-03-15")
    again = fb.medication_administration("m1", "B01AC24", "2024-03-15")  # same id
    report, rows = run(cat, tmp_path, [fb.patient(), fb.procedure(), first, again], bulk=True)
    assert report.skipped == {"MedicationAdministration: an id seen before (the first is used)": 1}
    row = one(rows)
    assert row["values"]["PCI_ASAFORE"] == "1" and "PCI_TICFORE" not in row["values"]


def test_codegen_prefill_script_runs_and_matches_prefill(cat, tmp_path: Path, cli) -> None:
    import duckdb

    folder = fb.write_bulk(tmp_path / "bulk", happy_resources())
    done = cli(
        "codegen-prefill",
        "noric",
        "--form",
        "angio_pci",
        "--input-dir",
        str(folder),
        "--out",
        str(tmp_path / "p.sql"),
    )
    assert done.exit_code == 0, done.output
    text = (tmp_path / "p.sql").read_text(encoding="utf-8")
    assert text.startswith("-- Generated by regcat from the EHR bindings of noric:angio_pci")
    again = cli("codegen-prefill", "noric", "--form", "angio_pci", "--input-dir", str(folder))
    assert again.exit_code == 0 and again.output == text  # deterministic
    con = duckdb.connect()
    result = con.execute(text)
    names = [d[0] for d in result.description]
    [row] = result.fetchall()
    by_name = dict(zip(names, row, strict=True))
    _, rows = run(cat, tmp_path, happy_resources(), bulk=True, name="api")
    expected = one(rows)
    assert by_name["event"] == expected["event"]
    filled = {k: v for k, v in by_name.items() if k in expected["values"]}
    assert filled == expected["values"]
    columns = {k for k, v in by_name.items() if v is not None and not k.startswith(("_", "src:"))}
    assert columns - set(expected["values"]) == {"patient", "event", "anchor_date"}
