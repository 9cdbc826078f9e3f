"""Data safety (issue 6): atomic writes under SIGKILL, backups, Excel lock files, round-trip preservation,
refusal to drop what openpyxl cannot keep, text that looks like a formula, encrypted and converted files."""
from __future__ import annotations

import io
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, NamedStyle, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from typer.testing import CliRunner

from xlperf import layout as L
from xlperf import libreoffice as lo
from xlperf.cli import app
from xlperf.template.build import new_workbook
from xlperf.template.inputs import IndicatorInput, ProjectInput

from .bad_files import SHEET, base_workbook, encrypted_bytes

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def run(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kw)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ---- atomic writes under SIGKILL -------------------------------------------------------
WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from openpyxl import Workbook
    from xlperf.writers.save import save_workbook_atomic

    target = Path(sys.argv[1])
    books = []
    for version in range(1, 4):
        wb = Workbook()
        ws = wb.active
        ws["A1"] = f"版本{version}"
        for r in range(2, 1500 * version):
            ws.append([r, f"第{r}行", r * 1.5, "文字" * (r % 7)])
        books.append(wb)
    print("ready", flush=True)
    i = 0
    while True:
        save_workbook_atomic(books[i % 3], target)
        i += 1
""")


def test_sigkill_never_leaves_a_corrupt_workbook(tmp_path):
    """A writer killed at random points: the target is always the untouched original or a complete new file."""
    target = tmp_path / "绩效自评.xlsx"
    original = openpyxl.Workbook()
    original.active["A1"] = "原始"
    original.save(target)
    script = tmp_path / "writer.py"
    script.write_text(WRITER, "utf-8")
    rng = random.Random(6)
    seen = set()
    for attempt in range(6):
        proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE, cwd=ROOT)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.02, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for path in (target, target.with_name(target.name + ".bak")):
            if not path.exists():
                continue
            with zipfile.ZipFile(path) as z:
                assert z.testzip() is None
            marker = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True).active["A1"].value
            assert marker in ("原始", "版本1", "版本2", "版本3"), marker
            if path == target:
                seen.add(marker)
    assert seen  # the target was always readable


# ---- only xlperf's own sheets are replaced ---------------------------------------------------
def test_a_users_sheet_named_like_a_generated_one_survives_after_xlperfs_sheets_were_deleted(tmp_path):
    """recalc, the user deletes xlperf's sheets and makes a 汇总 of their own, recalc again: theirs is kept."""
    book = tmp_path / "绩效自评.xlsx"
    base_workbook().save(book)
    assert run("recalc", book).exit_code == 0
    wb = openpyxl.load_workbook(book)
    generated = [n for n in wb.sheetnames if n == L.SUMMARY_SHEET or n == L.FINDINGS_SHEET or n.startswith(L.ANNEX_PREFIX)]
    assert L.SUMMARY_SHEET in generated
    for name in generated:
        del wb[name]
    wb.create_sheet(L.SUMMARY_SHEET)["A1"] = "我自己的汇总，很重要"
    wb.save(book)

    assert run("recalc", book).exit_code == 0

    wb = openpyxl.load_workbook(book)
    assert wb[L.SUMMARY_SHEET]["A1"].value == "我自己的汇总，很重要"
    assert [n for n in wb.sheetnames if n.startswith(L.SUMMARY_SHEET) and n != L.SUMMARY_SHEET]  # xlperf's, renamed


# ---- backups and lock files -----------------------------------------------------------------
def test_recalc_keeps_the_previous_version_as_bak(tmp_path):
    book = tmp_path / "绩效自评.xlsx"
    base_workbook().save(book)
    before = book.read_bytes()
    assert run("recalc", book).exit_code == 0
    assert (tmp_path / "绩效自评.xlsx.bak").read_bytes() == before
    second = book.read_bytes()
    assert run("recalc", book).exit_code == 0
    assert (tmp_path / "绩效自评.xlsx.bak").read_bytes() == second  # the version just replaced


def test_no_backup_option(tmp_path):
    book = tmp_path / "绩效自评.xlsx"
    base_workbook().save(book)
    assert run("recalc", book, "--no-backup").exit_code == 0
    assert sorted(files(tmp_path)) == ["绩效自评.xlsx"]
    assert run("add-project", book, "--name", "第二个项目", "--no-backup").exit_code == 0
    assert sorted(files(tmp_path)) == ["绩效自评.xlsx"]


