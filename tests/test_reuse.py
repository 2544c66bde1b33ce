"""The reuse check of a proposed variable (`regcat.reuse`): the candidates `regcat
suggest` would give it, at once, from other registers and from key registers."""

# The tables of odd and bad input keep one case per line, however long.
# ruff: noqa: E501

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from regcat.catalogue import Catalogue
from regcat.errors import RegcatError
from regcat.generated.model import (
    Coding,
    LocalizedText,
    PermissibleValue,
    ValueSet,
    Variable,
)
from regcat.index import build_index
from regcat.layout import bundled_catalogue
from regcat.reuse import (
    HIDDEN_STATUSES,
    MAX_CODE_LENGTH,
    MAX_CODES,
    MAX_CODINGS,
    MAX_TEXT,
    ReuseCandidate,
    ReuseChecker,
    ReuseReport,
)
from regcat.suggest import suggest

from .test_suggest import RAND12, find, load, rand_catalogue, register, var

# --- fixtures and helpers -----------------------------------------------------------


@pytest.fixture(scope="module")
def bundled_index(tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("reuse") / "index"
    report = build_index(bundled_catalogue(), index)
    assert not report.errors, report.errors[:3]
    return index


@pytest.fixture(scope="module")
def bundled(bundled_index) -> Catalogue:
    return Catalogue.from_index(bundled_index)


@pytest.fixture(scope="module")
def checker(bundled) -> ReuseChecker:
    return ReuseChecker(bundled)


def proposal(vid: str, nb: str, datatype: str = "string", **fields) -> Variable:
    return Variable(
        id=vid, label=LocalizedText(nb=nb, en=fields.pop("en", None)), datatype=datatype, **fields
    )


def ids(candidates: list[ReuseCandidate]) -> list[str]:
    return [c.variable_id for c in candidates]


def without(catalogue: Catalogue, vid: str) -> tuple[Catalogue, Variable]:
    """A catalogue like `catalogue` without the variable `vid` (which is returned)."""
    removed = catalogue.variables[vid]
    register_id = vid.partition(":")[0]
    copy = Catalogue(catalogue.root)
    copy.value_sets = catalogue.value_sets
    copy.code_systems = catalogue.code_systems
    copy.instruments = catalogue.instruments
    copy.mapping_sets = catalogue.mapping_sets
    copy.variables = {k: v for k, v in catalogue.variables.items() if k != vid}
    for rid, reg in catalogue.registers.items():
        if rid == register_id:
            reg = reg.model_copy(
                update={"variables": [v for v in reg.variables or [] if v.id != vid]}
            )
        copy.registers[rid] = reg
    return copy, removed


def suggested(catalogue: Catalogue, vid: str, k: int, key_only: bool) -> list:
    """What `regcat suggest` gives `vid` as subject, best first: the union of its runs
    between vid's register and each other (key) register holds the overall top k."""
    register_id = vid.partition(":")[0]
    order = {
        v.id: (rid, i)
        for rid in sorted(catalogue.registers)
        for i, v in enumerate(catalogue.registers[rid].variables or [])
    }
    found = []
    for other in sorted(catalogue.registers):
        if other == register_id or (key_only and not catalogue.registers[other].key_register):
            continue
        for c in suggest(catalogue, (register_id, other), limit_per_subject=100):
            if c.subject == vid and catalogue.variables[c.object].status not in HIDDEN_STATUSES:
                found.append(c)
    found.sort(key=lambda c: (-c.score, order[c.object]))
    return found[:k]


def assert_agrees(report: ReuseReport, catalogue: Catalogue, vid: str, k: int) -> None:
    """The reuse check of `vid` (proposed while not in the catalogue) gives what suggest
    gives it in the catalogue: the same objects, scores, predicates and reasons (less the
    'already mapped' note, which a proposal cannot have)."""
    for got, key_only in ((report.similar, False), (report.key_register, True)):
        expected = suggested(catalogue, vid, k, key_only)
        assert ids(got) == [c.object for c in expected], (vid, key_only)
        for g, e in zip(got, expected, strict=True):
            assert g.score == pytest.approx(e.score, abs=1e-9)
            assert g.predicate == e.predicate
            assert g.reasons == [r for r in e.reasons if not r.startswith("already mapped")]
            assert g.key_register == bool(catalogue.registers[g.register_id].key_register)
            assert g.register_id != vid.partition(":")[0]


# --- agreement with `regcat suggest` ------------------------------------------------

BUNDLED_SUBJECTS = [
    "dar:dodsdato",
    "noric:PATIENT_DECEASED_DATE",
    "noric:PATIENT_BIRTH_DATE",
    "noric:PATIENT_GENDER",
    "lmr:fodselsnummer",
    "lmr:fodselsdato",
    "lmr:utleveringsdato",
    "npr:hovedtilstand",
    "dar:underliggende_dodsarsak",
    "kreftregisteret:KRG_TILFELLEID",
    "nhir:fodselsnummer",
    "lmr:kjonn",
    "lmr:atc",
    "dar:medvirkende_dodsarsak",
    "noric:DISCHARGE_ASPIRIN_DISCHARGE",
    "noric:DISCHARGE_BETA_BLOCKERS_DISCHARGE",
]


@pytest.mark.parametrize("vid", BUNDLED_SUBJECTS)
def test_bundled_variable_proposed_again_finds_what_suggest_finds(bundled, vid):
    catalogue, variable = without(bundled, vid)
    value_set = bundled.value_sets.get(variable.value_set) if variable.value_set else None
    report = ReuseChecker(catalogue).check(variable, value_set, limit=5)
    assert report.similar, vid
    assert_agrees(report, bundled, vid, 5)


def test_every_rand12_item_agrees_with_suggest(tmp_path):
    cat = rand_catalogue(tmp_path)
    for i, row in enumerate(RAND12):
        vid = f"alpha:RAND12_{i}"
        catalogue, variable = without(cat, vid)
        report = ReuseChecker(catalogue).check(variable, limit=3)
        assert report.similar[0].variable_id == f"beta:RAND36_{row[3]}"
        assert report.key_register == []  # neither register is a key register
        assert_agrees(report, cat, vid, 3)


def test_rand12_item_with_a_section_finds_its_rand36_twin_first(tmp_path):
    cat = rand_catalogue(tmp_path)
    number, help_, text, twin = RAND12[3]  # "3 a. Har utrettet mindre …", physical health
    variable = proposal(
        "alpha:NY_RAND12_3A",
        f"{number} {text}",
        "coded",
        value_set="alpha:SKALA",
        form="rand12",
        help_text=LocalizedText(nb=help_),
    )
    report = ReuseChecker(cat).check(variable)
    first, second = report.similar[:2]
    assert (first.variable_id, first.predicate) == (f"beta:RAND36_{twin}", "skos:exactMatch")
    assert (second.variable_id, second.predicate) == ("beta:RAND36_18", "skos:closeMatch")
    assert "value sets overlap 3/3 codes (used by 36 variables of one register)" in first.reasons
    assert any(r.startswith("context agrees") for r in first.reasons)
    assert any(r.startswith("context differs") for r in second.reasons)
    # alpha:RAND12_3 is the same item in the catalogue: suggest scores it alike
    c = find(suggest(cat, ("alpha", "beta")), "alpha:RAND12_3", "beta:RAND36_14")
    assert (c.score, c.predicate, c.reasons) == (first.score, first.predicate, first.reasons)


# --- the bundled catalogue: real proposals ------------------------------------------


def test_myocardial_infarction_with_icd10_finds_npr_diagnoses(checker):
    variable = proposal(
        "norvas:HJERTEINFARKT",
        "Hjerteinfarkt",
        "boolean",
        en="Myocardial infarction",
        codings=[Coding(system="ICD10", code="I21")],
    )
    report = checker.check(variable, limit=20)
    keys = ids(report.key_register)
    assert keys[0] == "npr:hovedtilstand"
    assert {"npr:bitilstand", "dar:underliggende_dodsarsak", "dar:medvirkende_dodsarsak"} <= set(
        keys
    )
    first = report.key_register[0]
    assert first.key_register and first.register_id == "npr"
    assert first.label == {"nb": "Hovedtilstand", "en": "Main condition"}
    assert (
        "coding ICD10:I21 is one of the object's ICD10 codes → broadMatch (the object is broader)"
        in first.reasons
    )
    assert first.justification == "semapv:CompositeMatching"
    # NORIC's own "Hjerteinfarkt" variables come first among all registers
    assert report.similar[0].label == {"nb": "Hjerteinfarkt"}
    assert report.similar[0].predicate == "skos:closeMatch"  # boolean / coded
    # NHIR's admission date for the infarction shares the code, but is a date
    nhir = next(c for c in report.similar if c.variable_id == "nhir:innleggelsesdato")
    assert "shared coding ICD10:I21" in nhir.reasons and nhir.predicate == "skos:relatedMatch"
    assert nhir.status == "draft" and not nhir.key_register
    # a sub-code of I21 finds them too
    narrower = proposal(
        "norvas:NSTEMI", "NSTEMI", "boolean", codings=[Coding(system="ICD10", code="I21.4")]
    )
    assert "npr:hovedtilstand" in ids(checker.check(narrower).key_register)


@pytest.mark.parametrize(
    "vid, atc",
    [
        ("noric:DISCHARGE_ASPIRIN_DISCHARGE", "B01AC06"),
        ("noric:DISCHARGE_STATINS_DISCHARGE", "C10AA"),
    ],
)
def test_noric_medication_with_its_atc_code_finds_the_medicines_register(bundled, vid, atc):
    """A NORIC medication variable, proposed again with the ATC code it stands for (the
    proposal form asks for codings), finds LMR's dispensed ATC code as a key register."""
    catalogue, variable = without(bundled, vid)
    variable = variable.model_copy(update={"codings": [Coding(system="ATC", code=atc)]})
    value_set = bundled.value_sets[variable.value_set]
    report = ReuseChecker(catalogue).check(variable, value_set)
    lmr = report.key_register[0]
    assert (lmr.variable_id, lmr.register_id, lmr.key_register) == ("lmr:atc", "lmr", True)
    assert (
        f"coding ATC:{atc} is one of the object's ATC codes → broadMatch (the object is broader)"
        in lmr.reasons
    )
    assert lmr.score >= 0.5
    assert "lmr:atc" in ids(report.similar)
    # its yes/no/unknown answers are not ATC codes: not held against the pair
    assert not any(r.startswith("value set codes") for r in lmr.reasons)


def test_date_of_death_finds_the_cause_of_death_register(checker, bundled):
    report = checker.check(proposal("norvas:DODSDATO", "Dødsdato", "date"))
    assert report.key_register[0].variable_id == "dar:dodsdato"
    assert report.key_register[0].predicate == "skos:exactMatch"
    assert report.key_register[0].score == 1.0
    deaths = {
        "noric:PATIENT_DECEASED_DATE",
        "noric:DISCHARGE_DECEASED_DATE",
        "noric:TAVIPERC_LAB_DECEASED_DATE",
    }
    assert deaths <= set(ids(report.similar))
    # ties in catalogue order: DÅR (d) before NORIC (n)
    assert report.similar[0].variable_id == "dar:dodsdato"
    assert [c.score for c in report.similar[:4]] == [1.0] * 4


def test_heartqol_item_finds_the_same_item_in_noric(checker):
    variable = proposal(
        "norkar:HEARTQOL_Q06",
        "Følt deg tung i pusten",
        "coded",
        instrument_item="heartqol:q06",
        topic="prom",
    )
    report = checker.check(variable)
    first = report.similar[0]
    assert first.variable_id == "noric:HEARTQOL_Q06"
    assert "same instrument item heartqol:q06" in first.reasons
    assert first.predicate == "skos:exactMatch"
    assert report.key_register == []


def test_a_noric_proposal_is_not_offered_noric_variables(checker):
    report = checker.check(proposal("noric:NY_DODSDATO", "Dødsdato", "date"))
    assert report.similar and all(c.register_id != "noric" for c in report.similar)
    assert report.similar[0].variable_id == "dar:dodsdato"


# --- choices: key registers, retired variables, limits -------------------------------


def key_catalogue(tmp_path) -> Catalogue:
    alpha = register("alpha", [var("VEKT", "Kroppsvekt", "decimal", unit="kg")])
    beta = register(
        "beta",
        [
            var("VEKT", "Kroppsvekt", "decimal", unit="kg"),
            var("VEKT2", "Kroppsvekt", "decimal", unit="kg", status="draft"),
            var("VEKT_GML", "Kroppsvekt", "decimal", unit="kg", status="retired"),
            var("VEKT_UT", "Kroppsvekt", "decimal", unit="kg", status="deprecated"),
        ],
    )
    gamma = register("gamma", [var("VEKT", "Kroppsvekt", "decimal", unit="kg")])
    key = register("nokkel", [var("VEKT", "Kroppsvekt ved innleggelse", "decimal", unit="kg")])
    key["key_register"] = True
    return load(tmp_path, [alpha, beta, gamma, key])


def test_key_register_list_is_settled_on_its_own(tmp_path):
    checker = ReuseChecker(key_catalogue(tmp_path))
    variable = proposal("delta:VEKT", "Kroppsvekt", "decimal", unit="kg")
    with pytest.raises(RegcatError, match="unknown register 'delta'"):
        checker.check(variable)
    report = checker.check(proposal("alpha:VEKT2", "Kroppsvekt", "decimal", unit="kg"), limit=2)
    # the best two are exact matches in quality registers …
    assert ids(report.similar) == ["beta:VEKT", "beta:VEKT2"]
    # … and the weaker key-register candidate is still found
    assert ids(report.key_register) == ["nokkel:VEKT"]
    assert report.key_register[0].key_register
    assert report.key_register[0].score < 1.0
    full = checker.check(proposal("alpha:VEKT2", "Kroppsvekt", "decimal", unit="kg"))
    assert ids(full.similar) == ["beta:VEKT", "beta:VEKT2", "gamma:VEKT", "nokkel:VEKT"]
    assert [c.key_register for c in full.similar] == [False, False, False, True]


def test_retired_and_deprecated_variables_are_not_offered(tmp_path):
    checker = ReuseChecker(key_catalogue(tmp_path))
    report = checker.check(proposal("alpha:NY", "Kroppsvekt", "decimal", unit="kg"))
    offered = ids(report.similar)
    assert "beta:VEKT_GML" not in offered and "beta:VEKT_UT" not in offered
    assert {c.status for c in report.similar} == {None, "draft"}  # None: no status given
    assert next(c for c in report.similar if c.variable_id == "beta:VEKT2").status == "draft"


def test_limit_and_min_score(checker):
    variable = proposal("norvas:DODSDATO", "Dødsdato", "date")
    assert len(checker.check(variable, limit=2).similar) == 2
    low = checker.check(proposal("norvas:X", "Fødselsdato", "date"), min_score=0.3)
    high = checker.check(proposal("norvas:X", "Fødselsdato", "date"), min_score=0.9)
    assert all(c.score >= 0.9 for c in high.similar)
    assert len(low.similar) >= len(high.similar)
    assert all(c.score >= 0.3 for c in low.similar)


def test_report_json(checker):
    report = checker.check(proposal("norvas:DODSDATO", "Dødsdato", "date"), limit=1)
    data = json.loads(json.dumps(report.to_json()))
    assert set(data) == {"similar", "key_register"}
    assert data["key_register"][0] == {
        "variable_id": "dar:dodsdato",
        "register_id": "dar",
        "label": {"nb": "Dødsdato", "en": "Date of death"},
        "score": 1.0,
        "predicate": "skos:exactMatch",
        "reasons": ["label: 'Dødsdato' ≈ 'Dødsdato' (1.00)", "datatype date/date"],
        "key_register": True,
        "status": "accepted",
        "mapping_justification": "semapv:LexicalMatching",
    }


def test_a_dict_is_accepted_as_the_proposal(checker):
    report = checker.check(
        {"id": "norvas:DODSDATO", "label": {"nb": "Dødsdato"}, "datatype": "date"},
        {"id": "norvas:X", "codes": [{"code": "1", "label": {"nb": "Ja"}}]},
    )
    assert ids(report.key_register) == ["dar:dodsdato"]


def test_a_proposed_value_set_is_compared(tmp_path):
    sizes = [
        {"code": c, "label": {"nb": t}}
        for c, t in (("1", "Liten"), ("2", "Middels"), ("3", "Stor"))
    ]
    cat = load(
        tmp_path,
        [
            register("alpha", [var("A", "Noe annet", "string")]),
            register(
                "beta",
                [var("STR", "Tumorstørrelse", "coded", value_set="STR")],
                [{"id": "STR", "codes": sizes}],
            ),
        ],
    )
    checker = ReuseChecker(cat)
    variable = proposal("alpha:SIZE", "Størrelse på svulst", "coded", value_set="alpha:SIZE")
    bare = checker.check(variable)
    value_set = ValueSet(id="alpha:SIZE", codes=[PermissibleValue(**code) for code in sizes])
    with_codes = checker.check(variable, value_set)
    assert ids(with_codes.similar) == ["beta:STR"]
    assert "value sets overlap 3/3 codes" in with_codes.similar[0].reasons
    assert not bare.similar or bare.similar[0].score < with_codes.similar[0].score


# --- the code-system signal of `regcat suggest` --------------------------------------


def test_suggest_pairs_a_coding_with_a_whole_code_system(tmp_path):
    cat = load(
        tmp_path,
        [
            register(
                "alpha",
                [
                    var(
                        "AMI",
                        "Akutt hjerteinfarkt",
                        "boolean",
                        codings=[{"system": "ICD10", "code": "I21"}],
                    )
                ],
            ),
            register(
                "beta",
                [var("HOVED", "Hovedtilstand", "coded", value_set="ICD10")],
                [{"id": "ICD10", "code_system": "ICD10"}],
            ),
        ],
    )
    forward = find(suggest(cat, ("alpha", "beta"), min_score=0.0), "alpha:AMI", "beta:HOVED")
    assert (
        "coding ICD10:I21 is one of the object's ICD10 codes → broadMatch (the object is broader)"
        in forward.reasons
    )
    backward = find(suggest(cat, ("beta", "alpha"), min_score=0.0), "beta:HOVED", "alpha:AMI")
    assert any(
        r.startswith(
            "the object's coding ICD10:I21 is one of the subject's ICD10 codes → narrowMatch"
        )
        for r in backward.reasons
    )
    assert forward.score == backward.score
    assert forward.justification == "semapv:CompositeMatching"


# --- odd and hostile input ----------------------------------------------------------


@pytest.mark.parametrize(
    "variable, value_set",
    [
        (proposal("norvas:P", "?!.,;:-–()[]", "coded", definition=LocalizedText(nb="")), None),
        (proposal("norvas:P", "   ", "string", definition=LocalizedText(nb="", en="   ")), None),
        (proposal("norvas:P", "Dødsdato " * 700, "date"), None),
        (proposal("norvas:P", "x" * 5000, "string", en="y " * 2500, help_text=LocalizedText(nb="z" * 5000)), None),
        (proposal("norvas:P", "Kode", "coded", codings=[Coding(system="XYZ", code="Q" * 40), Coding(system="icd10", code="i21")]), None),
        (proposal("norvas:P", "Kode", "coded", concept="NOPE:1", value_set="norvas:P"), ValueSet(id="norvas:P", codes=[PermissibleValue(code="1", meaning="FOO:bar"), PermissibleValue(code="2", meaning="nocolon")])),
        (proposal("norvas:P", "Kode", "coded", value_set="norvas:P"), ValueSet(id="norvas:P", code_system="NOSUCHSYSTEM")),
        (proposal("norvas:P", "Kode", "coded", value_set="norvas:P"), ValueSet(id="norvas:P")),
        (proposal("norvas:P", "Kode", "coded", value_set="does:not_exist"), None),
        (proposal("norvas:P", "Spm 4:", "integer", instrument_item="nosuch:item"), None),
        (proposal("norvas:P", "3 b. Dødsdato", "date", register_id="norvas", form="nosuchform"), None),
    ],
)  # fmt: skip
def test_odd_input_gives_a_report(checker, variable, value_set):
    report = checker.check(variable, value_set)
    assert isinstance(report, ReuseReport)
    json.dumps(report.to_json())
    for c in report.similar + report.key_register:
        assert c.register_id != "norvas"


def test_a_long_label_is_matched_on_its_first_characters(checker):
    text = "Hjerteinfarkt, dødsdato og fødselsnummer. " * 120  # 5 kB
    long = checker.check(proposal("norvas:P", text, "string", definition=LocalizedText(nb=text)))
    cut = text[:MAX_TEXT].strip()
    short = checker.check(proposal("norvas:P", cut, "string", definition=LocalizedText(nb=cut)))
    assert long == short


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"variable": proposal("nosuch:X", "Dødsdato", "date")}, "unknown register 'nosuch'; known: "),
        ({"variable": proposal("norvas:X", "Dødsdato", "date", register_id="noric")}, "does not belong to register 'noric'"),
        ({"variable": {"id": "norvas:X", "label": {"nb": "x"}}}, "not a valid variable: datatype"),
        ({"variable": {"id": "norvas:X", "label": {"nb": "x"}, "datatype": "string", "bogus": 1}}, "not a valid variable"),
        ({"variable": "norvas:X"}, "expected a Variable, not str"),
        ({"variable": proposal("norvas:X", "x"), "value_set": ["1"]}, "expected a ValueSet, not list"),
        ({"variable": proposal("norvas:X", "x"), "value_set": {"codes": []}}, "not a valid value set: id"),
        ({"variable": proposal("norvas:X", "x"), "limit": 0}, "limit 0: expected a whole number from 1 to"),
        ({"variable": proposal("norvas:X", "x"), "limit": 10_000}, "limit 10000"),
        ({"variable": proposal("norvas:X", "x"), "limit": True}, "limit True"),
        ({"variable": proposal("norvas:X", "x"), "min_score": 1.5}, "min_score 1.5: expected a number from 0 to 1"),
        ({"variable": proposal("norvas:X", "x"), "min_score": float("nan")}, "min_score nan"),
        ({"variable": proposal("norvas:X", "x", codings=[Coding(system="ICD10", code=f"A{i:02d}") for i in range(MAX_CODINGS + 1)])}, "codings: at most"),
        ({"variable": proposal("norvas:X", "x", "coded"), "value_set": ValueSet(id="norvas:X", codes=[PermissibleValue(code=str(i)) for i in range(MAX_CODES + 1)])}, "codes: at most"),
        ({"variable": proposal("norvas:X", "x", codings=[Coding(system="ICD10", code="I" * (MAX_CODE_LENGTH + 1))])}, f"field 'variable.codings.code': 'IIIIIIIIIIIIIIIIIIII…' is {MAX_CODE_LENGTH + 1} characters long"),
        ({"variable": proposal("norvas:X", "x", concept="SCTID:" + "1" * 100)}, "field 'variable.concept'"),
        ({"variable": proposal("norvas:X", "x", "coded"), "value_set": ValueSet(id="norvas:X", codes=[PermissibleValue(code="1", meaning="FOO:" + "x" * 100)])}, "field 'value_set.codes.meaning'"),
    ],
)  # fmt: skip
def test_bad_input_is_a_regcat_error(checker, kwargs, message):
    kwargs = dict(kwargs)
    variable = kwargs.pop("variable")
    value_set = kwargs.pop("value_set", None)
    with pytest.raises(RegcatError) as caught:
        checker.check(variable, value_set, **kwargs)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_not_a_catalogue_is_a_regcat_error():
    with pytest.raises(RegcatError, match="needs a Catalogue"):
        ReuseChecker({"registers": {}})  # type: ignore[arg-type]


