"""A form's EHR bindings compiled into DuckDB SQL over FHIR NDJSON.

One table per resource type is read with `read_json` and an explicit column list (only
the elements the bindings touch; DuckDB skips the rest of each resource), then one
statement builds the form's rows: each anchor resource is an event (or each patient,
for a form without an anchor), every binding's candidates are filtered on code, unit
and time window, and one aggregate per binding picks the value and its sources. The
same SQL serves a one-patient Bundle (written out as NDJSON first) and a Bulk Data
export, so both give the same answers.

Statements (run in order): `CREATE TEMP TABLE "res_<Type>"` per resource type, then
`CREATE TEMP TABLE prefill` with `_row`, `patient`, `event`, `anchor_date`, a text
column per form variable (its technical name) and `src:<name>` (the resources a value
came from) per bound variable.
"""

from __future__ import annotations

from dataclasses import dataclass

from regcat.ehr.bindings import (
    CODED_TYPES,
    EXCLUDED_STATUS,
    VALUE_PICKS,
    Bound,
    FormPlan,
    fhir_systems,
)
from regcat.ehr.fhirpath import (
    ColumnTree,
    Resolved,
    literal,
    quote,
    reference_element,
    resolve,
    to_sql,
)

UCUM = "http://unitsofmeasure.org"
MAX_SOURCES = 20  # resources named as the source of an any/count value


@dataclass
class Compiled:
    plan: FormPlan
    reads: list[str]  # CREATE TEMP TABLE "res_<Type>", one per resource type
    build: str  # CREATE TEMP TABLE prefill
    resources: dict[str, list[str]]  # resource type -> files read (empty: none given)

    @property
    def statements(self) -> list[str]:
        return [*self.reads, *(tidy(r) for r in self.resources), self.build]


def unusable(resource: str) -> str:
    """Counts of the rows read for a type that cannot be used: another resource type in
    its file, and resources that name no patient."""
    table = quote(f"res_{resource}")
    usable = f"_type = {literal(resource)} AND _pat IS NOT NULL"
    return (
        f"SELECT count(*) FILTER (WHERE _type IS DISTINCT FROM {literal(resource)}), "
        f"count(*) FILTER (WHERE _type = {literal(resource)} AND _pat IS NULL), "
        f"count(*) FILTER (WHERE {usable}) - count(DISTINCT _rid) FILTER (WHERE {usable}) "
        f"FROM {table}"
    )


def tidy(resource: str) -> str:
    """Keep the usable rows, and one of each id (the first in the file)."""
    table = quote(f"res_{resource}")
    return (
        f"DELETE FROM {table} WHERE _type IS DISTINCT FROM {literal(resource)} OR _pat IS NULL "
        f"OR rowid NOT IN (SELECT min(rowid) FROM {table} GROUP BY _rid)"
    )


def _scalar(resolved: Resolved, row: str = "r") -> str:
    expr, many = to_sql(resolved, row)
    return f"list_filter({expr}, lambda z: z IS NOT NULL)[1]" if many else expr


def _codings(resolved: Resolved, row: str = "r") -> str:
    expr, many = to_sql(resolved, row)
    if resolved.type == "CodeableConcept":
        if many:
            return f'flatten(list_transform({expr}, lambda y: y."coding"))'
        return f'({expr})."coding"'
    return expr if many else f"[{expr}]"


def _code_norm(system: str, var: str) -> str:
    return f"replace(upper({var}.\"code\"), '.', '')" if system == "ICD10" else f'{var}."code"'


def _match(bound: Bound, var: str = "c") -> str:
    flt = bound.binding.code_filter
    assert flt is not None
    systems = ", ".join(literal(s) for s in fhir_systems(flt.system))
    code = _code_norm(flt.system, var)
    terms = []
    for raw in flt.codes:
        text = raw.replace(".", "").upper() if flt.system == "ICD10" else raw
        if text.endswith("*"):
            terms.append(f"starts_with({code}, {literal(text[:-1])})")
        else:
            terms.append(f"{code} = {literal(text)}")
    return f'{var}."system" IN ({systems}) AND ({" OR ".join(terms)})'


