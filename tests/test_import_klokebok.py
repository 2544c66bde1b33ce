"""The OpenQReg klokebok importer: the real NORIC and AblaNor exports (read from
../shared/data when present) and small fixtures written here for every format variant
and every kind of bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from regcat.errors import RegcatError
from regcat.generated.model import ValueSet, Variable
from regcat.importers.klokebok import COLUMNS, read_klokebok

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "oqr-klokebok"
NORIC = DATA / "noric" / "NORIC_klokeboken_18.03.2025.csv"
ABLANOR_2023 = DATA / "ablanor" / "AblaNor_klokeboken_29.11.2023.csv"
ABLANOR_2024 = DATA / "ablanor" / "ablanor_klokeboken_16.01.2024_v002.csv"


def _real(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"real klokebok {path} is absent (the shared data folder is not checked out)")
    assert path.stat().st_size > 0
    return path


# --- fixtures ---------------------------------------------------------------------------


def _row(**cells: str) -> dict[str, str]:
    base = {"obligatorisk": "Ja", "aktiveringsspoersmaal": "Nei", "underspoersmaal": "Nei"}
    base["innfoert_dato"] = "2006-01-01"
    base.update(cells)
    return base


def _rows() -> list[dict[str, str]]:
    """A small klokebok shaped like NORIC's: two forms, three tables."""
    common = {"skjemanavn": "Angio+PCI", "tabell": "regangio"}
    rows = [
        _row(
            skjemanavn="Personopplysninger",
            tabell="patient",
            ledetekst="Fødselsnummer",
            type="Tekstvariabel",
            antall_tegn="11",
            lovlige_tegn="1234567890 ",
            fysisk_feltnavn="SSN",
            variabel_id="PATIENT_SSN",
            hjelpetekst="Skriv inn fødselsnummer (11 siffer).",
        ),
        _row(
            **common,
            ledetekst="Dato for prosedyre",
            type="Datovariabel",
            normalintervall_start_dato="'2000-01-01'",
            normalintervall_slutt_dato="toDayPlus30Days",
            maksintervall_start_dato="'1980-01-01'",
            maksintervall_slutt_dato="today",
            fysisk_feltnavn="INTERDAT",
            variabel_id="REGANGIO_INTERDAT",
        ),
    ]
    for code, text in (("0", "Nei"), ("1", "Ja"), ("9", "Ukjent")):
        rows.append(
            _row(
                **common,
                ledetekst="Diabetes",
                type="Listevariabel",
                listeverdier=code,
                listetekst=text,
                aktiveringsspoersmaal="Ja",
                fysisk_feltnavn="DIABETES",
                variabel_id="REGANGIO_DIABETES",
            )
        )
    for code, text, retired in (
        ("0", "Nei", ""),
        ("1", "Ja", ""),
        ("2", "Tabletter", "2013-04-01"),
    ):
        rows.append(
            _row(
                **common,
                ledetekst="Insulin",
                obligatorisk="Nei",
                type="Listevariabel",
                listeverdier=code,
                listetekst=text,
                underspoersmaal="Ja",
                utfaset_dato=retired,
                fysisk_feltnavn="DIABETESINSULIN",
                variabel_id="REGANGIO_DIABETESINSULIN",
            )
        )
    rows += [
        _row(
            **common,
            ledetekst="Vekt (kg)",
            type="Tallvariabel",
            normalintervall_start_numerisk="40",
            normalintervall_slutt_numerisk="150.0",
            maksintervall_start_numerisk="0,5",
            maksintervall_slutt_numerisk="300.00",
            antall_tegn="5",
            desimaler="1",
            fysisk_feltnavn="WEIGHT",
            variabel_id="REGANGIO_WEIGHT",
        ),
        _row(
            skjemanavn="Komplikasjoner på avdelingen",
            tabell="angiopcicomp",
            ledetekst="Ukjent",
            type="Avkrysningsboks",
            obligatorisk="Nei",
            innfoert_dato="2004-01-01",
            utfaset_dato="2022-09-05",
            fysisk_feltnavn="TIME_MISSING",
            variabel_id="ANGIOPCICOMP_TIME_MISSING",
        ),
    ]
    return rows


def _text(
    rows: list[dict[str, str]],
    *,
    header: list[str] | None = None,
    delimiter: str = ";",
    quoting: int = csv.QUOTE_ALL,
    newline: str = "\n",
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=newline)
    writer.writerow(header or list(COLUMNS))
    for row in rows:
        writer.writerow([row.get(column, "") for column in COLUMNS])
    return out.getvalue()


