"""Scoring of one indicator row: direction, 完成率, 指标得分. Pure functions.

domain.md §4. Rates are fractions quantised half up to 4 places
(1.0000 shows as 100.00%); scores are 权重 × min(完成率, 1) half up to 2 places.
"""
from __future__ import annotations

import dataclasses
import re
from decimal import ROUND_DOWN, Decimal

from ..model import ERROR, INFO, WARNING, Finding, Indicator, IndicatorResult, Loc, Value
from ..profiles import Profile
from ..values import CENT, RATE_PLACES, TEXT_NUMBER, format_number, format_percent, half_up, normalise_text, operator_symbol
from ..vocabulary import (
    BUDGET_INDICATOR_NAME,
    CATEGORIES,
    COMPLETION_WORDS,
    DIRECTION_POSITIVE,
    DIRECTION_QUALITATIVE,
    DIRECTION_REVERSE,
    DIRECTIONS,
    PARTIAL_WORDS,
    POSITIVE_NAME_WORDS,
    WEIGHT_UNITS,
    REVERSE_KEYWORDS,
    REVERSE_OPERATORS,
    SATISFACTION_LEVEL1,
    SATISFACTION_WORD,
)

ONE = Decimal(1)
HUNDRED = Decimal(100)


def make_finding(severity: str, code: str, loc: Loc | None, message: str, published=None, expected=None) -> Finding:
    return Finding(
        severity=severity,
        code=code,
        sheet=loc.sheet if loc else "",
        cell=loc.cell if loc else "",
        message=message,
        published=None if published is None else str(published),
        expected=None if expected is None else str(expected),
    )


def category_key(name: str) -> str:
    """经济效益 ≡ 经济效益指标; full-width and spaces ignored. domain.md §3."""
    s = normalise_text(name or "")
    return s[:-2] if s.endswith("指标") and len(s) > 2 else s


_LEVEL1_KEYS = {category_key(k): k for k in CATEGORIES}
_LEVEL2_KEYS = {category_key(v): (k, v) for k, vs in CATEGORIES.items() for v in vs}


def standard_level1(name: str) -> str | None:
    return _LEVEL1_KEYS.get(category_key(name))


def standard_level2(name: str) -> tuple[str, str] | None:
    return _LEVEL2_KEYS.get(category_key(name))


def is_budget_indicator(ind: Indicator) -> bool:
    return BUDGET_INDICATOR_NAME in normalise_text(ind.level3)


def infer_direction(level3: str, target: Value) -> tuple[str | None, str]:
    """(direction, how): how is 'operator', 'text', 'keyword' or 'default'."""
    if target.kind == "text":
        return DIRECTION_QUALITATIVE, "text"
    if target.kind != "number":
        return None, "none"
    if target.op in REVERSE_OPERATORS:
        return DIRECTION_REVERSE, "operator"
    name = normalise_text(level3)
    if target.op is None and any(k in name for k in REVERSE_KEYWORDS) and not any(w in name for w in POSITIVE_NAME_WORDS):
        return DIRECTION_REVERSE, "keyword"
    return DIRECTION_POSITIVE, "default"


def typed_direction(raw: str | None) -> str | None:
    s = normalise_text(raw or "")
    return s if s in DIRECTIONS else None


def actual_as_points(actual: Value) -> tuple[Decimal | None, str | None]:
    """业绩值 as a number; completion words read as 100 (%). (number, problem)."""
    if actual.kind == "number":
        return actual.number, None
    if actual.kind == "text":
        if actual.text in PARTIAL_WORDS:
            return None, "partial"
        if actual.text in COMPLETION_WORDS:
            return HUNDRED, None
        return None, "text"
    return None, actual.kind


