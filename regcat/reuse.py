"""The reuse check for a proposed variable: which variables of *other* registers
already collect the same thing, and which key registers (NPR, KPR, LMR, DÅR, …) hold
it, with scores and reasons — at once, while the proposal is submitted (DESIGN:
"the proposal is checked at once for reuse candidates before a human reviews it").

Public API
----------
``ReuseChecker(catalogue)``
    Prepares the catalogue once (the features, profiles and blocks of
    :mod:`regcat.suggest`); a server keeps one per index version. Read-only after
    construction: ``check`` may be called from several threads at once (what a check
    writes is its own, apart from the thread-safe memo caches of ``regcat.suggest``
    (bounded) and ``regcat.codes`` (unbounded: hence the limits on codes below). The
    catalogue must not change while the checker uses it.
``ReuseChecker.check(variable, value_set=None, *, limit=10, min_score=0.5)``
    A :class:`ReuseReport` for one proposed :class:`~regcat.generated.model.Variable`
    (or its JSON as a dict) of register R, with its optional proposed local
    :class:`~regcat.generated.model.ValueSet`: ``similar`` holds the best ``limit``
    candidates from any register other than R, ``key_register`` the best ``limit``
    from key registers other than R (a candidate can be in both), each best first
    (ties in catalogue order). The value set given is the proposal's, whatever the
    variable's ``value_set`` names; without one, ``value_set`` is looked up in the
    catalogue (a shared list). The register comes from ``register_id`` or the id's
    prefix. Bad input raises :class:`~regcat.errors.RegcatError`.

Same scoring as ``regcat suggest``
----------------------------------
The proposal is described exactly as ``suggest`` describes a catalogue variable
(labels folded and stripped of question numbering, definitions, help texts/sections,
codings and concept with their hierarchy, value set, instrument item, datatype, unit),
scored with the same scorer against the same cores and profiles, blocked by the same
keys with the same block-size cap, and ranked with the same early stop. So the score,
predicate and reasons of a candidate are the ones ``regcat suggest`` gives the pair
when the proposal is in the catalogue (``suggest`` with ``between=(R, S)``, merged
over the other registers S, finds the same best objects; the tests check this for
every variable of the bundled catalogue they name). Two small differences, both from
the proposal not being in the catalogue yet: the proposal counts once more in the
block sizes and in how many variables of R share its value set (as it would once
added, and not at all when it is described exactly like a variable R already has),
and a pair already held by a curated mapping set cannot occur, so no "already
mapped" reason is added.

How it stays fast
-----------------
Everything that does not depend on the proposal is built once: `suggest`'s features,
cores and profiles, the block postings and their sizes, each core's folded label
words, and the object groups of live variables (all registers, key registers). A
check describes the proposal, collects the cores that share a kept block key with it,
and gives each a cheap *upper bound* of its best score (`ReuseChecker._bound`: the
same weighted mean, with rapidfuzz's similarity bounded by the label lengths and the
value-set overlap by the list sizes, every other signal exact). Cores are then scored
with `suggest`'s scorer in order of that bound, and the visit stops as soon as both
lists have ``limit`` candidates scoring at least the next core's bound: the result
is the exact top ``limit`` over the blocked cores, most of which are never scored.
At 100k variables a check takes about a millisecond (see bench/bench_reuse.py).
`ReuseChecker(catalogue)` turns the cyclic garbage collector off while it builds
(millions of long-lived objects); a server can call ``gc.freeze()`` after building
it, so that later collections do not traverse the catalogue and the checker.

Choices
-------
* **Retired and deprecated variables are not offered**: a proposal should reuse
  what registers collect now (a deprecated variable's ``superseded_by`` successor is
  offered in its place when it matches). They still count in the statistics that
  weigh the signals (block sizes, shared value sets), so scores stay those of
  ``suggest``. Drafts and proposals of other registers are offered, with their
  ``status`` in the candidate, so a reviewer can see two registers proposing the
  same thing.
* **Key registers** are the registers with ``key_register: true``. The key-register
  list is settled on its own, so key-register candidates are found even when the best
  ``limit`` similar variables all come from quality registers.
* **Hostile input** is bounded rather than refused where it can be: label, definition
  and help texts are cut to their first ``MAX_TEXT`` characters before matching (a
  5 kB label costs what a 500-character one does); a label of punctuation only has no
  text to match, so only codings, value set and item can find candidates; codes in
  systems regcat does not know match only the same code in the same system. Refused,
  with a :class:`RegcatError` (one line, for the user as it is): a register that is
  not in the catalogue, an id that
  does not name the register (``R:name``), more than ``MAX_CODINGS`` codings or
  ``MAX_CODES`` value-set codes, a code, code system, concept or meaning longer than
  ``MAX_CODE_LENGTH``, ``limit`` outside 1..``MAX_LIMIT``, ``min_score``
  outside 0..1, and a dict that is not a valid Variable / ValueSet.
"""