def _write(tmp_path: Path, text: str | bytes, encoding: str = "utf-8", name="kb.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    assert path.stat().st_size > 0
    return path


def _by_id(result, cls=Variable) -> dict:
    items = result.variables if cls is Variable else result.value_sets
    return {item.id.split(":", 1)[1]: item for item in items}


def _error(path: Path, register: str = "noric") -> RegcatError:
    with pytest.raises(RegcatError) as info:
        read_klokebok(path, register)
    err = info.value
    assert "Traceback" not in str(err) and "\n" not in err.render()
    return err


# --- the real files -----------------------------------------------------------------------


def test_noric_counts_forms():
    # Speed is measured in bench/, not asserted here: a timed test fails on a busy machine.
    path = _real(NORIC)
    result = read_klokebok(path, "noric")
    assert len(result.variables) == 871
    assert len(result.forms) == 15
    assert result.forms[0].id == "personopplysninger"
    forms = {form.id: form for form in result.forms}
    assert forms["angio_pci"].name.nb == "Angio+PCI"
    assert forms["angio_pci"].table is None  # four tables: regangio, pci, segment, diag
    assert forms["ct_angio"].table == "ctangio"
    assert {v.form for v in result.variables} == set(forms)
    assert result.variables[0].id == "noric:PATIENT_ID"
    assert all(v.source_type and v.collection_mode == "manual" for v in result.variables)
    assert all(v.topic is None for v in result.variables)


def test_noric_list_variable_codes():
    result = read_klokebok(_real(NORIC), "noric")
    variables, value_sets = _by_id(result), _by_id(result, ValueSet)
    gender = variables["PATIENT_GENDER"]
    assert gender.datatype == "coded" and gender.value_set == "noric:PATIENT_GENDER"
    codes = value_sets["PATIENT_GENDER"].codes
    assert [(c.code, c.label.nb) for c in codes] == [("1", "Mann"), ("2", "Kvinne")]
    indication = [c.code for c in value_sets["REGANGIO_INDIKATION"].codes]
    assert indication == [str(n) for n in range(1, 23)] + ["99"]
    # a code retired while the variable lives on: per-code dates
    punkt = variables["REGANGIO_PUNKT"]
    assert punkt.status == "accepted" and punkt.valid_to is None
    (retired,) = [c for c in value_sets["REGANGIO_PUNKT"].codes if c.valid_to]
    assert (retired.code, retired.valid_to) == ("2", dt.date(2005, 5, 1))
    # a repeated code keeps the first, with a warning naming row and field
    transferred = [c.code for c in value_sets["INITIALCARE_TRANSFERREDFROM"].codes]
    assert transferred == ["1", "2", "3", "99"]
    assert any(
        w.startswith(f"{NORIC}:1101: field 'listeverdier': code '3'") for w in result.warnings
    )


def test_noric_limits_types_and_identifiers():
    variables = _by_id(read_klokebok(_real(NORIC), "noric"))
    registered = variables["PATIENT_REGISTERED_DATE"]
    assert registered.datatype == "date"
    assert (registered.min_value, registered.max_value) == ("'1980-01-01'", "today")
    soft_max = {v.soft_max for v in variables.values() if v.datatype == "date"}
    assert "toDayPlus30Days" in soft_max
    diam = variables["SEGMENT_DIAM"]
    assert (diam.datatype, diam.decimals, diam.soft_min, diam.max_length) == (
        "decimal",
        2,
        "1.5",
        5,
    )
    assert variables["REGANGIO_HEIGHT"].datatype == "integer"
    assert variables["REGANGIO_THROMB_GIVEN_TIME_MISSING"].datatype == "boolean"
    assert variables["REGANGIO_MAIN_ANGIOGRAFOR"].value_set is None
    direct = {vid for vid, v in variables.items() if v.sensitivity == "direct_identifier"}
    assert {"PATIENT_ID", "PATIENT_SSN", "PATIENT_FIRSTNAME", "PATIENT_LASTNAME"} <= direct
    assert not {"PATIENT_SSN_TYPE", "PATIENT_MUNICIPALITY_NAME", "PATIENT_GENDER"} & direct
    assert variables["PATIENT_SSN"].physical_name == "SSN"
    assert variables["PATIENT_SSN"].table == "patient"
    assert variables["REGANGIO_DIATRYCK"].status == "retired"


def test_noric_activation():
    variables = _by_id(read_klokebok(_real(NORIC), "noric"))
    rule = variables["PCI_TROFORE"].activated_by
    assert rule is not None and (rule.variable, rule.values) == ("noric:PCI_ANTIFORE", ["1"])
    # "svaras endast på om LABDODSFALL = 2": 2 is no code of LABDODSFALL, so no rule
    assert variables["REGANGIO_LABPROCEDURDOD"].activated_by is None
    assert any("not all codes" in f for f in variables["REGANGIO_LABPROCEDURDOD"].import_flags)
    deceased_date = variables["PATIENT_DECEASED_DATE"]
    assert deceased_date.activated_by is None
    assert any(
        "underspoersmaal=Ja" in f and "noric:PATIENT_DECEASED" in f
        for f in deceased_date.import_flags
    )


def test_ablanor_both_versions():
    old = read_klokebok(_real(ABLANOR_2023), "ablanor")
    new = read_klokebok(_real(ABLANOR_2024), "ablanor")  # unquoted, dd.mm.yyyy, CRLF
    assert len(old.variables) == 233 and len(new.variables) == 286
    assert len(old.forms) == len(new.forms) == 9
    old_ids, new_ids = set(_by_id(old)), set(_by_id(new))
    assert len(old_ids & new_ids) >= 0.95 * len(old_ids)
    a, b = _by_id(old)["PATIENT_ID"], _by_id(new)["PATIENT_ID"]
    assert a.valid_from == b.valid_from == dt.date(1980, 1, 1)
    assert a.model_dump() == b.model_dump()
    year = _by_id(new)["BASEREG_DEBUT_ARYT_AAR"]
    assert (year.min_value, year.max_value) == ("birthYear", "todayYear")
    lovlige = _by_id(new)["PATIENT_SSN"].allowed_characters
    assert lovlige is not None and ":;?" in lovlige  # a quoted field in an unquoted file


# --- format variants ------------------------------------------------------------------------


def _check_small(result) -> None:
    variables = _by_id(result)
    assert list(variables) == [
        "PATIENT_SSN",
        "REGANGIO_INTERDAT",
        "REGANGIO_DIABETES",
        "REGANGIO_DIABETESINSULIN",
        "REGANGIO_WEIGHT",
        "ANGIOPCICOMP_TIME_MISSING",
    ]
    assert [f.id for f in result.forms] == [
        "personopplysninger",
        "angio_pci",
        "komplikasjoner_pa_avdelingen",
    ]
    assert variables["PATIENT_SSN"].label.nb == "Fødselsnummer"
    assert [c.label.nb for c in _by_id(result, ValueSet)["REGANGIO_DIABETES"].codes] == [
        "Nei",
        "Ja",
        "Ukjent",
    ]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "newline", "quoting"),
    [
        ("utf-8", ";", "\n", csv.QUOTE_ALL),
        ("utf-8-sig", ";", "\r\n", csv.QUOTE_ALL),
        ("utf-8-sig", ";", "\r\n", csv.QUOTE_MINIMAL),
        ("cp1252", ";", "\r\n", csv.QUOTE_MINIMAL),
        ("utf-16", "\t", "\r\n", csv.QUOTE_MINIMAL),
        ("utf-8", "\t", "\n", csv.QUOTE_MINIMAL),
        ("utf-8", ",", "\n", csv.QUOTE_ALL),
    ],
)
def test_encodings_and_delimiters(tmp_path, encoding, delimiter, newline, quoting):
    text = _text(_rows(), delimiter=delimiter, newline=newline, quoting=quoting)
    path = _write(tmp_path, text, encoding)
    if encoding == "utf-16":
        assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    result = read_klokebok(path, "noric")
    _check_small(result)
    cp1252_note = [w for w in result.warnings if "Windows-1252" in w]
    assert bool(cp1252_note) == (encoding == "cp1252")


