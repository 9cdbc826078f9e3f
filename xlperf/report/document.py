"""Put a `ReportContent` into the Word template (docxtpl) and return the finished .docx bytes.

The template is, in this order: the one given (``xlperf report --template``), a
``自评报告模板.docx`` beside the workbook, the committed ``workbook_templates/自评报告模板.docx``,
or, in an installed xlperf without the repository, the same template made in memory by
`xlperf.report.template`.
"""
from __future__ import annotations

import io
from pathlib import Path

from docx.shared import Pt

from . import template as T
from .content import AnnexGrid, ReportContent

ANNEX_MARKER = "\u2063xlperf-annex-table\u2063"  # what {{ annex_table }} renders to, replaced by the table
CHAR_CM = 0.19  # Excel's width unit (one digit of the default font) in cm, for the 附件1's proportions


class TemplateError(Exception):
    """The .docx template cannot be used; str(exc) is for the user."""


def template_source(explicit: Path | None = None, beside: Path | None = None):
    """(path or bytes) of the template to use; see the module doc."""
    if explicit is not None:
        if not Path(explicit).is_file():
            raise TemplateError(f"找不到报告模板 {explicit}")
        return Path(explicit)
    if beside is not None and (Path(beside).parent / T.TEMPLATE_NAME).is_file():
        return Path(beside).parent / T.TEMPLATE_NAME
    if T.TEMPLATE_PATH.is_file():
        return T.TEMPLATE_PATH
    return T.template_bytes()


def load_template(explicit: Path | None = None, beside: Path | None = None) -> bytes:
    """The template's bytes (see template_source), checked to be a .docx python-docx can open."""
    import zipfile

    from docx import Document

    source = template_source(explicit, beside)
    name = source.name if isinstance(source, Path) else T.TEMPLATE_NAME
    try:
        data = source.read_bytes() if isinstance(source, Path) else source
        Document(io.BytesIO(data))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise TemplateError(f"报告模板“{name}”不是可用的 Word .docx 文件（{type(exc).__name__}）：请在 Word 中另存为 .docx，"
                            "或删除它以使用内置模板") from None
    except Exception as exc:  # python-docx's PackageNotFoundError and the like
        raise TemplateError(f"报告模板“{name}”无法打开（{exc}）：请在 Word 中另存为 .docx，或删除它以使用内置模板") from None
    return data


def template_context(content: ReportContent) -> dict:
    """What the template's tags receive."""
    subtitle_parts = [p for p in (content.unit, f"{content.year}年度" if content.year else "") if p]
    annex = content.annex
    lines = list(annex.heading_lines) if annex else []
    title = lines.pop(0) if lines else "项目支出绩效自评表"
    return {
        "title": content.title,
        "name": content.name,
        "unit": content.unit,
        "department": content.department,
        "year": content.year,
        "subtitle": "（" + "　".join(subtitle_parts) + "）" if subtitle_parts else "",
        "amount_unit": content.amount_unit,
        "info_lines": _info_lines(content),  # 项目概况：… (a label with its first paragraph, then the others)
        "info": content.info,
        "budget_rows": content.budget_rows,
        "goals": content.goals,
        "total": content.total,
        "grade": content.grade,
        "score_sentence": content.score_sentence,
        "score_sections": content.score_sections,
        "analysis": content.analysis,
        "closing": content.closing,
        "annex_title": title.removeprefix("附件1.").removeprefix("附件1"),
        "annex_lines": lines,
        "annex_table": ANNEX_MARKER,
    }


def _info_lines(content: ReportContent) -> list[str]:
    out = []
    for label, paras in content.info:
        out.append(f"{label}：{paras[0] if paras else ''}")
        out.extend(paras[1:])
    return out


MAX_PROPERTY_CHARS = 255  # a core property (标题, 主题…) holds at most 255 characters (python-docx, Word)
PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")  # the ones docxtpl renders
NAME_IN_MESSAGE = 40  # characters of a project's name quoted in a message


class ReportRenderError(TemplateError):
    """One project's report could not be made (not the template's fault); str(exc) names the project."""


def property_text(text: str) -> str:
    """A core property's text within Word's 255 characters: a longer one is cut, with an ellipsis
    (the document's body keeps the full name)."""
    text = str(text)
    return text if len(text) <= MAX_PROPERTY_CHARS else text[:MAX_PROPERTY_CHARS - 1] + "…"


