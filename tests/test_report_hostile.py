"""Issue 21, third round: the Word report template is data, not a program, and report/export lose nothing.

* a 自评报告模板.docx renders in `xlperf.report.sandbox` (body and core properties): attribute walks and
  costly tags stop the run with a Chinese message naming the template and the place, exit 2, nothing written;
  a template that is a zip bomb or holds a DOCTYPE gets the package checks of workbooks;
* the unit's own template is named on the console on every run that uses it;
* an existing report that is not exactly what xlperf wrote there is kept as .bak; one open in Word is refused;
* export never writes over the master workbook or a file xlperf did not write: it takes the next name.
"""
from __future__ import annotations

import io
import os
import re
import time
import zipfile
from pathlib import Path

import pytest
from docx import Document
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from xlperf.cli import app
from xlperf.export import mark_written, written_by_xlperf
from xlperf.profiles import load_profile
from xlperf.report import sandbox
from xlperf.report.template import TEMPLATE_PATH
from xlperf.template.build import new_workbook
from xlperf.template.inputs import IndicatorInput, ProjectInput

runner = CliRunner()
PROFILE = load_profile()
REPORT = "乡村道路养护_项目支出绩效自评报告.docx"
SHORT = ProjectInput(
    name="乡村道路养护",
    budget={("initial", "county"): 100, ("annual", "county"): 100, ("received", "county"): 100, ("executed", "county"): 90},
    indicators=(
        IndicatorInput("产出指标", "数量指标", "养护里程", 40, "100公里", "80公里", "受汛期影响，部分路段顺延至下年"),
        IndicatorInput("产出指标", "质量指标", "验收合格率", 10, "≥95%", "98%"),
        IndicatorInput("效益指标", "社会效益指标", "群众出行便利度", 30, "持续", "95%"),
        IndicatorInput("满意度指标", "服务对象满意度指标", "群众满意度", 10, "≥90%", "92%"),
    ),
)


def _book(folder: Path, projects=(SHORT,), name: str = "绩效自评.xlsx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    book = folder / name
    new_workbook(list(projects), PROFILE, form="shanxi").save(book)
    return book


def _template(path: Path, body_tag: str | None = None, title: str | None = None) -> Path:
    doc = Document(str(TEMPLATE_PATH))
    if body_tag is not None:
        first = next(p for p in doc.paragraphs if p.text == "{{ title }}")
        first.insert_paragraph_before(body_tag)
    if title is not None:
        doc.core_properties.title = title
    doc.save(path)
    return path


def _flat(text: str) -> str:
    """text without spaces, line breaks and the borders of rich's tables (which wrap long messages)."""
    return re.sub(r"[\s│┃]", "", text)


# ---- the sandbox ---------------------------------------------------------------------------------------
WALKS = ["{{ cycler.__init__.__globals__ }}", "{{ lipsum.__globals__['os'] }}", "{{ ''.__class__.__mro__[1] }}",
         "{{ ''.__class__ }}", "{{ joiner.__init__.__globals__.__builtins__ }}"]


@pytest.mark.parametrize("tag", WALKS)
def test_attribute_walks_in_the_body_stop_the_run_naming_template_and_place(tmp_path, tag):
    book = _book(tmp_path)
    template = _template(tmp_path / "单位模板.docx", body_tag=f"文号 {tag}")
    out = tmp_path / "out"
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out), "--template", str(template)])
    text = _flat(res.output)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert f"报告模板“单位模板.docx”的正文“{_flat(tag)}”处：" in text and "已拒绝使用" in text, res.output
    assert not out.exists()  # nothing written, not even the folder


def test_an_attribute_walk_in_a_document_property_is_refused(tmp_path):
    """docProps render in the same sandbox (they were rendered by a plain jinja2.Environment)."""
    book = _book(tmp_path)
    _template(tmp_path / "自评报告模板.docx", title="{{ cycler.__init__.__globals__.os.getcwd() }}")  # beside the book
    out = tmp_path / "out"
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out)])
    text = _flat(res.output)
    assert res.exit_code == 2, res.output
    assert "报告模板“自评报告模板.docx”的文件属性“标题”" in text and "__init__" in text, res.output
    assert not out.exists()


