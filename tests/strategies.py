"""Hypothesis strategies for projects typed into input sheets."""
from __future__ import annotations

from hypothesis import strategies as st

from xlperf.template.inputs import IndicatorInput, ProjectInput, Typed
from xlperf.vocabulary import CATEGORIES

_numbers = st.one_of(st.integers(min_value=0, max_value=500).map(str),
                     st.decimals(min_value=0, max_value=500, places=2).map(lambda d: f"{d:f}"))
_ops = st.sampled_from(["", "", "≥", "≤", ">=", "<=", "＜", "不低于", "=", "少于", "不少于", "多于", "不多于"])
_suffix = st.sampled_from(["", "", "%", "%", "个", "天", "万元", "%以上", "天以内", "小时内", "个工作日内",
                           "%以上（含95%）", "％"])
typed_quantity = st.builds(lambda o, n, s: f"{o}{n}{s}", _ops, _numbers, _suffix)
typed_text = st.sampled_from(["持续", "及时", "健全", "达成", "完成", "有效", "部分达成", "约90%", "/", "—", "",
                              "12月底前完成", "2023年底前", "　完成", "已 完成", "暂无", "９０％", "≥０", "９５",
                              # a number followed by more digits or a list mark is text (issue 27)
                              "6月份完成宣传片制作;9月份完成文本", "1.完成验收", "10、完成", "3个,5个", "10."])
typed_number = st.builds(Typed, st.floats(min_value=0, max_value=2, allow_nan=False).map(lambda x: round(x, 4)),
                         st.sampled_from(["0%", "0.00%", "General", "0.00"]))
typed_value = st.one_of(typed_quantity, typed_quantity, typed_text, typed_number)
_names = st.sampled_from(["验收合格率", "培训人次", "项目成本控制", "群众投诉率", "资金拨付及时性", "服务对象满意度",
                          "运维费用", "系统可用率", "差错率", "投诉处理率", "预算执行率"])
_weights = st.one_of(st.none(), st.integers(min_value=0, max_value=30), st.decimals(min_value=0, max_value=30, places=2),
                     st.decimals(min_value=0, max_value=30, places=3))  # 3.335 at 100% scores 3.33, not 3.34
_directions = st.sampled_from(["", "", "", "正向", "反向", "定性"])


@st.composite
def indicator_inputs(draw) -> IndicatorInput:
    level1 = draw(st.sampled_from(list(CATEGORIES)[1:] + [""]))
    level2 = draw(st.sampled_from(list(CATEGORIES.get(level1, ("",))) + [""]))
    return IndicatorInput(level1, level2, draw(_names), draw(_weights), draw(typed_value), draw(typed_value),
                          draw(st.sampled_from(["", "原因说明"])), draw(_directions))


_amounts = st.one_of(st.none(), st.decimals(min_value=0, max_value=100000, places=2))


@st.composite
def project_inputs(draw, index: int = 0) -> ProjectInput:
    budget = {}
    for col in draw(st.lists(st.sampled_from(["central", "provincial", "municipal", "county", "carryover", "other"]),
                             min_size=0, max_size=3, unique=True)):
        for row in ("initial", "annual", "received", "executed"):
            amount = draw(_amounts)
            if amount is not None:
                budget[(row, col)] = float(amount)
    indicators = draw(st.lists(indicator_inputs(), min_size=0, max_size=12))
    override = draw(st.sampled_from([None, None, None, "100%", "0.00%", "95.5%", Typed(0.95, "0%"), Typed(1, "0.00%")]))
    return ProjectInput(name=f"生成项目{index}", budget=budget, indicators=tuple(indicators), budget_actual_typed=override)


@st.composite
def project_batches(draw, size: int) -> list[ProjectInput]:
    return [draw(project_inputs(index=i)) for i in range(size)]


_CLEAN_LEVELS = (("产出指标", "数量指标"), ("产出指标", "质量指标"), ("产出指标", "时效指标"), ("效益指标", "社会效益指标"),
                 ("效益指标", "可持续影响指标"), ("满意度指标", "服务对象满意度指标"))


# What an accountant types into the report's text fields (layout.REPORT_FIELDS): ordinary sentences whose
# numbers are an indicator group's points, a survey's grade, amounts — never the project's 总得分 or 等级.
_REPORT_SENTENCES = (
    "产出指标总分50分，各项产出均按计划完成。",
    "满意度指标得分为10分，服务对象总体满意。",
    "经第三方调查，服务质量评价等级为良好。",
    "效益指标总得分为28.5分，社会效益明显。",
    "数量指标的总分为20分，一级指标产出指标自评得分40分。",
    "全年组织培训3次，累计培训120人次，验收合格率98%。",
    "项目于2024年3月启动，12月底前完成全部建设内容。",
    "本项目资金全部用于系统运维，无挤占挪用情况。",
)
_report_text = st.one_of(
    st.just(""),
    st.lists(st.sampled_from(_REPORT_SENTENCES), min_size=1, max_size=3).map("".join),
    st.lists(st.sampled_from(_REPORT_SENTENCES), min_size=2, max_size=3).map("\n".join),
)


@st.composite
def report_texts(draw) -> dict:
    """Some of the report's text fields filled with ordinary sentences (the others left blank: generated)."""
    from xlperf.layout import REPORT_FIELDS

    return {field: text for field in REPORT_FIELDS if (text := draw(_report_text))}


@st.composite
def clean_project_inputs(draw, index: int = 0) -> ProjectInput:
    """A project typed as the rules want it (weights adding up to 100, numbers where numbers go, the budget
    table consistent): the engine scores it without an error, whatever its scores. Its amounts are in 万元
    or 元 (the sheet's 金额单位, blank meaning 万元), and some of the report's text fields hold ordinary
    sentences with numbers in them."""
    unit = draw(st.sampled_from(["", "万元", "元"]))
    annual = draw(st.decimals(min_value=1, max_value=100000, places=2))
    if unit == "元":
        annual = annual * draw(st.sampled_from([1, 100, 10000]))  # 元 amounts run larger
    executed = draw(st.decimals(min_value=0, max_value=1, places=2)) * annual
    budget = {("initial", "municipal"): float(annual), ("annual", "municipal"): float(annual),
              ("received", "municipal"): float(annual), ("executed", "municipal"): float(round(executed, 2))}
    count = draw(st.integers(min_value=1, max_value=len(_CLEAN_LEVELS)))
    levels = _CLEAN_LEVELS[:count]
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=89), min_size=count - 1, max_size=count - 1,
                                unique=True)))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 90])]
    indicators = [IndicatorInput("预算执行指标", "预算执行指标", "预算执行率", 10, "100%", "")]
    for i, ((level1, level2), weight) in enumerate(zip(levels, weights)):
        target = draw(st.integers(min_value=1, max_value=500))
        actual = draw(st.integers(min_value=0, max_value=target))
        percent = draw(st.booleans())
        indicators.append(IndicatorInput(level1, level2, f"指标{i + 1}", weight, f"{target}{'%' if percent else ''}",
                                         f"{actual}{'%' if percent else ''}", "原因及改进措施" if actual < target else "",
                                         "正向"))
    return ProjectInput(name=f"规范项目{index}", budget=budget, indicators=tuple(indicators),
                        meta={"unit": "某单位", "year": "2024"}, amount_unit=unit, report=draw(report_texts()))
