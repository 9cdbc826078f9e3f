"""Put a `ReportContent` into the Word template (docxtpl) and return the finished .docx bytes.

The template is, in this order: the one given (``xlperf report --template``), a
``自评报告模板.docx`` beside the workbook, the committed ``workbook_templates/自评报告模板.docx``,
or, in an installed xlperf without the repository, the same template made in memory by
`xlperf.report.template`.
"""
from __future__ import annotations

import io
import re
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


def user_template(explicit: Path | None = None, beside: Path | None = None) -> Path | None:
    """The unit's own template file that template_source picks (--template, or the one beside the workbook);
    None for xlperf's built-in template. The console names it on every run."""
    source = template_source(explicit, beside)
    if isinstance(source, Path) and source.resolve() != T.TEMPLATE_PATH.resolve():
        return source
    return None


def load_template(explicit: Path | None = None, beside: Path | None = None) -> bytes:
    """The template's bytes (see template_source), checked to be a .docx python-docx can open, after the
    package checks every Word document and workbook passes (entries, sizes, compression ratio, each member
    decompressed in chunks with its real size counted, no DOCTYPE): a template may be a zip bomb too."""
    import zipfile

    from docx import Document

    from ..readers.docx_tables import _inspect
    from ..workbook_io import UnreadableWorkbook

    source = template_source(explicit, beside)
    name = source.name if isinstance(source, Path) else T.TEMPLATE_NAME
    try:
        data = source.read_bytes() if isinstance(source, Path) else source
    except OSError as exc:
        from ..safety import os_reason

        raise TemplateError(f"无法读取报告模板“{name}”（{os_reason(exc)}）") from None
    try:
        if zipfile.is_zipfile(io.BytesIO(data)):  # anything else: python-docx's refusal below says what it is
            _inspect(Path(name), data)
    except UnreadableWorkbook as exc:
        raise TemplateError(f"报告模板不能使用：{exc}；请删除它以使用内置模板，或换用在 Word 中另存的 .docx") from None
    try:
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


PART_NAMES = (("/word/document.xml", "正文"), ("/word/header", "页眉"), ("/word/footer", "页脚"),
              ("/word/footnotes", "脚注"))
PROPERTY_NAMES = {"author": "作者", "comments": "备注", "identifier": "标识符", "language": "语言", "subject": "主题",
                  "title": "标题"}
PLACE_CHARS = 60  # characters of the template's text quoted where a tag is refused


class TemplateRefused(TemplateError):
    """The template tried what a report template may not do (the sandbox's rules and limits): the same for
    every project, so the whole run stops (exit 2); str(exc) names the template and the place."""


class _Refusal(Exception):
    """Internal: where (part, place) the sandbox refused, and why (its Chinese reason)."""

    def __init__(self, where: str, reason: str):
        super().__init__(reason)
        self.where, self.reason = where, reason


def _template_class():
    from docxtpl import DocxTemplate
    from jinja2.exceptions import SecurityError

    class ReportTemplate(DocxTemplate):
        """docxtpl's template rendered in xlperf's sandbox (`xlperf.report.sandbox`), whose core properties
        (文件属性: 标题…) are plain text within 255 characters: rendered without HTML escaping (python-docx
        escapes them itself; 道路&桥梁 stays so), in the same sandbox, and cut to fit."""

        def render_xml_part(self, src_xml, part, context, jinja_env=None):
            try:
                return super().render_xml_part(src_xml, part, context, jinja_env)
            except (SecurityError, RecursionError) as exc:
                name = str(getattr(part, "partname", "") or "")
                where = next((label for prefix, label in PART_NAMES if name.startswith(prefix)), f"部件 {name}")
                text = _failing_text(exc, re.sub(r"<w:p([ >])", r"\n<w:p\1", src_xml))
                raise _Refusal(where + (f"“{text}”处" if text else ""), _reason(exc)) from None

        def render_properties(self, context, jinja_env=None) -> None:
            env = jinja_env
            escaping, env.autoescape = env.autoescape, False
            props = self.docx.core_properties
            try:
                for name in PROPERTIES:
                    initial = getattr(props, name) or ""
                    try:
                        rendered = env.from_string(initial).render(context)
                    except (SecurityError, RecursionError) as exc:
                        raise _Refusal(f"文件属性“{PROPERTY_NAMES[name]}”（{_short(initial)}）", _reason(exc)) from None
                    setattr(props, name, property_text(rendered))
            finally:
                env.autoescape = escaping

    return ReportTemplate


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= PLACE_CHARS else text[:PLACE_CHARS] + "…"


