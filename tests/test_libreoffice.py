"""LibreOffice headless wrapper: recalculation really happens, PDF export works.

The LibreOffice tests start soffice a handful of times (about 2–3 s each), so
all formula checks share one workbook and one `recalculate` call.
"""
from __future__ import annotations

import subprocess
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlperf import libreoffice as lo

skip_without_lo = pytest.mark.skipif(not lo.available(), reason="LibreOffice (soffice) 未安装")

SHEET = "测试表"
FILE_NAME = "测试 表.xlsx"
STALE = 999
# cell -> (formula, correct value)
FORMULAS = {
    "B1": ("=A1*2", 190),
    "B2": ("=ROUND(0.285,2)", 0.29),
    "B3": ("=ROUND(-1.005,2)", -1.01),
    "B4": ('=IF(A1>=90,"优秀","良好")', "优秀"),
    "B5": ("=SUM(A1:A3)", 100),
}
STALE_CELLS = ("B1", "B5")  # given a deliberately wrong cached value


def _write_stale_workbook(path: Path) -> Path:
    """A workbook whose formula cells B1 and B5 carry the cached value 999.

    openpyxl writes formula cells with an empty ``<v/>``; patch the sheet XML
    inside the zip so that LibreOffice, unless told to recalculate, would
    show the stale 999.
    """
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["A1"], ws["A2"], ws["A3"] = 95, 3, 2
    for ref, (formula, _) in FORMULAS.items():
        ws[ref] = formula
    plain = path.with_name("plain.xlsx")
    wb.save(plain)

    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode("utf-8")
                for ref in STALE_CELLS:
                    formula = FORMULAS[ref][0][1:]
                    old = f'<c r="{ref}"><f>{formula}</f><v /></c>'
                    assert old in xml, f"openpyxl 输出格式变化，找不到 {old!r}"
                    xml = xml.replace(old, f'<c r="{ref}"><f>{formula}</f><v>{STALE}</v></c>')
                data = xml.encode("utf-8")
            zout.writestr(info, data)
    plain.unlink()

    # Sanity: the stale cache is really there.
    ws = openpyxl.load_workbook(path, data_only=True)[SHEET]
    assert [ws[ref].value for ref in STALE_CELLS] == [STALE] * len(STALE_CELLS)
    return path


