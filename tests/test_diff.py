"""`regcat diff`: two catalogue directories, two klokebok codebooks written here, the
real AblaNor pair (when ../shared/data is present), and bad input."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest

from regcat.cli import app
from regcat.diff import codebook_kind, diff_paths
from regcat.errors import RegcatError
from regcat.importers.klokebok import COLUMNS

from .conftest import snapshot, tiny_register, write_catalogue

# --- catalogues -------------------------------------------------------------------------


def changed_register() -> dict:
    register = copy.deepcopy(tiny_register())
    register["variables"][1]["label"]["nb"] = "Akutt hjerteinfarkt"  # alpha:INFARKT
    register["variables"][1]["required"] = True
    register["variables"].append(
        {"id": "alpha:ALDER", "label": {"nb": "Alder"}, "datatype": "integer", "form": "basis"}
    )
    codes = register["value_sets"][0]["codes"]
    codes[0]["label"]["nb"] = "STEMI (ST-elevasjon)"  # code 1 relabelled
    del codes[1]  # code 2 removed
    codes.append({"code": "9", "label": {"nb": "Ukjent"}})
    register["forms"].append({"id": "oppf", "name": {"nb": "Oppfølging"}})
    return register


@pytest.fixture
def two(tmp_path: Path) -> tuple[Path, Path]:
    old = write_catalogue(tmp_path / "old")
    new = write_catalogue(tmp_path / "new", [changed_register()])
    return old, new


def test_catalogue_diff(two):
    diff = diff_paths(*two)
    assert not diff.identical
    data = diff.to_json()
    assert data["kind"] == "catalogue"
    assert data["variables"] == {
        "added": ["alpha:ALDER"],
        "removed": [],
        "changed": {"alpha:INFARKT": ["label", "required"]},
    }
    assert data["forms"]["added"] == ["alpha:oppf"]
    assert data["codes"] == {
        "added": {"alpha:DIAG": ["9"]},
        "removed": {"alpha:DIAG": ["2"]},
        "changed": {"alpha:DIAG": {"1": ["label"]}},
    }
    assert data["registers"]["changed"] == {}  # forms/variables are compared on their own
    assert data["counts"]["variables_added"] == 1
    assert "~ variable alpha:INFARKT: label, required" in diff.lines()
    assert "- code alpha:DIAG 2" in diff.lines()
    assert diff.summary().startswith("forms 1 added")


def test_identical_catalogues(tmp_path):
    old = write_catalogue(tmp_path / "a")
    new = write_catalogue(tmp_path / "b")
    diff = diff_paths(old, new)
    assert diff.identical and diff.lines() == [] and diff.summary() == "no differences"


def test_register_filter(tmp_path):
    other = tiny_register(id="beta", variables=[], value_sets=[])
    old = write_catalogue(tmp_path / "old", [tiny_register()])
    new = write_catalogue(tmp_path / "new", [changed_register(), other])
    assert diff_paths(old, new).entities["registers"].added == ["beta"]
    only = diff_paths(old, new, "beta")
    assert only.entities["registers"].added == ["beta"]
    assert only.entities["variables"].added == []
    with pytest.raises(RegcatError, match="'gamma' is in neither catalogue"):
        diff_paths(old, new, "gamma")


def test_removed_register_and_variable(two):
    old, new = two
    diff = diff_paths(new, old)  # the other way round
    assert diff.entities["variables"].removed == ["alpha:ALDER"]
    assert diff.entities["forms"].removed == ["alpha:oppf"]


def test_broken_catalogue_is_bad_input(tmp_path):
    old = write_catalogue(tmp_path / "old")
    new = write_catalogue(tmp_path / "new")
    (new / "registers" / "alpha.yaml").write_text("id: alpha\nname: 3\n", encoding="utf-8")
    with pytest.raises(RegcatError, match="new catalogue does not match the model"):
        diff_paths(old, new)


# --- codebooks --------------------------------------------------------------------------


def klokebok(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter=";")
        writer.writeheader()
        for row in rows:
            base = {
                "skjemanavn": "Basis",
                "obligatorisk": "Ja",
                "aktiveringsspoersmaal": "Nei",
                "underspoersmaal": "Nei",
                "innfoert_dato": "2020-01-01",
                "tabell": "basis",
            }
            writer.writerow(base | row)
    return path


def list_rows(variable: str, label: str, codes: list[tuple[str, str]]) -> list[dict]:
    return [
        {
            "ledetekst": label,
            "type": "Listevariabel",
            "listeverdier": code,
            "listetekst": text,
            "fysisk_feltnavn": variable,
            "variabel_id": f"BASIS_{variable}",
        }
        for code, text in codes
    ]


def number_row(variable: str, label: str, **extra) -> dict:
    return {
        "ledetekst": label,
        "type": "Tallvariabel",
        "fysisk_feltnavn": variable,
        "variabel_id": f"BASIS_{variable}",
        **extra,
    }


@pytest.fixture
def codebooks(tmp_path: Path) -> tuple[Path, Path]:
    old = klokebok(
        tmp_path / "old.csv",
        list_rows("DIABETES", "Diabetes", [("0", "Nei"), ("1", "Ja"), ("9", "Ukjent")])
        + [number_row("VEKT", "Vekt (kg)"), number_row("HOYDE", "Høyde (cm)")],
    )
    new = klokebok(
        tmp_path / "new.csv",
        list_rows("DIABETES", "Diabetes", [("0", "Nei"), ("1", "Ja, kjent"), ("2", "Ny")])
        + [number_row("VEKT", "Kroppsvekt (kg)"), number_row("BMI", "BMI")],
    )
    return old, new


def test_codebook_diff(codebooks):
    diff = diff_paths(*codebooks, "alpha")
    assert diff.kind == "klokebok"
    variables = diff.entities["variables"]
    assert variables.added == ["alpha:BASIS_BMI"]
    assert variables.removed == ["alpha:BASIS_HOYDE"]
    assert variables.changed == {"alpha:BASIS_VEKT": ["label"]}
    assert diff.codes_added == {"alpha:BASIS_DIABETES": ["2"]}
    assert diff.codes_removed == {"alpha:BASIS_DIABETES": ["9"]}
    assert diff.codes_changed == {"alpha:BASIS_DIABETES": {"1": ["label"]}}


def test_identical_codebooks(codebooks):
    old, _ = codebooks
    assert diff_paths(old, old, "alpha").identical


def test_codebook_kind_by_content_and_extension(tmp_path):
    json_file = tmp_path / "x.data"
    json_file.write_text('\ufeff {"name": "X"}', encoding="utf-8")
    assert codebook_kind(json_file) == "ssb"
    zip_file = tmp_path / "kodebok.bin"
    zip_file.write_bytes(b"PK\x03\x04rest")
    assert codebook_kind(zip_file) == "mrs"
    assert codebook_kind(klokebok(tmp_path / "k.csv", [])) == "klokebok"
    odd = tmp_path / "x.pdf"
    odd.write_bytes(b"%PDF-1.4")
    with pytest.raises(RegcatError, match="cannot tell what codebook"):
        codebook_kind(odd)


# --- the real AblaNor pair --------------------------------------------------------------


def test_real_ablanor_pair(shared_data, runner):
    folder = shared_data / "oqr-klokebok" / "ablanor"
    old = folder / "AblaNor_klokeboken_29.11.2023.csv"
    new = folder / "ablanor_klokeboken_16.01.2024_v002.csv"
    if not (old.is_file() and new.is_file()):
        pytest.skip("the AblaNor klokebok pair is absent")
    before = snapshot(folder)
    result = runner.invoke(app, ["diff", str(old), str(new), "--register", "ablanor", "-f", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    counts = {k: v for k, v in data["counts"].items() if v}
    print(f"\nAblaNor 2023-11-29 → 2024-01-16: {counts}")
    assert counts == {
        "variables_added": 55,
        "variables_removed": 2,
        "variables_changed": 9,
        "value_sets_removed": 1,
    }
    assert data["variables"]["removed"] == [
        "ablanor:BASEREG_FORSKYVNING",
        "ablanor:BASEREG_VENTETID",
    ]
    assert set(map(tuple, data["variables"]["changed"].values())) == {("valid_from",)}
    assert snapshot(folder) == before


# --- CLI and bad input ------------------------------------------------------------------


def test_cli_text_and_exit_codes(runner, two, tmp_path):
    old, new = two
    result = runner.invoke(app, ["diff", str(old), str(new)])
    assert result.exit_code == 1, result.output
    assert "+ variable alpha:ALDER" in result.stdout
    assert "catalogue: " in result.output
    same = runner.invoke(app, ["diff", str(old), str(old)])
    assert same.exit_code == 0, same.output
    assert "no differences" in same.output


def test_cli_json(runner, codebooks):
    old, new = codebooks
    result = runner.invoke(app, ["diff", str(old), str(new), "-r", "alpha", "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["identical"] is False
    assert data["codes"]["removed"] == {"alpha:BASIS_DIABETES": ["9"]}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing", "no such file or directory"),
        ("mixed", "not one of each"),
        ("no-register", "needs --register"),
        ("bad-register", "expected a lower-case id"),
        ("kinds", "different kinds of codebook"),
        ("not-a-catalogue", "not a regcat catalogue"),
    ],
)
def test_cli_bad_input(runner, tmp_path, codebooks, case, expected):
    old, new = codebooks
    catalogue = write_catalogue(tmp_path / "cat")
    args = {
        "missing": [str(tmp_path / "nope.csv"), str(new), "-r", "alpha"],
        "mixed": [str(catalogue), str(new), "-r", "alpha"],
        "no-register": [str(old), str(new)],
        "bad-register": [str(old), str(new), "-r", "Alpha!"],
        "kinds": [str(old), str(tmp_path / "x.json"), "-r", "alpha"],
        "not-a-catalogue": [str(catalogue), str(tmp_path)],
    }[case]
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["diff", *args])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert snapshot(tmp_path) == before
