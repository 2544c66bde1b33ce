"""Candidate equivalents across registers: ``suggest`` proposes, a human decides
(DESIGN principle 5). Nothing here writes a mapping; the CLI can write the candidates
as an SSSOM *candidate* set for review.

Public API
----------
``suggest(catalogue, between=None, min_score=0.5, limit_per_subject=5, *, stats=None)``
    A list of :class:`Candidate` (subject, object, score 0..1, SKOS predicate, reasons):
    for every variable (of register A with ``between=(A, B)``) its best
    ``limit_per_subject`` equivalents in *other* registers (in B), best first, grouped
    by subject in catalogue order. Without ``between`` a pair found from both sides is
    kept once, under the subject that comes first in the catalogue. Pass a dict as
    ``stats`` to get the counts behind the run (pairs scored, blocks, seconds).

Signals (each reason in a candidate names the one it comes from)
----------------------------------------------------------------
* **Label** (weight 3): labels and instrument item texts, folded (case, diacritics,
  ø/æ/å), punctuation dropped, question numbering ("3 b.", "2a.", "1.", "Spm 4:")
  stripped; half rapidfuzz ``max(ratio, token_sort_ratio)``, half the Dice overlap of
  the content words (so "Fødselsdato" and "Dødsdato", which share only the compound's
  head, stay apart), best over the languages both have (nb/nb, en/en; across
  languages at 0.9). Labels whose numbers differ ("Type 1-" vs "Type 2-diabetes",
  "etter 3" vs "etter 12 måneder") count 0.7 of that. A close definition (same
  language, similarity above 0.6) lifts a weaker label by up to 30 % of its gap to 1.
* **Codings and concept** (weight 3, when both have codes in a common system): shared
  code 1.0; one code under the other (``codes.parent_codes``: ICD-10 I21.4 under I21,
  ATC, NCSP, ICPC-2) 0.8 and the predicate becomes broad/narrow; siblings under one
  parent 0.5; otherwise 0.
* **Coding within a code system** (weight 3, when the codings signal does not apply):
  one side's coding (ICD-10 I21) is a code of the system the other side's value set
  takes all its codes from (NPR's main condition: all ICD-10 codes) 1.0, and the
  predicate becomes broad/narrow: the key-register variable holds the concept as one
  of its values. The coded side's value set (often yes/no) is then not compared with
  the code system when none of its codes is in it.
* **Value sets** (weight 3 when both list at least three codes, as telling as a shared
  code; 1.5 for shorter lists; 0.45 when both are generic yes/no/unknown lists; divided
  by the square root of how many variables of one register use the same list, so a
  response scale that all items of a questionnaire share tells little): codes match on
  folded labels (nb or en) or on meanings; overlap m/max(|A|, |B|). A value set that
  lists no codes but names a code system matches another on that system.
* **Instrument items** (weight 3): the same item 1.0; two different items of the same
  instrument 0 (weight 2).
* **Datatype and unit** multiply: same datatype 1; compatible (integer/decimal,
  date/datetime, coded/boolean, string/identifier) 0.95; coded/string 0.85; anything
  else 0.7 and the predicate is at most relatedMatch. Different units 0.9.
* **Context** (PROM sections), for questionnaire variables only (an instrument item,
  topic ``prom``, a form that administers an instrument, or a numbered question): the
  help texts and the instrument item's section of both sides are compared; a pair
  whose context differs loses up to 0.05 and cannot be an exactMatch (the same
  wording in another section is another item), and a pair whose question numbering
  differs loses 0.01, so that of two items with the same wording the one in the same
  section (and with the same number) ranks first. Other variables' help texts are
  instructions, and are not compared.

The score is the weighted mean of the signals both sides have, times the multipliers,
minus the context penalties. Predicate: incompatible datatypes → relatedMatch; a
coding hierarchy and score ≥ 0.6 → broadMatch (the object is broader) / narrowMatch;
score ≥ 0.9 with the same datatype, no unit conflict, no differing numbers in the
labels, a full value-set overlap (when both have one), no conflicting codings or
items and an agreeing context → exactMatch; ≥ 0.75 → closeMatch; else relatedMatch.
A pair that a (non-candidate) mapping set of the catalogue already holds keeps its
place and says so in its reasons.

How it stays sub-quadratic
--------------------------
Variables are grouped twice. A *profile* is everything the score reads (so all
variables of a profile score alike against anything); a *core* is a profile without
its definition, context and numbering. Cores are blocked through an inverted index on
folded label tokens (stop words and bare numbers dropped), 5-character prefixes and
suffixes of tokens of 7+ characters (Norwegian compounds), the whole normalised label,
codes and their parents, value-set signatures, the labels/meanings of non-generic
value-set codes, and instrument items; a key shared by more than
``max(48, 2 % of the cores)`` cores is dropped as uninformative (whole labels and items
get four times that). Code systems are directed keys: a core with codes (or value-set
meanings) in a system is paired with the cores whose value set is that whole system,
not with the other cores coded in it. Only core pairs that share a kept key are scored. For each
subject profile the object cores are then visited in order of the best score their
profiles could reach (``hi``: the core score with the largest definition lift), and
the visit stops as soon as every register of the subject has ``limit_per_subject``
objects scoring at least the next core's ``hi``; so the result is the exact top-k over
the blocked pairs (ties in catalogue order). Within an object core, the profiles
without context or numbering score alike against a full label match and are ranked
as one group. The cost is set by the blocks, not by n².
"""

from __future__ import annotations

import heapq
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from regcat import codes as codelib
from regcat.catalogue import Catalogue
from regcat.errors import RegcatError
from regcat.generated.model import InstrumentItem, ValueSet, Variable
from regcat.text import fold

__all__ = [
    "PREDICATES",
    "Candidate",
    "candidates_path",
    "candidates_table",
    "split_numbering",
    "suggest",
    "write_candidates",
]

EXACT = "skos:exactMatch"
CLOSE = "skos:closeMatch"
BROAD = "skos:broadMatch"
NARROW = "skos:narrowMatch"
RELATED = "skos:relatedMatch"
PREDICATES = (EXACT, CLOSE, BROAD, NARROW, RELATED)

