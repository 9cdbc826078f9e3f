"""Read the template's input sheets into `Project` records.

A cell holding the template's own formula is "derived": the engine computes it
from the rules. A typed constant is read as typed. Another formula is read
through its cached value and reported, so nothing is scored silently wrong.

Accountants insert and delete rows and move columns: the reader first checks
the anchor labels (layout.locate_input_positions) and reads every table where
its labels actually are, comparing with the template's formulas translated to
those cells. A sheet whose tables cannot be found gets one `layout-changed`
error at the missing label and is not scored: a shifted table is never read.
"""
from __future__ import annotations

from functools import lru_cache

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..model import UNSCORED_CODES
from ..package.book import BookSheet
from ..model import BLANK, BUDGET_COLUMNS, BUDGET_ROWS, ERROR, INFO, WARNING, BudgetTable, Finding, Indicator, Loc, Project, Value
from ..rules.indicator import make_finding
from ..template.formulas import earlier_template_formulas, overwritable_formula_cells, template_formulas
from ..vocabulary import BUDGET_INDICATOR_NAME
from ..formula.parser import outside_strings
from ..values import number_typed_as_text, parse_value

CachedValue = Callable[[str, str], object]  # (sheet, cell) → cached value of a formula cell


def is_input_sheet(ws) -> bool:
    """An input sheet is recognised by its titles, whatever its name: the template's title in A1, or,
    where rows or columns were inserted before it, the title and below it the label 项目名称 within
    the sheet's top-left corner (TITLE_SEARCH_ROWS × TITLE_SEARCH_COLUMNS), in the title's column."""
    if not isinstance(ws, (Worksheet, BookSheet)):  # a chart sheet has no cells
        return False
    if ws[L.TITLE_CELL].value == L.INPUT_TITLE:
        return True
    titles: set[int] = set()  # columns holding the title in a row above
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, TITLE_SEARCH_ROWS),
                            max_col=min(ws.max_column, TITLE_SEARCH_COLUMNS)):
        for cell in row:
            if not isinstance(cell.value, str):
                continue
            text = cell.value.strip()
            if cell.column in titles and "".join(text.split()) == NAME_LABEL:
                return True
            if text == L.INPUT_TITLE:
                titles.add(cell.column)
    return False


NAME_LABEL = "项目名称"  # below the title (A2 in the template)
TITLE_SEARCH_ROWS = 10
TITLE_SEARCH_COLUMNS = 26  # the title is looked for in A1:Z10 (columns inserted before A move it right)


def input_sheets(wb: Workbook) -> list[Worksheet]:
    return [ws for ws in wb.worksheets if is_input_sheet(ws)]


def formula_text(value) -> str | None:
    if isinstance(value, ArrayFormula):
        return value.text
    if isinstance(value, str) and value.startswith("="):
        return value
    return None




@lru_cache(maxsize=8192)  # the same template formulas repeat on every project sheet
def normalise_formula(f: str) -> str:
    """Compare formulas the way Excel re-saves them: case and spaces outside strings ignored."""
    return outside_strings(f, lambda part: re.sub(r"\s+", "", part).upper().replace("_XLFN.", ""))


# ---- the template's formulas where the cells actually are ---------------------------
_REF_TOKEN = re.compile(r"(?<![A-Za-z0-9_.])(\$?)([A-Z]{1,3})(\$?)(\d+)(?![A-Za-z0-9_(])")
CellMap = Callable[[str, int], "tuple[str, int] | None"]


def translate_formula(formula: str, cell_map: CellMap) -> str | None:
    """formula with every cell reference moved by cell_map, as Excel moves them when rows or columns move.

    None when a reference has no place any more (a deleted row or column).
    """
    failed = False

    def move(m: re.Match) -> str:
        nonlocal failed
        target = cell_map(m.group(2), int(m.group(4)))
        if target is None or target[0] is None:
            failed = True
            return m.group(0)
        return f"{m.group(1)}{target[0]}{m.group(3)}{target[1]}"

    moved = outside_strings(formula, lambda part: _REF_TOKEN.sub(move, part))
    return None if failed else moved


