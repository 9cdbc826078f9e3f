"""Excel value semantics for compiled formulas: coercion, operators, errors, the function library.

Values: None (blank), float, str, bool, XlError. Arrays (array constants and
ranges) are Python lists, flattened row by row; operators and most functions
apply element-wise to them, as Excel does inside SUMPRODUCT and LOOKUP.
Errors are values, so one bad element never spoils its neighbours.
"""
from __future__ import annotations

import datetime
import math
import re
from decimal import ROUND_HALF_UP, Decimal

from .functions import excel_decimal, excel_round, excel_rounddown, excel_roundup


class XlError:
    __slots__ = ("code",)

    def __init__(self, code: str):
        self.code = code

    def __repr__(self):
        return self.code

    def __eq__(self, other):
        return isinstance(other, XlError) and other.code == self.code

    def __hash__(self):
        return hash(self.code)


DIV0, VALUE, NA, NUM, REF, NAME = (XlError(c) for c in ("#DIV/0!", "#VALUE!", "#N/A", "#NUM!", "#REF!", "#NAME?"))
ERRORS = {e.code: e for e in (DIV0, VALUE, NA, NUM, REF, NAME, XlError("#NULL!"))}


class Unsupported(Exception):
    """A function or construct this engine does not evaluate (the caller falls back)."""


def cell_value(v):
    """A value as stored in a cell, in this engine's types."""
    if v is None or isinstance(v, (bool, str)):
        if isinstance(v, str) and v in ERRORS:
            return ERRORS[v]
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, Decimal):
        return float(v) if v.is_finite() else NUM
    if isinstance(v, (datetime.datetime, datetime.date, datetime.time, datetime.timedelta)):
        from openpyxl.utils.datetime import to_excel

        try:
            return float(to_excel(v))  # Excel stores dates as serial numbers
        except (TypeError, ValueError, OverflowError):
            return VALUE
    return str(v)


# ---- coercion ----------------------------------------------------------------------
_NUMBER_TEXT = re.compile(r"^\s*([+-]?(?:\d+(?:,\d{3})*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(%?)\s*$")


def text_to_number(s: str):
    m = _NUMBER_TEXT.match(s)
    if not m:
        return VALUE
    n = float(m.group(1).replace(",", ""))
    return n / 100 if m.group(2) else n


def num(v):
    """Excel's coercion to a number for arithmetic ("90%" → 0.9, blank → 0, "abc" → #VALUE!)."""
    if isinstance(v, float):
        return v
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, str):
        return text_to_number(v)
    if isinstance(v, list):
        return num(v[0]) if v else VALUE
    return v  # XlError


def text(v):
    """Excel's coercion to text (numbers as General shows them)."""
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return general(v)
    if isinstance(v, list):
        return text(v[0]) if v else VALUE
    return v


def general(x: float) -> str:
    if not math.isfinite(x):
        return "#NUM!"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    d = excel_decimal(x)
    s = format(d.normalize(), "f") if abs(x) >= 1e-9 else format(d.normalize(), "E")
    return s


def truthy(v):
    """The condition of IF/AND/OR; an error raises nothing here — callers check first."""
    if isinstance(v, list):
        v = v[0] if v else VALUE
    if isinstance(v, bool):
        return v
    if v is None:
        return False
    if isinstance(v, float):
        return v != 0
    if isinstance(v, str):
        u = v.upper()
        if u in ("TRUE", "FALSE"):
            return u == "TRUE"
        return VALUE
    return v


def _is_err(v):
    return v.__class__ is XlError


def _broadcast(fn, *args):
    arrays = [a for a in args if isinstance(a, list)]
    if not arrays:
        return fn(*args)
    n = max(len(a) for a in arrays)
    out = []
    for i in range(n):
        out.append(fn(*[(a[i] if i < len(a) else NA) if isinstance(a, list) else a for a in args]))
    return out


def elementwise(fn):
    def wrapper(*args):
        for a in args:
            if a.__class__ is list:
                return _broadcast(fn, *args)
        return fn(*args)
    wrapper.__name__ = fn.__name__
    return wrapper


