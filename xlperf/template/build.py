"""Build the master workbook: 使用说明, 项目清单 and one input sheet per project.

`workbook_templates/绩效自评模板.xlsx` is `template_bytes()` written to disk
(`python -m xlperf.template` regenerates it; a test keeps it in sync).
"""
from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..writers.cells import (
    BODY_FONT, BOLD_FONT, BORDER, CENTER, FONT_NAME, HEADER_FILL, LINK_FONT, TITLE_FONT, print_one_page_wide,
)
from ..forms import DEFAULT_FORM, SEEDS_FORM, load_form
from ..forms.recorded import record_form
from ..profiles import Profile, load_profile
from ..vocabulary import BUDGET_INDICATOR_NAME, BUDGET_LEVEL, CATEGORIES, DIRECTIONS
from ..zipbytes import fixed_package
from .formulas import template_formulas
from .inputs import ProjectInput, type_into

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "workbook_templates" / "绩效自评模板.xlsx"
TEMPLATE_PROJECT_NAME = "项目1"

INPUT_FILL = PatternFill("solid", fgColor="FFF8DC")  # pale yellow: type here
COMPUTED_FILL = PatternFill("solid", fgColor="EDEDED")  # grey: calculated, locked
SECTION_FONT = Font(name=FONT_NAME, size=12, bold=True)
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER_WRAP = Alignment(horizontal="center", wrap_text=True, vertical="center")
UNLOCKED = Protection(locked=False)
TEXT_FORMAT = "@"
AMOUNT_FORMAT = "#,##0.00####"
RATE_POINTS_FORMAT = "0.00"
PERCENT_FORMAT = "0.00%"

INSTRUCTIONS = (
    "项目支出绩效自评表 使用说明",
    "",
    "一、本工作簿的结构",
    "1. “项目清单”：每个项目一行，填写项目名称、预算单位、主管部门、项目负责人、联系人、联系电话、电子邮箱、年度。",
    "2. 每个项目一张录入表（工作表名即项目名称）：填写基本情况、预算执行情况、绩效目标和绩效指标。",
    "3. 运行 xlperf recalc 后生成“附件1-项目名称”（项目支出绩效自评表）、“汇总”和“校验结果”工作表；这些表每次重新生成，请勿在其中填写内容。",
    "",
    "二、如何填写录入表",
    "1. 淡黄色单元格为填写区；灰色单元格为自动计算（已锁定，工作表保护无密码）。",
    "2. 预算执行情况：先在右上角选择金额单位（万元或元），再按资金来源填写中央级、省级、市级、县区级、上年结转资金、其他资金；小计、年度总金额及第(5)–(7)行自动计算。",
    "3. 绩效指标：一级、二级指标请从下拉列表选择；三级指标填写具体指标名称；权重合计应为 100。",
    "4. 目标值、业绩值按原样填写，如 100%、≥90%、≤5、100万元、及时、持续；定性指标的业绩值请填写完成比例（如 95%）。",
    "5. 指标方向留空时自动判断（含 ≤、以内 等为反向，文字目标为定性）；需要时可从下拉列表选择 正向/反向/定性。",
    "6. 第一行“预算执行率”的业绩值自动引用预算执行情况表第(7)行，一般无需填写；如手工改写，xlperf 会核对是否一致。",
    "7. 完成率低于 100% 或明显超出目标时，请填写“偏差原因分析及改进措施”。",
    "8. 评价等级下方的“自评报告文字”由 xlperf report 写入 Word 自评报告（绩效分析、经验做法、存在问题、措施建议）；留空的部分按计算结果自动生成。",
    "",
    "三、评分规则（财预〔2020〕10号）",
    "1. 正向指标：完成率 = 业绩值 ÷ 目标值；反向指标：完成率 = 目标值 ÷ 业绩值；定性指标：完成率 = 业绩值所填比例。",
    "2. 指标得分 = 权重 × min(完成率, 100%)，四舍五入保留两位小数；总得分为各指标得分之和。",
    "3. 评价等级：90（含）–100 分为优秀，80（含）–90 分为良好，60（含）–80 分为中，60 分以下为差。",
    "",
    "四、命令",
    "xlperf recalc 本文件.xlsx        计算得分并生成附件1、汇总和校验结果",
    "xlperf add-project 本文件.xlsx --name 项目名称    增加一个项目录入表",
)


