"""`regcat suggest`: candidate equivalents across registers, and their SSSOM candidate set."""

# The PROM item tables keep one item per line, however long.
# ruff: noqa: E501

from __future__ import annotations

import json

import pytest

from regcat.catalogue import Catalogue, validate_catalogue
from regcat.cli import app
from regcat.io import dump_yaml
from regcat.layout import bundled_catalogue
from regcat.sssom import read_sssom_file
from regcat.suggest import split_numbering, suggest

from .conftest import write_catalogue

# --- helpers ------------------------------------------------------------------------


def register(rid: str, variables: list[dict], value_sets=(), forms=None) -> dict:
    for v in variables:
        v["id"] = f"{rid}:{v['id']}"
        v.setdefault("form", "basis")
        if "value_set" in v and ":" not in v["value_set"]:
            v["value_set"] = f"{rid}:{v['value_set']}"
    sets = []
    for vs in value_sets:
        vs = dict(vs)
        vs["id"] = f"{rid}:{vs['id']}"
        sets.append(vs)
    return {
        "id": rid,
        "name": {"nb": f"Register {rid}", "en": f"Register {rid}"},
        "kind": "national_medical_quality_register",
        "forms": forms or [{"id": "basis", "name": {"nb": "Basisskjema"}}],
        "variables": variables,
        "value_sets": sets,
    }


def var(ident: str, nb: str, datatype: str = "string", **fields) -> dict:
    return {"id": ident, "label": {"nb": nb}, "datatype": datatype, **fields}


def load(tmp_path, registers, instruments=()) -> Catalogue:
    root = write_catalogue(tmp_path / "cat", registers)
    if instruments:
        (root / "instruments").mkdir(exist_ok=True)
        for instrument in instruments:
            path = root / "instruments" / f"{instrument['id']}.yaml"
            path.write_text(dump_yaml(instrument), encoding="utf-8")
    report = validate_catalogue(root, jobs=1)
    assert not [f for f in report.findings if f.severity == "error"], report.findings
    return Catalogue.load(root)


def pairs(candidates) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for c in candidates:
        out.setdefault(c.subject, []).append((c.object, c.predicate))
    return out


def best(candidates) -> dict[str, str]:
    out: dict[str, str] = {}
    for c in candidates:
        out.setdefault(c.subject, c.object)
    return out


def find(candidates, subject, obj):
    hits = [c for c in candidates if c.subject == subject and c.object == obj]
    assert hits, f"no candidate {subject} → {obj} in {[(c.subject, c.object) for c in candidates]}"
    return hits[0]


YES_NO = [
    {"code": "1", "label": {"nb": "Ja", "en": "Yes"}},
    {"code": "0", "label": {"nb": "Nei", "en": "No"}},
]


# --- text normalisation -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, number, rest",
    [
        ("3 b. Utrettet mindre", "3b", "utrettet mindre"),
        ("2a. Moderate activities", "2a", "moderate activities"),
        ("1. Stort sett", "1", "stort sett"),
        ("12) Hvor mye", "12", "hvor mye"),
        ("Spm 4: Smerter", "4", "smerter"),
        ("3 mnd oppfølging", None, "3 mnd oppfolging"),
        ("1.5 mg", None, "1.5 mg"),
        ("Type 2-diabetes", None, "type 2-diabetes"),
    ],
)
def test_split_numbering(text, number, rest):
    assert split_numbering(text) == (number, rest)


# --- signals ------------------------------------------------------------------------


def test_lexical_match_across_case_diacritics_and_numbering(tmp_path):
    cat = load(
        tmp_path,
        [
            register("alpha", [var("DODSDATO", "Dødsdato", "date")]),
            register("beta", [var("Q3B", "3 b. DØDSDATO", "date"), var("X", "Vekt", "decimal")]),
        ],
    )
    candidates = suggest(cat)
    assert len(candidates) == 1
    c = candidates[0]
    assert (c.subject, c.object, c.score, c.predicate) == (
        "alpha:DODSDATO",
        "beta:Q3B",
        1.0,
        "skos:exactMatch",
    )
    assert c.reasons[0] == "label: 'Dødsdato' ≈ '3 b. DØDSDATO' (1.00)"
    assert "datatype date/date" in c.reasons
    assert c.to_json() == {
        "subject": "alpha:DODSDATO",
        "object": "beta:Q3B",
        "score": 1.0,
        "predicate": "skos:exactMatch",
        "reasons": c.reasons,
    }