@pytest.mark.parametrize("lock", ["~$绩效自评.xlsx", ".~lock.绩效自评.xlsx#"])
def test_refuses_to_write_a_workbook_open_in_excel(tmp_path, lock):
    book = tmp_path / "绩效自评.xlsx"
    base_workbook().save(book)
    (tmp_path / lock).write_bytes(b"owner")
    before = files(tmp_path)
    for command in (["recalc", book], ["add-project", book, "--name", "新项目"], ["new", book, "--force"]):
        result = run(*command)
        assert result.exit_code == 2, command
        message = result.stderr.replace("\n", "")
        assert "关闭" in message and lock in message, message
    assert files(tmp_path) == before
    out = tmp_path / "结果.xlsx"
    assert run("recalc", book, "-o", out).exit_code == 0  # another file may be written
    assert files(tmp_path)["绩效自评.xlsx"] == before["绩效自评.xlsx"]


# ---- round-trip preservation --------------------------------------------------------------
def _png() -> bytes:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", (40, 20), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _user_workbook() -> openpyxl.Workbook:
    """The base workbook plus what an accountant adds over the years."""
    from openpyxl.drawing.image import Image

    wb = base_workbook()
    ws = wb.create_sheet("我的备注")
    for r in range(1, 11):
        ws.cell(r, 1, f"备注{r}")
        ws.cell(r, 3, r * 10)
    ws["A1"].comment = Comment("这是我的批注", "会计")
    wb[SHEET][L.indicator_cell("reason", L.INDICATOR_FIRST_ROW + 1)].comment = Comment("请核实", "科长")
    dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
    dv.add("B1:B10")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add("C1:C10", CellIsRule(operator="greaterThan", formula=["50"],
                                                       fill=PatternFill("solid", fgColor="FFC7CE")))
    wb.defined_names["我的范围"] = DefinedName("我的范围", attr_text="'我的备注'!$A$1:$A$5")
    ws.defined_names["本表名称"] = DefinedName("本表名称", attr_text="'我的备注'!$C$1")
    style = NamedStyle(name="我的样式", font=Font(bold=True, color="FF0000"))
    wb.add_named_style(style)
    ws["A2"].style = "我的样式"
    ws["A3"].font = Font(italic=True, size=14)
    ws["A3"].fill = PatternFill("solid", fgColor="DDEBF7")
    ws.column_dimensions["B"].width = 25
    ws.column_dimensions["A"].width = 18.5
    ws.freeze_panes = "A2"
    ws["A4"].hyperlink = "https://www.mof.gov.cn/"
    ws["A5"].hyperlink = f"#'{SHEET}'!A1"
    image = Image(io.BytesIO(_png()))
    ws.add_image(image, "E2")
    wb[SHEET].column_dimensions["J"].width = 60  # the user widened 偏差原因 on the input sheet
    return wb