@pytest.fixture(scope="module")
def stale_workbook(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lo") / "中文 目录"
    folder.mkdir()
    return _write_stale_workbook(folder / FILE_NAME)


@pytest.fixture(scope="module")
def recalculated(stale_workbook: Path) -> tuple[Path, float]:
    """One recalculation, into the source's own directory (the collision case)."""
    started = time.monotonic()
    out = lo.recalculate(stale_workbook, stale_workbook.parent)
    return out, time.monotonic() - started


# ----------------------------------------------------------------------------
# with LibreOffice


@pytest.mark.libreoffice
@skip_without_lo
@pytest.mark.parametrize("ref", sorted(FORMULAS))
def test_recalculate_gives_correct_values(recalculated, ref):
    out, _ = recalculated
    ws = openpyxl.load_workbook(out, data_only=True)[SHEET]
    expected = FORMULAS[ref][1]
    value = ws[ref].value
    if isinstance(expected, float):
        assert value == pytest.approx(expected, abs=1e-12)
    else:
        assert value == expected
    assert value != STALE


@pytest.mark.libreoffice
@skip_without_lo
def test_recalculate_keeps_formulas_and_does_not_overwrite_source(recalculated, stale_workbook):
    out, elapsed = recalculated
    assert out.parent == stale_workbook.parent
    assert out != stale_workbook
    assert out.name == "测试 表.recalculated.xlsx"
    assert out.stat().st_size > 0
    # The source still carries its stale cache: it was not overwritten.
    src = openpyxl.load_workbook(stale_workbook, data_only=True)[SHEET]
    assert src["B1"].value == STALE
    # Formulas survive the round trip.
    ws = openpyxl.load_workbook(out)[SHEET]
    assert ws["B1"].value == "=A1*2"
    assert ws["B2"].value.upper() == "=ROUND(0.285,2)"
    assert elapsed < 120


@pytest.mark.libreoffice
@skip_without_lo
def test_control_without_recalc_mode_keeps_stale_value(stale_workbook, tmp_path):
    """Without OOXMLRecalcMode=0 LibreOffice trusts the cached 999: the setting matters."""
    out = lo._run(
        stale_workbook, "xlsx", tmp_path / "对照 组", 180, always_recalc=False, collision_tag="x"
    )
    ws = openpyxl.load_workbook(out, data_only=True)[SHEET]
    assert [ws[ref].value for ref in STALE_CELLS] == [STALE] * len(STALE_CELLS)


@pytest.mark.libreoffice
@skip_without_lo
def test_convert_to_pdf(stale_workbook, tmp_path):
    dest = tmp_path / "输出 PDF"
    out = lo.convert(stale_workbook, "pdf", dest)
    assert out == dest / "测试 表.pdf"
    assert out.read_bytes().startswith(b"%PDF")
    assert stale_workbook.is_file()


@pytest.mark.libreoffice
@skip_without_lo
def test_unloadable_file_raises_with_soffice_output(tmp_path):
    bad = tmp_path / "坏 文件.xlsx"
    bad.write_bytes(b"this is not a zip file\n" * 20)
    with pytest.raises(lo.LibreOfficeError) as info:
        lo.convert(bad, "xlsx", tmp_path / "out")
    message = str(info.value)
    assert "转换失败" in message
    # soffice's own words are passed on: "could not be loaded", or (where LibreOffice Writer is installed too and
    # takes the text for a document) the conversion it started before it crashed, without the crash's stack
    assert "could not be loaded" in message or "using filter" in message
    assert ".so" not in message
    assert not (tmp_path / "out" / "坏 文件.xlsx").exists()


@pytest.mark.libreoffice
@skip_without_lo
def test_timeout_kills_soffice(stale_workbook, tmp_path, monkeypatch):
    started_procs: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def recording_popen(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started_procs.append(proc)
        return proc

    monkeypatch.setattr(lo.subprocess, "Popen", recording_popen)
    started = time.monotonic()
    with pytest.raises(lo.LibreOfficeError, match="超时"):
        lo.recalculate(stale_workbook, tmp_path, timeout=0.5)
    assert time.monotonic() - started < 30
    (proc,) = started_procs
    assert proc.returncode is not None  # the wrapper was killed and reaped
    # Every process of the group is gone (zombies awaiting init are fine).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _live_members(proc.pid):
        time.sleep(0.2)
    assert _live_members(proc.pid) == []


def _live_members(pgid: int) -> list[int]:
    """Non-zombie processes in process group ``pgid`` (Linux /proc)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


# ----------------------------------------------------------------------------
# without LibreOffice


def test_registry_sets_recalc_modes():
    root = ET.fromstring(lo._registry_xml(always_recalc=True))
    oor = "{http://openoffice.org/2001/registry}"
    settings = {
        (item.get(f"{oor}path"), prop.get(f"{oor}name")): prop.findtext("value")
        for item in root
        for prop in item
    }
    load = "/org.openoffice.Office.Calc/Formula/Load"
    assert settings[(load, "OOXMLRecalcMode")] == "0"
    assert settings[(load, "ODFRecalcMode")] == "0"
    control = ET.fromstring(lo._registry_xml(always_recalc=False))
    assert "OOXMLRecalcMode" not in ET.tostring(control, encoding="unicode")


@pytest.mark.parametrize(
    "fmt, spec, ext",
    [
        ("xlsx", "xlsx:Calc Office Open XML", "xlsx"),
        ("pdf", "pdf:calc_pdf_Export", "pdf"),
        (".PDF", "pdf:calc_pdf_Export", "pdf"),
        ("html", "html", "html"),
        ("pdf:calc_pdf_Export", "pdf:calc_pdf_Export", "pdf"),
    ],
)
def test_filter_spec(fmt, spec, ext):
    assert lo._filter_spec(fmt) == (spec, ext)


@pytest.mark.parametrize("fmt", ["", ":", "../x", "a b"])
def test_filter_spec_rejects_nonsense(fmt):
    with pytest.raises(lo.LibreOfficeError):
        lo._filter_spec(fmt)


def test_missing_source_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(lo, "find_soffice", lambda: "/bin/true")
    with pytest.raises(lo.LibreOfficeError, match="源文件不存在"):
        lo.recalculate(tmp_path / "没有 这个.xlsx", tmp_path)


def test_not_installed_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(lo, "find_soffice", lambda: None)
    assert lo.available() is False
    with pytest.raises(lo.LibreOfficeError, match="未找到 LibreOffice"):
        lo.convert(tmp_path / "x.xlsx", "pdf", tmp_path)


def test_find_soffice_honours_override(tmp_path, monkeypatch):
    fake = tmp_path / "my soffice"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("XLPERF_SOFFICE", str(fake))
    assert lo.find_soffice() == str(fake)
    monkeypatch.setenv("XLPERF_SOFFICE", str(tmp_path / "missing"))
    found = lo.find_soffice()
    assert found is None or Path(found).name != "missing"