def test_english_labels_match_too(tmp_path):
    a = var("SBT", "Blodtrykk systolisk", "integer", unit="mm[Hg]")
    a["label"]["en"] = "Systolic blood pressure"
    b = var("SYS", "Systolisk trykk", "integer", unit="mm[Hg]")
    b["label"]["en"] = "Systolic Blood Pressure"
    cat = load(tmp_path, [register("alpha", [a]), register("beta", [b])])
    c = find(suggest(cat), "alpha:SBT", "beta:SYS")
    assert c.predicate == "skos:exactMatch"
    assert "unit mm[Hg]" in c.reasons
    assert "'Systolic blood pressure' ≈ 'Systolic Blood Pressure' (1.00)" in c.reasons[0]


def test_shared_coding_finds_pairs_with_different_labels(tmp_path):
    coding = [{"system": "ICD10", "code": "I21.4"}]
    cat = load(
        tmp_path,
        [
            register("alpha", [var("HOVED", "Hoveddiagnose NSTEMI", "boolean", codings=coding)]),
            register("beta", [var("NSTEMI", "Infarkt uten ST-heving", "boolean", codings=coding)]),
        ],
    )
    c = find(suggest(cat), "alpha:HOVED", "beta:NSTEMI")
    assert "shared coding ICD10:I21.4" in c.reasons
    assert c.justification == "semapv:CompositeMatching"


def test_code_hierarchy_gives_narrow_and_broad(tmp_path):
    cat = load(
        tmp_path,
        [
            register(
                "alpha",
                [
                    var(
                        "AMI",
                        "Hjerteinfarkt",
                        "boolean",
                        codings=[{"system": "ICD10", "code": "I21"}],
                    )
                ],
            ),
            register(
                "beta",
                [
                    var(
                        "NSTEMI",
                        "Hjerteinfarkt uten ST-elevasjon",
                        "boolean",
                        codings=[{"system": "ICD10", "code": "I21.4"}],
                    )
                ],
            ),
        ],
    )
    forward = find(suggest(cat, ("alpha", "beta")), "alpha:AMI", "beta:NSTEMI")
    assert forward.predicate == "skos:narrowMatch"  # the object is narrower
    assert any("ICD10:I21.4 under ICD10:I21 → narrowMatch" in r for r in forward.reasons)
    backward = find(suggest(cat, ("beta", "alpha")), "beta:NSTEMI", "alpha:AMI")
    assert backward.predicate == "skos:broadMatch"  # the object is broader
    assert any("ICD10:I21.4 under ICD10:I21 → broadMatch" in r for r in backward.reasons)


def test_value_set_overlap_links_differently_named_variables(tmp_path):
    def smoking(*labels):
        return {
            "id": "ROYK",
            "codes": [{"code": str(i), "label": {"nb": text}} for i, text in enumerate(labels, 1)],
        }

    cat = load(
        tmp_path,
        [
            register(
                "alpha",
                [var("ROYK", "Røykevaner", "coded", value_set="ROYK")],
                [smoking("Aldri røykt", "Tidligere røyker", "Røyker", "Ukjent")],
            ),
            register(
                "beta",
                [var("ROYKESTATUS", "Røykestatus", "coded", value_set="ROYK")],
                [smoking("Aldri røykt", "Eks-røyker", "Røyker", "Ukjent")],
            ),
        ],
    )
    c = find(suggest(cat), "alpha:ROYK", "beta:ROYKESTATUS")
    assert "value sets overlap 3/4 codes" in c.reasons
    assert c.predicate != "skos:exactMatch"  # the value sets differ


