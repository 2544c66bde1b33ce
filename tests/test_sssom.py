"""SSSOM mapping sets: lossless read/write of every official example, the checks that
reject invalid files, transformation side files, and `regcat import/export sssom`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regcat.catalogue import validate_catalogue
from regcat.cli import app
from regcat.errors import RegcatError
from regcat.io import dump_yaml
from regcat.layout import ContentFile
from regcat.sssom import (
    check_sssom,
    diff_tables,
    file_digest,
    join_values,
    load_mapping_file,
    read_sssom,
    read_sssom_file,
    split_values,
    to_mapping_set,
    write_sssom,
)
from regcat.validate import check_file

from .conftest import snapshot, write_catalogue

EXAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sssom-examples"


def _example_files() -> list[Path]:
    return sorted(EXAMPLES.rglob("*.sssom.tsv")) if EXAMPLES.is_dir() else []


# Official examples that break the SSSOM specification, and the error each must give.
INVALID = {
    # `mapping_set_id` is `required: true` in the schema; this file has none.
    "schema/version.sssom.tsv": r"version\.sssom\.tsv:1: field 'mapping_set_id': required",
    # Five rows leave out the trailing (empty) comment field: 7 fields under an 8-column
    # header. The first such row is on line 11.
    "schema/curation_rule_text2.sssom.tsv": r"curation_rule_text2\.sssom\.tsv:11: row has 7 "
    r"fields, the header has 8",
}

# Valid examples whose bytes differ from what regcat writes, and why. Every other valid
# example is already in the form regcat writes and comes back byte for byte.
CRLF = "CRLF line ends (regcat writes LF, as canonical SSSOM/TSV requires)"
BLANK = "a trailing empty line after the last row (not written back)"
EXTERNAL = "external metadata (.sssom.yml): regcat embeds it as a '#' block"
NOT_BYTE_IDENTICAL = {
    "embedded/foodie-inc-2022-05-01.sssom.tsv": BLANK,
    "embedded/mp-hp-exact-0.0.1.sssom.tsv": BLANK,
    "external/example1.sssom.tsv": EXTERNAL + "; " + CRLF,
    "external/mp-hp-exact-0.0.1.sssom.tsv": EXTERNAL + "; " + CRLF,
    "schema/curation_rule-propagated.sssom.tsv": CRLF,
    "schema/curation_rule.sssom.tsv": CRLF,
    "schema/curation_rule_text-propagated.sssom.tsv": CRLF,
    "schema/curation_rule_text.sssom.tsv": CRLF,
    "schema/curie_map.sssom.tsv": CRLF,
    "schema/issue_tracker.sssom.tsv": CRLF,
    "schema/issue_tracker_item.sssom.tsv": CRLF,
    "schema/mapping_set_confidence.sssom.tsv": CRLF,
    "schema/mapping_tool_id.sssom.tsv": CRLF,
    "schema/similarity_score.sssom.tsv": CRLF,
}


def _rel(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def test_examples_folder_is_there_and_not_empty():
    if not EXAMPLES.is_dir():
        pytest.skip(f"the SSSOM examples folder {EXAMPLES} is absent")
    files = _example_files()
    assert files, f"no *.sssom.tsv under {EXAMPLES}"
    names = {_rel(p) for p in files}
    assert set(INVALID) <= names
    assert set(NOT_BYTE_IDENTICAL) <= names


@pytest.mark.parametrize("path", _example_files() or [None], ids=lambda p: p and _rel(p))
def test_official_example(path):
    if path is None:
        pytest.skip(f"the SSSOM examples folder {EXAMPLES} is absent")
    rel = _rel(path)
    if rel in INVALID:
        with pytest.raises(RegcatError, match=INVALID[rel]) as caught:
            read_sssom_file(path)
        assert "\n" not in caught.value.render()
        return
    table = read_sssom_file(path)
    assert table.rows and table.meta.get("mapping_set_id")
    written = write_sssom(table)
    again = read_sssom(written.encode("utf-8"), path)
    assert again.meta == table.meta
    assert again.columns == table.columns
    assert again.rows == table.rows
    assert check_sssom(again) == []
    assert write_sssom(again) == written  # writing is stable
    raw = path.read_bytes().decode("utf-8")
    if rel not in NOT_BYTE_IDENTICAL:
        assert written == raw
    elif NOT_BYTE_IDENTICAL[rel].startswith("external"):
        assert not raw.startswith("#") and written.startswith("#")
        data_lines = written.split("\n")
        first_row = next(i for i, line in enumerate(data_lines) if not line.startswith("#"))
        assert "\n".join(data_lines[first_row:]) == raw.replace("\r\n", "\n")
    else:
        assert written == raw.replace("\r\n", "\n").rstrip("\n") + "\n"


def test_examples_external_and_embedded_give_the_same_set():
    if not EXAMPLES.is_dir():
        pytest.skip(f"the SSSOM examples folder {EXAMPLES} is absent")
    embedded = read_sssom_file(EXAMPLES / "embedded" / "mp-hp-exact-0.0.1.sssom.tsv")
    external = read_sssom_file(EXAMPLES / "external" / "mp-hp-exact-0.0.1.sssom.tsv")
    assert embedded == external
    mapping_set = to_mapping_set(external)
    assert len(mapping_set.mappings) == 42
    assert mapping_set.license == "https://creativecommons.org/publicdomain/zero/1.0/"


def test_examples_pipe_escaping_and_extensions():
    if not EXAMPLES.is_dir():
        pytest.skip(f"the SSSOM examples folder {EXAMPLES} is absent")
    pipes = read_sssom_file(EXAMPLES / "schema" / "pipe-escaping.sssom.tsv")
    assert [split_values(r["author_label"]) for r in pipes.rows] == [
        ["Alice|Bob", "Charlie"],
        ["Alice\\Bob", "Charlie\\", "David\\|Eve\\"],
    ]
    ext = read_sssom_file(EXAMPLES / "schema" / "extension-slots.sssom.tsv")
    assert ext.meta["ext_undeclared_foo"] == "Foo B"  # unknown metadata key kept
    assert ext.columns[-1] == "ext_undeclared_baz"  # unknown column kept
    assert [r["ext_bar"] for r in ext.rows] == ["111", "112", "114", "115"]
    literal = read_sssom_file(EXAMPLES / "schema" / "literals.sssom.tsv")
    assert "subject_id" not in literal.columns  # literal mappings need no subject_id
    propagated = read_sssom_file(EXAMPLES / "schema" / "curation_rule-propagated.sssom.tsv")
    assert propagated.value(0, "curation_rule") == "DISEASE_MAPPING_COMMONS_RULES:MPR2"
    assert "curation_rule" not in propagated.columns  # written back as it was
    # a set-level slot that is also a column: both kept; the mappings' own values win
    foodie = read_sssom_file(EXAMPLES / "embedded" / "foodie-inc-2022-05-01.sssom.tsv")
    assert foodie.meta["mapping_date"] == "2022-05-02" and "mapping_date" in foodie.columns
    assert "mapping_date" not in foodie.propagation()
    assert foodie.propagation()["subject_source"] == "KF_FOOD:DB"
    assert to_mapping_set(foodie).mappings[0].mapping_date.isoformat() == "2022-05-02"


# --- fixtures made here --------------------------------------------------------------

META = (
    "#curie_map:\n"
    "#  HP: http://purl.obolibrary.org/obo/HP_\n"
    "#  MP: http://purl.obolibrary.org/obo/MP_\n"
    "#  orcid: https://orcid.org/\n"
    "#mapping_set_id: https://example.org/sets/test\n"
    "#license: https://creativecommons.org/licenses/by/4.0/\n"
)
HEAD = "subject_id\tpredicate_id\tobject_id\tmapping_justification\tconfidence\tauthor_id\n"
ROW = "HP:1\tskos:exactMatch\tMP:1\tsemapv:ManualMappingCuration\t0.9\torcid:0000-0001\n"


def _read(text: str, name: str = "t.sssom.tsv"):
    table = read_sssom(text.encode("utf-8"), name)
    problems = check_sssom(table)
    if problems:
        raise problems[0].error()
    return table


def test_lossless_round_trip_of_odd_values():
    cells = {
        "comment": 'says "hi"\tand\nmore',
        "author_id": "orcid:0000-0001|orcid:0000-0002",
        "ext_x": "  spaces kept  ",
    }
    text = (
        META
        + "#ext_set_level: kept\n"
        + HEAD.rstrip("\n")
        + "\tcomment\text_x\n"
        + ROW.rstrip("\n").rsplit("\t", 1)[0]
        + f'\t{cells["author_id"]}\t"{cells["comment"].replace(chr(34), chr(34) * 2)}"'
        + f"\t{cells['ext_x']}\n"
    )
    table = _read(text)
    assert table.rows[0]["comment"] == cells["comment"]
    assert table.rows[0]["ext_x"] == cells["ext_x"]
    assert table.meta["ext_set_level"] == "kept"
    assert write_sssom(table) == text
    table.meta["mapping_set_title"] = "Changed"  # a changed block is dumped canonically
    again = read_sssom(write_sssom(table).encode(), "t")
    assert again == table


@pytest.mark.parametrize(
    "values",
    [[], ["a"], ["a", "b"], ["a|b", "c"], ["a\\", "b"], ["x\\|y\\"], ["", "z"]],
)
def test_multivalued_escaping_round_trips(values):
    cell = join_values(values)
    assert split_values(cell) == (values if cell else [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "#curie_map:\n#  HP: [unclosed\n#license: x\n" + HEAD + ROW,
            r"t\.sssom\.tsv:\d: malformed SSSOM metadata block \(YAML\)",
        ),
        ("#- just\n#- a list\n" + HEAD + ROW, "metadata block must be a YAML mapping"),
        (META + HEAD + ROW + "HP:2\tskos:exactMatch\tMP:2\n", r":9: row has 3 fields, the header"),
        (META + HEAD + "\n" + ROW, r":8: empty line inside the mappings block"),
        (META + "\n" + HEAD + ROW, r":7: empty line where the header line was expected"),
        (META, r"no header line"),
        (
            META + "subject_id\tobject_id\tmapping_justification\nHP:1\tMP:1\tsemapv:X\n",
            r":7: field 'predicate_id': not an SSSOM table: missing column",
        ),
        (META + HEAD + ROW.replace("skos:exactMatch", "sameAs"), r"'sameAs' is not a CURIE"),
        (
            META + HEAD + ROW.replace("skos:exactMatch", "ro:0002"),
            r":8: field 'predicate_id': prefix 'ro' of 'ro:0002' is not declared",
        ),
        (META + HEAD + ROW.replace("0.9", "1.5"), r"field 'confidence': 1.5 is outside 0..1"),
        (META + HEAD + ROW.replace("0.9", "high"), r"'high' is not a number"),
        (
            META + HEAD + ROW.replace("semapv:ManualMappingCuration", "manual"),
            r"field 'mapping_justification': 'manual' is not a SEMAPV",
        ),
        (META + HEAD + ROW.replace("MP:1", "XX:1"), r"prefix 'XX' of 'XX:1' is not declared"),
        (
            META + HEAD + ROW.replace("MP:1", "http://purl.obolibrary.org/obo/MP_1"),
            r"is an IRI; SSSOM/TSV expects a CURIE",
        ),
        (
            META + "#mapping_date: 2022-02-30\n" + HEAD + ROW,
            r":7: field 'mapping_date': '2022-02-30' is not a valid date",
        ),
        (
            META + HEAD.rstrip("\n") + "\tmapping_date\n" + ROW.rstrip("\n") + "\t01.02.2022\n",
            r"field 'mapping_date': '01.02.2022' is not a date \(expected YYYY-MM-DD\)",
        ),
        (
            META.replace("#license: https://creativecommons.org/licenses/by/4.0/\n", "")
            + HEAD
            + ROW,
            r":1: field 'license': required by SSSOM",
        ),
        (
            META.replace("#curie_map:\n", "#curie_map:\n#  skos: http://example.org/skos#\n")
            + HEAD
            + ROW,
            r"built-in prefix 'skos' must expand to",
        ),
        (
            "#curie_map:\n#  R: https://example.org/r/\n"
            + META[len("#curie_map:\n") :]
            + "record_id\t"
            + HEAD
            + "R:1\t"
            + ROW
            + "R:1\t"
            + ROW,
            r":9: field 'record_id': 'R:1' appears 2 times",
        ),
        (
            META + HEAD.rstrip("\n") + "\treview_date\n" + ROW.rstrip("\n") + "\t2024-01-01\n",
            r"field 'review_date': needs a reviewer_id or reviewer_label",
        ),
        (b"\x89PNG\x00\x00".decode("latin-1"), r"binary file"),
    ],
)
def test_invalid_files_fail_with_one_clear_line(text, expected):
    with pytest.raises(RegcatError, match=expected) as caught:
        _read(text)
    assert "\n" not in caught.value.render()
    assert caught.value.render().startswith("t.sssom.tsv")


def test_other_predicates_are_valid_sssom_but_not_catalogued():
    table = _read(META + HEAD + ROW.replace("skos:exactMatch", "owl:equivalentClass"))
    assert table.rows[0]["predicate_id"] == "owl:equivalentClass"
    assert to_mapping_set(table).mappings == []  # kept in the file, not in the model


def test_external_metadata_file(tmp_path):
    tsv = tmp_path / "x.sssom.tsv"
    tsv.write_text(HEAD + ROW)
    (tmp_path / "x.sssom.yml").write_text("".join(line[1:] + "\n" for line in META.splitlines()))
    table = read_sssom_file(tsv)
    assert table.meta["mapping_set_id"] == "https://example.org/sets/test"
    assert write_sssom(table) == META + HEAD + ROW
    (tmp_path / "x.sssom.yml").write_text("curie_map: [\n")
    with pytest.raises(RegcatError, match=r"x\.sssom\.yml:\d: malformed SSSOM metadata file"):
        read_sssom_file(tsv)


def test_diff_by_record_id_else_triple():
    old = _read(META + HEAD + ROW + ROW.replace("HP:1", "HP:2"))
    new = _read(META + HEAD + ROW.replace("0.9", "0.8") + ROW.replace("HP:1", "HP:3"))
    changes = diff_tables(old, new)
    assert changes.added == ["HP:3 skos:exactMatch MP:1"]
    assert changes.removed == ["HP:2 skos:exactMatch MP:1"]
    assert changes.changed == ["HP:1 skos:exactMatch MP:1"]


# --- in a catalogue ------------------------------------------------------------------

CAT_META = (
    "#curie_map:\n"
    "#  m: https://w3id.org/regcat/mapping/\n"
    "#  orcid: https://orcid.org/\n"
    "#mapping_set_id: https://w3id.org/regcat/mappings/m\n"
    "#license: https://creativecommons.org/licenses/by/4.0/\n"
)
CAT_HEAD = "record_id\tsubject_id\tpredicate_id\tobject_id\tmapping_justification\n"


def cat_row(record, subject, obj, predicate="skos:exactMatch"):
    return f"{record}\t{subject}\t{predicate}\t{obj}\tsemapv:ManualMappingCuration\n"


def mapping_catalogue(tmp_path, rows, transform=None):
    root = write_catalogue(tmp_path / "cat")
    (root / "mappings").mkdir(exist_ok=True)
    (root / "mappings" / "m.sssom.tsv").write_text(CAT_META + CAT_HEAD + "".join(rows))
    if transform is not None:
        (root / "mappings" / "m.transform.yaml").write_text(dump_yaml(transform))
    return root


def rendered(root):
    return [f.render() for f in validate_catalogue(root, jobs=1).findings]


def test_catalogue_mapping_to_missing_variable_is_reported(tmp_path, runner):
    root = mapping_catalogue(
        tmp_path,
        [cat_row("m:1", "alpha:DIAG", "ICD10:I21.4"), cat_row("m:2", "alpha:NOPE", "alpha:DIAG")],
    )
    result = runner.invoke(app, ["--catalogue", str(root), "validate"])
    assert result.exit_code == 1, result.output
    assert "mappings/m.sssom.tsv: m:2: field 'subject_id': no variable 'alpha:NOPE'" in (
        result.stdout
    )
    assert "m:1" not in result.stdout


def test_catalogue_checks_codes_and_keeps_other_predicates_as_warnings(tmp_path):
    root = mapping_catalogue(
        tmp_path,
        [
            cat_row("m:1", "alpha:DIAG", "ICD10:Q9Z"),
            cat_row("m:2", "alpha:DIAG", "alpha:INFARKT", "owl:equivalentClass"),
        ],
    )
    report = validate_catalogue(root, jobs=1)
    by_rule = {f.rule: f for f in report.findings}
    assert by_rule["code"].render().startswith("mappings/m.sssom.tsv: m:1: field 'object_id'")
    assert by_rule["mapping-model"].severity == "warning"
    assert "owl:equivalentClass is kept in the file" in by_rule["mapping-model"].message


def _linkage(**overrides):
    linkage = {
        "person_key": "fnr",
        "anchor": "alpha:DIAG",
        "event_date": "alpha:INFARKT",
        "code_variable": "alpha:DIAG",
        "code_system": "ATC",
        "code_prefixes": ["B01AC"],
        "aggregate": "any",
    }
    linkage.update(overrides)
    return linkage


def test_transformations_attach_to_their_mapping(tmp_path):
    transform = {
        "transformations": [
            {
                "record_id": "m:1",
                "kind": "value_map",
                "value_map": [{"source": "1", "target": "2"}],
            },
            {"record_id": "m:2", "kind": "record_linkage", "record_linkage": _linkage()},
        ]
    }
    root = mapping_catalogue(
        tmp_path,
        [
            cat_row("m:1", "alpha:DIAG", "alpha:INFARKT"),
            cat_row("m:2", "alpha:INFARKT", "alpha:DIAG"),
        ],
        transform,
    )
    assert rendered(root) == []
    file = ContentFile("mappings", root / "mappings" / "m.sssom.tsv", "mappings/m.sssom.tsv")
    result = check_file(load_mapping_file(file))
    first, second = result.obj.mappings
    assert first.transformation.value_map[0].target == "2"
    assert second.transformation.record_linkage.code_prefixes == ["B01AC"]
    assert ("variable", "alpha:DIAG", "m:2", "transformation.record_linkage.anchor") in (
        result.symbols.refers
    )
    # the side file is part of the digest: editing it alone is a change
    before = result.digest
    assert file_digest(file) == before
    (root / "mappings" / "m.transform.yaml").write_text(dump_yaml({"transformations": []}))
    assert load_mapping_file(file).digest != before


@pytest.mark.parametrize(
    ("transformations", "expected"),
    [
        (
            [{"record_id": "m:9", "kind": "expression", "expression": "x * 2"}],
            "mappings/m.transform.yaml:2: m:9: field 'record_id': no mapping with record_id "
            "'m:9' in mappings/m.sssom.tsv",
        ),
        (
            [{"record_id": "m:1", "kind": "value_map"}],
            "mappings/m.transform.yaml:2: m:1: field 'value_map': required for kind "
            "'value_map', but missing",
        ),
        (
            [
                {"record_id": "m:1", "kind": "expression", "expression": "a"},
                {"record_id": "m:1", "kind": "expression", "expression": "b"},
            ],
            "mappings/m.transform.yaml:5: m:1: field 'record_id': 'm:1' has more than one",
        ),
        (
            [
                {
                    "record_id": "m:1",
                    "kind": "record_linkage",
                    "record_linkage": _linkage(code_prefixes=["Q01"]),
                }
            ],
            "mappings/m.transform.yaml:2: m:1: field 'transformation.record_linkage."
            "code_prefixes': ATC 'Q01': ATC anatomical main group must be one of",
        ),
        (
            [
                {
                    "record_id": "m:1",
                    "kind": "record_linkage",
                    "record_linkage": _linkage(anchor="alpha:NOPE"),
                }
            ],
            "mappings/m.sssom.tsv: m:1: field 'transformation.record_linkage.anchor': "
            "no variable 'alpha:NOPE'",
        ),
        (
            [
                {
                    "record_id": "m:1",
                    "kind": "unit_conversion",
                    "unit_conversion": {"from_unit": "mgg", "to_unit": "g", "factor": 0.001},
                }
            ],
            "mappings/m.transform.yaml:2: m:1: field 'transformation.unit_conversion."
            "from_unit': 'mgg': not a UCUM unit",
        ),
        (
            [{"record_id": "m:1", "kind": "lookup"}],
            "mappings/m.transform.yaml:2: m:1: field 'kind':",
        ),
    ],
)
def test_transformation_side_file_findings(tmp_path, transformations, expected):
    root = mapping_catalogue(
        tmp_path,
        [cat_row("m:1", "alpha:DIAG", "alpha:INFARKT")],
        {"transformations": transformations},
    )
    found = rendered(root)
    assert any(line.startswith(expected) for line in found), found


# --- the commands --------------------------------------------------------------------

MAPPINGS_FILE = (
    CAT_META
    + CAT_HEAD
    + cat_row("m:1", "alpha:DIAG", "ICD10:I21.4")
    + cat_row("m:2", "alpha:INFARKT", "SCTID:22298006")
    + cat_row("m:3", "alpha:DIAG", "alpha:INFARKT", "skos:relatedMatch")
)


def test_import_and_export_end_to_end(tmp_path, runner):
    root = write_catalogue(tmp_path / "cat")
    source = tmp_path / "heart.sssom.tsv"
    source.write_text(MAPPINGS_FILE)
    base = ["--catalogue", str(root)]
    result = runner.invoke(app, [*base, "import", "sssom", str(source)])
    assert result.exit_code == 0, result.output
    assert "wrote mappings/heart.sssom.tsv: 3 mappings (3 added, 0 removed, 0 changed)" in (
        result.stderr
    )
    stored = root / "mappings" / "heart.sssom.tsv"
    assert stored.read_text() == MAPPINGS_FILE
    assert validate_catalogue(root, jobs=1).findings == []

    # re-import: one mapping removed, one changed, one added
    source.write_text(
        CAT_META
        + CAT_HEAD
        + cat_row("m:1", "alpha:DIAG", "ICD10:I21.4", "skos:closeMatch")
        + cat_row("m:3", "alpha:DIAG", "alpha:INFARKT", "skos:relatedMatch")
        + cat_row("m:4", "alpha:INFARKT", "ICD10:I21.9")
    )
    result = runner.invoke(app, [*base, "import", "sssom", str(source), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["replaced"] and data["written"]
    assert data["changes"] == {
        "added": ["m:4"],
        "removed": ["m:2"],
        "changed": ["m:1"],
        "unchanged": 1,
    }
    result = runner.invoke(app, [*base, "import", "sssom", str(source)])
    assert "unchanged: mappings/heart.sssom.tsv" in result.stderr

    # export: the stored TSV, to stdout or to a directory
    result = runner.invoke(app, [*base, "export", "sssom"])
    assert result.exit_code == 0, result.output
    assert result.stdout == stored.read_text()
    other = tmp_path / "other.sssom.tsv"
    other.write_text(MAPPINGS_FILE)
    assert runner.invoke(app, [*base, "import", "sssom", str(other), "-n", "b"]).exit_code == 0
    result = runner.invoke(app, [*base, "export", "sssom"])
    assert result.exit_code == 2
    assert "2 mapping sets (b, heart): choose one with --set" in result.stderr
    result = runner.invoke(app, [*base, "export", "sssom", "--set", "b"])
    assert result.stdout == MAPPINGS_FILE
    out = tmp_path / "out"
    result = runner.invoke(app, [*base, "export", "sssom", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["b.sssom.tsv", "heart.sssom.tsv"]
    assert (out / "heart.sssom.tsv").read_bytes() == stored.read_bytes()
    result = runner.invoke(app, [*base, "export", "sssom", "--set", "nope"])
    assert result.exit_code == 2
    assert "--set 'nope': no such mapping set" in result.stderr


def test_import_official_example_with_external_metadata(tmp_path, runner):
    if not EXAMPLES.is_dir():
        pytest.skip(f"the SSSOM examples folder {EXAMPLES} is absent")
    root = write_catalogue(tmp_path / "cat")
    source = EXAMPLES / "external" / "example1.sssom.tsv"
    result = runner.invoke(app, ["-c", str(root), "import", "sssom", str(source)])
    assert result.exit_code == 0, result.output
    stored = read_sssom_file(root / "mappings" / "example1.sssom.tsv")
    assert stored == read_sssom_file(source)
    assert validate_catalogue(root, jobs=1).exit_code == 0


def test_import_keeps_other_predicates_and_reports_findings(tmp_path, runner):
    root = write_catalogue(tmp_path / "cat")
    source = tmp_path / "s.sssom.tsv"
    text = (
        CAT_META
        + CAT_HEAD
        + cat_row("m:1", "alpha:DIAG", "alpha:INFARKT", "owl:equivalentClass")
        + cat_row("m:2", "alpha:GONE", "alpha:DIAG")
    )
    source.write_text(text)
    result = runner.invoke(app, ["-c", str(root), "import", "sssom", str(source)])
    assert result.exit_code == 1, result.output  # written, with findings
    assert "mappings/s.sssom.tsv: m:2: field 'subject_id': no variable 'alpha:GONE'" in (
        result.stdout
    )
    assert "owl:equivalentClass is kept in the file" in result.stdout
    result = runner.invoke(app, ["-c", str(root), "export", "sssom"])
    assert result.stdout == text


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        (MAPPINGS_FILE.replace("0.9", "x") + "m:9\talpha:DIAG\n", [], "row has 2 fields"),
        (MAPPINGS_FILE.replace("skos:relatedMatch", "related"), [], "'related' is not a CURIE"),
        (MAPPINGS_FILE.replace("#license", "#  bad: [\n#license"), [], "malformed SSSOM"),
        (
            MAPPINGS_FILE.replace("\talpha:INFARKT\tskos:exactMatch", "\tnope:1\tskos:exactMatch"),
            [],
            "prefix 'nope'",
        ),
        (MAPPINGS_FILE, ["--name", "../escape"], "gives the set name '../escape'"),
    ],
)
def test_import_refuses_bad_input_and_leaves_catalogue_untouched(
    tmp_path, runner, content, args, expected
):
    root = write_catalogue(tmp_path / "cat")
    good = tmp_path / "heart.sssom.tsv"
    good.write_text(MAPPINGS_FILE)
    assert runner.invoke(app, ["-c", str(root), "import", "sssom", str(good)]).exit_code == 0
    before = snapshot(root)
    bad = tmp_path / "bad" / "heart.sssom.tsv"
    bad.parent.mkdir()
    bad.write_text(content)
    result = runner.invoke(app, ["-c", str(root), "import", "sssom", str(bad), *args])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    assert snapshot(root) == before


def test_import_missing_file_exit_2(tmp_path, runner):
    root = write_catalogue(tmp_path / "cat")
    result = runner.invoke(app, ["-c", str(root), "import", "sssom", str(tmp_path / "no.tsv")])
    assert result.exit_code == 2
    assert "file not found" in result.stderr
    assert not (root / "mappings").exists()