def test_human_readable_headers(tmp_path):
    spelled = {
        "skjemanavn": "Skjemanavn",
        "navn_i_rapporteket": "Navn i Rapporteket",
        "ledetekst": "Ledetekst",
        "type": "Type",
        "listeverdier": "Listeverdier",
        "listetekst": "Listetekst",
        "normalintervall_start_numerisk": "Normalintervall start numerisk",
        "maksintervall_slutt_dato": "Maksintervall slutt dato",
        "antall_tegn": "Antall tegn",
        "aktiveringsspoersmaal": "Aktiveringsspørsmål",
        "underspoersmaal": "Underspørsmål",
        "innfoert_dato": "Innført dato",
        "utfaset_dato": "Utfaset-dato",
        "fysisk_feltnavn": "Fysisk feltnavn",
        "variabel_id": "Variabel ID",
    }
    header = [spelled.get(c, c) for c in COLUMNS]
    path = _write(tmp_path, _text(_rows(), header=header))
    result = read_klokebok(path, "noric")
    _check_small(result)
    variables = _by_id(result)
    assert variables["REGANGIO_INTERDAT"].max_value == "today"
    assert variables["REGANGIO_WEIGHT"].soft_min == "40"
    assert variables["ANGIOPCICOMP_TIME_MISSING"].valid_to == dt.date(2022, 9, 5)