def new_workbook(projects: list[ProjectInput], profile: Profile | None = None, form: str | None = None) -> Workbook:
    """The master workbook with one input sheet per project, values typed in.

    form: the registered form its 附件1 are written in (recorded in the workbook; None records
    nothing, and recalc then writes the seeds' 山西 layout)."""
    profile = profile or load_profile()
    wb = Workbook()
    wb.remove(wb.active)
    write_instructions(wb, form)
    if form is not None:
        record_form(wb, form)
    wb.create_sheet(L.PROJECT_LIST_SHEET)
    _write_project_list_header(wb[L.PROJECT_LIST_SHEET])
    for data in projects:
        add_project(wb, data, profile)
    wb.active = 0
    return wb


def add_project(wb: Workbook, data: ProjectInput, profile: Profile | None = None, taken=()) -> Worksheet:
    """Add one input sheet (and its 项目清单 row) to a workbook; touches nothing else.
    taken: names of sheets the file has that wb was loaded without (the generated ones)."""
    profile = profile or load_profile()
    sheet_name = L.safe_sheet_name(data.name, set(wb.sheetnames) | set(taken))
    ws = wb.create_sheet(sheet_name)
    build_input_sheet(ws, profile)
    type_into(ws, data)
    _append_project_row(wb[L.PROJECT_LIST_SHEET], data, sheet_name)
    return ws


def form_lines(form: str | None) -> tuple[str, ...]:
    """What 使用说明 says about the form the workbook's 附件1 are written in."""
    chosen = load_form(form or SEEDS_FORM, writable=True)
    return (
        "",
        "五、附件1 表样",
        f"本工作簿的附件1按“{chosen.name}”表样生成：{chosen.title}（{chosen.description}）。",
        "更换表样：xlperf recalc 本文件.xlsx --form 表样名称（只影响本次生成；xlperf forms 列出全部表样）。",
    )


def write_instructions(wb: Workbook, form: str | None = None) -> Worksheet:
    from ..writers.cells import fit_row_heights

    ws = wb.create_sheet(L.INSTRUCTIONS_SHEET)
    ws.column_dimensions["A"].width = INSTRUCTIONS_WIDTH
    lines = INSTRUCTIONS + form_lines(form)
    for i, line in enumerate(lines, start=1):
        cell = ws.cell(row=i, column=1, value=line)
        cell.font = Font(name=FONT_NAME, size=16 if i == 1 else 11, bold=i == 1 or line.startswith(("一、", "二、", "三、", "四、", "五、")))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    fit_row_heights(ws, 2, len(lines))  # wrapped lines shown and printed in full, not cut at the page edge
    ws.row_dimensions[1].height = 26
    print_one_page_wide(ws, landscape=False)
    return ws


INSTRUCTIONS_WIDTH = 72  # fits an A4 portrait page at 11 pt even where fit-to-width is not honoured



def _write_project_list_header(ws: Worksheet) -> None:
    widths = (30, 24, 20, 12, 12, 16, 28, 8, 24)
    for col, (title, width) in enumerate(zip(L.PROJECT_LIST_COLUMNS, widths), start=1):
        cell = ws.cell(row=L.PROJECT_LIST_HEADER_ROW, column=col, value=title)
        cell.font, cell.fill, cell.border, cell.alignment = BOLD_FONT, HEADER_FILL, BORDER, CENTER
        ws.column_dimensions[L.column(col)].width = width
    ws.freeze_panes = f"A{L.PROJECT_LIST_FIRST_ROW}"
    print_one_page_wide(ws)  # nine columns: one landscape page wide, not three portrait pages
    ws.print_title_rows = f"{L.PROJECT_LIST_HEADER_ROW}:{L.PROJECT_LIST_HEADER_ROW}"