def test_eq5d_levels_overlap_partly(tmp_path):
    three = {
        "id": "EQ3",
        "codes": [
            {"code": "1", "label": {"nb": "Ingen problemer"}},
            {"code": "2", "label": {"nb": "Noen problemer"}},
            {"code": "3", "label": {"nb": "Ute av stand til"}},
        ],
    }
    five = {
        "id": "EQ5",
        "codes": [
            {"code": "1", "label": {"nb": "Ingen problemer"}},
            {"code": "2", "label": {"nb": "Litt problemer"}},
            {"code": "3", "label": {"nb": "Middels store problemer"}},
            {"code": "4", "label": {"nb": "Store problemer"}},
            {"code": "5", "label": {"nb": "Ute av stand til"}},
        ],
    }
    cat = load(
        tmp_path,
        [
            register("alpha", [var("GANGE", "Gange", "coded", value_set="EQ3")], [three]),
            register("beta", [var("MOB", "1. Gange", "coded", value_set="EQ5")], [five]),
        ],
    )
    c = find(suggest(cat), "alpha:GANGE", "beta:MOB")
    assert "value sets overlap 2/5 codes" in c.reasons
    assert c.predicate in ("skos:closeMatch", "skos:relatedMatch")


def test_incompatible_datatypes_lower_the_score(tmp_path):
    cat = load(
        tmp_path,
        [
            register("alpha", [var("DOD", "Dødsdato", "date")]),
            register(
                "beta",
                [var("DOD", "Dødsdato", "coded", value_set="JN"), var("D2", "Dødsdato", "date")],
                [{"id": "JN", "codes": YES_NO}],
            ),
        ],
    )
    candidates = suggest(cat, ("alpha", "beta"))
    same = find(candidates, "alpha:DOD", "beta:D2")
    odd = find(candidates, "alpha:DOD", "beta:DOD")
    assert odd.score < same.score and odd.score <= 0.7
    assert odd.predicate == "skos:relatedMatch"
    assert "datatype date/coded incompatible (score lowered)" in odd.reasons
    assert [c.object for c in candidates] == ["beta:D2", "beta:DOD"]  # best first


def test_numbers_that_differ_keep_labels_apart(tmp_path):
    cat = load(
        tmp_path,
        [
            register("alpha", [var("T1", "Type 1-diabetes", "boolean")]),
            register(
                "beta", [var("T2", "Type 2-diabetes", "boolean"), var("T1", "Type 1 diabetes")]
            ),
        ],
    )
    candidates = suggest(cat, ("alpha", "beta"))
    assert candidates[0].object == "beta:T1"
    other = find(candidates, "alpha:T1", "beta:T2")
    assert other.predicate != "skos:exactMatch"
    assert "numbers in labels differ: 1 / 2" in other.reasons


def test_same_register_never_paired_and_pairs_kept_once(tmp_path):
    cat = load(
        tmp_path,
        [
            register("alpha", [var("A", "Kreatinin", "integer"), var("B", "Kreatinin", "integer")]),
            register("beta", [var("A", "Kreatinin", "integer")]),
            register("gamma", [var("A", "Kreatinin", "integer")]),
        ],
    )
    candidates = suggest(cat)
    assert candidates
    for c in candidates:
        assert c.subject.split(":")[0] != c.object.split(":")[0]
    keys = {frozenset((c.subject, c.object)) for c in candidates}
    assert len(keys) == len(candidates)  # each pair once
    assert len(keys) == 5  # 2×1 + 2×1 + 1×1 cross-register pairs
    assert {c.subject for c in candidates} == {"alpha:A", "alpha:B", "beta:A"}