def _value(bound: Bound) -> str:
    element = bound.checked.element
    assert element is not None
    if element.type in CODED_TYPES:
        if bound.binding.code_filter is None:
            return "NULL"
        code = f'list_filter({_codings(element)}, lambda c: {_match(bound)})[1]."code"'
        if bound.binding.code_filter.system == "ICD10" and bound.icd10_style:
            plain = f"replace({code}, '.', '')"
            if bound.icd10_style == "plain":
                return plain
            dotted = f"left({plain}, 3) || '.' || {plain}[4:]"
            return f"CASE WHEN length({plain}) > 3 THEN {dotted} ELSE {plain} END"
        return code
    if element.type in ("Quantity", "Identifier"):
        return f'({_scalar(element)})."value"'
    if element.type == "Coding":
        return f'({_scalar(element)})."code"'
    return _scalar(element)


def _quantity(bound: Bound) -> Resolved | None:
    """The Quantity a bound `….value` belongs to, for its unit check."""
    element = bound.checked.element
    if element is None or bound.binding.unit is None:
        return None
    if element.type == "Quantity":
        return element
    text = element.text
    if text.endswith(".value"):
        parent = resolve(text[: -len(".value")], bound.binding.resource)
        if parent.type == "Quantity":
            return parent
    return None


def _status(resource: str) -> tuple[Resolved, tuple[str, ...]] | None:
    if resource not in EXCLUDED_STATUS:
        return None
    path, codes = EXCLUDED_STATUS[resource]
    return resolve(path, resource), codes


def _filters(bound: Bound) -> list[str]:
    where = []
    status = _status(bound.binding.resource)
    if status is not None:
        resolved, codes = status
        listed = ", ".join(literal(c) for c in codes)
        if resolved.type in CODED_TYPES:
            hit = f'list_filter({_codings(resolved)}, lambda s: s."code" IN ({listed}))'
            where.append(f"coalesce(len({hit}), 0) = 0")
        else:
            where.append(f"coalesce({_scalar(resolved)}, '') NOT IN ({listed})")
    flt = bound.binding.code_filter
    if flt is not None and bound.checked.filter is not None:
        where.append(
            f"len(list_filter({_codings(bound.checked.filter)}, lambda c: {_match(bound)})) > 0"
        )
    quantity = _quantity(bound)
    if quantity is not None:
        q = _scalar(quantity)
        where.append(
            f'({q})."system" = {literal(UCUM)} '
            f'AND ({q})."code" = {literal(bound.binding.unit or "")}'
        )
    return where


def _time(bound: Bound) -> str:
    times = [_scalar(t) for t in bound.checked.times]
    if not times:
        return "NULL::VARCHAR"
    return times[0] if len(times) == 1 else f"coalesce({', '.join(times)})"


def _tree(plan: FormPlan) -> dict[str, ColumnTree]:
    trees: dict[str, ColumnTree] = {}
    for b in plan.bound:
        tree = trees.setdefault(b.binding.resource, ColumnTree())
        for resolved in (b.checked.element, b.checked.filter, *b.checked.times):
            if resolved is not None:
                tree.add(resolved)
        quantity = _quantity(b)
        if quantity is not None:
            tree.add(quantity)
        status = _status(b.binding.resource)
        if status is not None:
            tree.add(status[0])
    trees.setdefault("Patient", ColumnTree())
    for resource, tree in trees.items():
        tree.add_key("id")
        tree.add_key("resourceType")
        ref = reference_element(resource)
        if ref:
            tree.add_key(ref)["reference"] = (False, {})
    return trees


def _patient(resource: str) -> str:
    if resource == "Patient":
        return "'Patient/' || r.\"id\""
    ref = reference_element(resource)
    # Relative, absolute or versioned references all name the patient as Patient/<id>.
    return (
        f'NULLIF(regexp_extract(r.{quote(ref or "subject")}."reference", '
        f"'(Patient/[A-Za-z0-9.-]+)(/_history/[^/]*)?$', 1), '')"
    )


def _read(resource: str, tree: ColumnTree, files: list[str], max_bytes: int) -> str:
    columns = tree.columns()
    table = quote(f"res_{resource}")
    select = (
        f'{_patient(resource)} AS _pat, {literal(resource + "/")} || r."id" AS _rid, '
        'r."resourceType" AS _type, '
        + ", ".join(f"r.{quote(k)}" for k in columns if k != "resourceType")
    )
    if not files:
        empty = ", ".join(f"NULL::{t} AS {quote(k)}" for k, t in columns.items())
        return f"CREATE TEMP TABLE {table} AS SELECT {select} FROM (SELECT {empty}) r LIMIT 0"
    spec = ", ".join(f"{literal(k)}: {literal(t)}" for k, t in columns.items())
    paths = "[" + ", ".join(literal(f) for f in files) + "]"
    return (
        f"CREATE TEMP TABLE {table} AS SELECT {select} FROM read_json({paths}, "
        f"format = 'newline_delimited', columns = {{{spec}}}, maximum_object_size = {max_bytes}) r"
    )