def test_export_report_refuses_the_template_before_writing_anything(tmp_path):
    book = _book(tmp_path)
    _template(tmp_path / "自评报告模板.docx", body_tag="{{ ''.__class__.__mro__ }}")
    out = tmp_path / "out"
    res = runner.invoke(app, ["export", str(book), "--outdir", str(out), "--report"])
    assert res.exit_code == 2 and "已拒绝使用" in _flat(res.output), res.output
    assert not out.exists()


COSTLY = ["{% for i in range(10**12) %}x{% endfor %}", "{{ 'x' * 3000000000 }}", "{{ 'x' * 3 * 10**9 }}",
          "{{ 'x'|center(3000000000) }}", "{{ 'ab'|indent(3000000000) }}", "{{ '%3000000000s'|format('x') }}",
          "{{ '%3000000000s' % 'x' }}", "{{ 'x'.ljust(3000000000) }}", "{{ (1).to_bytes(3000000000, 'big') }}",
          "{{ 2 ** 3000000000 }}", "{{ lipsum(n=100000) }}", "{{ [1]|batch(3000000000, 'x')|list }}",
          "{% set s = 'x' * 1500000 %}{{ s ~ s }}", "{{ ('x' * 1500000)|replace('x', 'yy') }}",
          "{% for i in range(9000) %}{% for j in range(9000) %}{% endfor %}{% endfor %}",
          "{% set r = range(9000) %}{% for i in r %}{% for j in r %}{% for k in r %}{% endfor %}{% endfor %}{% endfor %}",
          "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
          "{% for x in [1] recursive %}{{ loop([1, 2]) }}{% endfor %}"]


@pytest.mark.parametrize("tag", COSTLY)
def test_costly_tags_are_stopped_quickly(tmp_path, tag, monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_STEPS", 200_000)  # a real report takes a few thousand
    book = _book(tmp_path)
    template = _template(tmp_path / "单位模板.docx", body_tag=tag)
    out = tmp_path / "out"
    started = time.monotonic()
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out), "--template", str(template)])
    assert time.monotonic() - started < 60
    assert res.exit_code == 2, res.output
    first_tag = re.match(r"\{[{%].*?[%}]\}", tag).group(0)
    text = _flat(res.output)
    assert f"报告模板“单位模板.docx”的正文“{_flat(first_tag)}" in text and "已拒绝使用" in text, res.output
    assert not out.exists()


def test_the_clock_stops_a_render_that_takes_too_long(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_SECONDS", 0.0)
    monkeypatch.setattr(sandbox, "CLOCK_EVERY", 1)
    book = _book(tmp_path)
    res = runner.invoke(app, ["report", str(book), "--outdir", str(tmp_path / "out")])
    assert res.exit_code == 2 and "运行时间超过上限" in res.output, res.output


def test_the_rendered_output_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "MAX_OUTPUT", 10_000)  # each value is small; only the sum passes the limit
    book = _book(tmp_path)
    template = _template(tmp_path / "单位模板.docx", body_tag="{% for i in range(5000) %}{{ name }}{% endfor %}")
    res = runner.invoke(app, ["report", str(book), "--outdir", str(tmp_path / "out"), "--template", str(template)])
    assert res.exit_code == 2 and "生成的内容超过上限" in res.output, res.output


