"""Batch checker for register submissions: one generated DuckDB query per file.

`check_data(catalogue, register_id, path, form=None, today=None)` reads a CSV, Parquet or
JSON Lines file and checks every row against the variables of one form of a register.
The rules are compiled into ONE SQL statement: a `count_if` and a bounded sample of row
numbers (`min(CASE WHEN … THEN row END, k)`) per rule and field, never a Python loop over rows.
`checker_sql(...)` returns that statement for any DuckDB relation, so other code (e.g. a
transform's output) can run or inspect it.

Columns
    A file column belongs to a variable when its name equals the variable's technical
    name (the part of the id after `register:`) or, failing that, its `physical_name`
    (the column name in the register's own table). Names match case-insensitively, as
    DuckDB resolves them; the technical name wins. Other columns are `unknown_column`
    warnings; a form variable with no column is one `missing_column` error.

Rule names (the key in `by_rule` is `<rule>:<field>`, the field being the technical name)
    errors:   required, type, value_set, hard_min, hard_max, max_length, decimals,
              allowed_characters, pattern, activation, missing_column
    warnings: soft_min, soft_max, unknown_column
    A value that breaks a hard limit is not counted again under the soft limit.

Values
    Text values are trimmed; empty text is missing. Types are checked with TRY_CAST on
    the text: integer = optional sign and digits; decimal = a number with a `.` decimal
    point; date = ISO `YYYY-MM-DD`; boolean = true/false/t/f/yes/no/1/0; codes compare as
    text (a boolean column's text is `1`/`0`). Parquet columns keep their native types:
    an integer column needs no type check, a float column for an integer variable must
    hold whole numbers. Limits are numbers, quoted ISO dates (`'1980-01-01'`) or tokens:
    `today`/`toDay` (the run's date), `toDayPlus30Days`, `todayYear`, `birthYear` (the
    row's birth year, from a date variable of the form named like a birth date) and
    `regDate` (the row's registration date, from a date variable named like one). A limit
    that cannot be resolved is skipped with a note in the report.

Activation (sub-questions, `activated_by`)
    A sub-question is activated when its activating variable's code is one of the
    rule's values. Answered while not activated: `activation` error. Required and
    activated but missing: `required` error. Required but not activated: no error.

Row numbers in reports are 1-based data rows (a CSV header is not counted). Reports name
rows, fields and rules and never echo a value, so no identifying value (fødselsnummer,
names) can leak into them; DuckDB's own read errors are reduced to file, line and kind.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from regcat.errors import RegcatError

EXAMPLES_PER_RULE = 5
MAX_EXAMPLES = 200

WARNING_RULES = frozenset({"soft_min", "soft_max", "unknown_column"})

_INT_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE", "REAL"}
_TIMESTAMP_TYPES = {
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "TIMESTAMP_S",
    "TIMESTAMP_MS",
    "TIMESTAMP_NS",
    "TIMESTAMPTZ",
}
_CAST_TYPE = {
    "integer": "BIGINT",
    "decimal": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "time": "TIME",
}
_BIRTH_NAME = re.compile(r"(birth|f(o|ø|oe)dsel|fdato|f_dato|dob\b)", re.IGNORECASE)
_REG_NAME = re.compile(r"(reg_?date|reg_?dato|registr\w*_?dat)", re.IGNORECASE)
_TODAY = {"today", "toDay", "TODAY"}


def quote_ident(name: str) -> str:
    """A DuckDB identifier, whatever characters the name holds."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A DuckDB string literal (standard SQL: only the single quote is special)."""
    if "\x00" in value:
        raise RegcatError("a text value holds a NUL character and cannot be compared")
    return "'" + value.replace("'", "''") + "'"


def _base_type(sql_type: str) -> str:
    upper = sql_type.upper()
    if upper.startswith("DECIMAL") or upper.startswith("NUMERIC"):
        return "DECIMAL"
    return upper


# --- the plan -------------------------------------------------------------------------


