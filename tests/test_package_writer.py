"""The package-level writer: recalc, add-project and remove-project change only xlperf's sheets and the
lists that name sheets; every other part of the file comes back byte for byte (issue 12)."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree
from openpyxl.chart import BarChart, Reference
from typer.testing import CliRunner

from xlperf import layout as L
from xlperf.cli import app
from xlperf.package.graft import sheets
from xlperf.package.opc import Package
from xlperf.package.write import saved
from xlperf.pipeline import generated_sheet_names, recalc_workbook
from xlperf.profiles import load_profile

from .package_check import (changed_outside, entries_kept, owned_parts, parse_all, parts, with_master_sheets)

PROFILE = load_profile("default")
runner = CliRunner()


def user_book() -> bytes:
    """A user's own workbook: a sheet with formulas (cached values as Excel stores them) and a chart."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "我的数据"
    for i in range(1, 6):
        ws.cell(i, 1, i)
        ws.cell(i, 2, f"=A{i}*2")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=5))
    ws.add_chart(chart, "D2")
    data = saved(wb)
    # Excel lists the sheets in docProps/app.xml
    package = Package.from_bytes(data)
    app_xml = ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
               'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>Microsoft Excel'
               '</Application><HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>工作表</vt:lpstr>'
               '</vt:variant><vt:variant><vt:i4>1</vt:i4></vt:variant></vt:vector></HeadingPairs><TitlesOfParts>'
               '<vt:vector size="1" baseType="lpstr"><vt:lpstr>我的数据</vt:lpstr></vt:vector></TitlesOfParts></Properties>')
    package.put("/docProps/app.xml", app_xml.encode())
    data = package.to_bytes()
    # Excel stores each formula's last value: put them in, as a real file has them
    package = Package.from_bytes(data)
    part = next(s.part for s in sheets(package) if s.title == "我的数据")
    root = package.xml(part)
    m = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    for c in root.iter(m + "c"):
        f = c.find(m + "f")
        if f is not None:
            v = c.find(m + "v")
            if v is None:
                v = etree.SubElement(c, m + "v")
            v.text = str(int(c.get("r")[1:]) * 2)
    package.touch(part)
    return package.to_bytes()


def master(tmp_path: Path, data: bytes | None = None, name: str = "book.xlsx", projects: int = 1, inputs=None) -> Path:
    path = tmp_path / name
    path.write_bytes(with_master_sheets(data if data is not None else user_book(), projects, inputs))
    return path


def test_recalc_changes_only_what_it_owns(tmp_path):
    path = master(tmp_path)
    before = path.read_bytes()
    recalc_workbook(path, profile=PROFILE)
    after = path.read_bytes()
    assert changed_outside(before, after, owned_parts(before)) == []
    assert entries_kept(before, after) == []
    assert parse_all(after) == []
    wb = openpyxl.load_workbook(path)
    assert {"汇总", "校验结果"} <= set(wb.sheetnames) and any(n.startswith(L.ANNEX_PREFIX) for n in wb.sheetnames)
    assert wb.sheetnames[:2] == ["我的数据", L.PROJECT_LIST_SHEET] and set(generated_sheet_names(wb)) <= set(wb.sheetnames[3:])
    # the user's cached formula results are still there for any data_only reader
    values = openpyxl.load_workbook(path, data_only=True)["我的数据"]
    assert [values.cell(i, 2).value for i in range(1, 6)] == [2, 4, 6, 8, 10]
    # and the chart is still there, byte for byte
    charts = {n: b for n, b in parts(before).items() if "/charts/" in n}
    assert charts and all(parts(after)[n] == b for n, b in charts.items())


def test_second_recalc_writes_the_same_bytes(tmp_path):
    """Recalculating twice appends no formats and moves no part: the file is the same."""
    path = master(tmp_path)
    recalc_workbook(path, profile=PROFILE)
    first = parts(path.read_bytes())
    recalc_workbook(path, profile=PROFILE)
    assert parts(path.read_bytes()) == first