def _cell_map(pos: L.InputPositions, rows: dict[int, int]) -> CellMap:
    budget_rows = {L.BUDGET_ROW_NUMBERS[k]: pos.budget_rows[k] for k in BUDGET_ROWS}
    budget_cols = {L.BUDGET_COLUMN_LETTERS[c]: pos.budget_columns[c] for c in BUDGET_COLUMNS}
    template_cols = {**L.INDICATOR_COLUMN_LETTERS, **L.HELPER_COLUMN_LETTERS}
    indicator_cols = {template_cols[f]: letter for f, letter in pos.indicator_columns.items()}

    def cell_map(col: str, row: int):
        if row in budget_rows:
            return budget_cols.get(col), budget_rows[row]
        if row in rows:
            return indicator_cols.get(col), rows[row]
        return None

    return cell_map


def is_template_formula(ref: str, formula: str, expected: dict[str, str], moved: bool = False) -> bool:
    """formula is the template's at ref: today's (expected) or, on a sheet whose fields are where the template
    put them, an earlier release's (template.formulas.earlier_template_formulas)."""
    candidates = [expected.get(ref)]
    if not moved:
        candidates.append(earlier_template_formulas().get(ref))
    return any(c is not None and (formula == c or normalise_formula(formula) == normalise_formula(c))
               for c in candidates)


def expected_formulas(pos: L.InputPositions, profile=None) -> dict[str, str]:
    """cell → the template formula that belongs there, for a sheet whose fields are at pos."""
    base = template_formulas(profile)
    if not pos.moved:
        return base
    out: dict[str, str] = {}

    def put(template_ref: str, actual_ref: str, cell_map: CellMap) -> None:
        formula = base.get(template_ref)
        translated = translate_formula(formula, cell_map) if formula else None
        if translated:
            out[actual_ref] = translated

    budget_map = _cell_map(pos, {})
    for key in BUDGET_ROWS:
        for col in BUDGET_COLUMNS:
            put(L.budget_cell(key, col), pos.budget_cell(key, col), budget_map)
    plain_row = L.INDICATOR_FIRST_ROW + 1
    for row in pos.indicator_rows:
        template_row = L.BUDGET_INDICATOR_ROW if row == pos.budget_indicator_row else plain_row
        row_map = _cell_map(pos, {template_row: row})
        for field in ("direction", "target_number", "actual_number", "rate", "score", "actual"):
            if field in pos.indicator_columns:
                put(L.indicator_cell(field, template_row), pos.indicator_cell(field, row), row_map)
    totals_map = _cell_map(pos, {L.INDICATOR_FIRST_ROW: pos.indicator_rows[0], L.INDICATOR_LAST_ROW: pos.indicator_rows[-1],
                                 L.TOTAL_ROW: pos.total_row})
    put(L.WEIGHT_TOTAL_CELL, pos.weight_total_cell, totals_map)
    put(L.TOTAL_SCORE_CELL, pos.total_score_cell, totals_map)
    put(L.GRADE_CELL, pos.grade_cell, totals_map)
    return out


def overwritable_cells(pos: L.InputPositions) -> set[str]:
    """Cells holding a template formula that the user may type over: 指标方向 and the 预算执行率 业绩值."""
    if not pos.moved:
        return overwritable_formula_cells()
    cells = {pos.indicator_cell("direction", r) for r in pos.indicator_rows}
    cells.add(pos.indicator_cell("actual", pos.budget_indicator_row))
    return cells


@dataclass(frozen=True)
class _Cell:
    """One cell as the reader classifies it."""

    value: Value
    derived: bool  # holds the template's formula
    formula: str | None


