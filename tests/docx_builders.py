"""Word 自评报告 built in code (no binary fixtures), from the seed texts as they are.

tests/golden/000_*.txt and 004_*.txt are the text extractions of the two real 山西 reports
(copied unchanged from the project's shared seeds, seeds/000_e50b47335a0e3ea5.txt and
seeds/004_6c8f858e9b49383f.txt). In them a table is a run of tab-indented lines, one line a
cell, rows separated by blank lines; a row with fewer cells than the table is a header whose
cells are merged (a title across the table, or 财政资金 over 小计…县区级 with the other titles
merged down over two rows), and an empty 一级/二级 cell under a filled one is merged with it, as
in the original documents. Everything else is a paragraph; the extractor's "[bookmark: …]"
marks become real Word bookmarks.
"""
from __future__ import annotations

import re
from pathlib import Path

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

GOLDEN = Path(__file__).parent / "golden"
SEED_000 = GOLDEN / "000_e50b47335a0e3ea5.txt"
SEED_004 = GOLDEN / "004_6c8f858e9b49383f.txt"
_BOOKMARK = re.compile(r"\[bookmark: ([^\]]+)\]")
LEVEL_TITLES = ("一级指标", "二级指标")


def seed_text(path: Path) -> str:
    return path.read_text("utf-8")


def _is_cell_line(line: str) -> bool:
    return line.lstrip(" ").startswith("\t")


def blocks(text: str) -> list[tuple[str, object]]:
    """("p", text) and ("table", rows of cell texts) in the order of the text."""
    lines = text.split("\n")
    out: list[tuple[str, object]] = []
    i = 0
    while i < len(lines):
        if not _is_cell_line(lines[i]):
            out.append(("p", lines[i]))
            i += 1
            continue
        j = i  # a run of cell lines and blank lines
        while j < len(lines) and (_is_cell_line(lines[j]) or not lines[j].strip()):
            j += 1
        run = lines[i:j]
        rows, row = [], []
        for line in run:
            if _is_cell_line(line):
                row.append(line.lstrip(" ")[1:].strip())
            elif row:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        if sum(1 for r in rows for c in r if c) >= 2:
            out.append(("table", rows))
        else:
            out += [("p", line) for line in run]
        i = j
    return out


def table_layout(rows: list[list[str]]) -> tuple[list[list[str]], list[tuple[int, int, int, int]]]:
    """The table's grid (every row as wide as the table) and its merged ranges (row0, col0, row1, col1), from 0."""
    width = max(len(r) for r in rows)
    grid: list[list[str]] = []
    merges: list[tuple[int, int, int, int]] = []
    for i, row in enumerate(rows):
        if len(row) == width:
            grid.append(list(row))
        elif len(row) == 1:  # a title across the table
            grid.append(row + [""] * (width - 1))
            merges.append((i, 0, i, width - 1))
        elif i + 1 < len(rows) and len(rows[i + 1]) == width:
            # a two-row header: a title over the next row's empty cell is merged down, one over a run of
            # its filled cells is merged across them (财政资金 over 小计…县区级)
            below = rows[i + 1]
            cells = iter(row)
            wide: list[str] = []
            c = 0
            while c < width:
                title = next(cells, "")
                if below[c]:
                    end = c
                    while end + 1 < width and below[end + 1]:
                        end += 1
                    wide += [title] + [""] * (end - c)
                    if end > c:
                        merges.append((i, c, i, end))
                    c = end + 1
                else:
                    wide.append(title)
                    merges.append((i, c, i + 1, c))
                    c += 1
            grid.append(wide)
        else:  # the extraction dropped trailing empty cells
            grid.append(row + [""] * (width - len(row)))
    header = next((i for i, r in enumerate(grid) if any(t in r for t in LEVEL_TITLES)), None)
    if header is not None:
        for c, title in enumerate(grid[header]):
            if title not in LEVEL_TITLES:
                continue
            start = None
            for r in range(header + 1, len(grid) + 1):
                empty = r < len(grid) and not grid[r][c]
                if empty and start is None and grid[r - 1][c] and r - 1 > header:
                    start = r - 1
                if not empty and start is not None:
                    merges.append((start, c, r - 1, c))
                    start = None
    return grid, merges


def _bookmarked(paragraph, names: list[str]) -> None:
    for k, name in enumerate(names):
        start = OxmlElement("w:bookmarkStart")
        start.set(qn("w:id"), str(k))
        start.set(qn("w:name"), name)
        end = OxmlElement("w:bookmarkEnd")
        end.set(qn("w:id"), str(k))
        paragraph._p.insert(0, end)
        paragraph._p.insert(0, start)


def add_table(document, rows: list[list[str]]):
    grid, merges = table_layout(rows)
    table = document.add_table(rows=len(grid), cols=len(grid[0]))
    table.style = "Table Grid"
    for r, row in enumerate(grid):
        for c, text in enumerate(row):
            if text:
                table.cell(r, c).text = text
    for r0, c0, r1, c1 in merges:
        table.cell(r0, c0).merge(table.cell(r1, c1))
    return table


def document_from_text(text: str):
    document = docx.Document()
    for kind, item in blocks(text):
        if kind == "table":
            add_table(document, item)  # type: ignore[arg-type]
            continue
        line = str(item)
        names = _BOOKMARK.findall(line)
        paragraph = document.add_paragraph(_BOOKMARK.sub("", line))
        if names:
            _bookmarked(paragraph, names)
    if blocks(text)[-1][0] == "table":
        document.add_paragraph("")  # Word always ends a document with a paragraph, after a last table too
    return document


def seed_docx(seed: Path, out: Path, edit=None) -> Path:
    """The seed report as a .docx at out; edit(text) may change the text first (a sentence, a cell)."""
    text = seed_text(seed)
    if edit is not None:
        text = edit(text)
    document_from_text(text).save(out)
    return out


def body_paragraph_number(text: str, fragment: str) -> int:
    """The 段落N of the first paragraph containing fragment, counted as the checker counts:
    paragraphs outside tables that show text, from 1 (computed from the seed text, not from the reader)."""
    n = 0
    for kind, item in blocks(text):
        if kind != "p":
            continue
        line = _BOOKMARK.sub("", str(item))
        if line.strip():
            n += 1
            if fragment in line:
                return n
    raise AssertionError(f"no paragraph contains {fragment!r}")


def table_number(text: str, first_cell: str, nth: int = 1) -> int:
    """The 表N of the nth table whose grid contains a cell `first_cell` (from 1)."""
    seen = 0
    tables = [item for kind, item in blocks(text) if kind == "table"]
    for number, rows in enumerate(tables, start=1):
        if any(cell == first_cell for row in rows for cell in row):
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"no table holds {first_cell!r}")
