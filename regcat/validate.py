"""Content rules beyond the schema: unique ids, references that resolve, codes that
exist in their code system, dates in order.

`check_file` runs the rules one file can decide on its own and records the ids it
defines and refers to; `check_references` then resolves those across the catalogue.
LinkML's validators check none of the references.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable

from regcat import codes
from regcat.errors import Finding
from regcat.generated.model import Instrument, Register, ValueSet, Variable
from regcat.load import FileResult


def _dates_in_order(
    result: FileResult, entity: str, start: dt.date | None, end: dt.date | None
) -> None:
    if start is not None and end is not None and start > end:
        result.finding(entity, f"valid_from {start} is after valid_to {end}", "date-order")


def _check_code(result: FileResult, entity: str, system: str, code: str, where: str) -> None:
    problem = codes.check(system, code)
    if problem:
        result.finding(entity, f"{where}: {system}:{code}: {problem}", "code")


def _check_curie(result: FileResult, entity: str, curie: str, where: str) -> None:
    prefix, sep, local = curie.partition(":")
    if not sep:
        result.finding(entity, f"{where}: {curie!r} is not a CURIE (prefix:code)", "curie")
        return
    result.symbols.refers.append(("code_system", prefix, entity, where))
    _check_code(result, entity, prefix, local, where)


def _check_value_set(result: FileResult, value_set: ValueSet, owner: str | None) -> None:
    vs = value_set.id
    result.symbols.defines.append(("value_set", vs))
    if owner is not None and not vs.startswith(owner + ":"):
        result.finding(vs, f"a register's value set id must start with '{owner}:'", "id-prefix")
    if value_set.code_system:
        result.symbols.refers.append(("code_system", value_set.code_system, vs, "code_system"))
    seen: Counter[str] = Counter()
    for pv in value_set.codes or []:
        seen[pv.code.strip()] += 1
        if pv.code != pv.code.strip() or not pv.code:
            result.finding(vs, f"code {pv.code!r} is empty or has surrounding spaces", "code-trim")
        if pv.label is None or not (pv.label.nb or pv.label.en or "").strip():
            result.finding(vs, f"code {pv.code!r} has no label", "code-label")
        if pv.meaning:
            _check_curie(result, vs, pv.meaning, f"code {pv.code!r} meaning")
        elif value_set.code_system:
            _check_code(result, vs, value_set.code_system, pv.code, f"code {pv.code!r}")
        _dates_in_order(result, vs, pv.valid_from, pv.valid_to)
    for code, count in sorted(seen.items()):
        if count > 1:
            result.finding(vs, f"code {code!r} appears {count} times", "code-unique")


_LIMIT_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")  # today, birthYear, toDayPlus30Days…
_LIMIT_DATE = re.compile(r"^'?\d{4}-\d{2}-\d{2}'?$")
_LIMITS = ("min_value", "max_value", "soft_min", "soft_max")


def _check_limits(result: FileResult, variable: Variable) -> None:
    datatype = variable.datatype
    for name in _LIMITS:
        value = getattr(variable, name)
        if value is None:
            continue
        if datatype in ("integer", "decimal"):
            try:
                number = float(value)
            except ValueError:
                number = None
            if number is None or number != number:  # not a number, or NaN
                message = f"field '{name}': {value!r} is not a number"
                result.finding(variable.id, message, "limit")
        elif datatype in ("date", "datetime") and not (
            _LIMIT_DATE.match(value) or _LIMIT_TOKEN.match(value)
        ):
            message = (
                f"field '{name}': {value!r} is neither a date like '1980-01-01' "
                "nor a token such as today"
            )
            result.finding(variable.id, message, "limit")


def _check_variable(result: FileResult, variable: Variable, register: Register, forms: set) -> None:
    vid = variable.id
    refers = result.symbols.refers
    result.symbols.defines.append(("variable", vid))
    if not vid.startswith(register.id + ":"):
        result.finding(vid, f"a variable id must start with '{register.id}:'", "id-prefix")
    if variable.form and variable.form not in forms:
        result.finding(vid, f"field 'form': no form '{variable.form}' in this register", "ref-form")
    if variable.value_set:
        refers.append(("value_set", variable.value_set, vid, "value_set"))
    elif variable.datatype == "coded":
        result.finding(vid, "datatype 'coded' but no value_set", "coded-value-set", "warning")
    if variable.superseded_by:
        refers.append(("variable", variable.superseded_by, vid, "superseded_by"))
        if variable.superseded_by == vid:
            result.finding(vid, "superseded_by points at the variable itself", "ref-self")
    if variable.activated_by:
        refers.append(("variable", variable.activated_by.variable, vid, "activated_by.variable"))
    if variable.instrument_item:
        refers.append(("item", variable.instrument_item, vid, "instrument_item"))
    for coding in variable.codings or []:
        refers.append(("code_system", coding.system, vid, "codings.system"))
        _check_code(result, vid, coding.system, coding.code, "codings")
    if variable.concept:
        _check_curie(result, vid, variable.concept, "concept")
    if variable.unit:
        problem = codes.check_unit(variable.unit)
        if problem:
            result.finding(vid, f"field 'unit': {variable.unit!r}: {problem}", "unit")
    _dates_in_order(result, vid, variable.valid_from, variable.valid_to)
    _check_limits(result, variable)


def _check_register(result: FileResult, register: Register) -> None:
    result.symbols.defines.append(("register", register.id))
    forms: Counter[str] = Counter(form.id for form in register.forms or [])
    for form_id, count in sorted(forms.items()):
        if count > 1:
            result.finding(
                f"{register.id}:{form_id}", f"form id appears {count} times", "id-unique"
            )
    for form in register.forms or []:
        result.symbols.defines.append(("form", f"{register.id}:{form.id}"))
        if form.instrument:
            result.symbols.refers.append(("instrument", form.instrument, form.id, "instrument"))
        _dates_in_order(result, f"{register.id}:{form.id}", form.valid_from, form.valid_to)
    for variable in register.variables or []:
        _check_variable(result, variable, register, set(forms))
    for value_set in register.value_sets or []:
        _check_value_set(result, value_set, register.id)


def _check_instrument(result: FileResult, instrument: Instrument) -> None:
    result.symbols.defines.append(("instrument", instrument.id))
    if result.file.path.stem != instrument.id:
        result.finding(instrument.id, "instrument id must match the file name", "file-name")
    for item in instrument.items or []:
        result.symbols.defines.append(("item", item.id))
        if not item.id.startswith(instrument.id + ":"):
            result.finding(item.id, f"an item id must start with '{instrument.id}:'", "id-prefix")
        if item.value_set:
            result.symbols.refers.append(("value_set", item.value_set, item.id, "value_set"))


def check_file(result: FileResult) -> FileResult:
    """Run the single-file rules and collect the file's symbols (in place)."""
    obj = result.obj
    kind = result.file.kind
    if obj is None:
        return result
    if kind == "register":
        _check_register(result, obj)
    elif kind == "valueset":
        _check_value_set(result, obj, None)
        if result.file.path.stem != obj.id.replace(":", "_"):
            result.finding(obj.id, "file name must be the id with ':' as '_'", "file-name")
    elif kind == "instrument":
        _check_instrument(result, obj)
    elif kind == "codesystems":
        for system in obj:
            result.symbols.defines.append(("code_system", system.id))
    elif kind == "mappings":
        from regcat.sssom import check_mapping_set

        check_mapping_set(result)
    elif kind == "ehr":
        _check_ehr(result, obj)
    return result


