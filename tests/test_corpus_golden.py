"""Real published tables typed into the master template, recalculated in their own form.

Each project below is a complete table of tests/corpus/ (the source named beside it) typed the way an
accountant fills the input sheet: targets and actuals as published, except that a qualitative row's
实际完成值 is typed as the share achieved (the input sheet asks for it; the published 显著提升 or
完成1部宣传片 states that the target was met), and a cost row the rules cannot recognise by its name
gets 指标方向 反向. recalc gives the published total, or the corrected one where the corpus verdict
says the published one is wrong; check on what recalc wrote agrees.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from xlperf.check import check_workbook
from xlperf.pipeline import recalc_workbook
from xlperf.profiles import load_profile
from xlperf.template.build import new_workbook
from xlperf.template.inputs import IndicatorInput as I
from xlperf.template.inputs import ProjectInput

PROFILE = load_profile()


def _budget(annual, executed, initial=None):
    out = {("annual", "municipal"): annual, ("received", "municipal"): annual, ("executed", "municipal"): executed}
    if initial is not None:
        out[("initial", "municipal")] = initial
    return out


# tests/corpus/src/yunnan-yunnan-yongde-minglang-yingyang-2022.toml: published 96, I16 wrongly 7 → 99.8
YONGDE = ProjectInput(
    name="义务教育营养改善计划专项资金",
    meta={"unit": "永德县明朗中学", "department": "永德县教育体育局", "year": "2022"},
    side={"department": "永德县教育体育局", "implementer": "永德县明朗中学"},
    goals={"年度绩效目标": "确保每一个学生都能享受到国家政策福利,改善学生体质"},
    achieved="确保每一个学生都能享受到国家政策福利,改善学生体质",
    budget=_budget(387664.62, 387664.62),
    indicators=(
        I("产出指标", "数量指标", "学生受资助人数", 10, "≧735人次", "735人次"),
        I("", "质量指标", "营养改善计划覆盖率", 10, "≧100%", "100%"),
        I("", "时效指标", "资金到位及时率", 10, "≧100%", "100%"),
        I("", "成本指标", "生均补助标准达标率", 10, "═100%", "100%"),
        I("效益指标", "经济效益指标", "减轻贫困学生家庭经济负担", 10, "有效", "有效"),
        I("", "社会效益指标", "政策知晓率", 10, "═100%", "98%", "宣传覆盖尚有遗漏"),
        I("", "可持续影响指标", "促进学校教育事业健康发展", 10, "≧100%", "100%"),
        I("满意度指标", "服务对象满意度指标", "学生满意度", 10, "≧95%", "100%"),
        I("", "服务对象满意度指标", "家长满意度", 10, "≧95%", "100%"),
    ),
)

# tests/corpus/src/xianjie-sichuan-zhongjiang-biaochi-2022.toml: indicators weighted 100 on top of the
# budget's 10, so the total is 110 (published 100) and the weights do not sum to 100.
ZHONGJIANG = ProjectInput(
    name="中江县农业水价综合改革精准补贴和节水奖励项目小型水库水标尺制作安装",
    meta={"unit": "中江县水利局", "department": "中江县水利局", "year": "2022"},
    budget=_budget(20, 20),
    indicators=(
        I("产出指标", "数量指标", "安装坡面水标尺", 10, "≥266米", "≥266米"),
        I("", "数量指标", "水标尺宽度", 10, "≥50厘米", "≥50厘米"),
        I("", "质量指标", "项目(工程)验收合格率", 20, "100%", "100%"),
        I("", "时效指标", "及时(按期)开工率", 10, "≥90%", "≥90%"),
        I("", "时效指标", "及时(按期)完工率", 10, "≥90%", "≥90%"),
        I("", "成本指标", "项目计划总投资", 10, "20万元", "20万元"),
        I("效益指标", "社会效益指标", "受益脱贫(含监测对象)户人口数", 10, "≥1000人", "≥1000人"),
        I("", "社会效益指标", "群众生产生活条件改善状况", 10, "显著提升", "100%"),
        I("满意度指标", "服务对象满意度指标", "受益脱贫(含监测对象)户满意度", 10, "≥95%", "≥95%"),
    ),
)

# tests/corpus/src/hubei-huangshi-zhujian-haimian-2022.toml: 预算执行 20 × 97.75% = 19.55, 80 for the goals.
ZHUJIAN = ProjectInput(
    name="黄石市系统化全域海绵城市示范城市的申报工作经费",
    meta={"unit": "黄石市住房和城乡建设局", "department": "黄石市住房和城乡建设局", "year": "2022"},
    budget=_budget(200, 195.5),
    indicators=(
        I("预算执行指标", "预算执行指标", "预算执行率", 20, "100%", ""),
        I("产出指标", "数量指标", "完成省级宣传片制作;完成实施方案的编制;完成自评估报告", 10, "完成1部宣传片,2套方案", "100%"),
        I("", "质量指标", "通过专家评审", 10, "通过", "100%"),
        I("", "时效指标", "上半年完成宣传片制作;下半年完成实施方案", 10, "6月份完成宣传片制作;9月份完成文本;11月完成专家评审", "100%"),
        I("", "成本指标", "省级宣传片制作费、申报文本编制费、自评估报告编制费", 10, "200万", "195.5万元", direction="反向"),
        I("效益指标", "经济效益指标", "统筹海绵城市项目谋划", 10, "统筹海绵城市项目谋划", "100%"),
        I("", "社会效益指标", "指导城市建设", 10, "指导城市建设", "100%"),
        I("", "生态效益指标", "有利于城市生态、韧性发展", 10, "有利于城市生态、韧性发展", "100%"),
        I("满意度指标", "服务对象满意度指标", "群众满意度", 10, "满意", "100%"),
    ),
)


@pytest.mark.parametrize("project, form, total, grade, weights_error", [
    (YONGDE, "yunnan", "99.8", "优秀", False),
    (ZHONGJIANG, "xianjie", "110", "优秀", True),
    (ZHUJIAN, "hubei", "99.55", "优秀", False),
], ids=["yongde-yunnan", "zhongjiang-xianjie", "zhujian-hubei"])
def test_published_table_typed_into_the_template(tmp_path, project, form, total, grade, weights_error):
    path = tmp_path / "book.xlsx"
    new_workbook([project], PROFILE, form=form).save(path)
    report = recalc_workbook(path, profile=PROFILE)  # the formula cross-check included
    (result,) = report.results
    assert (result.total, result.grade) == (Decimal(total), grade)
    errors = {f.code for f in result.findings if f.severity == "error"}
    assert errors == ({"weights-sum"} if weights_error else set()), errors

    checked = check_workbook(path, PROFILE)
    (table,) = checked.tables
    assert (table.form, table.total, table.published_total) == (form, Decimal(total), Decimal(total))
    check_errors = {f.code for f in checked.findings if f.severity == "error"}
    assert check_errors == ({"weights-sum"} if weights_error else set()), check_errors


def test_template_reads_a_dated_plan_as_text(tmp_path):
    """6月份完成宣传片制作;9月份完成文本 is text to the rules (a number followed by more digits): the
    template's formulas read it as text too, not as the number 6 (a 时效指标 scored 定性 at 100%)."""
    path = tmp_path / "book.xlsx"
    new_workbook([ZHUJIAN], PROFILE, form="hubei").save(path)
    report = recalc_workbook(path, profile=PROFILE)
    assert not [f for f in report.findings if f.code == "formula-rule-mismatch"]
    (result,) = report.results
    (dated,) = [r for r in result.indicators if r.indicator.target.shown.startswith("6月份")]
    assert (dated.direction, dated.score) == ("定性", Decimal(10))