@dataclass
class Rule:
    rule: str
    field: str
    condition: str  # SQL over the projected columns
    regex: str | None = None  # a pattern from the catalogue, checked before the run

    @property
    def key(self) -> str:
        return f"{self.rule}:{self.field}"

    @property
    def severity(self) -> str:
        return "warning" if self.rule in WARNING_RULES else "error"


@dataclass
class CheckPlan:
    register: str
    form: str | None
    columns: dict[str, str | None]  # technical name -> file column (None: missing)
    unknown: list[str]
    rules: list[Rule]
    notes: list[str]
    projections: list[str]  # "expr AS alias" over the source
    sql: str = ""


@dataclass
class CheckReport:
    """The outcome of a check. `to_json()` is the documented report format."""

    register: str
    form: str | None
    file: str | None
    rows: int
    today: str
    by_rule: dict[str, int]
    severity: dict[str, str]
    examples: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(n for k, n in self.by_rule.items() if self.severity[k] == "error")

    @property
    def warnings(self) -> int:
        return sum(n for k, n in self.by_rule.items() if self.severity[k] == "warning")

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "register": self.register,
            "form": self.form,
            "file": self.file,
            "today": self.today,
            "row_numbers": "1-based data rows; a CSV header is not counted",
            "rows": self.rows,
            "errors": self.errors,
            "warnings": self.warnings,
            "by_rule": dict(self.by_rule),
            "examples": list(self.examples),
            "missing_columns": list(self.missing_columns),
            "unknown_columns": list(self.unknown_columns),
            "notes": list(self.notes),
        }


# --- choosing the form and its columns --------------------------------------------------


def _technical(variable) -> str:
    return variable.id.split(":", 1)[1] if ":" in variable.id else variable.id


def _register(catalogue, register_id: str):
    reg = catalogue.registers.get(register_id)
    if reg is None:
        known = ", ".join(sorted(catalogue.registers)[:20])
        raise RegcatError(f"unknown register {register_id!r} (known: {known or 'none'})")
    return reg


def _form_variables(reg, form: str | None) -> list:
    variables = list(reg.variables or [])
    forms = [f.id for f in reg.forms or []]
    if form is None:
        return variables
    if form not in forms:
        raise RegcatError(
            f"register {reg.id!r} has no form {form!r} (forms: {', '.join(forms) or 'none'})"
        )
    return [v for v in variables if v.form == form]


def _match_columns(variables: list, file_columns: list[str]) -> dict[str, str | None]:
    by_lower: dict[str, str] = {}
    for col in file_columns:
        by_lower.setdefault(col.lower(), col)
    used: set[str] = set()
    result: dict[str, str | None] = {}
    for variable in variables:  # technical names first
        col = by_lower.get(_technical(variable).lower())
        if col is not None and col not in used:
            result[_technical(variable)] = col
            used.add(col)
    physical_counts: dict[str, int] = {}
    for variable in variables:
        if variable.physical_name:
            key = variable.physical_name.lower()
            physical_counts[key] = physical_counts.get(key, 0) + 1
    for variable in variables:
        name = _technical(variable)
        if name in result:
            continue
        col = None
        if variable.physical_name and physical_counts[variable.physical_name.lower()] == 1:
            col = by_lower.get(variable.physical_name.lower())
        if col is not None and col not in used:
            result[name] = col
            used.add(col)
        else:
            result[name] = None
    return result


def choose_form(catalogue, register_id: str, file_columns: list[str]) -> str | None:
    """The form whose variables match most of the file's columns (None: no forms)."""
    reg = _register(catalogue, register_id)
    forms = [f.id for f in reg.forms or []]
    if not forms:
        return None
    if len(forms) == 1:
        return forms[0]
    scores = []
    for form in forms:
        matched = _match_columns(_form_variables(reg, form), file_columns)
        scores.append((sum(1 for c in matched.values() if c is not None), form))
    scores.sort(key=lambda s: -s[0])
    if scores[0][0] == 0:
        raise RegcatError(
            f"no column of the file matches a variable of register {register_id!r} "
            "(wrong delimiter or register?); give --form to say which form the file holds"
        )
    if len(scores) > 1 and scores[1][0] == scores[0][0]:
        raise RegcatError(
            f"the file's columns fit forms {scores[0][1]!r} and {scores[1][1]!r} equally; "
            "give --form"
        )
    return scores[0][1]


