"""Pictures of the demo's sheets for the README, as they print: ``python3 -m xlperf.tools.pictures docs/img``.

Runs ``xlperf demo`` in a temporary folder, prints each pictured sheet to PDF with LibreOffice headless
(only that sheet: the others are removed from a copy, whose rows of wrapped text get the height Excel
gives them on opening) and turns the PDF's first page into a PNG with pdftoppm (poppler-utils), trimmed
to the printed part of the page. Needs LibreOffice and pdftoppm.

The same module tells which pages of a workbook's PDF belong to which sheet (`sheet_pages`), for the
test that prints every sheet and checks each page is one page wide and not empty.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import load_workbook

from .. import layout as L
from .. import libreoffice

MARK = "XLPERFSHEET"  # page-header text naming the sheet a page belongs to (in a marked copy only)

# The README's pictures: file name, pages shown, and how to find the sheet in the demo workbook.
PICTURES = (
    ("input-sheet.png", 3, lambda names: next(n for n in names if n not in _NOT_INPUT and not n.startswith(L.ANNEX_PREFIX))),
    ("annex1.png", 1, lambda names: next(n for n in names if n.startswith(L.ANNEX_PREFIX))),
    ("summary.png", 1, lambda names: L.SUMMARY_SHEET),
    ("findings.png", 1, lambda names: L.FINDINGS_SHEET),
)
_NOT_INPUT = {L.INSTRUCTIONS_SHEET, L.PROJECT_LIST_SHEET, L.SUMMARY_SHEET, L.FINDINGS_SHEET}


class ToolMissing(RuntimeError):
    """LibreOffice or poppler-utils is not installed."""


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"没有找到 {tool}（poppler-utils）；请先安装，例如 apt-get install poppler-utils")
    return path


def sheet_pdf(book: Path, sheet: str, workdir: Path, fit_rows: bool = False) -> Path:
    """book's sheet alone, printed to PDF as its page setup says (the other sheets removed from a copy).

    fit_rows: give rows with wrapped text the height Excel gives them when it opens the file (LibreOffice
    keeps the default height for rows a program filled in, and the lines overlap)."""
    if not libreoffice.available():
        raise ToolMissing("没有找到 LibreOffice（soffice）；请先安装 LibreOffice")
    wb = load_workbook(book)
    for name in wb.sheetnames:
        if name != sheet:
            del wb[name]  # a hidden sheet with a print area is still printed by LibreOffice
    ws = wb[sheet]
    ws.sheet_state = "visible"
    if fit_rows:
        _fit_unsized_rows(ws)
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / f"{_safe(sheet)}.xlsx"
    wb.save(copy)
    return libreoffice.convert(copy, "pdf", workdir)


def _fit_unsized_rows(ws) -> None:
    """Rows without a height of their own: tall enough for their wrapped text (what Excel shows)."""
    from openpyxl.cell.cell import MergedCell

    from ..writers.cells import LINE_HEIGHT, ROW_PADDING, _column_width, lines_needed

    merged = {(m.min_row, m.min_col) for m in ws.merged_cells.ranges}
    for r in range(1, ws.max_row + 1):
        if ws.row_dimensions[r].height is not None:
            continue  # rows the template sized keep their height
        lines = 1
        for cell in ws[r]:
            text = cell.value
            if (isinstance(cell, MergedCell) or (r, cell.column) in merged or not isinstance(text, str)
                    or text.startswith("=") or not cell.alignment.wrap_text
                    or ws.column_dimensions[cell.column_letter].hidden):
                continue
            lines = max(lines, lines_needed(text, _column_width(ws, cell.column)))
        if lines > 1:
            ws.row_dimensions[r].height = lines * LINE_HEIGHT + ROW_PADDING


def sheet_pages(book: Path, workdir: Path) -> tuple[Path, dict[str, list[int]]]:
    """The whole workbook printed to one PDF, and the pages (1-based) of each sheet.

    Each sheet of a copy gets a page header naming it (MARK + its index); the header is read back with
    pdftotext. A sheet that prints nothing has no pages."""
    if not libreoffice.available():
        raise ToolMissing("没有找到 LibreOffice（soffice）；请先安装 LibreOffice")
    _need("pdftotext")
    wb = load_workbook(book)
    names = wb.sheetnames
    for i, ws in enumerate(wb.worksheets):
        ws.oddHeader.left.text = f"{MARK}{i:03d}"
        ws.evenHeader.left.text = f"{MARK}{i:03d}"
        ws.firstHeader.left.text = f"{MARK}{i:03d}"
    workdir.mkdir(parents=True, exist_ok=True)
    copy = workdir / "marked.xlsx"
    wb.save(copy)
    pdf = libreoffice.convert(copy, "pdf", workdir)
    pages: dict[str, list[int]] = {name: [] for name in names}
    for number, text in enumerate(page_texts(pdf), start=1):
        m = re.search(MARK + r"(\d{3})", text)
        if m:
            pages[names[int(m.group(1))]].append(number)
    return pdf, pages


def page_texts(pdf: Path) -> list[str]:
    """The text of each page of pdf (pdftotext; pages split at form feeds)."""
    out = subprocess.run([_need("pdftotext"), "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True,
                         timeout=120).stdout.decode("utf-8")
    return out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """(width, height) in points of each page of pdf (pdfinfo)."""
    out = subprocess.run([_need("pdfinfo"), "-f", "1", "-l", "100000", str(pdf)], check=True, capture_output=True,
                         timeout=120).stdout.decode("utf-8", "replace")
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)]


def pdf_to_png(pdf: Path, png: Path, pages: int = 1, dpi: int = 110, margin: int = 24) -> Path:
    """The first `pages` pages of pdf as one png, each trimmed to what is printed on it (plus a white margin)
    and stacked top to bottom with a grey rule between them."""
    from PIL import Image, ImageChops

    images = []
    with tempfile.TemporaryDirectory(prefix="xlperf-png-") as tmp:
        stem = Path(tmp) / "page"
        subprocess.run([_need("pdftoppm"), "-png", "-r", str(dpi), "-f", "1", "-l", str(pages), str(pdf), str(stem)],
                       check=True, timeout=120)
        for path in sorted(Path(tmp).glob("page*.png")):
            with Image.open(path) as image:
                image = image.convert("RGB")
            box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
            if box:
                left, top, right, bottom = box
                image = image.crop((max(left - margin, 0), max(top - margin, 0),
                                    min(right + margin, image.width), min(bottom + margin, image.height)))
            images.append(image)
    width = max(i.width for i in images)
    rule = 3
    sheet = Image.new("RGB", (width, sum(i.height for i in images) + rule * (len(images) - 1)), "white")
    y = 0
    for n, image in enumerate(images):
        if n:
            sheet.paste(Image.new("RGB", (width, rule), (170, 170, 170)), (0, y))
            y += rule
        sheet.paste(image, (0, y))
        y += image.height
    png.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(png, optimize=True)
    return png


def make_pictures(outdir: Path, dpi: int = 110) -> list[Path]:
    """Run the demo and write the README's pictures into outdir."""
    from typer.testing import CliRunner

    from ..cli import app

    made: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="xlperf-pictures-") as tmp:
        work = Path(tmp)
        result = CliRunner().invoke(app, ["demo", str(work)])
        if result.exit_code != 0:
            raise RuntimeError(f"xlperf demo 失败：{result.output}")
        book = work / "绩效自评示例.xlsx"
        names = load_workbook(book, read_only=True).sheetnames
        for filename, pages, find in PICTURES:
            sheet = find(names)
            pdf = sheet_pdf(book, sheet, work / _safe(filename), fit_rows=True)
            made.append(pdf_to_png(pdf, outdir / filename, pages=pages, dpi=dpi))
    return made


def _safe(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]", "_", name) or "sheet"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m xlperf.tools.pictures",
                                     description="生成 README 中的示意图：运行 xlperf demo，把录入表、附件1、汇总、校验结果打印成 PNG")
    parser.add_argument("outdir", nargs="?", default="docs/img", type=Path, help="图片存放的文件夹（默认 docs/img）")
    parser.add_argument("--dpi", type=int, default=110, help="分辨率（默认 110）")
    args = parser.parse_args(argv)
    try:
        made = make_pictures(args.outdir, dpi=args.dpi)
    except ToolMissing as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    for path in made:
        print(f"已生成 {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