LEXICAL = "semapv:LexicalMatching"
COMPOSITE = "semapv:CompositeMatching"

# weights and thresholds (see the module docstring)
W_LABEL = 3.0
W_CODING = 3.0
W_VALUE_SET = 3.0  # both list at least 3 specific answers: as telling as a shared code
W_VALUE_SET_SMALL = 1.5  # otherwise
GENERIC_VALUE_SET = 0.45  # both are yes/no/unknown lists
W_ITEM_SAME = 3.0
W_ITEM_OTHER = 2.0
DEFINITION_LIFT = 0.3
CROSS_LANGUAGE = 0.9
NUMBERS_DIFFER = 0.7
CONTEXT_PENALTY = 0.05
CONTEXT_AGREES = 0.8
SHARED_SCALE = 3  # a value set this many variables of one register use is a shared scale
NUMBERING_PENALTY = 0.01
UNIT_DIFFER = 0.9
EXACT_AT = 0.9
CLOSE_AT = 0.75
HIERARCHY_AT = 0.6
BLOCK_CAP_MIN = 48
BLOCK_CAP_SHARE = 0.02
BLOCK_CAP_WHOLE = 4  # whole labels and instrument items: this many times the cap

_DATATYPE_GROUPS = [
    ({"integer", "decimal"}, 0.95, "compatible"),
    ({"date", "datetime"}, 0.95, "compatible"),
    ({"coded", "boolean"}, 0.95, "compatible"),
    ({"string", "identifier"}, 0.95, "compatible"),
    ({"coded", "string"}, 0.85, "partly compatible"),
]
DATATYPE_INCOMPATIBLE = 0.7


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _wordset(
    """
    og i pa til for av med som er det en et ei den de ved om at har hadde du din ditt
    dine deg meg jeg seg sin sitt sine eller ikke fra etter for under over per pr hva
    hvor hvilken hvilke hvordan nar enn mer kan skal vil ble blir vaere var hos inn ut
    sa nei ja mm osv evt eventuelt siste
    the a an of and or to in on at for with by from as is are was were be been your
    you have has had did do does not no any this that these those during past than how
    what which who would could should it its if yes per
    """
)
_GENERIC_LABELS = _wordset(
    """
    ja nei ukjent yes no unknown vet_ikke ikke_aktuelt not_applicable dont_know
    don_t_know annet other uoppgitt ikke_relevant mangler missing ikke_utfort
    ikke_besvart not_answered
    """
)

_TOKEN = re.compile(r"[a-z0-9]+")
_NUMBERING = re.compile(
    r"^\s*(?:(?:spm|sporsmal|q|question|item|nr)\.?\s*)?(\d{1,3})\s*([a-z])?\s*[.):](?=\s|$)\s*"
    r"|^\s*(\d{1,3})([a-z])\s+"
)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Candidate:
    """A suggested equivalence, for a human to accept or reject."""

    subject: str
    object: str
    score: float
    predicate: str
    reasons: list[str]
    justification: str = field(default=LEXICAL, compare=False)

    def to_json(self) -> dict:
        return {
            "subject": self.subject,
            "object": self.object,
            "score": self.score,
            "predicate": self.predicate,
            "reasons": list(self.reasons),
        }


# --------------------------------------------------------------------------- text


def split_numbering(text: str | None) -> tuple[str | None, str]:
    """Folded text with a leading question number taken off: ``"3 b. Utrettet"`` ->
    ``("3b", "utrettet")``; ``"2a. Moderate"`` -> ``("2a", "moderate")``."""
    folded = fold(text).strip()
    match = _NUMBERING.match(folded)
    if not match:
        return None, folded
    rest = folded[match.end() :]
    if not _TOKEN.search(rest):
        return None, folded
    number = (match.group(1) or match.group(3)) + (match.group(2) or match.group(4) or "")
    return number, rest


def _words(text: str | None) -> str:
    return " ".join(_TOKEN.findall(fold(text)))


def _sim(a: str, b: str) -> float:
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b)) / 100.0


@lru_cache(maxsize=1 << 16)
def _content(text: str) -> frozenset[str]:
    return frozenset(t for t in text.split() if t not in _STOP and not t.isdigit() and len(t) > 1)


def _digits(text: str) -> frozenset[str]:
    return frozenset(t for t in text.split() if t.isdigit())


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _context_reason(a: str, b: str, similarity: float) -> str:
    """How two contexts (help texts, section headings) compare, naming the words only
    one of them has: headings often share a long opening and differ in a few words."""
    agrees = "agrees" if similarity >= CONTEXT_AGREES else "differs"
    if a == b:
        return f"context {agrees}: '{_short(a)}' ({similarity:.2f})"
    words_a, words_b = set(a.split()), set(b.split())
    only_a = [w for w in dict.fromkeys(a.split()) if w not in words_b and w not in _STOP]
    only_b = [w for w in dict.fromkeys(b.split()) if w not in words_a and w not in _STOP]
    return (
        f"context {agrees} ({similarity:.2f}): only the subject's has "
        f"'{_short(' '.join(only_a), 40)}', only the object's '{_short(' '.join(only_b), 40)}'"
    )


# --------------------------------------------------------------------------- features


@dataclass
class _ValueSetSig:
    codes: tuple[frozenset[str], ...]  # per code: its label and meaning keys
    keys: frozenset[str]
    system: str | None  # a value set that lists no codes but names a code system
    generic: bool
    key: tuple  # hashable identity

    @classmethod
    def of(cls, value_set: ValueSet) -> _ValueSetSig | None:
        per_code = []
        generic = True
        for pv in value_set.codes or []:
            keys = set()
            labels = set()
            for text in (pv.label.nb, pv.label.en) if pv.label else ():
                words = _words(text)
                if words:
                    keys.add("l:" + words)
                    labels.add(words.replace(" ", "_"))
            if pv.meaning:
                prefix, _, local = pv.meaning.partition(":")
                keys.add(f"m:{prefix.upper()}:{codelib.normalise(prefix, local)}")
            if not labels or not labels <= _GENERIC_LABELS:
                generic = False
            if keys:
                per_code.append(frozenset(keys))
        system = value_set.code_system.upper() if value_set.code_system else None
        if not per_code:
            if system is None:
                return None
            return cls((), frozenset(), system, False, ("system", system))
        codes = tuple(per_code)
        all_keys = frozenset().union(*codes)
        return cls(codes, all_keys, None, generic, (frozenset(codes),))