def test_limit_and_min_score(tmp_path):
    others = [var(f"K{i}", "Kreatinin", "integer") for i in range(8)]
    cat = load(
        tmp_path,
        [register("alpha", [var("K", "Kreatinin", "integer")]), register("beta", others)],
    )
    assert len(suggest(cat, ("alpha", "beta"), limit_per_subject=3)) == 3
    assert len(suggest(cat, ("alpha", "beta"))) == 5
    assert len(suggest(cat, ("beta", "alpha"))) == 8  # one each
    assert suggest(cat, ("alpha", "beta"), min_score=1.0)  # exact matches stay
    with pytest.raises(Exception, match="min-score"):
        suggest(cat, min_score=2)


def test_existing_mapping_is_named_in_the_reasons(tmp_path):
    root = write_catalogue(
        tmp_path / "cat",
        [
            register("alpha", [var("DOD", "Dødsdato", "date")]),
            register("beta", [var("DOD", "Dødsdato", "date")]),
        ],
    )
    (root / "mappings").mkdir()
    (root / "mappings" / "curated.sssom.tsv").write_text(
        "# curie_map:\n#   alpha: https://w3id.org/regcat/variable/alpha/\n"
        "#   beta: https://w3id.org/regcat/variable/beta/\n"
        "# mapping_set_id: https://w3id.org/regcat/mappings/curated\n"
        "# license: https://creativecommons.org/licenses/by/4.0/\n"
        "subject_id\tpredicate_id\tobject_id\tmapping_justification\n"
        "beta:DOD\tskos:exactMatch\talpha:DOD\tsemapv:ManualMappingCuration\n",
        encoding="utf-8",
    )
    c = find(suggest(Catalogue.load(root)), "alpha:DOD", "beta:DOD")
    assert c.reasons[-1].startswith("already mapped: beta:DOD skos:exactMatch alpha:DOD")


# --- PROM instruments -----------------------------------------------------------------

PHYSICAL_A = (
    "I løpet av de siste 4 ukene, har du hatt noen av de følgende problemene i arbeidet "
    "eller i andre daglige gjøremål på grunn av din fysiske helse?"
)
EMOTIONAL_A = (
    "I løpet av de siste 4 ukene, har du hatt noen av de følgende problemene i arbeidet "
    "eller i andre daglige gjøremål på grunn av følelsesmessige problemer (som å føle deg "
    "deprimert eller engstelig)?"
)
PHYSICAL_B = (
    "I løpet av de siste 4 ukene, har du hatt noen av følgende problemer i arbeidet ditt "
    "eller i andre av dine daglige gjøremål som følge av din fysiske helse?"
)
EMOTIONAL_B = (
    "I løpet av de siste 4 ukene, har du hatt noen av følgende problemer i arbeidet ditt "
    "eller i andre av dine daglige gjøremål som følge av følelsesmessige problemer (som "
    "å være deprimert eller engstelig)?"
)
ACTIVITIES = (
    "De neste spørsmålene handler om aktiviteter du kanskje utfører i løpet av en vanlig "
    "dag. Begrenser helsen din deg i disse aktivitetene nå? Hvis ja, hvor mye?"
)
FEELINGS = (
    "Disse spørsmålene handler om hvordan du har følt deg de siste 4 ukene. Hvor stor del "
    "av tiden i løpet av de siste 4 ukene:"
)
TRUE_FALSE = "Hvor RIKTIG eller GAL er hver av de følgende påstandene for deg?"