def test_field_mapping_and_normal_forms(tmp_path):
    result = read_klokebok(_write(tmp_path, _text(_rows())), "noric")
    variables, value_sets = _by_id(result), _by_id(result, ValueSet)
    assert result.register_id == "noric" and result.source == str(tmp_path / "kb.csv")
    ssn = variables["PATIENT_SSN"]
    assert ssn.id == "noric:PATIENT_SSN" and ssn.form == "personopplysninger"
    assert ssn.help_text.nb == "Skriv inn fødselsnummer (11 siffer)."
    assert (ssn.max_length, ssn.allowed_characters) == (11, "1234567890 ")
    assert ssn.sensitivity == "direct_identifier" and ssn.required is True
    assert ssn.definition is None and ssn.source_type == "Tekstvariabel"
    date = variables["REGANGIO_INTERDAT"]
    assert (date.soft_min, date.soft_max) == ("'2000-01-01'", "toDayPlus30Days")
    assert (date.min_value, date.max_value) == ("'1980-01-01'", "today")
    weight = variables["REGANGIO_WEIGHT"]
    assert (weight.datatype, weight.decimals) == ("decimal", 1)
    assert (weight.soft_min, weight.soft_max, weight.min_value, weight.max_value) == (
        "40",
        "150",
        "0.5",
        "300",
    )
    insulin = variables["REGANGIO_DIABETESINSULIN"]
    assert insulin.required is False and insulin.status == "accepted"
    assert insulin.valid_from == dt.date(2006, 1, 1) and insulin.valid_to is None
    codes = value_sets["REGANGIO_DIABETESINSULIN"].codes
    assert [(c.code, c.valid_to) for c in codes] == [
        ("0", None),
        ("1", None),
        ("2", dt.date(2013, 4, 1)),
    ]
    tick = variables["ANGIOPCICOMP_TIME_MISSING"]
    assert (tick.datatype, tick.status, tick.valid_to) == (
        "boolean",
        "retired",
        dt.date(2022, 9, 5),
    )
    forms = {f.id: f for f in result.forms}
    assert forms["angio_pci"].table == "regangio"
    assert forms["komplikasjoner_pa_avdelingen"].name.nb == "Komplikasjoner på avdelingen"
    # sub-question: the flags are kept, with the nearest activating question as a candidate
    assert insulin.activated_by is None
    assert any("noric:REGANGIO_DIABETES" in f for f in insulin.import_flags)
    assert any("aktiveringsspoersmaal=Ja" in f for f in variables["REGANGIO_DIABETES"].import_flags)
    assert any("1 sub-question" in w for w in result.warnings)


def test_dd_mm_yyyy_dates_unquoted_crlf(tmp_path):
    rows = _rows()
    for row in rows:
        for key in ("innfoert_dato", "utfaset_dato"):
            if row.get(key):
                year, month, day = row[key].split("-")
                row[key] = f"{day}.{month}.{year}"
    text = _text(rows, quoting=csv.QUOTE_MINIMAL, newline="\r\n")
    assert "06.01.2006" not in text and "01.01.2006" in text
    variables = _by_id(read_klokebok(_write(tmp_path, text), "noric"))
    assert variables["PATIENT_SSN"].valid_from == dt.date(2006, 1, 1)
    assert variables["ANGIOPCICOMP_TIME_MISSING"].valid_to == dt.date(2022, 9, 5)


def test_unknown_type_flag_and_warning(tmp_path):
    rows = _rows()
    rows[0]["type"] = "Tidsstempel"
    path = _write(tmp_path, _text(rows))
    result = read_klokebok(path, "noric")
    ssn = _by_id(result)["PATIENT_SSN"]
    assert (ssn.datatype, ssn.source_type) == ("string", "Tidsstempel")
    assert any("unknown type 'Tidsstempel'" in f for f in ssn.import_flags)
    assert f"{path}:2: field 'type': unknown type 'Tidsstempel', imported as string" in (
        result.warnings
    )