def test_grafted_sheets_keep_their_formats_links_and_chart(tmp_path):
    from xlperf.template.seeds import SEEDS

    path = master(tmp_path, inputs=SEEDS)  # the seeds: findings with cells to link to
    recalc_workbook(path, profile=PROFILE)
    wb = openpyxl.load_workbook(path)
    findings = wb["校验结果"]
    links = [c.hyperlink.location for row in findings.iter_rows(min_row=2) for c in row if c.hyperlink is not None]
    assert links and all(loc.startswith("'") for loc in links)  # each finding links to its cell on a user sheet
    summary = wb["汇总"]
    assert summary["A1"].font.b  # the header's bold came across through styles.xml
    assert len(summary._charts) == 1
    annex = wb[next(n for n in wb.sheetnames if n.startswith(L.ANNEX_PREFIX))]
    assert annex.print_title_rows and annex.print_area
    # exactly one selected tab: grafted sheets do not join the user's selection
    root = etree.fromstring(zipfile.ZipFile(path).read("xl/workbook.xml"))
    selected = 0
    for s in sheets(Package.from_bytes(path.read_bytes())):
        xml = zipfile.ZipFile(path).read(s.part.lstrip("/"))
        selected += b'tabSelected="1"' in xml
    assert selected <= 1 and root is not None