# RAND-36 (public domain, RAND Corporation): number, section, Norwegian paraphrase
RAND36 = [
    ("1", None, "Stort sett, vil du si at helsen din er:"),
    ("2", None, "Sammenlignet med for ett år siden, hvordan vil du si at helsen din er nå?"),
    ("3", ACTIVITIES, "Anstrengende aktiviteter, som å løpe, løfte tunge ting, drive med anstrengende idrett"),
    ("4", ACTIVITIES, "Moderate aktiviteter, som å flytte et bord, støvsuge, gå en tur eller drive med hagearbeid"),
    ("5", ACTIVITIES, "Løfte eller bære matvarer"),
    ("6", ACTIVITIES, "Gå opp trappen flere etasjer"),
    ("7", ACTIVITIES, "Gå opp trappen én etasje"),
    ("8", ACTIVITIES, "Bøye deg, sitte på huk eller knele"),
    ("9", ACTIVITIES, "Gå mer enn to kilometer"),
    ("10", ACTIVITIES, "Gå noen hundre meter"),
    ("11", ACTIVITIES, "Gå hundre meter"),
    ("12", ACTIVITIES, "Vaske deg eller kle på deg"),
    ("13", PHYSICAL_B, "Kuttet ned på tiden du brukte på arbeid eller andre aktiviteter"),
    ("14", PHYSICAL_B, "Utrettet mindre enn du hadde ønsket"),
    ("15", PHYSICAL_B, "Var begrenset i hva slags arbeid eller andre aktiviteter du kunne utføre"),
    ("16", PHYSICAL_B, "Hadde vansker med å utføre arbeidet eller andre aktiviteter (det krevde for eksempel ekstra anstrengelse)"),
    ("17", EMOTIONAL_B, "Kuttet ned på tiden du brukte på arbeid eller andre aktiviteter"),
    ("18", EMOTIONAL_B, "Utrettet mindre enn du hadde ønsket"),
    ("19", EMOTIONAL_B, "Utførte arbeidet eller andre aktiviteter mindre omhyggelig enn vanlig"),
    ("20", None, "I løpet av de siste 4 ukene, i hvilken grad har din fysiske helse eller følelsesmessige problemer påvirket din vanlige sosiale omgang med familie, venner, naboer eller foreninger?"),
    ("21", None, "Hvor sterke kroppslige smerter har du hatt i løpet av de siste 4 ukene?"),
    ("22", None, "I løpet av de siste 4 ukene, hvor mye har smerter påvirket ditt vanlige arbeid (gjelder både arbeid utenfor hjemmet og husarbeid)?"),
    ("23", FEELINGS, "Følte du deg full av tiltakslyst?"),
    ("24", FEELINGS, "Har du vært veldig nervøs?"),
    ("25", FEELINGS, "Har du vært så langt nede at ingenting har kunnet muntre deg opp?"),
    ("26", FEELINGS, "Har du følt deg rolig og harmonisk?"),
    ("27", FEELINGS, "Har du hatt mye overskudd?"),
    ("28", FEELINGS, "Har du følt deg nedfor og trist?"),
    ("29", FEELINGS, "Har du følt deg utslitt?"),
    ("30", FEELINGS, "Har du vært glad?"),
    ("31", FEELINGS, "Har du følt deg trett?"),
    ("32", None, "I løpet av de siste 4 ukene, hvor stor del av tiden har din fysiske helse eller følelsesmessige problemer påvirket din sosiale omgang (som å besøke venner, slektninger osv.)?"),
    ("33", TRUE_FALSE, "Det virker som om jeg blir syk litt lettere enn andre"),
    ("34", TRUE_FALSE, "Jeg er like frisk som de fleste jeg kjenner"),
    ("35", TRUE_FALSE, "Jeg venter at helsen min vil bli dårligere"),
    ("36", TRUE_FALSE, "Helsen min er utmerket"),
]  # fmt: skip

# RAND-12 as another register words it (its own numbering, help texts as headings),
# and the RAND-36 item each must pair with
RAND12 = [
    ("1.", None, "Stort sett, vil du si at helsen din er:", "1"),
    ("2a.", ACTIVITIES, "Moderate aktiviteter, som å flytte et bord, støvsuge, gå tur eller hagearbeid", "4"),
    ("2b.", ACTIVITIES, "Gå opp trappen flere etasjer", "6"),
    ("3 a.", PHYSICAL_A, "Har utrettet mindre enn du hadde ønsket", "14"),
    ("3 b.", PHYSICAL_A, "Har vært begrenset i hva slags arbeid eller andre aktiviteter du kunne utføre", "15"),
    ("4 a.", EMOTIONAL_A, "Har utrettet mindre enn du hadde ønsket", "18"),
    ("4 b.", EMOTIONAL_A, "Har utført arbeidet eller andre aktiviteter mindre omhyggelig enn vanlig", "19"),
    ("5.", None, "I løpet av de siste 4 ukene, hvor mye har smerter påvirket ditt vanlige arbeid (både arbeid utenfor hjemmet og husarbeid)?", "22"),
    ("6a.", FEELINGS, "Har du følt deg rolig og harmonisk?", "26"),
    ("6b.", FEELINGS, "Har du hatt mye overskudd?", "27"),
    ("6c.", FEELINGS, "Har du følt deg nedfor og trist?", "28"),
    ("7.", None, "I løpet av de siste 4 ukene, hvor stor del av tiden har din fysiske helse eller følelsesmessige problemer påvirket din sosiale omgang (som å besøke venner, slektninger osv.)?", "32"),
]  # fmt: skip


