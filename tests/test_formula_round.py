"""Excel's ROUND, exactly: the faithful library agrees with the Decimal rules and with LibreOffice."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import formulas
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from xlperf import libreoffice
from xlperf.formula.functions import excel_round, excel_rounddown, excel_roundup, register_with_formulas
from xlperf.rules.indicator import indicator_score
from xlperf.values import decimal_from_float

# (formula argument as Excel text, digits, Excel's result)
PROBES = [
    ("0.285", 2, 0.29), ("-1.005", 2, -1.01), ("1.005", 2, 1.01), ("2.675", 2, 2.68), ("5*0.931", 2, 4.66),
    ("12.5*34.8/40", 2, 10.88), ("11.25*0.98", 2, 11.03), ("0.125", 2, 0.13), ("-0.125", 2, -0.13), ("2.5", 0, 3),
    ("-2.5", 0, -3), ("1.45", 1, 1.5), ("1234.5", -2, 1200), ("1250", -2, 1300), ("0.1+0.2", 15, 0.3),
    ("10/3", 4, 3.3333), ("4.35*100", 0, 435), ("0.29*100", 0, 29), ("1.1-0.1", 0, 1), ("2/3*100", 2, 66.67), ("33.75*0.955", 2, 32.23), ("7.5*0.933", 2, 7), ("1.0049999", 2, 1),
]


@pytest.fixture(scope="module", autouse=True)
def faithful_formulas():
    register_with_formulas()


def _formulas_value(text: str):
    return formulas.Parser().ast(f"={text}")[1].compile()()


@pytest.mark.parametrize("expr, digits, expected", PROBES)
def test_probe_table(expr, digits, expected):
    assert excel_round(eval(expr), digits) == pytest.approx(expected, abs=0)
    assert float(_formulas_value(f"ROUND({expr},{digits})")) == expected


def test_roundup_rounddown():
    assert excel_roundup(1.001, 2) == 1.01 and excel_roundup(-1.001, 2) == -1.01
    assert excel_rounddown(1.239, 2) == 1.23 and excel_rounddown(-1.239, 2) == -1.23
    assert excel_round(1.2345, 2.9) == 1.23  # digits truncated toward zero
    assert float(_formulas_value("ROUNDUP(0.1+0.2,1)")) == 0.3  # 0.30000000000000004 shows as 0.3


def test_errors_pass_through():
    assert str(_formulas_value('ROUND("x",2)')) == "#VALUE!"
    assert str(_formulas_value("ROUND(1/0,2)")) == "#DIV/0!"


@given(st.decimals(min_value=-10**6, max_value=10**6, places=3), st.integers(min_value=0, max_value=2))
def test_matches_decimal_half_up_on_typed_values(d, digits):
    """On values typed with few decimals, Excel's ROUND is Decimal ROUND_HALF_UP (domain.md §4.6)."""
    expected = d.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    assert Decimal(str(excel_round(float(d), digits))) == expected


@given(st.decimals(min_value=0, max_value=100, places=2), st.decimals(min_value=0, max_value=2, places=4))
def test_rules_and_formula_agree_on_scores(weight, rate):
    """指标得分: the Decimal rule and ROUND(权重*完成率, 2) in floating point give the same number."""
    rule = indicator_score(weight, rate)
    excel = excel_round(float(weight) * min(float(rate), 1.0), 2)
    assert Decimal(str(excel)) == rule
    assert decimal_from_float(float(weight) * float(rate)).quantize(Decimal("0.01"), ROUND_HALF_UP) == \
        (weight * rate).quantize(Decimal("0.01"), ROUND_HALF_UP)


@pytest.mark.libreoffice
@pytest.mark.skipif(not libreoffice.available(), reason="LibreOffice 未安装")
def test_probe_table_agrees_with_libreoffice(tmp_path):
    wb = Workbook()
    ws = wb.active
    for row, (expr, digits, _) in enumerate(PROBES, start=1):
        ws.cell(row=row, column=1, value=f"=ROUND({expr},{digits})")
        ws.cell(row=row, column=2, value=f"=ROUNDUP({expr},{digits})")
        ws.cell(row=row, column=3, value=f"=ROUNDDOWN({expr},{digits})")
    wb.save(tmp_path / "probe.xlsx")
    lo = load_workbook(libreoffice.recalculate(tmp_path / "probe.xlsx", tmp_path / "lo"), data_only=True).active
    for row, (expr, digits, expected) in enumerate(PROBES, start=1):
        x = eval(expr)
        assert lo.cell(row=row, column=1).value == pytest.approx(expected, abs=0), expr
        assert lo.cell(row=row, column=1).value == excel_round(x, digits), expr
        if digits >= 15:
            continue  # at 15 digits LibreOffice's ROUNDUP works on the binary value (0.300000000000001)
        assert lo.cell(row=row, column=2).value == excel_roundup(x, digits), expr
        assert lo.cell(row=row, column=3).value == excel_rounddown(x, digits), expr
