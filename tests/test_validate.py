"""Validation rules, one per test, on a tiny catalogue the tests write themselves."""

from __future__ import annotations

import json

import pytest

from regcat.catalogue import validate_catalogue
from regcat.cli import app
from regcat.io import dump_yaml

from .conftest import tiny_register, write_catalogue


def findings_for(tmp_path, register: dict, extra_registers=()):
    root = write_catalogue(tmp_path / "cat", [register, *extra_registers])
    return validate_catalogue(root, jobs=1)


def messages(report) -> list[str]:
    return [f.render() for f in report.findings]


def test_tiny_catalogue_is_clean(tmp_path):
    report = findings_for(tmp_path, tiny_register())
    assert report.files == 2
    assert report.findings == []
    assert report.exit_code == 0


def variable(**fields) -> dict:
    base = {"id": "alpha:X", "label": {"nb": "X"}, "datatype": "string"}
    base.update(fields)
    return base


def with_variable(**fields) -> dict:
    register = tiny_register()
    register["variables"].append(variable(**fields))
    return register


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"datatype": "colour"}, "alpha:X: field 'datatype': Input should be"),
        ({"colour": "red"}, "alpha:X: field 'colour': unknown key"),
        ({"label": None}, "alpha:X: field 'label'"),
        ({"form": "nope"}, "alpha:X: field 'form': no form 'nope' in this register"),
        ({"value_set": "alpha:NOPE"}, "field 'value_set': no value set 'alpha:NOPE'"),
        ({"superseded_by": "alpha:GONE"}, "field 'superseded_by': no variable 'alpha:GONE'"),
        (
            {"activated_by": {"variable": "alpha:NOPE", "values": ["1"]}},
            "field 'activated_by.variable': no variable 'alpha:NOPE'",
        ),
        ({"codings": [{"system": "ICD10", "code": "I21.5"}]}, "ICD10:I21.5"),
        ({"codings": [{"system": "SCTID", "code": "22298007"}]}, "SCTID:22298007"),
        (
            {"codings": [{"system": "FOO", "code": "1"}]},
            "no code system (see codesystems.yaml) 'FOO'",
        ),
        ({"valid_from": "2021-01-01", "valid_to": "2020-01-01"}, "valid_from 2021-01-01 is after"),
        ({"valid_from": "2021-13-01"}, "field 'valid_from'"),
        ({"id": "beta:X"}, "beta:X: a variable id must start with 'alpha:'"),
        ({"id": "alpha:bad id"}, "field 'id': Invalid id format"),
        ({"datatype": "integer", "max_value": "abc"}, "field 'max_value': 'abc' is not a number"),
        ({"datatype": "decimal", "soft_min": "-"}, "field 'soft_min': '-' is not a number"),
        ({"datatype": "date", "min_value": "1.1.1980"}, "field 'min_value': '1.1.1980' is neither"),
    ],
)
def test_variable_rules(tmp_path, fields, expected):
    report = findings_for(tmp_path, with_variable(**fields))
    assert any(expected in m for m in messages(report)), messages(report)
    assert report.exit_code == 1
    for finding in report.findings:
        assert finding.path == "registers/alpha.yaml"


def test_finding_names_file_line_and_id(tmp_path):
    report = findings_for(tmp_path, with_variable(form="nope"))
    (finding,) = report.findings
    assert finding.line is not None
    root = tmp_path / "cat"
    lines = (root / finding.path).read_text().splitlines()
    assert lines[finding.line - 1].strip() == "- id: alpha:X"
    assert finding.render().startswith(f"registers/alpha.yaml:{finding.line}: alpha:X: ")


def test_one_bad_variable_does_not_hide_reference_checks(tmp_path):
    register = with_variable(datatype="colour")
    register["variables"].append(variable(id="alpha:Y", form="nope"))
    report = findings_for(tmp_path, register)
    text = "\n".join(messages(report))
    assert "alpha:X: field 'datatype'" in text
    assert "alpha:Y: field 'form': no form 'nope'" in text


def test_duplicate_variable_ids_in_one_file(tmp_path):
    register = tiny_register()
    register["variables"].append(dict(register["variables"][0]))
    report = findings_for(tmp_path, register)
    assert any("duplicate variable id" in m for m in messages(report))


def test_duplicate_value_set_codes_and_empty_labels(tmp_path):
    register = tiny_register()
    register["value_sets"][0]["codes"] += [{"code": "1", "label": {"nb": "igjen"}}, {"code": "3"}]
    text = "\n".join(messages(findings_for(tmp_path, register)))
    assert "code '1' appears 2 times" in text
    assert "code '3' has no label" in text


def test_bad_meaning_curie_code(tmp_path):
    register = tiny_register()
    register["value_sets"][0]["codes"][0]["meaning"] = "ICD10:I21.5"
    text = "\n".join(messages(findings_for(tmp_path, register)))
    assert "ICD10:I21.5" in text