def _failing_text(exc: BaseException, source: str) -> str:
    """The text (tags included, XML left out) of the template's line where exc was raised: jinja puts the
    template's line numbers into the traceback's frames of compiled template code."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    lines = source.splitlines()
    if line is None or not 0 < line <= len(lines):
        return ""
    text = re.sub(r"<[^>]+>", "", lines[line - 1])
    tags = re.findall(r"\{[{%].*?[%}]\}", text)
    return _short(" ".join(tags) if tags else text)


_UNSAFE = re.compile(r"access to attribute '([^']*)' of '([^']*)' object is unsafe")


def _reason(exc: BaseException) -> str:
    """Why the sandbox refused, in Chinese (jinja's own SecurityError messages are English)."""
    from .sandbox import TemplateLimit

    if isinstance(exc, TemplateLimit):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "宏或循环递归过深"
    m = _UNSAFE.search(str(exc))
    if m:
        return f"访问了 {m.group(2)} 对象的属性“{m.group(1)}”，报告模板不能访问程序内部的属性和方法"
    if "is not safely callable" in str(exc):
        return "调用了不允许调用的程序对象"
    if "unsafe" in str(exc) or "immutable" in str(exc).lower():
        return "修改或访问了不允许的程序对象"
    return "含有不允许的操作"


def _project(content: ReportContent) -> str:
    name = content.name
    return name if len(name) <= NAME_IN_MESSAGE else name[:NAME_IN_MESSAGE] + "…"


def render_report(content: ReportContent, template=None, name: str | None = None) -> bytes:
    """The finished report as .docx bytes. template: a path or bytes (default: `template_source()`); name: the
    template's file name for messages (default: the path's, else 自评报告模板.docx).

    The template is rendered in `xlperf.report.sandbox` (body, headers, footers, footnotes and the core
    properties). TemplateRefused when the template tries what a template may not (names the template and
    the place); TemplateError when its tags are wrong; ReportRenderError (naming the project) for any other
    failure while this project's report is made."""
    from jinja2 import TemplateError as JinjaError

    from .sandbox import report_environment

    source = template if template is not None else template_source()
    name = name or (source.name if isinstance(source, Path) else T.TEMPLATE_NAME)
    try:
        tpl = _template_class()(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    except Exception as exc:  # load_template checked it: only a template changed since, or unreadable, gets here
        raise TemplateError(f"报告模板无法打开（{type(exc).__name__}）：请确认它是 Word .docx 文件") from None
    try:
        tpl.render(template_context(content), jinja_env=report_environment(autoescape=True))
        if content.annex is not None:
            _insert_annex(tpl.docx, content.annex)
        buffer = io.BytesIO()
        tpl.save(buffer)
    except _Refusal as exc:
        raise TemplateRefused(f"报告模板“{name}”的{exc.where}：{exc.reason}，已拒绝使用：报告模板只能用 xlperf 提供的"
                              "项目数据（变量、循环、条件和常用过滤器），不能访问程序内部、不能无限制地循环或生成过长的文字；"
                              "请改正模板中的这个标记，或删除该模板以使用内置模板") from None
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


__all__ = ["render_report", "template_context", "template_source", "user_template", "load_template", "TemplateError",
           "TemplateRefused", "ReportRenderError", "property_text"]