# ---- operators ---------------------------------------------------------------------
def _arith(op):
    def scalar(a, b):
        a, b = num(a), num(b)
        if _is_err(a):
            return a
        if _is_err(b):
            return b
        try:
            r = op(a, b)
        except ZeroDivisionError:
            return DIV0
        except (OverflowError, ValueError):
            return NUM
        return r if math.isfinite(r) else NUM
    return elementwise(scalar)


def _div(a, b):
    if b == 0:
        raise ZeroDivisionError
    return a / b


def _pow(a, b):
    if a == 0 and b < 0:
        raise ZeroDivisionError
    r = a ** b
    if isinstance(r, complex):
        raise ValueError
    return r


ADD = _arith(lambda a, b: a + b)
SUB = _arith(lambda a, b: a - b)
MUL = _arith(lambda a, b: a * b)
DIV = _arith(_div)
POW = _arith(_pow)


@elementwise
def NEG(a):
    a = num(a)
    return a if _is_err(a) else -a


@elementwise
def POS(a):
    return a


@elementwise
def PERCENT(a):
    a = num(a)
    return a if _is_err(a) else a / 100


@elementwise
def CONCAT_OP(a, b):
    a, b = text(a), text(b)
    if _is_err(a):
        return a
    if _is_err(b):
        return b
    return a + b


def _rank(v):
    # Excel orders numbers < text < logicals; blank compares as 0 or "".
    if isinstance(v, float):
        return 0
    if isinstance(v, str):
        return 1
    return 2


def _compare(a, b):
    if _is_err(a):
        return a
    if _is_err(b):
        return b
    if a is None:
        a = "" if isinstance(b, str) else (False if isinstance(b, bool) else 0.0)
    if b is None:
        b = "" if isinstance(a, str) else (False if isinstance(a, bool) else 0.0)
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return (ra > rb) - (ra < rb)
    if isinstance(a, str):
        a, b = a.lower(), b.lower()
    return (a > b) - (a < b)


def _comparison(test):
    def scalar(a, b):
        c = _compare(a, b)
        return c if _is_err(c) else test(c)
    return elementwise(scalar)


EQ = _comparison(lambda c: c == 0)
NE = _comparison(lambda c: c != 0)
LT = _comparison(lambda c: c < 0)
GT = _comparison(lambda c: c > 0)
LE = _comparison(lambda c: c <= 0)
GE = _comparison(lambda c: c >= 0)


# ---- functions ---------------------------------------------------------------------
def _flatten(args, numbers_only_in_arrays=True):
    for a in args:
        if isinstance(a, list):
            yield from a
        else:
            yield a


def _numbers(args):
    """Numbers for SUM/MIN/MAX/COUNT: arrays keep only numbers; direct arguments are coerced."""
    for a in args:
        if isinstance(a, list):
            for v in a:
                if _is_err(v):
                    yield v
                elif isinstance(v, float):
                    yield v
        elif a is None:
            continue
        else:
            n = num(a)
            yield n


def SUM(*args):
    total = 0.0
    for v in _numbers(args):
        if _is_err(v):
            return v
        total += v
    return total if math.isfinite(total) else NUM


def COUNT(*args):
    n = 0
    for a in args:
        for v in (a if isinstance(a, list) else [a]):
            if isinstance(v, float) or (not isinstance(a, list) and isinstance(v, (bool, str)) and not _is_err(num(v))):
                n += 1
    return float(n)


def COUNTA(*args):
    return float(sum(1 for v in _flatten(args) if v is not None))


def _extreme(pick, args):
    values = []
    for v in _numbers(args):
        if _is_err(v):
            return v
        values.append(v)
    return pick(values) if values else 0.0


def MIN(*args):
    return _extreme(min, args)


def MAX(*args):
    return _extreme(max, args)


def AVERAGE(*args):
    values = []
    for v in _numbers(args):
        if _is_err(v):
            return v
        values.append(v)
    return sum(values) / len(values) if values else DIV0