def _aggregate(pick: str) -> tuple[str, str]:
    # Instants, not text: 09:00-05:00 is after 12:00Z. A partial date (2024-03) that does
    # not cast sorts by its text after the instants.
    by_time = "(TRY_CAST(c.t AS TIMESTAMPTZ), c.t, c.rid)"
    by_value = "(TRY_CAST(c.v AS DOUBLE), c.v, c.rid)"
    listed = f"list(c.rid ORDER BY c.rid)[1:{MAX_SOURCES}]"
    return {
        "first": (f"arg_min(c.v, {by_time})", f"[arg_min(c.rid, {by_time})]"),
        "last": (f"arg_max(c.v, {by_time})", f"[arg_max(c.rid, {by_time})]"),
        "min": (f"arg_min(c.v, {by_value})", f"[arg_min(c.rid, {by_value})]"),
        "max": (f"arg_max(c.v, {by_value})", f"[arg_max(c.rid, {by_value})]"),
        "any": ("'true'", listed),
        "count": ("CAST(count(*) AS VARCHAR)", listed),
    }[pick]


def _output(bound: Bound, raw: str) -> str:
    """The register's spelling of a value: value map, then the variable's datatype."""
    pick = bound.binding.pick
    mapping = bound.binding.value_map or []
    if pick == "any" and (not mapping or "false" in {m.source for m in mapping}):
        raw = f"coalesce({raw}, 'false')"
    elif pick == "count":
        raw = f"coalesce({raw}, '0')"
    if mapping:
        cases = " ".join(f"WHEN {literal(m.source)} THEN {literal(m.target)}" for m in mapping)
        raw = f"(CASE {raw} {cases} ELSE {raw} END)"
    datatype = bound.variable.datatype
    if pick in VALUE_PICKS and not mapping:
        if datatype == "date":
            raw = f"left({raw}, 10)"
        elif datatype == "integer":
            number = f"TRY_CAST({raw} AS DOUBLE)"
            whole = f"CAST(round({number}) AS BIGINT)::VARCHAR"
            raw = f"(CASE WHEN {number} IS NOT NULL THEN {whole} ELSE {raw} END)"
    return raw


def compile_plan(plan: FormPlan, sources: dict[str, list[str]], max_bytes: int) -> Compiled:
    trees = _tree(plan)
    reads = [
        _read(res, tree, sources.get(res, []), max_bytes) for res, tree in sorted(trees.items())
    ]
    ctes = []
    for i, b in enumerate(plan.bound):
        where = _filters(b)
        ctes.append(
            f"c{i} AS (SELECT r._pat AS pat, r._rid AS rid, {_time(b)} AS t, {_value(b)} AS v "
            f"FROM {quote('res_' + b.binding.resource)} r"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + ")"
        )
    anchor_index = plan.bound.index(plan.anchor) if plan.anchor is not None else None
    if anchor_index is not None:
        ctes.append(
            "ev AS (SELECT pat, rid AS event, TRY_CAST(left(v, 10) AS DATE) AS anchor_date, "
            "v AS anchor_value "
            f"FROM c{anchor_index} WHERE v IS NOT NULL AND pat IS NOT NULL)"
        )
    else:
        union = " UNION ".join(
            f"SELECT _pat AS pat FROM {quote('res_' + r)}" for r in sorted(trees)
        )
        ctes.append(
            "ev AS (SELECT DISTINCT pat, pat AS event, NULL::DATE AS anchor_date, "
            "NULL::VARCHAR AS anchor_value "
            f"FROM ({union}) WHERE pat IS NOT NULL)"
        )
    for i, b in enumerate(plan.bound):
        if i == anchor_index:
            ctes.append(f"a{i} AS (SELECT event, anchor_value AS v, [event] AS src FROM ev)")
            continue
        on = ["c.pat = e.pat"]
        if b.binding.anchor_resource:
            on.append("c.rid = e.event")
        if b.binding.window_start_days is not None and b.binding.window_end_days is not None:
            on.append(
                "TRY_CAST(left(c.t, 10) AS DATE) BETWEEN "
                f"e.anchor_date + {int(b.binding.window_start_days)} "
                f"AND e.anchor_date + {int(b.binding.window_end_days)}"
            )
        if b.binding.pick in VALUE_PICKS:
            on.append("c.v IS NOT NULL")
        value, src = _aggregate(b.binding.pick)
        ctes.append(
            f"a{i} AS (SELECT e.event, {value} AS v, {src} AS src FROM ev e JOIN c{i} c ON "
            + " AND ".join(on)
            + " GROUP BY e.event)"
        )
    index = {b.variable.id: i for i, b in enumerate(plan.bound)}
    columns = [
        "row_number() OVER (ORDER BY e.pat, e.anchor_date, e.event) AS _row",
        "e.pat AS patient",
        "e.event AS event",
        "e.anchor_date AS anchor_date",
    ]
    for v in plan.variables:
        name = quote(v.id.split(":", 1)[1])
        if v.id in index:
            columns.append(f"{_output(plan.bound[index[v.id]], f'a{index[v.id]}.v')} AS {name}")
        else:
            columns.append(f"NULL::VARCHAR AS {name}")
    for i, b in enumerate(plan.bound):
        columns.append(f"coalesce(a{i}.src, []::VARCHAR[]) AS {quote('src:' + b.name)}")
    joins = " ".join(f"LEFT JOIN a{i} ON a{i}.event = e.event" for i in range(len(plan.bound)))
    build = (
        "CREATE TEMP TABLE prefill AS WITH "
        + ",\n".join(ctes)
        + f"\nSELECT {', '.join(columns)} FROM ev e {joins} ORDER BY _row"
    )
    return Compiled(plan, reads, build, {r: sources.get(r, []) for r in sorted(trees)})