class _SheetReader:
    def __init__(self, ws: Worksheet, cached: CachedValue, profile, pos: L.InputPositions = L.TEMPLATE_POSITIONS):
        self.ws = ws
        self.cached = cached
        self.pos = pos
        self.expected = expected_formulas(pos, profile)
        self.overwritable = overwritable_cells(pos)
        self.findings: list[Finding] = []
        self.uncalculated: set[str] = set()  # cells with a formula and no stored result

    def loc(self, ref: str) -> Loc:
        return Loc(self.ws.title, ref)

    def text(self, ref: str) -> str:
        v = self.ws[ref].value
        f = formula_text(v)
        if f is not None:
            v = self.cached(self.ws.title, ref)
            if v is None:
                self._uncalculated(ref, f)
        return "" if v is None else str(v).strip()

    def _uncalculated(self, ref: str, formula: str) -> None:
        """A formula whose result the file does not hold (never calculated by Excel/WPS): reported, never guessed."""
        self.uncalculated.add(ref)
        self.findings.append(make_finding(
            WARNING, "formula-not-calculated", self.loc(ref),
            f"单元格中是公式 {formula}，但文件中没有保存它的计算结果（文件未经 Excel/WPS 计算保存），已按空白处理；"
            "请在 Excel 或 WPS 中打开并保存后再处理，或直接填写数值", published=formula))

    def cell(self, ref: str) -> _Cell:
        c = self.ws[ref]
        f = formula_text(c.value)
        expected = self.expected.get(ref)
        if f is not None:
            if expected is not None and is_template_formula(ref, f, self.expected, self.pos.moved):
                return _Cell(BLANK, True, f)
            cached = self.cached(self.ws.title, ref)
            if cached is None and expected is None:
                self._uncalculated(ref, f)
            if expected is not None:
                self.findings.append(make_finding(WARNING, "formula-changed", self.loc(ref),
                                                  f"此单元格的公式被改为 {f}，模板公式为 {expected}；已按其计算结果“{cached}”读取，请核对或恢复模板公式",
                                                  published=f, expected=expected))
            return _Cell(parse_value(cached, c.number_format), False, f)
        if expected is not None and ref not in self.overwritable and c.value is not None:
            self.findings.append(make_finding(WARNING, "formula-overwritten", self.loc(ref),
                                              f"自动计算单元格的公式被改为固定值“{c.value}”，应为公式 {expected}；请恢复公式",
                                              published=str(c.value), expected=expected))
        return _Cell(parse_value(c.value, c.number_format), False, None)

    def number_cell(self, ref: str) -> _Cell:
        """A cell the template's formulas read as a number (a budget amount, a weight): a number typed
        as text there is left out by Excel, so the rules read it as invalid, saying so at this cell."""
        c = self.cell(ref)
        if c.formula is None and ref not in self.expected and (typed := number_typed_as_text(self.ws[ref].value)) is not None:
            return _Cell(typed, False, None)
        return c


def read_project(ws: Worksheet, meta: dict, cached: CachedValue, profile) -> Project:
    try:
        pos = L.locate_input_positions(ws)
    except L.LayoutChanged as exc:
        return _unscored_project(ws, meta, exc)
    r = _SheetReader(ws, cached, profile, pos)
    name = r.text(pos.name_cell)
    if not name:
        name = ws.title
        r.findings.append(make_finding(INFO, "missing-name", r.loc(pos.name_cell), f"项目名称未填写，已使用工作表名“{ws.title}”"))
    if pos.moved:
        r.findings.append(make_finding(INFO, "layout-moved", r.loc(pos.indicator_cell("level1", pos.indicator_header_row)),
                                       "录入表插入、删除或移动过行列，与模板位置不同；已按各表格的标题找到它们并按实际位置读取，"
                                       "请核对评分结果"))
    info = {f: r.text(pos.info_cells[f]) for f in L.INFO_FIELDS}
    info.update({f: r.text(pos.goal_cells[f]) for f in L.GOAL_FIELDS})
    expected_row = int(re.sub(r"\D", "", pos.goal_cells[L.EXPECTED_GOAL]))
    info[L.ACHIEVED_LABEL] = _beside_label(ws, expected_row, L.ACHIEVED_LABEL)
    info.update(_report_texts(ws, pos))
    name_row = int(re.sub(r"\D", "", pos.name_cell))
    side = {key: _beside_label(ws, name_row, label) for key, (label, _, _) in L.SIDE_FIELDS.items()}
    meta = {**meta, **{key: value for key, value in side.items() if value}}
    unit_row = pos.budget_rows["initial"] - (L.BUDGET_FIRST_ROW - L.BUDGET_SECTION_ROW)
    unit = _beside_label(ws, unit_row, L.AMOUNT_UNIT_LABEL) if unit_row >= 1 else ""
    if unit and unit not in L.AMOUNT_UNITS:
        r.findings.append(make_finding(WARNING, "unknown-amount-unit", r.loc(f"J{unit_row}"),
                                       f"金额单位“{unit}”无法识别，已按万元处理；请选择 万元 或 元"))
    meta["amount_unit"] = unit if unit in L.AMOUNT_UNITS else L.AMOUNT_UNITS[0]
    budget = _read_budget(r)
    indicators = _read_indicators(r)
    r.findings += _merged_cell_findings(r)
    if _untouched(info, budget, indicators) and not any(f.severity == ERROR for f in r.findings):
        # A project sheet nobody filled in yet: said once, left out (no 附件1, not in 汇总, not exported).
        note = make_finding(WARNING, NOT_FILLED, r.loc(pos.name_cell),
                            f"项目“{name}”尚未填写（录入表中没有预算金额和绩效指标），本次不评分、不生成附件1；"
                            "填写后重新运行即可，如不再需要可用 xlperf remove-project 删除")
        return Project(name=name, sheet=ws.title, info=info, budget=None, indicators=(), meta=meta,
                       read_findings=tuple(f for f in r.findings if f.severity != ERROR) + (note,), positions=pos)
    return Project(
        name=name,
        sheet=ws.title,
        info=info,
        budget=budget,
        indicators=tuple(indicators),
        meta=meta,
        read_findings=tuple(r.findings),
        total_loc=r.loc(pos.total_score_cell),
        weight_total_loc=r.loc(pos.weight_total_cell),
        positions=pos,
    )


