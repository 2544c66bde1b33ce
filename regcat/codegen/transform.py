"""Transformation code generated from a mapping set's transformations: DuckDB SQL
(transpiled by sqlglot to PostgreSQL, Spark SQL and Trino) and a plain-Python module.

Input convention (the same for SQL and Python):

* one relation per register form, named `<register>_<form>` after the variables' ids
  and forms: `npr_episode`, `lmr_utlevering`, `dar_dodsfall`, `noric_angio_pci`, …
  (the target population of a record linkage is the form holding its anchor variable);
* its columns are the variables' technical names (the part of the id after the colon:
  `npr:inndato` → `inndato`, `noric:REGANGIO_INTERDAT` → `REGANGIO_INTERDAT`), plus the
  record linkage's `person_key` column (e.g. `fodselsnummer`) on both sides.

Output: one relation per mapping, named after its record_id (`mapping:noric-lmr-asa` →
`noric_lmr_asa`), with the key columns and the target variable's technical name:

* a record linkage reads one source relation at the grain of its codes: the code
  variable's form (else the event date's), which must also carry the person key, the
  event date and the value columns (e.g. `npr_prosedyre` with `fodselsnummer`,
  `inndato`, `prosedyrekode`: one row per procedure with its episode's date);
* record linkage with an anchor: one row per distinct (person_key, anchor) of the
  population, columns person_key, the anchor's technical name, the target;
* record linkage without an anchor: builds the population, one row per person found;
* value map / unit conversion / expression: one row per source row, columns the
  source form's identifier variables, then the target.

Record linkage keeps source rows whose event date lies in [anchor + window_start_days,
anchor + window_end_days] and whose code starts with one of the prefixes (codes
compared upper-case, trimmed, and for ICD-10 without the dot: NPR's `I219` matches the
catalogue's `I21.9`), then aggregates: first / last (by event date, ties by the
smallest value), any, count, min, max, then applies the optional value map (an `any`
result maps as 'true'/'false'). Identifiers are validated and quoted, strings are
escaped, expressions are parsed against an allow-list (regcat.codegen.expression).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from regcat.codegen.expression import (
    ExpressionError,
    parse,
    sql_number,
    sql_string,
    to_python,
    to_sql,
    variables,
)
from regcat.errors import RegcatError

DIALECTS = ("duckdb", "postgres", "spark", "trino")
_RELATION = re.compile(r"[a-z][a-z0-9_]*")
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_DOTTED_SYSTEMS = {"ICD10", "ICD-10", "ICD10NO", "ICD-10-NO"}


class TransformError(RegcatError):
    pass


@dataclass
class Compiled:
    record_id: str
    name: str
    kind: str
    subject_id: str
    object_id: str
    target_register: str
    target_form: str | None
    inputs: list[str]
    columns: list[str]
    sql: str  # DuckDB
    python: str  # one function definition
    comment: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def sql_for(self, dialect: str = "duckdb") -> str:
        return transpile(self.sql, dialect)


def transpile(sql: str, dialect: str) -> str:
    if dialect not in DIALECTS:
        raise TransformError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    if dialect == "duckdb":
        return sql
    import sqlglot

    return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True))


def q(name: str) -> str:
    """A quoted SQL identifier; the name was validated, so it holds no quote."""
    return '"' + name + '"'


def _check_relation(name: str, what: str) -> str:
    if not _RELATION.fullmatch(name):
        raise TransformError(f"{what}: relation name {name!r} is not a plain identifier")
    return name


def _check_column(name: str, what: str) -> str:
    if not isinstance(name, str) or not _COLUMN.fullmatch(name):
        raise TransformError(
            f"{what}: column name {name!r} is not allowed (letters, digits, _ . -)"
        )
    return name


def column_of(variable_id: str) -> str:
    if ":" not in variable_id:
        raise TransformError(f"{variable_id!r} is not a variable id (register:name)")
    return _check_column(variable_id.split(":", 1)[1], variable_id)


def slug(record_id: str) -> str:
    local = record_id.split(":", 1)[-1]
    name = re.sub(r"[^a-z0-9_]+", "_", local.lower()).strip("_") or "mapping"
    return name if name[0].isalpha() else f"m_{name}"


class _Context:
    def __init__(self, catalogue: Any, record_id: str) -> None:
        self.cat = catalogue
        self.rid = record_id

    def variable(self, variable_id: str) -> Any:
        variable = self.cat.variables.get(variable_id)
        if variable is None:
            raise TransformError(f"{self.rid}: variable {variable_id!r} is not in the catalogue")
        return variable

    def relation(self, variable_id: str) -> str:
        variable = self.variable(variable_id)
        register = variable_id.split(":", 1)[0]
        if not variable.form:
            raise TransformError(f"{self.rid}: variable {variable_id!r} has no form")
        return _check_relation(f"{register}_{variable.form}", f"{self.rid}: {variable_id}")

    def keys(self, relation: str) -> list[str]:
        register = relation.split("_", 1)[0]
        out = []
        for variable in self.cat.variables.values():
            if (
                variable.id.startswith(register + ":")
                and variable.datatype is not None
                and str(getattr(variable.datatype, "value", variable.datatype)) == "identifier"
                and self.relation(variable.id) == relation
            ):
                out.append(column_of(variable.id))
        return out


def _norm_sql(expr: str, dotted: bool) -> str:
    inner = f"TRIM(CAST({expr} AS VARCHAR))"
    if dotted:
        inner = f"REPLACE({inner}, '.', '')"
    return f"UPPER({inner})"


def norm_code(code: str, dotted: bool) -> str:
    code = str(code).strip()
    if dotted:
        code = code.replace(".", "")
    return code.upper()


def _value_map(entries: list, rid: str, normalise: bool | None) -> dict[str, str]:
    """source -> target, sources normalised like the values they meet (None: as is)."""
    mapping: dict[str, str] = {}
    for entry in entries or []:
        source, target = str(entry.source), str(entry.target)
        if normalise is not None:
            source = norm_code(source, normalise)
        if source in mapping and mapping[source] != target:
            raise TransformError(
                f"{rid}: value map sends {entry.source!r} to both "
                f"{mapping[source]!r} and {target!r}"
            )
        mapping[source] = target
    return mapping


def _case_sql(value: str, mapping: dict[str, str]) -> str:
    if not mapping:
        return value
    whens = " ".join(f"WHEN {sql_string(s)} THEN {sql_string(t)}" for s, t in mapping.items())
    return f"CASE CAST({value} AS VARCHAR) {whens} ELSE NULL END"


def _kind(t: Any) -> str:
    return str(getattr(t.kind, "value", t.kind))


def compile_mapping(catalogue: Any, mapping: Any) -> Compiled:
    rid = mapping.record_id or f"{mapping.subject_id}->{mapping.object_id}"
    t = mapping.transformation
    if t is None:
        raise TransformError(f"{rid}: the mapping has no transformation")
    ctx = _Context(catalogue, rid)
    name = slug(rid)
    target_var = ctx.variable(mapping.object_id)
    target = column_of(mapping.object_id)
    common = dict(
        record_id=rid,
        name=name,
        kind=_kind(t),
        subject_id=mapping.subject_id,
        object_id=mapping.object_id,
        target_register=mapping.object_id.split(":", 1)[0],
        target_form=target_var.form,
        comment=f"{rid}: {mapping.subject_id} -> {mapping.object_id} ({_kind(t)})",
    )
    if _kind(t) == "record_linkage":
        return _record_linkage(ctx, t, target, common)
    return _row_wise(ctx, t, mapping.subject_id, target, common)


def _row_wise(ctx: _Context, t: Any, subject: str, target: str, common: dict) -> Compiled:
    rid, kind = ctx.rid, _kind(t)
    relation = ctx.relation(subject)
    keys = [k for k in ctx.keys(relation) if k != target]
    if kind == "value_map":
        src = column_of(subject)
        value_sql = q(src)
        value_py = f"row.get({src!r})"
        mapping = _value_map(t.value_map, rid, None)
        if not mapping:
            raise TransformError(f"{rid}: value_map transformation with no entries")
        after: dict[str, str] = {}
    elif kind == "unit_conversion":
        uc = t.unit_conversion
        if uc is None:
            raise TransformError(f"{rid}: unit_conversion without factor")
        src = column_of(subject)
        factor, offset = sql_number(float(uc.factor)), sql_number(float(uc.offset or 0.0))
        value_sql = f"(CAST({q(src)} AS DOUBLE) * {factor} + {offset})"
        value_py = f"_unit(row.get({src!r}), {factor}, {offset})"
        mapping, after = {}, _value_map(t.value_map, rid, None)
    elif kind == "expression":
        try:
            tree = parse(t.expression or "")
        except ExpressionError as exc:
            raise TransformError(f"{rid}: {exc.message}") from None
        columns = {}
        for vid in variables(tree):
            if ctx.relation(vid) != relation:
                raise TransformError(
                    f"{rid}: expression uses {vid!r} from {ctx.relation(vid)!r}; "
                    f"an expression reads one form ({relation!r})"
                )
            columns[vid] = column_of(vid)
        value_sql = to_sql(tree, {k: q(v) for k, v in columns.items()})
        value_py = to_python(tree, "row", columns)
        mapping, after = {}, _value_map(t.value_map, rid, None)
    else:
        raise TransformError(f"{rid}: unknown transformation kind {kind!r}")
    mapping = mapping or after
    select = [q(k) for k in keys] + [f"{_case_sql(value_sql, mapping)} AS {q(target)}"]
    order = ", ".join(q(c) for c in [*keys, target])
    sql = f"SELECT {', '.join(select)} FROM {q(relation)} ORDER BY {order}"
    py_value = f"_map({value_py}, {mapping!r})" if mapping else value_py
    fields = ", ".join(f"{k!r}: row.get({k!r})" for k in keys)
    body = (
        f"def {common['name']}(tables):\n"
        f"    {common['comment']!r}\n"
        f"    out = []\n"
        f"    for row in tables[{relation!r}]:\n"
        f"        out.append({{{fields}{', ' if fields else ''}{target!r}: {py_value}}})\n"
        f"    return _ordered(out, {[*keys, target]!r})\n"
    )
    return Compiled(**common, inputs=[relation], columns=[*keys, target], sql=sql, python=body)


def _record_linkage(ctx: _Context, t: Any, target: str, common: dict) -> Compiled:
    rid = ctx.rid
    rl = t.record_linkage
    if rl is None:
        raise TransformError(f"{rid}: record_linkage transformation without its rule")
    aggregate = str(getattr(rl.aggregate, "value", rl.aggregate))
    person = _check_column(rl.person_key, f"{rid}: person_key")
    # One source relation at the grain of the codes: the code variable's form (else the
    # event date's), which also carries the event date and value columns.
    source = ctx.relation(rl.code_variable or rl.event_date)
    event = column_of(rl.event_date)
    value_id = rl.value_variable or rl.code_variable
    if aggregate in ("first", "last", "min", "max") and not value_id:
        raise TransformError(f"{rid}: aggregate {aggregate} needs value_variable or code_variable")
    register = source.split("_", 1)[0]
    for vid in (rl.event_date, rl.code_variable, value_id):
        if vid and not vid.startswith(register + ":"):
            raise TransformError(
                f"{rid}: {vid!r} is not in register {register!r}: a record linkage reads "
                "one source register"
            )
        if vid:
            ctx.relation(vid)  # exists and has a form
    system = (rl.code_system or "").upper()
    dotted = system in _DOTTED_SYSTEMS
    prefixes = [norm_code(p, dotted) for p in rl.code_prefixes or []]
    if prefixes and not rl.code_variable:
        raise TransformError(f"{rid}: code_prefixes without code_variable")
    if any(not p for p in prefixes):
        raise TransformError(f"{rid}: empty code prefix")
    code = column_of(rl.code_variable) if rl.code_variable else None
    value = column_of(value_id) if value_id else None
    value_is_code = value is not None and value_id == rl.code_variable and bool(rl.code_system)
    value_is_date = value is not None and (
        value_id == rl.event_date
        or str(getattr(ctx.variable(value_id).datatype, "value", "")) in ("date", "datetime")
    )
    anchor = column_of(rl.anchor) if rl.anchor else None
    population = ctx.relation(rl.anchor) if rl.anchor else None
    start, end = rl.window_start_days, rl.window_end_days
    if anchor is None and (start is not None or end is not None):
        raise TransformError(f"{rid}: a window needs an anchor")
    if target in (person, anchor):
        raise TransformError(f"{rid}: target column {target!r} clashes with a key column")
    for bound in (start, end):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)):
            raise TransformError(f"{rid}: window days must be integers")

    # SQL
    if value is None:
        value_sql = "NULL"
    elif value_is_code:
        value_sql = _norm_sql(q(value), dotted)
    elif value_is_date:
        value_sql = f"CAST({q(value)} AS DATE)"
    else:
        value_sql = q(value)
    where = [f"{q(person)} IS NOT NULL", f"{q(event)} IS NOT NULL"]
    if prefixes:
        norm = _norm_sql(q(code), dotted)  # type: ignore[arg-type]
        where.append(
            "("
            + " OR ".join(f"SUBSTRING({norm}, 1, {len(p)}) = {sql_string(p)}" for p in prefixes)
            + ")"
        )
    if aggregate in ("first", "last", "min", "max"):
        where.append(f"{value_sql} IS NOT NULL")
    ctes = [
        f"rc_src AS (SELECT {q(person)} AS rc_person, CAST({q(event)} AS DATE) AS rc_event, "
        f"{value_sql} AS rc_value FROM {q(source)} WHERE {' AND '.join(where)})"
    ]
    keys = ["rc_person"]
    if anchor:
        keys.append("rc_anchor")
        ctes.insert(
            0,
            f"rc_pop AS (SELECT DISTINCT {q(person)} AS rc_person, "
            f"CAST({q(anchor)} AS DATE) AS rc_anchor FROM {q(population)} "  # type: ignore[arg-type]
            f"WHERE {q(person)} IS NOT NULL AND {q(anchor)} IS NOT NULL)",
        )
        window = []
        diff = "DATE_DIFF('day', rc_pop.rc_anchor, rc_src.rc_event)"
        if start is not None:
            window.append(f"{diff} >= {int(start)}")
        if end is not None:
            window.append(f"{diff} <= {int(end)}")
        ctes.append(
            "rc_hit AS (SELECT rc_pop.rc_person, rc_pop.rc_anchor, rc_src.rc_event, "
            "rc_src.rc_value FROM rc_pop JOIN rc_src ON rc_src.rc_person = rc_pop.rc_person"
            + (f" WHERE {' AND '.join(window)}" if window else "")
            + ")"
        )
    else:
        ctes.append("rc_pop AS (SELECT DISTINCT rc_person FROM rc_src)")
        ctes.append("rc_hit AS (SELECT rc_person, rc_event, rc_value FROM rc_src)")
    on = " AND ".join(f"h.{k} = p.{k}" for k in keys)
    maps_code = value_is_code and aggregate in ("first", "last", "min", "max")
    after = _value_map(t.value_map, rid, dotted if maps_code else None)
    if aggregate in ("first", "last"):
        direction = "ASC" if aggregate == "first" else "DESC"
        ctes.append(
            "rc_ranked AS (SELECT rc_hit.*, ROW_NUMBER() OVER (PARTITION BY "
            + ", ".join(keys)
            + f" ORDER BY rc_event {direction}, rc_value ASC) AS rc_rn FROM rc_hit)"
        )
        result = _case_sql("h.rc_value", after)
        tail = f"FROM rc_pop p LEFT JOIN rc_ranked h ON {on} AND h.rc_rn = 1"
    else:
        agg = {
            "any": "CASE WHEN COUNT(h.rc_event) > 0 THEN TRUE ELSE FALSE END",
            "count": "COUNT(h.rc_event)",
            "min": "MIN(h.rc_value)",
            "max": "MAX(h.rc_value)",
        }.get(aggregate)
        if agg is None:
            raise TransformError(f"{rid}: unknown aggregate {aggregate!r}")
        if aggregate == "any" and after:
            agg = "CASE WHEN COUNT(h.rc_event) > 0 THEN 'true' ELSE 'false' END"
        result = _case_sql(agg, after)
        tail = f"FROM rc_pop p LEFT JOIN rc_hit h ON {on} GROUP BY " + ", ".join(
            f"p.{k}" for k in keys
        )
    out_cols = [person] + ([anchor] if anchor else []) + [target]
    select = (
        f"p.rc_person AS {q(person)}, "
        + (f"p.rc_anchor AS {q(anchor)}, " if anchor else "")  # type: ignore[arg-type]
        + f"{result} AS {q(target)}"
    )
    order = ", ".join(q(c) for c in out_cols[:-1])
    sql = f"WITH {', '.join(ctes)} SELECT {select} {tail} ORDER BY {order}"

    params = dict(
        source=source,
        population=population,
        person=person,
        anchor=anchor,
        event=event,
        value=value,
        value_is_code=value_is_code,
        value_is_date=value_is_date,
        code=code,
        dotted=dotted,
        prefixes=tuple(prefixes),
        start=start,
        end=end,
        aggregate=aggregate,
        value_map=after,
        target=target,
    )
    args = ", ".join(f"{k}={v!r}" for k, v in params.items())
    body = (
        f"def {common['name']}(tables):\n"
        f"    {common['comment']!r}\n"
        f"    return _link(tables, {args})\n"
    )
    inputs = sorted({source, *([population] if population else [])})
    return Compiled(**common, inputs=inputs, columns=out_cols, sql=sql, python=body, params=params)


def mappings_with_transformations(mapping_set: Any) -> list:
    return [m for m in mapping_set.mappings or [] if m.transformation is not None]


def compile_set(catalogue: Any, mapping_set: Any, only: list[str] | None = None) -> list[Compiled]:
    compiled: list[Compiled] = []
    names: set[str] = set()
    for mapping in mappings_with_transformations(mapping_set):
        if only and mapping.record_id not in only:
            continue
        c = compile_mapping(catalogue, mapping)
        base, n = c.name, 2
        while c.name in names:
            c.name = f"{base}_{n}"
            c.python = c.python.replace(f"def {base}(", f"def {c.name}(", 1)
            n += 1
        names.add(c.name)
        compiled.append(c)
    if only:
        missing = set(only) - {c.record_id for c in compiled}
        if missing:
            raise TransformError(
                f"no transformation for {', '.join(sorted(missing))} in this mapping set"
            )
    return compiled


def _conventions(prefix: str, what: str, version: str, compiled: list[Compiled]) -> str:
    from regcat.codegen.header import header

    lines = header(prefix, what, version).rstrip("\n").split("\n")
    lines.append(f"{prefix} Inputs: one relation per register form, <register>_<form>;")
    lines.append(f"{prefix} columns are the variables' technical names (after the colon).")
    for c in compiled:
        lines.append(
            f"{prefix} {c.name}: reads {', '.join(c.inputs)} -> columns {', '.join(c.columns)}"
        )
    return "\n".join(" ".join(line.split()) for line in lines) + "\n"


def render_sql(compiled: list[Compiled], dialect: str, what: str, version: str) -> str:
    parts = [_conventions("--", what, version, compiled)]
    for c in compiled:
        view = f"CREATE OR REPLACE VIEW {q(c.name)} AS {c.sql}"
        parts.append(f"\n-- {' '.join(c.comment.split())}\n{transpile(view, dialect)};\n")
    return "".join(parts)


def render_python(compiled: list[Compiled], what: str, version: str) -> str:
    from regcat.codegen.header import format_python

    functions = "\n\n".join(c.python for c in compiled)
    registry = ", ".join(f"{c.record_id!r}: {c.name}" for c in compiled)
    source = (
        _conventions("#", what, version, compiled)
        + '"""Transformations generated from a regcat mapping set: one function per mapping,\n'
        "taking `tables` (relation name -> list of dict rows) and returning a list of dict\n"
        'rows, in the same order as the SQL target."""\n\n'
        + RUNTIME
        + "\n\n"
        + functions
        + f"\n\nMAPPINGS = {{{registry}}}\n"
    )
    compile(source, "<generated>", "exec")
    return format_python(source)