def rand_catalogue(tmp_path) -> Catalogue:
    rand36 = {
        "id": "rand36",
        "name": {"nb": "RAND-36", "en": "RAND-36"},
        "items": [
            {"id": f"rand36:q{n}", "number": n, "text": {"nb": text}, **({"section": s} if s else {})}
            for n, s, text in RAND36
        ],
    }  # fmt: skip
    skala = [
        {
            "id": "SKALA",
            "codes": [{"code": str(i), "label": {"nb": f"Svar {i}"}} for i in (1, 2, 3)],
        }
    ]
    alpha = register(
        "alpha",
        [
            var(f"RAND12_{i}", f"{num} {text}", "coded", value_set="SKALA", form="rand12",
                **({"help_text": {"nb": help_}} if help_ else {}))
            for i, (num, help_, text, _) in enumerate(RAND12)
        ],
        skala,
        forms=[{"id": "rand12", "name": {"nb": "RAND-12"}}],
    )  # fmt: skip
    beta = register(
        "beta",
        [
            var(f"RAND36_{n}", f"{n}. {text}", "coded", value_set="SKALA", form="rand36",
                instrument_item=f"rand36:q{n}")
            for n, _, text in RAND36
        ],
        skala,
        forms=[{"id": "rand36", "name": {"nb": "RAND-36"}, "instrument": "rand36"}],
    )  # fmt: skip
    return load(tmp_path, [alpha, beta], [rand36])


def test_prom_items_pair_across_numbering_and_sections(tmp_path):
    cat = rand_catalogue(tmp_path)
    candidates = suggest(cat, ("alpha", "beta"))
    found = best(candidates)
    expected = {f"alpha:RAND12_{i}": f"beta:RAND36_{row[3]}" for i, row in enumerate(RAND12)}
    assert found == expected
    # the same wording in two sections: the section decides, and says so
    physical = [c for c in candidates if c.subject == "alpha:RAND12_3"]
    assert [c.object for c in physical[:2]] == ["beta:RAND36_14", "beta:RAND36_18"]
    assert physical[0].score > physical[1].score
    assert physical[0].predicate == "skos:exactMatch"
    assert (
        "value sets overlap 3/3 codes (used by 36 variables of one register)" in physical[0].reasons
    )
    assert physical[1].predicate == "skos:closeMatch"  # another section: not the same item
    assert any(r.startswith("context agrees") for r in physical[0].reasons)
    assert any(r.startswith("context differs") and "fysiske" in r for r in physical[1].reasons)
    # a response scale that every item shares does not make items alike
    assert len([c for c in candidates if c.subject == "alpha:RAND12_3"]) == 2
    assert "numbering 3a / 14" in physical[0].reasons
    # and the other way round, RAND-36 items find their RAND-12 twin first
    back = best(suggest(cat, ("beta", "alpha")))
    for subject, obj in expected.items():
        assert back[obj] == subject


