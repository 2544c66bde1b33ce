"""The MRS kodebok importer: real NorVas exports (both layouts) and small workbooks
built here for each rule and each kind of bad input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from regcat.errors import RegcatError
from regcat.importers.mrs import map_field_type, read_mrs, slugify

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NORVAS = DATA / "mrs-kodebok" / "norvas"
NEW_FILE = NORVAS / "kodebok_norvas_11042023v2.xlsx"
OLD_FILE = NORVAS / "kodebok22082018.xlsx"

NEW_HEADER = [
    "Visningsnavn",
    "Unik teknisk referanse",
    "Variabelnavn",
    "Mulige verdier",
    "Felttype",
    "Gyldighet",
    "Hjelpetekst",
    "GammeltNavn",
    "Beskrivelse",
    "Feltkilde",
]
OLD_HEADER = [
    "Feltnavn",
    "Navn i kode",
    "Variabelnavn",
    "Mulige verdier",
    "Felttype",
    "Gyldighet",
    "Hjelpetekst",
]


def _real(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"real NorVas kodebok not found at {path} (the shared data folder is absent)")
    assert path.stat().st_size > 0
    return path


@pytest.fixture(scope="module")
def norvas_2023():
    return read_mrs(_real(NEW_FILE), "norvas")


@pytest.fixture(scope="module")
def norvas_2018():
    return read_mrs(_real(OLD_FILE), "norvas")


def make_kodebok(path: Path, sheets: dict[str, list[list]]) -> Path:
    assert sheets and all(rows for rows in sheets.values())
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    assert path.stat().st_size > 0
    return path


def new_row(label, name, values="", ftype="", help_text="", definition="", source="", ref=None):
    ref = name if ref is None else ref
    return [label, ref, name, values, ftype, "v10", help_text, "", definition, source]


def code_row(values):
    return ["", "", "", values, "", "", "", "", "", "Direkte fra skjema"]


def by_id(result):
    return {v.id: v for v in result.variables}


def codes_of(result, value_set_id):
    value_set = next(s for s in result.value_sets if s.id == value_set_id)
    return [(c.code, c.label.nb if c.label else None) for c in value_set.codes]


# --- real files -------------------------------------------------------------------


def test_norvas_2023_counts(norvas_2023):
    result = norvas_2023
    assert len(result.forms) == 17
    assert len(result.variables) == 762  # distinct Variabelnavn over 1,744 variable rows
    assert len(result.value_sets) == 165
    assert result.forms[0].id == "1_inklusjonskjema_11_04_2023"
    assert result.forms[0].name.nb == "1. Inklusjonskjema  11.04.2023"
    assert len({v.id for v in result.variables}) == len(result.variables)
    assert len({f.id for f in result.forms}) == len(result.forms)


def test_norvas_2018_counts(norvas_2018):
    result = norvas_2018
    assert len(result.forms) == 16
    assert len(result.variables) == 635
    assert len(result.value_sets) == 139
    assert result.forms[0].id == "1_medisineringinfusjonsloggskj"


@pytest.mark.parametrize("which", ["norvas_2023", "norvas_2018"])
def test_known_coded_variable(which, request):
    result = request.getfixturevalue(which)
    variable = by_id(result)["norvas:Jobbsituasjon"]
    assert variable.datatype == "coded"
    assert variable.source_type == "Enkeltvalg"
    assert variable.value_set == "norvas:Jobbsituasjon"
    assert codes_of(result, "norvas:Jobbsituasjon") == [
        ("0", "Velg verdi"),
        ("1", "100% jobb"),
        ("2", "Delvis jobb"),
        ("3", "Ikke jobb, sykdomsrelatert"),
        ("4", "Ikke jobb, andre årsaker"),
    ]
    assert variable.status == "accepted"


def test_every_value_set_is_used_and_every_reference_resolves(norvas_2023, norvas_2018):
    for result in (norvas_2023, norvas_2018):
        value_sets = {s.id for s in result.value_sets}
        used = {v.value_set for v in result.variables if v.value_set}
        assert used == value_sets
        forms = {f.id for f in result.forms}
        assert {v.form for v in result.variables} <= forms


def test_norvas_2023_layout_fields(norvas_2023):
    variables = by_id(norvas_2023)
    guid = variables["norvas:PasientGUID"]
    assert guid.definition.nb == "GUID til pasienten, ulik lokalt og nasjonalt"
    assert guid.collection_mode == "derived"  # Feltkilde "Beregnet (feks en formel)"
    assert guid.form == "1_inklusjonskjema_11_04_2023"
    criterion = variables["norvas:TakKriterierAgeDiseaseOnset40Years"]
    assert criterion.datatype == "boolean"
    assert criterion.help_text.nb.startswith("Development of symptoms")
    assert criterion.collection_mode == "manual"
    # the technical name is Variabelnavn, not the MRS reference
    start = variables["norvas:Med_StartDato"]
    assert start.datatype == "date"
    assert start.physical_name == "Med_StartDato"
    assert "norvas:StartDato" not in variables
    assert variables["norvas:Med_ImportTidspunkt"].datatype == "datetime"
    assert variables["norvas:Vekt"].datatype == "decimal"
    assert {v.datatype for v in variables.values()} >= {"coded", "boolean", "string", "date"}


def test_norvas_2018_layout_fields(norvas_2018):
    variables = by_id(norvas_2018)
    assert variables["norvas:SkjemaGUID"].datatype == "identifier"
    assert variables["norvas:SkjemaGUID"].source_type == "Id (Guid)"
    assert variables["norvas:UnitId"].datatype == "integer"
    assert variables["norvas:UnitId"].source_type == "Numerisk (heltall)"
    assert any(v.datatype == "decimal" for v in variables.values())
    assert all(v.definition is None for v in variables.values())  # no Beskrivelse column
    # "Skjematype" has no "Navn i kode" in this file; Variabelnavn still names it
    assert variables["norvas:Skjematype"].label.nb == "Skjematype"


def test_repeated_names_keep_the_first_sheet_and_warn(norvas_2023):
    variables = by_id(norvas_2023)
    # same definition on many sheets: kept once, summarised per sheet
    assert variables["norvas:Vekt"].form == "1_inklusjonskjema_11_04_2023"
    summaries = [w for w in norvas_2023.warnings if "already defined identically" in w]
    assert len(summaries) == 16
    assert all(str(NEW_FILE) in w and "sheet '" in w for w in summaries)
    # different definition: warned with both places and flagged on the kept variable
    kept = variables["norvas:InkludertAnnetSykehus"]
    assert kept.datatype == "boolean"
    assert any("Dato/tid" in flag for flag in kept.import_flags)
    conflict = [w for w in norvas_2023.warnings if "'norvas:InkludertAnnetSykehus'" in w]
    assert conflict and "row " in conflict[0] and "OppfølgingSkjema" in conflict[0]


# --- rules, on workbooks built here ---------------------------------------------------


def test_new_layout_fixture(tmp_path):
    path = make_kodebok(
        tmp_path / "kodebok.xlsx",
        {
            "Oppfølging 3 mnd": [
                NEW_HEADER,
                new_row("Røykestatus", "RoykeStatus", "1 = Aldri", "Enkeltvalg"),
                code_row("2 = Tidligere"),
                code_row("3 =  Daglig "),
                new_row("Ny diagnose", "NyDiagnose", ftype="Avkrysning", help_text="Kryss av"),
                new_row("Vekt", "Vekt", ftype="Tall", definition="Vekt i kg"),
                new_row("Importdato", "ImportTidspunkt", ftype="Dato/tid", source="Beregnet"),
                new_row("Kontrolldato", "KontrollDato", ftype="Dato/tid"),
                new_row("Kommentar", "Kommentar", ftype="Tekst"),
            ],
            "Blodprøver (lab)": [
                NEW_HEADER,
                new_row("Røykestatus", "RoykeStatus", "1 = Aldri", "Enkeltvalg"),
                code_row("2 = Tidligere"),
                code_row("3 = Daglig"),
                new_row("Vekt", "Vekt", ftype="Dato/tid"),
            ],
        },
    )
    result = read_mrs(path, "testreg")
    assert [f.id for f in result.forms] == ["oppfolging_3_mnd", "blodprover_lab"]
    assert result.forms[0].name.nb == "Oppfølging 3 mnd"
    variables = by_id(result)
    assert list(variables) == [
        "testreg:RoykeStatus",
        "testreg:NyDiagnose",
        "testreg:Vekt",
        "testreg:ImportTidspunkt",
        "testreg:KontrollDato",
        "testreg:Kommentar",
    ]
    smoking = variables["testreg:RoykeStatus"]
    assert smoking.datatype == "coded" and smoking.value_set == "testreg:RoykeStatus"
    assert smoking.form == "oppfolging_3_mnd"
    assert smoking.register_id is None  # derived from the register file, never written
    assert smoking.label.nb == "Røykestatus"
    assert codes_of(result, "testreg:RoykeStatus") == [
        ("1", "Aldri"),
        ("2", "Tidligere"),
        ("3", "Daglig"),
    ]
    assert variables["testreg:NyDiagnose"].datatype == "boolean"
    assert variables["testreg:NyDiagnose"].help_text.nb == "Kryss av"
    assert variables["testreg:Vekt"].datatype == "decimal"
    assert variables["testreg:Vekt"].definition.nb == "Vekt i kg"
    assert variables["testreg:ImportTidspunkt"].datatype == "datetime"
    assert variables["testreg:ImportTidspunkt"].collection_mode == "derived"
    assert variables["testreg:KontrollDato"].datatype == "date"
    assert variables["testreg:KontrollDato"].collection_mode == "manual"
    assert variables["testreg:Kommentar"].datatype == "string"
    assert all(v.status == "accepted" for v in variables.values())
    # RoykeStatus repeated identically: one summary; Vekt repeated as a date: flagged
    assert not smoking.import_flags
    assert any("1 variable(s) already defined identically" in w for w in result.warnings)
    assert "Dato/tid" in variables["testreg:Vekt"].import_flags[0]
    assert any("row 5" in w and "'testreg:Vekt'" in w for w in result.warnings)


def test_old_layout_fixture(tmp_path):
    path = make_kodebok(
        tmp_path / "old.xlsx",
        {
            "Inklusjon. Skjemaversjon 1.0": [
                OLD_HEADER,
                ["PasientGUID", "PatientInRegistryGuid", "PasientGUID", None, "Id (Guid)", "v1.0"],
                ["Skjematype", None, "Skjematype", None, "Tekst", "v1.0", None],
                ["Antall", "Antall", "Antall", None, "Numerisk (heltall)", "v1.0", None],
                ["CRP", "Crp", "Crp", None, "Numerisk (flyttall)", "v1.0", "mg/L"],
                ["Status", "FormStatus", "FormStatus", "0 = Ingen", "Enum", "v1.0", None],
                [None, None, None, "1 = Kladd", None, None, None],
                [None, None, None, "2 = Ferdigstilt", None, None, None],
            ]
        },
    )
    result = read_mrs(path, "norvas")
    variables = by_id(result)
    assert [f.id for f in result.forms] == ["inklusjon_skjemaversjon_1_0"]
    assert variables["norvas:PasientGUID"].datatype == "identifier"
    assert variables["norvas:Skjematype"].datatype == "string"
    assert variables["norvas:Antall"].datatype == "integer"
    assert variables["norvas:Crp"].datatype == "decimal"
    assert variables["norvas:Crp"].help_text.nb == "mg/L"
    assert variables["norvas:FormStatus"].datatype == "coded"
    assert variables["norvas:FormStatus"].source_type == "Enum"
    assert codes_of(result, "norvas:FormStatus") == [
        ("0", "Ingen"),
        ("1", "Kladd"),
        ("2", "Ferdigstilt"),
    ]
    assert all(v.collection_mode == "manual" for v in variables.values())
    assert result.warnings == []


def test_unknown_field_type_is_string_flagged_and_warned(tmp_path):
    path = make_kodebok(
        tmp_path / "kb.xlsx",
        {"Skjema": [NEW_HEADER, new_row("Smerte", "Smerte", ftype="Glidebryter")]},
    )
    result = read_mrs(path, "reg")
    variable = result.variables[0]
    assert variable.datatype == "string"
    assert variable.source_type == "Glidebryter"
    assert variable.import_flags and "Glidebryter" in variable.import_flags[0]
    (warning,) = result.warnings
    assert str(path) in warning
    assert "sheet 'Skjema' row 2" in warning
    assert "field 'Felttype'" in warning and "Glidebryter" in warning


def test_malformed_code_and_codeless_choice_are_flagged(tmp_path):
    path = make_kodebok(
        tmp_path / "kb.xlsx",
        {
            "Skjema": [
                NEW_HEADER,
                new_row("Valg", "Valg", "1 = Ja", "Enkeltvalg"),
                code_row("Nei"),
                code_row("1 = Ja igjen"),
                new_row("Tomt valg", "TomtValg", ftype="Enkeltvalg"),
            ]
        },
    )
    result = read_mrs(path, "reg")
    variables = by_id(result)
    assert codes_of(result, "reg:Valg") == [("1", "Ja")]
    assert len(variables["reg:Valg"].import_flags) == 2
    assert variables["reg:TomtValg"].value_set is None
    assert variables["reg:TomtValg"].import_flags
    assert any("row 3" in w and "'Mulige verdier'" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("sheet", "expected"),
    [
        ("1. Inklusjonskjema  11.04.2023 ", "1_inklusjonskjema_11_04_2023"),
        ("Blodprøvesvar", "blodprovesvar"),
        ("Ærlig Åpen", "aerlig_apen"),
        ("Café—Ø", "cafe_o"),
    ],
)
def test_slugify(sheet, expected):
    assert slugify(sheet) == expected


def test_field_type_map():
    assert map_field_type("Enkeltvalg") == "coded"
    assert map_field_type("Enum") == "coded"
    assert map_field_type("Avkrysning") == "boolean"
    assert map_field_type("Tall") == "decimal"
    assert map_field_type("Numerisk (heltall)") == "integer"
    assert map_field_type("Numerisk (flyttall)") == "decimal"
    assert map_field_type("Tekst") == "string"
    assert map_field_type("Dato/tid", "StartDato", "Start dato") == "date"
    assert map_field_type("Dato/tid", "EndringsDato", "Tidspunkt statusendring") == "datetime"
    assert map_field_type("Id (Guid)") == "identifier"
    assert map_field_type("Glidebryter") is None


# --- bad input: a RegcatError naming file, sheet, row and field -------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.xlsx"
    with pytest.raises(RegcatError) as err:
        read_mrs(path, "reg")
    assert str(path) in str(err.value) and "not found" in str(err.value)


def test_not_an_xlsx(tmp_path):
    path = tmp_path / "kodebok.xlsx"
    path.write_text("Visningsnavn;Variabelnavn\nA;B\n", encoding="utf-8")
    with pytest.raises(RegcatError) as err:
        read_mrs(path, "reg")
    assert str(path) in str(err.value) and "xlsx" in str(err.value)


def test_corrupt_zip(tmp_path):
    good = make_kodebok(
        tmp_path / "good.xlsx", {"S": [NEW_HEADER, new_row("A", "A", ftype="Tekst")]}
    )
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(RegcatError) as err:
        read_mrs(truncated, "reg")
    assert str(truncated) in str(err.value)

    not_excel = tmp_path / "other.xlsx"
    with zipfile.ZipFile(not_excel, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(RegcatError) as err:
        read_mrs(not_excel, "reg")
    assert str(not_excel) in str(err.value) and "xlsx" in str(err.value)


def test_sheet_without_expected_headers(tmp_path):
    path = make_kodebok(
        tmp_path / "kb.xlsx",
        {
            "Skjema": [NEW_HEADER, new_row("A", "A", ftype="Tekst")],
            "Notater": [["Dato", "Hvem", "Hva"], ["2023-01-01", "X", "endret"]],
        },
    )
    with pytest.raises(RegcatError) as err:
        read_mrs(path, "reg")
    message = str(err.value)
    assert str(path) in message and "sheet 'Notater'" in message
    assert "Variabelnavn" in message and "Felttype" in message


def test_header_without_field_type_column(tmp_path):
    path = make_kodebok(
        tmp_path / "kb.xlsx",
        {"Skjema": [["Visningsnavn", "Variabelnavn", "Mulige verdier"], ["A", "A", ""]]},
    )
    with pytest.raises(RegcatError) as err:
        read_mrs(path, "reg")
    assert err.value.field == "Felttype" and err.value.line == 1
    assert str(path) in str(err.value) and "sheet 'Skjema'" in str(err.value)


def test_code_row_without_variable_above(tmp_path):
    path = make_kodebok(
        tmp_path / "kb.xlsx",
        {"Skjema": [NEW_HEADER, code_row("1 = Ja"), new_row("A", "A", ftype="Tekst")]},
    )
    with pytest.raises(RegcatError) as err:
        read_mrs(path, "reg")
    message = str(err.value)
    assert err.value.line == 2 and err.value.field == "Mulige verdier"
    assert str(path) in message and "sheet 'Skjema' row 2" in message and "D2" in message
    assert "1 = Ja" in message


def test_variable_row_without_technical_name(tmp_path):
    path = make_kodebok(
        tmp_path / "kb.xlsx",
        {"Skjema": [NEW_HEADER, new_row("Uten navn", "", ftype="Tekst", ref="")]},
    )
    with pytest.raises(RegcatError) as err:
        read_mrs(path, "reg")
    assert err.value.field == "Variabelnavn" and err.value.line == 2
    assert "sheet 'Skjema' row 2" in str(err.value)


def test_bad_register_id(tmp_path):
    path = make_kodebok(tmp_path / "kb.xlsx", {"S": [NEW_HEADER, new_row("A", "A", ftype="Tekst")]})
    with pytest.raises(RegcatError) as err:
        read_mrs(path, "NorVas")
    assert err.value.field == "register"


def test_unsafe_technical_name_and_empty_sheet(tmp_path):
    workbook_path = make_kodebok(
        tmp_path / "kb.xlsx",
        {
            "Skjema": [NEW_HEADER, new_row("Røyk", "Røyk status", ftype="Tekst")],
            "Tom": [[None]],
        },
    )
    result = read_mrs(workbook_path, "reg")
    (variable,) = result.variables
    assert variable.id == "reg:Royk_status"
    assert variable.physical_name == "Røyk status"
    assert variable.import_flags
    assert any("sheet 'Tom'" in w and "empty" in w for w in result.warnings)
    assert [f.id for f in result.forms] == ["skjema"]


def test_codes_in_one_cell_on_several_lines(tmp_path):
    path = make_kodebok(
        tmp_path / "kb.xlsx",
        {"S": [NEW_HEADER, new_row("Svar", "Svar", "0 = Nei\n1 = Ja\n", "Enkeltvalg")]},
    )
    result = read_mrs(path, "reg")
    assert codes_of(result, "reg:Svar") == [("0", "Nei"), ("1", "Ja")]
