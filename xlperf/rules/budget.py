"""The 预算执行情况 table: derive blank totals, rows (5)–(7), and check it. domain.md §2, §4.5."""
from __future__ import annotations

from decimal import Decimal

from ..model import (
    BUDGET_COLUMNS,
    ERROR,
    INFO,
    SUBTOTAL_PARTS,
    WARNING,
    BudgetResult,
    BudgetTable,
    Finding,
)
from ..values import CENT, TEXT_NUMBER, format_number, half_up
from .indicator import make_finding

AMOUNT_ROWS = ("initial", "annual", "received", "executed")
ROW_LABELS = {
    "initial": "年初预算资金(1)",
    "annual": "全年预算资金(2)",
    "received": "实际到位资金(3)",
    "executed": "全年执行资金(4)",
    "balance": "资金结余(5)",
    "arrival_rate": "预算到位率(6)",
    "execution_rate": "预算执行率(7)",
}
COLUMN_LABELS = {
    "total": "年度总金额",
    "subtotal": "财政资金小计",
    "central": "中央级",
    "provincial": "省级",
    "municipal": "市级",
    "county": "县区级",
    "carryover": "上年结转资金",
    "other": "其他资金",
}
ADJUSTMENT_THRESHOLD = Decimal("0.10")


def _sum(values: list[Decimal | None]) -> Decimal | None:
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def rate_points(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    """numerator / denominator in percent points, half up to 2 places; None for a zero denominator."""
    if denominator is None or denominator == 0:
        return None
    return half_up((numerator or Decimal(0)) / denominator * 100, CENT)


def derive_budget(table: BudgetTable) -> tuple[BudgetResult, list[Finding]]:
    findings: list[Finding] = []
    amounts: dict[tuple[str, str], Decimal | None] = {}
    as_text: set[str] = set()  # columns with a number typed as text: left out, as Excel's formulas do

    def loc(row, col):
        return table.cells.get((row, col))

    def typed(row, col) -> Decimal | None:
        v = table.values.get((row, col))
        if v is None or v.kind == "blank" or table.derived.get((row, col)):
            return None
        if v.kind == "invalid" and v.text == TEXT_NUMBER:
            findings.append(make_finding(ERROR, TEXT_NUMBER, loc(row, col), f"{ROW_LABELS[row]}·{COLUMN_LABELS[col]}：{v.problem}",
                                         published=v.shown))
            as_text.update((col, "total") + (("subtotal",) if col in SUBTOTAL_PARTS else ()))
            return None
        if v.kind != "number" or v.op or (v.unit and v.unit not in ("万元",)):
            findings.append(make_finding(ERROR, "invalid-value", loc(row, col),
                                         f"{ROW_LABELS[row]}·{COLUMN_LABELS[col]}：{v.problem or f'“{v.shown}”不是金额'}，请填写金额（万元）"))
            return None
        if v.number < 0:
            findings.append(make_finding(ERROR, "negative-amount", loc(row, col),
                                         f"{ROW_LABELS[row]}·{COLUMN_LABELS[col]}为负数（{v.shown}），金额不能为负"))
        return v.number

    for row in AMOUNT_ROWS:
        parts = {c: typed(row, c) for c in SUBTOTAL_PARTS + ("carryover", "other")}
        amounts.update({(row, c): v for c, v in parts.items()})
        sub_typed = typed(row, "subtotal")
        sub_parts = _sum([parts[c] for c in SUBTOTAL_PARTS])
        subtotal = _check_sum(findings, loc(row, "subtotal"), sub_typed, sub_parts,
                              f"{ROW_LABELS[row]}的财政资金小计", "中央级+省级+市级+县区级", "subtotal-mismatch")
        amounts[(row, "subtotal")] = subtotal
        total_typed = typed(row, "total")
        total_parts = _sum([subtotal, parts["carryover"], parts["other"]])
        amounts[(row, "total")] = _check_sum(findings, loc(row, "total"), total_typed, total_parts,
                                             f"{ROW_LABELS[row]}的年度总金额", "小计+上年结转+其他", "total-mismatch")

    for col in BUDGET_COLUMNS:
        received, executed = amounts[("received", col)], amounts[("executed", col)]
        annual, initial = amounts[("annual", col)], amounts[("initial", col)]
        amounts[("balance", col)] = None if received is None and executed is None else (received or 0) - (executed or 0)
        amounts[("arrival_rate", col)] = rate_points(received, annual)
        amounts[("execution_rate", col)] = rate_points(executed, annual)
        label = COLUMN_LABELS[col]
        if col in as_text:
            continue  # its sums miss the amount typed as text: said at that cell, nothing more to compare
        if (received or executed) and not annual:
            findings.append(make_finding(WARNING, "budget-zero-denominator", loc("annual", col),
                                         f"{label}列有到位或执行资金，但全年预算资金(2)为空或 0，无法计算到位率和执行率；请填写全年预算资金"))
        if received is not None and annual is not None and received > annual:
            findings.append(make_finding(WARNING, "received-over-budget", loc("received", col),
                                         f"{label}列实际到位资金 {format_number(received)} 超过全年预算资金 {format_number(annual)}，请核对",
                                         published=format_number(received), expected=format_number(annual)))
        if executed is not None and received is not None and executed > received:
            findings.append(make_finding(ERROR, "executed-over-received", loc("executed", col),
                                         f"{label}列全年执行资金 {format_number(executed)} 超过实际到位资金 {format_number(received)}，请核对",
                                         published=format_number(executed), expected=format_number(received)))
    _check_published_rows(table, amounts, findings)

    initial, annual = amounts[("initial", "total")], amounts[("annual", "total")]
    if initial and annual is not None and abs(annual - initial) / initial > ADJUSTMENT_THRESHOLD and "total" not in as_text:
        change = half_up((annual - initial) / initial * 100, Decimal("0.1"))
        findings.append(make_finding(INFO, "budget-adjusted", loc("annual", "total"),
                                     f"全年预算资金 {format_number(annual)} 较年初预算 {format_number(initial)} 变动 {change}%，"
                                     "超过 10%，请在自评报告中说明预算调整原因"))

    # The indicator links to 年度总金额, or to 小计 when that has no rate (domain.md §4.5).
    rate_column = next((c for c in ("total", "subtotal") if amounts[("execution_rate", c)] is not None), None)
    execution = amounts[("execution_rate", rate_column)] if rate_column else None
    return BudgetResult(amounts=amounts, execution_rate=execution, rate_column=rate_column), findings


def _check_sum(findings, loc, typed_value, parts_sum, what, formula, code):
    if typed_value is None:
        return parts_sum
    if parts_sum is not None and typed_value != parts_sum:
        findings.append(make_finding(ERROR, code, loc,
                                     f"{what} {format_number(typed_value)} 与 {formula} = {format_number(parts_sum)} 不一致，请核对",
                                     published=format_number(typed_value), expected=format_number(parts_sum)))
    return typed_value


def _check_published_rows(table: BudgetTable, amounts, findings) -> None:
    """Rows (5)–(7) typed by hand (not the template's formulas) must match the arithmetic."""
    for row in ("balance", "arrival_rate", "execution_rate"):
        for col in BUDGET_COLUMNS:
            v = table.values.get((row, col))
            if v is None or v.kind == "blank" or table.derived.get((row, col)):
                continue
            expected = amounts[(row, col)]
            where = table.cells.get((row, col))
            if v.kind != "number":
                findings.append(make_finding(ERROR, "invalid-value", where, f"{ROW_LABELS[row]}·{COLUMN_LABELS[col]}：{v.problem or '不是数值'}"))
                continue
            published = v.number
            if expected is None:
                if published != 0:
                    findings.append(make_finding(ERROR, "budget-row-mismatch", where,
                                                 f"{ROW_LABELS[row]}·{COLUMN_LABELS[col]}填了 {v.shown}，但按表中数据无法计算（分母为空或 0），应留空",
                                                 published=v.shown, expected=""))
                continue
            if row != "balance" and half_up(published, CENT) == expected:
                continue
            if row == "balance" and published == expected:
                continue
            hint = ""
            if published == 0 and expected != 0 and col in ("total", "subtotal"):
                holders = [COLUMN_LABELS[c] for c in SUBTOTAL_PARTS + ("carryover", "other") if amounts[("annual", c)]]
                if holders:
                    hint = f"（资金填在“{'、'.join(holders)}”列，{COLUMN_LABELS[col]}列未汇总）"
            findings.append(make_finding(ERROR, "budget-row-mismatch", where,
                                         f"{ROW_LABELS[row]}·{COLUMN_LABELS[col]}填的是 {v.shown}，按表中数据应为 {format_number(expected)}{hint}",
                                         published=format_number(published), expected=format_number(expected)))