# --- output --------------------------------------------------------------------------


def submission_view(plan: FormPlan) -> str:
    """The filled columns only: the validator checks what prefill wrote."""
    cols = ", ".join(quote(b.name) for b in plan.bound)
    return f"CREATE TEMP VIEW submission AS SELECT {cols} FROM prefill ORDER BY _row"


def _to_complete(plan: FormPlan, ids: bool = False) -> str:
    """The bound fields nothing was found for (by technical name, or by variable id).
    Fields without a binding are the same for every event: the report lists them once."""
    items = [
        f"CASE WHEN {quote(b.name)} IS NULL THEN {literal(b.variable.id if ids else b.name)} END"
        for b in plan.bound
    ]
    if not items:
        return "[]::VARCHAR[]"
    return f"list_filter([{', '.join(items)}], lambda z: z IS NOT NULL)"


def json_rows(plan: FormPlan) -> str:
    """One JSON object per event: values, their sources and the bound fields left to
    complete. Only bound fields can have a value, so only they are looked at."""
    values = ", ".join(
        f"struct_pack(k := {literal(b.name)}, v := {quote(b.name)})" for b in plan.bound
    )
    sources = ", ".join(
        f"struct_pack(k := {literal(b.name)}, v := {quote('src:' + b.name)})" for b in plan.bound
    )
    if values:
        values_map = f"map_from_entries(list_filter([{values}], lambda e: e.v IS NOT NULL))"
        sources_map = f"map_from_entries(list_filter([{sources}], lambda e: len(e.v) > 0))"
    else:
        values_map = sources_map = "MAP {}"
    return (
        f"SELECT {literal(plan.register)} AS register, {literal(plan.form)} AS form, "
        "patient, event, "
        f'anchor_date, {values_map} AS "values", {sources_map} AS sources, '
        f"{_to_complete(plan)} AS to_complete FROM prefill ORDER BY _row"
    )


# A QuestionnaireResponse answer per datatype: its value[x] and how the text becomes it.
_ANSWERS = {
    "date": ("valueDate", "{}"),
    "datetime": ("valueDateTime", "{}"),
    "time": ("valueTime", "{}"),
    "integer": ("valueInteger", "TRY_CAST({} AS BIGINT)"),
    "decimal": ("valueDecimal", "TRY_CAST({} AS DOUBLE)"),
    "boolean": ("valueBoolean", "lower({}) IN ('true', '1', 'yes', 'ja')"),
}


def _answer(variable, column: str, system: str) -> str:
    col = quote(column)
    if variable.datatype == "coded":
        return (
            f"json_object('valueCoding', json_object('system', {literal(system)}, 'code', {col}))"
        )
    key, value = _ANSWERS.get(variable.datatype, ("valueString", "{}"))
    return f"json_object('{key}', {value.format(col)})"


