"""The reviewer's audit of a Word 自评报告: `xlperf check REPORT.docx`.

The document's tables are read as sheets (`xlperf.readers.docx_tables`: 表N, merged cells as
merged ranges) and checked by the workbook check unchanged (`check.check_table`): the 附件1 with
the 预算执行情况 table that comes before it in the document. Then what only a report has:

* the small score tables of 二、项目绩效情况 (二级指标, 三级指标, 权重, 目标值, 业绩值, 得分) must say
  what the 附件1 says for the same 三级指标;
* the narrative's numbers (总得分 N 分, 属于“等级”, 预算执行率, 年度总金额 …) must agree with the
  tables as the rules recompute them.

Locations: `sheet` is 表N or 正文; `cell` is R{row}C{column} in that table's grid or 段落N (the
N-th paragraph outside tables that shows text), as `readers.docx_tables` counts them.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .check import CheckReport, TableVerdict, budget_block_for, check_table, grade_rank
from .model import ERROR, WARNING, Finding, Loc
from .profiles import Profile
from .readers.annex_table import AnnexRow, AnnexTable, BudgetBlock, budget_block_table, scan_workbook, title_key
from .readers.docx_tables import (
    BODY_SHEET, DOCUMENT_SUFFIXES, DocParagraph, DocTable, UnreadableDocument, WordDocument, read_document,
    table_cell_name, tables_workbook,
)
from .rules.budget import derive_budget
from .rules.indicator import category_key, is_budget_indicator, make_finding
from .values import CENT, format_number, format_percent, format_score, half_up, normalise_text
from .vocabulary import CATEGORIES, UNSCORED_GRADE

__all__ = ["DOCUMENT_SUFFIXES", "check_document", "is_document"]

SMALL_FIELDS = {"weight": "权重", "target": "目标值", "actual": "业绩值", "score": "得分"}


def is_document(path: Path) -> bool:
    """Whether `xlperf check` reads this file as a Word report (by its name: .docx, .doc, .wps …)."""
    return Path(path).suffix.lower() in DOCUMENT_SUFFIXES


@dataclass(frozen=True)
class _Project:
    """One 附件1 of the document (a report usually has one) and what belongs to it."""

    table: DocTable
    annex: AnnexTable
    block: BudgetBlock | None
    verdict: TableVerdict


# ---- the pipeline ---------------------------------------------------------------------
def check_document(path: Path, profile: Profile) -> CheckReport:
    """Every table and every number-carrying sentence of the Word report at path, checked."""
    doc = read_document(Path(path))
    if not doc.tables:
        raise UnreadableDocument(
            f"“{Path(path).name}”中没有表格：自评报告应有预算执行情况表、各部分的得分表和附件1 项目支出绩效自评表，"
            "xlperf 无法审核。请确认这是填好的自评报告，且表格是 Word 表格（不是图片或文本框）")
    by_sheet = {t.sheet: t for t in doc.tables}
    wb = tables_workbook(doc.tables)
    annexes, blocks = scan_workbook(wb)
    small = [a for a in annexes if _is_score_table(a)]
    full = [a for a in annexes if not _is_score_table(a)]
    if not full and small:
        full, small = [_combined(small)], []  # a report without its 附件1: the score tables are the project
    projects: list[_Project] = []
    findings: list[Finding] = []
    if not full:
        scored = [b for b in blocks if b.budget_row is not None]
        if not scored:
            return _finish(doc, (), (_no_table_finding(doc),))
        for b in scored:  # a national 项目资金 block without its 绩效指标 table: its own numbers are still checked
            table = budget_block_table(b)
            verdict, table_findings = check_table(table, b, profile)
            verdict = dataclasses.replace(verdict, total=None, grade=UNSCORED_GRADE)
            findings += [f for f in table_findings if f.code not in ("weights-sum", "level1-weights")]
            findings.append(make_finding(
                ERROR, "no-indicator-table", b.budget_row.indicator.cells["weight"],
                "找到了项目资金（预算执行）表，但文档中没有绩效指标表（缺少“三级指标”“年度指标值”“实际完成值”“分值/得分”"
                "等列标题）：只核对了预算执行部分，总分无法重算；请补全绩效指标表"))
            projects.append(_Project(by_sheet[b.table.sheet], table, b, verdict))
        return _finish(doc, tuple(p.verdict for p in projects), tuple(findings))
    for annex in full:
        block = _block_for(annex, blocks, by_sheet)
        verdict, table_findings = check_table(annex, block, profile)
        findings += table_findings
        projects.append(_Project(by_sheet[annex.sheet], annex, block, verdict))
    for table in small:
        findings = _small_table_findings(table, _project_for(by_sheet[table.sheet].position, projects), findings)
    findings += _unlisted_rows(projects, small)
    narrative, verdicts = _narrative_findings(doc, projects, profile)
    return _finish(doc, verdicts, tuple(findings) + tuple(narrative))


SCORE_TABLE_FIELDS = frozenset({"level2", "level3", "weight", "target", "actual", "score"})


def _is_score_table(table: AnnexTable) -> bool:
    """A small score table of 二、项目绩效情况: 二级指标, 三级指标, 权重, 目标值, 业绩值, 得分 and nothing else
    (no 一级指标, 完成率 or 偏差原因: those make a 附件1 of some form)."""
    return set(table.columns) <= SCORE_TABLE_FIELDS


def _finish(doc: WordDocument, verdicts, findings) -> CheckReport:
    """Locations as a reader of the document finds them: 表N R{row}C{column}, 正文 段落N."""
    tables = {t.sheet for t in doc.tables}

    def located(f: Finding) -> Finding:
        message = re.sub(r"工作表“(表\d+)”", r"\1", f.message)
        if f.sheet in tables:
            return dataclasses.replace(f, cell=table_cell_name(f.cell), message=message)
        return dataclasses.replace(f, message=message)

    unplaced = tuple(Finding(severity=ERROR, code="table-unreadable", sheet=t.sheet, cell="", message=t.problem)
                     for t in doc.tables if t.problem)
    verdicts = tuple(_with_document_info(doc, v) for v in verdicts)
    return CheckReport(str(doc.path), verdicts, tuple(dict.fromkeys(map(located, unplaced + tuple(findings)))))


def _with_document_info(doc: WordDocument, verdict: TableVerdict) -> TableVerdict:
    """项目名称, 预算单位, 主管部门 the table itself does not state, from the paragraphs before it, nearest first
    (a report states them above its 附件1: 项目名称：X　　预算单位：Y　年度：2020, or at its top)."""
    from .readers.annex_table import info_from_rows

    table = next((t for t in doc.tables if t.sheet == verdict.sheet), None)
    if table is None or (verdict.project and verdict.unit and verdict.department):
        return verdict
    above = [[p.text] for p in reversed(doc.paragraphs) if p.position < table.position]
    info = info_from_rows(above)
    return dataclasses.replace(verdict, project=verdict.project or info.get("name"),
                               unit=verdict.unit or info.get("unit"), department=verdict.department or info.get("department"))


def _no_table_finding(doc: WordDocument) -> Finding:
    return Finding(severity=ERROR, code="no-table", sheet=doc.tables[0].sheet, cell="", message=(
        f"文档中有 {len(doc.tables)} 个表格，但没有找到项目支出绩效自评表（附件1）或得分表：没有哪一行同时含有"
        "“三级指标（目标指标/指标名称）”“权重（分值）”“目标值（年度指标值）”“业绩值（实际完成值）”这几个列标题。"
        "请确认这是填好的自评报告"))


def _block_for(annex: AnnexTable, blocks: list[BudgetBlock], by_sheet: dict[str, DocTable]) -> BudgetBlock | None:
    """The 预算执行情况 table of a 附件1: in the same table (national form), else the nearest one before it
    in the document, else the nearest after it."""
    same = [b for b in blocks if b.table.sheet == annex.sheet]
    if same:
        return budget_block_for(annex, same)
    number = by_sheet[annex.sheet].number
    before = [b for b in blocks if by_sheet[b.table.sheet].number < number]
    if before:
        return max(before, key=lambda b: by_sheet[b.table.sheet].number)
    return min(blocks, key=lambda b: by_sheet[b.table.sheet].number) if blocks else None


def _project_for(position: int, projects: list[_Project]) -> _Project:
    """The project a table or paragraph at `position` belongs to: the first 附件1 after it, else the last one."""
    after = [p for p in projects if p.table.position >= position]
    return after[0] if after else projects[-1]


def _combined(tables: list[AnnexTable]) -> AnnexTable:
    """The score tables of 二、 read as one 附件1 when the report has none (each row keeps its own cells);
    a table without a 一级指标 column takes each row's 一级 from its 二级 (数量指标 → 产出指标)."""
    first = tables[0]
    rows = []
    for t in tables:
        for r in t.rows:
            if not r.indicator.level1:
                level1 = _LEVEL1_OF.get(category_key(r.indicator.level2), "")
                r = dataclasses.replace(r, indicator=dataclasses.replace(r.indicator, level1=level1))
            rows.append(r)
    return dataclasses.replace(first, rows=tuple(rows), total=None, grade=None)