def _template_class():
    from docxtpl import DocxTemplate

    class ReportTemplate(DocxTemplate):
        """docxtpl's template whose core properties (文件属性: 标题…) are plain text within 255 characters:
        rendered without HTML escaping (python-docx escapes them itself; 道路&桥梁 stays so) and cut to fit."""

        def render_properties(self, context, jinja_env=None) -> None:
            from jinja2 import Environment

            env = Environment(autoescape=False)
            props = self.docx.core_properties
            for name in PROPERTIES:
                initial = getattr(props, name) or ""
                setattr(props, name, property_text(env.from_string(initial).render(context)))

    return ReportTemplate


def _project(content: ReportContent) -> str:
    name = content.name
    return name if len(name) <= NAME_IN_MESSAGE else name[:NAME_IN_MESSAGE] + "…"


def render_report(content: ReportContent, template=None) -> bytes:
    """The finished report as .docx bytes. template: a path or bytes (default: `template_source()`).

    TemplateError when the template's tags are wrong; ReportRenderError (naming the project) for any other
    failure while this project's report is made."""
    from jinja2 import TemplateError as JinjaError

    source = template if template is not None else template_source()
    try:
        tpl = _template_class()(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    except Exception as exc:  # load_template checked it: only a template changed since, or unreadable, gets here
        raise TemplateError(f"报告模板无法打开（{type(exc).__name__}）：请确认它是 Word .docx 文件") from None
    try:
        tpl.render(template_context(content), autoescape=True)
        if content.annex is not None:
            _insert_annex(tpl.docx, content.annex)
        buffer = io.BytesIO()
        tpl.save(buffer)
    except JinjaError as exc:
        raise TemplateError(f"生成项目“{_project(content)}”的自评报告时，报告模板中的标记有误（{exc}）："
                            "请检查模板中的 {{ }} 和 {% %} 标记是否完整") from None
    except MemoryError:
        raise ReportRenderError(f"项目“{_project(content)}”的自评报告生成失败：内存不足") from None
    except Exception as exc:  # python-docx, docxtpl and lxml raise many kinds; the user needs one message
        raise ReportRenderError(
            f"项目“{_project(content)}”的自评报告生成失败（{type(exc).__name__}）：请检查该项目录入表中的项目名称"
            "和报告文字（过长的内容、特殊符号），修改后重新生成；其他项目的报告不受影响") from None
    return buffer.getvalue()


def _insert_annex(doc, annex: AnnexGrid) -> None:
    """The 附件1 tables where the template's {{ annex_table }} paragraph is (at the end when it has none)."""
    marker = next((p for p in doc.paragraphs if ANNEX_MARKER in p.text), None)
    section = doc.sections[-1]
    width_cm = (section.page_width - section.left_margin - section.right_margin) / 360000
    total = sum(annex.widths) or 1
    widths = [w / total * width_cm for w in annex.widths]
    style = _style_name(doc, T.STYLE_TABLE_SMALL)
    for i, part in enumerate(annex.tables):
        table = T.new_table(doc, len(part.rows), len(annex.widths), widths, header_rows=part.header_rows)
        for r0, c0, r1, c1 in part.merges:
            table.cell(r0, c0).merge(table.cell(r1, c1))
        merged_away = {(r, c) for r0, c0, r1, c1 in part.merges for r in range(r0, r1 + 1)
                       for c in range(c0, c1 + 1)} - {(r0, c0) for r0, c0, _, _ in part.merges}
        for r, row in enumerate(part.rows):
            for c, cell in enumerate(row):
                if (r, c) in merged_away:
                    continue
                T.fill_cell(table.cell(r, c), cell.text, style, bold=cell.bold, left=cell.left)
        if marker is not None:
            marker._p.addprevious(table._tbl)
        if i + 1 < len(annex.tables):  # a thin paragraph keeps the two tables apart (Word joins adjacent tables)
            gap = doc.add_paragraph(style=style)
            gap.paragraph_format.line_spacing = Pt(2)
            if marker is not None:
                marker._p.addprevious(gap._p)
    if marker is not None:
        marker._p.getparent().remove(marker._p)


def _style_name(doc, name: str) -> str:
    """name when the (possibly edited) template still has that style, else Normal."""
    try:
        doc.styles[name]
        return name
    except KeyError:
        return T.STYLE_BODY


__all__ = ["render_report", "template_context", "template_source", "load_template", "TemplateError",
           "ReportRenderError", "property_text"]