def _features(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    ws = wb["我的备注"]
    return {
        "sheets": [n for n in wb.sheetnames if n in (SHEET, "我的备注", L.INSTRUCTIONS_SHEET, L.PROJECT_LIST_SHEET)],
        "values": [[c.value for c in row] for row in ws.iter_rows()],
        "comments": (ws["A1"].comment.text, ws["A1"].comment.author,
                     wb[SHEET][L.indicator_cell("reason", L.INDICATOR_FIRST_ROW + 1)].comment.text),
        "validations": [(dv.type, dv.formula1, str(dv.sqref)) for dv in ws.data_validations.dataValidation],
        "conditional": [(str(rng.sqref), [(r.type, r.operator, r.formula) for r in rules])
                        for rng, rules in ws.conditional_formatting._cf_rules.items()],
        "names": (wb.defined_names["我的范围"].attr_text, ws.defined_names["本表名称"].attr_text),
        "styles": ("我的样式" in wb.named_styles, ws["A2"].style, ws["A2"].font.b, ws["A3"].font.i, ws["A3"].font.sz,
                   ws["A3"].fill.fgColor.rgb),
        "widths": (ws.column_dimensions["B"].width, ws.column_dimensions["A"].width, wb[SHEET].column_dimensions["J"].width),
        "frozen": ws.freeze_panes,
        "links": (ws["A4"].hyperlink.target, ws["A5"].hyperlink.location or ws["A5"].hyperlink.target),
        "images": [(type(i).__name__, i.anchor._from.col, i.anchor._from.row) for i in ws._images],
        "image_bytes": [i._data() for i in ws._images],
    }


def test_recalc_keeps_everything_the_user_added(tmp_path):
    book = tmp_path / "绩效自评.xlsx"
    _user_workbook().save(book)
    before = _features(book)
    assert before["images"] and before["comments"][0] == "这是我的批注"  # the fixture really has them
    result = run("recalc", book)
    assert result.exit_code == 0, result.stderr
    after = _features(book)
    for key in before:
        assert after[key] == before[key], key
    assert run("recalc", book).exit_code == 0  # and again: still all there
    assert _features(book) == before
    assert L.SUMMARY_SHEET in openpyxl.load_workbook(book).sheetnames


def _add_parts(path: Path, parts: dict[str, bytes], patch: dict[str, tuple[bytes, bytes]] | None = None) -> None:
    data = path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if patch and info.filename in patch:
                old, new = patch[info.filename]
                assert old in content, info.filename
                content = content.replace(old, new, 1)
            dst.writestr(info.filename, content)
        for name, content in parts.items():
            dst.writestr(name, content)
    path.write_bytes(out.getvalue())


def _user_sheet_part(path: Path, title: str) -> str:
    wb = openpyxl.load_workbook(path)
    return f"xl/worksheets/sheet{wb.sheetnames.index(title) + 1}.xml"


def _with_chart(path: Path) -> None:
    wb = base_workbook()
    ws = wb.create_sheet("我的图表")
    for r in range(1, 5):
        ws.append([f"项{r}", r * 10])
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=4))
    ws.add_chart(chart, "D2")
    wb.save(path)


def _with_vba(path: Path) -> None:
    base_workbook().save(path)
    _add_parts(path, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0fake vba"})


def _with_threaded_comment(path: Path) -> None:
    wb = base_workbook()
    wb.create_sheet("讨论")["A1"] = "见批注"
    wb.save(path)
    part = _user_sheet_part(path, "讨论")
    rels = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
    _add_parts(path, {
        rels: b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              b'<Relationship Id="rIdT" Type="http://schemas.microsoft.com/office/2017/10/relationships/threadedComment" '
              b'Target="../threadedComments/threadedComment1.xml"/></Relationships>',
        "xl/threadedComments/threadedComment1.xml": b"<ThreadedComments/>",
    })


def _with_sparklines(path: Path) -> None:
    wb = base_workbook()
    wb.create_sheet("趋势")["A1"] = 1
    wb.save(path)
    part = _user_sheet_part(path, "趋势")
    _add_parts(path, {}, {part: (b"</worksheet>", b'<extLst><ext uri="{05C60535-1F16-4fd2-B633-F4F36F0B64E0}">'
                                                   b'</ext></extLst></worksheet>')})


@pytest.mark.parametrize("build", [_with_chart, _with_vba, _with_threaded_comment, _with_sparklines])
def test_keeps_what_openpyxl_cannot(tmp_path, build):
    """Charts, VBA, threaded comments, sparklines: recalc in place no longer refuses them, and every part
    outside the lists of sheets comes back byte for byte (the package-level writer)."""
    from .package_check import changed_outside, owned_parts

    book = tmp_path / "绩效自评.xlsx"
    build(book)
    before = book.read_bytes()
    result = run("recalc", book)
    assert result.exit_code in (0, 1), result.stderr
    assert L.SUMMARY_SHEET in openpyxl.load_workbook(book).sheetnames
    assert changed_outside(before, book.read_bytes(), owned_parts(before)) == []


def test_our_own_chart_on_the_summary_does_not_block_recalc(tmp_path):
    book = tmp_path / "绩效自评.xlsx"
    base_workbook().save(book)
    assert run("recalc", book, "--no-backup").exit_code == 0  # writes 汇总 with its bar chart
    assert run("recalc", book, "--no-backup").exit_code == 0  # the chart is on a generated sheet: replaced, not lost


def test_xlsm_is_never_rewritten(tmp_path):
    book = tmp_path / "宏.xlsm"
    base_workbook().save(book)
    before = book.read_bytes()
    result = run("recalc", book)
    assert result.exit_code == 2 and ".xlsx" in result.stderr
    assert book.read_bytes() == before
    assert run("recalc", book, "-o", tmp_path / "宏_结果.xlsx").exit_code == 0


# ---- text that looks like a formula ---------------------------------------------------------
FORMULA_LIKE = ("=1+1", "+SUM(A1:A2)", "-5", "@注释", "=HYPERLINK(\"http://x\")")


def _formula_like_workbook():
    indicators = tuple(IndicatorInput("产出指标", "数量指标", f"{text}指标", 20, "10个", "5个", reason=text)
                       for text in FORMULA_LIKE)
    return new_workbook([ProjectInput(name="=1+1", indicators=indicators)])


def _assert_text_cells(wb, sheet: str):
    ws = wb[sheet]
    texts = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    for text in FORMULA_LIKE:
        assert text in texts, text
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, str) and c.value in FORMULA_LIKE:
                assert c.data_type == "s", (c.coordinate, c.value)