_LEVEL1_OF = {category_key(level2): level1 for level1, level2s in CATEGORIES.items() for level2 in level2s}


# ---- the small score tables against the 附件1 -----------------------------------------------
def _name_key(row: AnnexRow) -> str:
    return title_key(row.indicator.level3)


def _same_value(a, b, field: str = "") -> bool:
    """Two cells say the same thing: the same number (100% ≡ 100.00%, 98% ≡ 0.98) or the same text.
    A 权重 is points out of 100 however a form prints it: 10 ≡ 10%. A 目标值 without a sign matches the same number
    with one (a form such as 云南's prints the direction's ≥/≤ before every target)."""
    if a.kind == "number" and b.kind == "number":
        signed = (a.op or None) != (b.op or None) and not (field == "target" and not (a.op and b.op))
        if signed or (a.unit or None) != (b.unit or None):
            return False
        if a.percent == b.percent or field == "weight":
            return a.number == b.number
        pa = a.number if a.percent else a.number * 100
        pb = b.number if b.percent else b.number * 100
        return pa == pb
    if a.is_blank or b.is_blank:
        return a.is_blank and b.is_blank
    return normalise_text(a.shown) == normalise_text(b.shown)


def _fields(row: AnnexRow) -> dict[str, tuple]:
    """field → (value, location, text shown) of a row, for the fields a small table repeats."""
    ind = row.indicator
    out = {}
    for field in ("weight", "target", "actual"):
        value = getattr(ind, field)
        out[field] = (value, ind.cells.get(field), value.shown)
    if row.score is not None:
        out["score"] = (row.score.value, row.score.loc, row.score.value.shown or str(row.score.raw))
    return out