def _append_project_row(ws: Worksheet, data: ProjectInput, sheet_name: str) -> None:
    from ..writers.cells import set_text

    row = max(ws.max_row + 1, L.PROJECT_LIST_FIRST_ROW)
    values = {"name": data.name, "sheet": sheet_name, **{k: v for k, v in data.meta.items() if k in L.PROJECT_LIST_KEYS}}
    for col, key in enumerate(L.PROJECT_LIST_KEYS, start=1):
        cell = ws.cell(row=row, column=col)
        set_text(cell, str(values.get(key, "") or ""))
        cell.font, cell.border, cell.alignment = BODY_FONT, BORDER, WRAP
    link = ws.cell(row=row, column=len(L.PROJECT_LIST_KEYS))
    link.hyperlink = f"#'{sheet_name}'!A1"
    link.font = LINK_FONT


def build_input_sheet(ws: Worksheet, profile: Profile) -> None:
    """Lay out one empty input sheet: labels, input cells, formulas, validation, protection."""
    for letter, width in L.INPUT_COLUMN_WIDTHS.items():
        ws.column_dimensions[letter].width = width
    last = L.column(L.INPUT_LAST_COLUMN)
    _merged_label(ws, f"A1:{last}1", L.INPUT_TITLE, TITLE_FONT, CENTER)
    ws.row_dimensions[1].height = 30
    _label(ws, L.NAME_LABEL_CELL, "项目名称")
    _input_block(ws, L.NAME_BLOCK)
    for label, label_cell, block in L.SIDE_FIELDS.values():
        _label(ws, label_cell, label)
        _input_block(ws, block)

    _section(ws, L.INFO_SECTION_ROW, "一、项目基本情况")
    _text_rows(ws, L.INFO_FIRST_ROW, L.INFO_FIELDS)

    _section(ws, L.BUDGET_SECTION_ROW, "二、预算执行情况（小计、年度总金额及第(5)–(7)行自动计算；金额单位在右侧选择）")
    _label(ws, L.AMOUNT_UNIT_LABEL_CELL, L.AMOUNT_UNIT_LABEL)
    unit = ws[L.AMOUNT_UNIT_CELL]
    unit.value = L.AMOUNT_UNITS[0]
    unit.border, unit.fill, unit.protection, unit.font, unit.alignment = BORDER, INPUT_FILL, UNLOCKED, BODY_FONT, CENTER
    dv = DataValidation(type="list", formula1='"' + ",".join(L.AMOUNT_UNITS) + '"', allow_blank=False,
                        showErrorMessage=True, errorTitle=L.AMOUNT_UNIT_LABEL, error="请选择 万元 或 元")
    dv.add(L.AMOUNT_UNIT_CELL)
    ws.add_data_validation(dv)
    _budget_table(ws)

    _section(ws, L.GOALS_SECTION_ROW, "三、项目绩效目标")
    _text_rows(ws, L.GOALS_FIRST_ROW, L.GOAL_FIELDS, L.goal_blocks())
    _label(ws, L.ACHIEVED_LABEL_CELL, L.ACHIEVED_LABEL)
    _input_block(ws, L.ACHIEVED_BLOCK)

    _section(ws, L.INDICATOR_SECTION_ROW, "四、绩效指标（权重合计应为 100；灰色单元格自动计算；空行不计）")
    _indicator_table(ws, profile)

    _section(ws, L.REPORT_SECTION_ROW, L.REPORT_SECTION_TITLE)
    _text_rows(ws, L.REPORT_FIRST_ROW, L.REPORT_FIELDS)
    ws.freeze_panes = None
    ws.sheet_view.zoomScale = 90
    ws.protection.sheet = True  # no password: protection only guards the formulas
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    print_one_page_wide(ws)
    # prints what is in use (recalc moves it down as indicator rows are filled); the marker says it is xlperf's
    ranges = L.input_print_ranges(L.TEMPLATE_POSITIONS, 0, ws.max_row)
    ws.print_area = ranges
    ws.defined_names[L.PRINT_AREA_MARKER] = DefinedName(L.PRINT_AREA_MARKER, hidden=True,
                                                        attr_text=L.print_area_text(ws.title, ranges))


