"""Bad input on every command: exit 2 (unusable input) or 1 (findings), a message naming
the file (or the option) at fault, never a traceback, and the catalogue left byte for
byte as it was.

Only cases that already behave are here; the ones that do not (tracebacks on over-long
names, on an --out that is a directory, on binary extracts for `transform`, …) are
reported to the owners instead of being written as failing tests.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regcat.cli import app

from .conftest import REPO, snapshot, tiny_register, write_catalogue

KLOKEBOK_HEADER = (
    "skjemanavn;navn_i_rapporteket;ledetekst;obligatorisk;type;listeverdier;listetekst;"
    "normalintervall_start_numerisk;normalintervall_slutt_numerisk;maksintervall_start_numerisk;"
    "maksintervall_slutt_numerisk;normalintervall_start_dato;normalintervall_slutt_dato;"
    "maksintervall_start_dato;maksintervall_slutt_dato;antall_tegn;lovlige_tegn;desimaler;"
    "aktiveringsspoersmaal;underspoersmaal;innfoert_dato;utfaset_dato;tabell;fysisk_feltnavn;"
    "kommentar;variabel_id;hjelpetekst"
)
NASTY = '</script>{{ x }}"; DROP TABLE x; --'


def klokebok_row(var: str, label: str = "Vekt", start: str = "2020-01-01") -> str:
    cells = ["Basis", "", label, "Ja", "Tallvariabel", "", "", "", "", "0", "300"]
    cells += ["", "", "", "", "", "", "", "Nei", "Nei", start, "", "t", var, "", var, ""]
    return ";".join(cells)


GOOD_KLOKEBOK = f"{KLOKEBOK_HEADER}\n{klokebok_row('VEKT')}\n"


# --- shared plumbing -----------------------------------------------------------------


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """Bad (and a few good) input files, outside the catalogue."""
    d = tmp_path / "in"
    d.mkdir()
    (d / "adir").mkdir()
    (d / "empty.csv").write_bytes(b"")
    (d / "empty.json").write_bytes(b"")
    (d / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (d / "binary.csv").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)
    (d / "good.csv").write_text(GOOD_KLOKEBOK, encoding="utf-8")
    (d / "header_only.csv").write_text(KLOKEBOK_HEADER + "\n", encoding="utf-8")
    (d / "truncated.csv").write_text(GOOD_KLOKEBOK[:300], encoding="utf-8")
    (d / "bad_date.csv").write_text(
        f"{KLOKEBOK_HEADER}\n{klokebok_row('VEKT', start='2020-13-45')}\n", encoding="utf-8"
    )
    (d / "csv_really.xlsx").write_text(GOOD_KLOKEBOK, encoding="utf-8")
    (d / "list.json").write_text("[1, 2, 3]", encoding="utf-8")
    (d / "truncated.json").write_text('{"shortName": "X", "dataType"', encoding="utf-8")
    (d / "object.json").write_text('{"foo": 1}', encoding="utf-8")
    (d / "utf16.json").write_bytes('{"foo": 1}'.encode("utf-16"))
    (d / "utf16.csv").write_bytes(GOOD_KLOKEBOK.encode("utf-16"))
    (d / "cp1252.csv").write_bytes("code,label\nFNA00,Åpen\n".encode("cp1252"))
    (d / "tabs.yaml").write_text("a:\n\tb: 1\n", encoding="utf-8")
    (d / "ragged.csv").write_text("a,b\n1,2,3\n", encoding="utf-8")
    (d / "fake.parquet").write_text("a,b\n1,2\n", encoding="utf-8")
    (d / "bad.jsonl").write_text('{"a": 1}\n{"a":\n', encoding="utf-8")
    (d / "old_NCSP.csv").write_text("code,label\nFNA00,A\nFNA10,B\n", encoding="utf-8")
    (d / "new_NCSP.csv").write_text("code,label\nFNA00,A\n", encoding="utf-8")
    (d / "codes_header_only.csv").write_text("code,label\n", encoding="utf-8")
    (d / "codes.csv").write_text("code,label\nFNA00,A\n", encoding="utf-8")
    return d


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_catalogue(tmp_path / "cat", [tiny_register()])


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    """A copy of the bundled catalogue (it has a mapping set with transformations)."""
    root = tmp_path / "bundled"
    shutil.copytree(
        REPO / "catalogue", root, ignore=shutil.ignore_patterns("__pycache__", "__init__.py")
    )
    return root


def fill(args: list[str], cat: Path, inputs: Path, tmp_path: Path) -> list[str]:
    return [a.format(cat=cat, IN=inputs, tmp=tmp_path) for a in args]


def run_bad(
    runner: CliRunner,
    cat: Path,
    tmp_path: Path,
    args: list[str],
    exit_code: int,
    needles: tuple[str, ...],
    *,
    one_line: bool = True,
):
    """Run on `cat`, and check the exit code, the message and that nothing changed."""
    before = snapshot(cat)
    result = runner.invoke(app, ["--catalogue", str(cat), "--index", str(tmp_path / "idx"), *args])
    output = result.output
    assert result.exit_code == exit_code, output
    assert "Traceback" not in output, output
    # a CliRunner keeps an uncaught exception here instead of printing it
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    for needle in needles:
        assert needle in output, output
    if one_line:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr
    assert snapshot(cat) == before
    return result


# --- import klokebok / mrs / ssb / sssom ------------------------------------------


IMPORT_CASES = {
    # id: (args, needles)
    "klokebok-missing": (["klokebok", "{IN}/nope.csv", "-r", "qa"], ("nope.csv", "not found")),
    "klokebok-directory": (["klokebok", "{IN}/adir", "-r", "qa"], ("adir", "directory")),
    "klokebok-empty": (["klokebok", "{IN}/empty.csv", "-r", "qa"], ("empty.csv", "empty")),
    "klokebok-binary": (["klokebok", "{IN}/binary.bin", "-r", "qa"], ("binary.bin", "binary")),
    "klokebok-header-only": (
        ["klokebok", "{IN}/header_only.csv", "-r", "qa"],
        ("header_only.csv:1", "no variables"),
    ),
    "klokebok-truncated": (
        ["klokebok", "{IN}/truncated.csv", "-r", "qa"],
        ("truncated.csv:1", "variabel_id"),
    ),
    "klokebok-json-list": (
        ["klokebok", "{IN}/list.json", "-r", "qa"],
        ("list.json:1", "not an OpenQReg klokebok"),
    ),
    "klokebok-bad-date": (
        ["klokebok", "{IN}/bad_date.csv", "-r", "qa"],
        ("bad_date.csv:2", "field 'innfoert_dato'", "2020-13-45"),
    ),
    "klokebok-bad-register-id": (["klokebok", "{IN}/good.csv", "-r", "Bad Id"], ("--register",)),
    "klokebok-sql-in-register-id": (
        ["klokebok", "{IN}/good.csv", "-r", '"; DROP TABLE x; --'],
        ("--register", "lower-case id"),
    ),
    "mrs-missing": (["mrs", "{IN}/nope.xlsx", "-r", "qa"], ("nope.xlsx", "not found")),
    "mrs-directory": (["mrs", "{IN}/adir", "-r", "qa"], ("adir", "directory")),
    "mrs-empty": (["mrs", "{IN}/empty.csv", "-r", "qa"], ("empty.csv", "not an xlsx")),
    "mrs-binary": (["mrs", "{IN}/binary.bin", "-r", "qa"], ("binary.bin", "not an xlsx")),
    "mrs-csv-named-xlsx": (
        ["mrs", "{IN}/csv_really.xlsx", "-r", "qa"],
        ("csv_really.xlsx", "not an xlsx"),
    ),
    "ssb-missing": (["ssb", "{IN}/nope.json"], ("nope.json", "not found")),
    "ssb-directory": (["ssb", "{IN}/adir"], ("adir", "directory")),
    "ssb-empty": (["ssb", "{IN}/empty.json"], ("empty.json:1", "not valid JSON")),
    "ssb-binary": (["ssb", "{IN}/binary.bin"], ("binary.bin", "binary")),
    "ssb-utf16": (["ssb", "{IN}/utf16.json", "-r", "qa"], ("utf16.json",)),
    "ssb-list": (["ssb", "{IN}/list.json"], ("list.json", "found a list")),
    "ssb-truncated": (["ssb", "{IN}/truncated.json"], ("truncated.json:1", "not valid JSON")),
    "ssb-no-short-name": (["ssb", "{IN}/object.json"], ("object.json", "field 'shortName'")),
    "ssb-csv": (["ssb", "{IN}/good.csv", "-r", "qa"], ("good.csv:1", "not valid JSON")),
    "sssom-missing": (["sssom", "{IN}/nope.tsv", "-n", "x"], ("nope.tsv", "not found")),
    "sssom-directory": (["sssom", "{IN}/adir", "-n", "x"], ("adir", "directory")),
    "sssom-empty": (["sssom", "{IN}/empty.csv", "-n", "x"], ("empty.csv:1", "no header line")),
    "sssom-binary": (["sssom", "{IN}/binary.bin", "-n", "x"], ("binary.bin", "binary")),
    "sssom-utf16": (["sssom", "{IN}/utf16.csv", "-n", "x"], ("utf16.csv",)),
    "sssom-json-list": (
        ["sssom", "{IN}/list.json", "-n", "x"],
        ("list.json:1", "field 'subject_id'", "not an SSSOM table"),
    ),
    "sssom-klokebok": (["sssom", "{IN}/good.csv"], ("good.csv:1", "not an SSSOM table")),
    "sssom-yaml-with-tabs": (["sssom", "{IN}/tabs.yaml", "-n", "x"], ("tabs.yaml:1",)),
    "sssom-name-traversal": (
        ["sssom", "{IN}/good.csv", "-n", "../registers/alpha"],
        ("--name", "../registers/alpha"),
    ),
    "sssom-name-with-space": (["sssom", "{IN}/good.csv", "-n", "Bad Name"], ("--name",)),
}


@pytest.mark.parametrize("case", sorted(IMPORT_CASES))
def test_import_bad_input(runner, tiny, inputs, tmp_path, case):
    args, needles = IMPORT_CASES[case]
    args = ["import", *fill(args, tiny, inputs, tmp_path)]
    run_bad(runner, tiny, tmp_path, args, 2, needles)


@pytest.mark.parametrize("kind", ["tabs", "directory"])
def test_import_over_an_unusable_register_file(runner, tiny, inputs, tmp_path, kind):
    target = tiny / "registers" / "qa.yaml"
    if kind == "tabs":
        target.write_text("id: qa\n\tname: x\n", encoding="utf-8")
        needles = ("qa.yaml:2", "malformed YAML")
    else:
        target.mkdir()
        needles = ("qa.yaml", "is a directory")
    args = ["import", "klokebok", str(inputs / "good.csv"), "-r", "qa"]
    run_bad(runner, tiny, tmp_path, args, 2, needles)


def test_import_dry_run_with_nasty_labels_writes_nothing(runner, tiny, tmp_path):
    source = tmp_path / "nasty.csv"
    label = NASTY + "\nsecond line " + "x" * 20_000
    quoted = '"' + label.replace('"', '""') + '"'
    row = klokebok_row("V", label=quoted)
    source.write_text(f"{KLOKEBOK_HEADER}\n{row}\n", encoding="utf-8")
    before = snapshot(tiny)
    args = ["--catalogue", str(tiny), "import", "klokebok", str(source), "-r", "qa", "--dry-run"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "would write" in result.output
    assert snapshot(tiny) == before


# --- validate / build / stats / lint / overlap / suggest on broken catalogue content --


def _broken(kind: str, cat: Path) -> tuple[int, tuple[str, ...]]:
    """Break the catalogue copy; return the expected exit code and message parts."""
    registers = cat / "registers"
    zz = registers / "zz.yaml"
    if kind == "yaml-tabs":
        zz.write_text("id: zz\n\tname: x\n", encoding="utf-8")
        return 2, ("zz.yaml:2", "tab character")
    if kind == "yaml-truncated":
        zz.write_text('id: zz\nname: {nb: "Z\n', encoding="utf-8")
        return 2, ("zz.yaml:3", "malformed YAML")
    if kind == "binary":
        zz.write_bytes(bytes(range(256)) * 4)
        return 2, ("zz.yaml", "binary")
    if kind == "utf16":
        zz.write_bytes("id: zz\nname:\n  nb: Zø\n".encode("utf-16"))
        return 2, ("zz.yaml",)
    if kind == "cp1252":
        zz.write_bytes("id: zz\nname:\n  nb: Zø\n".encode("cp1252"))
        return 2, ("zz.yaml", "not valid UTF-8")
    if kind == "directory":
        zz.mkdir()
        return 2, ("zz.yaml", "is a directory")
    if kind == "empty":
        zz.write_text("", encoding="utf-8")
        return 2, ("registers/zz.yaml", "empty file")
    if kind == "list":
        zz.write_text("- 1\n- 2\n", encoding="utf-8")
        return 2, ("registers/zz.yaml", "got list")
    if kind == "codesystems-list":
        (cat / "codesystems.yaml").write_text("- a\n", encoding="utf-8")
        return 2, ("codesystems.yaml", "got list")
    if kind == "no-registers":
        shutil.rmtree(registers)
        return 2, ("no 'registers/' folder",)
    if kind == "sssom-binary":
        (cat / "mappings").mkdir()
        (cat / "mappings" / "m.sssom.tsv").write_bytes(bytes(range(256)) * 4)
        return 2, ("mappings/m.sssom.tsv", "binary")
    if kind == "sssom-empty":
        (cat / "mappings").mkdir()
        (cat / "mappings" / "m.sssom.tsv").write_text("", encoding="utf-8")
        return 2, ("mappings/m.sssom.tsv:1", "no header line")
    if kind == "duplicate-id":
        other = tiny_register(id="beta", name={"nb": "Beta"})
        other["variables"] = [dict(other["variables"][1])]  # alpha:INFARKT again
        other["value_sets"] = []
        other["forms"] = [{"id": "basis", "name": {"nb": "Basis"}}]
        write_catalogue(cat, [tiny_register(), other])
        return 1, ("registers/beta.yaml", "alpha:INFARKT", "duplicate")
    if kind == "bad-sctid":
        variables = tiny_register()["variables"]
        variables[1]["codings"] = [{"system": "SCTID", "code": "22298007"}]
        write_catalogue(cat, [tiny_register(variables=variables)])
        return 1, ("registers/alpha.yaml:", "SCTID:22298007", "check digit")
    if kind == "unknown-value-set":
        variables = tiny_register()["variables"]
        variables[0]["value_set"] = "alpha:NOPE"
        write_catalogue(cat, [tiny_register(variables=variables)])
        return 1, ("registers/alpha.yaml:", "alpha:NOPE")
    raise AssertionError(kind)


UNUSABLE = [
    "yaml-tabs",
    "yaml-truncated",
    "binary",
    "utf16",
    "cp1252",
    "directory",
    "empty",
    "list",
    "codesystems-list",
    "no-registers",
    "sssom-binary",
    "sssom-empty",
]
FINDINGS = ["duplicate-id", "bad-sctid", "unknown-value-set"]
COMMANDS = {
    "validate": ["validate", "--jobs", "1"],
    "validate-json": ["validate", "--jobs", "1", "--format", "json"],
    "build": ["build"],
    "stats": ["stats"],
    "overlap": ["overlap"],
    "suggest": ["suggest"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("kind", UNUSABLE + FINDINGS)
def test_catalogue_commands_on_broken_content(runner, tiny, tmp_path, command, kind):
    index = tmp_path / "idx"
    # An index built before the catalogue broke must survive a failed build. (Not for a
    # broken codesystems.yaml: a changed codesystems.yaml forces a rebuild that wipes
    # the index before parsing - reported, not tested here.)
    keep_index = command == "build" and kind != "codesystems-list"
    if keep_index:
        ok = runner.invoke(app, ["--catalogue", str(tiny), "--index", str(index), "build"])
        assert ok.exit_code == 0, ok.output
        index_before = snapshot(index)
    exit_code, needles = _broken(kind, tiny)
    args = COMMANDS[command]
    if command == "validate-json":  # path and line are separate JSON fields
        needles = tuple(n.rstrip(":") for n in needles)
    # validate adds its summary line after the error line; JSON reports on stdout
    result = run_bad(runner, tiny, tmp_path, args, exit_code, needles, one_line=False)
    if command == "validate-json" and result.stdout.strip():
        report = json.loads(result.stdout)
        assert report["unusable"] if exit_code == 2 else report["errors"], report
    elif exit_code == 2:
        assert result.stderr.startswith("error: "), result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr
    if keep_index:
        assert snapshot(index) == index_before


@pytest.mark.parametrize(
    "kind", ["yaml-tabs", "yaml-truncated", "binary", "utf16", "cp1252", "directory"]
)
@pytest.mark.parametrize("check", [True, False])
def test_lint_refuses_unreadable_files(runner, tiny, tmp_path, kind, check):
    exit_code, needles = _broken(kind, tiny)
    args = ["lint", "--check"] if check else ["lint"]
    run_bad(runner, tiny, tmp_path, args, exit_code, needles)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--catalogue", "{tmp}/nope", "validate"], ("nope", "catalogue directory not found")),
        (["--catalogue", "{IN}/good.csv", "validate"], ("good.csv", "not a directory")),
    ],
    ids=["missing", "a-file"],
)
def test_catalogue_option_not_a_catalogue(runner, tiny, inputs, tmp_path, args, needles):
    run_bad(runner, tiny, tmp_path, fill(args, tiny, inputs, tmp_path), 2, needles)


# --- options out of range and unknown ids ------------------------------------------


OPTION_CASES = {
    "suggest-min-score-2": (["suggest", "--min-score", "2"], ("--min-score 2",)),
    "suggest-min-score-negative": (["suggest", "--min-score", "-1"], ("--min-score -1",)),
    "suggest-min-score-nan": (["suggest", "--min-score", "nan"], ("--min-score nan",)),
    "suggest-limit-negative": (["suggest", "--limit", "-1"], ("--limit -1",)),
    "suggest-limit-zero": (["suggest", "--limit", "0"], ("--limit 0",)),
    "suggest-between-unknown": (["suggest", "--between", "alpha", "zzz"], ("'zzz'",)),
    "suggest-between-unknown-write": (
        ["suggest", "--between", "alpha", "zzz", "--write"],
        ("'zzz'",),
    ),
    "suggest-between-same": (["suggest", "--between", "alpha", "alpha"], ("--between",)),
    "suggest-between-sql": (
        ["suggest", "--between", "alpha", '"; DROP TABLE x; --'],
        ("unknown register",),
    ),
    "overlap-csv-all-without-out": (["overlap", "-f", "csv"], ("--out DIR",)),
    "overlap-out-is-a-file": (["overlap", "--out", "{IN}/good.csv"], ("good.csv", "--out")),
    "export-sssom-out-is-a-file": (
        ["export", "sssom", "--out", "{IN}/good.csv"],
        ("good.csv", "--out"),
    ),
    "export-sssom-no-mapping-sets": (["export", "sssom"], ("mappings", "no mapping sets")),
    "export-sssom-unknown-set": (["export", "sssom", "--set", "nope"], ("--set 'nope'",)),
    "export-linkml-map-unknown-set": (["export", "linkml-map", "nope"], ("'nope'",)),
    "codegen-unknown-register": (
        ["codegen", "zzz", "-t", "sql", "-o", "{tmp}/gen"],
        ("unknown register 'zzz'",),
    ),
    "codegen-sql-in-register": (
        ["codegen", '"; DROP TABLE x; --', "-t", "sql", "-o", "{tmp}/gen"],
        ("lower-case id",),
    ),
    "codegen-unknown-form": (
        ["codegen", "alpha", "-t", "sql", "-o", "{tmp}/gen", "--form", "nope"],
        ("no form 'nope'",),
    ),
    "codegen-out-is-a-file": (
        ["codegen", "alpha", "-t", "sql", "-o", "{IN}/good.csv"],
        ("good.csv", "--out"),
    ),
    "codegen-transform-unknown-set": (["codegen-transform", "nope"], ("'nope'",)),
    "transform-unknown-set": (
        ["transform", "nope", "-i", "{IN}/adir", "-o", "{tmp}/out"],
        ("'nope'",),
    ),
    "init-existing-catalogue": (["init", "{cat}"], ("not empty",)),
    "init-non-empty-directory": (["init", "{IN}"], ("not empty",)),
}


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_bad_options(runner, tiny, inputs, tmp_path, case):
    args, needles = OPTION_CASES[case]
    run_bad(runner, tiny, tmp_path, fill(args, tiny, inputs, tmp_path), 2, needles)
    assert not (tmp_path / "gen").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["suggest", "-f", "xml"],
        ["overlap", "-r", "nope"],
        ["codegen", "alpha", "-t", "cobol", "-o", "{tmp}/gen"],
        ["codegen-transform", "x", "--dialect", "oracle"],
    ],
    ids=["format", "report", "target", "dialect"],
)
def test_bad_choices_are_usage_errors(runner, tiny, inputs, tmp_path, args):
    before = snapshot(tiny)
    result = runner.invoke(app, ["--catalogue", str(tiny), *fill(args, tiny, inputs, tmp_path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "Invalid value" in result.output
    assert snapshot(tiny) == before


MAPPING_CASES = {
    "codegen-transform-unknown-mapping": (
        ["codegen-transform", "key-register-reuse", "-m", "mapping:nope"],
        ("mapping:nope",),
    ),
    "transform-unknown-mapping": (
        ["transform", "key-register-reuse", "-i", "{IN}/adir", "-o", "{tmp}/o", "-m", "m:x"],
        ("m:x",),
    ),
    "transform-input-missing": (
        ["transform", "key-register-reuse", "-i", "{tmp}/nope", "-o", "{tmp}/o"],
        ("--input", "nope", "not a directory"),
    ),
    "transform-input-is-a-file": (
        ["transform", "key-register-reuse", "-i", "{IN}/good.csv", "-o", "{tmp}/o"],
        ("--input", "good.csv", "not a directory"),
    ),
    "transform-input-empty": (
        ["transform", "key-register-reuse", "-i", "{IN}/adir", "-o", "{tmp}/o"],
        ("--input", "adir", "missing"),
    ),
    "transform-one-file-for-many-mappings": (
        ["transform", "key-register-reuse", "-i", "{IN}/adir", "-o", "{tmp}/o.csv"],
        ("--out", "o.csv", "--mapping"),
    ),
    "export-sssom-unknown-set": (
        ["export", "sssom", "--set", "../../etc/passwd"],
        ("--set '../../etc/passwd'",),
    ),
    "export-linkml-map-traversal": (
        ["export", "linkml-map", "../registers/noric"],
        ("'../registers/noric'",),
    ),
}


@pytest.mark.parametrize("case", sorted(MAPPING_CASES))
def test_mapping_set_commands_bad_input(runner, bundled, inputs, tmp_path, case):
    args, needles = MAPPING_CASES[case]
    run_bad(runner, bundled, tmp_path, fill(args, bundled, inputs, tmp_path), 2, needles)
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.csv").exists()


# --- check-data --------------------------------------------------------------------


CHECK_DATA_CASES = {
    "missing": (["alpha", "{IN}/nope.csv"], ("nope.csv", "no such file")),
    "directory": (["alpha", "{IN}/adir"], ("adir",)),
    "empty": (["alpha", "{IN}/empty.csv"], ("empty.csv", "empty")),
    "binary": (["alpha", "{IN}/binary.bin"], ("binary.bin", "binary")),
    "utf16": (["alpha", "{IN}/utf16.csv"], ("utf16.csv",)),
    "cp1252": (["alpha", "{IN}/cp1252.csv", "--form", "basis"], ("cp1252.csv:2", "UTF-8")),
    "ragged-wrong-columns": (["alpha", "{IN}/ragged.csv", "--form", "basis"], ("ragged.csv",)),
    "fake-parquet": (["alpha", "{IN}/fake.parquet"], ("fake.parquet", "Parquet")),
    "bad-jsonl": (["alpha", "{IN}/bad.jsonl"], ("bad.jsonl:", "JSON Lines")),
    "json-list": (["alpha", "{IN}/list.json", "--form", "basis"], ("list.json",)),
    "unknown-register": (["zzz", "{IN}/good.csv"], ("unknown register 'zzz'",)),
    "sql-in-register": (['"; DROP TABLE x; --', "{IN}/good.csv"], ("lower-case id",)),
    "unknown-form": (["alpha", "{IN}/good.csv", "--form", "nope"], ("no form 'nope'",)),
    "sql-in-form": (
        ["alpha", "{IN}/good.csv", "--form", "x'; DROP TABLE x; --"],
        ("DROP TABLE",),
    ),
    "no-column-fits": (["alpha", "{IN}/good.csv"], ("good.csv", "no column")),
}


@pytest.mark.parametrize("case", sorted(CHECK_DATA_CASES))
def test_check_data_bad_input(runner, tiny, inputs, tmp_path, case):
    args, needles = CHECK_DATA_CASES[case]
    run_bad(runner, tiny, tmp_path, ["check-data", *fill(args, tiny, inputs, tmp_path)], 2, needles)


def test_check_data_nasty_values_are_findings_not_crashes(runner, tiny, tmp_path):
    data = tmp_path / "nasty.csv"
    long_value = "y" * 100_000
    data.write_text(
        f'INFARKT,DIAG\n"{NASTY.replace(chr(34), chr(34) * 2)}",X99.99\n{long_value},1\n',
        encoding="utf-8",
    )
    before = snapshot(tiny)
    args = ["--catalogue", str(tiny), "--index", str(tmp_path / "idx"), "check-data", "alpha"]
    result = runner.invoke(app, [*args, str(data), "--form", "basis"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "DROP TABLE" not in result.output and long_value not in result.output
    assert snapshot(tiny) == before


# --- diff --------------------------------------------------------------------------


DIFF_CASES = {
    "missing": (["{tmp}/nope", "{cat}"], ("nope", "no such file")),
    "file-and-directory": (["{IN}/good.csv", "{cat}"], ("not one of each",)),
    "codebooks-without-register": (["{IN}/good.csv", "{IN}/good.csv"], ("--register",)),
    "binary-codebook": (["{IN}/good.csv", "{IN}/binary.bin", "-r", "qa"], ("binary.bin",)),
    "empty-codebook": (["{IN}/good.csv", "{IN}/empty.csv", "-r", "qa"], ("empty.csv", "empty")),
    "mixed-codebooks": (["{IN}/good.csv", "{IN}/object.json", "-r", "qa"], ("object.json",)),
    "csv-named-xlsx": (
        ["{IN}/csv_really.xlsx", "{IN}/csv_really.xlsx", "-r", "qa"],
        ("csv_really.xlsx", "not an xlsx"),
    ),
    "json-list": (["{IN}/list.json", "{IN}/list.json", "-r", "qa"], ("list.json", "list")),
    "unknown-extension": (["{IN}/tabs.yaml", "{IN}/tabs.yaml", "-r", "qa"], ("tabs.yaml",)),
    "unknown-register": (["{cat}", "{cat}", "-r", "zzz"], ("'zzz'",)),
    "bad-register-id": (["{cat}", "{cat}", "-r", "Bad Id"], ("--register 'Bad Id'",)),
    "not-a-catalogue": (["{IN}/adir", "{cat}"], ("adir", "not a regcat catalogue")),
}


@pytest.mark.parametrize("case", sorted(DIFF_CASES))
def test_diff_bad_input(runner, tiny, inputs, tmp_path, case):
    args, needles = DIFF_CASES[case]
    run_bad(runner, tiny, tmp_path, ["diff", *fill(args, tiny, inputs, tmp_path)], 2, needles)


# --- impact ------------------------------------------------------------------------


IMPACT_CASES = {
    "missing": (["{IN}/nope.csv", "{IN}/new_NCSP.csv", "-s", "NCSP"], ("nope.csv", "not found")),
    "directory": (["{IN}/adir", "{IN}/new_NCSP.csv", "-s", "NCSP"], ("adir", "directory")),
    "empty": (["{IN}/empty.csv", "{IN}/new_NCSP.csv", "-s", "NCSP"], ("empty.csv:1", "empty")),
    "binary": (["{IN}/binary.bin", "{IN}/new_NCSP.csv", "-s", "NCSP"], ("binary.bin", "binary")),
    "header-only": (
        ["{IN}/codes_header_only.csv", "{IN}/new_NCSP.csv", "-s", "NCSP"],
        ("codes_header_only.csv:2", "no codes"),
    ),
    "utf16": (["{IN}/utf16.csv", "{IN}/new_NCSP.csv", "-s", "NCSP"], ("utf16.csv",)),
    "cp1252": (["{IN}/cp1252.csv", "{IN}/new_NCSP.csv", "-s", "NCSP"], ("cp1252.csv", "UTF-8")),
    "json-list": (["{IN}/list.json", "{IN}/new_NCSP.csv", "-s", "NCSP"], ("list.json:1",)),
    "unknown-code-column": (
        ["{IN}/old_NCSP.csv", "{IN}/new_NCSP.csv", "-s", "NCSP", "--code-column", "nope"],
        ("old_NCSP.csv:1", "no code column 'nope'"),
    ),
    "unknown-label-column": (
        ["{IN}/old_NCSP.csv", "{IN}/new_NCSP.csv", "-s", "NCSP", "--label-column", "nope"],
        ("old_NCSP.csv:1", "no label column 'nope'"),
    ),
    "no-system-in-file-name": (["{IN}/codes.csv", "{IN}/codes.csv"], ("codes.csv", "--system")),
}


@pytest.mark.parametrize("case", sorted(IMPACT_CASES))
def test_impact_bad_input(runner, tiny, inputs, tmp_path, case):
    args, needles = IMPACT_CASES[case]
    args = ["impact", "--codes", *fill(args, tiny, inputs, tmp_path)]
    run_bad(runner, tiny, tmp_path, args, 2, needles)


# --- generate --check ----------------------------------------------------------------


def test_generate_check_writes_nothing(runner, tiny, tmp_path):
    generated = REPO / "regcat" / "generated"
    before = snapshot(generated)
    result = runner.invoke(app, ["--catalogue", str(tiny), "generate", "--check"])
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    assert snapshot(generated) == before


# --- problems found by the QA pass and fixed ------------------------------------------


def _one_line_error(result) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert [line for line in result.output.splitlines() if line.startswith("error:")]


def test_output_paths_that_are_directories_or_files(tmp_path):
    runner = CliRunner()
    cat = tmp_path / "cat"
    shutil.copytree(REPO / "catalogue", cat)
    base = ["--catalogue", str(cat), "--index", str(tmp_path / "idx")]
    (tmp_path / "adir").mkdir()
    before = snapshot(cat)
    result = runner.invoke(
        app, [*base, "codegen-transform", "key-register-reuse", "-o", str(tmp_path / "adir")]
    )
    _one_line_error(result)
    assert "directory" in result.output
    result = runner.invoke(
        app, [*base, "export", "linkml-map", "key-register-reuse", "-o", str(tmp_path / "adir")]
    )
    _one_line_error(result)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == []  # nothing half-written
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    _one_line_error(runner.invoke(app, ["init", str(a_file)]))
    result = runner.invoke(app, ["--catalogue", str(cat), "--index", str(a_file), "build"])
    _one_line_error(result)
    assert "--index expects a directory" in result.output
    assert snapshot(cat) == before


def test_lint_refuses_files_it_cannot_read_as_a_mapping(tmp_path):
    runner = CliRunner()
    cat = write_catalogue(tmp_path / "cat")
    (cat / "registers" / "zz.yaml").write_text("")
    before = snapshot(cat)
    for args in (["lint"], ["lint", "--check"]):
        result = runner.invoke(app, ["--catalogue", str(cat), *args])
        _one_line_error(result)
        assert "registers/zz.yaml" in result.output and "expected a YAML mapping" in result.output
    assert snapshot(cat) == before


@pytest.mark.parametrize("jobs", ["0", "-3", "100000"])
def test_validate_jobs_out_of_range(tmp_path, jobs):
    cat = write_catalogue(tmp_path / "cat")
    result = CliRunner().invoke(app, ["--catalogue", str(cat), "validate", "--jobs", jobs])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