def _small_table_findings(small: AnnexTable, project: _Project, findings: list[Finding]) -> list[Finding]:
    """Each row of a score table must repeat its 附件1 row (same 三级指标): 权重, 目标值, 业绩值, 得分.
    Where the 附件1 value is itself wrong and the score table repeats it, the 附件1 finding says so."""
    rows = list(project.annex.rows)
    if project.block is not None and project.block.budget_row is not None and not any(
            is_budget_indicator(r.indicator) for r in rows):
        rows.insert(0, project.block.budget_row)
    taken: set[int] = set()
    out = list(findings)
    annex_name = project.table.sheet
    for row in small.rows:
        key = _name_key(row)
        candidates = [i for i, r in enumerate(rows) if i not in taken and _name_key(r) == key]
        if not candidates:
            out.append(make_finding(
                WARNING, "report-row-unmatched", row.indicator.cells.get("level3"),
                f"得分表中的三级指标“{row.indicator.level3}”在附件1（{annex_name}）中找不到同名指标；"
                "得分表应与附件1 逐项一致，请核对指标名称", published=row.indicator.level3))
            continue
        i = candidates[0]
        taken.add(i)
        theirs = _fields(rows[i])
        for field, (value, loc, shown) in _fields(row).items():
            if loc is None:
                continue
            if field not in theirs:
                continue
            other, other_loc, other_shown = theirs[field]
            if field == "weight" and getattr(other, "is_blank", False):
                # a form that gives the points per 一级指标 (“产出指标(90分)”) has no 权重 on the row: nothing to compare
                # (a 附件1 with a 权重 column and an empty cell gets its own finding from the table's check)
                continue
            where = f"{other_loc.sheet} {table_cell_name(other_loc.cell)}" if other_loc else annex_name
            if _same_value(value, other, field):
                repeated = f"（{small.sheet} {table_cell_name(loc.cell)} 的得分表中也填为“{shown}”，请一并改正）"
                out = [dataclasses.replace(f, message=f.message + repeated)
                       if f.severity == ERROR and other_loc and (f.sheet, f.cell) == (other_loc.sheet, other_loc.cell)
                       and repeated not in f.message else f for f in out]
                continue
            label = SMALL_FIELDS[field]
            out.append(make_finding(
                ERROR, "report-table-mismatch", loc,
                f"得分表中“{row.indicator.level3}”的{label}为“{shown or '（空）'}”，附件1（{where}）中为“{other_shown or '（空）'}”；"
                f"得分表应与附件1 一致，请核对后改为一致", published=shown, expected=other_shown))
    return out


