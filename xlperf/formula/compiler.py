"""Syntax tree → plain Python, compiled once per formula shape.

A shape is a formula with its relative references written as offsets from
the cell holding it (R1C1 style), so the 40 完成率 cells of an input sheet, and
those of every other project sheet, share one compiled function
`f(r, c, g, rng, gs, rngs, nf)`: r, c are the host cell; g/rng read this sheet,
gs/rngs another sheet, nf(sheet, row, col) a cell's number format.
"""
from __future__ import annotations

import re
from typing import Callable

from openpyxl.utils.cell import column_index_from_string

from . import runtime as rt
from .parser import (
    Area,
    ArrayLiteral,
    Binary,
    Call,
    ErrorLiteral,
    Logical,
    Number,
    Ref,
    Text,
    Unary,
    outside_strings,
    parse,
)

_BINARY = {"+": "ADD", "-": "SUB", "*": "MUL", "/": "DIV", "^": "POW", "&": "CONCAT_OP",
           "=": "EQ", "<>": "NE", "<": "LT", ">": "GT", "<=": "LE", ">=": "GE"}
_UNARY = {"-": "NEG", "+": "POS", "%": "PERCENT"}
# In these, a referenced cell counts like a range (its text is ignored); only text typed
# as the argument itself is coerced: SUM(D13,I13) with D13 = "" is not #VALUE!.
_AGGREGATES = frozenset({"SUM", "COUNT", "COUNTA", "MIN", "MAX", "AVERAGE"})

Compiled = Callable  # f(r, c, g, rng, gs, rngs) -> value


def _row(ref: Ref) -> str:
    return str(ref.row) if ref.row_abs else f"(r+{ref.row})"


def _col(ref: Ref) -> str:
    return str(ref.col) if ref.col_abs else f"(c+{ref.col})"


class _Emitter:
    def __init__(self):
        self.constants: list = []

    def const(self, value) -> str:
        self.constants.append(value)
        return f"K[{len(self.constants) - 1}]"

    def emit(self, node) -> str:
        if isinstance(node, Number):
            return repr(node.value)
        if isinstance(node, Text):
            return repr(node.value)
        if isinstance(node, Logical):
            return repr(node.value)
        if isinstance(node, ErrorLiteral):
            return self.const(rt.ERRORS.get(node.code, rt.XlError(node.code)))
        if isinstance(node, Ref):
            if node.sheet is None:
                return f"g({_row(node)},{_col(node)})"
            return f"gs({node.sheet!r},{_row(node)},{_col(node)})"
        if isinstance(node, Area):
            a, b = node.first, node.last
            if a.sheet is None:
                return f"rng({_row(a)},{_col(a)},{_row(b)},{_col(b)})"
            return f"rngs({a.sheet!r},{_row(a)},{_col(a)},{_row(b)},{_col(b)})"
        if isinstance(node, ArrayLiteral):
            values = [self._literal(v) for row in node.rows for v in row]
            return self.const(values)
        if isinstance(node, Binary):
            return f"{_BINARY[node.op]}({self.emit(node.left)},{self.emit(node.right)})"
        if isinstance(node, Unary):
            return f"{_UNARY[node.op]}({self.emit(node.operand)})"
        if isinstance(node, Call):
            return self.call(node)
        raise rt.Unsupported(type(node).__name__)

    def _literal(self, node):
        if isinstance(node, (Number, Text, Logical)):
            return node.value
        if isinstance(node, ErrorLiteral):
            return rt.ERRORS.get(node.code, rt.XlError(node.code))
        raise rt.Unsupported("array element")

    def offset(self, args) -> str:
        """OFFSET reads cells it names only at run time: it gets the area reader and its base area's corners."""
        base = args[0]
        a, b = (base.first, base.last) if isinstance(base, Area) else (base, base)
        reader = "rng" if a.sheet is None else f"(lambda r1,c1,r2,c2: rngs({a.sheet!r},r1,c1,r2,c2))"
        rest = ",".join("None" if x is None else self.emit(x) for x in args[1:])
        return f"OFFSET({reader},{_row(a)},{_col(a)},{_row(b)},{_col(b)},{rest})"

    def call(self, node: Call) -> str:
        args = node.args
        if node.name == "IF":
            if not 1 < len(args) <= 3:
                raise rt.Unsupported("IF arity")
            cond = self.emit(args[0])
            then = self.emit(args[1]) if args[1] is not None else "0.0"
            other = self.emit(args[2]) if len(args) == 3 and args[2] is not None else ("0.0" if len(args) == 3 else "False")
            # Lazy like Excel: only the chosen branch is evaluated; an error condition is the result.
            return f"({then} if (_c:=T({cond})) is True else ({other} if _c is False else _c))"
        if node.name == "CELL":
            info = args[0] if args else None
            if len(args) == 2 and isinstance(info, Text) and info.value.lower() == "format" and isinstance(args[1], Ref):
                ref = args[1]
                return f"CELLFMT(nf({ref.sheet!r},{_row(ref)},{_col(ref)}))"
            raise rt.Unsupported("CELL")
        if node.name == "OFFSET" and 3 <= len(args) <= 5 and isinstance(args[0], (Ref, Area)):
            return self.offset(args)
        if node.name not in rt.LIBRARY:
            raise rt.Unsupported(node.name)
        def argument(a) -> str:
            if a is None:
                return "None"
            if node.name in _AGGREGATES and isinstance(a, Ref):
                return f"[{self.emit(a)}]"
            return self.emit(a)

        rendered = ",".join(argument(a) for a in args)
        return f"L[{node.name!r}]({rendered})"


def compile_shape(formula: str, host_row: int, host_col: int) -> Compiled:
    """Compile the formula held by (host_row, host_col); valid for every cell of its shape."""
    tree = parse(formula, host_row, host_col)
    emitter = _Emitter()
    body = emitter.emit(tree)
    source = f"lambda r, c, g, rng, gs, rngs, nf: _first({body})"
    namespace = {name: getattr(rt, name) for name in set(_BINARY.values()) | set(_UNARY.values())}
    namespace.update(OFFSET=rt.OFFSET, T=rt.truthy, L=rt.LIBRARY, K=emitter.constants, _first=_first, CELLFMT=rt.cell_format_code)
    return eval(compile(source, f"<formula {formula[:40]}>", "eval"), namespace)


def _first(v):
    """A cell shows one value: the top-left element of an array result."""
    if isinstance(v, list):
        return v[0] if v else rt.VALUE
    return v


_REF = re.compile(r"(?<![A-Za-z0-9_.$'!])(\$?)([A-Za-z]{1,3})(\$?)(\d{1,7})(?![\d(A-Za-z_!])")


def shape_of(formula: str, host_row: int, host_col: int) -> str:
    """The formula text with relative references as offsets: equal for every cell of one shape."""
    def relative(m: re.Match) -> str:
        col_abs, col, row_abs, row = m.groups()
        try:
            c = column_index_from_string(col.upper())
        except ValueError:
            return m.group(0)
        rr = f"R{row}" if row_abs else f"R[{int(row) - host_row}]"
        cc = f"C{c}" if col_abs else f"C[{c - host_col}]"
        return rr + cc

    return outside_strings(formula, lambda part: _REF.sub(relative, part))