def test_formula_like_text_stays_text_after_a_round_trip(tmp_path):
    book = tmp_path / "公式样文字.xlsx"
    _formula_like_workbook().save(book)
    assert run("recalc", book, "--no-backup").exit_code in (0, 1)
    wb = openpyxl.load_workbook(book)
    annex = next(n for n in wb.sheetnames if n.startswith(L.ANNEX_PREFIX))
    _assert_text_cells(wb, annex)
    assert wb[L.SUMMARY_SHEET]["A2"].value == "=1+1" and wb[L.SUMMARY_SHEET]["A2"].data_type == "s"
    with zipfile.ZipFile(book) as z:  # and no generated sheet holds a formula made of them
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>1+1</f>" not in z.read(name) and b"<f>SUM(A1:A2)</f>" not in z.read(name)


@pytest.mark.libreoffice
@pytest.mark.skipif(not lo.available(), reason="LibreOffice (soffice) 未安装")
def test_formula_like_text_stays_text_in_libreoffice(tmp_path):
    book = tmp_path / "公式样文字.xlsx"
    _formula_like_workbook().save(book)
    run("recalc", book, "--no-backup")
    out = lo.recalculate(book, tmp_path / "lo")
    wb = openpyxl.load_workbook(out, data_only=True)
    annex = next(n for n in wb.sheetnames if n.startswith(L.ANNEX_PREFIX))
    values = {c.value for row in wb[annex].iter_rows() for c in row}
    for text in FORMULA_LIKE:
        assert text in values, text  # LibreOffice shows the text, not 2 or an error
    assert wb[L.SUMMARY_SHEET]["A2"].value == "=1+1"


# ---- encrypted and converted files ------------------------------------------------------------
def test_encrypted_workbook_round_trip_stays_encrypted(tmp_path):
    book = tmp_path / "加密.xlsx"
    book.write_bytes(encrypted_bytes("密码123"))
    result = run("recalc", book, "--password", "密码123", "--no-backup")
    assert result.exit_code == 0, result.stderr
    assert sorted(files(tmp_path)) == ["加密.xlsx"]  # nothing decrypted left on disk
    data = book.read_bytes()
    assert data.startswith(b"\xd0\xcf\x11\xe0")  # still an encrypted container
    assert not zipfile.is_zipfile(book)
    result = run("check", book, "--json", env={"XLPERF_PASSWORD": "密码123"})
    assert result.exit_code in (0, 1), result.stderr
    assert run("check", book).exit_code == 2


@pytest.mark.libreoffice
@pytest.mark.skipif(not lo.available(), reason="LibreOffice (soffice) 未安装")
def test_convert_xls_with_libreoffice(tmp_path):
    source = tmp_path / "src.xlsx"
    base_workbook().save(source)
    xls = lo.convert(source, "xls", tmp_path)
    source.unlink()
    before = xls.read_bytes()
    refused = run("recalc", xls)
    assert refused.exit_code == 2 and "--convert" in refused.stderr
    in_place = run("recalc", xls, "--convert")
    assert in_place.exit_code == 2 and "-o" in in_place.stderr  # never written over the .xls
    out = tmp_path / "结果.xlsx"
    result = run("recalc", xls, "--convert", "-o", out, "--json")
    assert result.exit_code in (0, 1), result.stderr
    assert xls.read_bytes() == before
    assert L.SUMMARY_SHEET in openpyxl.load_workbook(out).sheetnames
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([xls.name, out.name])
