"""The SSB microdata importer: the real variable files and small JSON written here for
each rule and each kind of bad input."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from regcat.errors import RegcatError
from regcat.importers.ssb import read_ssb

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SSB = DATA / "ssb-microdata"

# file stem -> (register to pass, expected register, form id, variable short name)
REAL = {
    "NPR_EPISODE": (None, "npr", "episode", "NPR_EPISODEID"),
    "NPR_PROSEDYRE": (None, "npr", "prosedyre", "NPR_PROSEDYREID"),
    "NPR_SYKEHUSOPPHOLD": (None, "npr", "sykehusopphold", "NPR_SYKEHUSOPPHOLDID"),
    "KRG_KREFTTILFELLE": (None, "kreftregisteret", "krefttilfelle", "KRG_TILFELLEID"),
    "PERSON": ("ssb", "ssb", "person", "PERSONID_1"),
    "BK_HELSESTASJONSKONSULTASJON": (
        "ssb",
        "ssb",
        "bk_helsestasjonskonsultasjon",
        "BK_HELSESTASJONSKONSULTASJONS_ID",
    ),
    "KOMMUNE": ("ssb", "ssb", "kommune", "KOMMUNEID"),
}


def _real(stem: str) -> Path:
    path = SSB / f"{stem}.json"
    if not path.is_file():
        pytest.skip(f"real SSB microdata file not found at {path} (shared data folder absent)")
    assert path.stat().st_size > 0
    return path


# --- real files -------------------------------------------------------------------


@pytest.mark.parametrize("stem", sorted(REAL))
def test_every_real_file_imports(stem):
    given, register, form_id, short_name = REAL[stem]
    result = read_ssb(_real(stem), given)
    assert result.register_id == register
    assert [f.id for f in result.forms] == [form_id]
    form = result.forms[0]
    assert form.name.nb and form.name.en and form.description.nb and form.description.en
    (variable,) = result.variables
    assert variable.id == f"{register}:{short_name}"
    assert variable.form == form_id
    assert variable.register_id is None  # derived from the register file, never written
    assert variable.label.nb and variable.label.en  # bilingual
    assert variable.definition.nb and variable.definition.en
    assert variable.status == "accepted"
    assert variable.collection_mode == "reported"
    assert result.warnings == []
    assert not variable.import_flags


def test_npr_episode_details():
    result = read_ssb(_real("NPR_EPISODE"))
    variable = result.variables[0]
    assert variable.label.nb == "Episodeidentifikator"
    assert variable.label.en == "Episode identifier"
    assert variable.datatype == "identifier"  # format RandomUInt48
    assert variable.sensitivity == "indirect_identifier"  # requiresPseudonymization
    assert variable.source_type == "STRING (RandomUInt48)"
    assert result.forms[0].name.nb == "Episode NPR"
    assert result.value_sets == []


def test_unpseudonymised_identifier_by_name():
    result = read_ssb(_real("BK_HELSESTASJONSKONSULTASJON"), "ssb")
    variable = result.variables[0]
    assert variable.datatype == "identifier"  # LONG, short name ends in ID
    assert variable.sensitivity is None


def test_kommune_code_list_keeps_validity():
    result = read_ssb(_real("KOMMUNE"), "ssb")
    variable = result.variables[0]
    (value_set,) = result.value_sets
    assert variable.datatype == "coded"
    assert variable.value_set == value_set.id == "ssb:KOMMUNEID"
    assert value_set.url == "https://www.ssb.no/klass/klassifikasjoner/131/"
    assert len(value_set.codes) == 1122
    oslo = [c for c in value_set.codes if c.code == "0301"]
    assert len(oslo) == 1 and oslo[0].label.nb == "Oslo"
    assert oslo[0].valid_from == dt.date(1988, 1, 1) and oslo[0].valid_to is None
    horten = [(c.label.nb, c.valid_from, c.valid_to) for c in value_set.codes if c.code == "0701"]
    assert horten == [
        ("Borre", dt.date(1988, 1, 1), dt.date(2001, 12, 31)),
        ("Horten", dt.date(2002, 1, 1), dt.date(2019, 12, 31)),
    ]
    no_until = [c for c in value_set.codes if c.code == "0999"]  # key absent in the file
    assert no_until and no_until[0].valid_to is None
    assert sum(c.valid_to is None for c in value_set.codes) == 399


@pytest.mark.parametrize("stem", ["PERSON", "KOMMUNE", "BK_HELSESTASJONSKONSULTASJON"])
def test_register_needed_when_prefix_unknown(stem):
    path = _real(stem)
    with pytest.raises(RegcatError) as err:
        read_ssb(path)
    assert str(path) in str(err.value) and "--register" in str(err.value)
    assert err.value.field == "unitType.shortName"


# --- rules, on JSON written here ---------------------------------------------------------


def _texts(nb, en=None):
    out = [{"languageCode": "no", "value": nb}]
    if en is not None:
        out.append({"languageCode": "en", "value": en})
    return out


BASE = {
    "shortName": "NPR_HASTEGRAD",
    "name": _texts("Hastegrad", "Urgency"),
    "description": _texts("Hastegrad ved innleggelse", "Urgency at admission"),
    "dataType": "STRING",
    "unitType": {
        "shortName": "NPR_EPISODE",
        "requiresPseudonymization": True,
        "name": _texts("Episode NPR", "Episode NPR"),
        "description": _texts("Tidsperiode", "Period"),
    },
    "valueDomain": {
        "codeList": [
            {
                "code": "1",
                "categoryTitle": _texts("Akutt", "Emergency"),
                "validFrom": "2010-01-01",
                "validUntil": None,
            },
            {
                "code": 4,
                "categoryTitle": _texts("Planlagt", "Planned"),
                "validFrom": "2010-01-01",
                "validUntil": "2019-12-31",
            },
        ]
    },
}


def write(tmp_path: Path, data, name: str = "var.json") -> Path:
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    assert path.stat().st_size > 0
    return path


def test_fixture_code_list(tmp_path):
    result = read_ssb(write(tmp_path, BASE))
    assert result.register_id == "npr"
    variable = result.variables[0]
    assert variable.id == "npr:NPR_HASTEGRAD"
    assert variable.datatype == "coded"
    assert variable.sensitivity is None  # not an identifier
    (value_set,) = result.value_sets
    assert value_set.id == "npr:NPR_HASTEGRAD"
    assert value_set.name.en == "Urgency"
    assert [(c.code, c.label.nb, c.label.en) for c in value_set.codes] == [
        ("1", "Akutt", "Emergency"),
        ("4", "Planlagt", "Planned"),
    ]
    assert value_set.codes[0].valid_to is None
    assert value_set.codes[1].valid_to == dt.date(2019, 12, 31)


def test_fixture_data_types(tmp_path):
    for data_type, expected in [
        ("LONG", "integer"),
        ("DOUBLE", "decimal"),
        ("DATE", "date"),
        ("INSTANT", "datetime"),
    ]:
        data = copy.deepcopy(BASE)
        data["dataType"] = data_type
        del data["valueDomain"]
        variable = read_ssb(write(tmp_path, data)).variables[0]
        assert variable.datatype == expected, data_type


def test_unknown_data_type_flagged(tmp_path):
    data = copy.deepcopy(BASE)
    data["dataType"] = "GEOMETRY"
    del data["valueDomain"]
    path = write(tmp_path, data)
    result = read_ssb(path)
    variable = result.variables[0]
    assert variable.datatype == "string"
    assert variable.import_flags and "GEOMETRY" in variable.import_flags[0]
    (warning,) = result.warnings
    assert str(path) in warning and "'dataType'" in warning


def test_explicit_register_other_than_prefix_warns(tmp_path):
    result = read_ssb(write(tmp_path, BASE), "helsedata")
    assert result.variables[0].id == "helsedata:NPR_HASTEGRAD"
    assert result.forms[0].id == "npr_episode"
    assert any("'npr'" in w for w in result.warnings)


# --- bad input -----------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(RegcatError) as err:
        read_ssb(path)
    assert str(path) in str(err.value) and "not found" in str(err.value)


def test_not_json(tmp_path):
    path = write(tmp_path, '{\n  "shortName": "X",\n  "name": [,]\n}')
    with pytest.raises(RegcatError) as err:
        read_ssb(path)
    assert str(path) in str(err.value) and "JSON" in str(err.value)
    assert err.value.line == 3


def test_binary_file(tmp_path):
    path = tmp_path / "var.json"
    path.write_bytes(b"\x00\x01\x02 binary")
    with pytest.raises(RegcatError) as err:
        read_ssb(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda d: d.pop("shortName"), "shortName", "missing"),
        (lambda d: d.update(shortName=""), "shortName", "empty"),
        (lambda d: d.update(shortName="NPR HASTEGRAD"), "shortName", "letters"),
        (lambda d: d.update(name="Hastegrad"), "name", "list"),
        (lambda d: d["name"].__setitem__(0, "no"), "name[0]", "object"),
        (lambda d: d.pop("unitType"), "unitType", "missing"),
        (lambda d: d["unitType"].pop("shortName"), "unitType.shortName", "missing"),
        (lambda d: d.update(valueDomain=[]), "valueDomain", "object"),
        (
            lambda d: d["valueDomain"]["codeList"].__setitem__(1, "4"),
            "valueDomain.codeList[1]",
            "object",
        ),
        (
            lambda d: d["valueDomain"]["codeList"][0].pop("code"),
            "valueDomain.codeList[0].code",
            "missing",
        ),
        (
            lambda d: d["valueDomain"]["codeList"][1].update(validFrom="01.01.2010"),
            "valueDomain.codeList[1].validFrom",
            "date",
        ),
        (
            lambda d: d["valueDomain"]["codeList"][1].update(validUntil="2001-01-01"),
            "valueDomain.codeList[1].validUntil",
            "before",
        ),
    ],
)
def test_wrong_shape_names_file_and_json_path(tmp_path, mutate, field, words):
    data = copy.deepcopy(BASE)
    mutate(data)
    path = write(tmp_path, data)
    with pytest.raises(RegcatError) as err:
        read_ssb(path)
    assert err.value.field == field
    assert str(path) in str(err.value) and f"field '{field}'" in str(err.value)
    assert words in err.value.message


def test_top_level_not_an_object(tmp_path):
    path = write(tmp_path, [BASE])
    with pytest.raises(RegcatError) as err:
        read_ssb(path)
    assert str(path) in str(err.value) and err.value.field == "$"


def test_bad_register_id(tmp_path):
    with pytest.raises(RegcatError) as err:
        read_ssb(write(tmp_path, BASE), "Not A Register")
    assert err.value.field == "register"