def _untouched(info: dict, budget: BudgetTable | None, indicators: list[Indicator]) -> bool:
    """Nothing typed but what the template itself puts there (the 预算执行率 row, the 金额单位)."""
    if any((info.get(f) or "").strip() for f in L.INFO_FIELDS + L.GOAL_FIELDS + (L.ACHIEVED_LABEL,) + L.REPORT_FIELDS):
        return False
    if budget is not None and any(not v.is_blank and not budget.derived.get(key) for key, v in budget.values.items()):
        return False
    return all(ind.actual_linked and not (ind.reason or "").strip() and ind.level3 == BUDGET_INDICATOR_NAME
               for ind in indicators)


REPORT_SEARCH_ROWS = 30  # below 评价等级: the report's text rows, found by their labels in column A


def _report_texts(ws: Worksheet, pos: L.InputPositions) -> dict[str, str]:
    """layout.REPORT_FIELDS → the text typed right of its label below the 评价等级 row ("" when the
    sheet has no such label: made before the report existed, or the label was deleted)."""
    out = {f: "" for f in L.REPORT_FIELDS}
    wanted = set(L.REPORT_FIELDS)
    last = min(pos.grade_row + REPORT_SEARCH_ROWS, max(ws.max_row or 0, pos.grade_row))
    for row in ws.iter_rows(min_row=pos.grade_row + 1, max_row=last, max_col=2):
        label, value = row[0].value, (row[1].value if len(row) > 1 else None)
        if isinstance(label, str) and label.strip() in wanted and not out[label.strip()]:
            if formula_text(value) is not None:
                value = None  # a formula typed as text is not the report's text
            out[label.strip()] = "" if value is None else str(value).strip()
    return out


def _beside_label(ws: Worksheet, row: int, label: str) -> str:
    """The text typed right of `label` on `row` ("" when the sheet has no such label: made before it existed)."""
    for cell in ws[row][: L.INPUT_LAST_COLUMN]:
        if isinstance(cell.value, str) and cell.value.strip() == label and cell.column < L.INPUT_LAST_COLUMN:
            value = ws.cell(row, cell.column + 1).value
            return "" if value is None else str(value).strip()
    return ""


def _unscored_project(ws: Worksheet, meta: dict, exc: L.LayoutChanged) -> Project:
    """A sheet whose tables cannot be found: one error at the missing label, and nothing scored."""
    name = ws[L.NAME_CELL].value
    name = name.strip() if isinstance(name, str) and name.strip() else ws.title
    finding = make_finding(ERROR, LAYOUT_CHANGED, Loc(ws.title, exc.cell), exc.message)
    return Project(name=name, sheet=ws.title, info={}, budget=None, indicators=(), meta=meta, read_findings=(finding,))


LAYOUT_CHANGED = "layout-changed"
SHEET_MISSING = "project-sheet-missing"
NOT_FILLED = "project-not-filled"


def is_unscored(project: Project) -> bool:
    """True when the reader could not read the sheet (its layout could not be found, or it is gone)."""
    return any(f.code in UNSCORED_CODES for f in project.read_findings)


def has_sheet(project: Project) -> bool:
    """False for a 项目清单 row whose 录入表 does not exist: no 附件1 is written for it."""
    return not any(f.code == SHEET_MISSING for f in project.read_findings)