def _unlisted_rows(projects: list[_Project], small: list[AnnexTable]) -> list[Finding]:
    """附件1 rows that no score table repeats (only when the report has score tables at all)."""
    if not small:
        return []
    listed = {_name_key(r) for t in small for r in t.rows}
    out = []
    for p in projects:
        for row in p.annex.rows:
            if _name_key(row) not in listed:
                out.append(make_finding(
                    WARNING, "report-row-unlisted", row.indicator.cells.get("level3"),
                    f"附件1 中的三级指标“{row.indicator.level3}”没有出现在“二、项目绩效情况”的得分表中；"
                    "请在相应部分的得分表中补上该指标", published=row.indicator.level3))
    return out


# ---- the narrative ----------------------------------------------------------------------
_NUMBER = r"(\d+(?:\.\d+)?)"
# The project's overall score, as a report states it: 总得分 89.5 分, 自评总分为 99.78 分, 本项目总分 90 分. Only a
# statement whose subject is the project's 自评 result is compared (`_about_the_project`): 产出指标总分50分,
# 满意度指标自评得分9分, 服务质量评价得分 are an indicator group's or something else's points.
_TOTAL = re.compile(r"(?:自评总得分|自评总分|总得分|综合得分|自评得分|绩效评价得分|评价得分|总分)\s*(?:为|是|达到|达|[:：])?\s*"
                    + _NUMBER + r"\s*分")
_GRADE = re.compile(r"(?:属于|等级为|等级是|等级[:：]|评为|评定为|定为|等次为)\s*[“\"'‘「『]?\s*"
                    r"(优秀|良好|中等|一般|较差|优|良|中|差)\s*(?=[”\"'’」』]|[，。；、,;.!！\s]|$)")
_CLAUSE_BREAKS = "，,；;。：:、！!？?\n\t“”\"‘’'「」『』"
_BRACKETED = re.compile(r"[（(【\[][^（()）【】\[\]]*[）)】\]]|[（()）【】\[\]]")  # 效益指标（30分）总得分: its subject is 效益指标
_SENTENCE_BREAKS = "。；;！!？?\n"
# What may stand before 总得分/等级为 in its clause when the clause is about the project's own result:
# the project's name up to 项目, and words such as 本/本次/2023年度/绩效/自评价/结果/为.
_OVERALL_SUBJECT = re.compile(
    r"(?:.*?项目)?(?:本|该|此|项目|本次|此次|今年|年度|\d{2,4}年度?|绩效|自评价?|自我评价|评价|评分|评定|综合|最终|"
    r"整体|总体|结果|的|为|是|即|其|经|共计|合计|(?:各项|全部|所有)(?:绩效)?指标|\s)*")
_GROUP_WORDS = re.compile(r"指标|满意|子项目|分项")  # 产出指标, 满意度, …: an indicator group's, not the project's
_ALL_INDICATORS = re.compile(r"(?:各项|全部|所有)(?:绩效)?指标")
# A grade said of the overall result: the sentence names the 自评/评价 result (or states the 总得分 itself).
_OVERALL_RESULT = re.compile(r"自评|绩效评价|评价结果|综合评|总体评价|整体评价|最终评")


def _clause_start(text: str, end: int, breaks: str = _CLAUSE_BREAKS) -> int:
    return max((text.rfind(ch, 0, end) for ch in breaks), default=-1) + 1