def test_rows_disagree_first_wins(tmp_path):
    rows = _rows()
    rows[3]["type"] = "Tallvariabel"  # the second row of REGANGIO_DIABETES
    path = _write(tmp_path, _text(rows))
    result = read_klokebok(path, "noric")
    diabetes = _by_id(result)["REGANGIO_DIABETES"]
    assert diabetes.datatype == "coded"
    assert any(f.startswith("field 'type': rows disagree") for f in diabetes.import_flags)
    assert any(
        w.startswith(f"{path}:5: field 'type': variable 'REGANGIO_DIABETES'")
        for w in (result.warnings)
    )


def test_hostile_strings_are_data(tmp_path):
    hostile = 'Vekt "kg"; </script>{{ x }}\n"; DROP TABLE variables; --'
    rows = _rows()
    rows[8]["ledetekst"] = hostile  # REGANGIO_WEIGHT
    rows[8]["hjelpetekst"] = "<b>{{7*7}}</b>"
    rows[2]["listetekst"] = "'; DROP TABLE x; --"
    result = read_klokebok(_write(tmp_path, _text(rows)), "noric")
    weight = _by_id(result)["REGANGIO_WEIGHT"]
    assert weight.label.nb == hostile and weight.help_text.nb == "<b>{{7*7}}</b>"
    assert _by_id(result, ValueSet)["REGANGIO_DIABETES"].codes[0].label.nb == "'; DROP TABLE x; --"


def test_activation_from_kommentar_and_label_fallback(tmp_path):
    rows = _rows()
    rows[8]["kommentar"] = "endast vid 1 på DIABETES"  # REGANGIO_WEIGHT
    rows[1]["ledetekst"] = ""  # REGANGIO_INTERDAT
    result = read_klokebok(_write(tmp_path, _text(rows)), "noric")
    variables = _by_id(result)
    rule = variables["REGANGIO_WEIGHT"].activated_by
    assert (rule.variable, rule.values) == ("noric:REGANGIO_DIABETES", ["1"])
    assert "kommentar: endast vid 1 på DIABETES" in variables["REGANGIO_WEIGHT"].import_flags
    assert variables["REGANGIO_INTERDAT"].label.nb == "INTERDAT"
    assert any("no label" in f for f in variables["REGANGIO_INTERDAT"].import_flags)


# --- bad input ------------------------------------------------------------------------------


def test_missing_file_and_directory(tmp_path):
    err = _error(tmp_path / "nope.csv")
    assert err.path == str(tmp_path / "nope.csv") and "not found" in err.message
    assert "directory" in _error(tmp_path).message


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"  \r\n\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    err = _error(path)
    assert err.path == str(path) and "empty" in err.message


def test_header_only(tmp_path):
    err = _error(_write(tmp_path, _text([])))
    assert err.line == 1 and "no rows" in err.message


def test_binary_file(tmp_path):
    path = _write(tmp_path, b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, name="kb.xlsx")
    err = _error(path)
    assert err.path == str(path) and "binary" in err.message


def test_not_a_klokebok(tmp_path):
    path = _write(tmp_path, "navn;alder\nOla;42\n")
    err = _error(path)
    assert (err.path, err.line) == (str(path), 1)
    assert "required column(s) missing" in err.message
    for column in ("skjemanavn", "ledetekst", "type", "listeverdier", "variabel_id"):
        assert column in err.message


def test_wrong_delimiter(tmp_path):
    path = _write(tmp_path, _text(_rows(), delimiter="|"))
    err = _error(path)
    assert err.line == 1 and "variabel_id" in err.message and "delimiter" in err.message


def test_truncated_last_row(tmp_path):
    text = _text(_rows(), quoting=csv.QUOTE_MINIMAL)
    lines = text.splitlines(keepends=True)
    truncated = "".join(lines[:-1]) + lines[-1][:40]
    path = _write(tmp_path, truncated)
    err = _error(path)
    assert (err.path, err.line) == (str(path), len(lines))
    assert "fields, expected 27" in err.message and err.field is not None
    assert f"{path}:{len(lines)}: field '{err.field}'" in str(err)