def is_unfilled(project: Project) -> bool:
    """A project sheet nobody filled in yet: left out of 附件1, 汇总 and the export."""
    return any(f.code == NOT_FILLED for f in project.read_findings)


_BUDGET_KEYS = tuple((row, col) for row in BUDGET_ROWS for col in BUDGET_COLUMNS)  # one key tuple for every project


def _read_budget(r: _SheetReader) -> BudgetTable:
    values, cells, derived = {}, {}, {}
    for key in _BUDGET_KEYS:
        ref = r.pos.budget_cell(*key)
        c = r.number_cell(ref)
        values[key], cells[key], derived[key] = c.value, r.loc(ref), c.derived
    return BudgetTable(sheet=r.ws.title, values=values, cells=cells, derived=derived)


def _read_indicators(r: _SheetReader) -> list[Indicator]:
    out: list[Indicator] = []
    level1 = level2 = ""
    pos = r.pos
    for row in pos.indicator_rows:
        refs = {f: pos.indicator_cell(f, row) for f in L.INDICATOR_INPUT_FIELDS}
        texts = {f: r.text(refs[f]) for f in ("level1", "level2", "level3", "reason")}
        weight, target, actual = r.number_cell(refs["weight"]), r.cell(refs["target"]), r.cell(refs["actual"])
        direction = r.cell(refs["direction"])
        if not any(texts.values()) and weight.value.is_blank and target.value.is_blank and \
                (actual.value.is_blank or actual.derived) and (direction.value.is_blank or direction.derived) and \
                not r.uncalculated.intersection(refs.values()):
            continue  # blank rows are ignored (a row with anything typed in it is read, and reported if incomplete)
        # Blank means "same as above"; a new 一级 group starts its 二级 afresh.
        if texts["level1"] and texts["level1"] != level1:
            level1, level2 = texts["level1"], ""
        level2 = texts["level2"] or level2
        if actual.value.is_number and actual.value.op is not None and not actual.derived:
            r.findings.append(make_finding(
                WARNING, "actual-with-operator", r.loc(refs["actual"]),
                f"业绩值“{actual.value.shown}”带有比较词（如 以上、≥），实际完成值应是确切数值；"
                f"已按 {actual.value.shown} 中的数值计算，请填写实际完成的数值"))
        out.append(Indicator(
            row=row,
            level1=level1,
            level2=level2,
            level3=texts["level3"],
            direction=None if direction.derived else (direction.value.shown or None),
            weight=weight.value,
            target=target.value,
            actual=actual.value,
            reason=texts["reason"],
            cells={f: r.loc(ref) for f, ref in refs.items()},
            actual_linked=actual.derived,
        ))
    return out


def _merged_cell_findings(r: _SheetReader) -> list[Finding]:
    """Merged ranges over the cells the reader reads: only their top-left cell has a value."""
    pos = r.pos
    rows = set(pos.indicator_rows)
    first, last = min(rows), max(rows)
    indicator_cols = {L.column_index(pos.indicator_columns[f]) for f in L.INDICATOR_INPUT_FIELDS}
    same_as_above = {L.column_index(pos.indicator_columns[f]) for f in ("level1", "level2")}
    budget_rows = {pos.budget_rows[k] for k in L.BUDGET_AMOUNT_ROWS}
    budget_cols = {L.column_index(pos.budget_columns[c]) for c in BUDGET_COLUMNS}
    out = []
    for mr in r.ws.merged_cells.ranges:
        in_indicators = mr.max_row >= first and mr.min_row <= last and \
            any(mr.min_col <= c <= mr.max_col for c in indicator_cols)
        in_budget = any(mr.min_row <= b <= mr.max_row for b in budget_rows) and \
            any(mr.min_col <= c <= mr.max_col for c in budget_cols)
        if not (in_indicators or in_budget):
            continue
        if in_indicators and not in_budget and mr.min_col == mr.max_col and mr.min_col in same_as_above:
            continue  # a 一级/二级 指标 spanning its rows: blank below means "same as above" anyway
        out.append(make_finding(WARNING, "merged-cells", r.loc(mr.coord.split(":")[0]),
                                f"单元格 {mr.coord} 被合并：只有左上角单元格的内容会被读取，其余单元格按空白处理；"
                                "请取消合并，在每一行、每一列分别填写"))
    return out


