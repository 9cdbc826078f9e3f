"""Excel functions whose semantics the `formulas` package does not reproduce exactly.

Excel's ROUND first takes the value to 15 significant digits (what the cell
shows), then rounds half away from zero: ROUND(0.285, 2) = 0.29 and
ROUND(-1.005, 2) = -1.01, although the nearest doubles are just below .285 and
above -1.005. `formulas` 1.3.4 rounds the raw binary value (0.28 and -1.0).
"""
from __future__ import annotations

import decimal
import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

_CONTEXT = decimal.Context(prec=60)
EXCEL_SIGNIFICANT_DIGITS = 15


def excel_decimal(x: float) -> Decimal:
    """The number as Excel shows it: 15 significant digits."""
    return Decimal(format(float(x), f".{EXCEL_SIGNIFICANT_DIGITS}g"))


def _round(x: float, digits: float, rounding: str) -> float:
    if isinstance(x, bool) or isinstance(digits, bool):
        x, digits = float(x), float(digits)
    if not math.isfinite(x):
        raise ValueError("not finite")
    places = int(digits)  # Excel truncates the digits argument toward zero
    value = excel_decimal(x)
    quantum = Decimal(1).scaleb(-places)
    result = value.quantize(quantum, rounding=rounding, context=_CONTEXT) if places > -300 else Decimal(0)
    return float(result)


def excel_round(x: float, digits: float = 0) -> float:
    """ROUND: half away from zero on the 15-digit value."""
    return _round(x, digits, ROUND_HALF_UP)


def excel_roundup(x: float, digits: float = 0) -> float:
    """ROUNDUP: away from zero."""
    return _round(x, digits, ROUND_UP)


def excel_rounddown(x: float, digits: float = 0) -> float:
    """ROUNDDOWN: toward zero."""
    return _round(x, digits, ROUND_DOWN)


FAITHFUL = {"ROUND": excel_round, "ROUNDUP": excel_roundup, "ROUNDDOWN": excel_rounddown}


def register_with_formulas() -> None:
    """Replace the `formulas` package's ROUND family by the faithful one (idempotent)."""
    import logging

    import formulas
    from formulas.functions import wrap_ufunc

    # schedula logs every failed function with its Python traceback: never on a user's console
    # (the cell's finding says, in Chinese, what could not be computed).
    for name in ("schedula", "formulas"):
        quiet = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in quiet.handlers):
            quiet.addHandler(logging.NullHandler())
        quiet.propagate = False

    functions = formulas.get_functions()
    for name, func in FAITHFUL.items():
        if getattr(functions.get(name), "__xlperf__", False):
            continue
        wrapped = wrap_ufunc(func)
        wrapped.__xlperf__ = True
        functions[name] = wrapped
