"""Parse cell values as accountants type them. Never raises.

`parse_value(raw, number_format)` turns whatever a cell holds (a number, a
string such as "≥90%", "100万元", "９０％", "持续", "约90%", an Excel error,
a date) into a `Value`. Numbers become `Decimal` via Excel's 15 significant
digits, so 0.1+0.2 typed through a formula reads as 0.3, as Excel shows it.
"""
from __future__ import annotations

import datetime as _dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .model import BLANK, Value
from .vocabulary import (
    APPROXIMATE_MARKERS,
    DEADLINE_MARKERS,
    EXCEL_ERRORS,
    LIST_MARKS_AFTER_NUMBER,
    PERCENT_WORDS,
    PLACEHOLDERS,
    PREFIX_OPERATORS,
    SUFFIX_OPERATORS,
)

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")

_PARENTHETICAL = re.compile(r"[（(][^（()）]*[)）]$")
_NUMBER = re.compile(r"^([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)")
_OP_SYMBOLS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "=": "="}


def half_up(value: Decimal, places: Decimal = CENT) -> Decimal:
    """Round half up (away from zero for .5), the way the rules require.

    A value too large to hold at that many places (1E+156 to 0.01) is returned
    as it is: absurd inputs are reported by the rules, never a crash.
    """
    try:
        return value.quantize(places, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return value


def decimal_from_float(x: float) -> Decimal:
    """A float as Excel shows it: 15 significant digits, then exact decimal."""
    if x != x or x in (float("inf"), float("-inf")):
        raise InvalidOperation("not finite")
    return plain(Decimal(format(x, ".15g")))


def plain(d: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent form (90.0 → 90, not 9E+1)."""
    if d == 0:
        return Decimal(0)
    if d == d.to_integral_value():
        return d.quantize(Decimal(1))
    return d.normalize()


def to_decimal(x: object) -> Decimal | None:
    """Decimal of a plain number cell (int/float/Decimal), else None."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return Decimal(x)
    if isinstance(x, float):
        try:
            return decimal_from_float(x)
        except InvalidOperation:
            return None
    if isinstance(x, Decimal):
        return x if x.is_finite() else None
    return None


def format_number(d: Decimal) -> str:
    """Plain text of a Decimal without exponent or trailing zeros (11.250 → 11.25)."""
    if d == d.to_integral_value():
        try:
            return str(d.quantize(Decimal(1)))
        except InvalidOperation:  # more digits than the context holds (1E+156): still no exponent
            return format(d, "f")
    return format(d.normalize(), "f")


def format_score(d: Decimal) -> str:
    """A score or total as the seeds print them: always two decimals (89.50, 0.00)."""
    return f"{half_up(d, CENT):.2f}"


def format_percent(rate: Decimal, places: int = 2) -> str:
    """A fraction as a percentage: Decimal('1') → '100.00%'."""
    q = Decimal(1).scaleb(-places)
    return f"{half_up(rate * 100, q)}%"


def is_percent_format(number_format: str | None) -> bool:
    if not number_format:
        return False
    # Literal text in quotes or escaped with a backslash is not a percent sign.
    stripped = re.sub(r'"[^"]*"|\\.', "", number_format)
    return "%" in stripped


def _percent_places(number_format: str) -> int:
    m = re.search(r"0\.(0+)%", number_format)
    return len(m.group(1)) if m else 0


_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def to_half_width(s: str) -> str:
    """Full-width ASCII (９０％＜) and the ideographic space to half-width, exactly as Excel's ASC()."""
    return s.translate(_HALF_WIDTH)


def normalise_text(s: str) -> str:
    """Half-width (as Excel's ASC), all whitespace removed."""
    return re.sub(r"\s+", "", to_half_width(s))


def parse_value(raw: object, number_format: str | None = None) -> Value:
    """Parse one cell value. Never raises."""
    try:
        return _parse(raw, number_format)
    except Exception as exc:  # the parser promises never to raise
        return Value("invalid", shown=_safe_str(raw), problem=f"无法识别的值（{type(exc).__name__}）")


def _safe_str(raw: object) -> str:
    try:
        return str(raw)
    except Exception:
        return "?"


def _parse(raw: object, number_format: str | None) -> Value:
    if raw is None:
        return BLANK
    if isinstance(raw, bool):
        return Value("invalid", shown="TRUE" if raw else "FALSE", problem="此处应为数值，单元格中是逻辑值（TRUE/FALSE）")
    if isinstance(raw, (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)):
        return Value("invalid", shown=str(raw), problem="此处应为数值，单元格中是日期或时间（请检查单元格格式）")
    number = to_decimal(raw)
    if number is not None:
        if is_percent_format(number_format):
            points = number * 100
            places = _percent_places(number_format or "")
            shown = f"{half_up(points, Decimal(1).scaleb(-places))}%" if places else f"{format_number(points)}%"
            return Value("number", shown=shown, number=plain(points), percent=True)
        return Value("number", shown=format_number(number), number=number)
    if isinstance(raw, (float, Decimal)):
        return Value("invalid", shown=_safe_str(raw), problem="数值无效（非有限数）")
    if not isinstance(raw, str):
        return Value("invalid", shown=_safe_str(raw), problem="无法识别的值")
    return parse_text(raw)


def parse_text(raw: str) -> Value:
    shown = raw.strip()
    s = normalise_text(raw)
    if not s:
        return BLANK
    if s.upper() in EXCEL_ERRORS or s in EXCEL_ERRORS:
        return Value("invalid", shown=shown, problem=f"单元格显示错误值 {s}，请修正其公式或改为数值")
    s = _PARENTHETICAL.sub("", s) or s  # "95%以上（含95%）" → "95%以上"
    if s in PLACEHOLDERS:
        return Value("invalid", shown=shown, problem=f"“{shown}”不是数值，请填写实际数值或删除")
    has_digit = re.search(r"[0-9]", s) is not None  # an estimate is a number: 本着节约的原则 is text
    for marker in APPROXIMATE_MARKERS:
        if marker in s and has_digit:
            return Value("invalid", shown=shown, problem=f"“{shown}”是估计值，请填写确切数值（如 90%）")
    if any(marker in s for marker in DEADLINE_MARKERS):
        return Value("text", shown=shown, text=s)
    rest = s
    op = None
    for word, symbol in PREFIX_OPERATORS:
        if rest.startswith(word):
            op, rest = symbol, rest[len(word):]
            break
    m = _NUMBER.match(rest)
    if not m:
        if op is not None:
            return Value("invalid", shown=shown, problem=f"“{shown}”有比较符号但没有数值")
        return Value("text", shown=shown, text=s)
    try:
        number = Decimal(m.group(1).replace(",", ""))
    except InvalidOperation:
        return Value("invalid", shown=shown, problem=f"“{shown}”无法识别为数值")
    rest = rest[m.end():]
    percent = False
    for word in PERCENT_WORDS:
        if rest.startswith(word):
            percent, rest = True, rest[len(word):]
            break
    for word, symbol in SUFFIX_OPERATORS:
        if rest.endswith(word):
            if op is not None and op != symbol:
                return Value("invalid", shown=shown, problem=f"“{shown}”的比较方向前后矛盾")
            op, rest = symbol, rest[: -len(word)]
            break
    if rest.endswith("%") and not percent:
        percent, rest = True, rest[:-1]
    unit = None
    if rest:
        if rest[0] in LIST_MARKS_AFTER_NUMBER or any(ch.isdigit() for ch in rest):
            # "1.各级各部门业务上云数2.…" is a numbered name, not a number.
            return Value("text", shown=shown, text=s)
        # A percentage carries no other unit: "100%按合同支付" is 100%.
        unit = None if percent else rest
    return Value("number", shown=shown, number=number, percent=percent, op=op, unit=unit)


TEXT_NUMBER = "number-as-text"  # Value.text of an invalid Value that is a number typed as text


def number_typed_as_text(raw: object) -> Value | None:
    """A number typed as text in a cell Excel's formulas read as a number (a budget amount, a weight).

    SUM skips text and N() reads it as 0, so the template's totals, rates and scores leave it out:
    `９５`, `1,000.50`, ` 95 `, `95万元`, `20分` are invalid there, with what makes them text and the
    number to type instead. None when raw is no text or holds no plain number (the rules say why).
    """
    if not isinstance(raw, str):
        return None
    v = parse_text(raw)
    if v.kind != "number" or v.op is not None:
        return None
    reasons = []
    if to_half_width(raw) != raw:
        reasons.append("全角字符")
    if "," in raw or "，" in raw:
        reasons.append("千位分隔符")
    if raw != raw.strip() or re.search(r"\S\s+\S", raw):
        reasons.append("空格")
    if v.percent:
        reasons.append("百分号")
    if v.unit:
        reasons.append(f"单位“{v.unit}”")
    if not reasons:
        reasons.append("单元格为文本格式或以 ' 开头")
    number = format_number(v.number)
    problem = (f"“{raw}”是文字而不是数值（{'、'.join(reasons)}），Excel 的公式不把它计入合计、比率和得分；"
               f"请改为数字 {number}（只填数字，单元格格式为“常规”或“数值”）")
    return Value("invalid", shown=raw, text=TEXT_NUMBER, problem=problem)


def operator_symbol(op: str | None) -> str:
    return _OP_SYMBOLS.get(op or "", "")
