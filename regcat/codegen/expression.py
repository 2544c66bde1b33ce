"""The allow-list grammar for `expression` transformations. An expression is parsed
into a small AST and rendered as SQL (DuckDB, transpiled by sqlglot) and as Python
(calls to null-propagating helpers); it is never evaluated as code.

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := add (("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") add)?
    add     := mul (("+" | "-") mul)*
    mul     := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "null" | "true" | "false" | VARIABLE
             | FUNCTION "(" expr ("," expr)* ")" | "(" expr ")"

VARIABLE is a catalogue variable id (`npr:inndato`); STRING is single-quoted with ''
for a quote; FUNCTION is one of FUNCTIONS. Semantics follow SQL: NULL propagates
through arithmetic and comparisons, and/or/not use three-valued logic, division by
zero gives NULL, round() rounds half away from zero.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from regcat.errors import RegcatError

# name -> (min args, max args)
FUNCTIONS: dict[str, tuple[int, int]] = {
    "coalesce": (1, 16),
    "round": (1, 2),
    "abs": (1, 1),
    "year": (1, 1),
    "lower": (1, 1),
    "upper": (1, 1),
}
COMPARISONS = {"=": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
ARITHMETIC = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
KEYWORDS = {"and", "or", "not", "null", "true", "false"}
MAX_LENGTH = 2000

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<var>[a-z][a-z0-9_]*:[A-Za-z0-9_]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|[-+*/=<>(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Node:
    kind: str  # num, str, null, bool, var, call, bin, cmp, and, or, not, neg
    value: object = None
    args: tuple[Node, ...] = ()


class ExpressionError(RegcatError):
    pass


def _tokens(text: str) -> list[tuple[str, str, int]]:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters")
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(
                f"expression: unexpected {text[pos : pos + 10]!r} at character {pos + 1}; "
                "allowed: numbers, 'strings', variable ids (register:name), "
                f"+ - * / comparisons, and/or/not, and the functions {', '.join(FUNCTIONS)}"
            )
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group(), pos))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def fail(self, message: str) -> ExpressionError:
        tok = self.peek()
        where = f"at character {tok[2] + 1}" if tok else "at the end"
        return ExpressionError(f"expression {self.text!r}: {message} {where}")

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1].lower() != value):
            raise self.fail(f"expected {value!r}" if value else "unexpected end")
        self.i += 1
        return tok

    def at(self, *values: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] in ("op", "name") and tok[1].lower() in values

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise self.fail("unexpected token")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            self.take()
            node = Node("or", None, (node, self.and_()))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.at("and"):
            self.take()
            node = Node("and", None, (node, self.not_()))
        return node

    def not_(self) -> Node:
        if self.at("not"):
            self.take()
            return Node("not", None, (self.not_(),))
        return self.cmp()

    def cmp(self) -> Node:
        node = self.add()
        if self.at(*COMPARISONS):
            op = COMPARISONS[self.take()[1]]
            node = Node("cmp", op, (node, self.add()))
        return node

    def add(self) -> Node:
        node = self.mul()
        while self.at("+", "-"):
            op = ARITHMETIC[self.take()[1]]
            node = Node("bin", op, (node, self.mul()))
        return node

    def mul(self) -> Node:
        node = self.unary()
        while self.at("*", "/"):
            op = ARITHMETIC[self.take()[1]]
            node = Node("bin", op, (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.take()
            return Node("neg", None, (self.unary(),))
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.fail("expected a value")
        kind, text, _ = tok
        if kind == "number":
            self.take()
            value = float(text) if any(c in text for c in ".eE") else int(text)
            if isinstance(value, float) and not math.isfinite(value):
                raise self.fail("number out of range")
            return Node("num", value)
        if kind == "string":
            self.take()
            return Node("str", text[1:-1].replace("''", "'"))
        if kind == "var":
            self.take()
            return Node("var", text)
        if kind == "name":
            low = text.lower()
            if low in ("null",):
                self.take()
                return Node("null")
            if low in ("true", "false"):
                self.take()
                return Node("bool", low == "true")
            if low in FUNCTIONS:
                self.take()
                self.take("(")
                args = [self.or_()]
                while self.at(","):
                    self.take()
                    args.append(self.or_())
                self.take(")")
                lo, hi = FUNCTIONS[low]
                if not lo <= len(args) <= hi:
                    raise self.fail(f"{low}() takes {lo}..{hi} arguments, got {len(args)}")
                return Node("call", low, tuple(args))
            raise self.fail(
                f"{text!r} is not allowed (functions: {', '.join(FUNCTIONS)}; "
                "variables are written register:name)"
            )
        if text == "(":
            self.take()
            node = self.or_()
            self.take(")")
            return node
        raise self.fail(f"unexpected {text!r}")


def parse(text: str) -> Node:
    """Parse an expression against the allow-list; ExpressionError names what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expression is empty")
    return _Parser(text).parse()


