"""Realistic example projects for `xlperf new --example` (and the benchmarks).

Deterministic: project i is always the same. About a third carry one typical
mistake (a value typed over the 预算执行率 link, weights not summing to 100, an
estimate such as 约90%, mixed units, money spent above what arrived, …) so a
user trying the tool sees findings.
"""
from __future__ import annotations

import random
from decimal import Decimal

from .inputs import IndicatorInput, ProjectInput

_UNITS = ("市财政局", "市教育局", "市卫生健康委员会", "市农业农村局", "市交通运输局", "市生态环境局", "市文化和旅游局",
          "市民政局", "市水利局", "市住房和城乡建设局", "县人民政府办公室", "市政务服务管理局")
_SUBJECTS = ("信息化运行维护", "农村公路养护", "义务教育学生营养改善", "基层医疗卫生机构运行", "城乡环境综合整治",
             "高标准农田建设", "公共文化服务体系建设", "困难群众救助", "水利工程维修养护", "老旧小区改造",
             "政务服务平台运维", "河道生态治理", "中小学校舍维修", "基本公共卫生服务", "乡村振兴产业扶持")
_PEOPLE = ("王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周敏", "吴刚")

# (二级, 三级, target forms, actual generator) — generators take rng and return (target, actual, shortfall?)
_OUTPUT = {
    "数量指标": ("完成{n}项建设任务", "培训人次", "覆盖乡镇数", "维护设备台数"),
    "质量指标": ("验收合格率", "系统可用率", "工程质量达标率"),
    "时效指标": ("项目按期完成率", "资金拨付及时性", "系统上线及时性"),
    "成本指标": ("项目成本控制", "单位运维成本"),
}
_BENEFIT = {
    "经济效益指标": ("节省行政开支率",),
    "社会效益指标": ("群众办事效率提升", "服务覆盖人口"),
    "生态效益指标": ("减少纸质材料使用率",),
    "可持续影响指标": ("项目持续发挥作用", "长效管护机制健全性"),
}
_SATISFACTION = ("服务对象满意度", "群众满意度", "使用单位满意度")


def _pct(rng: random.Random, lo: int, hi: int) -> int:
    return rng.randint(lo, hi)


def _quantitative(rng: random.Random, name: str) -> tuple[str, str, str]:
    """(target, actual, reason) for a quantitative indicator, in one of the forms people type."""
    form = rng.randrange(6)
    short = rng.random() < 0.25
    reason = "受资金拨付进度影响，部分任务顺延至下年；已督促加快实施。" if short and rng.random() < 0.7 else ""
    if form == 0:
        t = _pct(rng, 85, 100)
        a = t if not short else t - rng.randint(1, 15)
        return f"≥{t}%", f"{a}%", reason
    if form == 1:
        t = rng.choice((20, 50, 100, 120, 300))
        a = t if not short else int(t * rng.uniform(0.7, 0.98))
        unit = rng.choice(("个", "项", "人次", "台", "次"))
        return f"{t}{unit}", f"{a}{unit}", reason
    if form == 2:
        t = rng.choice((5, 10, 15, 30))
        a = t - rng.randint(0, 3) if not short else t + rng.randint(1, 5)
        return f"≤{t}天", f"{a}天", reason
    if form == 3:
        t = rng.choice((80, 90, 95, 100))
        a = t if not short else t - rng.randint(1, 10)
        return f"{t}", f"{a}%", reason  # bare target, percent actual (seed 000's habit)
    if form == 4:
        t = rng.choice((50, 100, 200, 500))
        a = Decimal(t) * Decimal(rng.choice(("0.95", "0.98", "1", "0.87")))
        return f"≤{t}万元", f"{a.normalize():f}万元", ""
    return "100%", (f"{rng.choice((93.1, 98.5, 99.2))}%" if short else "100%"), reason


def _qualitative(rng: random.Random) -> tuple[str, str, str]:
    target = rng.choice(("及时", "健全", "持续", "有效", "达到预期"))
    share = rng.choice((100, 100, 100, 95, 90, 85))
    reason = "" if share == 100 else "部分工作仍在推进中，下一年度持续完善。"
    return target, f"{share}%", reason


def _weights(rng: random.Random, n_output: int, n_benefit: int) -> tuple[list, list, Decimal]:
    output_total, benefit_total = rng.choice(((50, 30), (40, 40), (50, 30), (50, 30)))
    def split(total: int, n: int) -> list[Decimal]:
        base = (Decimal(total) / n).quantize(Decimal("0.01"))
        parts = [base] * (n - 1)
        return parts + [Decimal(total) - sum(parts)]
    return split(output_total, n_output), split(benefit_total, n_benefit), Decimal(10)


