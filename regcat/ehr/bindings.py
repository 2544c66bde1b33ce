"""EHR bindings: the checks on `ehr/<register>.yaml` and the plan for one form.

`check_binding_set` runs the rules one file decides on its own (FHIRPath parsed and
fitted to the R4 structure, codes valid in their system, UCUM units, windows that make
sense) and is part of `regcat validate`. `plan_form` adds what needs the register
(the variable is in the form, the anchor is a date, a window has an anchor, mapped
values are codes of the variable's value set) and gives what `regcat.ehr.sql` compiles.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from regcat import codes
from regcat.ehr import fhirpath
from regcat.ehr.fhirpath import FhirPathError, Resolved
from regcat.errors import RegcatError
from regcat.generated.model import EhrBinding, EhrBindingSet, Variable
from regcat.interop.fhir import SYSTEM_IDS, system_uri

# The clinical time of a resource, tried in this order, when a binding names none.
DEFAULT_TIME = {
    "Encounter": ("Encounter.period.start",),
    "EpisodeOfCare": ("EpisodeOfCare.period.start",),
    "Condition": ("Condition.onset.ofType(dateTime)", "Condition.recordedDate"),
    "Procedure": (
        "Procedure.performed.ofType(dateTime)",
        "Procedure.performed.ofType(Period).start",
    ),
    "Observation": (
        "Observation.effective.ofType(dateTime)",
        "Observation.effective.ofType(Period).start",
        "Observation.issued",
    ),
    "DiagnosticReport": ("DiagnosticReport.effective.ofType(dateTime)", "DiagnosticReport.issued"),
    "MedicationStatement": (
        "MedicationStatement.effective.ofType(dateTime)",
        "MedicationStatement.effective.ofType(Period).start",
        "MedicationStatement.dateAsserted",
    ),
    "MedicationDispense": ("MedicationDispense.whenHandedOver", "MedicationDispense.whenPrepared"),
    "MedicationRequest": ("MedicationRequest.authoredOn",),
    "MedicationAdministration": (
        "MedicationAdministration.effective.ofType(dateTime)",
        "MedicationAdministration.effective.ofType(Period).start",
    ),
    "Immunization": ("Immunization.occurrence.ofType(dateTime)",),
    "AllergyIntolerance": (
        "AllergyIntolerance.onset.ofType(dateTime)",
        "AllergyIntolerance.recordedDate",
    ),
}
# Resources that record something that did not happen or was a mistake never count.
EXCLUDED_STATUS = {
    "Encounter": ("Encounter.status", ("entered-in-error", "cancelled")),
    "Condition": ("Condition.verificationStatus", ("entered-in-error", "refuted")),
    "AllergyIntolerance": (
        "AllergyIntolerance.verificationStatus",
        ("entered-in-error", "refuted"),
    ),
    "Procedure": ("Procedure.status", ("entered-in-error", "not-done")),
    "Observation": ("Observation.status", ("entered-in-error", "cancelled")),
    "DiagnosticReport": ("DiagnosticReport.status", ("entered-in-error", "cancelled")),
    "MedicationStatement": ("MedicationStatement.status", ("entered-in-error", "not-taken")),
    "MedicationAdministration": (
        "MedicationAdministration.status",
        ("entered-in-error", "not-done"),
    ),
    "MedicationDispense": (
        "MedicationDispense.status",
        ("entered-in-error", "cancelled", "declined"),
    ),
    "MedicationRequest": ("MedicationRequest.status", ("entered-in-error", "cancelled")),
    "Immunization": ("Immunization.status", ("entered-in-error", "not-done")),
}
CODED_TYPES = ("CodeableConcept", "Coding")
VALUE_PICKS = ("first", "last", "min", "max")
DATE_TYPES = ("date", "dateTime", "instant")


def fhir_systems(system: str) -> list[str]:
    """Every FHIR system URI that means a catalogue code system (ICD-10 has two)."""
    uris = {system_uri(system)} | {uri for uri, ident in SYSTEM_IDS.items() if ident == system}
    return sorted(uris)


def _code_problem(system: str, code: str) -> str | None:
    if code.endswith("*"):
        return codes.check_prefix(system, code[:-1])
    return codes.check(system, code)


def _resolve(problems: list[str], where: str, text: str | None, resource: str) -> Resolved | None:
    if text is None:
        return None
    try:
        return fhirpath.resolve(text, resource)
    except FhirPathError as exc:
        problems.append(f"{where}: {exc.message}")
        return None


@dataclass
class CheckedBinding:
    binding: EhrBinding
    element: Resolved | None = None
    filter: Resolved | None = None
    times: list[Resolved] = field(default_factory=list)


def check_binding(binding: EhrBinding) -> tuple[CheckedBinding, list[str]]:
    """The rules for one binding on its own: problems as messages."""
    problems: list[str] = []
    checked = CheckedBinding(binding)
    resource = binding.resource
    if not fhirpath.is_resource(resource):
        return checked, [f"resource: {resource!r} is not a FHIR R4 resource type"]
    if fhirpath.reference_element(resource) is None and resource != "Patient":
        problems.append(f"resource: a {resource} names no patient (no subject or patient element)")
    element = checked.element = _resolve(problems, "element", binding.element, resource)
    if element is not None and element.type in ("Period", "Reference", "BackboneElement"):
        problems.append(f"element: {binding.element} is a {element.type}; bind one of its elements")
    flt = binding.code_filter
    if flt is not None:
        checked.filter = _resolve(problems, "code_filter.element", flt.element, resource)
        if checked.filter is not None and checked.filter.type not in CODED_TYPES:
            problems.append(
                f"code_filter.element: {flt.element} is a {checked.filter.type}, "
                "not a CodeableConcept or Coding"
            )
        if not flt.codes:
            problems.append("code_filter.codes: list at least one code")
        for code in flt.codes or []:
            problem = _code_problem(flt.system, code)
            if problem:
                problems.append(f"code_filter.codes: {flt.system}:{code}: {problem}")
    coded = element is not None and element.type in CODED_TYPES
    unfiltered = flt is None or flt.element != binding.element
    if coded and unfiltered and binding.pick in VALUE_PICKS:
        problems.append(
            f"element: {binding.element} is a {element.type}; give a code_filter on "
            "the same element, which says whose codes are the value"
        )
    if binding.unit is not None:
        problem = codes.check_unit(binding.unit)
        if problem:
            problems.append(f"unit: {binding.unit!r}: {problem}")
        if element is not None and element.type != "decimal" and element.type != "Quantity":
            problems.append("unit: only a Quantity (or its value) has a unit")
    if element is not None and element.type == "Quantity" and binding.pick in VALUE_PICKS:
        problems.append(f"element: bind {binding.element}.value (with unit), not the Quantity")
    if binding.time is not None:
        time = _resolve(problems, "time", binding.time, resource)
        if time is not None:
            if time.type not in DATE_TYPES:
                problems.append(f"time: {binding.time} is a {time.type}, not a date or dateTime")
            checked.times = [time]
    else:
        for text in DEFAULT_TIME.get(resource, ()):
            checked.times.append(fhirpath.resolve(text, resource))
    windowed = binding.window_start_days is not None or binding.window_end_days is not None
    if windowed:
        if binding.window_start_days is None or binding.window_end_days is None:
            problems.append("window: give both window_start_days and window_end_days")
        elif binding.window_start_days > binding.window_end_days:
            problems.append(
                f"window: window_start_days {binding.window_start_days} is after "
                f"window_end_days {binding.window_end_days}"
            )
        if not checked.times:
            problems.append(
                f"time: a {resource} has no default clinical time; name one for the window"
            )
        if binding.anchor_resource:
            problems.append(
                "window: anchor_resource reads the anchor itself; a window does not apply"
            )
    seen = Counter(m.source for m in binding.value_map or [])
    for source, count in sorted(seen.items()):
        if count > 1:
            problems.append(f"value_map: {source!r} is mapped {count} times")
    return checked, problems


def check_binding_set(bset: EhrBindingSet) -> list[tuple[str, str]]:
    """(entity, message) for each problem the file shows on its own."""
    out: list[tuple[str, str]] = []
    seen = Counter(b.variable for b in bset.bindings or [])
    for variable, count in sorted(seen.items()):
        if count > 1:
            out.append((variable, f"bound {count} times; one binding per variable"))
    forms = Counter(a.form for a in bset.anchors or [])
    for form, count in sorted(forms.items()):
        if count > 1:
            out.append((form, f"form {form!r} has {count} anchors; one per form"))
    bound = {b.variable for b in bset.bindings or []}
    for anchor in bset.anchors or []:
        if anchor.variable not in bound:
            out.append((anchor.variable, f"anchor of form {anchor.form!r} has no binding"))
    for binding in bset.bindings or []:
        if not binding.variable.startswith(bset.register_id + ":"):
            out.append((binding.variable, f"not a variable of register {bset.register_id!r}"))
        _, problems = check_binding(binding)
        out += [(binding.variable, p) for p in problems]
    return out


# --- the plan for one form ----------------------------------------------------------


@dataclass
class Bound:
    variable: Variable
    name: str  # technical name: the column
    checked: CheckedBinding
    value_codes: frozenset[str] = frozenset()  # the value set's codes, if any
    icd10_style: str | None = None  # "dotted" or "plain": as the value set writes them

    @property
    def binding(self) -> EhrBinding:
        return self.checked.binding


@dataclass
class FormPlan:
    register: str
    form: str
    variables: list[Variable]  # the form's variables in use, in order
    anchor: Bound | None
    bound: list[Bound]  # every bound variable of the form, the anchor included
    questionnaire: str = ""  # canonical URL of the exported Questionnaire

    def names(self) -> list[str]:
        return [technical(v) for v in self.variables]


def technical(variable: Variable) -> str:
    return variable.id.split(":", 1)[1]


def in_use(variable: Variable) -> bool:
    return variable.status not in ("retired", "deprecated")


def binding_set(catalogue, register_id: str) -> EhrBindingSet | None:
    return catalogue.ehr_bindings.get(register_id)


def bindings_by_variable(catalogue) -> dict[str, EhrBinding]:
    return {b.variable: b for bset in catalogue.ehr_bindings.values() for b in bset.bindings or []}


def plan_form(catalogue, register_id: str, form: str) -> FormPlan:
    """Resolve a form's bindings against the register; RegcatError lists every problem."""
    from regcat.interop.fhir import BASE, fhir_id

    register = catalogue.registers.get(register_id)
    if register is None:
        raise RegcatError(f"no register {register_id!r} in the catalogue")
    forms = [f.id for f in register.forms or []]
    if form not in forms:
        raise RegcatError(
            f"register {register_id!r} has no form {form!r} (forms: {', '.join(forms) or 'none'})"
        )
    variables = [v for v in register.variables or [] if v.form == form and in_use(v)]
    by_id = {v.id: v for v in variables}
    bset = binding_set(catalogue, register_id)
    source = catalogue.sources.get(f"ehr:{register_id}", f"ehr/{register_id}.yaml")
    problems: list[str] = []
    bound: list[Bound] = []
    for binding in bset.bindings or [] if bset else []:
        variable = catalogue.variables.get(binding.variable)
        if variable is None or variable.register_id not in (None, register_id):
            if variable is None:
                problems.append(f"{binding.variable}: no such variable")
            continue
        if variable.form != form:
            continue
        if not in_use(variable):
            problems.append(f"{binding.variable}: is {variable.status}; remove its binding")
            continue
        checked, found = check_binding(binding)
        problems += [f"{binding.variable}: {p}" for p in found]
        bound.append(_bound(catalogue, variable, checked, problems))
    anchor = None
    anchor_decl = next((a for a in (bset.anchors or []) if a.form == form), None) if bset else None
    if anchor_decl is not None:
        anchor = next((b for b in bound if b.variable.id == anchor_decl.variable), None)
        if anchor_decl.variable not in by_id:
            problems.append(
                f"anchor of {form}: {anchor_decl.variable} is not a variable of the form"
            )
        elif anchor is None:
            problems.append(f"anchor of {form}: {anchor_decl.variable} has no binding")
        elif anchor.variable.datatype not in ("date", "datetime"):
            problems.append(f"anchor of {form}: {anchor_decl.variable} is not a date")
        elif (
            anchor.binding.pick not in ("first", "last")
            or anchor.binding.window_start_days is not None
        ):
            problems.append(
                f"anchor of {form}: its binding must pick first or last, with no window"
            )
    for b in bound:
        windowed = b.binding.window_start_days is not None or b.binding.anchor_resource
        if windowed and anchor_decl is None:
            problems.append(
                f"{b.variable.id}: a window or anchor_resource needs an anchor for form {form!r}"
            )
        if (
            b.binding.anchor_resource
            and anchor is not None
            and b.binding.resource != anchor.binding.resource
        ):
            problems.append(
                f"{b.variable.id}: anchor_resource, but the anchor is a {anchor.binding.resource}"
            )
    if problems:
        shown = "\n  ".join(problems)
        raise RegcatError(
            f"the EHR bindings of form {register_id}:{form} do not hold:\n  {shown}", source
        )
    return FormPlan(
        register_id,
        form,
        variables,
        anchor,
        bound,
        questionnaire=f"{BASE}Questionnaire/{fhir_id(f'{register_id}:{form}')}",
    )