def test_an_empty_catalogue_has_nothing_to_offer(tmp_path):
    checker = ReuseChecker(Catalogue(tmp_path))
    with pytest.raises(RegcatError, match="unknown register 'alpha'; known: none"):
        checker.check(proposal("alpha:X", "x"))


# --- threads ------------------------------------------------------------------------


def test_checks_from_several_threads_agree_with_one_thread(checker, bundled):
    proposals = [
        (proposal("norvas:DODSDATO", "Dødsdato", "date"), None),
        (proposal("norvas:AMI", "Hjerteinfarkt", "boolean", codings=[Coding(system="ICD10", code="I21")]), None),
        (proposal("norkar:Q6", "Følt deg tung i pusten", "coded", instrument_item="heartqol:q06"), None),
        (proposal("nhir:FNR", "Fødselsnummer", "identifier"), None),
        (proposal("norvas:KJONN", "Kjønn", "coded", value_set="norvas:K"), ValueSet(id="norvas:K", codes=[PermissibleValue(code="1", label=LocalizedText(nb="Mann")), PermissibleValue(code="2", label=LocalizedText(nb="Kvinne"))])),
        (proposal("norvas:P", "?!", "string"), None),
    ]  # fmt: skip
    proposals += [(bundled.variables[vid], None) for vid in BUNDLED_SUBJECTS]
    expected = [checker.check(v, vs).to_json() for v, vs in proposals]
    results: dict[int, list] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        try:
            start.wait()
            out = []
            for _ in range(5):
                for v, vs in proposals[worker % 3 :] + proposals[: worker % 3]:
                    out.append((v.id, checker.check(v, vs).to_json()))
            results[worker] = out
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    by_id = {v.id: e for (v, _), e in zip(proposals, expected, strict=True)}
    for out in results.values():
        for vid, got in out:
            assert got == by_id[vid]
