"""Words the rules recognise, kept in one place.

The Python value parser and the template's Excel formulas are both generated
from these lists, so the two cannot drift apart.
"""
from __future__ import annotations

# Operator words as people type them, after NFKC normalisation (full-width
# ＞＜＝ become ><=). Longest first: the parser and the formula strip in order.
PREFIX_OPERATORS: tuple[tuple[str, str], ...] = (
    ("大于等于", ">="),
    ("小于等于", "<="),
    ("不低于", ">="),
    ("不少于", ">="),
    ("不小于", ">="),
    ("不高于", "<="),
    ("不超过", "<="),
    ("不大于", "<="),
    ("不多于", "<="),
    ("少于", "<"),
    ("多于", ">"),
    (">=", ">="),
    ("<=", "<="),
    ("≥", ">="),
    ("≧", ">="),
    ("≤", "<="),
    ("≦", "<="),
    ("大于", ">"),
    ("高于", ">"),
    ("超过", ">"),
    ("小于", "<"),
    ("低于", "<"),
    ("==", "="),
    ("═", "="),  # U+2550, a box-drawing double bar published as "=" (云南 公开表)
    ("﹦", "="),  # U+FE66 small equals sign
    (">", ">"),
    ("<", "<"),
    ("=", "="),
    ("等于", "="),
)
SUFFIX_OPERATORS: tuple[tuple[str, str], ...] = (
    ("及以上", ">="),
    ("以上", ">="),
    ("及以下", "<="),
    ("以下", "<="),
    ("以内", "<="),
    ("内", "<="),  # 24小时内, 3个工作日内
)
REVERSE_OPERATORS = frozenset({"<=", "<"})

# Markers of an estimate: such a value is reported, never scored.
APPROXIMATE_MARKERS = ("约", "大概", "左右", "~", "～", "估计")

# A deadline ("12月底前完成", "2023年底前") is a qualitative target, not a number with a unit.
DEADLINE_MARKERS = ("前", "底")

# Placeholders meaning "nothing here": reported, never scored.
PLACEHOLDERS = frozenset({"/", "\\", "-", "--", "—", "——", "–", "无", "暂无", "空", "N/A", "NA", "n/a", "不适用", "待定", "未知", "?", "？"})

EXCEL_ERRORS = frozenset({"#DIV/0!", "#REF!", "#VALUE!", "#N/A", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA", "#SPILL!", "#CALC!"})

PERCENT_WORDS = ("%", "百分比", "百分点")

# A number followed by one of these (after its percent and operator words) starts a numbered list or a
# sentence ("1.各级…", "10、…"): the value is text. So is a number followed later by another digit
# ("6月份完成宣传片制作;9月份完成文本").
LIST_MARKS_AFTER_NUMBER = (".", "、", ",", "，", ")", "）", ":", "：")

# A 业绩值 in words that means the target was fully reached (100%).
COMPLETION_WORDS = (
    "达成", "已达成", "完成", "已完成", "全部完成", "按时完成", "如期完成", "是", "有效", "健全", "已健全",
    "及时", "达标", "已达标", "合格", "符合", "符合要求", "符合相关规定", "达成预期指标", "达到预期", "持续", "良好",
)
# A 业绩值 in words that needs a share (80%–60% band, or below 60%).
PARTIAL_WORDS = ("部分达成", "部分完成", "基本达成", "基本完成", "未达成", "未完成", "否", "无效", "不及时", "不达标", "不合格")

# Keywords in a 三级指标 name that make an indicator reverse (smaller is better)
# when its target carries no operator. domain.md §4.3.
REVERSE_KEYWORDS = ("成本", "费用", "超支率", "结余率", "投诉", "差错", "事故", "失误", "违规", "故障率", "损失")
# ...unless the name says it measures how well they were handled (投诉处理率 is positive).
POSITIVE_NAME_WORDS = ("处理率", "办结率", "回复率", "解决率", "化解率", "结案率", "完成率", "合格率", "达标率",
                       "覆盖率", "及时率", "响应率", "满意")
# Weights may carry the unit 分 ("10分").
WEIGHT_UNITS = ("分", "分值")

DIRECTION_POSITIVE = "正向"
DIRECTION_REVERSE = "反向"
DIRECTION_QUALITATIVE = "定性"
DIRECTIONS = (DIRECTION_POSITIVE, DIRECTION_REVERSE, DIRECTION_QUALITATIVE)

BUDGET_INDICATOR_NAME = "预算执行率"
BUDGET_LEVEL = "预算执行指标"

# Standard 一级 → 二级 categories. domain.md §3.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "预算执行指标": ("预算执行指标",),
    "产出指标": ("数量指标", "质量指标", "时效指标", "成本指标"),
    "效益指标": ("经济效益指标", "社会效益指标", "生态效益指标", "可持续影响指标"),
    "满意度指标": ("服务对象满意度指标",),
    "成本指标": ("经济成本指标", "社会成本指标", "生态环境成本指标"),
}
SATISFACTION_LEVEL1 = "满意度指标"
SATISFACTION_WORD = "满意"
# The grade of an input sheet whose tables could not be found: nothing was scored, so no score is shown.
UNSCORED_GRADE = "未评分"
# domain.md §5: 优≡优秀, 良≡良好, 中≡中等≡一般, 差≡较差 (rank 0 is the best band).
GRADE_RANKS = {"优秀": 0, "优": 0, "良好": 1, "良": 1, "中": 2, "中等": 2, "一般": 2, "差": 3, "较差": 3}