# --- limits -------------------------------------------------------------------------------


@dataclass
class _Bound:
    sql: str
    kind: str  # "number", "date" or "year"


def _resolve_limit(
    raw: str, today: dt.date, birth_year: str | None, reg_date: str | None
) -> _Bound | str:
    """A bound as SQL, or a reason (str) why it cannot be checked."""
    text = raw.strip()
    if text in _TODAY:
        return _Bound(f"DATE '{today.isoformat()}'", "date")
    if text == "toDayPlus30Days":
        return _Bound(f"DATE '{(today + dt.timedelta(days=30)).isoformat()}'", "date")
    if text == "todayYear":
        return _Bound(str(today.year), "year")
    if text == "birthYear":
        if birth_year is None:
            return "the form has no birth-date column to take `birthYear` from"
        return _Bound(birth_year, "year")
    if text == "regDate":
        if reg_date is None:
            return "the form has no registration-date column to take `regDate` from"
        return _Bound(reg_date, "date")
    unquoted = text.strip("'\"")
    if unquoted != text or re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return _Bound(f"DATE '{dt.date.fromisoformat(unquoted).isoformat()}'", "date")
        except ValueError:
            return f"limit {raw!r} is not an ISO date"
    try:
        number = Decimal(text)
    except InvalidOperation:
        return f"limit token {raw!r} is not supported"
    if not number.is_finite():
        return f"limit {raw!r} is not a finite number"
    return _Bound(format(number, "f"), "number")


# --- building the query -----------------------------------------------------------------


def _char_class(chars: str) -> str:
    """An RE2 pattern matching text made only of the given characters."""
    seen: list[str] = []
    for ch in chars:
        if ch not in seen:
            seen.append(ch)
    escaped = "".join("\\" + ch if ch in "\\]^-[" else ch for ch in seen)
    return f"[{escaped}]*"