def test_ordinary_tags_still_work(tmp_path):
    book = _book(tmp_path)
    template = _template(tmp_path / "单位模板.docx",
                         body_tag="{{ name|upper }}·{{ name.strip() }}·{% for c in ['甲', '乙']|batch(1) %}{{ c|join }}"
                                  "{% endfor %}·{{ '%s分'|format(total) }}·{{ (name ~ '!')|replace('!', '。') }}"
                                  "·{{ range(3)|join(',') }}·{{ 'x' * 3 }}",
                         title="{{ name }}的报告")
    out = tmp_path / "out"
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out), "--template", str(template)])
    assert res.exit_code == 0, res.output
    doc = Document(str(out / REPORT))
    total = next(p.text for p in doc.paragraphs if "总得分" in p.text).split("总得分")[1].split("分")[0]
    assert doc.paragraphs[0].text == f"乡村道路养护·乡村道路养护·甲乙·{total}分·乡村道路养护。·0,1,2·xxx"
    assert doc.core_properties.title == "乡村道路养护的报告"


def _container(leaves):
    return st.recursive(leaves, lambda kids: st.lists(kids, max_size=6) | st.tuples(kids, kids)
                        | st.dictionaries(st.text(max_size=5), kids, max_size=4), max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(_container(st.text(max_size=40) | st.integers() | st.floats() | st.booleans() | st.none()))
def test_rendered_size_is_never_below_the_text_str_makes(value):
    """The limits check sizes before a value is made: the estimate must not undercount what str() writes."""
    assert sandbox.rendered_size(value, limit=10 ** 9) >= len(str(value))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["name", "'x' * 700000", "range(9000)", "[name] * 50000", "total",
                                 "(name ~ name)", "'%s' % name", "name|center(900000)", "'y'|replace('', name)"]),
                min_size=1, max_size=5),
       st.sampled_from([" ~ ", " + ", " * 3 * "]))
# found by the search: autoescape turns each quote of a list's text into &#39;, past the estimate
@example(parts=["'x' * 700000", "[name] * 50000", "[name] * 50000"], op=" ~ ")
def test_any_mix_of_growing_expressions_renders_or_is_refused_never_crashes(parts, op):
    env = sandbox.report_environment(autoescape=True)
    try:
        out = env.from_string("{{ " + op.join(parts) + " }}").render(name="乡村道路养护", total=89.5)
    except sandbox.TemplateLimit:
        return
    except TypeError:  # str + int and the like: jinja's ordinary error, reported as a wrong tag
        return
    assert len(out) <= sandbox.MAX_VALUE


# ---- the package checks ------------------------------------------------------------------------------------
def test_a_template_that_is_a_zip_bomb_is_refused(tmp_path):
    from .bad_files import understated_member

    book = _book(tmp_path)
    bomb = tmp_path / "自评报告模板.docx"
    bomb.write_bytes(understated_member(TEMPLATE_PATH.read_bytes(), "word/document.xml", 64 << 20, 200 << 10))
    res = runner.invoke(app, ["report", str(book), "--outdir", str(tmp_path / "out")])
    assert res.exit_code == 2 and "压缩炸弹" in res.output and "word/document.xml" in res.output, res.output
    assert not (tmp_path / "out").exists()


def test_a_template_with_a_doctype_is_refused(tmp_path):
    book = _book(tmp_path)
    src = TEMPLATE_PATH.read_bytes()
    evil = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "word/document.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)
            zout.writestr(info.filename, data)
    template = tmp_path / "单位模板.docx"
    template.write_bytes(evil.getvalue())
    res = runner.invoke(app, ["report", str(book), "--outdir", str(tmp_path / "out"), "--template", str(template)])
    assert res.exit_code == 2 and "DOCTYPE" in res.output and "单位模板.docx" in res.output, res.output


# ---- the template used is named --------------------------------------------------------------------------------
def test_the_units_template_is_named_on_every_run(tmp_path):
    book = _book(tmp_path)
    out = tmp_path / "out"
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out)])
    assert res.exit_code == 0 and "使用报告模板" not in res.output  # the built-in one
    beside = _template(tmp_path / "自评报告模板.docx", body_tag="忻政办〔2021〕1号")
    for args in (["report", str(book), "--outdir", str(out)], ["export", str(book), "--outdir", str(out), "--report"]):
        for _ in range(2):
            res = runner.invoke(app, args)
            assert res.exit_code == 0, res.output
            assert f"使用报告模板：{beside}" in _flat(res.output), res.output
    other = _template(tmp_path / "另一个.docx")
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out), "--template", str(other)])
    assert f"使用报告模板：{other}" in _flat(res.output)