def variables(node: Node) -> list[str]:
    """Variable ids referenced, in first-use order."""
    seen: list[str] = []

    def walk(n: Node) -> None:
        if n.kind == "var" and n.value not in seen:
            seen.append(str(n.value))
        for a in n.args:
            walk(a)

    walk(node)
    return seen


# -- SQL ---------------------------------------------------------------------------


def sql_string(value: str) -> str:
    """A DuckDB/standard SQL string literal (sqlglot re-escapes it per dialect)."""
    return "'" + value.replace("'", "''") + "'"


def sql_number(value: float | int) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExpressionError(f"not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"number out of range: {value!r}")
    return repr(value) if isinstance(value, int) else repr(float(value))


_SQL_CMP = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_SQL_BIN = {"add": "+", "sub": "-", "mul": "*"}


def to_sql(node: Node, column: dict[str, str]) -> str:
    """DuckDB SQL; `column` maps variable ids to already-quoted column references."""
    k = node.kind
    if k == "num":
        return sql_number(node.value)  # type: ignore[arg-type]
    if k == "str":
        return sql_string(str(node.value))
    if k == "null":
        return "NULL"
    if k == "bool":
        return "TRUE" if node.value else "FALSE"
    if k == "var":
        return column[str(node.value)]
    a = [to_sql(x, column) for x in node.args]
    if k == "neg":
        return f"(-{a[0]})"
    if k == "not":
        return f"(NOT {a[0]})"
    if k in ("and", "or"):
        return f"({a[0]} {k.upper()} {a[1]})"
    if k == "cmp":
        return f"({a[0]} {_SQL_CMP[str(node.value)]} {a[1]})"
    if k == "bin":
        if node.value == "div":
            return f"(CAST({a[0]} AS DOUBLE) / NULLIF({a[1]}, 0))"
        return f"({a[0]} {_SQL_BIN[str(node.value)]} {a[1]})"
    if k == "call":
        name = str(node.value)
        if name == "year":
            return f"YEAR(CAST({a[0]} AS DATE))"
        if name == "round":
            return f"ROUND({a[0]}, {a[1] if len(a) > 1 else '0'})"
        return f"{name.upper()}({', '.join(a)})"
    raise ExpressionError(f"unknown node {k}")


# -- Python ------------------------------------------------------------------------

# The helper functions the generated module defines; generated expressions call
# nothing else.
PY_HELPERS = {
    "add": "_add",
    "sub": "_sub",
    "mul": "_mul",
    "div": "_div",
    "neg": "_neg",
    "cmp": "_cmp",
    "and": "_and",
    "or": "_or",
    "not": "_not",
    "coalesce": "_coalesce",
    "round": "_round",
    "abs": "_abs",
    "year": "_year",
    "lower": "_lower",
    "upper": "_upper",
}


def to_python(node: Node, row: str = "row", column: dict[str, str] | None = None) -> str:
    """A Python expression over `row` (a dict keyed by column name)."""
    k = node.kind
    if k == "num":
        return sql_number(node.value)  # type: ignore[arg-type]
    if k == "str":
        return repr(str(node.value))
    if k == "null":
        return "None"
    if k == "bool":
        return "True" if node.value else "False"
    if k == "var":
        name = column[str(node.value)] if column else str(node.value)
        return f"{row}.get({name!r})"
    a = [to_python(x, row, column) for x in node.args]
    if k in ("neg", "not"):
        return f"{PY_HELPERS[k]}({a[0]})"
    if k in ("and", "or"):
        return f"{PY_HELPERS[k]}({a[0]}, {a[1]})"
    if k == "cmp":
        return f"_cmp({str(node.value)!r}, {a[0]}, {a[1]})"
    if k == "bin":
        return f"{PY_HELPERS[str(node.value)]}({a[0]}, {a[1]})"
    if k == "call":
        return f"{PY_HELPERS[str(node.value)]}({', '.join(a)})"
    raise ExpressionError(f"unknown node {k}")