def build_plan(
    catalogue,
    register_id: str,
    form: str | None,
    source_sql: str,
    columns: dict[str, str] | None = None,
    today: dt.date | None = None,
    row_number_sql: str | None = None,
    examples_per_rule: int = EXAMPLES_PER_RULE,
    only: Collection[str] | None = None,
) -> CheckPlan:
    """Compile the checks for one form into a single SQL statement over `source_sql`
    (a DuckDB FROM item). `columns` are the source's column names and DuckDB types;
    without them every variable is assumed present as VARCHAR. `row_number_sql` gives
    1-based row numbers (default: `row_number() OVER ()`, the source's order). With
    `only` (technical names), just those variables are checked: the output of one
    mapping holds one target variable, not the whole form."""
    today = today or dt.date.today()
    reg = _register(catalogue, register_id)
    variables = _form_variables(reg, form)
    if only is not None:
        variables = [v for v in variables if _technical(v) in set(only)]
    if columns is None:
        columns = {_technical(v): "VARCHAR" for v in variables}
    matched = _match_columns(variables, list(columns))
    used = {c for c in matched.values() if c is not None}
    unknown = [c for c in columns if c not in used]
    notes: list[str] = []
    rules: list[Rule] = []
    projections: list[str] = [f"{row_number_sql or 'row_number() OVER ()'} AS __rn"]
    by_id = {v.id: v for v in variables}
    slot: dict[str, int] = {}  # technical name -> projection index
    text_expr: dict[str, str] = {}
    typed_expr: dict[str, str] = {}
    type_error: dict[str, str] = {}

    # 1. project text and typed values for every present column
    for i, variable in enumerate(variables):
        name = _technical(variable)
        col = matched[name]
        if col is None:
            continue
        slot[name] = i
        ref = quote_ident(col)
        src_type = _base_type(columns[col])
        datatype = getattr(variable.datatype, "value", variable.datatype)
        cast = _CAST_TYPE.get(datatype)
        if src_type == "VARCHAR":
            text = f"NULLIF(trim({ref}), '')"
        elif src_type == "BOOLEAN":
            text = f"CASE WHEN {ref} THEN '1' WHEN NOT {ref} THEN '0' END"
        else:
            text = f"CAST({ref} AS VARCHAR)"
        t, y = f"t{i}", f"y{i}"
        projections.append(f"{text} AS {t}")
        text_expr[name] = t
        if cast is None:
            continue
        native = (
            (datatype == "integer" and src_type in _INT_TYPES)
            or (datatype == "decimal" and (src_type in _INT_TYPES | _FLOAT_TYPES | {"DECIMAL"}))
            or (datatype == "boolean" and src_type == "BOOLEAN")
            or (datatype == "date" and src_type == "DATE")
            or (datatype == "datetime" and src_type in _TIMESTAMP_TYPES | {"DATE"})
            or (datatype == "time" and src_type == "TIME")
        )
        if native:
            projections.append(f"CAST({ref} AS {cast}) AS {y}")
        elif datatype == "integer" and src_type in _FLOAT_TYPES | {"DECIMAL"}:
            projections.append(
                f"CASE WHEN {ref} = trunc({ref}) THEN TRY_CAST({ref} AS BIGINT) END AS {y}"
            )
            type_error[name] = f"{t} IS NOT NULL AND {y} IS NULL"
        elif datatype == "date" and src_type in _TIMESTAMP_TYPES:
            projections.append(f"CAST({ref} AS DATE) AS {y}")
        else:
            if datatype == "integer":
                projections.append(
                    f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+') "
                    f"THEN TRY_CAST({t} AS BIGINT) END AS {y}"
                )
            else:
                projections.append(f"TRY_CAST({t} AS {cast}) AS {y}")
            type_error[name] = f"{t} IS NOT NULL AND {y} IS NULL"
        typed_expr[name] = y

    def find_date_column(pattern: re.Pattern) -> str | None:
        for v in variables:
            n = _technical(v)
            if (
                getattr(v.datatype, "value", v.datatype) in ("date", "datetime")
                and pattern.search(n)
                and n in typed_expr
            ):
                return typed_expr[n]
        return None

    birth = find_date_column(_BIRTH_NAME)
    birth_year = f"year({birth})" if birth else None
    reg_col = find_date_column(_REG_NAME)
    reg_date = f"CAST({reg_col} AS DATE)" if reg_col else None

    # 2. the rules
    for variable in variables:
        name = _technical(variable)
        if name not in slot:
            rules.append(Rule("missing_column", name, ""))
            continue
        t = text_expr[name]
        y = typed_expr.get(name)
        datatype = getattr(variable.datatype, "value", variable.datatype)
        present = f"{t} IS NOT NULL"

        activated: str | None = None
        rule = variable.activated_by
        if rule is not None:
            activator = by_id.get(rule.variable)
            a_name = _technical(activator) if activator is not None else None
            if activator is None or a_name not in text_expr:
                where = "is not in the form" if activator is None else "has no column"
                notes.append(
                    f"activation:{name} not checked: its activating variable "
                    f"{rule.variable} {where}"
                )
            else:
                a_text = text_expr[a_name]
                if rule.values:
                    codes = ", ".join(quote_literal(str(c)) for c in rule.values)
                    activated = f"coalesce({a_text} IN ({codes}), false)"
                else:
                    activated = f"({a_text} IS NOT NULL)"
                rules.append(Rule("activation", name, f"{present} AND NOT {activated}"))

        if variable.required:
            if rule is None:
                rules.append(Rule("required", name, f"{t} IS NULL"))
            elif activated is not None:
                rules.append(Rule("required", name, f"{t} IS NULL AND {activated}"))
            else:
                notes.append(f"required:{name} not checked: its activation cannot be evaluated")

        if name in type_error:
            rules.append(Rule("type", name, type_error[name]))

        if variable.value_set:
            vs = catalogue.value_sets.get(variable.value_set)
            codes = [str(c.code) for c in (vs.codes or [])] if vs is not None else []
            if not codes:
                notes.append(
                    f"value_set:{name} not checked: value set {variable.value_set} "
                    "is unknown or empty"
                )
            else:
                listed = ", ".join(quote_literal(c) for c in dict.fromkeys(codes))
                rules.append(Rule("value_set", name, f"{present} AND {t} NOT IN ({listed})"))

        if variable.max_length is not None:
            rules.append(Rule("max_length", name, f"length({t}) > {int(variable.max_length)}"))

        if variable.decimals is not None and datatype == "decimal" and y is not None:
            n = int(variable.decimals)
            if name in type_error:  # read from text: count the digits written
                cond = f"{y} IS NOT NULL AND length(split_part({t}, '.', 2)) > {n}"
            else:  # a native number
                cond = f"round({y}, {n}) <> {y}"
            rules.append(Rule("decimals", name, cond))

        if variable.allowed_characters:
            pattern = _char_class(variable.allowed_characters)
            rules.append(
                Rule(
                    "allowed_characters",
                    name,
                    f"{present} AND NOT regexp_full_match({t}, {quote_literal(pattern)})",
                )
            )

        if variable.pattern:
            rules.append(
                Rule(
                    "pattern",
                    name,
                    f"{present} AND NOT regexp_full_match({t}, {quote_literal(variable.pattern)})",
                    regex=variable.pattern,
                )
            )

        # limits: hard ones are errors; a soft one counts only where the hard one holds
        limits = {
            "hard_min": variable.min_value,
            "hard_max": variable.max_value,
            "soft_min": variable.soft_min,
            "soft_max": variable.soft_max,
        }
        conds: dict[str, str] = {}
        for key, raw in limits.items():
            if raw is None or str(raw).strip() == "":
                continue
            bound = _resolve_limit(str(raw), today, birth_year, reg_date)
            if isinstance(bound, str):
                notes.append(f"{key}:{name} not checked: {bound}")
                continue
            value = _limit_operand(datatype, y, t, bound)
            if value is None:
                notes.append(
                    f"{key}:{name} not checked: a {bound.kind} limit does not fit "
                    f"datatype {datatype}"
                )
                continue
            op = "<" if key.endswith("min") else ">"
            conds[key] = f"{value} {op} {bound.sql}"
        for key, cond in conds.items():
            if key.startswith("soft"):
                hard = conds.get("hard" + key[4:])
                if hard:
                    cond = f"{cond} AND NOT coalesce({hard}, false)"
            rules.append(Rule(key, name, cond))

    for col in unknown:
        rules.append(Rule("unknown_column", col, ""))

    plan = CheckPlan(register_id, form, matched, unknown, rules, notes, projections)
    plan.sql = _render(plan, source_sql, examples_per_rule)
    return plan