def project_list_rows(wb: Workbook) -> list[tuple[int, dict]]:
    """(row, record) of every filled 项目清单 row."""
    if L.PROJECT_LIST_SHEET not in wb.sheetnames:
        return []
    ws = wb[L.PROJECT_LIST_SHEET]
    out = []
    for r, row in enumerate(ws.iter_rows(min_row=L.PROJECT_LIST_FIRST_ROW, max_col=len(L.PROJECT_LIST_KEYS),
                                         values_only=True), start=L.PROJECT_LIST_FIRST_ROW):
        record = {k: ("" if v is None else str(v).strip()) for k, v in zip(L.PROJECT_LIST_KEYS, row)}
        if record.get("name") or record.get("sheet"):
            out.append((r, record))
    return out


def read_project_list(wb: Workbook) -> dict[str, dict]:
    """项目清单 rows keyed by input sheet name (录入表) and by project name."""
    return _keyed_rows(project_list_rows(wb))


def _keyed_rows(rows: list[tuple[int, dict]]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for _, record in rows:
        for key in (record.get("sheet"), record.get("name")):
            if key and key not in out:
                out[key] = record
    return out


def read_projects(wb: Workbook, cached: CachedValue, profile) -> list[Project]:
    rows = project_list_rows(wb)
    project_list = _keyed_rows(rows)
    projects = []
    matched: set[int] = set()
    unclaimed: list[int] = []  # projects no 项目清单 row names
    for ws in input_sheets(wb):
        project = read_project(ws, {}, cached, profile)  # its name is where the sheet has it (columns may have moved)
        meta = project_list.get(ws.title) or project_list.get(project.name) or {}
        if meta:
            matched.add(id(meta))
            project = dataclasses.replace(project, meta={**meta, **project.meta})
        elif rows:
            unclaimed.append(len(projects))
        projects.append(project)
    projects, matched = _renamed_sheets(rows, matched, projects, unclaimed)
    return projects + _projects_without_sheet(rows, matched)


def _renamed_sheets(rows, matched: set[int], projects: list[Project], unclaimed: list[int]):
    """项目清单 rows whose 录入表 is no sheet any more, and as many input sheets no row names: the sheets were
    renamed (to the project's name, as 使用说明 invites). Paired in order, each pair said at the row. A
    different count is no renaming: the rows stay missing (an error each), the sheets are read alone."""
    names = {p.sheet for p in projects}
    orphans = [(r, record) for r, record in rows if id(record) not in matched and (record.get("sheet") or "") not in names]
    if not orphans or len(orphans) != len(unclaimed):
        return projects, matched
    projects = list(projects)
    sheet_column = L.column(L.PROJECT_LIST_KEYS.index("sheet") + 1)
    for (r, record), i in zip(orphans, unclaimed):
        project = projects[i]
        old = record.get("sheet") or record.get("name")
        note = make_finding(INFO, "project-sheet-renamed", Loc(L.PROJECT_LIST_SHEET, f"{sheet_column}{r}"),
                            f"项目清单第 {r} 行的录入表“{old}”已不存在，已按改名后的录入表“{project.sheet}”读取（项目“{project.name}”）；"
                            f"请核对，并把这一行的“录入表”改为“{project.sheet}”")
        projects[i] = dataclasses.replace(project, meta={**record, **project.meta},
                                          read_findings=project.read_findings + (note,))
        matched = matched | {id(record)}
    return projects, matched


def _projects_without_sheet(rows: list[tuple[int, dict]], matched: set[int]) -> list[Project]:
    """A 项目清单 row whose 录入表 is gone (deleted by hand, or a part the file lost): never silence."""
    out = []
    for r, record in rows:
        if id(record) in matched:
            continue
        name = record.get("name") or record.get("sheet")
        sheet = record.get("sheet") or name
        message = (f"项目清单第 {r} 行的项目“{name}”找不到录入表“{sheet}”（工作表被删除、改名，或文件中缺少该表），"
                   "本项目未评分；如该项目已取消，请删除项目清单中的这一行，否则请恢复它的录入表")
        finding = make_finding(ERROR, SHEET_MISSING, Loc(L.PROJECT_LIST_SHEET, f"A{r}"), message)
        out.append(Project(name=name, sheet=L.PROJECT_LIST_SHEET, info={}, budget=None, indicators=(), meta=record,
                           read_findings=(finding,)))
    return out
