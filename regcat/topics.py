"""Infer a variable's topic (medication, diagnosis, death, …) from its text, when no
curator has set one.

Curated ``topic`` always wins. Otherwise structure decides first (a variable that
answers an instrument item, or stands on a form that administers an instrument, is
PROM), then keyword rules over folded text (``regcat.text.fold``: lower case, no
accents, ø→o, æ→ae, å→a), looked for in this order of fields:

1. the label (nb and en),
2. the definition and help text,
3. the form's name,
4. the labels of the value set's codes.

Within one field the rules are tried in the order of :data:`RULES`; the first rule
with a keyword in the field wins, so a more specific topic stands before a broader one
("Diabetes behandling insulin" is medication, not diagnosis; "Prosedyrerelatert død"
is death, not procedure). A keyword matches at the start of a word and may run on
("statin" matches "statiner"); a ``\\b`` in the table ends a keyword at a word end.

One context rule follows: a diagnosis or procedure on a form whose name says it lists
complications ("Hjerteinfarkt" on "Komplikasjoner på Avdelingen") is a complication.

The result is a suggestion with its reason, e.g. ``("medication", "label: 'statin'")``;
it is never written back to the catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from regcat.generated.model import Form, LocalizedText, ValueSet, Variable
from regcat.text import fold

__all__ = ["RULES", "Rule", "infer_topic", "infer_topics"]


@dataclass(frozen=True)
class Rule:
    """One topic and the keywords (regular expressions over folded text) that say it."""

    topic: str
    keywords: str
    unless: str = ""  # a keyword here in the same field vetoes the rule
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    veto: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Verbose patterns: white space is layout, a literal space is written as backslash-space.
        pattern = re.compile(rf"(?<![a-z0-9])(?:{self.keywords})", re.VERBOSE)
        veto = re.compile(rf"(?<![a-z0-9])(?:{self.unless})", re.VERBOSE) if self.unless else None
        object.__setattr__(self, "pattern", pattern)
        object.__setattr__(self, "veto", veto)

    def match(self, text: str) -> str | None:
        found = self.pattern.search(text)
        if found is None or (self.veto is not None and self.veto.search(text)):
            return None
        return found.group(0)


# The rule table, most specific first. Norwegian first (the registers' own language),
# English alongside; every keyword is written folded (ø→o, å→a, æ→ae).
RULES: tuple[Rule, ...] = (
    Rule("consent", r"samtykke | reservasjon | reservert | consent"),
    # the form's own process and staff, whatever procedure the help text names
    Rule(
        "administrative",
        r"""\w*operator | angiografor | gransker | \w*assistent | kommentar | comment | ferdigstill
        | studiedeltagelse | labnummer""",
    ),
    Rule("death", r"(av)?dod | deceased | death | died | mortalit"),
    Rule(
        "prom",
        r"""prom\b | rand-?12 | rand-?36 | eq-?5d | heartqol | sf-?12 | sf-?36 | livskvalitet
        | quality\ of\ life | pasientrapportert | patient.reported | sporreskjema
        | questionnaire | egenrapport""",
    ),
    Rule(
        "medication",
        # generic words, then the drug classes and drug (trade) names common in the
        # Norwegian cardiac registers' forms
        r"""medikament | medisin | legemid | preparat | per\ ?oral | atc\b | medication
        | drug\b | medicine
        | asa\b | acetylsalisyl | aspirin | albyl | klopidogrel | clopidogrel | plavix
        | ticagrelor | brilique | prasugrel | efient | kangrelor | cangrelor
        | heparin | dalteparin | fragmin | enoksaparin | enoxaparin | klexane | bivalirudin
        | angiox | fondaparinux | arixtra | abciximab | reopro | eptifibatid | integrilin
        | tirofiban | aggrastat | warfarin | marevan | waran | dabigatran | pradaxa
        | apiksaban | apixaban | eliquis | rivaroksaban | rivaroxaban | xarelto | edoksaban
        | edoxaban | lixiana | noak | doak | antikoag | anticoag | antitrombot | antithrombot
        | platehemm | trombocytt?hemm | antiplatelet | p2y12 | adp-?hemm | gp\ ?iib
        | trombolys | trombolyt | fibrinolys | thrombolys
        | statin | lipidsenk | ezetrol | ezetimib | fibrat
        | betablokk | beta-?blokk | beta\ blocker | ace-?hemm | ace\ inhibitor | a2-?blokk
        | angiotensin | sacubitril | entresto | ca-?hemm | ca-?blokk | kalsiumblokk
        | calciumblokk | kalsiumantagon | calcium\ antagon | diuretik | diuretic | furosemid
        | digitalis | digoksin | digoxin | nitrat | nitroglyserin | nitroglycerin | nitro\b
        | aldosteronantagon | aldosteronblokk | spironolakton | eplerenon
        | nsaid | insulin | diabetesmedisin | metformin | sglt2 | glp-?1
        | steroid | kortikosteroid | antiarytm | amiodaron | dronedaron | flekainid
        | antibiotik""",
        # a drug-eluting balloon or stent is a device, not a medicine
        unless=r"ballong | balloon | stent",
    ),
    Rule(
        "complication",
        r"""\w*komplikasjon | complication | blodning | bleeding | tamponade | perforasjon
        | perforation | hematom | haematom | pseudoaneurysme | allergisk | anafylak
        | embolisering | uonsket\ hendelse | adverse | nytilkommet | behandlingskrevende
        | mistet\ stent | sidegrensokklusjon | hb.?fall | forlenget | transfusjon | sekvel""",
    ),
    Rule(
        "laboratory",
        r"""kreatinin | creatinin | troponin | hemoglobin | haemoglobin | hb\b | hba1c | ldl\b
        | hdl\b | kolesterol | cholesterol | triglyser | triglycerid | glukose | glucose
        | blodsukker | crp\b | ck-?mb | probnp | nt-?probnp | bnp\b | infarktmarkor
        | myokardskademarkor | e?gfr\b | kalium | natrium | albumin | inr\b | laktat
        | lactate | leukocytt | blodprove | blood\ test""",
    ),
    Rule(
        "lifestyle",
        r"""royk | tobakk | snus\b | alkohol | alcohol | smok | fysisk\ aktivitet
        | physical\ activity | trening | kosthold | sigarett""",
    ),
    Rule(
        "imaging",
        r"""ekko | echo | ultralyd | ultrasound | ct\b | computer\ ?tomograf | mr\b | mri\b
        | magnetisk\ resonans | rontgen | x-ray | scintigraf | spect\b | pet\b | straledose
        | straling | gjennomlysning | fluoroskop | kontrastmid | kontrastmengde | contrast
        | calcium\ ?score | kalsiumscore | dlp\b | angiografiske\ funn | ejeksjon | ejection
        | ef\b | \w*gradient | max\ hastighet | maks\ hastighet | pisa\b | eroa\b
        | v\ contracta | klaffeareal | annulus
        | lungeveneflow | ventrikkel-?\ ?trykk | myokardmasse | volum\b | hjerteminuttvolum
        | ivus\b | oct\b | nirs\b""",
    ),
    Rule(
        "diagnosis",
        r"""\w*diagnos | icd-?10 | \w*tilstand | indikasjon | infarkt | infarction | stemi | nstemi
        | angina | kransaresykdom | koronarsykdom | coronary\ (artery\ )?disease | diabetes
        | hypertoni | hypertensjon | hypertension | hjerneslag | slag\b | stroke | tia\b
        | kols\b | copd | lungesykdom | atrieflimmer | atrial\ fibrillation | flimmer
        | hjertesvikt | heart\ failure | karsykdom | sykdom | disease | malign | kreft
        | cancer | nyreinsuffisiens | nyresvikt | endokarditt | kardiomyopati
        | cardiomyopathy | takotsubo | arytmi | arrhythm | komorbid | comorbid
        | porselen | thoraxdeformitet | ugunstig\ anatomi | \w*infarkt | \w*sykdom | \w*flimmer""",
    ),
    Rule(
        "procedure",
        r"""pci\b | prosedyre | procedure | \w*operasjon | operert | operation | \w*kirurgi
        | \w*kirurgisk | surgery | surgical | acb\b | acb- | cabg | bypass | stent | ballong
        | balloon | dilatasjon | dilatation | implant | pacemaker | icd\b | crt\b | ablasjon
        | ablation | kateteriser | catheter | punksjon | stikksted | tilgang | anestesi
        | anaesthes | \w*klaff | valve | tavi\b | tavr | avr\b | mvr\b | \w*plastikk
        | \w*protese | prosthes | wire | trombektomi
        | trombectomy | thrombectomy | impella | ecmo\b | aortaballongpumpe | iabp
        | revaskulariser | revasculari | lukning | ffr\b | ifr\b | cfr\b | imr\b | pd/pa
        | pdpa | hyperemi | doppler | angiografi | angio\b | perikardiocentese | ptsma | pta\b
        | kompresjon | pacing | dialyse | dialysis | stralebehandling | radiotherapy
        | introducer | clip\b | graft | tilleggsprosedyr | intervensjon | intervention""",
    ),
    Rule(
        "clinical_finding",
        r"""killip | nyha\b | canadian | ccs\b | sjokk | shock | hjertefrekvens | heart\ rate
        | puls\b | blodtrykk | blood\ pressure | systolisk | diastolisk | hoyde | height
        | vekt\b | weight | bmi\b | ekg | ecg | rytme | rhythm | st-segment | grenblokk
        | qrs | stt\b | symptom | funn\b | finding | \w*stenose | stenosis | okklusjon
        | occlusion | \w*insuffisiens | regurgitation | lekkasje | leak | prolaps | forkalkning
        | calcification | ventrikkel\ ?funksjon | ventrikkelfunksjon | ventricular\ function
        | frailty | gangtest | ganghastighet | gripestyrke | mobilitet | hlr\b | cpr\b
        | temperatur | saturasjon | spo2""",
    ),
    Rule(
        "demographics",
        r"""fodselsdato | date\ of\ birth | birth\ date | kjonn | sex\b | gender | alder\b
        | age\b | bosted | residence | adresse | address | postnummer | poststed | kommune
        | municipal | fylke | county | helseregion | bydel | sivilstand | marital
        | utdanning | education | yrke | occupation | fodeland | country\ of\ birth
        | statsborgerskap""",
    ),
    Rule(
        "administrative",
        r"""fodselsnummer | personnummer | d-nummer | national\ identity | pid\b | pasient\ ?id
        | patient\ id | identifikator | identifier | etternavn | fornavn | navn\b | name\b
        | telefon | mobilnummer | phone | kommentar | comment | status\b | ferdigstill
        | innhenting | registreringstype | registration | skjema\b | labnummer | operator
        | angiografor | gransker | assistent | studie | study | inklusjon | inclusion
        | sykehus | hospital | avdeling | overflytt | transfer | henvis | referr | innlegg
        | admission | innskriv | utskriv | utskrev | discharge | oppfolging | follow-?up
        | vakttid | dagtid | hendelsestype | episode | opphold | inndato | utdato
        | beslutning | decision""",
    ),
)

# A diagnosis or procedure on a complications form is a complication.
_COMPLICATION_FORM = re.compile(r"(?<![a-z0-9])(?:komplikasjon|complication)")
_BECOME_COMPLICATION = frozenset({"diagnosis", "procedure"})


def _texts(*texts: LocalizedText | None) -> str:
    parts = []
    for text in texts:
        if text is not None:
            parts += [text.nb or "", text.en or ""]
    return fold(" | ".join(p for p in parts if p))


def _first_rule(text: str) -> tuple[str, str] | None:
    if not text:
        return None
    for rule in RULES:
        keyword = rule.match(text)
        if keyword is not None:
            return rule.topic, keyword
    return None


def infer_topic(
    variable: Variable, form: Form | None = None, value_set: ValueSet | None = None
) -> tuple[str, str] | None:
    """``(topic, reason)`` for the variable, or ``None`` when nothing says.

    The curated topic wins (reason ``"curated"``). ``form`` is the variable's form
    (its name and instrument are used); ``value_set`` its value set (its codes'
    labels are the last resort)."""
    if variable.topic:
        return str(variable.topic), "curated"
    if variable.instrument_item:
        return "prom", f"answers instrument item {variable.instrument_item}"
    if form is not None and form.instrument:
        return "prom", f"form '{form.id}' administers instrument {form.instrument}"

    form_name = _texts(form.name) if form is not None else ""
    fields = (
        ("label", _texts(variable.label)),
        ("help text", _texts(variable.definition, variable.help_text)),
        ("form", form_name),
        (
            "value set",
            _texts(*(pv.label for pv in (value_set.codes or []))) if value_set else "",
        ),
    )
    for where, text in fields:
        found = _first_rule(text)
        if found is None:
            continue
        topic, keyword = found
        reason = f"{where}: '{keyword}'"
        if (
            topic in _BECOME_COMPLICATION
            and where != "form"
            and _COMPLICATION_FORM.search(form_name)
        ):
            name = form.name.nb or form.name.en if form is not None else ""
            return "complication", f"{reason} ({topic}) on the complications form '{name}'"
        return topic, reason
    return None


def infer_topics(
    variables: Iterable[Variable],
    forms: dict[tuple[str, str], Form],
    value_sets: dict[str, ValueSet],
) -> dict[str, tuple[str, str] | None]:
    """``infer_topic`` for many variables: ``forms`` is keyed by (register id, form
    id), ``value_sets`` by value-set id."""
    out: dict[str, tuple[str, str] | None] = {}
    for variable in variables:
        register = variable.register_id or variable.id.partition(":")[0]
        form = forms.get((register, variable.form)) if variable.form else None
        value_set = value_sets.get(variable.value_set) if variable.value_set else None
        out[variable.id] = infer_topic(variable, form, value_set)
    return out
