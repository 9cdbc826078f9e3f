"""The value parser: what accountants type, read the way the rules need it."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlperf.values import decimal_from_float, format_percent, half_up, parse_value


@pytest.mark.parametrize(
    "raw, number, percent, op, unit",
    [
        ("90", "90", False, None, None),
        ("90%", "90", True, None, None),
        ("98.00%", "98.00", True, None, None),
        ("≥90%", "90", True, ">=", None),
        (">=95", "95", False, ">=", None),
        ("≤5", "5", False, "<=", None),
        ("100万元", "100", False, None, "万元"),
        ("９０％", "90", True, None, None),
        (" 90 % ", "90", True, None, None),
        ("＜3次", "3", False, "<", "次"),
        ("=100%", "100", True, "=", None),
        ("≥50个", "50", False, ">=", "个"),
        ("≤90万元", "90", False, "<=", "万元"),
        ("≥1个月", "1", False, ">=", "个月"),
        ("≥100百分比", "100", True, ">=", None),
        ("不低于90%", "90", True, ">=", None),
        ("90%以上", "90", True, ">=", None),
        ("5天以内", "5", False, "<=", "天"),
        ("1,200", "1200", False, None, None),
    ],
)
def test_typed_numbers(raw, number, percent, op, unit):
    v = parse_value(raw)
    assert v.kind == "number"
    assert v.number == Decimal(number)
    assert (v.percent, v.op, v.unit) == (percent, op, unit)
    assert v.shown == raw.strip()


@pytest.mark.parametrize("raw", ["持续", "及时", "健全", "达成预期指标", "定性有效", "在项目计划完成时间内完成",
                                 "1.各级各部门业务上云数2.信息资源融合部门数"])
def test_text_is_qualitative(raw):
    v = parse_value(raw)
    assert v.kind == "text" and v.number is None


@pytest.mark.parametrize("raw", ["约90%", "90%左右", "暂无", "/", "—", "#DIV/0!", "#REF!", "#VALUE!", "≥"])
def test_junk_is_reported_never_scored(raw):
    v = parse_value(raw)
    assert v.kind == "invalid" and v.problem


def test_cell_types():
    assert parse_value(None).is_blank
    assert parse_value("   ").is_blank
    assert parse_value(True).kind == "invalid"
    assert parse_value(dt.datetime(2024, 1, 1)).kind == "invalid"
    v = parse_value(0.9, "0%")
    assert (v.number, v.percent, v.shown) == (Decimal(90), True, "90%")
    v = parse_value(0.98, "0.00%")
    assert (v.number, v.shown) == (Decimal(98), "98.00%")
    assert parse_value(11.25).number == Decimal("11.25")
    assert parse_value(0.9, '0.0"%"').percent is False  # a literal % in quotes is not a percent format


def test_excel_fifteen_digits():
    # 5 × 93.1% in floating point is 4.654999999999999; Excel shows 4.655.
    assert decimal_from_float(5 * 0.931) == Decimal("4.655")
    assert decimal_from_float(0.1 + 0.2) == Decimal("0.3")
    assert half_up(decimal_from_float(5 * 0.931)) == Decimal("4.66")


def test_half_up_not_bankers():
    assert half_up(Decimal("11.025")) == Decimal("11.03")
    assert half_up(Decimal("2.675")) == Decimal("2.68")  # round(2.675, 2) == 2.67 in Python
    assert half_up(Decimal("-1.005")) == Decimal("-1.01")
    assert format_percent(Decimal("0.98")) == "98.00%"


@given(st.text(max_size=40))
def test_parser_never_raises_on_any_string(s):
    v = parse_value(s)
    assert v.kind in ("blank", "number", "text", "invalid")
    if v.kind == "number":
        assert v.number is not None


@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.booleans(), st.none(),
                 st.datetimes(), st.decimals(allow_nan=True)),
       st.sampled_from([None, "General", "0%", "0.00%", "@", "#,##0.00"]))
def test_parser_never_raises_on_any_cell(x, fmt):
    parse_value(x, fmt)


@given(st.decimals(min_value=-10**6, max_value=10**6, places=4, allow_nan=False))
def test_percent_text_roundtrip(d):
    v = parse_value(f"{d}%")
    assert v.kind == "number" and v.percent and v.number == d


@given(st.decimals(min_value=0, max_value=1000, places=3))
def test_half_up_matches_decimal_definition(d):
    assert half_up(d) == d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert abs(half_up(d) - d) <= Decimal("0.005")