def _value_set_overlap(a: _ValueSetSig, b: _ValueSetSig) -> tuple[float, str]:
    if a.system or b.system:
        if a.system and b.system:
            if a.system == b.system:
                return 1.0, f"value sets: both all {a.system} codes"
            return 0.0, f"value sets: all {a.system} / all {b.system} codes"
        listed, system = (b, a.system) if a.system else (a, b.system)
        inside = sum(1 for keys in listed.codes if any(k.startswith(f"m:{system}:") for k in keys))
        share = inside / len(listed.codes)
        return share, f"value set codes {inside}/{len(listed.codes)} in {system}"
    ab = sum(1 for keys in a.codes if keys & b.keys)
    ba = sum(1 for keys in b.codes if keys & a.keys)
    matched = min(ab, ba)
    total = max(len(a.codes), len(b.codes))
    generic = " (generic yes/no)" if a.generic and b.generic else ""
    return matched / total, f"value sets overlap {matched}/{total} codes{generic}"


@dataclass
class _Core:
    """What a pair's core score reads: labels, datatype, unit, codes, value set, item."""

    index: int
    labels: tuple[tuple[str, str], ...]  # (language, normalised text)
    datatype: str
    unit: str | None
    codes: frozenset[tuple[str, str]]
    value_set: _ValueSetSig | None
    item: str | None
    instrument: str | None
    profiles: list[_Profile] = field(default_factory=list)
    registers: set[int] = field(default_factory=set)
    keys: list[str] = field(default_factory=list)
    # the most cores of one register that use this value set: a response scale that every
    # item of a questionnaire shares tells little about which item is which
    value_set_spread: int = 1
    _parents: dict[tuple[str, str], tuple[str, ...]] | None = None

    def parents(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """Each code's ancestors, nearest first."""
        if self._parents is None:
            self._parents = {(s, c): tuple(codelib.parent_codes(s, c)) for s, c in self.codes}
        return self._parents


@dataclass
class _Profile:
    """A core plus definition, context and numbering: variables of one profile score
    alike against anything."""

    index: int
    core: _Core
    originals: dict[str, str]  # normalised label -> as written
    number: str | None
    definitions: tuple[tuple[str, str], ...]
    definition_id: int
    context: tuple[str, ...]
    context_id: int
    prom: bool  # an instrument item, a PROM topic or a form that administers an instrument
    variables: list[tuple[str, int]] = field(default_factory=list)  # (id, register index)
    register_counts: Counter = field(default_factory=Counter)


@dataclass
class _CorePair:
    label: float  # label similarity after the numbers guard
    best: tuple[str, str]  # the normalised labels behind it (subject, object)
    other: float  # sum of value * weight of the non-label signals
    weight: float  # sum of all weights, the label's included
    factor: float  # datatype and unit multipliers
    hi: float  # the best score any profile pair of these cores can reach
    reasons: list[str]  # the non-label reasons, in order
    relation: str | None  # coding relation seen from the subject
    datatype: str  # same / compatible / incompatible
    conflict: bool  # something rules out exactMatch
    composite: bool  # codings, value sets or items contributed
    base: float = 0.0  # the score before definitions, context and numbering

    def score(self, text: float) -> float:
        return (W_LABEL * text + self.other) / self.weight * self.factor


class _ObjectGroups:
    """A core's profiles as objects, restricted to the object registers. Against a
    label that matches fully, profiles without context or numbering ("plain") all
    score the core pair's base score, so they are ranked as one group; when the label
    match is partial, only those without a definition ("bare") are."""

    def __init__(self, core: _Core, registers: set[int]) -> None:
        self.counts: dict[int, Counter] = {}
        for p in core.profiles:
            counts = Counter({r: n for r, n in p.register_counts.items() if r in registers})
            if counts:
                self.counts[p.index] = counts
        usable = [p for p in core.profiles if p.index in self.counts]
        self.plain = [p for p in usable if not p.context and not p.number]
        self.bare = [p for p in self.plain if not p.definitions]
        self.numbered = [p for p in usable if p.context or p.number]
        self.rich = [p for p in usable if p.context or p.number or p.definitions]
        self.plain_counts = self._total(self.plain)
        self.bare_counts = self._total(self.bare)

    def _total(self, profiles: list[_Profile]) -> Counter:
        total: Counter = Counter()
        for p in profiles:
            total.update(self.counts[p.index])
        return total


class _Features:
    """Variables of the registers in play, grouped into profiles and cores."""

    def __init__(self, catalogue: Catalogue, registers: list[str]) -> None:
        self.catalogue = catalogue
        self.registers = registers
        self.items: dict[str, tuple[str, InstrumentItem]] = {}
        for instrument in catalogue.instruments.values():
            for item in instrument.items or []:
                self.items[item.id] = (instrument.id, item)
        self._value_sets: dict[str, _ValueSetSig | None] = {}
        self._word_cache: dict[str, str] = {}  # definitions and help texts repeat a lot
        self._signatures: dict[tuple, _ValueSetSig | None] = {}  # value sets by content
        self.cores: list[_Core] = []
        self.profiles: list[_Profile] = []
        self.order: dict[str, tuple[int, int]] = {}  # variable -> (register, position)
        core_ids: dict[tuple, _Core] = {}
        profile_ids: dict[tuple, _Profile] = {}
        texts: dict[tuple, int] = {}
        for r, register_id in enumerate(registers):
            register = catalogue.registers[register_id]
            instrument_forms = {f.id for f in register.forms or [] if f.instrument}
            for position, variable in enumerate(register.variables or []):
                self.order[variable.id] = (r, position)
                core_key, core_fields, profile_fields = self._describe(variable, instrument_forms)
                core = core_ids.get(core_key)
                if core is None:
                    core = _Core(len(self.cores), *core_fields)
                    core_ids[core_key] = core
                    self.cores.append(core)
                originals, number, definitions, context, prom = profile_fields
                profile_key = (core.index, tuple(sorted(originals.items())), number)
                profile_key += (definitions, context, prom)
                profile = profile_ids.get(profile_key)
                if profile is None:
                    def_id = texts.setdefault(("d", definitions), len(texts))
                    ctx_id = texts.setdefault(("c", context), len(texts))
                    profile = _Profile(
                        len(self.profiles),
                        core,
                        originals,
                        number,
                        definitions,
                        def_id,
                        context,
                        ctx_id,
                        prom,
                    )
                    profile_ids[profile_key] = profile
                    self.profiles.append(profile)
                    core.profiles.append(profile)
                profile.variables.append((variable.id, r))
                profile.register_counts[r] += 1
                core.registers.add(r)
        spread: Counter[tuple] = Counter()
        for core in self.cores:
            if core.value_set is not None:
                for r in core.registers:
                    spread[(core.value_set.key, r)] += 1
        widest: dict[tuple, int] = {}
        for (key, _), count in spread.items():
            widest[key] = max(widest.get(key, 0), count)
        for core in self.cores:
            if core.value_set is not None:
                core.value_set_spread = widest[core.value_set.key]

    def _value_set(self, ident: str | None) -> _ValueSetSig | None:
        if not ident:
            return None
        if ident not in self._value_sets:
            value_set = self.catalogue.value_sets.get(ident)
            signature = None
            if value_set:
                # registers copy the same lists (yes/no, NYHA, …) into local value sets
                content = (value_set.code_system,) + tuple(
                    (pv.label.nb, pv.label.en, pv.meaning) if pv.label else (pv.meaning,)
                    for pv in value_set.codes or []
                )
                signature = self._signatures.get(content)
                if signature is None:
                    signature = self._signatures[content] = _ValueSetSig.of(value_set)
            self._value_sets[ident] = signature
        return self._value_sets[ident]

    def _words(self, text: str) -> str:
        words = self._word_cache.get(text)
        if words is None:
            words = self._word_cache[text] = _words(text)
        return words

    def _describe(self, v: Variable, instrument_forms: set[str]) -> tuple[tuple, tuple, tuple]:
        item = self.items.get(v.instrument_item) if v.instrument_item else None
        instrument_id, item_obj = item if item else (None, None)
        labels: set[tuple[str, str]] = set()
        originals: dict[str, str] = {}
        number = None
        sources = [("nb", v.label.nb), ("en", v.label.en)]
        if item_obj is not None:
            sources += [("nb", item_obj.text.nb), ("en", item_obj.text.en)]
        for lang, text in sources:
            if not text:
                continue
            found, rest = split_numbering(text)
            number = number or found
            norm = " ".join(_TOKEN.findall(rest))
            if norm:
                labels.add((lang, norm))
                originals.setdefault(norm, text.strip())
        if item_obj is not None and item_obj.number and number is None:
            number = re.sub(r"[^a-z0-9]", "", fold(item_obj.number))
        label_tuple = tuple(sorted(labels))
        codes: set[tuple[str, str]] = set()
        for coding in v.codings or []:
            system = coding.system.strip().upper()
            codes.add((system, codelib.normalise(system, coding.code)))
        if v.concept and ":" in v.concept:
            system, _, local = v.concept.partition(":")
            codes.add((system.upper(), codelib.normalise(system, local)))
        vs_id = v.value_set or (item_obj.value_set if item_obj is not None else None)
        value_set = self._value_set(vs_id)
        datatype = v.datatype.value if hasattr(v.datatype, "value") else str(v.datatype)
        unit = v.unit.strip() if v.unit else None
        core_key = (
            label_tuple,
            datatype,
            unit,
            frozenset(codes),
            value_set.key if value_set else None,
            v.instrument_item,
        )
        core_fields = (
            label_tuple,
            datatype,
            unit,
            frozenset(codes),
            value_set,
            v.instrument_item if item_obj is not None else None,
            instrument_id,
        )
        definitions = tuple(
            (lang, self._words(text)[:300])
            for lang, text in (
                (("nb", v.definition.nb), ("en", v.definition.en)) if v.definition else ()
            )
            if text and self._words(text)
        )
        context_texts = []
        if v.help_text:
            context_texts += [v.help_text.nb, v.help_text.en]
        if item_obj is not None:
            context_texts.append(item_obj.section)
        context = tuple(
            dict.fromkeys(self._words(t)[:200] for t in context_texts if t and self._words(t))
        )
        topic = getattr(v.topic, "value", v.topic)
        prom = (
            item_obj is not None
            or topic == "prom"
            or v.form in instrument_forms
            or number is not None
        )
        if not prom:
            context = ()  # instructions, not a section: they say little about identity
        return core_key, core_fields, (originals, number, definitions, context, prom)


# --------------------------------------------------------------------------- blocking


def _tokens(text: str) -> Iterable[str]:
    for token in text.split():
        if token in _STOP or token.isdigit() or len(token) < 2:
            continue
        yield "t:" + token
        if len(token) >= 7:
            yield "p:" + token[:5]
            yield "s:" + token[-5:]


def _partner(key: str) -> str:
    """The block a key looks up: itself, or for a directed code-system key the other
    side ("S>ICD10", codes in ICD-10, pairs with "S<ICD10", value sets of all ICD-10)."""
    if key[0] != "S":
        return key
    return ("S<" if key[1] == ">" else "S>") + key[2:]


def _kept(key: str, count: int, cap: int) -> bool:
    """Whether a block key with `count` cores is informative enough to pair through."""
    if key[0] == "S":  # directed: the partner block holds the other side
        return 1 <= count <= cap * BLOCK_CAP_WHOLE
    limit = cap * BLOCK_CAP_WHOLE if key[0] in "Li" else cap
    return 2 <= count <= limit


def _block_keys(core: _Core) -> list[str]:
    keys: set[str] = set()
    for _, text in core.labels:
        keys.add("L:" + text)
        keys.update(_tokens(text))
    for system, code in core.codes:
        keys.add(f"c:{system}:{code}")
        keys.add("S>" + system)
        for parent in codelib.parent_codes(system, code):
            keys.add(f"c:{system}:{parent}")
    if core.value_set is not None:
        keys.add(f"v:{hash(core.value_set.key)}")
        if core.value_set.system:
            keys.add("S<" + core.value_set.system)
        for code_keys in core.value_set.codes:
            for key in code_keys:
                if key.startswith("m:"):
                    keys.add("S>" + key[2:].partition(":")[0])
                if not core.value_set.generic:
                    keys.add("w:" + key)
    if core.item:
        keys.add("i:" + core.item)
    return sorted(keys)


# --------------------------------------------------------------------------- scoring


def _in_code_system(s: _Core, o: _Core) -> tuple[str | None, str | None, str]:
    """A coding of one side that is a code of the system the other side's value set
    takes all its codes from: (system, relation seen from the subject, reason)."""
    if o.value_set is not None and o.value_set.system and s.codes:
        system = o.value_set.system
        inside = sorted(code for sys_, code in s.codes if sys_ == system)
        if inside:
            return (
                system,
                "broader",
                f"coding {system}:{inside[0]} is one of the object's {system} codes "
                "→ broadMatch (the object is broader)",
            )
    if s.value_set is not None and s.value_set.system and o.codes:
        system = s.value_set.system
        inside = sorted(code for sys_, code in o.codes if sys_ == system)
        if inside:
            return (
                system,
                "narrower",
                f"the object's coding {system}:{inside[0]} is one of the subject's "
                f"{system} codes → narrowMatch (the object is narrower)",
            )
    return None, None, ""


class _Scorer:
    def __init__(self) -> None:
        self._label_sims: dict[tuple[str, str], float] = {}
        self._text_sims: dict[tuple[int, int], float] = {}

    def label_sim(self, a: str, b: str) -> float:
        """Half characters (rapidfuzz), half shared content words (Dice): a shared
        compound head alone ("fødsels|dato", "døds|dato") is not a match."""
        key = (a, b) if a <= b else (b, a)
        value = self._label_sims.get(key)
        if value is None:
            chars = _sim(a, b)
            words_a, words_b = _content(a), _content(b)
            if words_a and words_b:
                dice = 2 * len(words_a & words_b) / (len(words_a) + len(words_b))
                value = 0.5 * chars + 0.5 * dice
            else:
                value = chars
            self._label_sims[key] = value
        return value

    def core_pair(self, s: _Core, o: _Core) -> _CorePair:
        # labels
        best, best_pair = -1.0, ("", "")
        for lang_s, text_s in s.labels:
            for lang_o, text_o in o.labels:
                sim = self.label_sim(text_s, text_o)
                if lang_s != lang_o:
                    sim *= CROSS_LANGUAGE
                if sim > best:
                    best, best_pair = sim, (text_s, text_o)
        best = max(best, 0.0)
        reasons: list[str] = []
        conflict = False
        digits_s, digits_o = _digits(best_pair[0]), _digits(best_pair[1])
        if best > 0 and digits_s and digits_o and digits_s != digits_o:
            best *= NUMBERS_DIFFER
            shown = " ".join(sorted(digits_s)) or "-", " ".join(sorted(digits_o)) or "-"
            reasons.append(f"numbers in labels differ: {shown[0]} / {shown[1]}")
            conflict = True
        other, weight, factor = 0.0, W_LABEL, 1.0
        composite = False
        # codings and concept
        relation = None
        coded = False
        if s.codes and o.codes:
            value, relation, text = self._codings(s, o)
            if value is not None:
                other += value * W_CODING
                weight += W_CODING
                reasons.append(text)
                composite = coded = True
                conflict = conflict or relation in ("sibling", "different", "mixed")
        # a coding that is one of the codes of the other side's code-system value set
        in_system = None
        if not coded:
            in_system, relation, text = _in_code_system(s, o)
            if in_system:
                other += W_CODING
                weight += W_CODING
                reasons.append(text)
                composite = True
        # value sets
        compared = s.value_set is not None and o.value_set is not None
        if compared:
            value, text = _value_set_overlap(s.value_set, o.value_set)
            # with a coding in the other side's code system, the coded side's answers
            # (yes/no) are not codes of that system: their mismatch is no evidence
            compared = not (
                in_system and value == 0.0 and in_system in (s.value_set.system, o.value_set.system)
            )
        if compared:
            if s.value_set.generic and o.value_set.generic:
                w = GENERIC_VALUE_SET
            elif min(len(s.value_set.codes), len(o.value_set.codes)) >= 3 or (
                s.value_set.system and o.value_set.system
            ):
                w = W_VALUE_SET
            else:
                w = W_VALUE_SET_SMALL
            spread = max(s.value_set_spread, o.value_set_spread)
            if not (s.value_set.generic and o.value_set.generic):
                w *= spread**-0.5  # weight 1/sqrt(how many variables of one register use it)
                if spread >= SHARED_SCALE:
                    text += f" (used by {spread} variables of one register)"
            other += value * w
            weight += w
            reasons.append(text)
            composite = True
            conflict = conflict or value < 1.0
        # instrument items
        if s.item and o.item:
            if s.item == o.item:
                other += W_ITEM_SAME
                weight += W_ITEM_SAME
                reasons.append(f"same instrument item {s.item}")
                composite = True
            elif s.instrument and s.instrument == o.instrument:
                weight += W_ITEM_OTHER
                reasons.append(f"different items of {s.instrument}: {s.item} / {o.item}")
                composite = True
                conflict = True
        # datatype and unit
        kind = "same"
        if s.datatype == o.datatype:
            reasons.append(f"datatype {s.datatype}/{o.datatype}")
        else:
            pair = {s.datatype, o.datatype}
            for group, multiplier, name in _DATATYPE_GROUPS:
                if pair <= group:
                    factor *= multiplier
                    kind = "compatible"
                    reasons.append(f"datatype {s.datatype}/{o.datatype} ({name})")
                    break
            else:
                factor *= DATATYPE_INCOMPATIBLE
                kind = "incompatible"
                reasons.append(f"datatype {s.datatype}/{o.datatype} incompatible (score lowered)")
        if s.unit and o.unit:
            if s.unit == o.unit:
                reasons.append(f"unit {s.unit}")
            else:
                factor *= UNIT_DIFFER
                reasons.append(f"units differ: {s.unit} / {o.unit} (score lowered)")
                conflict = True
        label_hi = best + (1.0 - best) * DEFINITION_LIFT
        hi = (W_LABEL * label_hi + other) / weight * factor
        base = (W_LABEL * best + other) / weight * factor
        return _CorePair(
            best,
            best_pair,
            other,
            weight,
            factor,
            hi,
            reasons,
            relation,
            kind,
            conflict,
            composite,
            base,
        )

    @staticmethod
    def _codings(s: _Core, o: _Core) -> tuple[float | None, str | None, str]:
        shared = sorted(s.codes & o.codes)
        if shared:
            more = f" (+{len(shared) - 2} more)" if len(shared) > 2 else ""
            listed = ", ".join(f"{a}:{b}" for a, b in shared[:2])
            return 1.0, "exact", f"shared coding {listed}{more}"
        under = over = None
        parents_s = s.parents()
        parents_o = o.parents()
        for (system, code), parents in sorted(parents_s.items()):
            for parent in parents:
                if (system, parent) in o.codes:
                    under = under or f"{system}:{code} under {system}:{parent}"
        for (system, code), parents in sorted(parents_o.items()):
            for parent in parents:
                if (system, parent) in s.codes:
                    over = over or f"{system}:{code} under {system}:{parent}"
        if under and over:
            return 0.6, "mixed", f"codings overlap both ways: {under}; {over}"
        if under:
            return 0.8, "broader", f"coding {under} → broadMatch (the object is broader)"
        if over:
            return 0.8, "narrower", f"coding {over} → narrowMatch (the object is narrower)"
        for (system, code), parents in sorted(parents_s.items()):
            if not parents:
                continue
            for (system_o, code_o), parents_other in sorted(parents_o.items()):
                if system_o == system and parents_other and parents_other[0] == parents[0]:
                    return (
                        0.5,
                        "sibling",
                        f"codings {system}:{code} and {system}:{code_o} share parent "
                        f"{system}:{parents[0]}",
                    )
        systems = {a for a, _ in s.codes} & {a for a, _ in o.codes}
        if systems:
            a = sorted(c for c in s.codes if c[0] in systems)[0]
            b = sorted(c for c in o.codes if c[0] in systems)[0]
            return 0.0, "different", f"codings differ: {a[0]}:{a[1]} / {b[0]}:{b[1]}"
        return None, None, ""

    def text_sim(self, key: tuple[int, int], a: Iterable, b: Iterable, same_lang: bool) -> float:
        value = self._text_sims.get(key)
        if value is None:
            value = 0.0
            if same_lang:
                for lang_a, text_a in a:
                    for lang_b, text_b in b:
                        if lang_a == lang_b:
                            value = max(value, _sim(text_a, text_b))
            else:
                for text_a in a:
                    for text_b in b:
                        value = max(value, _sim(text_a, text_b))
            self._text_sims[key] = value
        return value

    def definition_sim(self, p: _Profile, q: _Profile) -> float:
        return self.text_sim((p.definition_id, q.definition_id), p.definitions, q.definitions, True)

    def context_sim(self, p: _Profile, q: _Profile) -> float:
        return self.text_sim((p.context_id, q.context_id), p.context, q.context, False)

    def profile_score(self, p: _Profile, q: _Profile, cp: _CorePair) -> float:
        """The pair's score (no reasons: those are built only for pairs that are kept)."""
        score = cp.base
        if cp.label < 1.0 and p.definitions and q.definitions:
            d = self.definition_sim(p, q)
            if d > 0.6:
                score = cp.score(cp.label + (1.0 - cp.label) * DEFINITION_LIFT * (d - 0.6) / 0.4)
        if p.context and q.context:
            score -= CONTEXT_PENALTY * (1.0 - self.context_sim(p, q))
        if p.number and q.number and p.number != q.number:
            score -= NUMBERING_PENALTY
        return min(1.0, max(0.0, score))

    def profile_details(
        self, p: _Profile, q: _Profile, cp: _CorePair, score: float
    ) -> tuple[str, list[str]]:
        """The predicate and the reasons for a pair scored by `profile_score`."""
        conflict = False
        subject_label = p.originals.get(cp.best[0], cp.best[0])
        object_label = q.originals.get(cp.best[1], cp.best[1])
        reasons = [f"label: '{subject_label}' ≈ '{object_label}' ({cp.label:.2f})"]
        reasons += cp.reasons
        if p.definitions and q.definitions:
            d = self.definition_sim(p, q)
            if d >= 0.6:
                reasons.append(f"definition ≈ ({d:.2f})")
        if p.context and q.context:
            c = self.context_sim(p, q)
            reasons.append(_context_reason(p.context[0], q.context[0], c))
            # a PROM item in another section is another item, however alike the wording
            conflict = c < CONTEXT_AGREES
        if p.number and q.number:
            relation = "=" if p.number == q.number else "/"
            reasons.append(f"numbering {p.number} {relation} {q.number}")
        return _predicate(score, cp, conflict), reasons


def score_groups(scorer: _Scorer, profile: _Profile, groups, cp: _CorePair) -> list[tuple]:
    """(score, profiles, their register counts) for a subject profile against one object
    core's profile groups (`_ObjectGroups`, or the reuse check's own): profiles that
    must score alike are scored once as a group."""
    scored: list[tuple] = []
    base = min(1.0, max(0.0, cp.base))
    if cp.label >= 1.0 or not profile.definitions:
        # definitions cannot lift the label: the plain profiles all score the base
        if groups.plain:
            scored.append((base, groups.plain, groups.plain_counts))
        singles = groups.numbered
    else:
        if groups.bare:
            scored.append((base, groups.bare, groups.bare_counts))
        singles = groups.rich
    for q in singles:
        scored.append((scorer.profile_score(profile, q, cp), [q], groups.counts[q.index]))
    return scored


def _predicate(score: float, cp: _CorePair, conflict: bool = False) -> str:
    if cp.datatype == "incompatible":
        return RELATED
    if cp.relation in ("broader", "narrower") and score >= HIERARCHY_AT:
        return BROAD if cp.relation == "broader" else NARROW
    if score >= EXACT_AT and cp.datatype == "same" and not (cp.conflict or conflict):
        return EXACT
    if score >= CLOSE_AT:
        return CLOSE
    return RELATED


# --------------------------------------------------------------------------- suggest


def _check_between(catalogue: Catalogue, between: tuple[str, str] | None) -> None:
    if between is None:
        return
    if len(between) != 2:
        raise RegcatError("--between takes two register ids")
    known = sorted(catalogue.registers)
    for register_id in between:
        if register_id not in catalogue.registers:
            raise RegcatError(
                f"--between: unknown register '{register_id}'; known: {', '.join(known)}"
            )
    if between[0] == between[1]:
        raise RegcatError(f"--between: give two different registers, not '{between[0]}' twice")


def _existing_mappings(catalogue: Catalogue) -> dict[tuple[str, str], str]:
    """Pairs that a (non-candidate) mapping set already holds, either way round."""
    found: dict[tuple[str, str], str] = {}
    for rel, mapping_set in sorted(catalogue.mapping_sets.items()):
        if rel.rsplit("/", 1)[-1].startswith("candidates"):
            continue
        for m in mapping_set.mappings or []:
            predicate = getattr(m.predicate_id, "value", m.predicate_id)
            note = f"already mapped: {m.subject_id} {predicate} {m.object_id} in {rel}"
            found.setdefault((m.subject_id, m.object_id), note)
            found.setdefault((m.object_id, m.subject_id), note)
    return found


def suggest(
    catalogue: Catalogue,
    between: tuple[str, str] | None = None,
    min_score: float = 0.5,
    limit_per_subject: int = 5,
    *,
    stats: dict | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Candidate]:
    """Candidate equivalents across registers, best first per subject (see the module
    docstring). ``between=(A, B)``: subjects from A, objects from B. ``progress(done,
    total)`` is called now and then while the pairs are scored."""
    _check_between(catalogue, between)
    if not 0.0 <= min_score <= 1.0:
        raise RegcatError(f"--min-score {min_score}: expected a number from 0 to 1")
    if limit_per_subject < 1:
        raise RegcatError(f"--limit {limit_per_subject}: expected 1 or more")
    started = time.perf_counter()
    # Data models (OMOP CDM) are compared only when asked for by name with --between.
    registers = (
        list(between)
        if between
        else sorted(r for r, reg in catalogue.registers.items() if reg.kind != "data_model")
    )
    features = _Features(catalogue, registers)
    subject_registers = {0} if between else set(range(len(registers)))
    object_registers = {1} if between else set(range(len(registers)))
    cores = features.cores
    prepared = time.perf_counter()

    # blocks over cores
    df: Counter[str] = Counter()
    for core in cores:
        core.keys = _block_keys(core)
        df.update(core.keys)
    cap = max(BLOCK_CAP_MIN, int(BLOCK_CAP_SHARE * len(cores)))

    def kept(key: str) -> bool:
        return _kept(key, df[key], cap)

    blocks: dict[str, list[_Core]] = {}
    for core in cores:
        if not (core.registers & object_registers):
            continue
        for key in core.keys:
            if kept(key):
                blocks.setdefault(key, []).append(core)
    dropped = sum(1 for key, n in df.items() if n >= 2 and not kept(key))

    # core pairs
    scorer = _Scorer()
    core_pairs = 0
    candidates_of: dict[int, list[tuple[float, int, _CorePair]]] = {}
    steps = len(cores) + len(features.profiles)
    for step, core in enumerate(cores):
        if progress is not None and step % 500 == 0:
            progress(step, steps)
        subject_regs = core.registers & subject_registers
        if not subject_regs:
            continue
        others: dict[int, _Core] = {core.index: core}
        for key in core.keys:
            for other in blocks.get(_partner(key), ()):
                others[other.index] = other
        found = []
        for other in others.values():
            object_regs = other.registers & object_registers
            if not object_regs or (
                len(object_regs) == 1 and object_regs == subject_regs and len(subject_regs) == 1
            ):
                continue
            core_pairs += 1
            cp = scorer.core_pair(core, other)
            if cp.hi >= min_score:
                found.append((cp.hi, other.index, cp))
        found.sort(key=lambda t: (-t[0], t[1]))
        candidates_of[core.index] = found

    # profiles: visit object cores best first, stop when the top-k is settled
    profile_pairs = 0
    variable_pairs = 0
    k = limit_per_subject
    results: list[Candidate] = []
    groups: dict[int, _ObjectGroups] = {}
    for step, profile in enumerate(features.profiles, len(cores)):
        if progress is not None and step % 500 == 0:
            progress(step, steps)
        found = candidates_of.get(profile.core.index)
        if not found:
            continue
        subject_regs = [r for r in profile.register_counts if r in subject_registers]
        if not subject_regs:
            continue
        subject_count = sum(profile.register_counts[r] for r in subject_regs)
        # (score, first profile index, profiles, their register counts, core pair)
        ranked: list[tuple[float, int, list[_Profile], Counter, _CorePair]] = []
        pending: list[tuple[float, int]] = []
        counted: Counter[int] = Counter()
        total = 0
        for hi, other_index, cp in found:
            # settled? every subject register has k objects scoring at least `hi`
            while pending and -pending[0][0] >= hi:
                _, at = heapq.heappop(pending)
                for r, n in ranked[at][3].items():
                    counted[r] += n
                    total += n
            if total >= k and all(total - counted[r] >= k for r in subject_regs):
                break
            g = groups.get(other_index)
            if g is None:
                g = groups[other_index] = _ObjectGroups(cores[other_index], object_registers)
            for score, group, counts in score_groups(scorer, profile, g, cp):
                profile_pairs += 1
                variable_pairs += subject_count * sum(counts.values())
                if score >= min_score:
                    heapq.heappush(pending, (-score, len(ranked)))
                    ranked.append((score, group[0].index, group, counts, cp))
        if not ranked:
            continue
        ranked.sort(key=lambda t: (-t[0], t[1]))
        details: dict[int, tuple[str, list[str]]] = {}
        for vid, r in profile.variables:
            if r not in subject_registers:
                continue
            taken = 0
            for score, _, group, _, cp in ranked:
                for q in group:
                    for uid, ru in q.variables:
                        if ru == r or ru not in object_registers:
                            continue
                        if q.index not in details:
                            details[q.index] = scorer.profile_details(profile, q, cp, score)
                        predicate, reasons = details[q.index]
                        justification = COMPOSITE if cp.composite else LEXICAL
                        results.append(
                            Candidate(vid, uid, round(score, 3), predicate, reasons, justification)
                        )
                        taken += 1
                        if taken == k:
                            break
                    if taken == k:
                        break
                if taken == k:
                    break

    if progress is not None:
        progress(steps, steps)

    # a pair found from both sides is kept once, under the subject that comes first
    order = features.order
    if not between:
        pairs = {(c.subject, c.object) for c in results}
        results = [
            c
            for c in results
            if not ((c.object, c.subject) in pairs and order[c.object] < order[c.subject])
        ]
    results.sort(key=lambda c: (order[c.subject], -c.score, order[c.object]))
    existing = _existing_mappings(catalogue)
    if existing:
        results = [
            Candidate(
                c.subject,
                c.object,
                c.score,
                c.predicate,
                [*c.reasons, existing[(c.subject, c.object)]],
                c.justification,
            )
            if (c.subject, c.object) in existing
            else c
            for c in results
        ]
    if stats is not None:
        n_subject = sum(
            p.register_counts[r]
            for p in features.profiles
            for r in p.register_counts
            if r in subject_registers
        )
        if between:
            n_object = sum(p.register_counts.get(1, 0) for p in features.profiles)
            all_pairs = n_subject * n_object
        else:
            per_register = Counter()
            for p in features.profiles:
                per_register.update(p.register_counts)
            n = sum(per_register.values())
            all_pairs = (n * n - sum(c * c for c in per_register.values())) // 2
        stats.update(
            variables=len(order),
            registers=len(registers),
            profiles=len(features.profiles),
            cores=len(cores),
            block_keys=len(blocks),
            block_keys_dropped=dropped,
            block_cap=cap,
            core_pairs_scored=core_pairs,
            profile_pairs_scored=profile_pairs,
            variable_pairs_scored=variable_pairs,
            all_pairs=all_pairs,
            candidates=len(results),
            seconds_features=round(prepared - started, 3),
            seconds=round(time.perf_counter() - started, 3),
        )
    return results


# --------------------------------------------------------------------------- SSSOM


def candidates_path(root, between: tuple[str, str] | None):
    """Where `--write` puts a candidate set: `mappings/candidates[-A-B].sssom.tsv`."""
    from regcat.layout import MAPPINGS

    name = "candidates" + (f"-{between[0]}-{between[1]}" if between else "")
    return root / MAPPINGS / f"{name}.sssom.tsv"


def candidates_table(
    catalogue: Catalogue,
    candidates: list[Candidate],
    between: tuple[str, str] | None = None,
    today: str | None = None,
):
    """The candidates as an SSSOM candidate set: confidence is the score, the comment
    the reasons, mapping_justification lexical or composite matching. Nothing marks a
    row as reviewed (no reviewer_id); the set's name, title and description say that
    every row is a candidate."""
    import datetime as dt

    from regcat import __version__
    from regcat.sssom import SssomTable

    name = "candidates" + (f"-{between[0]}-{between[1]}" if between else "")
    registers = sorted(
        {c.subject.partition(":")[0] for c in candidates}
        | {c.object.partition(":")[0] for c in candidates}
        | set(between or ())
    )
    curie_map = {r: f"https://w3id.org/regcat/variable/{r}/" for r in registers}
    curie_map["semapv"] = "https://w3id.org/semapv/vocab/"
    curie_map["skos"] = "http://www.w3.org/2004/02/skos/core#"
    scope = f"{between[0]} → {between[1]}" if between else "all registers"
    meta = {
        "curie_map": curie_map,
        "mapping_set_id": f"https://w3id.org/regcat/mappings/{name}",
        "mapping_set_title": f"Candidate mappings ({scope}), not reviewed",
        "mapping_set_description": (
            "Suggested by `regcat suggest` from labels, definitions, codings, value sets, "
            "datatypes, units and instrument items. Every row is a candidate awaiting "
            "review, not an accepted mapping: a reviewer moves the ones that hold into a "
            "curated mapping set (with reviewer_id) and drops the rest."
        ),
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "mapping_date": today or dt.date.today().isoformat(),
        "mapping_tool": "regcat suggest",
        "mapping_tool_version": __version__,
    }
    columns = [
        "subject_id",
        "subject_label",
        "predicate_id",
        "object_id",
        "object_label",
        "mapping_justification",
        "confidence",
        "mapping_tool",
        "comment",
    ]

    def label(variable_id: str) -> str:
        variable = catalogue.variables.get(variable_id)
        if variable is None:
            return ""
        return _cell(variable.label.nb or variable.label.en or "")

    rows = [
        {
            "subject_id": c.subject,
            "subject_label": label(c.subject),
            "predicate_id": c.predicate,
            "object_id": c.object,
            "object_label": label(c.object),
            "mapping_justification": c.justification,
            "confidence": f"{c.score:.3f}".rstrip("0").rstrip(".") if c.score else "0",
            "mapping_tool": "regcat suggest",
            "comment": _cell("; ".join(c.reasons)),
        }
        for c in candidates
    ]
    return SssomTable(meta, columns, rows)


def _cell(text: str) -> str:
    return " ".join(text.split())


def write_candidates(
    catalogue: Catalogue,
    root,
    candidates: list[Candidate],
    between: tuple[str, str] | None = None,
):
    """Write the candidate set into the catalogue (atomically); returns its path."""
    from regcat.io import write_text_atomic
    from regcat.sssom import check_sssom, raise_first, write_sssom

    table = candidates_table(catalogue, candidates, between)
    raise_first(check_sssom(table, catalogue=True))
    path = candidates_path(root, between)
    write_text_atomic(path, write_sssom(table))
    return path
