"""Excel formula text → a small immutable syntax tree.

Tokens come from openpyxl's Tokenizer; precedence follows Excel:
comparison < & < + - < * / < ^ < unary minus < % .
References are kept relative to the cell that holds the formula, so every
cell of a filled-down column shares one *shape* (see `shape_key`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import column_index_from_string


class FormulaSyntaxError(ValueError):
    pass


STRING_LITERAL = re.compile(r'"(?:[^"]|"")*"')


def outside_strings(formula: str, transform) -> str:
    """Apply transform to every part of the formula text that is not inside a "string literal"."""
    parts, last = [], 0
    for m in STRING_LITERAL.finditer(formula):
        parts.append(transform(formula[last:m.start()]))
        parts.append(m.group(0))
        last = m.end()
    parts.append(transform(formula[last:]))
    return "".join(parts)


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Logical:
    value: bool


@dataclass(frozen=True)
class ErrorLiteral:
    code: str


@dataclass(frozen=True)
class Ref:
    """A cell reference; row/col are offsets from the host cell unless absolute."""

    sheet: str | None
    row: int
    col: int
    row_abs: bool
    col_abs: bool


@dataclass(frozen=True)
class Area:
    first: Ref
    last: Ref


@dataclass(frozen=True)
class ArrayLiteral:
    rows: tuple[tuple, ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple


@dataclass(frozen=True)
class Binary:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Unary:
    op: str  # "-", "+", "%"
    operand: object


_CELL = re.compile(r"^(\$?)([A-Za-z]{1,3})(\$?)(\d+)$")
_PRECEDENCE = {"=": 1, "<>": 1, "<": 1, ">": 1, "<=": 1, ">=": 1, "&": 2, "+": 3, "-": 3, "*": 4, "/": 4, "^": 5}
_UNARY_PRECEDENCE = 6


def _split_sheet(text: str) -> tuple[str | None, str]:
    if "!" not in text:
        return None, text
    sheet, _, ref = text.rpartition("!")
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, ref


def _cell(text: str, sheet: str | None, host_row: int, host_col: int) -> Ref:
    m = _CELL.match(text)
    if not m:
        raise FormulaSyntaxError(f"unsupported reference {text!r}")
    col_abs, col, row_abs, row = m.group(1) == "$", column_index_from_string(m.group(2).upper()), m.group(3) == "$", int(m.group(4))
    return Ref(sheet, row if row_abs else row - host_row, col if col_abs else col - host_col, row_abs, col_abs)


EXCEL_MAX_ROW, EXCEL_MAX_COLUMN = 1_048_576, 16_384
_WHOLE_COLUMNS = re.compile(r"^\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})$")
_WHOLE_ROWS = re.compile(r"^\$?(\d+):\$?(\d+)$")


def _whole(ref: str, sheet: str | None) -> Area | None:
    """E:E or 3:5 as the area it spans. Absolute: a shape keeps such a reference's text as it is."""
    if m := _WHOLE_COLUMNS.match(ref):
        a, b = (column_index_from_string(x.upper()) for x in m.groups())
        return Area(Ref(sheet, 1, a, True, True), Ref(sheet, EXCEL_MAX_ROW, b, True, True))
    if m := _WHOLE_ROWS.match(ref):
        a, b = (int(x) for x in m.groups())
        if a >= 1 and b >= 1:
            return Area(Ref(sheet, a, 1, True, True), Ref(sheet, b, EXCEL_MAX_COLUMN, True, True))
    return None


def _reference(text: str, host_row: int, host_col: int):
    sheet, ref = _split_sheet(text)
    if ":" in ref:
        whole = _whole(ref, sheet)
        if whole is not None:
            return whole
        a, b = ref.split(":", 1)
        return Area(_cell(a, sheet, host_row, host_col), _cell(b, sheet, host_row, host_col))
    return _cell(ref, sheet, host_row, host_col)


def function_names(formula: str) -> list[str]:
    """The functions a formula calls, as written (upper case, an _xlfn. prefix kept), in order, once each."""
    try:
        items = Tokenizer(formula).items
    except Exception:  # a formula the tokenizer cannot read calls nothing we could name
        return []
    names = [t.value[:-1].upper() for t in items if t.type == Token.FUNC and t.subtype == Token.OPEN and t.value != "("]
    return list(dict.fromkeys(names))