def _limit_operand(datatype: str, typed: str | None, text: str, bound: _Bound) -> str | None:
    if datatype in ("integer", "decimal"):
        return typed if bound.kind in ("number", "year") else None
    if datatype in ("date", "datetime"):
        if bound.kind == "date":
            return f"CAST({typed} AS DATE)"
        if bound.kind == "year":
            return f"year({typed})"
        return None
    if datatype in ("coded", "string", "identifier") and bound.kind in ("number", "year"):
        return f"TRY_CAST({text} AS DOUBLE)"
    return None


def _render(plan: CheckPlan, source_sql: str, k: int) -> str:
    # Three layers: values (text and typed) per column; one boolean per rule; then a
    # count and the first k row numbers per rule. Aggregating precomputed booleans is
    # ~3x faster in DuckDB than count_if/FILTER over the full conditions.
    flags = ["__rn"]
    selects = ["count(*) AS __rows"]
    for i, rule in enumerate(plan.rules):
        if not rule.condition:
            continue
        flags.append(f"({rule.condition}) AS b{i}")
        selects.append(f"count_if(b{i}) AS c{i}")
        selects.append(f"min(CASE WHEN b{i} THEN __rn END, {int(k)}) AS e{i}")
    inner = ",\n      ".join(plan.projections)
    middle = ",\n    ".join(flags)
    outer = ",\n  ".join(selects)
    return (
        f"SELECT\n  {outer}\nFROM (\n  SELECT\n    {middle}\n  FROM (\n    SELECT\n"
        f"      {inner}\n    FROM {source_sql}\n  ) AS __v\n) AS __b"
    )