def SUMPRODUCT(*arrays):
    arrays = [a if isinstance(a, list) else [a] for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        return VALUE
    total = 0.0
    for i in range(n):
        product = 1.0
        for a in arrays:
            v = a[i]
            if _is_err(v):
                return v
            product *= v if isinstance(v, float) else 0.0
        total += product
    return total


def N(v):
    if isinstance(v, list):
        v = v[0] if v else NA
    if isinstance(v, float) or _is_err(v):
        return v
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    return 0.0


def _round_function(fn):
    def scalar(x, digits=0.0):
        x, digits = num(x), num(digits)
        if _is_err(x):
            return x
        if _is_err(digits):
            return digits
        try:
            return fn(x, digits)
        except (ValueError, ArithmeticError):
            return NUM
    return elementwise(scalar)


ROUND = _round_function(excel_round)
ROUNDUP = _round_function(excel_roundup)
ROUNDDOWN = _round_function(excel_rounddown)


@elementwise
def ABS(x):
    x = num(x)
    return x if _is_err(x) else abs(x)


@elementwise
def ISNUMBER(v):
    return isinstance(v, float)


@elementwise
def ISTEXT(v):
    return isinstance(v, str)


@elementwise
def ISBLANK(v):
    return v is None


@elementwise
def ISERROR(v):
    return _is_err(v)


@elementwise
def TRIM(s):
    s = text(s)
    return s if _is_err(s) else re.sub(" +", " ", s).strip(" ")


@elementwise
def ASC(s):
    from ..values import to_half_width

    s = text(s)
    return s if _is_err(s) else to_half_width(s)


_CELL_FORMATS = {"general": "G", "0": "F0", "0.00": "F2", "#,##0": ",0", "#,##0.00": ",2", "@": "@"}


def cell_format_code(number_format: str | None) -> str:
    """CELL("format", ref): "P2" for 0.00%, "F0" for 0, "G" for General…"""
    from ..values import is_percent_format

    fmt = (number_format or "General").strip()
    if is_percent_format(fmt):
        m = re.search(r"0\.(0+)%", fmt)
        return f"P{len(m.group(1)) if m else 0}"
    return _CELL_FORMATS.get(fmt.lower(), "G")


@elementwise
def LEN(s):
    s = text(s)
    return s if _is_err(s) else float(len(s))


def _count(n, default=None):
    if n is None:
        return default
    n = num(n)
    return n if _is_err(n) else int(n)


@elementwise
def LEFT(s, n=None):
    s, k = text(s), _count(n, 1)
    if _is_err(s):
        return s
    if _is_err(k):
        return k
    return VALUE if k < 0 else s[:k]


@elementwise
def RIGHT(s, n=None):
    s, k = text(s), _count(n, 1)
    if _is_err(s):
        return s
    if _is_err(k):
        return k
    return VALUE if k < 0 else (s[-k:] if k else "")


@elementwise
def MID(s, start, n):
    s, a, k = text(s), _count(start), _count(n)
    for v in (s, a, k):
        if _is_err(v):
            return v
    return VALUE if a < 1 or k < 0 else s[a - 1:a - 1 + k]


def _find(case_sensitive):
    def scalar(needle, haystack, start=None):
        needle, haystack, a = text(needle), text(haystack), _count(start, 1)
        for v in (needle, haystack, a):
            if _is_err(v):
                return v
        if a < 1 or a > len(haystack) + 1:
            return VALUE
        if case_sensitive:
            i = haystack.find(needle, a - 1)
        else:
            i = haystack.lower().find(needle.lower(), a - 1)
        return VALUE if i < 0 else float(i + 1)
    return elementwise(scalar)


FIND = _find(True)
SEARCH = _find(False)


@elementwise
def SUBSTITUTE(s, old, new, instance=None):
    s, old, new = text(s), text(old), text(new)
    for v in (s, old, new):
        if _is_err(v):
            return v
    if instance is not None:
        raise Unsupported("SUBSTITUTE instance")
    return s.replace(old, new) if old else s


@elementwise
def VALUE_(s):
    if isinstance(s, float):
        return s
    if s is None:
        return 0.0
    if isinstance(s, str):
        return text_to_number(s)
    return VALUE if isinstance(s, bool) else s


_TEXT_FORMAT = re.compile(r"^0(?:\.(0+))?(%?)$")


@elementwise
def TEXT(v, fmt):
    fmt = text(fmt)
    if _is_err(fmt):
        return fmt
    x = num(v) if not isinstance(v, str) or not _is_err(num(v)) else v
    if isinstance(x, str):
        return x
    if _is_err(x):
        return x
    m = _TEXT_FORMAT.match(fmt)
    if not m:
        raise Unsupported(f"TEXT format {fmt!r}")
    places = len(m.group(1) or "")
    value = excel_decimal(x * 100 if m.group(2) else x)
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)}{m.group(2)}"