def test_register_file_name_must_match_id(tmp_path):
    root = write_catalogue(tmp_path / "cat")
    (root / "registers" / "alpha.yaml").rename(root / "registers" / "other.yaml")
    report = validate_catalogue(root, jobs=1)
    assert any("must match the file name 'other'" in m for m in messages(report))


def test_cross_file_duplicates_and_references(tmp_path):
    beta = tiny_register(id="beta", forms=[], value_sets=[])
    beta["variables"] = [
        variable(id="beta:A", superseded_by="alpha:DIAG"),
        variable(id="beta:B", value_set="alpha:DIAG"),
    ]
    report = findings_for(tmp_path, tiny_register(), [beta])
    assert report.findings == []


def test_mapping_file_references_are_checked(tmp_path):
    root = write_catalogue(tmp_path / "cat")
    (root / "mappings").mkdir()
    (root / "mappings" / "m.sssom.tsv").write_text(
        "# mapping_set_id: https://w3id.org/regcat/mappings/m\n"
        "# license: https://creativecommons.org/licenses/by/4.0/\n"
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\n"
        "alpha:DIAG\tskos:exactMatch\tICD10:I21\tsemapv:ManualMappingCuration\n"
        "alpha:NOPE\tskos:exactMatch\talpha:DIAG\tsemapv:ManualMappingCuration\n"
    )
    report = validate_catalogue(root, jobs=1)
    assert [f.render() for f in report.findings] == [
        "mappings/m.sssom.tsv: alpha:NOPE→alpha:DIAG: field 'subject_id': no variable 'alpha:NOPE'"
    ]


def test_parallel_and_serial_validation_agree(tmp_path, monkeypatch):
    import regcat.catalogue as cat

    registers = [tiny_register()]
    for n in range(3):
        reg = tiny_register(id=f"r{n}", forms=[], value_sets=[])
        reg["variables"] = [variable(id=f"r{n}:V{i}", form="nope") for i in range(50)]
        registers.append(reg)
    root = write_catalogue(tmp_path / "cat", registers)
    monkeypatch.setattr(cat, "_PARALLEL_BYTES", 0)
    parallel = validate_catalogue(root, jobs=2)
    serial = validate_catalogue(root, jobs=1)
    assert len(parallel.findings) == 150
    assert parallel.findings == serial.findings


# --- the command ------------------------------------------------------------------


def test_cli_validate_clean_exit_0(runner, catalogue):
    result = runner.invoke(app, ["--catalogue", str(catalogue), "validate"])
    assert result.exit_code == 0, result.output
    assert "0 error(s)" in result.output


def test_cli_validate_findings_exit_1_text_and_json(runner, tmp_path):
    root = write_catalogue(tmp_path / "cat", [with_variable(form="nope")])
    result = runner.invoke(app, ["--catalogue", str(root), "validate"])
    assert result.exit_code == 1
    assert "registers/alpha.yaml:" in result.stdout
    assert ": alpha:X: field 'form': no form 'nope' in this register" in result.stdout
    result = runner.invoke(app, ["--catalogue", str(root), "validate", "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["errors"] == 1
    assert data["findings"][0]["id"] == "alpha:X"
    assert data["findings"][0]["rule"] == "ref-form"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"id: alpha\nvariables: [\n", "registers/alpha.yaml:3: malformed YAML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "registers/alpha.yaml: binary file"),
        (b"- just\n- a list\n", "expected a YAML mapping"),
        (b"", "expected a YAML mapping"),
    ],
)
def test_cli_validate_unusable_file_exit_2(runner, tmp_path, content, expected):
    root = write_catalogue(tmp_path / "cat")
    (root / "registers" / "alpha.yaml").write_bytes(content)
    result = runner.invoke(app, ["--catalogue", str(root), "validate"])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output


def test_cli_validate_not_a_catalogue_exit_2(runner, tmp_path):
    result = runner.invoke(app, ["--catalogue", str(tmp_path), "validate"])
    assert result.exit_code == 2
    assert "not a regcat catalogue" in result.output
    result = runner.invoke(app, ["--catalogue", str(tmp_path / "missing"), "validate"])
    assert result.exit_code == 2
    assert "catalogue directory not found" in result.output


def test_hostile_labels_validate_and_round_trip(tmp_path):
    hostile = "</script><script>alert(1)</script> {{ config }} \"q\" 'x'\n# not a heading"
    register = with_variable(label={"nb": hostile, "en": "[link](javascript:x)"})
    root = write_catalogue(tmp_path / "cat", [register])
    assert validate_catalogue(root, jobs=1).findings == []
    text = (root / "registers" / "alpha.yaml").read_text()
    assert dump_yaml(register) == text


def test_limits_in_their_usual_forms_pass(tmp_path):
    register = tiny_register()
    register["variables"] += [
        variable(id="alpha:N", datatype="decimal", min_value="0", max_value="2.5", soft_max="-1e3"),
        variable(id="alpha:D", datatype="date", min_value="'1980-01-01'", max_value="today"),
        variable(id="alpha:E", datatype="date", soft_max="toDayPlus30Days", soft_min="birthYear"),
    ]
    assert findings_for(tmp_path, register).findings == []
