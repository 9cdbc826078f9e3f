"""Make the Word template of the 项目支出绩效自评报告: `python -m xlperf.report.template`.

Writes ``workbook_templates/自评报告模板.docx`` with python-docx: page setup, styles and the
fixed text of the report, with docxtpl (Jinja) tags where the project's text and numbers go.
A unit opens it in Word or WPS and changes what it likes (its name, 文号, fonts, a logo in the
header, the wording of the headings) without touching code; `xlperf report --template` (or a
``自评报告模板.docx`` beside the workbook) then uses the edited file. What the tags receive is
documented in `xlperf.report.document.template_context`. Keep the tags themselves
(``{{ … }}``, ``{%p … %}``, ``{%tr … %}``) and the paragraph ``{{ annex_table }}`` where the 附件1
table goes.

Layout after the official-document conventions (GB/T 9704): A4, margins 3.7/3.5/2.8/2.6 cm;
title 方正小标宋简体 二号; body 仿宋_GB2312 三号 at a fixed 28 pt line, first line indented two
characters; headings 一、 黑体, （一） 楷体_GB2312, 1. 仿宋_GB2312 bold; tables 仿宋 五号 with
their header rows repeated on every page and rows never split across pages; the 附件1 on
landscape pages. The East Asian font names are set as Word's w:eastAsia fonts: where they are not
installed, Word, WPS and LibreOffice fall back to the nearest installed CJK font.

The bytes depend only on this code (fixed zip times, fixed document properties); a test keeps
the committed file in sync.
"""
from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from ..zipbytes import fixed_package

TEMPLATE_NAME = "自评报告模板.docx"
TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "workbook_templates" / TEMPLATE_NAME
ANNEX_MARKER_TAG = "{{ annex_table }}"

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
LATIN_FONT = "Times New Roman"

BODY_SIZE = Pt(16)  # 三号
TABLE_SIZE = Pt(10.5)  # 五号
SMALL_TABLE_SIZE = Pt(9)  # 小五: the ten-column budget table and the 附件1
CELL_MARGIN = 57  # twips (0.1 cm) left and right inside table cells: numbers such as 100.00% stay on one line
TITLE_SIZE = Pt(22)  # 二号
LINE = Pt(28)

# styles the writer refers to by name
STYLE_BODY = "Normal"
STYLE_TITLE = "Title"
STYLE_H1, STYLE_H2, STYLE_H3 = "Heading 1", "Heading 2", "Heading 3"
STYLE_LABEL = "xlperf 小标题"
STYLE_CENTER = "xlperf 居中"
STYLE_TABLE = "xlperf 表格"
STYLE_TABLE_SMALL = "xlperf 表格小字"
STYLE_ANNEX_TITLE = "xlperf 附件标题"
STYLE_ANNEX_LABEL = "xlperf 附件"
STYLE_ANNEX_LINE = "xlperf 附件表头"

BUDGET_WIDTHS_CM = (2.4, 1.7, 1.6, 1.6, 1.2, 1.2, 1.6, 1.2, 1.6, 1.5)
SCORE_WIDTHS_CM = (2.7, 4.9, 1.4, 2.2, 2.2, 1.6)
SCORE_TITLES = ("二级指标", "三级指标", "权重", "目标值", "业绩值", "得分")
SCORE_FIELDS = ("level2", "level3", "weight", "target", "actual", "score")
BUDGET_KEYS = ("total", "subtotal", "central", "provincial", "municipal", "county", "carryover", "other")