def _check_ehr(result: FileResult, bset) -> None:
    from regcat.ehr.bindings import check_binding_set

    register = bset.register_id
    if result.file.path.stem != register:
        result.finding(register, "an EHR binding file is named after its register_id", "file-name")
    result.symbols.refers.append(("register", register, register, "register_id"))
    for anchor in bset.anchors or []:
        result.symbols.refers.append(
            ("form", f"{register}:{anchor.form}", anchor.variable, "anchors.form")
        )
        result.symbols.refers.append(
            ("variable", anchor.variable, anchor.variable, "anchors.variable")
        )
    for binding in bset.bindings or []:
        result.symbols.refers.append(("variable", binding.variable, binding.variable, "variable"))
        if binding.code_filter is not None:
            system = binding.code_filter.system
            result.symbols.refers.append(
                ("code_system", system, binding.variable, "code_filter.system")
            )
    for entity, message in check_binding_set(bset):
        result.finding(entity, message, "ehr-binding")


_KIND_NAMES = {
    "variable": "variable",
    "value_set": "value set",
    "code_system": "code system (see codesystems.yaml)",
    "item": "instrument item",
    "instrument": "instrument",
    "register": "register",
    "form": "form",
}


def duplicate_finding(path: str, line: int | None, key: tuple[str, str], first: str) -> Finding:
    kind, ident = key
    message = f"duplicate {_KIND_NAMES[kind]} id (also defined in {first})"
    return Finding(path, line, ident, message, "id-unique")


def resolves(kind: str, ident: str, is_defined: Callable[[tuple[str, str]], bool]) -> bool:
    if kind == "term":  # a mapping end: a catalogue variable or a code in a known system
        prefix = ident.partition(":")[0]
        return is_defined(("variable", ident)) or is_defined(("code_system", prefix))
    return is_defined((kind, ident))


def reference_finding(
    path: str, line: int | None, kind: str, ident: str, entity: str, fieldname: str
) -> Finding:
    kind = "variable" if kind == "term" else kind
    message = f"field '{fieldname}': no {_KIND_NAMES[kind]} '{ident}'"
    return Finding(path, line, entity, message, f"ref-{kind}")


def check_references(results: Iterable[FileResult]) -> list[Finding]:
    """Ids unique across the catalogue; every reference resolves."""
    results = list(results)
    defined: dict[tuple[str, str], str] = {}
    findings: list[Finding] = []
    for result in results:
        for key in result.symbols.defines:
            first = defined.get(key)
            if first is None:
                defined[key] = result.file.rel
            else:
                findings.append(
                    duplicate_finding(result.file.rel, result.line_of(key[1]), key, first)
                )
    for result in results:
        for kind, ident, entity, fieldname in result.symbols.refers:
            if not resolves(kind, ident, defined.__contains__):
                line = result.line_of(entity)
                findings.append(
                    reference_finding(result.file.rel, line, kind, ident, entity, fieldname)
                )
    return findings