from __future__ import annotations

import gc
import heapq
from collections import Counter
from dataclasses import dataclass, field

from pydantic import ValidationError

from regcat.catalogue import Catalogue
from regcat.errors import RegcatError
from regcat.generated.model import LocalizedText, ValueSet, Variable
from regcat.suggest import (
    _DATATYPE_GROUPS,
    BLOCK_CAP_MIN,
    BLOCK_CAP_SHARE,
    COMPOSITE,
    CROSS_LANGUAGE,
    DATATYPE_INCOMPATIBLE,
    DEFINITION_LIFT,
    GENERIC_VALUE_SET,
    LEXICAL,
    UNIT_DIFFER,
    W_CODING,
    W_ITEM_OTHER,
    W_ITEM_SAME,
    W_LABEL,
    W_VALUE_SET,
    W_VALUE_SET_SMALL,
    _block_keys,
    _content,
    _Core,
    _CorePair,
    _Features,
    _kept,
    _partner,
    _Profile,
    _Scorer,
    _ValueSetSig,
    score_groups,
)

__all__ = [
    "HIDDEN_STATUSES",
    "MAX_CODE_LENGTH",
    "MAX_CODES",
    "MAX_CODINGS",
    "MAX_LIMIT",
    "MAX_TEXT",
    "ReuseCandidate",
    "ReuseChecker",
    "ReuseReport",
]

MAX_TEXT = 500  # characters of a proposal's label, definition or help text that are matched
MAX_CODINGS = 25  # real variables have a handful; each one is compared with each core
MAX_CODES = 1000  # a longer list should name its code system instead
MAX_CODE_LENGTH = 64  # of a coding's system or code, a concept, a value-set code's meaning
MAX_LIMIT = 100
HIDDEN_STATUSES = frozenset({"retired", "deprecated"})


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ReuseCandidate:
    """An existing variable of another register that may already collect what the
    proposal asks for (a candidate for a human to judge, never a decision)."""

    variable_id: str
    register_id: str
    label: dict[str, str]  # {"nb": ..., "en": ...}, the languages the variable has
    score: float
    predicate: str  # skos:exactMatch / closeMatch / broadMatch / narrowMatch / relatedMatch
    reasons: list[str]
    key_register: bool
    status: str | None = None  # accepted, draft or proposed (retired/deprecated are hidden)
    justification: str = field(default=LEXICAL, compare=False)

    def to_json(self) -> dict:
        return {
            "variable_id": self.variable_id,
            "register_id": self.register_id,
            "label": dict(self.label),
            "score": self.score,
            "predicate": self.predicate,
            "reasons": list(self.reasons),
            "key_register": self.key_register,
            "status": self.status,
            "mapping_justification": self.justification,
        }


@dataclass
class ReuseReport:
    """The reuse check of one proposal: similar variables in other registers, and the
    key-register variables among them settled on their own."""

    similar: list[ReuseCandidate]
    key_register: list[ReuseCandidate]

    def to_json(self) -> dict:
        return {
            "similar": [c.to_json() for c in self.similar],
            "key_register": [c.to_json() for c in self.key_register],
        }