# ---- fonts and styles -------------------------------------------------------------------
def set_fonts(rpr_owner, east_asia: str, latin: str = LATIN_FONT) -> None:
    """Font names of a style or run: Latin for digits and letters, east_asia for Chinese (w:eastAsia)."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]  # theme fonts (asciiTheme…) would override the names
    for attr, name in (("w:ascii", latin), ("w:hAnsi", latin), ("w:eastAsia", east_asia), ("w:cs", latin)):
        fonts.set(qn(attr), name)


def _style(doc, name: str, *, font: str, size, bold=False, align=None, indent=False, line=None, base=None,
           space_before=0, space_after=0, keep_next=False, outline=None):
    styles = doc.styles
    try:
        st = styles[name]
    except KeyError:
        st = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        if base:
            st.base_style = styles[base]
    st.font.size = size
    st.font.bold = bold
    st.font.italic = False
    st.font.color.rgb = None
    set_fonts(st.element, font)
    pf = st.paragraph_format
    pf.alignment = align
    pf.first_line_indent = Pt(size.pt * 2) if indent else Pt(0)
    pf.left_indent = Pt(0)
    if line is None:
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        pf.line_spacing = line
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.space_before, pf.space_after = Pt(space_before), Pt(space_after)
    pf.keep_with_next = keep_next
    pf.widow_control = True
    color = st.element.rPr.find(qn("w:color"))
    if color is not None:
        st.element.rPr.remove(color)
    return st


def define_styles(doc) -> None:
    _style(doc, STYLE_BODY, font=BODY_FONT, size=BODY_SIZE, align=WD_ALIGN_PARAGRAPH.JUSTIFY, indent=True, line=LINE)
    _style(doc, STYLE_TITLE, font=TITLE_FONT, size=TITLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER, line=Pt(36),
           space_before=12, space_after=12)
    title = doc.styles[STYLE_TITLE].element
    for tag in ("w:pBdr",):  # python-docx's Title style draws a rule under the title
        ppr = title.find(qn("w:pPr"))
        el = ppr.find(qn(tag)) if ppr is not None else None
        if el is not None:
            ppr.remove(el)
    _style(doc, STYLE_H1, font=HEADING1_FONT, size=BODY_SIZE, indent=True, line=LINE, keep_next=True)
    _style(doc, STYLE_H2, font=HEADING2_FONT, size=BODY_SIZE, indent=True, line=LINE, keep_next=True)
    _style(doc, STYLE_H3, font=BODY_FONT, size=BODY_SIZE, bold=True, indent=True, line=LINE, keep_next=True)
    _style(doc, STYLE_LABEL, font=BODY_FONT, size=BODY_SIZE, indent=True, line=LINE, base=STYLE_BODY, keep_next=True)
    _style(doc, STYLE_CENTER, font=BODY_FONT, size=BODY_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER, line=LINE,
           base=STYLE_BODY)
    _style(doc, STYLE_TABLE, font=BODY_FONT, size=TABLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER, base=STYLE_BODY,
           space_before=2, space_after=2)
    _style(doc, STYLE_TABLE_SMALL, font=BODY_FONT, size=SMALL_TABLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER,
           base=STYLE_BODY, space_before=2, space_after=2)
    _style(doc, STYLE_ANNEX_LABEL, font=HEADING1_FONT, size=BODY_SIZE, line=LINE, base=STYLE_BODY, keep_next=True)
    _style(doc, STYLE_ANNEX_TITLE, font=TITLE_FONT, size=Pt(18), align=WD_ALIGN_PARAGRAPH.CENTER, line=Pt(30),
           base=STYLE_BODY, keep_next=True)
    _style(doc, STYLE_ANNEX_LINE, font=BODY_FONT, size=Pt(12), base=STYLE_BODY, keep_next=True, space_after=4)
    for heading in (STYLE_H1, STYLE_H2, STYLE_H3):  # outline levels stay: Word's navigation pane lists them
        doc.styles[heading].element.get_or_add_pPr()


# ---- tables -----------------------------------------------------------------------------
def repeat_header(row) -> None:
    """The row is repeated at the top of every page the table runs onto (w:tblHeader)."""
    tr_pr = row._tr.get_or_add_trPr()
    if tr_pr.find(qn("w:tblHeader")) is None:
        tr_pr.append(OxmlElement("w:tblHeader"))


def keep_row_together(row) -> None:
    """The row is never split across two pages (w:cantSplit)."""
    tr_pr = row._tr.get_or_add_trPr()
    if tr_pr.find(qn("w:cantSplit")) is None:
        tr_pr.insert(0, OxmlElement("w:cantSplit"))


def narrow_cell_margins(table) -> None:
    """0.1 cm left and right inside every cell (Word's default is 0.19 cm): narrow number columns fit."""
    tbl_pr = table._tbl.tblPr
    margins = tbl_pr.find(qn("w:tblCellMar"))
    if margins is None:
        margins = OxmlElement("w:tblCellMar")
        tbl_pr.append(margins)
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(CELL_MARGIN))
        el.set(qn("w:type"), "dxa")
        margins.append(el)