def example_project(index: int) -> ProjectInput:
    rng = random.Random(20260000 + index)
    subject = _SUBJECTS[index % len(_SUBJECTS)]
    unit = _UNITS[rng.randrange(len(_UNITS))]
    name = f"{subject}（{unit}）" if index >= len(_SUBJECTS) else subject
    if index >= len(_SUBJECTS) * len(_UNITS):
        name = f"{name}{index + 1}"
    budget = _budget(rng)
    outputs = [(l2, rng.choice(names)) for l2, names in _OUTPUT.items()][: rng.randint(3, 4)]
    benefits = rng.sample([(l2, rng.choice(names)) for l2, names in _BENEFIT.items()], rng.randint(2, 4))
    w_out, w_ben, w_sat = _weights(rng, len(outputs), len(benefits))
    indicators = [IndicatorInput("预算执行指标", "预算执行指标", "预算执行率", 10, "100%", "")]
    for i, ((l2, l3), w) in enumerate(zip(outputs, w_out)):
        l3 = l3.format(n=rng.randint(3, 12))
        t, a, r = _qualitative(rng) if l2 == "时效指标" and rng.random() < 0.5 else _quantitative(rng, l3)
        indicators.append(IndicatorInput("产出指标" if i == 0 else "", l2, l3, w, t, a, r))
    for i, ((l2, l3), w) in enumerate(zip(benefits, w_ben)):
        if rng.random() < 0.5:
            t, a, r = _qualitative(rng)
        else:
            reached = rng.randint(88, 100)
            t, a, r = "≥90%", f"{reached}%", "" if reached >= 90 else "宣传引导尚需加强。"
        indicators.append(IndicatorInput("效益指标" if i == 0 else "", l2, l3, w, t, a, r))
    sat = rng.randint(86, 99)
    indicators.append(IndicatorInput("满意度指标", "服务对象满意度指标", rng.choice(_SATISFACTION), w_sat, "≥90%", f"{sat}%",
                                     "" if sat >= 90 else "个别服务对象对办理时限不满意，已优化流程。"))
    data = dict(
        name=name,
        meta={"unit": unit, "department": unit, "leader": rng.choice(_PEOPLE), "contact": rng.choice(_PEOPLE),
              "phone": f"0351-{rng.randint(2000000, 8999999)}", "email": f"jxzp{index + 1:04d}@example.gov.cn",
              "year": "2025"},
        info={"项目概况": f"{subject}项目，由{unit}组织实施。", "立项依据": "根据上级部门有关文件要求设立。",
              "设立的必要性": "保障相关工作正常开展。", "保证项目实施的措施与制度": "严格执行财务管理制度和政府采购程序。",
              "项目实施计划": "年初制定计划，按季度推进，年底完成验收。"},
        goals={"实施期绩效目标": f"按期完成{subject}各项任务。", "年度绩效目标": f"完成年度{subject}任务，服务对象满意度不低于90%。"},
        budget=budget,
        indicators=tuple(indicators),
        side={"department": unit, "implementer": unit},
        achieved=f"已按计划完成年度{subject}任务。",
    )
    return _with_mistake(rng, index, data)


def _budget(rng: random.Random) -> dict:
    annual = Decimal(rng.randint(2000, 900000)) / 100  # 20.00 – 9000.00 万元
    initial = annual if rng.random() < 0.6 else (annual * Decimal(rng.choice(("1.05", "0.9", "1.3")))).quantize(Decimal("0.01"))
    executed = annual if rng.random() < 0.55 else (annual * Decimal(rng.randint(70, 99)) / 100).quantize(Decimal("0.01"))
    columns = rng.choice((("municipal",), ("provincial", "municipal"), ("central", "county"), ("municipal", "carryover")))
    shares = [Decimal(1)] if len(columns) == 1 else [Decimal("0.6"), Decimal("0.4")]
    out = {}
    for col, share in zip(columns, shares):
        for row, amount in (("initial", initial), ("annual", annual), ("received", annual), ("executed", executed)):
            out[(row, col)] = float((amount * share).quantize(Decimal("0.01")))
    return out


def _with_mistake(rng: random.Random, index: int, data: dict) -> ProjectInput:
    kind = index % 9 if index % 3 == 2 else None
    indicators = list(data["indicators"])
    budget_actual_typed = None
    if kind == 2:  # a figure typed over the 预算执行率 link
        budget_actual_typed = "100%"
    elif kind == 5:  # weights do not sum to 100
        first = indicators[1]
        indicators[1] = IndicatorInput(first.level1, first.level2, first.level3, Decimal(first.weight) - 5,
                                       first.target, first.actual, first.reason)
    elif kind == 8:  # an estimate instead of a value
        last = indicators[-1]
        indicators[-1] = IndicatorInput(last.level1, last.level2, last.level3, last.weight, last.target, "约90%", "")
    if kind == 2 and data["budget"]:
        # and spending above what arrived in one column
        key = next(iter(k for k in data["budget"] if k[0] == "executed"))
        data["budget"][key] = round(data["budget"][key] * 1.02, 2)
    return ProjectInput(**{**data, "indicators": tuple(indicators)}, budget_actual_typed=budget_actual_typed)


def example_projects(count: int, start: int = 0) -> list[ProjectInput]:
    return [example_project(i) for i in range(start, start + count)]