def completion_rate(direction: str, target: Value, actual_points: Decimal, reverse_rule: str = "ratio",
                    places: Decimal | None = RATE_PLACES) -> Decimal:
    """Uncapped, never negative, quantised to `places` (None: unrounded, as a one-formula sheet computes it)."""
    a = actual_points
    if direction == DIRECTION_QUALITATIVE:
        raw = a / HUNDRED
    else:
        t = target.number
        if direction == DIRECTION_REVERSE:
            if reverse_rule == "linear2x":
                if t <= 0:
                    raw = ONE if a <= 0 else Decimal(0)
                elif a <= t:
                    raw = ONE
                else:
                    raw = (2 * t - a) / t
            elif a <= 0:
                raw = ONE
            elif t <= 0:
                raw = Decimal(0)
            else:
                raw = t / a
        elif t == 0:
            # "≥0": any non-negative value meets it; "=0" or a plain 0: only zero (or less) does.
            met = a >= 0 if target.op in (">=", ">") else a <= 0
            raw = ONE if met else Decimal(0)
        else:
            raw = a / t
    raw = max(raw, Decimal(0))
    return raw if places is None else half_up(raw, places)


def indicator_score(weight: Decimal, rate: Decimal, integer: bool = False) -> Decimal:
    """权重 × min(完成率, 1), half up to 2 places (or to an integer); never above the weight.

    A weight with more decimals than the score keeps (3.335) would round above
    itself at 100% (3.34): the score is then the weight rounded down (3.33).
    """
    places = ONE if integer else CENT
    score = half_up(weight * min(rate, ONE), places)
    if score > weight:
        score = weight.quantize(places, rounding=ROUND_DOWN)
    return score


def check_categories(ind: Indicator) -> list[Finding]:
    out: list[Finding] = []
    l1 = standard_level1(ind.level1) if ind.level1 else None
    if ind.level1 and l1 is None:
        out.append(make_finding(WARNING, "unknown-level1", ind.cells.get("level1"),
                                f"一级指标“{ind.level1}”不在标准分类中（{'、'.join(CATEGORIES)}），请从下拉列表选择"))
    if ind.level2:
        l2 = standard_level2(ind.level2)
        if l2 is None:
            out.append(make_finding(WARNING, "unknown-level2", ind.cells.get("level2"),
                                    f"二级指标“{ind.level2}”不在标准分类中，请从下拉列表选择"))
        elif l1 is not None and l2[0] != l1 and not (l1 == "成本指标" or l2[1] == "成本指标"):
            out.append(make_finding(WARNING, "level2-outside-level1", ind.cells.get("level2"),
                                    f"二级指标“{ind.level2}”不属于一级指标“{ind.level1}”，应归入“{l2[0]}”"))
    if SATISFACTION_WORD in (ind.level3 or "") and l1 is not None and l1 != SATISFACTION_LEVEL1:
        out.append(make_finding(INFO, "satisfaction-misfiled", ind.cells.get("level3"),
                                f"“{ind.level3}”是满意度类指标，却归在“{ind.level1}”下，建议归入满意度指标"))
    if re.match(r"^1[.、．]", normalise_text(ind.level3)) and re.search(r"\D2[.、．]", normalise_text(ind.level3)):
        out.append(make_finding(INFO, "multiple-indicators", ind.cells.get("level3"),
                                "一个单元格中填写了两个及以上指标，已按一个指标评分；建议拆分为多行分别设定权重和目标"))
    return out


def valid_weight(w: Value) -> Decimal | None:
    """The weight as a number of points ("10", "11.25", "10分"), or None when it cannot be scored."""
    if w.kind != "number" or w.op is not None or w.number < 0:
        return None
    if w.unit is not None and w.unit not in WEIGHT_UNITS:
        return None
    return w.number


def _weight(ind: Indicator) -> tuple[Decimal | None, list[Finding]]:
    w = ind.weight
    loc = ind.cells.get("weight")
    if w.kind == "blank":
        return None, [make_finding(ERROR, "missing-weight", loc, "权重未填写，请填写该指标的分值")]
    weight = valid_weight(w)
    if weight is not None:
        return weight, []
    if w.kind == "number" and w.number < 0 and w.op is None:
        return None, [make_finding(ERROR, "negative-weight", loc, f"权重为负数（{w.shown}），请改为正数")]
    if w.kind == "invalid" and w.text == TEXT_NUMBER:
        return None, [make_finding(ERROR, TEXT_NUMBER, loc, f"权重{w.problem}", published=w.shown)]
    problem = w.problem or f"权重“{w.shown}”不是数值"
    return None, [make_finding(ERROR, "invalid-value", loc, f"{problem}，请填写该指标的分值（如 10）")]