def set_widths(table, widths) -> None:
    table.autofit = False
    for column, width in zip(table.columns, widths):
        column.width = width
        for cell in column.cells:
            cell.width = width


def fill_cell(cell, text: str, style: str, bold: bool = False, left: bool = False) -> None:
    p = cell.paragraphs[0]
    p.style = style
    if left:
        p.alignment = WD_ALIGN_PARAGRAPH.LEFT
    if text:
        run = p.add_run(text)
        run.bold = bold or None
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def new_table(doc, rows: int, cols: int, widths_cm, header_rows: int):
    table = doc.add_table(rows=rows, cols=cols)
    try:
        table.style = doc.styles["Table Grid"]  # a unit's edited template may have dropped it: then no style
    except KeyError:
        pass
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    narrow_cell_margins(table)
    set_widths(table, [Cm(w) for w in widths_cm])
    for i, row in enumerate(table.rows):
        keep_row_together(row)
        if i < header_rows:
            repeat_header(row)
    return table


def _budget_table(doc) -> None:
    table = new_table(doc, 5, 10, BUDGET_WIDTHS_CM, header_rows=2)
    s = STYLE_TABLE_SMALL
    for c in (0, 1, 2, 8, 9):
        table.cell(0, c).merge(table.cell(1, c))
    table.cell(0, 3).merge(table.cell(0, 7))
    heads = {(0, 0): "项目", (0, 1): "行次", (0, 2): "年度总金额({{ amount_unit }})", (0, 3): "财政资金",
             (0, 8): "上年结转资金({{ amount_unit }})", (0, 9): "其他资金({{ amount_unit }})",
             (1, 3): "小计", (1, 4): "中央级", (1, 5): "省级", (1, 6): "市级", (1, 7): "县区级"}
    for (r, c), text in heads.items():
        fill_cell(table.cell(r, c), text, s, bold=True)
    fill_cell(table.cell(2, 0), "{%tr for row in budget_rows %}", s)
    cells = ["{{ row.title }}", "{{ row.number }}", *(f"{{{{ row.cells.{k} }}}}" for k in BUDGET_KEYS)]
    for c, text in enumerate(cells):
        fill_cell(table.cell(3, c), text, s, left=c == 0)
    fill_cell(table.cell(4, 0), "{%tr endfor %}", s)


def _score_table(doc) -> None:
    table = new_table(doc, 4, 6, SCORE_WIDTHS_CM, header_rows=1)
    for c, title in enumerate(SCORE_TITLES):
        fill_cell(table.cell(0, c), title, STYLE_TABLE, bold=True)
    fill_cell(table.cell(1, 0), "{%tr for r in s.rows %}", STYLE_TABLE)
    for c, field in enumerate(SCORE_FIELDS):
        fill_cell(table.cell(2, c), f"{{{{ r.{field} }}}}", STYLE_TABLE, left=c == 1)
    fill_cell(table.cell(3, 0), "{%tr endfor %}", STYLE_TABLE)