def test_part_names_differ_in_case_from_their_rels(tmp_path):
    """A real file has xl/worksheets/Sheet1.xml with xl/worksheets/_rels/sheet1.xml.rels: its chart is the
    user's, found through the rels file all the same, and kept."""
    data = user_book()
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            blob = src.read(info)
            name = info.filename
            if name == "xl/worksheets/sheet1.xml":
                name = "xl/worksheets/Sheet1.xml"
            if name in ("xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
                blob = blob.replace(b"worksheets/sheet1.xml", b"worksheets/Sheet1.xml")
            z.writestr(name, blob)
    path = master(tmp_path, out.getvalue())
    before = path.read_bytes()
    recalc_workbook(path, profile=PROFILE)
    after = path.read_bytes()
    assert "xl/worksheets/_rels/sheet1.xml.rels" in zipfile.ZipFile(path).namelist()
    assert changed_outside(before, after, owned_parts(before)) == []
    assert sum("/charts/chart" in n for n in parts(after)) == 1 + 1  # the user's and 汇总's
    assert openpyxl.load_workbook(path)["我的数据"]["B3"].value == "=A3*2"


def _xlsm(data: bytes) -> bytes:
    """data as a macro-enabled workbook with a VBA project (bytes as Excel would store them)."""
    package = Package.from_bytes(data)
    workbook = package.main_document()
    package.set_content_type(workbook, "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    package.put("/xl/vbaProject.bin", bytes(range(256)) * 40, "application/vnd.ms-office.vbaProject")
    package.add_relationship(workbook, "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
                             "/xl/vbaProject.bin")
    return package.to_bytes()


def test_xlsm_recalculated_in_place_keeps_its_vba(tmp_path):
    path = tmp_path / "宏.xlsm"
    path.write_bytes(_xlsm(with_master_sheets(user_book())))
    vba = parts(path.read_bytes())["/xl/vbaproject.bin"]
    result = runner.invoke(app, ["recalc", str(path)])
    assert result.exit_code in (0, 1), result.output
    assert parts(path.read_bytes())["/xl/vbaproject.bin"] == vba
    assert Package.from_bytes(path.read_bytes()).content_type("/xl/workbook.xml").endswith("macroEnabled.main+xml")
    # an .xlsm's result is an .xlsm: writing it as .xlsx is refused, nothing written
    result = runner.invoke(app, ["recalc", str(path), "-o", str(tmp_path / "结果.xlsx")])
    assert result.exit_code == 2 and ".xlsm" in result.output and not (tmp_path / "结果.xlsx").exists()


def test_add_and_remove_project_touch_only_their_sheets(tmp_path):
    path = master(tmp_path)
    recalc_workbook(path, profile=PROFILE)
    before = path.read_bytes()
    result = runner.invoke(app, ["add-project", str(path), "--name", "新增项目", "--example"])
    assert result.exit_code == 0, result.output
    after = path.read_bytes()
    assert changed_outside(before, after, owned_parts(before, [L.PROJECT_LIST_SHEET])) == []
    assert entries_kept(before, after) == []
    wb = openpyxl.load_workbook(path)
    assert "新增项目" in wb.sheetnames
    assert any(c.value == "新增项目" for row in wb[L.PROJECT_LIST_SHEET].iter_rows() for c in row)
    new = wb["新增项目"]
    assert new.protection.sheet and new.conditional_formatting and new.data_validations.dataValidation

    result = runner.invoke(app, ["remove-project", str(path), "--name", "新增项目"])
    assert result.exit_code == 0, result.output
    removed = path.read_bytes()
    assert changed_outside(after, removed, owned_parts(after, [L.PROJECT_LIST_SHEET, "新增项目"])) == []
    gone = set(parts(after)) - set(parts(removed))
    assert gone and all("worksheets" in n for n in gone)
    assert "新增项目" not in openpyxl.load_workbook(path).sheetnames


def test_legacy_list_of_generated_sheets_is_dropped(tmp_path):
    """An older version recorded its sheets in a custom document property; recalc replaces it by markers."""
    path = master(tmp_path)
    wb = openpyxl.load_workbook(path)
    from openpyxl.packaging.custom import StringProperty

    wb.create_sheet("汇总")["A1"] = "旧汇总"
    wb.custom_doc_props.append(StringProperty(name=L.GENERATED_PROPERTY, value='["汇总"]'))
    wb.save(path)
    recalc_workbook(path, profile=PROFILE)
    wb = openpyxl.load_workbook(path)
    assert wb["汇总"]["A1"].value != "旧汇总"
    assert L.GENERATED_PROPERTY not in [p.name for p in wb.custom_doc_props.props]


def test_calc_chain_loses_only_the_removed_sheets_entries(tmp_path):
    path = master(tmp_path)
    recalc_workbook(path, profile=PROFILE)
    package = Package.from_bytes(path.read_bytes())
    ids = {s.title: s.sheet_id for s in sheets(package)}
    summary, user = ids["汇总"], ids["我的数据"]
    chain = f'<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><c r="B1" i="{user}"/>' \
            f'<c r="B2"/><c r="A2" i="{summary}"/><c r="A3"/><c r="B3" i="{user}"/></calcChain>'
    package.put("/xl/calcChain.xml", chain.encode(), "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml")
    package.add_relationship(package.main_document(),
                             "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain", "/xl/calcChain.xml")
    path.write_bytes(package.to_bytes())
    recalc_workbook(path, profile=PROFILE)
    root = etree.fromstring(zipfile.ZipFile(path).read("xl/calcChain.xml"))
    assert [(c.get("r"), c.get("i")) for c in root] == [("B1", user), ("B2", None), ("B3", user)]


def test_app_properties_list_the_sheets(tmp_path):
    path = master(tmp_path)
    recalc_workbook(path, profile=PROFILE)
    root = etree.fromstring(zipfile.ZipFile(path).read("docProps/app.xml"))
    vt = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
    titles = [el.text for el in root.iter(vt + "lpstr")]
    wb = openpyxl.load_workbook(path)
    assert titles == ["工作表", *wb.sheetnames]
    assert root.find(f".//{vt}i4").text == str(len(wb.sheetnames))


# ---- every real Excel-written file of Apache POI's corpus -------------------------------------------------
POI = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "excel-real" / "poi"
POI_FILES = sorted(p.name for p in POI.glob("*.xls[xm]")) if POI.is_dir() else []
# A sample with charts, pivot tables, VBA, comments, shapes, form controls, sparklines, x14 validations,
# rich text and a sheet part whose case differs from its rels file: also read back by LibreOffice.
LIBREOFFICE_SAMPLE = ("123233_charts.xlsx", "45431.xlsm", "WithChart.xlsx", "ExcelPivotTableSample.xlsx",
                      "comments.xlsx", "WithTextBox.xlsx", "WithChartSheet.xlsx", "SimpleMacro.xlsm",
                      "WithConditionalFormatting.xlsx", "DataValidations-49244.xlsx", "dataValidationTableRange.xlsx",
                      "WithDrawing.xlsx", "NewStyleConditionalFormattings.xlsx", "WithThreeCharts.xlsx")


def _refused(source: Path) -> bool:
    from xlperf.workbook_io import UnreadableWorkbook, open_workbook

    try:
        open_workbook(source, leave_out_generated=True)
    except UnreadableWorkbook:
        return True
    return False


def _graft_into(tmp_path: Path, name: str) -> Path | None:
    """The POI file with xlperf's 项目清单 and one input sheet put in at the XML level; None when xlperf
    refuses the original itself (then with a Chinese message, checked in test_hostile_input)."""
    source = POI / name
    from xlperf.package.opc import PackageError

    try:
        data = with_master_sheets(source.read_bytes())
    except PackageError as exc:  # invalid OPC (two members of one name): every writing command refuses it so
        assert "文件" in str(exc), (name, str(exc))
        return None
    except Exception:  # not a package we can put sheets into: xlperf must refuse the original
        assert _refused(source), name
        return None
    path = tmp_path / ("工作簿" + source.suffix.lower())
    path.write_bytes(data)
    return path


def _recalc_or_refused(path: Path, name: str) -> bool:
    """recalc in place; False when xlperf refuses the file (and then the original too)."""
    from xlperf.workbook_io import UnreadableWorkbook

    try:
        recalc_workbook(path, profile=PROFILE)
    except UnreadableWorkbook:
        assert _refused(POI / name), name
        return False
    return True


def _read_back(path: Path) -> None:
    """openpyxl, the first independent reader, opens the result (lazily for the large ones)."""
    openpyxl.load_workbook(path, read_only=path.stat().st_size > 1_000_000).close()


@pytest.mark.skipif(not POI_FILES, reason="../shared/corpus/excel-real/poi 不在此处")
@pytest.mark.parametrize("name", POI_FILES or ["-"])
def test_recalc_and_add_project_in_every_real_excel_file(tmp_path, name):
    path = _graft_into(tmp_path, name)
    if path is None:
        return
    before = path.read_bytes()
    if not _recalc_or_refused(path, name):
        return
    after = path.read_bytes()
    assert changed_outside(before, after, owned_parts(before)) == []
    assert entries_kept(before, after) == [] and parse_all(after) == []
    _read_back(path)
    result = runner.invoke(app, ["add-project", str(path), "--name", "新增项目"])
    assert result.exit_code == 0, result.output
    added = path.read_bytes()
    assert changed_outside(after, added, owned_parts(after, [L.PROJECT_LIST_SHEET])) == []
    assert entries_kept(after, added) == [] and parse_all(added) == []
    _read_back(path)


def _user_values(recalculated: Path, titles) -> dict:
    wb = openpyxl.load_workbook(recalculated, data_only=True, read_only=True)
    out = {}
    for title in titles:
        if title in wb.sheetnames and hasattr(wb[title], "iter_rows"):
            out[title] = [tuple(c.value for c in row) for row in wb[title].iter_rows(max_row=300)]
    wb.close()
    return out


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.skipif(not POI_FILES, reason="../shared/corpus/excel-real/poi 不在此处")
def test_libreoffice_computes_the_same_user_sheets_after_recalc(tmp_path):
    """LibreOffice, the second independent reader, opens each result and recalculates the user's sheets to
    the same values as before xlperf wrote into the file."""
    from xlperf import libreoffice

    if not libreoffice.available():
        pytest.skip("LibreOffice 未安装")
    checked = 0
    for name in LIBREOFFICE_SAMPLE:
        if name not in POI_FILES:
            continue
        folder = tmp_path / name
        folder.mkdir()
        path = _graft_into(folder, name)
        if path is None:
            continue
        original = folder / ("原件" + path.suffix)
        original.write_bytes(path.read_bytes())
        if not _recalc_or_refused(path, name):
            continue
        titles = [s.title for s in sheets(Package.from_bytes(original.read_bytes()))
                  if s.title not in (L.PROJECT_LIST_SHEET,) and s.kind == "worksheet"]
        titles = [t for t in titles if not openpyxl.load_workbook(original, read_only=True)[t]["A1"].value == L.INPUT_TITLE]
        want = _user_values(libreoffice.recalculate(original, folder / "前"), titles)
        got = _user_values(libreoffice.recalculate(path, folder / "后"), titles)
        assert got == want, name
        checked += 1
    assert checked >= 8


# ---- what a review of the writer found ------------------------------------------------------------------
def _workbook_view(path: Path) -> dict:
    root = etree.fromstring(zipfile.ZipFile(path).read("xl/workbook.xml"))
    return dict(root.find(f"{M}bookViews/{M}workbookView").attrib)


M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _select(path: Path, title: str) -> None:
    """Save the workbook as Excel would with `title` the active, selected tab."""
    package = Package.from_bytes(path.read_bytes())
    for s in sheets(package):
        root = package.xml(s.part)
        for view in root.iter(M + "sheetView"):
            if s.title == title:
                view.set("tabSelected", "1")
            else:
                view.attrib.pop("tabSelected", None)
        package.touch(s.part)
        if s.title == title:
            package.xml(package.main_document()).find(f"{M}bookViews/{M}workbookView").set("activeTab", str(s.index))
    package.touch(package.main_document())
    path.write_bytes(package.to_bytes())


def test_the_active_tab_follows_its_sheet(tmp_path):
    path = master(tmp_path)
    recalc_workbook(path, profile=PROFILE)
    assert runner.invoke(app, ["add-project", str(path), "--name", "新增项目", "--example"]).exit_code == 0
    _select(path, "新增项目")  # after the generated sheets: they are replaced before it
    recalc_workbook(path, profile=PROFILE)
    titles = openpyxl.load_workbook(path).sheetnames
    assert titles[int(_workbook_view(path)["activeTab"])] == "新增项目"
    _select(path, "汇总")  # a sheet removed and made again: the active tab stays a selected, visible sheet
    assert runner.invoke(app, ["remove-project", str(path), "--name", "新增项目"]).exit_code == 0
    titles = openpyxl.load_workbook(path).sheetnames
    assert titles[int(_workbook_view(path)["activeTab"])] == "汇总"


def test_excel_recalculates_the_users_formulas_on_open(tmp_path):
    """A user's formula that reads 汇总 keeps its cached value in the file, and Excel recomputes it on open."""
    path = master(tmp_path)
    recalc_workbook(path, profile=PROFILE)
    root = etree.fromstring(zipfile.ZipFile(path).read("xl/workbook.xml"))
    assert root.find(M + "calcPr").get("fullCalcOnLoad") == "1"


def test_a_replaced_sheet_leaves_no_calc_chain_entries(tmp_path):
    path = master(tmp_path)
    package = Package.from_bytes(path.read_bytes())
    ids = {s.title: s.sheet_id for s in sheets(package)}
    chain = (f'<calcChain xmlns="{M[1:-1]}"><c r="B1" i="{ids["我的数据"]}"/><c r="J3" i="{ids[L.PROJECT_LIST_SHEET]}"/>'
             f'<c r="J4"/></calcChain>')
    package.put("/xl/calcChain.xml", chain.encode(), "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml")
    package.add_relationship(package.main_document(),
                             "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain", "/xl/calcChain.xml")
    path.write_bytes(package.to_bytes())
    assert runner.invoke(app, ["add-project", str(path), "--name", "新增项目"]).exit_code == 0
    root = etree.fromstring(zipfile.ZipFile(path).read("xl/calcChain.xml"))
    assert [(c.get("r"), c.get("i")) for c in root] == [("B1", ids["我的数据"])]


def test_formats_excel_writes_differently_are_not_appended_again(tmp_path):
    """Excel writes <b/> where openpyxl writes <b val="1"/>: after Excel saved the file, recalc finds its formats."""
    path = master(tmp_path)
    recalc_workbook(path, profile=PROFILE)
    package = Package.from_bytes(path.read_bytes())
    styles = next(t for r, t in package.related(package.main_document()) if r.kind == "styles")
    for el in package.xml(styles).iter(M + "b", M + "i"):
        el.attrib.pop("val", None)
    package.touch(styles)
    path.write_bytes(package.to_bytes())
    before = len(etree.fromstring(zipfile.ZipFile(path).read("xl/styles.xml")).find(M + "cellXfs"))
    recalc_workbook(path, profile=PROFILE)
    assert len(etree.fromstring(zipfile.ZipFile(path).read("xl/styles.xml")).find(M + "cellXfs")) == before


def test_a_generated_sheet_the_user_hid_stays_hidden(tmp_path):
    path = master(tmp_path)
    recalc_workbook(path, profile=PROFILE)
    wb = openpyxl.load_workbook(path)
    package = Package.from_bytes(path.read_bytes())
    root = package.xml(package.main_document())
    for el in root.iter(M + "sheet"):
        if el.get("name") == "校验结果":
            el.set("state", "hidden")
    package.touch(package.main_document())
    path.write_bytes(package.to_bytes())
    recalc_workbook(path, profile=PROFILE)
    wb = openpyxl.load_workbook(path)
    assert wb["校验结果"].sheet_state == "hidden" and wb["汇总"].sheet_state == "visible"
    assert wb.sheetnames[int(_workbook_view(path).get("activeTab", 0))] != "校验结果"


def test_two_parts_whose_names_differ_only_in_case_are_refused(tmp_path):
    from xlperf.package.opc import PackageError

    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z, zipfile.ZipFile(io.BytesIO(user_book())) as src:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
        z.writestr("XL/Styles.xml", src.read("xl/styles.xml"))
    with pytest.raises(PackageError):
        Package.from_bytes(data.getvalue())


def test_forked_production_writes_the_same_file(tmp_path, monkeypatch):
    """With several cores, 附件1 batches and the cross-check are made in forked processes: the file written is
    the same, part for part, as when everything runs in one process."""
    import xlperf.crosscheck
    import xlperf.pipeline
    from xlperf.forking import can_fork

    if not can_fork():
        pytest.skip("no fork here: everything runs in one process anyway")
    serial = master(tmp_path, name="一个进程.xlsx", projects=5)
    forked = tmp_path / "多个进程.xlsx"  # the same bytes: made twice, the two files could differ in core.xml's time
    forked.write_bytes(serial.read_bytes())
    monkeypatch.setattr(xlperf.pipeline, "GRAFT_BATCH", 2)
    monkeypatch.setattr(xlperf.pipeline, "PARALLEL_ANNEX_FROM", 10**9)
    monkeypatch.setattr(xlperf.crosscheck, "PARALLEL_FROM", 10**9)
    recalc_workbook(serial, profile=PROFILE)
    monkeypatch.setattr(xlperf.pipeline, "PARALLEL_ANNEX_FROM", 1)
    monkeypatch.setattr(xlperf.crosscheck, "PARALLEL_FROM", 1)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    recalc_workbook(forked, profile=PROFILE)
    assert parts(serial.read_bytes()) == parts(forked.read_bytes())