def score_indicator(ind: Indicator, profile: Profile) -> tuple[IndicatorResult, list[Finding]]:
    """Score one row. The 业绩值 of the 预算执行率 row must already be resolved."""
    findings = check_categories(ind)
    weight, wf = _weight(ind)
    findings += wf
    is_budget = is_budget_indicator(ind)
    target, actual = ind.target, ind.actual
    direction = typed_direction(ind.direction)
    how = "typed"
    if direction is None:
        direction, how = infer_direction(ind.level3, target)
    if is_budget:
        direction, how = DIRECTION_POSITIVE, "budget"

    def done(rate=None, score=None):
        return IndicatorResult(ind, direction or "", rate, score, is_budget), findings

    loc_t, loc_a = ind.cells.get("target"), ind.cells.get("actual")
    if target.kind == "blank" and not is_budget:
        findings.append(make_finding(ERROR, "missing-target", loc_t, "目标值未填写，请填写年度指标值"))
        return done()
    if target.kind == "invalid" and not is_budget:
        findings.append(make_finding(ERROR, "invalid-value", loc_t, f"目标值：{target.problem}"))
        return done()
    if actual.kind == "blank":
        findings.append(make_finding(ERROR, "missing-actual", loc_a, "业绩值未填写，请填写实际完成值"))
        return done()
    if actual.kind == "invalid":
        findings.append(make_finding(ERROR, "invalid-value", loc_a, f"业绩值：{actual.problem}"))
        return done()
    if how == "keyword":
        findings.append(make_finding(INFO, "direction-inferred", ind.cells.get("direction"),
                                     f"“{ind.level3}”按名称判定为反向指标（越小越好，完成率=目标值/业绩值）；如不是，请在指标方向中选择“正向”"))
    if direction in (DIRECTION_POSITIVE, DIRECTION_REVERSE) and target.kind != "number" and not is_budget:
        findings.append(make_finding(ERROR, "target-not-numeric", loc_t,
                                     f"指标方向为{direction}，但目标值“{target.shown}”不是数值；请填写数值目标或将指标方向改为“定性”"))
        return done()
    points, problem = actual_as_points(actual)
    if problem == "partial":
        findings.append(make_finding(ERROR, "qualitative-needs-share", loc_a,
                                     f"业绩值“{actual.shown}”未给出完成比例：部分达成请填 60%–80%（含60%）之间的比例，未达成请填 60% 以下的比例"))
        return done()
    if problem is not None:
        findings.append(make_finding(ERROR, "invalid-value", loc_a,
                                     f"业绩值“{actual.shown}”无法计算完成率，请填写数值或完成比例（如 95%）"))
        return done()
    if actual.kind == "text" and direction != DIRECTION_QUALITATIVE:
        findings.append(make_finding(WARNING, "actual-in-words", loc_a,
                                     f"业绩值“{actual.shown}”为文字，已按 100% 计；定量指标请填写实际数值"))
    if direction != DIRECTION_QUALITATIVE and not is_budget and actual.kind == "number" and target.kind == "number":
        if _units_differ(target, actual):
            findings.append(make_finding(ERROR, "unit-mismatch", loc_a,
                                         f"业绩值“{actual.shown}”与目标值“{target.shown}”单位不一致，请统一单位"))
            return done()
    if not is_budget and _target_looks_like_a_fraction(target, actual, direction):
        meant = dataclasses.replace(target, number=target.number * HUNDRED, percent=True)
        literal = completion_rate(direction, target, points, profile.reverse_rule)
        as_typed = f"{operator_symbol(target.op)}{format_number(meant.number)}%"
        findings.append(make_finding(WARNING, "unit-ambiguous", loc_t,
                                     f"目标值“{target.shown}”是小数，业绩值“{actual.shown}”是百分数：已按目标值 {as_typed} 计算"
                                     f"（按 {format_number(target.number)}% 计算完成率将是 {format_percent(literal)}，"
                                     f"Excel 中本行显示的就是这个结果）；请把目标值改为“{as_typed}”，"
                                     f"如目标确为 {format_number(target.number)}%，请填写“{format_number(target.number)}%”",
                                     published=target.shown, expected=as_typed))
        target = meant
    if _looks_like_a_fraction(target, actual, direction):
        findings.append(make_finding(WARNING, "unit-ambiguous", loc_a,
                                     f"业绩值“{actual.shown}”按 {format_number(actual.number)}% 计算；如实际为 "
                                     f"{format_number(actual.number * HUNDRED)}%，请填写“{format_number(actual.number * HUNDRED)}%”"))
    if (direction == DIRECTION_POSITIVE and not is_budget and points < 0 and target.kind == "number"
            and target.number is not None and (target.number > 0 or target.op in (">=", ">"))):
        findings.append(make_finding(WARNING, "negative-actual", loc_a,
                                     f"业绩值“{actual.shown}”为负数，目标值为“{target.shown}”：完成率按 0 计，本行得 0 分；"
                                     "请核对业绩值（是否多填了负号），如确为负数请在偏差原因中说明", published=actual.shown))
    if is_budget:
        rate = half_up(max(points / HUNDRED, Decimal(0)), RATE_PLACES)
    else:
        rate = completion_rate(direction, target, points, profile.reverse_rule)
    if weight is None:
        return done(rate)
    score = indicator_score(weight, rate, integer=is_budget and profile.budget_score_integer)
    if is_budget and rate > ONE:
        findings.append(make_finding(WARNING, "budget-over-executed", loc_a,
                                     f"预算执行率 {format_percent(rate)} 超过 100%，得分按 100% 计；请核对全年执行资金与全年预算资金"))
    over = rate > profile.over_achievement_threshold and not is_budget
    if over:
        findings.append(make_finding(INFO, "over-achievement", loc_a,
                                     f"完成率 {format_percent(rate)} 超过 {format_percent(profile.over_achievement_threshold, 0)}，"
                                     "请在偏差原因中说明（是否年初指标值设定偏低）"))
    if (score < weight or over) and not (ind.reason or "").strip():
        what = (f"“{ind.level3}”得分 {format_number(score)} 低于权重 {format_number(weight)}" if score < weight
                else f"“{ind.level3}”完成率 {format_percent(rate)} 明显超出目标")
        findings.append(make_finding(WARNING, "missing-reason", ind.cells.get("reason"),
                                     what + "，请填写偏差原因分析及改进措施"))
    return done(rate, score)