class _Parser:
    def __init__(self, formula: str, host_row: int, host_col: int):
        self.tokens = [t for t in Tokenizer(formula).items if t.type != Token.WSPACE]
        self.i = 0
        self.host = (host_row, host_col)

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self):
        tok = self.peek()
        if tok is None:
            raise FormulaSyntaxError("unexpected end of formula")
        self.i += 1
        return tok

    def parse(self):
        node = self.expression(0)
        if self.peek() is not None:
            raise FormulaSyntaxError(f"unexpected {self.peek().value!r}")
        return node

    def expression(self, min_precedence: int):
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is None or tok.type != Token.OP_IN or tok.value not in _PRECEDENCE:
                return left
            precedence = _PRECEDENCE[tok.value]
            if precedence < min_precedence:
                return left
            self.take()
            # ^ is left-associative in Excel, like the others.
            right = self.expression(precedence + 1)
            left = Binary(tok.value, left, right)

    def unary(self):
        tok = self.peek()
        if tok is not None and tok.type == Token.OP_PRE:
            self.take()
            return Unary(tok.value, self.unary())
        return self.postfix(self.primary())

    def postfix(self, node):
        while (tok := self.peek()) is not None and tok.type == Token.OP_POST:
            self.take()
            node = Unary("%", node)
        return node

    def primary(self):
        tok = self.take()
        if tok.type == Token.OPERAND:
            return self.operand(tok)
        if tok.type == Token.FUNC and tok.subtype == Token.OPEN:
            if tok.value == "(":
                node = self.expression(0)
                self.expect_close()
                return node
            return Call(tok.value[:-1].upper().replace("_XLFN.", ""), self.arguments())
        if tok.type == Token.ARRAY and tok.subtype == Token.OPEN:
            return self.array()
        if tok.type == Token.PAREN and tok.subtype == Token.OPEN:
            node = self.expression(0)
            self.expect_close()
            return node
        raise FormulaSyntaxError(f"unexpected {tok.value!r}")

    def expect_close(self):
        tok = self.take()
        if tok.subtype != Token.CLOSE:
            raise FormulaSyntaxError(f"expected ')' not {tok.value!r}")

    def arguments(self) -> tuple:
        args = []
        tok = self.peek()
        if tok is not None and tok.type == Token.FUNC and tok.subtype == Token.CLOSE:
            self.take()
            return ()
        while True:
            tok = self.peek()
            if tok is not None and tok.type == Token.SEP:
                args.append(None)  # an omitted argument
            else:
                args.append(self.expression(0))
            tok = self.take()
            if tok.type == Token.SEP and tok.subtype == Token.ARG:
                continue
            if tok.type == Token.FUNC and tok.subtype == Token.CLOSE:
                return tuple(args)
            raise FormulaSyntaxError(f"unexpected {tok.value!r} in arguments")

    def array(self):
        rows, row = [], []
        while True:
            tok = self.take()
            if tok.type == Token.OPERAND:
                row.append(self.operand(tok))
            elif tok.type == Token.OP_PRE and tok.value == "-":
                number = self.take()
                row.append(Number(-float(number.value)))
            elif tok.type == Token.SEP:
                if tok.subtype == Token.ROW:
                    rows.append(tuple(row))
                    row = []
            elif tok.type == Token.ARRAY and tok.subtype == Token.CLOSE:
                rows.append(tuple(row))
                return ArrayLiteral(tuple(rows))
            else:
                raise FormulaSyntaxError(f"unexpected {tok.value!r} in array")

    def operand(self, tok):
        if tok.subtype == Token.NUMBER:
            return Number(float(tok.value))
        if tok.subtype == Token.TEXT:
            return Text(tok.value[1:-1].replace('""', '"'))
        if tok.subtype == Token.LOGICAL:
            return Logical(tok.value.upper() == "TRUE")
        if tok.subtype == Token.ERROR:
            return ErrorLiteral(tok.value.upper())
        return _reference(tok.value, *self.host)


def parse(formula: str, host_row: int = 1, host_col: int = 1):
    """Parse '=...' formula text held by the cell at (host_row, host_col)."""
    if not formula.startswith("="):
        formula = "=" + formula
    return _Parser(formula, host_row, host_col).parse()


def shape_key(formula: str, host_row: int, host_col: int) -> tuple:
    """A key shared by every cell whose formula is the same up to relative references."""
    return (repr(parse(formula, host_row, host_col)),)
