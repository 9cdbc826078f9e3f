"""Workbooks as reviewers receive them, built in code (no binary fixtures).

The layouts follow the two seed reports in /work/shared/seeds: the 附件1 table
and the 预算执行情况 table, typed as numbers or pasted from Word as text.
"""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils.cell import coordinate_from_string, column_index_from_string

ANNEX_HEADER = ["一级指标", "二级指标", "目标指标", "权重", "目标值", "业绩值", "完成率", "指标得分", "偏差原因分析及改进措施"]
NATIONAL_HEADER = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]

BUDGET_HEADER = [
    ["项目", "行次", "年度总金额(万元)", "财政资金", None, None, None, None, "上年结转资金(万元)", "其他资金(万元)"],
    [None, None, None, "小计", "中央级", "省级", "市级", "县区级", None, None],
]

# Seed 000 as pasted from Word: every cell a string.
SEED_000_BUDGET_ROWS = [
    ["年初预算资金", "(1)", "", "", "", "", "3130.4", "", "", ""],
    ["全年预算资金", "(2)", "", "", "", "", "2428.53", "", "", ""],
    ["实际到位资金", "(3)", "", "", "", "", "2428.53", "", "", ""],
    ["全年执行资金", "(4)", "", "", "", "", "2428.53", "", "", ""],
    ["资金结余", "(5)=(3)-(4)", "", "", "", "", "0", "", "", ""],
    ["预算到位率", "(6)=(3)/(2)", "0", "0", "0", "0", "100", "0", "0", "0"],
    ["预算执行率(%)", "(7)=(4)/(2)", "0", "0", "0", "0", "100", "0", "0", "0"],
]
REASON_000 = "原因：时效指标目标值为持续，缺乏数据支持；改进措施：不断完善指标体系，制定合理的时效指标"
SEED_000_ANNEX_ROWS = [
    ["预算执行指标", "预算执行指标", "预算执行率", "10", "100%", "0.00%", "0.00%", "0", ""],
    ["产出指标", "数量指标", "1.各级各部门业务上云数2.信息资源融合部门数", "10", "90", "90%", "100.00%", "10", ""],
    ["", "质量指标", "1.建成统一的基础设施资源池2.建立全市信息资源共享体系", "10", "91", "91%", "100.00%", "10", ""],
    ["", "时效指标", "保障全市各类信息系统安全、稳定、可靠地运行", "10", "持续", "95%", "95%", "9.5", REASON_000],
    ["", "成本指标", "项目建设总费用按合同支付", "10", "100", "100%", "100.00%", "10", ""],
    ["效益指标", "经济效益", "节省开支率", "10", "50", "50%", "100.00%", "10", ""],
    ["", "社会效益", "提高办事效率", "10", "70", "70%", "100.00%", "10", ""],
    ["", "生态效益", "减少出行，提高空气质量率", "10", "50", "50%", "100.00%", "10", ""],
    ["", "可持续影响指标", "项目持续发挥作用", "10", "90", "90%", "100.00%", "10", ""],
    ["满意度指标", "服务对象满意度指标", "业务使用部门以及群众满意度", "10", "80", "80%", "100.00%", "10", ""],
]

# Seed 004 typed as numbers: (value, number format) where the format matters.
P0, P2 = "0%", "0.00%"
SEED_004_ANNEX_ROWS = [
    ["预算执行指标", "预算执行指标", "预算执行率", 10, (1, P0), (1, P2), (1, P2), 10, None],
    ["产出指标", "数量指标", "视频会商系统升级改造", 11.25, "及时", (1, P0), (1, P0), 11.25, None],
    [None, "质量指标", "新建（购）系统验收通过率", 11.25, (1, P0), (1, P0), (1, P2), 11.25, None],
    [None, "时效指标", "系统上线及时性", 11.25, "及时", (1, P0), (1, P0), 11.25, None],
    ["效益指标", "社会效益", "系统安全等级达标率", 11.25, (1, P0), (1, P0), (1, P2), 11.25, None],
    [None, None, "系统功能模块使用率", 11.25, (1, P0), (1, P0), (1, P2), 11.25, None],
    [None, "可持续影响指标", "使用者满意度", 11.25, (1, P0), (0.98, P0), (0.98, P2), 11.03, "略有卡顿"],
    ["满意度指标", "服务对象满意度指标", "管理机制健全性", 11.25, "健全", (1, P0), (1, P0), 11.25, None],
    [None, None, "跟踪反馈机制健全性", 11.25, "健全", (1, P0), (1, P0), 11.25, None],
]

