"""EHR bindings: the FHIRPath subset, the checks `regcat validate` runs on
`ehr/<register>.yaml`, the per-form plan, the bundled bindings, and `regcat coverage`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regcat.catalogue import Catalogue, validate_catalogue
from regcat.cli import app
from regcat.ehr import fhirpath
from regcat.ehr.bindings import form_ids_with_bindings, plan_form
from regcat.ehr.coverage import coverage, totals
from regcat.errors import RegcatError
from regcat.io import dump_yaml
from regcat.layout import bundled_catalogue
from tests.conftest import tiny_register, write_catalogue

BUNDLED = Catalogue.load(bundled_catalogue())


# --- FHIRPath -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "many"),
    [
        ("Condition.code", "CodeableConcept", False),
        ("Observation.value.ofType(Quantity).value", "decimal", False),
        (
            "Patient.identifier.where(system = 'urn:oid:2.16.578.1.12.4.1.4.1').value",
            "string",
            True,
        ),
        ("MedicationStatement.medication.ofType(CodeableConcept)", "CodeableConcept", False),
        ("Encounter.period.start", "dateTime", False),
        ("Encounter.class.code", "code", False),  # `class` is class_fhir in the model
        ("Condition.code.coding.first().code", "code", False),
        ("Patient.`birthDate`", "date", False),
    ],
)
def test_fhirpath_resolves(text: str, kind: str, many: bool) -> None:
    resolved = fhirpath.resolve(text)
    assert (resolved.type, resolved.many) == (kind, many)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Condition.cod", "Condition has no element 'cod'"),
        ("Condition.code.exists()", "exists() at column 16 is not supported"),
        ("Observation.value", "is a choice of"),
        ("Observation.value.ofType(Banana)", "cannot be Banana"),
        ("Foo.bar", "'Foo' is not a FHIR R4 resource type"),
        ("Coding.code", "'Coding' is not a FHIR R4 resource type"),
        ("Condition..code", "at column 11"),
        ("Condition.code where", "expected '.' at column 16"),
        ("Condition.code.where(system = ", "at the end"),
        ("Patient.identifier.where(type = 'x')", "needs a single primitive element"),
        ("Condition.code.ofType(Coding)", "must follow a choice element"),
        ("Condition.code + 1", "unexpected '+'"),
        ("", "empty"),
    ],
)
def test_fhirpath_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(fhirpath.FhirPathError) as caught:
        fhirpath.resolve(text)
    assert message in caught.value.message


def test_fhirpath_must_start_from_the_binding_resource() -> None:
    with pytest.raises(fhirpath.FhirPathError, match="the binding's resource is Observation"):
        fhirpath.resolve("Condition.code", "Observation")


def test_fhirpath_string_literals_are_sql_safe() -> None:
    # FHIRPath escapes a quote with a backslash; SQL must get it doubled.
    resolved = fhirpath.resolve(
        "Patient.identifier.where(system = 'a\\'); DROP TABLE x; --').value"
    )
    expr, _ = fhirpath.to_sql(resolved)
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT [{'system': 'a', 'value': '1'}] AS identifier")
    assert con.execute(f"SELECT {expr} FROM t r").fetchone() == ([],)


# --- a tiny catalogue with bindings ---------------------------------------------------------


def _register() -> dict:
    register = tiny_register()
    register["forms"].append({"id": "prosedyre", "name": {"nb": "Prosedyre"}})
    register["variables"] += [
        {
            "id": "alpha:PROSDATO",
            "form": "prosedyre",
            "label": {"nb": "Prosedyredato"},
            "datatype": "date",
        },
        {"id": "alpha:VEKT", "form": "prosedyre", "label": {"nb": "Vekt"}, "datatype": "integer"},
        {
            "id": "alpha:DIABETES",
            "form": "prosedyre",
            "label": {"nb": "Diabetes"},
            "datatype": "coded",
            "value_set": "alpha:JANEI",
        },
        {
            "id": "alpha:HENTET",
            "form": "prosedyre",
            "label": {"nb": "Hentet"},
            "datatype": "string",
            "collection_mode": "fetched_from_key_register",
        },
        {
            "id": "alpha:BMI",
            "form": "prosedyre",
            "label": {"nb": "KMI"},
            "datatype": "decimal",
            "collection_mode": "derived",
        },
    ]
    register["value_sets"].append(
        {
            "id": "alpha:JANEI",
            "codes": [{"code": "0", "label": {"nb": "Nei"}}, {"code": "1", "label": {"nb": "Ja"}}],
        }
    )
    return register


def _bindings(**changes) -> dict:
    data = {
        "register_id": "alpha",
        "fhir_version": "R4",
        "anchors": [{"form": "prosedyre", "variable": "alpha:PROSDATO"}],
        "bindings": [
            {
                "variable": "alpha:PROSDATO",
                "resource": "Procedure",
                "element": "Procedure.performed.ofType(dateTime)",
                "code_filter": {"element": "Procedure.code", "system": "NCSP", "codes": ["FNG*"]},
                "pick": "first",
            },
            {
                "variable": "alpha:VEKT",
                "resource": "Observation",
                "element": "Observation.value.ofType(Quantity).value",
                "code_filter": {
                    "element": "Observation.code",
                    "system": "LOINC",
                    "codes": ["29463-7"],
                },
                "unit": "kg",
                "window_start_days": -30,
                "window_end_days": 0,
                "pick": "last",
            },
            {
                "variable": "alpha:DIABETES",
                "resource": "Condition",
                "element": "Condition.code",
                "code_filter": {
                    "element": "Condition.code",
                    "system": "ICD10",
                    "codes": ["E10*", "E11.9"],
                },
                "window_start_days": -3650,
                "window_end_days": 0,
                "pick": "any",
                "value_map": [{"source": "true", "target": "1"}],
            },
        ],
    }
    data.update(changes)
    return data


def _catalogue(tmp_path: Path, bindings: dict | None = None, name: str = "alpha") -> Path:
    root = write_catalogue(tmp_path / "cat", [_register()])
    systems = (root / "codesystems.yaml").read_text(encoding="utf-8")
    systems += "- id: LOINC\n  name:\n    nb: LOINC\n"
    (root / "codesystems.yaml").write_text(systems, encoding="utf-8")
    (root / "ehr").mkdir()
    (root / "ehr" / f"{name}.yaml").write_text(dump_yaml(bindings or _bindings()), encoding="utf-8")
    return root


def _messages(root: Path) -> list[str]:
    report = validate_catalogue(root, jobs=1)
    return [f.render() for f in report.findings if f.severity == "error"]


def test_valid_bindings_validate_and_plan(tmp_path: Path) -> None:
    root = _catalogue(tmp_path)
    assert _messages(root) == []
    plan = plan_form(Catalogue.load(root), "alpha", "prosedyre")
    assert plan.anchor is not None and plan.anchor.name == "PROSDATO"
    assert [b.name for b in plan.bound] == ["PROSDATO", "VEKT", "DIABETES"]
    assert plan.questionnaire.endswith("/Questionnaire/alpha-prosedyre")


def _broken(binding_changes: dict, index: int = 1) -> dict:
    data = _bindings()
    data["bindings"][index] = {**data["bindings"][index], **binding_changes}
    return data


@pytest.mark.parametrize(
    ("changes", "index", "message"),
    [
        (
            {"element": "Observation.valu.ofType(Quantity).value"},
            1,
            "Observation has no element 'valu'",
        ),
        ({"resource": "Observasjon"}, 1, "'Observasjon' is not a FHIR R4 resource type"),
        ({"element": "Condition.code"}, 1, "the binding's resource is Observation"),
        ({"unit": "mmHg"}, 1, "mm[Hg]"),
        ({"window_start_days": 5, "window_end_days": 0}, 1, "window_start_days 5 is after"),
        ({"window_end_days": None}, 1, "give both window_start_days and window_end_days"),
        (
            {"code_filter": {"element": "Condition.code", "system": "ICD10", "codes": ["I2A*"]}},
            2,
            "ICD10:I2A*",
        ),
        (
            {"code_filter": {"element": "Condition.code", "system": "ATC", "codes": ["Q01*"]}},
            2,
            "ATC:Q01*",
        ),
        (
            {
                "code_filter": {
                    "element": "Condition.onset.ofType(dateTime)",
                    "system": "ICD10",
                    "codes": ["E10*"],
                }
            },
            2,
            "not a CodeableConcept or Coding",
        ),
        (
            {"element": "Observation.value.ofType(Quantity)"},
            1,
            "bind Observation.value.ofType(Quantity).value",
        ),
        ({"time": "Observation.status"}, 1, "not a date or dateTime"),
        ({"variable": "beta:VEKT"}, 1, "not a variable of register 'alpha'"),
        ({"variable": "alpha:NOPE"}, 1, "no variable 'alpha:NOPE'"),
        (
            {"code_filter": {"element": "Observation.code", "system": "NOPE", "codes": ["1"]}},
            1,
            "(see codesystems.yaml) 'NOPE'",
        ),
        ({"pick": "median"}, 1, "pick"),
        ({"colour": "blue"}, 1, "unknown key"),
    ],
)
def test_validate_reports_bad_bindings(
    tmp_path: Path, changes: dict, index: int, message: str
) -> None:
    data = _broken({k: v for k, v in changes.items() if v is not None}, index)
    if changes.get("window_end_days", 0) is None:
        del data["bindings"][index]["window_end_days"]
    messages = _messages(_catalogue(tmp_path, data))
    assert any(message in m and "ehr/alpha.yaml" in m for m in messages), messages


def test_validate_reports_set_level_problems(tmp_path: Path) -> None:
    data = _bindings()
    data["bindings"].append(dict(data["bindings"][1]))
    data["anchors"].append({"form": "prosedyre", "variable": "alpha:VEKT"})
    data["anchors"].append({"form": "nope", "variable": "alpha:DIAG"})
    messages = "\n".join(_messages(_catalogue(tmp_path, data)))
    assert "bound 2 times" in messages
    assert "form 'prosedyre' has 2 anchors" in messages
    assert "anchor of form 'nope' has no binding" in messages
    assert "no form 'alpha:nope'" in messages


def test_file_must_be_named_after_its_register(tmp_path: Path) -> None:
    messages = _messages(_catalogue(tmp_path, name="other"))
    assert any("named after its register_id" in m for m in messages)


def test_hostile_yaml_is_a_clear_error(tmp_path: Path, runner) -> None:
    root = _catalogue(tmp_path)
    (root / "ehr" / "alpha.yaml").write_bytes(b"\xff\xfe\x00binary")
    done = runner.invoke(app, ["-c", str(root), "validate"])
    assert done.exit_code != 0
    assert "ehr/alpha.yaml" in done.output and "Traceback" not in done.output


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(anchors=[]), "needs an anchor"),
        (
            lambda d: d["bindings"][2].update(value_map=[{"source": "true", "target": "7"}]),
            "not a code of alpha:JANEI",
        ),
        (lambda d: d["bindings"][2].update(value_map=[]), "map true to a code"),
        (
            lambda d: d["anchors"].__setitem__(0, {"form": "prosedyre", "variable": "alpha:VEKT"}),
            "is not a date",
        ),
        (
            lambda d: d["bindings"][0].update(element="Procedure.status"),
            "a date variable, but Procedure.status",
        ),
    ],
)
def test_plan_checks_against_the_register(tmp_path: Path, mutate, message: str) -> None:
    data = _bindings()
    mutate(data)
    root = _catalogue(tmp_path, data)
    with pytest.raises(RegcatError) as caught:
        plan_form(Catalogue.load(root), "alpha", "prosedyre")
    assert message in caught.value.message
    assert str(caught.value.path).endswith("ehr/alpha.yaml")


def test_plan_of_an_unknown_form_or_register(tmp_path: Path) -> None:
    cat = Catalogue.load(_catalogue(tmp_path))
    with pytest.raises(RegcatError, match="has no form 'nope'"):
        plan_form(cat, "alpha", "nope")
    with pytest.raises(RegcatError, match="no register 'beta'"):
        plan_form(cat, "beta", "basis")


def test_a_form_without_bindings_plans_to_all_manual(tmp_path: Path) -> None:
    plan = plan_form(Catalogue.load(_catalogue(tmp_path)), "alpha", "basis")
    assert plan.bound == [] and plan.anchor is None and len(plan.variables) == 2


# --- the bundled bindings ---------------------------------------------------------------


def test_bundled_bindings_exist_and_plan() -> None:
    assert set(BUNDLED.ehr_bindings) == {"noric", "npr"}
    planned = 0
    for register in BUNDLED.ehr_bindings:
        for form in form_ids_with_bindings(BUNDLED, register):
            plan = plan_form(BUNDLED, register, form)
            assert plan.bound, (register, form)
            planned += len(plan.bound)
    assert planned == sum(len(b.bindings or []) for b in BUNDLED.ehr_bindings.values())


def test_bundled_bindings_have_notes_where_they_judge() -> None:
    for bset in BUNDLED.ehr_bindings.values():
        for b in bset.bindings or []:
            if b.pick == "any" or b.window_start_days is not None or b.code_filter is not None:
                assert b.note, f"{b.variable}: a filtered or windowed binding says why in a note"


def test_bundled_bindings_read_from_the_index(tmp_path: Path, runner) -> None:
    index = tmp_path / "idx"
    done = runner.invoke(app, ["--index", str(index), "build"])
    assert done.exit_code == 0, done.output
    from_index = Catalogue.from_index(index)
    assert from_index.ehr_bindings == BUNDLED.ehr_bindings


# --- coverage --------------------------------------------------------------------------------


def test_coverage_counts_each_variable_once(tmp_path: Path) -> None:
    rows = {r.form: r for r in coverage(Catalogue.load(_catalogue(tmp_path)), "alpha")}
    proc = rows["prosedyre"]
    assert proc.variables == 5
    assert proc.counts == {"ehr": 3, "key_register": 1, "derived": 1, "manual": 0}
    assert rows["basis"].counts["manual"] == 2
    total = totals(list(rows.values()))
    assert total["variables"] == 7 and total["counts"]["ehr"] == 3
    assert total["shares"]["ehr"] == round(3 / 7, 4)


def test_coverage_of_the_bundled_catalogue() -> None:
    rows = coverage(BUNDLED)
    assert not any(r.register == "omop" for r in rows)  # a data model, not a register
    angio = next(r for r in rows if (r.register, r.form) == ("noric", "angio_pci"))
    assert angio.counts["ehr"] == 10
    # NORIC's date of death and discharge medication come from key registers (mappings)
    assert sum(r.counts["key_register"] for r in rows if r.register == "noric") >= 3
    for r in rows:
        assert sum(r.counts.values()) == r.variables


def test_coverage_cli(runner, tmp_path: Path) -> None:
    root = _catalogue(tmp_path)
    base = ["-c", str(root), "--index", str(tmp_path / "idx"), "coverage"]
    done = runner.invoke(app, [*base, "--register", "alpha", "--format", "json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert data["total"]["counts"] == {"ehr": 3, "key_register": 1, "derived": 1, "manual": 2}
    table = runner.invoke(app, [*base, "--register", "alpha"])
    assert table.exit_code == 0 and "prosedyre" in table.output and "3 (60%)" in table.output
    unknown = runner.invoke(app, [*base, "--register", "beta"])
    assert unknown.exit_code == 2 and "no register 'beta'" in unknown.output


def test_findings_name_the_line_of_the_binding(tmp_path: Path) -> None:
    root = _catalogue(tmp_path, _broken({"unit": "mmHg"}))
    text = (root / "ehr" / "alpha.yaml").read_text(encoding="utf-8").splitlines()
    line = next(n for n, t in enumerate(text, 1) if t.strip() == "- variable: alpha:VEKT")
    [message] = _messages(root)
    assert message.startswith(f"ehr/alpha.yaml:{line}: alpha:VEKT: unit:")


@pytest.mark.parametrize(
    ("codes", "fhir_code", "expected"),
    [
        (["I214", "I219", "I10"], "I21.4", "I214"),  # the value set writes ICD-10-NO style
        (["I21.4", "I21.9", "I10"], "I214", "I21.4"),  # the value set writes WHO style
        (["I21.4", "I21.9", "I10"], "I10", "I10"),
    ],
)
def test_icd10_codes_are_written_as_the_value_set_writes_them(
    tmp_path: Path, codes: list[str], fhir_code: str, expected: str
) -> None:
    from regcat.ehr.prefill import prefill

    register = _register()
    register["variables"].append(
        {
            "id": "alpha:HOVED",
            "form": "prosedyre",
            "label": {"nb": "Hovedtilstand"},
            "datatype": "coded",
            "value_set": "alpha:ICD",
        }
    )
    register["value_sets"].append(
        {
            "id": "alpha:ICD",
            "code_system": "ICD10",
            "codes": [{"code": c, "label": {"nb": c}} for c in codes],
        }
    )
    data = _bindings()
    data["bindings"].append(
        {
            "variable": "alpha:HOVED",
            "resource": "Condition",
            "element": "Condition.code",
            "code_filter": {"element": "Condition.code", "system": "ICD10", "codes": ["I*"]},
            "window_start_days": 0,
            "window_end_days": 0,
            "pick": "first",
        }
    )
    root = write_catalogue(tmp_path / "cat", [register])
    systems = (root / "codesystems.yaml").read_text(encoding="utf-8")
    (root / "codesystems.yaml").write_text(systems + "- id: LOINC\n  name:\n    nb: LOINC\n")
    (root / "ehr").mkdir()
    (root / "ehr" / "alpha.yaml").write_text(dump_yaml(data), encoding="utf-8")
    bulk = tmp_path / "bulk"
    bulk.mkdir()
    patient = {"resourceType": "Patient", "id": "p1"}
    procedure = {
        "resourceType": "Procedure",
        "id": "x1",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": "2024-03-05",
        "code": {
            "coding": [{"system": "https://w3id.org/regcat/fhir/CodeSystem/NCSP", "code": "FNG05"}]
        },
    }
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "recordedDate": "2024-03-05",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-no", "code": fhir_code}]},
    }
    for resource in (patient, procedure, condition):
        (bulk / f"{resource['resourceType']}.ndjson").write_text(json.dumps(resource) + "\n")
    out = tmp_path / "out.jsonl"
    report = prefill(Catalogue.load(root), "alpha", "prosedyre", bulk, "json", out)
    assert report.events == 1
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["values"]["HOVED"] == expected