# --------------------------------------------------------------------------- preparation


class _DescribedFeatures(_Features):
    """`suggest`'s features, remembering each variable's core key (to tell whether a
    proposal joins a core that its register already has)."""

    def __init__(self, catalogue: Catalogue, registers: list[str]) -> None:
        self.core_key_of: dict[str, tuple] = {}
        super().__init__(catalogue, registers)

    def _describe(self, v: Variable, instrument_forms: set[str]) -> tuple[tuple, tuple, tuple]:
        described = super()._describe(v, instrument_forms)
        self.core_key_of[v.id] = described[0]
        return described


class _ProposalView(_Features):
    """Describes one proposal the way `_Features` describes a catalogue variable, with
    the proposal's own value set, without touching the shared features (no caches
    are written: several threads may describe proposals at once)."""

    def __init__(
        self, features: _Features, catalogue: Catalogue, proposed: tuple[bool, _ValueSetSig | None]
    ) -> None:  # no super().__init__: nothing of the catalogue is built again
        self.items = features.items
        self._word_cache = {}  # this proposal's own: the shared features are never written
        self._known = features._value_sets
        self._catalogue_value_sets = catalogue.value_sets
        self._proposed = proposed

    def _value_set(self, ident: str | None) -> _ValueSetSig | None:
        given, signature = self._proposed
        if given:
            return signature
        if not ident:
            return None
        if ident in self._known:
            return self._known[ident]
        value_set = self._catalogue_value_sets.get(ident)
        return _ValueSetSig.of(value_set) if value_set is not None else None


@dataclass
class _Groups:
    """A core's profiles as objects, restricted to live variables of some registers
    (as `suggest._ObjectGroups`): against a full label match the profiles without
    context or numbering ("plain") all score the core pair's base score and are
    ranked as one group; against a partial one only those without a definition
    ("bare") are."""

    variables: dict[int, list[tuple[str, int]]]  # profile index -> live (id, register)
    counts: dict[int, dict[int, int]]  # profile index -> live variables per register
    plain: list[_Profile]
    bare: list[_Profile]
    numbered: list[_Profile]
    rich: list[_Profile]
    plain_counts: dict[int, int]
    bare_counts: dict[int, int]
    registers: frozenset[int]

    @classmethod
    def of(
        cls, core: _Core, live: dict[int, list[tuple[str, int]]], registers: frozenset[int] | None
    ) -> _Groups | None:
        variables: dict[int, list[tuple[str, int]]] = {}
        counts: dict[int, dict[int, int]] = {}
        usable = []
        for p in core.profiles:
            kept = live.get(p.index)
            if not kept:
                continue
            if registers is not None:
                kept = [(vid, r) for vid, r in kept if r in registers]
                if not kept:
                    continue
            variables[p.index] = kept
            if len(p.register_counts) == 1 and len(kept) == len(p.variables):
                counts[p.index] = dict(p.register_counts)
            else:
                n: dict[int, int] = {}
                for _, r in kept:
                    n[r] = n.get(r, 0) + 1
                counts[p.index] = n
            usable.append(p)
        if not usable:
            return None
        plain = [p for p in usable if not p.context and not p.number]
        bare = [p for p in plain if not p.definitions]

        def total(profiles: list[_Profile]) -> dict[int, int]:
            out: dict[int, int] = {}
            for p in profiles:
                for r, n in counts[p.index].items():
                    out[r] = out.get(r, 0) + n
            return out

        return cls(
            variables,
            counts,
            plain,
            bare,
            [p for p in usable if p.context or p.number],
            [p for p in usable if p.context or p.number or p.definitions],
            total(plain),
            total(bare),
            frozenset(r for n in counts.values() for r in n),
        )