def _text_rows(ws: Worksheet, first_row: int, labels, blocks: dict[str, str] | None = None) -> None:
    """One labelled free-text row per label: label in A, a merged input block over B:J (or as `blocks` says)."""
    last = L.column(L.INPUT_LAST_COLUMN)
    for row, name in enumerate(labels, start=first_row):
        _label(ws, f"A{row}", name)
        _input_block(ws, (blocks or {}).get(name, f"B{row}:{last}{row}"))
        ws.row_dimensions[row].height = 48


def _budget_table(ws: Worksheet) -> None:
    h1, h2 = L.BUDGET_HEADER_ROW, L.BUDGET_HEADER_ROW + 1
    letters = L.BUDGET_COLUMN_LETTERS
    _merged_label(ws, f"A{h1}:A{h2}", L.BUDGET_CORNER_TITLES[0], BOLD_FONT, CENTER, HEADER_FILL)
    _merged_label(ws, f"B{h1}:B{h2}", L.BUDGET_CORNER_TITLES[1], BOLD_FONT, CENTER, HEADER_FILL)
    for col in ("total", "carryover", "other"):
        _merged_label(ws, f"{letters[col]}{h1}:{letters[col]}{h2}", L.BUDGET_COLUMN_TITLES[col], BOLD_FONT, CENTER, HEADER_FILL)
    _merged_label(ws, f"{letters['subtotal']}{h1}:{letters['county']}{h1}", L.BUDGET_GROUP_TITLE, BOLD_FONT, CENTER, HEADER_FILL)
    for col in ("subtotal", "central", "provincial", "municipal", "county"):
        _header(ws, f"{letters[col]}{h2}", L.BUDGET_COLUMN_TITLES[col])
    formulas = template_formulas()
    for key, row in L.BUDGET_ROW_NUMBERS.items():
        title, number = L.BUDGET_ROW_TITLES[key]
        _label(ws, f"A{row}", title)
        _label(ws, f"B{row}", number)
        for col in letters:
            ref = L.budget_cell(key, col)
            cell = ws[ref]
            cell.border, cell.font = BORDER, BODY_FONT
            if ref in formulas:
                cell.value = formulas[ref]
                cell.fill = COMPUTED_FILL
                cell.number_format = RATE_POINTS_FORMAT if key.endswith("_rate") else AMOUNT_FORMAT
            else:
                cell.fill, cell.protection, cell.number_format = INPUT_FILL, UNLOCKED, AMOUNT_FORMAT


def _indicator_table(ws: Worksheet, profile: Profile) -> None:
    formulas = template_formulas(profile)
    for field, title in zip(L.INDICATOR_FIELDS, L.INDICATOR_TITLES):
        _header(ws, L.indicator_cell(field, L.INDICATOR_HEADER_ROW), title)
    for field, title in L.HELPER_TITLES.items():
        _header(ws, L.indicator_cell(field, L.INDICATOR_HEADER_ROW), title)
    ws.row_dimensions[L.INDICATOR_HEADER_ROW].height = 30
    for row in L.indicator_rows():
        for field in L.INDICATOR_FIELDS + tuple(L.HELPER_COLUMN_LETTERS):
            ref = L.indicator_cell(field, row)
            cell = ws[ref]
            cell.border, cell.font, cell.alignment = BORDER, BODY_FONT, WRAP
            if ref in formulas:
                cell.value = formulas[ref]
            is_input = field in L.INDICATOR_INPUT_FIELDS
            cell.fill = INPUT_FILL if is_input else COMPUTED_FILL
            if is_input:
                cell.protection = UNLOCKED
            if field in ("weight", "target", "actual", "rate", "score"):
                cell.alignment = CENTER_WRAP
            if field in ("target", "actual"):
                cell.number_format = TEXT_FORMAT  # keep "90%" as typed, never converted to 0.9
            elif field == "rate":
                cell.number_format = PERCENT_FORMAT
            elif field == "score":
                cell.number_format = "0.00"
    first = L.BUDGET_INDICATOR_ROW
    for field, value in (("level1", BUDGET_LEVEL), ("level2", BUDGET_LEVEL), ("level3", BUDGET_INDICATOR_NAME),
                         ("weight", 10), ("target", "100%")):
        ws[L.indicator_cell(field, first)].value = value
    ws[L.indicator_cell("actual", first)].number_format = "General"  # holds the link formula
    for letter in L.HELPER_COLUMN_LETTERS.values():
        ws.column_dimensions[letter].hidden = True
    _totals(ws)
    _validations(ws)