def checker_sql(
    catalogue,
    register_id: str,
    form: str | None,
    source_sql: str,
    columns: dict[str, str] | None = None,
    today: dt.date | None = None,
) -> str:
    """The one SQL statement that checks `source_sql` (a DuckDB FROM item such as
    `read_parquet('x.parquet')` or a table name) against a form's variables."""
    return build_plan(catalogue, register_id, form, source_sql, columns, today).sql


# --- reading files ----------------------------------------------------------------------


def detect_format(path: Path) -> str:
    """`parquet`, `jsonl` or `csv`, from the content first and then the extension."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except FileNotFoundError:
        raise RegcatError("no such file", path=path) from None
    except OSError as exc:
        raise RegcatError(f"cannot read the file ({exc.strerror})", path=path) from None
    if head.startswith(b"PAR1"):
        return "parquet"
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        raise RegcatError("not a Parquet file (no PAR1 header)", path=path)
    if not head.strip():
        raise RegcatError("the file is empty", path=path)
    if b"\x00" in head:
        raise RegcatError("a binary file, not CSV, Parquet or JSON Lines", path=path)
    if suffix in (".jsonl", ".ndjson", ".json") or head.lstrip().startswith(b"{"):
        return "jsonl"
    return "csv"


def _source_sql(path: Path, fmt: str, columns: list[str] | None = None) -> tuple[str, str | None]:
    lit = quote_literal(str(path))
    if fmt == "parquet":
        return f"read_parquet({lit}, file_row_number = true)", "file_row_number + 1"
    if fmt == "jsonl":
        if columns is None:
            return f"read_json({lit}, format = 'newline_delimited')", None
        spec = ", ".join(f"{quote_literal(c)}: 'VARCHAR'" for c in columns)
        return f"read_json({lit}, format = 'newline_delimited', columns = {{{spec}}})", None
    return f"read_csv({lit}, header = true, all_varchar = true)", None


def _read_error(path: Path, fmt: str, exc: Exception) -> RegcatError:
    """DuckDB's message can quote a whole line of the file: keep only where and what."""
    message = str(exc)
    line = None
    m = re.search(r"[Ll]ine:?\s*(\d+)", message)
    if m:
        line = int(m.group(1))
    kinds = [
        ("Expected Number of Columns", "a row has a different number of fields than the header"),
        ("unterminated quote", "a quoted field is not closed"),
        ("nvalid unicode", "not UTF-8 text (save the file as UTF-8)"),
        ("UTF-8", "not UTF-8 text (save the file as UTF-8)"),
        ("Malformed JSON", "not valid JSON Lines"),
        ("JSON", "not valid JSON Lines"),
        ("parquet", "not a readable Parquet file"),
        ("Parquet", "not a readable Parquet file"),
    ]
    what = next((text for marker, text in kinds if marker in message), None)
    if what is None:
        what = f"cannot be read as {fmt.upper() if fmt != 'jsonl' else 'JSON Lines'}"
    return RegcatError(what, path=path, line=line)