def _datatype_factor(a: str, b: str) -> float:
    """The datatype multiplier `suggest` applies (see `_Scorer.core_pair`)."""
    if a == b:
        return 1.0
    pair = {a, b}
    for group, multiplier, _ in _DATATYPE_GROUPS:
        if pair <= group:
            return multiplier
    return DATATYPE_INCOMPATIBLE


# added to a bound against rounding (a bound must never be below the score it bounds)
_SLACK = 1e-9

_Label = tuple[str, str, int, frozenset]  # language, normalised text, length, content words


def _labels(core: _Core) -> tuple[_Label, ...]:
    content = _content.__wrapped__  # not the shared cache: 100k labels would only churn it
    return tuple((lang, text, len(text), content(text)) for lang, text in core.labels)


# what the bound of a core pair reads of each core: (labels, code systems, datatype,
# unit, value set, value-set spread, instrument item, instrument)
_Facts = tuple


def _facts(core: _Core, labels: tuple[_Label, ...]) -> _Facts:
    systems = frozenset(system for system, _ in core.codes)
    return (
        labels,
        systems,
        core.datatype,
        core.unit,
        core.value_set,
        core.value_set_spread,
        core.item,
        core.instrument,
    )


def _label_bound(a: tuple[_Label, ...], b: tuple[_Label, ...]) -> float:
    """At least the label similarity `_Scorer.core_pair` finds, from lengths and shared
    words only: rapidfuzz's ratio and token_sort_ratio are 2·LCS / (|a| + |b|), at most
    2·min(|a|, |b|) / (|a| + |b|); the Dice overlap of the content words is exact."""
    best = 0.0
    for lang_a, text_a, len_a, words_a in a:
        for lang_b, text_b, len_b, words_b in b:
            if text_a == text_b:
                sim = 1.0
            else:
                sim = 2.0 * min(len_a, len_b) / (len_a + len_b)
                if words_a and words_b:
                    shared = 0 if words_a.isdisjoint(words_b) else len(words_a & words_b)
                    sim = 0.5 * sim + shared / (len(words_a) + len(words_b))
            if lang_a != lang_b:
                sim *= CROSS_LANGUAGE
            if sim > best:
                best = sim
    return best


def _bound(s: _Facts, o: _Facts) -> float:
    """At least the best score any profile pair of the cores `s` (the proposal) and `o`
    can reach (the `hi` of `_Scorer.core_pair`), computed without rapidfuzz: the same
    weighted mean with a bound on the label similarity (`_label_bound`) and on the
    value-set overlap, every other signal exact."""
    labels_s, systems_s, datatype_s, unit_s, sv, spread_s, item_s, instrument_s = s
    labels_o, systems_o, datatype_o, unit_o, ov, spread_o, item_o, instrument_o = o
    label = _label_bound(labels_s, labels_o)
    label += (1.0 - label) * DEFINITION_LIFT
    other, weight = 0.0, W_LABEL
    in_system = None
    if systems_s and systems_o and not systems_s.isdisjoint(systems_o):
        other += W_CODING  # a shared code scores 1
        weight += W_CODING
    else:
        if ov is not None and ov.system in systems_s:
            in_system = ov.system
        elif sv is not None and sv.system in systems_o:
            in_system = sv.system
        if in_system:
            other += W_CODING
            weight += W_CODING
    without = other, weight  # the score when the value sets are not compared
    if sv is not None and ov is not None:
        n_s, n_o = len(sv.codes), len(ov.codes)
        if sv.system or ov.system:
            value = float(sv.system == ov.system) if sv.system and ov.system else 1.0
        elif sv.keys.isdisjoint(ov.keys):
            value = 0.0
        else:
            value = min(n_s, n_o) / max(n_s, n_o)
        if sv.generic and ov.generic:
            w = GENERIC_VALUE_SET
        elif min(n_s, n_o) >= 3 or (sv.system and ov.system):
            w = W_VALUE_SET
        else:
            w = W_VALUE_SET_SMALL
        if not (sv.generic and ov.generic):
            w *= max(spread_s, spread_o) ** -0.5
        other += value * w
        weight += w
    if item_s and item_o:
        if item_s == item_o:
            other += W_ITEM_SAME
            weight += W_ITEM_SAME
        elif instrument_s and instrument_s == instrument_o:
            weight += W_ITEM_OTHER
    factor = 1.0 if datatype_s == datatype_o else _datatype_factor(datatype_s, datatype_o)
    if unit_s and unit_o and unit_s != unit_o:
        factor *= UNIT_DIFFER
    score = (W_LABEL * label + other) / weight
    if in_system and sv is not None and ov is not None:
        # a value set that does not match the code system is then not compared
        score = max(score, (W_LABEL * label + without[0]) / without[1])
    return score * factor + _SLACK


