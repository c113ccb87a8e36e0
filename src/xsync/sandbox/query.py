r"""The `where` and `order` mini-languages of Xero list endpoints, evaluated on Xero JSON.

Supported `where` forms (the ones clients use): comparisons ``Field op value`` with ``== != > >= <
<=``, dotted paths (``Contact.ContactID``), ``.ToLower()``/``.ToUpper()`` on a field,
``.Contains("x")``/``.StartsWith("x")``/``.EndsWith("x")``, bare boolean fields, ``AND``/``OR``/
``NOT``/``&&``/``||`` with parentheses. Values: "strings", numbers, ``true``/``false``/``null``,
``guid("…")``/``Guid("…")`` and ``DateTime(y,m,d[,h,m,s])``. Field names match case-insensitively.
Anything else raises ``QuerySyntaxError`` (the API answers 400).

String literals follow Xero's parser (the Dynamic LINQ one, whose error texts Xero returns): a
double quote inside a literal is written twice (``Name=="O""Brien & Co"``), and a backslash is
an ordinary character with no escaping power (``Name=="C:\temp\"`` ends at its last quote). So
``\"`` does not escape a quote: it ends the literal, and what follows is a syntax error, as on
Xero.

`order`: comma-separated ``Field [ASC|DESC]`` on dotted paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from xsync.sandbox import xjson

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>"(?:[^"]|"")*")
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|>=|<=|&&|\|\||>|<|=)
    | (?P<punct>[().,])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


class QuerySyntaxError(ValueError):
    """A `where` or `order` expression the emulator does not understand."""


@dataclass
class _Tok:
    kind: str
    text: str


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise QuerySyntaxError(f"cannot parse the where clause near: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append(_Tok(kind, match.group(kind)))
        pos = match.end()
    return out


def lookup(doc: Any, path: list[str]) -> Any:
    """A dotted field of a Xero document, matching each name case-insensitively."""
    value = doc
    for name in path:
        if not isinstance(value, dict):
            return None
        if name in value:
            value = value[name]
            continue
        lowered = name.lower()
        value = next((v for k, v in value.items() if k.lower() == lowered), None)
    return value


class _Guid(str):
    """A ``guid("…")`` literal: compared case-insensitively."""


def _comparable(value: Any, other: Any) -> Any:
    """Bring a document value into the literal's domain (dates, numbers, guids)."""
    if isinstance(other, _Guid) and isinstance(value, str):
        return value.lower()
    if isinstance(other, datetime) and isinstance(value, str):
        instant = xjson.parse_ms(value)
        return instant if instant else value
    if (
        isinstance(other, Decimal)
        and isinstance(value, int | Decimal)
        and not isinstance(value, bool)
    ):
        return Decimal(value)
    return value


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


@dataclass
class _Node:
    """A compiled where expression: a Python predicate, and SQL when it maps to index columns."""

    pred: Predicate
    sql: tuple[str, list[Any]] | None


def _identity(value: Any) -> Any:
    return value


def _join_sql(parts: list[_Node], joiner: str) -> tuple[str, list[Any]] | None:
    if any(p.sql is None for p in parts):
        return None
    params: list[Any] = []
    for part in parts:
        params.extend(part.sql[1])  # type: ignore[index]
    return f" {joiner} ".join(f"({p.sql[0]})" for p in parts), params  # type: ignore[index]