def _totals(ws: Worksheet) -> None:
    formulas = template_formulas()
    total, grade = L.TOTAL_ROW, L.GRADE_ROW
    _merged_label(ws, f"A{total}:D{total}", L.TOTAL_LABEL, BOLD_FONT, CENTER, HEADER_FILL)
    _merged_label(ws, f"A{grade}:H{grade}", L.GRADE_LABEL, BOLD_FONT, CENTER, HEADER_FILL)
    for ref in (L.WEIGHT_TOTAL_CELL, L.TOTAL_SCORE_CELL, L.GRADE_CELL):
        cell = ws[ref]
        cell.value = formulas[ref]
        cell.font, cell.fill, cell.border, cell.alignment = BOLD_FONT, COMPUTED_FILL, BORDER, CENTER
    ws[L.TOTAL_SCORE_CELL].number_format = "0.00"
    red = PatternFill("solid", fgColor="F8CBAD")
    ws.conditional_formatting.add(L.WEIGHT_TOTAL_CELL, CellIsRule(operator="notEqual", formula=["100"], fill=red))


def _validations(ws: Worksheet) -> None:
    rows = f"{L.INDICATOR_FIRST_ROW}:{L.INDICATOR_LAST_ROW}"

    def add(field: str, options, title: str) -> None:
        letter = L.INDICATOR_COLUMN_LETTERS[field]
        dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True,
                            showErrorMessage=False, promptTitle=title, prompt=f"请从下拉列表选择{title}")
        dv.add(f"{letter}{rows.split(':')[0]}:{letter}{rows.split(':')[1]}")
        ws.add_data_validation(dv)

    add("level1", list(CATEGORIES), "一级指标")
    add("level2", list(dict.fromkeys(v for vs in CATEGORIES.values() for v in vs)), "二级指标")
    add("direction", DIRECTIONS, "指标方向")
    weight = L.INDICATOR_COLUMN_LETTERS["weight"]
    dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True,
                        showErrorMessage=True, errorTitle="权重", error="权重应为 0–100 之间的数值")
    dv.add(f"{weight}{L.INDICATOR_FIRST_ROW}:{weight}{L.INDICATOR_LAST_ROW}")
    ws.add_data_validation(dv)


def _label(ws, ref, text):
    cell = ws[ref]
    cell.value = text
    cell.font, cell.border, cell.alignment, cell.fill = BOLD_FONT, BORDER, CENTER, HEADER_FILL


def _header(ws, ref, text):
    _label(ws, ref, text)


def _section(ws, row, text):
    cell = ws.cell(row=row, column=1, value=text)
    cell.font = SECTION_FONT
    ws.row_dimensions[row].height = 22


def _merged_label(ws, ref, text, font, alignment, fill=None):
    ws.merge_cells(ref)
    first = ws[ref.split(":")[0]]
    first.value, first.font, first.alignment = text, font, alignment
    for row in ws[ref]:
        for cell in row:
            cell.border = BORDER
            if fill is not None:
                cell.fill = fill


def _input_block(ws, ref):
    ws.merge_cells(ref)
    for row in ws[ref]:
        for cell in row:
            cell.border, cell.fill, cell.protection = BORDER, INPUT_FILL, UNLOCKED
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.number_format = TEXT_FORMAT
            cell.font = BODY_FONT


# ---- deterministic bytes -------------------------------------------------------


def workbook_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes that depend only on its content (no timestamps)."""
    buffer = io.BytesIO()
    wb.save(buffer)
    return fixed_package(buffer.getvalue())


def template_workbook() -> Workbook:
    wb = new_workbook([ProjectInput(name=TEMPLATE_PROJECT_NAME)], form=DEFAULT_FORM)
    wb.properties.creator = "xlperf"
    wb.properties.title = "项目支出绩效自评表模板"
    return wb


def template_bytes() -> bytes:
    return workbook_bytes(template_workbook())


def write_template(path: Path = TEMPLATE_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(template_bytes())
    return path