# --------------------------------------------------------------------------- checker


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


class ReuseChecker:
    """Prepare once (`ReuseChecker(catalogue)`), then `check` proposals; see the
    module docstring. Read-only after construction, so safe to share across threads."""

    def __init__(self, catalogue: Catalogue) -> None:
        if not isinstance(catalogue, Catalogue):
            raise RegcatError(f"ReuseChecker needs a Catalogue, not {type(catalogue).__name__}")
        # The preparation builds millions of small objects that all stay alive; the cyclic
        # collector would only traverse them again and again (most of the setup time at
        # 100k variables). A server may `gc.freeze()` after this, so that collections
        # during checks skip the catalogue and the checker too.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self._prepare(catalogue)
        finally:
            if enabled:
                gc.enable()

    def _prepare(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        registers = sorted(catalogue.registers)
        self._registers = registers
        self._register_index = {rid: i for i, rid in enumerate(registers)}
        self._key = frozenset(
            i for i, rid in enumerate(registers) if catalogue.registers[rid].key_register
        )
        self._instrument_forms = {
            rid: {f.id for f in catalogue.registers[rid].forms or [] if f.instrument}
            for rid in registers
        }
        features = _DescribedFeatures(catalogue, registers)
        features._word_cache.clear()
        features._signatures.clear()
        self._features = features
        cores = features.cores
        # every value set the catalogue has, described now: `check` only reads them
        for ident, value_set in catalogue.value_sets.items():
            if ident not in features._value_sets:
                features._value_sets[ident] = _ValueSetSig.of(value_set)

        # what may be offered: live (not retired or deprecated) variables
        hidden = {
            vid
            for vid, v in catalogue.variables.items()
            if getattr(v.status, "value", v.status) in HIDDEN_STATUSES
        }
        live: dict[int, list[tuple[str, int]]] = {}
        for p in features.profiles:
            if hidden:
                kept = [(vid, r) for vid, r in p.variables if vid not in hidden]
                if kept:
                    live[p.index] = kept
            else:
                live[p.index] = p.variables
        self._groups: list[_Groups | None] = [_Groups.of(c, live, None) for c in cores]
        self._key_groups: list[_Groups | None] = [
            _Groups.of(c, live, self._key) if g is not None and g.registers & self._key else None
            for c, g in zip(cores, self._groups, strict=True)
        ]

        # blocks over all cores, as `suggest` builds them (the cap is applied per check:
        # a block's size is its number of postings)
        self._postings: dict[str, list[int]] = {}
        self._facts: list[_Facts] = []
        postings = self._postings
        for core in cores:
            core.keys = _block_keys(core)
            core.parents()  # computed now, so that `check` never writes to a core
            self._facts.append(_facts(core, _labels(core)))
            for key in core.keys:
                block = postings.get(key)
                if block is None:
                    postings[key] = [core.index]
                else:
                    block.append(core.index)

        # how many cores of one register use a value set (`_Features` keeps only the most)
        self._spread: Counter[tuple] = Counter()
        for core in cores:
            if core.value_set is not None:
                for r in core.registers:
                    self._spread[(core.value_set.key, r)] += 1
        self._widest: dict[tuple, int] = {}
        for (key, _), count in self._spread.items():
            self._widest[key] = max(self._widest.get(key, 0), count)

        # the core of each core key, so that a proposal described alike can join it
        self._cores_by_key: dict[tuple, _Core] = {}
        for core in cores:
            first = core.profiles[0].variables[0][0]
            self._cores_by_key.setdefault(features.core_key_of[first], core)
        features.core_key_of.clear()
        # no reference cycles (a core's profiles point back at it): a replaced checker is
        # freed by reference counting, even after a server's `gc.freeze()`
        for core in cores:
            core.profiles = []

    # ------------------------------------------------------------------ input

    @property
    def catalogue(self) -> Catalogue:
        return self._catalogue

    @staticmethod
    def _variable(variable) -> Variable:
        if isinstance(variable, dict):
            try:
                return Variable.model_validate(variable)
            except ValidationError as exc:
                raise RegcatError(f"not a valid variable: {_first_error(exc)}") from None
        if not isinstance(variable, Variable):
            raise RegcatError(f"expected a Variable, not {type(variable).__name__}")
        return variable

    @staticmethod
    def _value_set(value_set) -> ValueSet | None:
        if value_set is None or isinstance(value_set, ValueSet):
            return value_set
        if isinstance(value_set, dict):
            try:
                return ValueSet.model_validate(value_set)
            except ValidationError as exc:
                raise RegcatError(f"not a valid value set: {_first_error(exc)}") from None
        raise RegcatError(f"expected a ValueSet, not {type(value_set).__name__}")

    def _register_of(self, variable: Variable) -> str:
        ident = variable.id if isinstance(variable.id, str) else ""
        prefix, colon, name = ident.partition(":")
        register_id = variable.register_id or prefix
        if not colon or not name or not register_id:
            raise RegcatError(
                f"variable id '{ident}': expected '<register>:<name>'", field="variable.id"
            )
        if prefix != register_id:
            raise RegcatError(
                f"variable id '{ident}' does not belong to register '{register_id}'",
                field="variable.id",
            )
        if register_id not in self._register_index:
            known = ", ".join(self._registers) or "none"
            raise RegcatError(
                f"unknown register '{register_id}'; known: {known}", field="variable.register_id"
            )
        return register_id

    @staticmethod
    def _bounded(variable: Variable) -> Variable:
        """The variable with its texts cut to MAX_TEXT characters for matching."""
        update = {}
        for name in ("label", "definition", "help_text"):
            text = getattr(variable, name)
            if text is None:
                continue
            nb, en = _text(text.nb), _text(text.en)
            if (nb and len(nb) > MAX_TEXT) or (en and len(en) > MAX_TEXT):
                update[name] = LocalizedText(
                    nb=nb[:MAX_TEXT] if nb else None, en=en[:MAX_TEXT] if en else None
                )
        if len(variable.codings or []) > MAX_CODINGS:
            raise RegcatError(
                f"{len(variable.codings or [])} codings: at most {MAX_CODINGS} are checked",
                field="variable.codings",
            )
        for coding in variable.codings or []:
            _short(coding.system, "variable.codings.system")
            _short(coding.code, "variable.codings.code")
        _short(variable.concept, "variable.concept")
        return variable.model_copy(update=update) if update else variable

    # ------------------------------------------------------------------ check

    def check(
        self,
        variable: Variable | dict,
        value_set: ValueSet | dict | None = None,
        *,
        limit: int = 10,
        min_score: float = 0.5,
    ) -> ReuseReport:
        """The reuse check of one proposed variable (see the module docstring)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise RegcatError(f"limit {limit!r}: expected a whole number from 1 to {MAX_LIMIT}")
        if (
            isinstance(min_score, bool)
            or not isinstance(min_score, int | float)
            or not 0.0 <= min_score <= 1.0
        ):
            raise RegcatError(f"min_score {min_score!r}: expected a number from 0 to 1")
        variable = self._bounded(self._variable(variable))
        proposed = self._value_set(value_set)
        if proposed is not None:
            count = len(proposed.codes or [])
            if count > MAX_CODES:
                raise RegcatError(
                    f"value set with {count} codes: at most {MAX_CODES} are checked",
                    field="value_set.codes",
                )
            for pv in proposed.codes or []:
                _short(pv.meaning, "value_set.codes.meaning")
            _short(proposed.code_system, "value_set.code_system")
        register_id = self._register_of(variable)
        r = self._register_index[register_id]
        signature = _ValueSetSig.of(proposed) if proposed is not None else None
        view = _ProposalView(self._features, self._catalogue, (proposed is not None, signature))
        core_key, core_fields, profile_fields = view._describe(
            variable, self._instrument_forms[register_id]
        )
        return self._check(r, core_key, core_fields, profile_fields, limit, float(min_score))

    def _check(
        self,
        r: int,
        core_key: tuple,
        core_fields: tuple,
        profile_fields: tuple,
        k: int,
        min_score: float,
    ) -> ReuseReport:
        features = self._features
        cores = features.cores
        # a proposal described like an existing core joins it: it adds no block posting,
        # and adds to its register's count of cores using its value set only if new there
        joined = self._cores_by_key.get(core_key)
        new_core = joined is None
        new_in_register = joined is None or r not in joined.registers

        # the proposal as a core and a profile of its own (never added to the features)
        core = _Core(-1, *core_fields)
        core.registers = {r}
        if core.value_set is not None:
            vs_key = core.value_set.key
            in_register = self._spread.get((vs_key, r), 0) + (1 if new_in_register else 0)
            core.value_set_spread = max(self._widest.get(vs_key, 0), in_register, 1)
        originals, number, definitions, context, prom = profile_fields
        profile = _Profile(-1, core, originals, number, definitions, -1, context, -2, prom)

        # blocks: the cores sharing a kept key with the proposal (and those sharing a
        # whole label, the likeliest best matches)
        keys = _block_keys(core)
        own = set(keys) if new_core else set()
        cap = max(BLOCK_CAP_MIN, int(BLOCK_CAP_SHARE * (len(cores) + (1 if new_core else 0))))
        others: set[int] = set()
        same_label: set[int] = set()
        if joined is not None and self._groups[joined.index] is not None:
            others.add(joined.index)
        for key in keys:
            block = _partner(key)
            postings = self._postings.get(block, ())
            if _kept(block, len(postings) + (1 if block in own else 0), cap):
                others.update(postings)
                if key[0] == "L":
                    same_label.update(postings)

        scorer = _Scorer()
        key = self._key - {r}
        all_facts, all_groups, key_groups = self._facts, self._groups, self._key_groups
        # (score, first profile index, profiles, their variables per register, core pair)
        ranked: list[tuple[float, int, list[_Profile], dict[int, int], _CorePair]] = []
        pending: list[tuple[float, int]] = []  # (-score, position in ranked)
        visited: set[int] = set()

        def usable(groups: _Groups | None) -> bool:
            return groups is not None and not (r in groups.registers and len(groups.registers) == 1)

        def visit(index: int, groups: _Groups) -> int:
            """Score a core's profiles as `suggest` does; how many objects (of other
            registers) score 1."""
            visited.add(index)
            cp = scorer.core_pair(core, cores[index])
            if cp.hi < min_score:
                return 0
            perfect = 0
            for score, group, counts in score_groups(scorer, profile, groups, cp):
                if score >= min_score:
                    heapq.heappush(pending, (-score, len(ranked)))
                    ranked.append((score, group[0].index, group, counts, cp))
                    if score >= 1.0 - _SLACK:
                        perfect += sum(n for reg, n in counts.items() if reg != r)
            return perfect

        # the cores with the same label first: when they alone give k objects a perfect
        # score, the similar list is settled (no score is above 1, and ties are cut as in
        # `suggest`), and only key-register cores need a bound
        perfect = 0
        for index in sorted(same_label):
            if usable(all_groups[index]):
                perfect += visit(index, all_groups[index])  # type: ignore[arg-type]
                if perfect >= k:
                    break
        similar_settled = perfect >= k

        # a cheap bound on each other core pair's best score, best first
        facts = _facts(core, _labels(core))
        scope = key_groups if similar_settled else all_groups
        bounded: list[tuple[float, int]] = []  # (-bound, core index)
        for index in others:
            if index in visited or not usable(scope[index]):
                continue
            bound = _bound(facts, all_facts[index])
            if bound >= min_score:
                bounded.append((-bound, index))
        bounded.sort()

        # visit the cores best first until both lists are settled: each has k objects
        # scoring at least the next core's bound
        total = key_total = 0
        for negative, index in bounded:
            bound = -negative - _SLACK  # a score equal to the bound ties, as in `suggest`
            while pending and -pending[0][0] >= bound:
                _, at = heapq.heappop(pending)
                for reg, n in ranked[at][3].items():
                    if reg != r:
                        total += n
                        key_total += n if reg in key else 0
            similar_open = not similar_settled and total < k
            if not similar_open and key_total >= k:
                break
            # once the similar list is settled, only key-register objects can still count
            groups = all_groups[index] if similar_open else key_groups[index]
            if usable(groups):
                visit(index, groups)  # type: ignore[arg-type]
        ranked.sort(key=lambda t: (-t[0], t[1]))

        # the variables, best first, until both lists have k
        similar: list[ReuseCandidate] = []
        key_list: list[ReuseCandidate] = []
        details: dict[int, tuple[str, list[str]]] = {}
        for score, _, group, _, cp in ranked:
            for q in group:
                if len(similar) >= k:
                    if len(key_list) >= k:
                        break
                    scope = self._key_groups[q.core.index]
                else:
                    scope = self._groups[q.core.index]
                for vid, reg in scope.variables.get(q.index, ()) if scope else ():
                    if reg == r:
                        continue
                    in_key = reg in key
                    if len(similar) >= k and not (in_key and len(key_list) < k):
                        continue
                    if q.index not in details:
                        details[q.index] = scorer.profile_details(profile, q, cp, score)
                    predicate, reasons = details[q.index]
                    candidate = self._candidate(vid, reg, score, predicate, reasons, cp)
                    if len(similar) < k:
                        similar.append(candidate)
                    if in_key and len(key_list) < k:
                        key_list.append(candidate)
            if len(similar) >= k and len(key_list) >= k:
                break
        order = features.order
        similar.sort(key=lambda c: (-c.score, order[c.variable_id]))
        key_list.sort(key=lambda c: (-c.score, order[c.variable_id]))
        return ReuseReport(similar, key_list)

    def _candidate(
        self, vid: str, reg: int, score: float, predicate: str, reasons: list[str], cp: _CorePair
    ) -> ReuseCandidate:
        v = self._catalogue.variables.get(vid)
        label = {}
        status = None
        if v is not None:
            label = {lang: text for lang, text in (("nb", v.label.nb), ("en", v.label.en)) if text}
            status = getattr(v.status, "value", v.status)
        return ReuseCandidate(
            vid,
            self._registers[reg],
            label,
            round(score, 3),
            predicate,
            list(reasons),
            reg in self._key,
            status,
            COMPOSITE if cp.composite else LEXICAL,
        )


def _short(text: str | None, name: str) -> None:
    """Refuse an over-long code: no code system has one, and codes are remembered by
    `regcat.codes` (its caches would grow with every hostile proposal)."""
    if text is not None and len(text) > MAX_CODE_LENGTH:
        raise RegcatError(
            f"'{text[:20]}…' is {len(text)} characters long: at most {MAX_CODE_LENGTH}", field=name
        )


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return str(exc).splitlines()[0]
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ())) or "(root)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"