# ---- page and footer --------------------------------------------------------------------
def _page_number_footer(section) -> None:
    footer = section.footer
    p = footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run("— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    p._p.append(field)
    p.add_run(" —")
    for r in p.runs:
        r.font.size = Pt(14)


def _portrait(section) -> None:
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.orientation = WD_ORIENT.PORTRAIT
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    section.header_distance, section.footer_distance = Cm(1.5), Cm(2.5)


def _landscape(section) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    section.left_margin, section.right_margin = Cm(2.0), Cm(2.0)
    section.header_distance, section.footer_distance = Cm(1.0), Cm(1.0)


# ---- the document -----------------------------------------------------------------------
def build_template():
    """The template as a python-docx Document."""
    doc = Document()
    define_styles(doc)
    _portrait(doc.sections[0])
    _page_number_footer(doc.sections[0])
    body = doc.paragraphs[0] if doc.paragraphs else None
    if body is not None:
        body._p.getparent().remove(body._p)

    def p(text: str, style: str = STYLE_BODY):
        return doc.add_paragraph(text, style=style)

    p("{{ title }}", STYLE_TITLE)
    p("{{ subtitle }}", STYLE_CENTER)
    p("项目名称：{{ name }}", STYLE_LABEL)

    p("一、项目的基本情况", STYLE_H1)
    p("（一）项目概况", STYLE_H2)
    p("{%p for line in info_lines %}")
    p("{{ line }}")
    p("{%p endfor %}")
    p("（二）预算执行情况", STYLE_H2)
    _budget_table(doc)
    p("（三）项目绩效目标", STYLE_H2)
    p("{%p for heading, lines in goals %}")
    p("{{ heading }}", STYLE_LABEL)
    p("{%p for line in lines %}")
    p("{{ line }}")
    p("{%p endfor %}")
    p("{%p endfor %}")

    p("二、项目绩效情况", STYLE_H1)
    p("{{ score_sentence }}")
    p("{%p for s in score_sections %}")
    p("{{ s.heading }}", STYLE_H2)
    p("{%p if s.rows %}")
    _score_table(doc)
    p("{%p else %}")
    p("本项目未设置此类指标。")
    p("{%p endif %}")
    p("{%p endfor %}")

    p("三、项目绩效分析", STYLE_H1)
    p("{%p for a in analysis %}")
    p("{{ a.heading }}", STYLE_H3)
    p("{%p for line in a.paragraphs %}")
    p("{{ line }}")
    p("{%p endfor %}")
    p("{%p endfor %}")
    p("{%p for c in closing %}")
    p("{{ c.heading }}", STYLE_H1)
    p("{%p for line in c.paragraphs %}")
    p("{{ line }}")
    p("{%p endfor %}")
    p("{%p endfor %}")

    annex = doc.add_section(WD_SECTION.NEW_PAGE)
    _landscape(annex)
    p("附件1", STYLE_ANNEX_LABEL)
    p("{{ annex_title }}", STYLE_ANNEX_TITLE)
    p("{%p for line in annex_lines %}")
    p("{{ line }}", STYLE_ANNEX_LINE)
    p("{%p endfor %}")
    p(ANNEX_MARKER_TAG, STYLE_TABLE)

    props = doc.core_properties
    props.title = "{{ title }}"
    props.subject = "项目支出绩效自评报告"
    props.author = props.last_modified_by = "xlperf"
    props.keywords = "项目支出绩效自评"
    props.comments = "xlperf 自评报告模板：可在 Word 中修改单位名称、文号、字体、页眉标志；请保留花括号标记（变量和循环）"
    props.revision = 1
    return doc




def template_bytes() -> bytes:
    """The template's .docx bytes: the same for the same code (fixed times in the zip and the properties)."""
    buffer = io.BytesIO()
    build_template().save(buffer)
    return fixed_package(buffer.getvalue())


def write_template(path: Path = TEMPLATE_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(template_bytes())
    return path


if __name__ == "__main__":
    print(write_template())