def _usable(variable, column: str) -> str:
    """The answer can be written as valid FHIR (an integer that is one, …)."""
    col = quote(column)
    kind = {"integer": "BIGINT", "decimal": "DOUBLE", "date": "DATE"}.get(variable.datatype)
    if kind:
        return f"TRY_CAST({col} AS {kind}) IS NOT NULL"
    return f"{col} IS NOT NULL"


def _drop_empty(obj: str, key: str, condition: str) -> str:
    """FHIR forbids empty arrays: remove `key` when `condition` holds."""
    return (
        f"json_merge_patch({obj}, CASE WHEN {condition} THEN '{{\"{key}\": null}}' ELSE '{{}}' END)"
    )


def questionnaire_rows(
    plan: FormPlan, source_ext: str, complete_ext: str, systems: dict[str, str]
) -> str:
    """One QuestionnaireResponse (JSON text) per event, against the exported Questionnaire:
    an item per filled field, with the resources it came from."""
    items = []
    for b in plan.bound:
        answer = _answer(b.variable, b.name, systems.get(b.variable.id, ""))
        src = quote("src:" + b.name)
        refs = (
            f"list_transform({src}, lambda s: json_object('url', {literal(source_ext)}, "
            f"'valueReference', json_object('reference', s)))"
        )
        item = (
            f"json_object('linkId', {literal(b.variable.id)}, 'answer', json_array({answer}), "
            f"'extension', to_json({refs}))"
        )
        item = _drop_empty(item, "extension", f"len({src}) = 0")
        items.append(f"CASE WHEN {_usable(b.variable, b.name)} THEN {item} END")
    item_list = (
        f"list_filter([{', '.join(items)}], lambda z: z IS NOT NULL)" if items else "[]::JSON[]"
    )
    todo_ext = (
        f"list_transform(todo, lambda t: json_object('url', {literal(complete_ext)}, "
        "'valueString', t))"
    )
    # Complete only when every field of the form is bound and was found.
    all_bound = len(plan.bound) == len(plan.variables)
    status = "CASE WHEN len(todo) = 0 THEN 'completed' ELSE 'in-progress' END"
    salt = literal(f"|{plan.register}:{plan.form}")
    base = (
        "json_object('resourceType', 'QuestionnaireResponse', "
        f"'id', 'prefill-' || left(md5(event || {salt}), 32), "
        f"'questionnaire', {literal(plan.questionnaire)}, "
        f"'status', {status if all_bound else literal('in-progress')}, "
        "'subject', json_object('reference', patient), "
        f"'extension', to_json({todo_ext}), 'item', to_json(items))"
    )
    base = _drop_empty(base, "extension", "len(todo) = 0")
    base = _drop_empty(base, "item", "len(items) = 0")
    return (
        f"SELECT {base} AS resource FROM (SELECT _row, patient, event, "
        f"{_to_complete(plan, ids=True)} AS todo, {item_list} AS items FROM prefill) "
        "ORDER BY _row"
    )


# --- a script to run without regcat ------------------------------------------------------


def script(plan: FormPlan, input_dir: str, header_text: str) -> str:
    """The whole prefill as one DuckDB SQL script over a Bulk Data export folder, laid
    out by sqlglot: what `regcat prefill` runs, to read, review or run in `duckdb`."""
    import sqlglot

    folder = input_dir.rstrip("/") or "."
    sources = {r: [f"{folder}/{r}.*ndjson"] for r in _tree(plan)}
    compiled = compile_plan(plan, sources, 16 * 1024 * 1024 + (1 << 20))
    body = [
        "SET TimeZone = 'UTC'",
        *compiled.statements,
        "SELECT * FROM prefill ORDER BY _row",
    ]
    pretty = [sqlglot.transpile(s, read="duckdb", write="duckdb", pretty=True)[0] for s in body]
    types = ", ".join(sorted(sources))
    notes = (
        f"-- Reads {folder}/<Type>.ndjson (and <Type>.001.ndjson, …) for: {types}.\n"
        "-- Every one of these types needs at least one file (DuckDB refuses an empty glob).\n"
        "-- Run: duckdb -c '.read this-file.sql'\n"
    )
    return header_text + notes + "\n" + ";\n\n".join(pretty) + ";\n"