def _looks_like_a_fraction(target: Value, actual: Value, direction: str) -> bool:
    """A bare 0.95 beside a percentage target (≥90%, or a qualitative one) was probably meant as 95%."""
    if actual.kind != "number" or actual.percent or actual.unit or actual.number is None or not 0 < actual.number <= 1:
        return False
    if direction == DIRECTION_QUALITATIVE:
        return True
    return target.kind == "number" and target.percent and target.number is not None and target.number > 1


def _target_looks_like_a_fraction(target: Value, actual: Value, direction: str) -> bool:
    """A bare 0.95 (or ≥0.95) target beside an actual in percent (90%) was probably meant as 95%: read
    literally, 90% of 0.95 is 9473.68%, full marks that nobody earned. domain.md §7."""
    if direction not in (DIRECTION_POSITIVE, DIRECTION_REVERSE) or target.kind != "number" or actual.kind != "number":
        return False
    if target.percent or target.unit or target.number is None or not 0 < target.number < 1:
        return False
    return actual.percent and actual.number is not None and actual.number > 1


def _units_differ(target: Value, actual: Value) -> bool:
    if target.unit and actual.unit:
        return target.unit != actual.unit and not (_unit_key(target.unit) == _unit_key(actual.unit))
    if (target.unit and actual.percent) or (actual.unit and target.percent):
        return True
    return False


def _unit_key(unit: str) -> str:
    # 人次 ≡ 人, 个月 ≡ 月, 万元 ≡ 万 (200万 against 195.5万元 is the same unit)
    key = unit.replace("人次", "人").replace("个月", "月")
    return key[:-1] if key.endswith("万元") else key
