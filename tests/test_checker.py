"""The batch checker (`regcat check-data`): one test per rule, the file formats, date
tokens, activation, identifiers never echoed, hostile names and unusable input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from regcat.catalogue import Catalogue
from regcat.checker import check_data, checker_sql, quote_ident
from regcat.cli import app
from regcat.errors import RegcatError
from regcat.generated.model import ActivationRule, Variable
from tests.conftest import tiny_register, write_catalogue

TODAY = dt.date(2025, 6, 1)
FNR = "01017012345"


def var(name: str, datatype: str, **extra) -> dict:
    return {
        "id": f"alpha:{name}",
        "form": "basis",
        "label": {"nb": name},
        "datatype": datatype,
        **extra,
    }


def make_catalogue(tmp_path: Path, variables: list[dict]) -> Catalogue:
    reg = tiny_register(variables=variables)
    return Catalogue.load(write_catalogue(tmp_path / "cat", [reg]))


def csv(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(cat: Catalogue, path: Path, **kw):
    return check_data(cat, "alpha", path, today=TODAY, **kw)


def rows_of(report, rule: str, field: str) -> list[int]:
    return [e["row"] for e in report.examples if e["rule"] == rule and e["field"] == field]


# (variable, csv column text for rows 1..3, rule, field, bad rows)
CASES = [
    (var("A", "integer", required=True), ["1", "", "3"], "required", [2]),
    (var("A", "integer"), ["1", "x", "2.5"], "type", [2, 3]),
    (var("A", "decimal"), ["1.5", "1,5", "2"], "type", [2]),
    (var("A", "date"), ["2020-01-01", "2020-13-01", ""], "type", [2]),
    (var("A", "boolean"), ["1", "0", "kanskje"], "type", [3]),
    (var("A", "coded", value_set="alpha:DIAG"), ["1", "3", "2"], "value_set", [2]),
    (var("A", "integer", min_value="10"), ["10", "9", ""], "hard_min", [2]),
    (var("A", "integer", max_value="20"), ["21", "20", "5"], "hard_max", [1]),
    (var("A", "decimal", soft_min="1.5"), ["1.4", "1.5", "9"], "soft_min", [1]),
    (var("A", "decimal", soft_max="1.5"), ["1.4", "1.6", "9"], "soft_max", [2, 3]),
    (var("A", "string", max_length=3), ["abc", "abcd", "é"], "max_length", [2]),
    (var("A", "decimal", decimals=1), ["1.5", "1.55", "2"], "decimals", [2]),
    (
        var("A", "string", allowed_characters="abc -"),
        ["a-b", "abd", "c c"],
        "allowed_characters",
        [2],
    ),
    (var("A", "identifier", pattern="^[0-9]{3}$"), ["123", "12a", "1234"], "pattern", [2, 3]),
]


@pytest.mark.parametrize(("variable", "values", "rule", "bad"), CASES, ids=[c[2] for c in CASES])
def test_each_rule(tmp_path, variable, values, rule, bad):
    cat = make_catalogue(tmp_path, [variable])
    report = run(cat, csv(tmp_path, "A\n" + "\n".join(f'"{v}"' for v in values) + "\n"))
    assert report.rows == 3
    assert report.by_rule == {f"{rule}:A": len(bad)}
    assert rows_of(report, rule, "A") == bad
    severity = "warning" if rule.startswith("soft") else "error"
    assert report.exit_code == (0 if severity == "warning" else 1)
    # the same column with only the valid values passes
    good = [v for i, v in enumerate(values, 1) if i not in bad]
    clean = run(cat, csv(tmp_path, "A\n" + "\n".join(f'"{v}"' for v in good) + "\n", "ok.csv"))
    assert clean.by_rule == {} and clean.exit_code == 0


def test_soft_limit_not_counted_twice(tmp_path):
    cat = make_catalogue(tmp_path, [var("A", "integer", min_value="0", soft_min="10")])
    report = run(cat, csv(tmp_path, "A\n-1\n5\n20\n"))
    assert report.by_rule == {"hard_min:A": 1, "soft_min:A": 1}
    assert (report.errors, report.warnings) == (1, 1)


def test_date_tokens(tmp_path):
    cat = make_catalogue(
        tmp_path,
        [
            var("FODSELSDATO", "date", min_value="'1900-01-01'", max_value="today"),
            var("HENDELSE", "date", max_value="toDayPlus30Days", soft_max="toDay"),
            var("AAR", "integer", min_value="birthYear", max_value="todayYear"),
        ],
    )
    text = (
        "FODSELSDATO,HENDELSE,AAR\n"
        "1950-05-05,2025-06-01,1950\n"  # ok
        "1899-12-31,2025-07-01,1898\n"  # hard_min birth, soft_max event, AAR < birthYear
        "2025-06-02,2025-07-02,2026\n"  # birth after today, event > today+30, AAR > 2025
    )
    report = run(cat, csv(tmp_path, text))
    assert report.by_rule == {
        "hard_min:FODSELSDATO": 1,
        "hard_max:FODSELSDATO": 1,
        "hard_max:HENDELSE": 1,
        "soft_max:HENDELSE": 1,
        "hard_min:AAR": 1,
        "hard_max:AAR": 1,
    }
    assert rows_of(report, "hard_min", "AAR") == [2]
    assert rows_of(report, "hard_max", "HENDELSE") == [3]
    assert report.notes == []


def test_birth_year_without_birth_date_is_skipped_with_a_note(tmp_path):
    cat = make_catalogue(tmp_path, [var("AAR", "integer", min_value="birthYear")])
    report = run(cat, csv(tmp_path, "AAR\n1800\n"))
    assert report.by_rule == {}
    assert any("birthYear" in n and "AAR" in n for n in report.notes)


def activation_catalogue(tmp_path):
    return make_catalogue(
        tmp_path,
        [
            var("ROYKER", "coded", value_set="alpha:DIAG", required=True),
            var(
                "PAKKEAAR",
                "integer",
                required=True,
                activated_by={"variable": "alpha:ROYKER", "values": ["1"]},
            ),
        ],
    )


def test_activation_both_ways(tmp_path):
    cat = activation_catalogue(tmp_path)
    text = (
        "ROYKER,PAKKEAAR\n"
        "1,10\n"  # activated and answered: ok
        "2,\n"  # not activated, not answered: ok although required
        "2,5\n"  # answered though not activated: activation error
        "1,\n"  # activated, required, missing: required error
        ",3\n"  # activating answer missing: required (ROYKER) + activation
    )
    report = run(cat, csv(tmp_path, text))
    assert report.by_rule == {
        "activation:PAKKEAAR": 2,
        "required:PAKKEAAR": 1,
        "required:ROYKER": 1,
    }
    assert rows_of(report, "activation", "PAKKEAAR") == [3, 5]
    assert rows_of(report, "required", "PAKKEAAR") == [4]


def test_missing_and_unknown_columns(tmp_path):
    cat = activation_catalogue(tmp_path)
    report = run(cat, csv(tmp_path, "PAKKEAAR,EKSTRA\n1,x\n2,y\n", "a.csv"))
    assert report.by_rule == {"missing_column:ROYKER": 1, "unknown_column:EKSTRA": 1}
    assert report.missing_columns == ["ROYKER"]
    assert report.unknown_columns == ["EKSTRA"]
    assert (report.errors, report.warnings, report.exit_code) == (1, 1, 1)
    # the activation of PAKKEAAR cannot be evaluated: a note, not a finding
    assert any("activation:PAKKEAAR" in n for n in report.notes)
    report = run(cat, csv(tmp_path, "ROYKER\n1\n2\n", "b.csv"))
    assert report.by_rule == {"missing_column:PAKKEAAR": 1}


def test_physical_name_is_accepted(tmp_path):
    cat = make_catalogue(tmp_path, [var("PATIENT_AGE", "integer", physical_name="AGE")])
    report = run(cat, csv(tmp_path, "age\n40\nx\n"))
    assert report.by_rule == {"type:PATIENT_AGE": 1}


MIXED = [
    var("FNR", "identifier", pattern="^[0-9]{11}$", sensitivity="direct_identifier"),
    var("NAVN", "string", max_length=3, sensitivity="direct_identifier"),
    var("ALDER", "integer", min_value="0", max_value="120"),
    var("DIAG", "coded", value_set="alpha:DIAG"),
    var("DATO", "date", max_value="today"),
    var("VEKT", "decimal", decimals=1),
]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_formats(tmp_path, fmt):
    cat = make_catalogue(tmp_path, MIXED)
    rows = [
        (FNR, "Ola", 40, "1", dt.date(2020, 1, 1), 70.5),
        ("0101701234x", "Kari Nordmann", 130, "7", dt.date(2030, 1, 1), 70.55),
        (None, None, None, None, None, None),
    ]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (FNR VARCHAR, NAVN VARCHAR, ALDER INTEGER, DIAG VARCHAR, "
        "DATO DATE, VEKT DOUBLE)"
    )
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", rows)
    path = tmp_path / f"data.{fmt}"
    option = {"csv": "FORMAT csv, HEADER", "parquet": "FORMAT parquet", "jsonl": "FORMAT json"}
    con.execute(f"COPY t TO '{path}' ({option[fmt]})")
    report = run(cat, path)
    assert report.rows == 3
    assert report.by_rule == {
        "pattern:FNR": 1,
        "max_length:NAVN": 1,
        "hard_max:ALDER": 1,
        "value_set:DIAG": 1,
        "hard_max:DATO": 1,
        "decimals:VEKT": 1,
    }
    assert {e["row"] for e in report.examples} == {2}


def test_parquet_float_column_for_integer_variable(tmp_path):
    cat = make_catalogue(tmp_path, [var("A", "integer", max_value="10")])
    path = tmp_path / "f.parquet"
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES (1.0), (2.5), (NULL), (11.0)) t(A)) "
        f"TO '{path}' (FORMAT parquet)"
    )
    report = run(cat, path)
    assert report.by_rule == {"type:A": 1, "hard_max:A": 1}


def test_identifiers_never_echoed(tmp_path, runner, monkeypatch):
    root = write_catalogue(tmp_path / "cat", [tiny_register(variables=MIXED)])
    bad_fnr = FNR + "9"  # too long: breaks the pattern
    path = csv(
        tmp_path,
        f"FNR,NAVN,ALDER,DIAG,DATO,VEKT\n{FNR},Ola,40,1,2020-01-01,1\n"
        f"{bad_fnr},Nordmann,-4,{FNR},{FNR},{FNR}\n",
    )
    args = ["--catalogue", str(root), "--index", str(tmp_path / "idx"), "check-data", "alpha"]
    for fmt in ("text", "json"):
        result = runner.invoke(app, [*args, str(path), "--format", fmt])
        assert result.exit_code == 1, result.output
        assert FNR not in result.output and "Nordmann" not in result.output
        assert "pattern" in result.output and "FNR" in result.output
    data = json.loads(runner.invoke(app, [*args, str(path), "--format", "json"]).stdout)
    assert data["by_rule"]["pattern:FNR"] == 1
    assert {"row": 2, "field": "FNR", "rule": "pattern", "severity": "error"} in data["examples"]
    # a malformed CSV whose bad line holds a fødselsnummer: the error names the line only
    broken = csv(tmp_path, f"FNR,NAVN\n{FNR},Ola\n{FNR},Ola,ekstra,felt\n", "broken.csv")
    result = runner.invoke(app, [*args, str(broken)])
    assert result.exit_code == 2
    assert FNR not in result.output and "Traceback" not in result.output


def test_hostile_names_do_not_inject(tmp_path):
    hostile_col = 'x"; DROP TABLE t; --'
    hostile_code = "'); --"
    cat = make_catalogue(tmp_path, [var("DIAG", "coded", value_set="alpha:DIAG")])
    cat.value_sets["alpha:DIAG"].codes[0].code = hostile_code
    # the schema's id pattern forbids such a name: build the variable around validation
    variable = Variable.model_construct(**{**var("SAFE", "string"), "id": f"alpha:{hostile_col}"})
    variable.activated_by = ActivationRule(variable="alpha:DIAG", values=[hostile_code])
    variable.allowed_characters = "a'\"]\\"
    variable.pattern = "^a'$"
    cat.registers["alpha"].variables.append(variable)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (DIAG VARCHAR, {quote_ident(hostile_col)} VARCHAR)")
    path = tmp_path / "h.parquet"
    pq.write_table(pa.table({"DIAG": [hostile_code, "2"], hostile_col: ["a'", "b"]}), path)
    report = run(cat, path, form="basis")
    assert report.by_rule == {
        f"activation:{hostile_col}": 1,
        f"allowed_characters:{hostile_col}": 1,
        f"pattern:{hostile_col}": 1,
    }
    sql = checker_sql(cat, "alpha", "basis", "t", today=TODAY)
    con.execute(sql).fetchone()  # runs as one statement on a table named t ...
    assert con.execute("SELECT count(*) FROM t").fetchone() == (0,)  # ... which survives


def test_bad_input(tmp_path, runner):
    root = write_catalogue(tmp_path / "cat", [tiny_register(variables=MIXED)])
    args = ["--catalogue", str(root), "--index", str(tmp_path / "idx"), "check-data"]
    binary = tmp_path / "b.csv"
    binary.write_bytes(bytes(range(256)) * 10)
    wrong_delim = csv(tmp_path, "FNR:NAVN:ALDER\n1:2:3\n", "colon.csv")
    fake_parquet = csv(tmp_path, "not parquet", "x.parquet")
    empty = csv(tmp_path, "", "empty.csv")
    good = csv(tmp_path, "FNR,ALDER\n1,2\n", "good.csv")
    cases = [
        (["alpha", str(tmp_path / "missing.csv")], "missing.csv: no such file"),
        (["alpha", str(binary)], "binary"),
        (["alpha", str(wrong_delim)], "no column"),
        (["alpha", str(fake_parquet)], "not a Parquet file"),
        (["alpha", str(empty)], "empty"),
        (["beta", str(good)], "unknown register 'beta'"),
        (["alpha", str(good), "--form", "nope"], "no form 'nope'"),
    ]
    for argv, message in cases:
        result = runner.invoke(app, [*args, *argv])
        assert result.exit_code == 2, (argv, result.output)
        assert message in result.output, (argv, result.output)
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_bad_input_library(tmp_path):
    cat = make_catalogue(tmp_path, MIXED)
    ragged = csv(tmp_path, "FNR,NAVN\n1,2\n3,4,5\n", "ragged.csv")
    with pytest.raises(RegcatError) as info:
        run(cat, ragged)
    assert "ragged.csv" in str(info.value)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("NAVN\nÆrlig Øystein\n".encode("latin-1"))
    with pytest.raises(RegcatError, match="UTF-8"):
        run(cat, latin1)


def test_cli_ok_and_warnings_exit_zero(tmp_path, runner):
    reg = tiny_register(variables=[var("A", "integer", soft_max="5")])
    root = write_catalogue(tmp_path / "cat", [reg])
    path = csv(tmp_path, "A\n1\n9\n")
    result = runner.invoke(
        app,
        [
            "--catalogue",
            str(root),
            "--index",
            str(tmp_path / "idx"),
            "check-data",
            "alpha",
            str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 rows, 0 error(s), 1 warning(s)" in result.output