# Helpers the generated module defines (and the only functions it calls).
RUNTIME = """
import datetime as _dt
from decimal import ROUND_HALF_UP as _HALF_UP
from decimal import Decimal as _Decimal


def _date(value):
    if value is None or isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.datetime):
        return value.date()
    return _dt.date.fromisoformat(str(value).strip()[:10])


def _norm(value, dotted):
    text = str(value).strip()
    if dotted:
        text = text.replace(".", "")
    return text.upper()


def _map(value, mapping):
    if value is None:
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"
    return mapping.get(str(value))


def _unit(value, factor, offset):
    return None if value is None else float(value) * factor + offset


def _num(value):
    return value


def _add(a, b):
    return None if a is None or b is None else a + b


def _sub(a, b):
    return None if a is None or b is None else a - b


def _mul(a, b):
    return None if a is None or b is None else a * b


def _div(a, b):
    return None if a is None or b is None or b == 0 else float(a) / b


def _neg(a):
    return None if a is None else -a


def _cmp(op, a, b):
    if a is None or b is None:
        return None
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if op == "lt":
        return a < b
    if op == "le":
        return a <= b
    if op == "gt":
        return a > b
    return a >= b


def _and(a, b):
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or(a, b):
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def _not(a):
    return None if a is None else not a


def _coalesce(*values):
    for value in values:
        if value is not None:
            return value
    return None


def _round(value, digits=0):
    if value is None or digits is None:
        return None
    exponent = _Decimal(1).scaleb(-int(digits))
    return float(_Decimal(repr(value)).quantize(exponent, rounding=_HALF_UP))


def _abs(value):
    return None if value is None else abs(value)


def _year(value):
    return None if value is None else _date(value).year


def _lower(value):
    return None if value is None else str(value).lower()


def _upper(value):
    return None if value is None else str(value).upper()


def _key(value):
    return (value is None, value if value is not None else 0)


def _ordered(rows, columns):
    return sorted(rows, key=lambda row: [_key(row[c]) for c in columns])


def _link(
    tables, source, population, person, anchor, event, value, value_is_code, value_is_date,
    code, dotted, prefixes, start, end, aggregate, value_map, target,
):
    hits_by_person = {}
    for row in tables[source]:
        who, when = row.get(person), row.get(event)
        if who is None or when is None:
            continue
        if prefixes:
            found = row.get(code)
            if found is None:
                continue
            found = _norm(found, dotted)
            if not any(found[: len(p)] == p for p in prefixes):
                continue
        got = None
        if value is not None:
            got = row.get(value)
            if got is not None and value_is_code:
                got = _norm(got, dotted)
            elif got is not None and value_is_date:
                got = _date(got)
        if aggregate in ("first", "last", "min", "max") and got is None:
            continue
        hits_by_person.setdefault(who, []).append((_date(when), got))
    if anchor is None:
        keys = [(who,) for who in hits_by_person]
    else:
        keys = set()
        for row in tables[population]:
            who, when = row.get(person), row.get(anchor)
            if who is not None and when is not None:
                keys.add((who, _date(when)))
        keys = list(keys)
    out = []
    for key in keys:
        hits = hits_by_person.get(key[0], [])
        if anchor is not None:
            hits = [
                h
                for h in hits
                if (start is None or (h[0] - key[1]).days >= start)
                and (end is None or (h[0] - key[1]).days <= end)
            ]
        if aggregate == "any":
            result = len(hits) > 0
        elif aggregate == "count":
            result = len(hits)
        elif not hits:
            result = None
        elif aggregate == "first":
            result = min(hits, key=lambda h: (h[0], h[1]))[1]
        elif aggregate == "last":
            result = min(hits, key=lambda h: (-h[0].toordinal(), h[1]))[1]
        elif aggregate == "min":
            result = min(h[1] for h in hits)
        else:
            result = max(h[1] for h in hits)
        if value_map:
            result = _map(result, value_map)
        row = {person: key[0]}
        if anchor is not None:
            row[anchor] = key[1]
        row[target] = result
        out.append(row)
    return _ordered(out, [person] + ([anchor] if anchor is not None else []))
"""