def test_truncated_inside_quotes(tmp_path):
    text = _text(_rows())
    lines = text.splitlines(keepends=True)
    path = _write(tmp_path, "".join(lines[:-1]) + lines[-1][:60])
    err = _error(path)
    assert err.line == len(lines) and "quoted field" in err.message


def test_row_with_too_many_fields(tmp_path):
    lines = _text(_rows()).splitlines(keepends=True)
    lines[3] = lines[3].rstrip("\n") + ';"extra"\n'
    err = _error(_write(tmp_path, "".join(lines)))
    assert err.line == 4 and "28 fields, expected 27" in err.message


def test_undecodable_bytes(tmp_path):
    text = _text(_rows()).encode("utf-8")
    lines = text.split(b"\n")
    lines[5] = lines[5].replace(b"Ja", b"J\x81a", 1)  # \x81: not UTF-8, no UTF-8 sequence
    mixed = b"\n".join(lines)
    assert "ø".encode() in mixed  # other parts are UTF-8: mixed encodings
    err = _error(_write(tmp_path, mixed))
    assert err.line == 6 and "UTF-8" in err.message
    # \x81 is undefined in Windows-1252 too
    path = _write(
        tmp_path, _text(_rows()).encode("cp1252").replace(b"Ja", b"\x81", 1), name="b.csv"
    )
    err = _error(path)
    assert err.path == str(path) and err.line is not None and "undecodable" in err.message


def test_bad_variable_id(tmp_path):
    rows = _rows()
    rows[2]["variabel_id"] = "REGANGIO DIABETES"
    path = _write(tmp_path, _text(rows))
    err = _error(path)
    assert (err.path, err.line, err.field) == (str(path), 4, "variabel_id")
    assert str(err).startswith(f"{path}:4: field 'variabel_id': variable id 'REGANGIO DIABETES'")
    rows[2]["variabel_id"] = ""
    assert _error(_write(tmp_path, _text(rows))).line == 4


@pytest.mark.parametrize("bad", ["2006/01/01", "2023-02-30", "1. januar 2006", "06-01-2006"])
def test_bad_dates(tmp_path, bad):
    rows = _rows()
    rows[4]["utfaset_dato"] = bad
    path = _write(tmp_path, _text(rows))
    err = _error(path)
    assert (err.line, err.field) == (6, "utfaset_dato") and repr(bad) in err.message
    assert "yyyy-mm-dd or dd.mm.yyyy" in err.message


def test_bad_date_names_human_readable_header(tmp_path):
    rows = _rows()
    rows[0]["innfoert_dato"] = "i fjor"
    header = ["Innført dato" if c == "innfoert_dato" else c for c in COLUMNS]
    err = _error(_write(tmp_path, _text(rows, header=header)))
    assert (err.line, err.field) == (2, "Innført dato")


def test_duplicate_column_and_bad_register_id(tmp_path):
    header = list(COLUMNS)
    header[1] = "Variabel ID"
    err = _error(_write(tmp_path, _text(_rows(), header=header)))
    assert err.line == 1 and "appears twice" in err.message
    with pytest.raises(RegcatError, match="register id"):
        read_klokebok(_write(tmp_path, _text(_rows()), name="ok.csv"), "NORIC")


def test_odd_values_are_flagged_not_fatal(tmp_path):
    rows = _rows()
    rows[0]["type"] = ""
    rows[0]["obligatorisk"] = "Kanskje"
    rows[8]["normalintervall_start_dato"] = "today"  # REGANGIO_WEIGHT also has a numeric one
    path = _write(tmp_path, "\n\n" + _text(rows))  # blank lines before the header
    result = read_klokebok(path, "noric")
    variables = _by_id(result)
    ssn = variables["PATIENT_SSN"]
    assert (ssn.datatype, ssn.required) == ("string", None)
    assert f"{path}:4: field 'type': no type given, imported as string" in result.warnings
    assert any("'Kanskje' is neither Ja nor Nei" in f for f in ssn.import_flags)
    assert variables["REGANGIO_WEIGHT"].soft_min == "40"
    assert any(f"{path}:12: field 'normalintervall_start_numerisk'" in w for w in result.warnings)
    rows[1]["variabel_id"] = "bad id"
    assert _error(_write(tmp_path, "\n\n" + _text(rows), name="b.csv")).line == 5


def test_utf16_undecodable(tmp_path):
    good = _text(_rows(), delimiter="\t").encode("utf-16")
    err = _error(_write(tmp_path, good + b"\x00"))
    assert "undecodable" in err.message and "UTF-16" in err.message and err.line is not None