def test_prom_numbering_breaks_ties_without_sections(tmp_path):
    same = "Utrettet mindre enn du hadde ønsket"

    def reg(rid):
        return register(
            rid,
            [var("Q14", f"14. {same}", "boolean"), var("Q18", f"18. {same}", "boolean")],
        )

    cat = load(tmp_path, [reg("alpha"), reg("beta")])
    found = best(suggest(cat, ("alpha", "beta")))
    assert found == {"alpha:Q14": "beta:Q14", "alpha:Q18": "beta:Q18"}
    c = find(suggest(cat, ("alpha", "beta")), "alpha:Q14", "beta:Q14")
    assert "numbering 14 = 14" in c.reasons


def test_same_instrument_item_is_strong_evidence(tmp_path):
    instrument = {
        "id": "eq5d5l",
        "name": {"nb": "EQ-5D-5L"},
        "items": [
            {"id": "eq5d5l:mo", "number": "1", "text": {"nb": "Gange"}},
            {"id": "eq5d5l:sc", "number": "2", "text": {"nb": "Personlig stell"}},
        ],
    }
    cat = load(
        tmp_path,
        [
            register("alpha", [var("MO", "Gangfunksjon", "integer", instrument_item="eq5d5l:mo")]),
            register(
                "beta",
                [
                    var("EQ1", "EQ-5D gange", "integer", instrument_item="eq5d5l:mo"),
                    var("EQ2", "EQ-5D stell", "integer", instrument_item="eq5d5l:sc"),
                ],
            ),
        ],
        [instrument],
    )
    candidates = suggest(cat, ("alpha", "beta"))
    c = candidates[0]
    assert (c.object, c.predicate) == ("beta:EQ1", "skos:exactMatch")
    assert "same instrument item eq5d5l:mo" in c.reasons
    assert all(x.object != "beta:EQ2" or x.score < 0.5 for x in candidates)


# --- blocking -----------------------------------------------------------------------


def test_blocking_scores_far_fewer_pairs_than_all(tmp_path):
    import random

    rng = random.Random(7)
    letters = "bcdfghjklmnprstv"

    def word():
        return "".join(rng.choice(letters) + rng.choice("aeiou") for _ in range(4))

    regs = [
        register(rid, [var(f"V{i}", f"{word()} {word()}", "string") for i in range(150)])
        for rid in ("alpha", "beta")
    ]
    regs[1]["variables"][0]["label"]["nb"] = regs[0]["variables"][0]["label"]["nb"]
    cat = load(tmp_path, regs)
    stats: dict = {}
    calls: list[tuple[int, int]] = []
    candidates = suggest(cat, stats=stats, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1]
    assert stats["all_pairs"] == 150 * 150
    scored = stats["core_pairs_scored"] + stats["profile_pairs_scored"]
    assert scored < stats["all_pairs"] / 100
    assert [(c.subject, c.object) for c in candidates] == [("alpha:V0", "beta:V0")]


# --- CLI ----------------------------------------------------------------------------


def two_registers(tmp_path):
    return write_catalogue(
        tmp_path / "cat",
        [
            register(
                "alpha",
                [
                    var("DOD", "Dødsdato", "date"),
                    var("DIAG", "Hoveddiagnose", "boolean", codings=[{"system": "ICD10", "code": "I21"}]),
                ],
            ),
            register(
                "beta",
                [
                    var("DODSDATO", "Dødsdato", "date"),
                    var("AMI", "Hoveddiagnose (NSTEMI)", "boolean", codings=[{"system": "ICD10", "code": "I21.4"}]),
                ],
            ),
        ],
    )  # fmt: skip


def invoke(runner, root, tmp_path, *args):
    return runner.invoke(app, ["-c", str(root), "--index", str(tmp_path / "idx"), "suggest", *args])


def test_cli_json_shape(runner, tmp_path):
    root = two_registers(tmp_path)
    result = invoke(runner, root, tmp_path, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, list) and data
    for item in data:
        assert list(item) == ["subject", "object", "score", "predicate", "reasons"]
        assert 0 <= item["score"] <= 1 and item["reasons"]
    assert {(d["subject"], d["object"]) for d in data} >= {("alpha:DOD", "beta:DODSDATO")}