def _about_the_project(text: str, start: int) -> bool:
    """Whether the statement starting at `start` (总得分…, 等级为…) is about the project's own 自评 result: the
    words before it in its clause name nothing but the project (产出指标总分, 服务质量评价等级 are not)."""
    subject = _BRACKETED.sub("", text[_clause_start(text, start):start])
    if _GROUP_WORDS.search(_ALL_INDICATORS.sub("", subject)):
        return False
    return _OVERALL_SUBJECT.fullmatch(subject) is not None


def _total_matches(text: str) -> list[re.Match]:
    return [m for m in _TOTAL.finditer(text) if not _full_marks(text, m) and _about_the_project(text, m.start())]


def _grade_of_the_project(text: str, m: re.Match) -> bool:
    """A grade statement about the overall result: its clause's subject is the project (or nothing), and the
    sentence states the 总得分 before it, names the 自评/评价 result, or opens with it (评价等级为良好。)."""
    if not _about_the_project(text, m.start()):
        return False
    sentence = _clause_start(text, m.start(), _SENTENCE_BREAKS)
    clause = _clause_start(text, m.start())
    before = text[sentence:m.start()]
    return bool(_total_matches(before) or _OVERALL_RESULT.search(before) or "项目" in text[clause:m.start()]
                or clause <= sentence)


_RATE = re.compile(r"预算执行率\s*(?:为|是|达到|达|约为|[:：])?\s*(\d{1,3}(?:\.\d+)?)\s*[%％]")
_AMOUNT = re.compile(r"(年度总金额|年初预算资金|年初预算|全年预算资金|全年预算|实际到位资金|实际到位|全年执行资金|全年执行)"
                     r"(?:数|金额|资金)?\s*(?:为|是|共|共计|达|[:：])?\s*(\d[\d,，]*(?:\.\d+)?)\s*(万元|万|元)")
_AMOUNT_ROWS = {"年度总金额": ("annual", "initial"), "年初预算": ("initial",), "全年预算": ("annual",),
                "实际到位": ("received",), "全年执行": ("executed",)}
_ROW_NAMES = {"initial": "年初预算资金", "annual": "全年预算资金", "received": "实际到位资金", "executed": "全年执行资金"}
QUOTE_CONTEXT = 12  # characters either side of a statement quoted in a message