def _describe(con, source: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    return {r[0]: r[1] for r in rows}


def _check_patterns(con, plan: CheckPlan) -> None:
    """Drop pattern rules whose regular expression RE2 rejects (with a note)."""
    keep = []
    for rule in plan.rules:
        if rule.regex is not None:
            try:
                con.execute("SELECT regexp_full_match('', ?)", [rule.regex])
            except Exception:  # noqa: BLE001 - any DuckDB error means an unusable pattern
                plan.notes.append(f"pattern:{rule.field} not checked: not a valid RE2 pattern")
                continue
        keep.append(rule)
    plan.rules = keep


def check_relation(
    con,
    catalogue,
    register_id: str,
    source_sql: str,
    form: str | None = None,
    today: dt.date | None = None,
    row_number_sql: str | None = None,
    file: str | None = None,
    only: Collection[str] | None = None,
) -> CheckReport:
    """Check any DuckDB FROM item (a table, a view, a table function) on connection
    `con`. Row numbers follow the relation's order unless `row_number_sql` is given."""
    today = today or dt.date.today()
    columns = _describe(con, source_sql)
    if row_number_sql and "file_row_number" in row_number_sql:
        columns.pop("file_row_number", None)  # added by read_parquet, not the file's own
    if form is None:
        form = choose_form(catalogue, register_id, list(columns))
    plan = build_plan(
        catalogue, register_id, form, source_sql, columns, today, row_number_sql, only=only
    )
    if plan.columns and not any(c is not None for c in plan.columns.values()):
        raise RegcatError(
            f"no column of the file matches a variable of form {form!r} "
            f"({len(columns)} column(s) read: wrong delimiter or wrong form?)",
            path=file,
        )
    _check_patterns(con, plan)
    plan.sql = _render(plan, source_sql, EXAMPLES_PER_RULE)
    row = con.execute(plan.sql).fetchone()
    return _report(plan, row, today, file)


def _report(plan: CheckPlan, row, today: dt.date, file: str | None) -> CheckReport:
    by_rule: dict[str, int] = {}
    severity: dict[str, str] = {}
    examples: list[dict[str, Any]] = []
    values = iter(row[1:])
    for rule in plan.rules:
        severity[rule.key] = rule.severity
        if not rule.condition:
            by_rule[rule.key] = 1
            continue
        count, rows = next(values), next(values)
        if count:
            by_rule[rule.key] = int(count)
            for r in rows or []:
                examples.append(
                    {
                        "row": int(r),
                        "field": rule.field,
                        "rule": rule.rule,
                        "severity": rule.severity,
                    }
                )
    examples.sort(key=lambda e: (e["row"], e["field"], e["rule"]))
    return CheckReport(
        register=plan.register,
        form=plan.form,
        file=file,
        rows=int(row[0]),
        today=today.isoformat(),
        by_rule=by_rule,
        severity=severity,
        examples=examples[:MAX_EXAMPLES],
        notes=plan.notes,
        missing_columns=[n for n, c in plan.columns.items() if c is None],
        unknown_columns=list(plan.unknown),
    )


def check_data(
    catalogue,
    register_id: str,
    path: str | Path,
    form: str | None = None,
    today: dt.date | None = None,
    threads: int | None = None,
    only: Collection[str] | None = None,
) -> CheckReport:
    """Check a CSV, Parquet or JSON Lines file against a register form (see the module
    docstring for the rules and the report). Raises RegcatError on unusable input."""
    import duckdb

    path = Path(path)
    _register(catalogue, register_id)
    if form is not None:
        _form_variables(catalogue.registers[register_id], form)
    fmt = detect_format(path)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        try:
            source, rn = _source_sql(path, fmt)
            if fmt == "jsonl":
                names = list(_describe(con, source))
                source, rn = _source_sql(path, fmt, names)
            return check_relation(
                con, catalogue, register_id, source, form, today, rn, file=str(path), only=only
            )
        except duckdb.Error as exc:
            raise _read_error(path, fmt, exc) from None
    finally:
        con.close()