def LOOKUP(value, vector, result=None):
    """Vector form with an approximate match: the last element ≤ value of value's type."""
    vector = vector if isinstance(vector, list) else [vector]
    if _is_err(value):
        return value
    found = None
    for i, v in enumerate(vector):
        if _is_err(v) or v is None or _rank(v) != _rank(value):
            continue
        c = _compare(v, value)
        if c <= 0:
            found = i
    if found is None:
        return NA
    if result is None:
        return vector[found]
    result = result if isinstance(result, list) else [result]
    return result[found] if found < len(result) else NA


def IFERROR(v, fallback):
    return _broadcast(lambda x, f: f if _is_err(x) else x, v, fallback)


def _logical(args):
    values = []
    for v in _flatten(args):
        if isinstance(v, (bool, float)):
            values.append(bool(v))
        elif _is_err(v):
            return v
        elif isinstance(v, str) and not isinstance(args[0], list):
            t = truthy(v)
            if _is_err(t):
                return t
            values.append(t)
    return values if values else VALUE


def AND(*args):
    v = _logical(args)
    return v if _is_err(v) else all(v)


def OR(*args):
    v = _logical(args)
    return v if _is_err(v) else any(v)


def NOT(v):
    t = truthy(v)
    return t if _is_err(t) else not t


def OFFSET(area, r1, c1, r2, c2, rows, cols, height=None, width=None):
    """OFFSET(reference, rows, cols, [height], [width]): area(r1, c1, r2, c2) reads the cells; a single
    cell is its value, a larger result the list of its values (what SUM and the like take)."""
    parts = [num(v) for v in (rows, cols)]
    parts += [float(r2 - r1 + 1) if height is None else num(height), float(c2 - c1 + 1) if width is None else num(width)]
    for p in parts:
        if _is_err(p):
            return p
    dr, dc, h, w = (int(p) for p in parts)  # Excel truncates toward zero
    top, left = r1 + dr, c1 + dc
    if h < 1 or w < 1 or top < 1 or left < 1 or top + h - 1 > 1_048_576 or left + w - 1 > 16_384:
        return REF
    values = area(top, left, top + h - 1, left + w - 1)
    return values[0] if len(values) == 1 else values


LIBRARY = {
    "SUM": SUM, "COUNT": COUNT, "COUNTA": COUNTA, "MIN": MIN, "MAX": MAX, "AVERAGE": AVERAGE,
    "SUMPRODUCT": SUMPRODUCT, "N": N, "ROUND": ROUND, "ROUNDUP": ROUNDUP, "ROUNDDOWN": ROUNDDOWN, "ABS": ABS,
    "ISNUMBER": ISNUMBER, "ISTEXT": ISTEXT, "ISBLANK": ISBLANK, "ISERROR": ISERROR, "TRIM": TRIM, "LEN": LEN, "ASC": ASC,
    "LEFT": LEFT, "RIGHT": RIGHT, "MID": MID, "FIND": FIND, "SEARCH": SEARCH, "SUBSTITUTE": SUBSTITUTE,
    "VALUE": VALUE_, "TEXT": TEXT, "LOOKUP": LOOKUP, "IFERROR": IFERROR, "AND": AND, "OR": OR, "NOT": NOT,
}