# Seed 004 as a reviewer's table pasted as text (the reviewer's reproductions).
SEED_004_TEXT_ROWS = [
    ["预算执行指标", "预算执行指标", "预算执行率", "10", "100%", "100.00%", "100.00%", "10", None],
    ["产出指标", "数量指标", "视频会商系统升级改造", "11.25", "及时", "100%", "100%", "11.25", None],
    [None, "质量指标", "新建（购）系统验收通过率", "11.25", "100%", "100%", "100.00%", "11.25", None],
    [None, "时效指标", "系统上线及时性", "11.25", "及时", "100%", "100%", "11.25", None],
    ["效益指标", "社会效益", "系统安全等级达标率", "11.25", "100%", "100%", "100.00%", "11.25", None],
    [None, None, "系统功能模块使用率", "11.25", "100%", "100%", "100.00%", "11.25", None],
    [None, "可持续影响指标", "使用者满意度", "11.25", "100%", "98%", "98.00%", "11.03", "略有卡顿"],
    ["满意度指标", "服务对象满意度指标", "管理机制健全性", "11.25", "健全", "100%", "100%", "11.25", None],
    [None, None, "跟踪反馈机制健全性", "11.25", "健全", "100%", "100%", "11.25", None],
]


def put(ws, top_left: str, rows: list[list]) -> None:
    """Write a block of rows from top_left; None leaves a cell empty, (value, fmt) sets a number format."""
    letter, first_row = coordinate_from_string(top_left)
    first_column = column_index_from_string(letter)
    for i, row in enumerate(rows):
        for j, item in enumerate(row):
            if item is None:
                continue
            value, fmt = item if isinstance(item, tuple) else (item, None)
            cell = ws.cell(first_row + i, first_column + j, value)
            if fmt:
                cell.number_format = fmt


def seed_000_workbook(path: Path) -> Path:
    """Seed 000's report pasted into one sheet: 预算执行情况 at A3, 附件1 at A14, 总分 and 评价等级 under it."""
    wb = Workbook()
    ws = wb.active
    ws.title = "自评报告"
    ws["A1"] = "项目名称：忻州市政府信息化建设经费"
    ws["A2"] = "（二）预算执行情况"
    put(ws, "A3", BUDGET_HEADER + SEED_000_BUDGET_ROWS)
    ws.merge_cells("D3:H3")
    ws["A13"] = "附件1.项目支出绩效自评表"
    put(ws, "A14", [ANNEX_HEADER] + SEED_000_ANNEX_ROWS)
    put(ws, "A25", [["总分", "", "", "100", "", "", "", "89.5", ""], ["评价等级", "", "", "", "", "", "", "良好", ""]])
    wb.save(path)
    return path


def seed_004_workbook(path: Path, *, tamper: bool = False) -> Path:
    """Seed 004's 附件1 typed with numbers and percent formats, at A2 under a title row.

    tamper: 使用者满意度 得分 11.03 → 11.02, 总分 99.77, 等级 良好, and the 完成率 of 系统上线及时性 0.5.
    """
    rows = [list(r) for r in SEED_004_ANNEX_ROWS]
    total, grade = 99.78, "优秀"
    if tamper:
        rows[6][7] = 11.02
        rows[3][6] = (0.5, P2)
        total, grade = 99.77, "良好"
    wb = Workbook()
    ws = wb.active
    ws.title = "附件1"
    ws["A1"] = "附件1.项目支出绩效自评表"
    put(ws, "A2", [ANNEX_HEADER] + rows)
    put(ws, "A12", [["总得分", None, None, 100, None, None, None, total, None],
                    ["评价等级", None, None, None, None, None, None, grade, None]])
    wb.save(path)
    return path


def put_national_table(ws, *, total=98.44, grade="优") -> None:
    """A national-form 绩效指标 table at D7 (weights 90: the budget block holds the other 10),
    merged 一级/二级 cells, 总分 (权重合计 100 beside it) and 评价等级 rows at 13 and 14."""
    put(ws, "D7", [
        NATIONAL_HEADER,
        ["产出指标", "数量指标", "培训人次", "≥100人次", "120人次", 30, 30, None],
        [None, None, "覆盖率", "≥90%", "85%", 10, 9.44, "未完全覆盖"],
        [None, "质量指标", "合格率", "100%", "100%", 10, 10, None],
        ["效益指标", "社会效益指标", "群众知晓率", "≥80%", "80%", 30, 30, None],
        ["满意度指标", "服务对象满意度指标", "满意度", "≥90%", "95%", 10, 10, None],
        ["总分", None, None, None, None, 100, total, None],
        ["评价等级", None, None, None, None, None, grade, None],
    ])
    for cells in ("D8:D10", "E8:E9", "D13:H13", "D14:H14"):
        ws.merge_cells(cells)


def put_national_budget(ws, *, rate=(0.9, "0.00%"), budget_score=9) -> None:
    """The national form's budget block at B2: 80 budgeted, 72 executed (90%), 分值 10."""
    put(ws, "B2", [
        ["项目资金（万元）", None, "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"],
        [None, "年度资金总额", 100, 80, 72, 10, rate, budget_score],
        [None, "其中：当年财政拨款", 100, 80, 72, "—", "—", "—"],
        [None, "上年结转资金", None, None, None, "—", "—", "—"],
        [None, "其他资金", "/", None, None, "—", "—", "—"],
    ])