def _matchable(text: str) -> str:
    """The text with full-width digits and signs as ASCII (８９.５分, ９８％, ：), character for character,
    so that a match's position is its position in the text as typed (quoted in messages)."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def _quote(text: str, m: re.Match) -> str:
    start, end = max(m.start() - QUOTE_CONTEXT, 0), min(m.end() + QUOTE_CONTEXT, len(text))
    inner = " ".join(text[start:end].split())
    return ("…" if start else "") + inner + ("…" if end < len(text) else "")


def _places(shown: str) -> int:
    m = re.search(r"\.(\d+)", shown)
    return len(m.group(1)) if m else 0


def _narrative_findings(doc: WordDocument, projects: list[_Project], profile: Profile):
    """Findings about the paragraphs' numbers, and the verdicts with the narrative's 总得分/等级 as the
    published ones where the 附件1 prints none."""
    findings: list[Finding] = []
    stated: dict[int, tuple] = {}  # project index → (total, grade) the narrative states first
    units: dict[int, str] = {}  # project index → the unit of its 预算执行情况 table's amounts
    for paragraph in doc.paragraphs:
        project = _project_for(paragraph.position, projects)
        index = projects.index(project)
        loc = Loc(BODY_SHEET, f"段落{paragraph.number}")
        findings += _total_statements(paragraph, project, loc, stated.setdefault(index, [None, None]))
        findings += _grade_statements(paragraph, project, loc, profile, stated[index])
        if project.block is not None:
            findings += _budget_statements(paragraph, project, loc, units.setdefault(index, _table_unit(doc, project)))
    verdicts = []
    for i, p in enumerate(projects):
        v = p.verdict
        total, grade = stated.get(i, (None, None))
        if v.published_total is None and total is not None:
            v = dataclasses.replace(v, published_total=total)
        if v.published_grade is None and grade is not None:
            v = dataclasses.replace(v, published_grade=grade)
        verdicts.append(v)
    return findings, tuple(verdicts)


def _annex_name(project: _Project) -> str:
    if "level1" not in project.annex.columns:  # no 附件1: the score tables of 二、 were scored
        return f"“二、项目绩效情况”的得分表（{project.table.sheet}起）"
    return f"附件1（{project.table.sheet}）"


FULL_MARKS = Decimal(100)


def _full_marks(text: str, m: re.Match) -> bool:
    """满分即总分100分: the points available, not the score."""
    return "满分" in text[max(0, m.start() - 4):m.start()]


def _total_statements(paragraph: DocParagraph, project: _Project, loc: Loc, stated: list) -> list[Finding]:
    out = []
    expected = project.verdict.total
    text = _matchable(paragraph.text)
    matches = _total_matches(text)
    if len({m.group(1) for m in matches}) > 1:  # 总分100分，自评得分99.78分: the first is the full marks
        matches = [m for m in matches if Decimal(m.group(1)) != FULL_MARKS] or matches
    for m in matches:
        published = Decimal(m.group(1))
        if stated[0] is None:
            stated[0] = published
        if expected is None or half_up(published, CENT) == expected:
            continue
        quote = _quote(paragraph.text, m)
        shown = format_score(expected)
        out.append(make_finding(
            ERROR, "narrative-total-mismatch", loc,
            f"正文第{paragraph.number}段“{quote}”写总得分 {m.group(1)} 分，按{_annex_name(project)}的数据"
            f"（预算执行率按预算执行情况表计算，每项得分四舍五入到 2 位小数）重算总得分应为 {shown} 分；请改为 {shown}",
            published=m.group(1), expected=shown))
    return out


def _grade_statements(paragraph: DocParagraph, project: _Project, loc: Loc, profile: Profile,
                      stated: list) -> list[Finding]:
    out = []
    verdict = project.verdict
    if verdict.total is None:
        return out
    text = _matchable(paragraph.text)
    for m in _GRADE.finditer(text):
        if not _grade_of_the_project(text, m):  # 服务质量评价等级为良好 is not the project's grade
            continue
        published = m.group(1)
        if stated[1] is None:
            stated[1] = published
        if grade_rank(published, profile) == grade_rank(verdict.grade, profile):
            continue
        quote = _quote(paragraph.text, m)
        out.append(make_finding(
            ERROR, "narrative-grade-mismatch", loc,
            f"正文第{paragraph.number}段“{quote}”写评价等级为“{published}”，按{_annex_name(project)}重算的总得分 "
            f"{format_score(verdict.total)} 分对应的等级应为“{verdict.grade}”；请改为“{verdict.grade}”",
            published=published, expected=verdict.grade))
    return out


AMOUNT_FACTORS = {"万元": Decimal(10000), "万": Decimal(10000), "元": Decimal(1)}  # in 元
_UNIT_IN_TITLE = re.compile(r"\(\s*(万元|万|元)\s*\)")  # 年度总金额(元), 项目资金（万元） (full width folded)
_UNIT_CAPTION = re.compile(r"单位\s*[:]\s*(万元|万|元)")  # 金额单位：元, （单位：万元）
CAPTION_PARAGRAPHS = 3  # paragraphs before a table searched for its 单位 caption


def _unit_in(text: str, patterns=(_UNIT_IN_TITLE, _UNIT_CAPTION)) -> str | None:
    """万元 or 元 as the text states it first ((万) is 万元)."""
    text = _matchable(text)
    found = [m for m in (p.search(text) for p in patterns) if m]
    if not found:
        return None
    unit = min(found, key=lambda m: m.start()).group(1)
    return "万元" if unit == "万" else unit


def _table_unit(doc: WordDocument, project: _Project) -> str:
    """The unit of the 预算执行情况 table's amounts, as the report states it: in the table's header or title
    (年度总金额(元), 项目资金（万元）, 金额单位：元), else in a caption just before the table (单位：元);
    万元, the forms' default, when nothing says."""
    block = project.block
    table = next((t for t in doc.tables if t.sheet == block.table.sheet), None)
    if table is None:
        return "万元"
    for row in range(max(1, block.header_row - 2), block.last_row + 1):
        for column in range(1, table.max_column + 1):
            unit = _unit_in(table.text(row, column))
            if unit:
                return unit
    previous = max((t.position for t in doc.tables if t.position < table.position), default=0)
    captions = [p for p in doc.paragraphs if previous < p.position < table.position][-CAPTION_PARAGRAPHS:]
    for paragraph in reversed(captions):
        unit = _unit_in(paragraph.text, (_UNIT_CAPTION,))
        if unit:
            return unit
    return "万元"