def test_cli_text_table(runner, tmp_path):
    root = two_registers(tmp_path)
    result = invoke(runner, root, tmp_path, "--between", "alpha", "beta", "--min-score", "0.6")
    assert result.exit_code == 0, result.output
    assert "alpha:DOD" in result.stdout and "beta:DODSDATO" in result.stdout
    assert "exact" in result.stdout and "label: 'Dødsdato'" in result.stdout
    assert "candidate(s)" in result.stderr


def test_cli_write_gives_a_valid_sssom_candidate_set(runner, tmp_path):
    root = two_registers(tmp_path)
    result = invoke(runner, root, tmp_path, "--between", "alpha", "beta", "--write")
    assert result.exit_code == 0, result.output
    path = root / "mappings" / "candidates-alpha-beta.sssom.tsv"
    assert path.is_file()
    table = read_sssom_file(path)
    assert table.meta["mapping_set_id"] == "https://w3id.org/regcat/mappings/candidates-alpha-beta"
    assert table.meta["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert table.meta["curie_map"] == {
        "alpha": "https://w3id.org/regcat/variable/alpha/",
        "beta": "https://w3id.org/regcat/variable/beta/",
        "semapv": "https://w3id.org/semapv/vocab/",
        "skos": "http://www.w3.org/2004/02/skos/core#",
    }
    assert "reviewer_id" not in table.columns and "status" not in table.columns
    rows = {(r["subject_id"], r["object_id"]): r for r in table.rows}
    dod = rows[("alpha:DOD", "beta:DODSDATO")]
    assert dod["predicate_id"] == "skos:exactMatch"
    assert dod["mapping_justification"] == "semapv:LexicalMatching"
    assert dod["confidence"] == "1" and dod["mapping_tool"] == "regcat suggest"
    assert "label: 'Dødsdato'" in dod["comment"]
    ami = rows[("alpha:DIAG", "beta:AMI")]
    assert ami["predicate_id"] == "skos:narrowMatch"
    assert ami["mapping_justification"] == "semapv:CompositeMatching"
    # the catalogue with the candidate set still validates, by API and by command
    report = validate_catalogue(root, jobs=1)
    assert report.exit_code == 0, report.findings
    checked = runner.invoke(app, ["-c", str(root), "validate"])
    assert checked.exit_code == 0, checked.output
    # and a second run does not see its own candidates as reviewed mappings
    again = invoke(runner, root, tmp_path, "--between", "alpha", "beta", "--format", "json")
    assert not any("already mapped" in r for d in json.loads(again.stdout) for r in d["reasons"])


def test_cli_write_without_between_names_the_whole_set(runner, tmp_path):
    root = two_registers(tmp_path)
    result = invoke(runner, root, tmp_path, "--write", "--format", "json")
    assert result.exit_code == 0, result.output
    assert (root / "mappings" / "candidates.sssom.tsv").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--between", "alpha", "nope"], "unknown register 'nope'; known: alpha, beta"),
        (["--between", "alpha", "alpha"], "two different registers"),
        (["--min-score", "1.5"], "--min-score"),
        (["--limit", "0"], "--limit"),
    ],
)
def test_cli_bad_usage_exits_2(runner, tmp_path, args, message):
    root = two_registers(tmp_path)
    result = invoke(runner, root, tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (root / "mappings").exists()


# --- the bundled catalogue ----------------------------------------------------------


def test_bundled_noric_dar_date_of_death(runner, tmp_path):
    result = runner.invoke(
        app,
        ["--index", str(tmp_path / "idx"), "suggest", "--between", "noric", "dar", "-f", "json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    found = {d["subject"] for d in data if d["object"] == "dar:dodsdato" and d["score"] >= 0.9}
    deaths = {
        "noric:PATIENT_DECEASED_DATE",
        "noric:DISCHARGE_DECEASED_DATE",
        "noric:TAVIPERC_LAB_DECEASED_DATE",
    }
    assert deaths <= found
    for d in data:
        if d["subject"] in deaths:
            assert d["predicate"] == "skos:exactMatch"
    assert bundled_catalogue().is_dir()