def test_the_demo_names_a_template_it_finds_beside_it(tmp_path):
    _template(tmp_path / "自评报告模板.docx", body_tag="忻政办〔2021〕1号")
    res = runner.invoke(app, ["demo", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert f"使用报告模板：{tmp_path / '自评报告模板.docx'}" in _flat(res.output)


# ---- nothing is lost: report ---------------------------------------------------------------------------------
def test_a_report_edited_since_xlperf_wrote_it_is_kept_as_bak(tmp_path):
    book = _book(tmp_path)
    out = tmp_path / "out"
    assert runner.invoke(app, ["report", str(book), "--outdir", str(out)]).exit_code == 0
    target = out / REPORT
    assert written_by_xlperf(target)
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out)])  # unchanged: replaced, no .bak
    assert res.exit_code == 0 and not (out / (REPORT + ".bak")).exists() and "已保留为" not in res.output
    doc = Document(str(target))
    doc.add_paragraph("会计补充的一段说明")
    doc.save(str(target))  # what Word does: the whole package rewritten
    edited = target.read_bytes()
    assert not written_by_xlperf(target)
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / (REPORT + ".bak")).read_bytes() == edited
    assert f"已保留为{REPORT}.bak" in _flat(res.output)
    assert written_by_xlperf(target) and "会计补充的一段说明" not in [p.text for p in Document(str(target)).paragraphs]
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out)])  # ours again: the .bak stays the edit
    assert (out / (REPORT + ".bak")).read_bytes() == edited and "已保留为" not in res.output


def test_a_report_xlperf_did_not_write_is_kept_as_bak(tmp_path):
    book = _book(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / REPORT).write_bytes(b"the unit's own notes, not a docx at all")
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / (REPORT + ".bak")).read_bytes() == b"the unit's own notes, not a docx at all"
    assert "已保留为" in _flat(res.output)


@pytest.mark.parametrize("owner", ["~$" + REPORT[2:], "~$" + REPORT, ".~lock." + REPORT + "#"])
def test_a_report_open_in_word_is_refused(tmp_path, owner):
    book = _book(tmp_path)
    out = tmp_path / "out"
    assert runner.invoke(app, ["report", str(book), "--outdir", str(out)]).exit_code == 0
    before = (out / REPORT).read_bytes()
    (out / owner).write_bytes(b"owner")
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out)])
    assert res.exit_code == 1, res.output
    assert "正在被Word" in _flat(res.output) and owner in _flat(res.output), res.output
    assert (out / REPORT).read_bytes() == before and not (out / (REPORT + ".bak")).exists()


