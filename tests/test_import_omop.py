"""`regcat import omop`: the OMOP CDM (OHDSI's Field_Level/Table_Level CSVs) as a target
model, its bad inputs, and the worked NPR → OMOP mapping set compiled and run on a
tiny NPR extract."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from regcat.catalogue import Catalogue, validate_catalogue
from regcat.cli import app
from regcat.errors import RegcatError
from regcat.importers.omop import read_omop
from regcat.io import read_yaml
from tests.api_fixtures import bundled_index  # noqa: F401

from .conftest import REPO, snapshot, write_catalogue

D = dt.date
FIELD_CSV = "omop-cdm/OMOP_CDMv5.4_Field_Level.csv"
HEADER = (
    "cdmTableName,cdmFieldName,isRequired,cdmDatatype,userGuidance,etlConventions,"
    "isPrimaryKey,isForeignKey,fkTableName,fkFieldName,fkDomain,fkClass,unique DQ identifiers"
)
SMALL = [
    'person,person_id,Yes,integer,"A person, ""unique"".",NA,Yes,No,NA,NA,NA,NA,NA',
    "person,year_of_birth,Yes,integer,Compute age using year_of_birth.,NA,No,No,NA,NA,NA,NA,NA",
    'condition_occurrence,condition_start_date,Yes,date,Use this date,"Line one\nline two",'
    "No,No,NA,NA,NA,NA,NA",
    "condition_occurrence,condition_concept_id,Yes,integer,The concept,NA,No,Yes,CONCEPT,"
    "CONCEPT_ID,Condition,NA,NA",
    'note_nlp,"""offset""",No,varchar(50),Character offset,NA,No,No,NA,NA,NA,NA,NA',
    "note,note_text,Yes,varchar(MAX),The text,NA,No,No,NA,NA,NA,NA,NA",
]


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def cat(tmp_path: Path) -> Path:
    return write_catalogue(tmp_path / "cat", [])


def invoke(runner, cat: Path, *args: str):
    return runner.invoke(app, ["--catalogue", str(cat), *args])


def by_id(path: Path) -> dict[str, dict]:
    return {v["id"]: v for v in read_yaml(path).data["variables"]}


# --- the real file ----------------------------------------------------------------------


def test_import_the_real_cdm(runner, cat, shared_data: Path) -> None:
    source = shared_data / FIELD_CSV
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    tables = {r["cdmTableName"] for r in rows}

    result = invoke(runner, cat, "import", "omop", str(source), "--format", "json")
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert outcome["written"] and outcome["findings"] == []
    assert len(outcome["changes"]["variables_added"]) == len(rows) == 432

    path = cat / "registers" / "omop.yaml"
    data = read_yaml(path).data
    assert len(data["forms"]) == len(tables) == 39
    assert len(data["variables"]) == len(rows)
    assert {v["form"] for v in data["variables"]} == tables
    variables = by_id(path)

    person_id = variables["omop:person.person_id"]
    assert (person_id["datatype"], person_id["required"]) == ("integer", True)
    assert person_id["source_type"] == "integer (primary key)"
    assert (person_id["table"], person_id["physical_name"]) == ("person", "person_id")
    assert person_id["label"] == {"nb": "person_id", "en": "person_id"}
    assert person_id["definition"]["en"].startswith("It is assumed that every person")
    assert person_id["help_text"]["en"].startswith("Any person linkage")
    assert person_id["imported_from"] == "omop" and person_id["status"] == "accepted"
    assert "collection_mode" not in person_id and "valid_from" not in person_id

    start = variables["omop:condition_occurrence.condition_start_date"]
    assert (start["datatype"], start["required"]) == ("date", True)
    concept = variables["omop:condition_occurrence.condition_concept_id"]
    assert concept["source_type"] == "integer (FK CONCEPT.CONCEPT_ID; domain Condition)"
    source_value = variables["omop:person.person_source_value"]
    assert (source_value["datatype"], source_value["max_length"]) == ("string", 50)
    assert source_value["required"] is False
    assert variables["omop:visit_occurrence.visit_start_datetime"]["datatype"] == "datetime"
    assert variables["omop:measurement.value_as_number"]["datatype"] == "decimal"
    # the CDM quotes the reserved word: "offset" is the field offset
    assert variables["omop:note_nlp.offset"]["physical_name"] == "offset"
    # varchar(MAX) has no length limit; "Integer" (sic) is an integer
    assert "max_length" not in variables["omop:note.note_text"]
    assert variables["omop:visit_occurrence.visit_type_concept_id"]["datatype"] == "integer"
    # forms get the Table_Level description
    forms = {f["id"]: f for f in data["forms"]}
    assert forms["person"]["description"]["en"].startswith("This table serves as the central")
    assert forms["visit_occurrence"]["table"] == "visit_occurrence"
    assert validate_catalogue(cat, jobs=1).findings == []

    # re-import: nothing changes
    before = snapshot(cat)
    again = invoke(runner, cat, "import", "omop", str(source))
    assert again.exit_code == 0, again.output
    assert "unchanged:" in again.output and "(0 added, 0 changed, 0 retired" in again.output
    assert snapshot(cat) == before


def test_bundled_register_is_a_fresh_import_with_curated_facts(runner, tmp_path, shared_data):
    """The bundled omop.yaml is what the importer writes, plus the register facts a
    curator added; importing again changes nothing."""
    cat = write_catalogue(tmp_path / "cat", [])
    shutil.copy(REPO / "catalogue" / "registers" / "omop.yaml", cat / "registers" / "omop.yaml")
    before = snapshot(cat)
    result = invoke(runner, cat, "import", "omop", str(shared_data / FIELD_CSV))
    assert result.exit_code == 0, result.output
    assert "unchanged:" in result.output
    assert snapshot(cat) == before
    register = read_yaml(cat / "registers" / "omop.yaml").data
    assert register["kind"] == "data_model" and register["key_register"] is False
    assert register["name"]["en"] == "OMOP Common Data Model 5.4"
    assert register["owner"].startswith("OHDSI")


# --- a small file ----------------------------------------------------------------------


def test_small_file_and_table_level_beside_it(tmp_path: Path) -> None:
    field = write_csv(tmp_path / "OMOP_CDMv9_Field_Level.csv", SMALL)
    (tmp_path / "OMOP_CDMv9_Table_Level.csv").write_text(
        "cdmTableName,schema,tableDescription\nperson,CDM,Persons.\nNOTE,CDM,NA\n",
        encoding="utf-8",
    )
    result = read_omop(field)
    assert result.scope == "omop" and result.complete and result.warnings == []
    assert [f.id for f in result.forms] == ["person", "condition_occurrence", "note_nlp", "note"]
    assert result.forms[0].description.en == "Persons."
    assert result.forms[1].description is None
    variables = {v.id: v for v in result.variables}
    assert list(variables)[0] == "omop:person.person_id"
    assert variables["omop:person.person_id"].definition.en == 'A person, "unique".'
    assert variables["omop:person.person_id"].help_text is None
    assert variables["omop:condition_occurrence.condition_start_date"].help_text.en == (
        "Line one\nline two"
    )
    assert variables["omop:note_nlp.offset"].max_length == 50
    assert variables["omop:note.note_text"].max_length is None
    # another register id
    assert read_omop(field, "cdm54").variables[0].id == "cdm54:person.person_id"


def test_unknown_datatype_and_missing_required_are_flagged(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "f.csv",
        [
            "person,shoe_size,No,geometry,x,NA,No,No,NA,NA,NA,NA,NA",
            "person,hair,NA,varchar(5),x,NA,No,No,NA,NA,NA,NA,NA",
        ],
    )
    result = read_omop(path)
    shoe, hair = result.variables
    assert shoe.datatype == "string" and shoe.source_type == "geometry"
    assert shoe.import_flags == [
        "field 'cdmDatatype': unknown datatype 'geometry'; imported as string"
    ]
    assert hair.required is None and hair.import_flags
    assert result.warnings[0].startswith(f"{path}:2: field 'cdmDatatype'")
    assert result.warnings[1].startswith(f"{path}:3: field 'isRequired'")


# --- bad input -------------------------------------------------------------------------

UTF16 = (HEADER + "\n" + SMALL[1] + "\n").encode("utf-16")
UTF16_NO_BOM = (HEADER + "\n" + SMALL[1] + "\n").encode("utf-16-le")


@pytest.mark.parametrize(
    ("content", "line", "field", "message"),
    [
        pytest.param(
            b"cdmTableName,cdmFieldName,userGuidance\nperson,person_id,x\n",
            1,
            None,
            "required column(s) missing: isRequired, cdmDatatype",
            id="missing-columns",
        ),
        pytest.param(
            HEADER.replace(",", ";").encode() + b"\n",
            1,
            None,
            "comma-separated",
            id="semicolons",
        ),
        pytest.param(UTF16, None, None, "UTF-16 text", id="utf16"),
        pytest.param(
            UTF16_NO_BOM, None, None, "UTF-16 text (without byte-order mark)", id="utf16-le"
        ),
        pytest.param(bytes(range(256)) * 20, None, None, "binary file", id="binary"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\x01\x02\x03" * 300, None, None, "binary", id="png"),
        pytest.param(
            (HEADER + "\nperson,f\xf8dsel,No,date,x,NA,No,No,NA,NA,NA,NA,NA\n").encode("latin-1"),
            2,
            None,
            "not valid UTF-8 (byte 0xf8",
            id="latin1",
        ),
        pytest.param(b"", None, None, "empty file", id="empty"),
        pytest.param(HEADER.encode() + b"\n", 2, None, "no rows after the header", id="no-rows"),
        pytest.param(
            "\n".join(
                [HEADER, SMALL[0], SMALL[1], SMALL[0].replace("Yes,integer", "No,bigint")]
            ).encode(),
            4,
            "cdmFieldName",
            "person.person_id is given twice (first on line 2)",
            id="duplicate",
        ),
        pytest.param(
            "\n".join([HEADER, SMALL[0], SMALL[1], SMALL[1].upper()]).encode(),
            4,
            "cdmFieldName",
            "person.year_of_birth is given twice",
            id="duplicate-by-case",
        ),
        pytest.param(
            (HEADER + "\nperson,visit start,No,date,x,NA,No,No,NA,NA,NA,NA,NA\n").encode(),
            2,
            "cdmFieldName",
            "'visit start' is not a valid field name",
            id="field-with-space",
        ),
        pytest.param(
            (HEADER + "\nperson,person.id,No,date,x,NA,No,No,NA,NA,NA,NA,NA\n").encode(),
            2,
            "cdmFieldName",
            "'person.id' is not a valid field name",
            id="field-with-dot",
        ),
        pytest.param(
            (HEADER + "\nperson,fødsel,No,date,x,NA,No,No,NA,NA,NA,NA,NA\n").encode(),
            2,
            "cdmFieldName",
            "'fødsel' is not a valid field name",
            id="field-non-ascii",
        ),
        pytest.param(
            (HEADER + "\nperson,NA,No,date,x,NA,No,No,NA,NA,NA,NA,NA\n").encode(),
            2,
            "cdmFieldName",
            "empty",
            id="field-na",
        ),
        pytest.param(
            (HEADER + "\n1person,x,No,date,x,NA,No,No,NA,NA,NA,NA,NA\n").encode(),
            2,
            "cdmTableName",
            "not a valid table name",
            id="bad-table",
        ),
        pytest.param(
            (HEADER + "\nperson,x,Maybe,date,x,NA,No,No,NA,NA,NA,NA,NA\n").encode(),
            2,
            "isRequired",
            "'Maybe' is not Yes or No",
            id="bad-yes-no",
        ),
        pytest.param(
            (HEADER + "\n" + SMALL[0] + "\nperson,x,No\n").encode(),
            3,
            "cdmDatatype",
            "row has 3 fields, expected 13",
            id="short-row",
        ),
        pytest.param(
            (HEADER + '\nperson,x,No,date,"never closed,NA\n').encode(),
            2,
            None,
            "ends inside a quoted field",
            id="unclosed-quote",
        ),
    ],
)
def test_bad_input_is_a_located_error(tmp_path, runner, cat, content, line, field, message):
    path = tmp_path / "bad_Field_Level.csv"
    path.write_bytes(content)
    with pytest.raises(RegcatError) as raised:
        read_omop(path)
    error = raised.value
    assert message in error.message
    assert (error.path, error.line, error.field) == (str(path), line, field)

    before = snapshot(cat)
    result = invoke(runner, cat, "import", "omop", str(path))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith(f"error: {path}")
    assert message in result.output
    assert snapshot(cat) == before


def test_bad_table_level_file_names_that_file(tmp_path: Path) -> None:
    field = write_csv(tmp_path / "X_Field_Level.csv", SMALL)
    table = tmp_path / "X_Table_Level.csv"
    table.write_text("cdmTableName,schema\nperson,CDM\n", encoding="utf-8")
    with pytest.raises(RegcatError) as raised:
        read_omop(field)
    assert raised.value.path == str(table)
    assert "tableDescription" in raised.value.message
    table.write_text("cdmTableName,tableDescription\nperson,a\nPerson,b\n", encoding="utf-8")
    with pytest.raises(RegcatError) as raised:
        read_omop(field)
    assert (raised.value.path, raised.value.line) == (str(table), 3)


def test_missing_file_and_bad_register_id(runner, cat, tmp_path: Path) -> None:
    result = invoke(runner, cat, "import", "omop", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "nope.csv" in result.output
    path = write_csv(tmp_path / "f.csv", SMALL)
    result = invoke(runner, cat, "import", "omop", str(path), "--register", "OMOP CDM")
    assert result.exit_code == 2 and "--register 'OMOP CDM'" in result.output
    with pytest.raises(RegcatError, match="register id"):
        read_omop(path, "Bad")


def test_dry_run_writes_nothing(runner, cat, tmp_path: Path) -> None:
    before = snapshot(cat)
    result = invoke(
        runner, cat, "import", "omop", str(write_csv(tmp_path / "f.csv", SMALL)), "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "would write" in result.output and "6 variables (6 added" in result.output
    assert snapshot(cat) == before


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(codecs.BOM_UTF8 + ("\n".join([HEADER, *SMALL]) + "\n").encode())
    assert len(read_omop(path).variables) == len(SMALL)


# --- the worked mapping set: NPR → OMOP -------------------------------------------------

SET = "npr-omop"
EPISODES = [
    # an inpatient stay with a main condition written without the dot, as NPR does
    {"NPR_EPISODEID": "E1", "fodselsnummer": "P1", "inndato": D(2024, 3, 4),
     "utdato": D(2024, 3, 9), "hovedtilstand": "I219"},
    # an outpatient contact: end date = start date
    {"NPR_EPISODEID": "E2", "fodselsnummer": "P1", "inndato": D(2024, 5, 1),
     "utdato": D(2024, 5, 1), "hovedtilstand": "J18.9"},
    # an episode without a main condition
    {"NPR_EPISODEID": "E3", "fodselsnummer": "P2", "inndato": D(2024, 6, 10),
     "utdato": D(2024, 6, 12), "hovedtilstand": None},
    {"NPR_EPISODEID": "E4", "fodselsnummer": "P3", "inndato": D(2023, 12, 31),
     "utdato": D(2024, 1, 2), "hovedtilstand": "C18.7"},
]  # fmt: skip
PROCEDURES = [
    {"NPR_PROSEDYREID": "PR2", "NPR_EPISODEID": "E1", "prosedyrekode": "FNG05"},
    {"NPR_PROSEDYREID": "PR1", "NPR_EPISODEID": "E1", "prosedyrekode": "FNA00"},
    {"NPR_PROSEDYREID": "PR3", "NPR_EPISODEID": "E4", "prosedyrekode": "JFB30"},
]
EXPECTED = {
    "npr_omop_visit_start": [
        {"NPR_EPISODEID": "E1", "visit_occurrence.visit_start_date": D(2024, 3, 4)},
        {"NPR_EPISODEID": "E2", "visit_occurrence.visit_start_date": D(2024, 5, 1)},
        {"NPR_EPISODEID": "E3", "visit_occurrence.visit_start_date": D(2024, 6, 10)},
        {"NPR_EPISODEID": "E4", "visit_occurrence.visit_start_date": D(2023, 12, 31)},
    ],
    "npr_omop_visit_end": [
        {"NPR_EPISODEID": "E1", "visit_occurrence.visit_end_date": D(2024, 3, 9)},
        {"NPR_EPISODEID": "E2", "visit_occurrence.visit_end_date": D(2024, 5, 1)},
        {"NPR_EPISODEID": "E3", "visit_occurrence.visit_end_date": D(2024, 6, 12)},
        {"NPR_EPISODEID": "E4", "visit_occurrence.visit_end_date": D(2024, 1, 2)},
    ],
    "npr_omop_condition_start": [
        {"NPR_EPISODEID": "E1", "condition_occurrence.condition_start_date": D(2024, 3, 4)},
        {"NPR_EPISODEID": "E2", "condition_occurrence.condition_start_date": D(2024, 5, 1)},
        {"NPR_EPISODEID": "E3", "condition_occurrence.condition_start_date": D(2024, 6, 10)},
        {"NPR_EPISODEID": "E4", "condition_occurrence.condition_start_date": D(2023, 12, 31)},
    ],
    "npr_omop_condition_source": [
        {"NPR_EPISODEID": "E1", "condition_occurrence.condition_source_value": "I219"},
        {"NPR_EPISODEID": "E2", "condition_occurrence.condition_source_value": "J18.9"},
        {"NPR_EPISODEID": "E3", "condition_occurrence.condition_source_value": None},
        {"NPR_EPISODEID": "E4", "condition_occurrence.condition_source_value": "C18.7"},
    ],
    "npr_omop_procedure_source": [
        {"NPR_PROSEDYREID": "PR1", "procedure_occurrence.procedure_source_value": "FNA00"},
        {"NPR_PROSEDYREID": "PR2", "procedure_occurrence.procedure_source_value": "FNG05"},
        {"NPR_PROSEDYREID": "PR3", "procedure_occurrence.procedure_source_value": "JFB30"},
    ],
}


def _write_extract(directory: Path, episodes=EPISODES) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    directory.mkdir(parents=True)
    pacsv.write_csv(pa.Table.from_pylist(episodes), directory / "npr_episode.csv")
    pq.write_table(pa.Table.from_pylist(PROCEDURES), directory / "npr_prosedyre.parquet")
    return directory


def _read_parquet(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def test_worked_mapping_set_is_valid_and_approved() -> None:
    cat = Catalogue.load(REPO / "catalogue")
    mapping_set = cat.mapping_sets["mappings/npr-omop.sssom.tsv"]
    mappings = {m.record_id: m for m in mapping_set.mappings}
    assert len(mappings) == 5
    for mapping in mappings.values():
        assert mapping.status == "approved"
        assert mapping.mapping_justification == "semapv:ManualMappingCuration"
        assert mapping.subject_id.startswith("npr:") and mapping.object_id.startswith("omop:")
        assert mapping.subject_id in cat.variables and mapping.object_id in cat.variables
        assert mapping.transformation is not None and mapping.comment
    source = mappings["mapping:npr-omop-condition-source"]
    assert source.predicate_id == "skos:broadMatch"  # the OMOP field holds every condition
    assert "condition_concept_id" in source.comment  # not faked: needs the OMOP vocabulary
    assert cat.registers["omop"].kind == "data_model"


def test_worked_mapping_set_compiles_and_runs(tmp_path: Path, runner, monkeypatch) -> None:
    monkeypatch.setenv("REGCAT_CATALOGUE", str(REPO / "catalogue"))
    result = runner.invoke(app, ["codegen-transform", SET, "--target", "sql"])
    assert result.exit_code == 0, result.output
    assert 'CREATE OR REPLACE VIEW "npr_omop_visit_start"' in result.output
    assert '"inndato" AS "visit_occurrence.visit_start_date" FROM "npr_episode"' in result.output
    for dialect in ("postgres", "spark", "trino"):
        result = runner.invoke(app, ["codegen-transform", SET, "--dialect", dialect])
        assert result.exit_code == 0, result.output

    module = tmp_path / "npr_omop.py"
    result = runner.invoke(
        app, ["codegen-transform", SET, "--target", "python", "--out", str(module)]
    )
    assert result.exit_code == 0, result.output
    namespace: dict = {}
    exec(compile(module.read_text(encoding="utf-8"), str(module), "exec"), namespace)  # noqa: S102 (the test runs generated code)
    tables = {"npr_episode": EPISODES, "npr_prosedyre": PROCEDURES}
    for name, expected in EXPECTED.items():
        assert namespace[name](tables) == expected, name
    assert len(namespace["MAPPINGS"]) == 5

    # regcat transform: DuckDB on a CSV + Parquet extract, one Parquet per mapping, each
    # checked against its OMOP table (required fields, types, lengths)
    extract = _write_extract(tmp_path / "in")
    out = tmp_path / "out"
    result = runner.invoke(app, ["transform", SET, "--input", str(extract), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "checked against omop form visit_occurrence: 4 rows, 0 error(s)" in result.output
    assert "checked against omop form procedure_occurrence: 3 rows, 0 error(s)" in result.output
    written = sorted(p.name for p in out.glob("*.parquet"))
    assert written == sorted(f"{name}.parquet" for name in EXPECTED)
    for name, expected in EXPECTED.items():
        assert _read_parquet(out / f"{name}.parquet") == expected, name

    # the outputs share the NPR key: the load step joins them into OMOP rows
    import duckdb

    visits = duckdb.sql(
        f'SELECT s.NPR_EPISODEID, s."visit_occurrence.visit_start_date" AS start, '
        f'e."visit_occurrence.visit_end_date" AS stop '
        f"FROM read_parquet('{out / 'npr_omop_visit_start.parquet'}') s "
        f"JOIN read_parquet('{out / 'npr_omop_visit_end.parquet'}') e USING (NPR_EPISODEID) "
        "ORDER BY 1"
    ).fetchall()
    assert visits == [
        ("E1", D(2024, 3, 4), D(2024, 3, 9)),
        ("E2", D(2024, 5, 1), D(2024, 5, 1)),
        ("E3", D(2024, 6, 10), D(2024, 6, 12)),
        ("E4", D(2023, 12, 31), D(2024, 1, 2)),
    ]
    assert all(stop >= start for _, start, stop in visits)

    # one mapping, one file
    single = tmp_path / "condition.csv"
    result = runner.invoke(
        app,
        ["transform", SET, "--input", str(extract), "--out", str(single),
         "--mapping", "mapping:npr-omop-condition-source"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = single.read_text(encoding="utf-8").splitlines()
    assert lines == [
        "NPR_EPISODEID,condition_occurrence.condition_source_value",
        "E1,I219",
        "E2,J18.9",
        "E3,",
        "E4,C18.7",
    ]


def test_an_open_stay_breaks_the_required_visit_end_date(tmp_path: Path, runner, monkeypatch):
    """An episode without an end date gives no visit_end_date (OMOP wants the date of the
    data pull there, which the load step sets): the target checker reports it."""
    monkeypatch.setenv("REGCAT_CATALOGUE", str(REPO / "catalogue"))
    episodes = [dict(EPISODES[0], utdato=None), *EPISODES[1:]]
    extract = _write_extract(tmp_path / "in", episodes)
    out = tmp_path / "end.parquet"
    result = runner.invoke(
        app,
        ["transform", SET, "--input", str(extract), "--out", str(out),
         "--mapping", "mapping:npr-omop-visit-end"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "required:visit_occurrence.visit_end_date: 1" in result.output
    assert _read_parquet(out)[0] == {"NPR_EPISODEID": "E1", "visit_occurrence.visit_end_date": None}


def test_data_model_is_left_out_of_reports_suggestions_and_datasets(
    bundled_index: Path,  # noqa: F811
) -> None:
    """The OMOP CDM is a mapping target (kind data_model): the NPR → OMOP mappings say
    how to load it, not that two registers collect the same thing."""
    from regcat.catalogue import Catalogue
    from regcat.interop.healthdcat import select_registers
    from regcat.overlap import concepts_report
    from regcat.suggest import suggest

    cat = Catalogue.from_index(bundled_index)
    assert cat.registers["omop"].kind == "data_model"
    concepts = concepts_report(cat)
    assert not [c for c in concepts["concepts"] if "omop" in c["registers"]]
    pairs = [(c.subject, c.object) for c in suggest(cat)]
    assert pairs and not [p for p in pairs if any(x.startswith("omop:") for x in p)]
    assert "omop" not in [r.id for r in select_registers(cat, None)]
    assert [r.id for r in select_registers(cat, ["omop"])] == ["omop"]