def _decimal_places(d: Decimal) -> int:
    return max(0, -d.as_tuple().exponent) if d.is_finite() else 0


def _to_multiple(value: Decimal, quantum: Decimal) -> Decimal:
    return (value / quantum).quantize(Decimal(1), rounding=ROUND_HALF_UP) * quantum


def _same_amount(published: Decimal, places: int, unit: str, amount: Decimal, table_unit: str) -> bool:
    """A narrative amount agrees with the table's: equal in the same unit; in another unit (5613.40万元 for a
    table in 元), equal once both are rounded to the coarser of the precisions they were written with
    (5613.41万元 for 56134123元, 759123元 for 75.91万元)."""
    if AMOUNT_FACTORS[unit] == AMOUNT_FACTORS[table_unit]:
        return published == amount
    stated, table = published * AMOUNT_FACTORS[unit], amount * AMOUNT_FACTORS[table_unit]
    quantum = max(Decimal(1).scaleb(-places) * AMOUNT_FACTORS[unit],
                  Decimal(1).scaleb(-_decimal_places(amount)) * AMOUNT_FACTORS[table_unit])
    return _to_multiple(stated, quantum) == _to_multiple(table, quantum)


def _budget_statements(paragraph: DocParagraph, project: _Project, loc: Loc, table_unit: str = "万元") -> list[Finding]:
    """预算执行率 and the amounts of the 预算执行情况 table stated in the text (amounts compared in one unit)."""
    budget, _ = derive_budget(project.block.table)
    where = project.block.table.sheet
    out = []
    rate = budget.execution_rate
    text = _matchable(paragraph.text)
    for m in _RATE.finditer(text):
        if rate is None:
            continue
        published = Decimal(m.group(1))
        q = Decimal(1).scaleb(-min(_places(m.group(1)), 2))
        if half_up(published, q) == half_up(rate, q):
            continue
        expected = format_percent(rate / 100)
        out.append(make_finding(
            ERROR, "narrative-rate-mismatch", loc,
            f"正文第{paragraph.number}段“{_quote(paragraph.text, m)}”写预算执行率 {m.group(1)}%，"
            f"按预算执行情况表（{where}）全年执行资金/全年预算资金计算应为 {expected}；请改为 {expected}",
            published=f"{m.group(1)}%", expected=expected))
    for m in _AMOUNT.finditer(text):
        label, number, unit = m.group(1), m.group(2), m.group(3)
        rows = next(v for k, v in _AMOUNT_ROWS.items() if label.startswith(k))
        amounts = [budget.amounts.get((row, "total")) for row in rows]
        if all(a is None for a in amounts):
            continue
        digits = number.replace(",", "").replace("，", "")
        published = Decimal(digits)
        if any(a is not None and _same_amount(published, _places(digits), unit, a, table_unit) for a in amounts):
            continue
        row = rows[0] if amounts[0] is not None else rows[-1]
        amount = budget.amounts[(row, "total")]
        in_table = f"{format_number(amount)} {table_unit}"
        expected = format_number(amount * AMOUNT_FACTORS[table_unit] / AMOUNT_FACTORS[unit])  # in the sentence's unit
        converted = "" if AMOUNT_FACTORS[unit] == AMOUNT_FACTORS[table_unit] else f"（即 {expected}{unit}）"
        out.append(make_finding(
            ERROR, "narrative-amount-mismatch", loc,
            f"正文第{paragraph.number}段“{_quote(paragraph.text, m)}”写{label} {number}{unit}，"
            f"预算执行情况表（{where}）的{_ROW_NAMES[row]}（年度总金额）为 {in_table}{converted}；请核对一致",
            published=f"{number}{unit}", expected=f"{expected}{unit}"))
    return out