def test_a_report_path_linking_to_the_master_is_never_written_through(tmp_path):
    book = _book(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(book, out / REPORT)
    before = book.read_bytes()
    res = runner.invoke(app, ["report", str(book), "--outdir", str(out)])
    assert res.exit_code == 0, res.output
    assert book.read_bytes() == before and (out / REPORT).is_symlink()
    assert (out / "乡村道路养护(2)_项目支出绩效自评报告.docx").is_file()


# ---- nothing is lost: export ---------------------------------------------------------------------------------
def test_export_into_the_workbooks_folder_never_writes_over_the_master(tmp_path):
    master = _book(tmp_path, name="乡村道路养护_项目支出绩效自评表.xlsx")  # named as the project's export would be
    before = master.read_bytes()
    res = runner.invoke(app, ["export", str(master), "--outdir", str(tmp_path), "--report"])
    assert res.exit_code == 0, res.output
    assert master.read_bytes() == before
    written = tmp_path / "乡村道路养护(2)_项目支出绩效自评表.xlsx"
    assert written.is_file() and written_by_xlperf(written)
    assert "是主工作簿，未改动" in _flat(res.output), res.output
    import json

    manifest = json.loads((tmp_path / "xlperf-export.json").read_text("utf-8"))
    assert manifest["projects"][0]["xlsx"] == written.name  # mail sends the file written, not the master


def test_export_passes_over_a_file_the_user_put_in_the_folder(tmp_path):
    book = _book(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    theirs = out / "乡村道路养护_项目支出绩效自评表.xlsx"
    theirs.write_bytes(b"somebody else's workbook")
    for _ in range(2):  # the second run replaces its own (2), and still leaves theirs alone
        res = runner.invoke(app, ["export", str(book), "--outdir", str(out), "--force"])
        assert res.exit_code == 0, res.output
        assert theirs.read_bytes() == b"somebody else's workbook"
        assert "不是xlperf写出的文件" in _flat(res.output)
    assert sorted(p.name for p in out.iterdir()) == ["xlperf-export.json", "乡村道路养护(2)_项目支出绩效自评表.xlsx",
                                                     theirs.name]


def test_export_replaces_its_own_file_but_not_one_edited_since(tmp_path):
    book = _book(tmp_path)
    out = tmp_path / "out"
    assert runner.invoke(app, ["export", str(book), "--outdir", str(out)]).exit_code == 0
    ours = out / "乡村道路养护_项目支出绩效自评表.xlsx"
    assert runner.invoke(app, ["export", str(book), "--outdir", str(out)]).exit_code == 0
    assert not (out / "乡村道路养护(2)_项目支出绩效自评表.xlsx").exists()  # its own: replaced in place
    import openpyxl

    wb = openpyxl.load_workbook(ours)
    wb.active["A1"] = "会计改过"
    wb.save(ours)
    edited = ours.read_bytes()
    assert runner.invoke(app, ["export", str(book), "--outdir", str(out)]).exit_code == 0
    assert ours.read_bytes() == edited and (out / "乡村道路养护(2)_项目支出绩效自评表.xlsx").is_file()


def test_the_mark_is_the_digest_of_every_other_part():
    package = TEMPLATE_PATH.read_bytes()
    marked = mark_written(package)
    assert mark_written(marked) == marked  # marking again changes nothing
    with zipfile.ZipFile(io.BytesIO(marked)) as zf:
        assert b"xlperf-sha256:" in zf.read("docProps/core.xml")
        Document(io.BytesIO(marked))  # still a document Word opens


@pytest.mark.libreoffice
@pytest.mark.skipif(not __import__("xlperf.libreoffice", fromlist=["available"]).available(),
                    reason="需要 LibreOffice")
@pytest.mark.parametrize("command, pdf_name", [
    ("report", REPORT.replace(".docx", ".pdf")),
    ("export", "乡村道路养护_项目支出绩效自评表.pdf"),
])
def test_a_pdf_the_user_put_in_the_folder_is_kept_as_bak(tmp_path, command, pdf_name):
    """A PDF carries no mark of xlperf's: the folder's record of the PDFs xlperf placed tells them apart. The
    user's own file is kept as .bak and said; xlperf's own PDF is replaced in place on the next run."""
    book = _book(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    theirs = b"%PDF-1.4 the unit's signed copy"
    (out / pdf_name).write_bytes(theirs)
    res = runner.invoke(app, [command, str(book), "--outdir", str(out), "--pdf"])
    assert res.exit_code == 0, res.output
    assert (out / (pdf_name + ".bak")).read_bytes() == theirs
    assert f"{pdf_name}.bak" in _flat(res.output)
    ours = (out / pdf_name).read_bytes()
    assert ours.startswith(b"%PDF") and ours != theirs
    res = runner.invoke(app, [command, str(book), "--outdir", str(out), "--pdf"])  # its own PDF: no new .bak
    assert res.exit_code == 0 and ".bak" not in _flat(res.output)
    assert (out / (pdf_name + ".bak")).read_bytes() == theirs