class _Parser:
    def __init__(self, text: str, columns: dict[str, str] | None = None) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.columns = columns or {}

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise QuerySyntaxError("the where clause ends unexpectedly")
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text:
            raise QuerySyntaxError(f"expected {text!r} in the where clause, found {tok.text!r}")

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.text.upper() in words and tok.kind in ("word", "op")

    def parse(self) -> _Node:
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise QuerySyntaxError(f"unexpected {tok.text!r} in the where clause")
        return node

    def or_expr(self) -> _Node:
        parts = [self.and_expr()]
        while self.is_word("OR", "||"):
            self.take()
            parts.append(self.and_expr())
        if len(parts) == 1:
            return parts[0]
        preds = [p.pred for p in parts]
        return _Node(lambda d: any(p(d) for p in preds), _join_sql(parts, "OR"))

    def and_expr(self) -> _Node:
        parts = [self.unary()]
        while self.is_word("AND", "&&"):
            self.take()
            parts.append(self.unary())
        if len(parts) == 1:
            return parts[0]
        preds = [p.pred for p in parts]
        return _Node(lambda d: all(p(d) for p in preds), _join_sql(parts, "AND"))

    def unary(self) -> _Node:
        if self.is_word("NOT"):
            self.take()
            inner = self.unary()
            sql = (f"NOT ({inner.sql[0]})", inner.sql[1]) if inner.sql else None
            return _Node(lambda d: not inner.pred(d), sql)
        tok = self.peek()
        if tok is not None and tok.text == "(":
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> _Node:
        path, transform, method = self.field()
        if method is not None:
            name, arg = method
            return _Node(_method_predicate(path, transform, name, arg), None)
        tok = self.peek()
        if tok is None or tok.kind != "op" or tok.text not in _OPS:
            return _Node(lambda d: lookup(d, path) is True, None)
        op_text = self.take().text
        op = _OPS[op_text]
        literal = self.value()
        column = self.columns.get(".".join(path).lower())
        sql = None
        if column and transform is _identity and isinstance(literal, str) and op_text != "=":
            value = literal.lower() if isinstance(literal, _Guid) else literal
            sql = (f"{column} {'=' if op_text == '==' else '!='} ?", [value])

        def pred(doc: dict[str, Any]) -> bool:
            value = transform(lookup(doc, path))
            if value is None or literal is None:
                return op(value, literal) if op in (_OPS["=="], _OPS["!="]) else False
            value = _comparable(value, literal)
            try:
                return bool(op(value, literal))
            except TypeError:
                return False

        return _Node(pred, sql)

    def field(self) -> tuple[list[str], Callable[[Any], Any], tuple[str, Any] | None]:
        tok = self.take()
        if tok.kind != "word":
            raise QuerySyntaxError(f"expected a field name in the where clause, found {tok.text!r}")
        path = [tok.text]
        transform: Callable[[Any], Any] = _identity
        while self.peek() is not None and self.peek().text == ".":  # type: ignore[union-attr]
            self.take()
            name = self.take()
            if name.kind != "word":
                raise QuerySyntaxError(f"expected a name after '.', found {name.text!r}")
            nxt = self.peek()
            if nxt is not None and nxt.text == "(":
                self.take()
                low = name.text.lower()
                if low in ("tolower", "toupper"):
                    self.expect(")")
                    transform = _case(low)
                    continue
                if low in ("contains", "startswith", "endswith"):
                    arg = self.value()
                    self.expect(")")
                    return path, transform, (low, arg)
                raise QuerySyntaxError(f"the method {name.text}() is not supported in where")
            path.append(name.text)
        return path, transform, None

    def value(self) -> Any:
        tok = self.take()
        if tok.kind == "str":
            return _unquote(tok.text)
        if tok.kind == "num":
            return Decimal(tok.text)
        if tok.kind == "word":
            low = tok.text.lower()
            if low in ("true", "false"):
                return low == "true"
            if low == "null":
                return None
            if low == "guid":
                self.expect("(")
                arg = self.take()
                if arg.kind != "str":
                    raise QuerySyntaxError("guid() takes a quoted string")
                self.expect(")")
                return _Guid(_unquote(arg.text).lower())
            if low == "datetime":
                return self.datetime_literal()
        raise QuerySyntaxError(f"unsupported value {tok.text!r} in the where clause")

    def datetime_literal(self) -> datetime:
        self.expect("(")
        nums: list[int] = []
        while True:
            tok = self.take()
            if tok.kind != "num":
                raise QuerySyntaxError("DateTime() takes integers: DateTime(2026,01,31)")
            nums.append(int(tok.text))
            sep = self.take().text
            if sep == ")":
                break
            if sep != ",":
                raise QuerySyntaxError("DateTime() takes comma-separated integers")
        if not 3 <= len(nums) <= 6:
            raise QuerySyntaxError("DateTime() takes 3 to 6 numbers")
        try:
            parts = [*nums, 0, 0, 0]
            return datetime(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], tzinfo=UTC)
        except ValueError as exc:
            raise QuerySyntaxError(f"invalid DateTime(): {exc}") from None


def _case(name: str) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return value.lower() if name == "tolower" else value.upper()

    return apply


def _unquote(text: str) -> str:
    return text[1:-1].replace('""', '"')


def _method_predicate(
    path: list[str], transform: Callable[[Any], Any], name: str, arg: Any
) -> Predicate:
    if not isinstance(arg, str):
        raise QuerySyntaxError(f"{name}() takes a quoted string")

    def pred(doc: dict[str, Any]) -> bool:
        value = transform(lookup(doc, path))
        if not isinstance(value, str):
            return False
        if name == "contains":
            return arg in value
        if name == "startswith":
            return value.startswith(arg)
        return value.endswith(arg)

    return pred


def where_predicate(text: str) -> Predicate:
    """Compile a `where` expression; ``QuerySyntaxError`` when unsupported."""
    return compile_where(text).pred


def compile_where(text: str, columns: dict[str, str] | None = None) -> _Node:
    """Compile a `where` expression; ``sql`` is set when every comparison is an (in)equality on
    a field listed in ``columns`` (lower-case dotted path → SQL column), so SQL can filter."""
    if not text.strip():
        return _Node(lambda d: True, ("1", []))
    return _Parser(text, columns).parse()


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | Decimal):
        return (2, Decimal(value))
    if isinstance(value, str):
        instant = xjson.parse_ms(value)
        if instant is not None:
            return (3, instant)
        return (4, value.lower())
    return (5, str(value))


def order_keys(text: str) -> list[tuple[list[str], bool]]:
    """Parse ``order``: a list of (path, descending)."""
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise QuerySyntaxError(f"cannot parse the order clause {text!r}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", words[0]):
            raise QuerySyntaxError(f"cannot parse the order clause {text!r}")
        keys.append((words[0].split("."), len(words) == 2 and words[1].upper() == "DESC"))
    return keys


def sort_documents(docs: list[dict[str, Any]], keys: list[tuple[list[str], bool]]) -> None:
    """Stable multi-key sort in place (last key first, so earlier keys dominate)."""
    for path, desc in reversed(keys):
        docs.sort(key=lambda d, p=path: _sort_key(lookup(d, p)), reverse=desc)  # type: ignore[misc]