def _bound(catalogue, variable: Variable, checked: CheckedBinding, problems: list[str]) -> Bound:
    binding = checked.binding
    value_set = catalogue.value_sets.get(variable.value_set or "")
    value_codes = frozenset(pv.code for pv in (value_set.codes or [])) if value_set else frozenset()
    pick = binding.pick
    if pick in ("any", "count") and variable.datatype not in (
        "boolean",
        "integer",
        "coded",
        "decimal",
    ):
        problems.append(
            f"{variable.id}: pick {pick} gives a {'yes/no' if pick == 'any' else 'count'}, "
            f"not a {variable.datatype}"
        )
    # Absence from the record is not evidence of absence: unless `false` is mapped too,
    # an event without a match is left to complete by hand.
    mapped = {m.source for m in binding.value_map or []}
    if pick == "any" and variable.datatype == "coded" and "true" not in mapped:
        problems.append(
            f"{variable.id}: pick any gives true (and false); map true to a code of the value set"
        )
    if value_codes:
        for entry in binding.value_map or []:
            if entry.target not in value_codes:
                problems.append(
                    f"{variable.id}: value_map {entry.source!r} -> {entry.target!r}: "
                    f"not a code of {variable.value_set}"
                )
    element = checked.element
    dated = variable.datatype in ("date", "datetime") and pick in VALUE_PICKS
    if element is not None and dated and element.type not in DATE_TYPES:
        problems.append(
            f"{variable.id}: a date variable, but {binding.element} is a {element.type}"
        )
    # ICD-10 codes come dotted (I21.4, WHO) or not (I214, ICD-10-NO): write them the way
    # the variable's value set does.
    icd = [c for c in value_codes if re.fullmatch(r"[A-Z]\d\d(\.?\w+)?", c) and len(c) > 3]
    style = None
    if icd:
        style = "dotted" if sum("." in c for c in icd) * 2 >= len(icd) else "plain"
    return Bound(variable, technical(variable), checked, value_codes, style)


def form_ids_with_bindings(catalogue, register_id: str) -> list[str]:
    bset = binding_set(catalogue, register_id)
    if bset is None:
        return []
    forms = {
        catalogue.variables[b.variable].form
        for b in bset.bindings or []
        if b.variable in catalogue.variables
    }
    return sorted(f for f in forms if f)
