"""Generated sheets copied from the scratch openpyxl Workbook onto an xlwings Book.

The file pipeline's writers build 附件1, 汇总 and 校验结果 in the scratch
workbook; `replace_sheets` copies each onto the Book through the xlwings API:
values, number formats, fonts, fills, borders, alignment, merges, column widths,
row heights, links, frozen panes, print area, 汇总's chart and the marker name.
Cells alike in one attribute are written as rectangles, to keep the number of
calls small (on Excel on the web each becomes an Office.js call).
What xlwings cannot set is listed in the README (underline, page setup but the
print area, auto filter, the chart's data labels; on desktop Excel frozen panes).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Hashable, Iterator

from openpyxl.chart import BarChart
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries
from openpyxl.utils.cell import absolute_coordinate, coordinate_to_tuple
from openpyxl.worksheet.worksheet import Worksheet

from .. import layout as L
from ..generated import marker_formula
from ..writers.cells import TEXT

Box = tuple[int, int, int, int]  # first row, first column, last row, last column
# Points per unit of openpyxl's column width: 7 pixels per character of the default font, 0.75 point per pixel.
POINTS_PER_CHARACTER = 5.25
CM = 28.3465  # points per centimetre (openpyxl sizes charts in cm)
HORIZONTAL = {"centerContinuous": "center_across_selection"}  # openpyxl → xlwings where the names differ
LINE_STYLES = {  # openpyxl border style → (xlwings line_style, weight)
    "thin": ("continuous", "thin"), "medium": ("continuous", "medium"), "thick": ("continuous", "thick"),
    "hair": ("continuous", "hairline"), "dashed": ("dash", "thin"), "dotted": ("dot", "thin"),
    "double": ("double", "thick"), "dashDot": ("dash_dot", "thin"), "dashDotDot": ("dash_dot_dot", "thin"),
    "mediumDashed": ("dash", "medium"), "mediumDashDot": ("dash_dot", "medium"),
    "mediumDashDotDot": ("dash_dot_dot", "medium"), "slantDashDot": ("slant_dash_dot", "medium"),
}


def replace_sheets(book, wb, delete: list[str], add: list[str]) -> None:
    """Delete the Book's sheets named in delete, then append wb's sheets named in add, in that order."""
    with screen_paused(book):
        for name in delete:
            book.sheets[name].delete()
        for name in add:
            write_sheet(book, wb[name])


@contextmanager
def screen_paused(book) -> Iterator[None]:
    """Desktop Excel does not redraw for each of the thousands of formatting calls; as it was afterwards.

    (Excel on the web batches the actions anyway: nothing to do there.)
    """
    if _remote(book):
        yield
        return
    app = book.app
    before = app.screen_updating
    app.screen_updating = False
    try:
        yield
    finally:
        app.screen_updating = before


def write_sheet(book, ws: Worksheet) -> None:
    xs = book.sheets.add(ws.title, after=book.sheets[len(book.sheets) - 1])
    xs.names.add(L.GENERATED_MARKER, marker_formula(ws.title))
    for fmt, box in rectangles(ws, lambda c: None if c.number_format == "General" else c.number_format):
        _range(xs, box).number_format = fmt
    cells = ws._cells
    xs.range((1, 1), (ws.max_row, ws.max_column)).value = [
        [excel_value(cells[(r, c)].value, cells[(r, c)].number_format) if (r, c) in cells else None
         for c in range(1, ws.max_column + 1)]
        for r in range(1, ws.max_row + 1)]
    _fonts(ws, xs)
    for color, box in rectangles(ws, _fill):
        _range(xs, box).color = color
    _borders(ws, xs)
    for value, box in rectangles(ws, lambda c: c.alignment.horizontal if c.has_style else None):
        _range(xs, box).horizontal_alignment = HORIZONTAL.get(value, value)
    for value, box in rectangles(ws, lambda c: c.alignment.vertical if c.has_style else None):
        _range(xs, box).vertical_alignment = value
    for value, box in rectangles(ws, lambda c: True if c.has_style and c.alignment.wrap_text else None):
        _range(xs, box).wrap_text = value
    for merged in ws.merged_cells.ranges:
        _range(xs, (merged.min_row, merged.min_col, merged.max_row, merged.max_col)).merge()
    _sizes(ws, xs, _remote(book))
    for cell in [c for c in cells.values() if c.hyperlink is not None and c.hyperlink.location]:
        # textToDisplay is shown as it is (not typed in): no apostrophe.
        xs.range(cell.coordinate).add_hyperlink("#" + cell.hyperlink.location, "" if cell.value is None else str(cell.value), "")
    if ws.freeze_panes and frozen_range(ws.freeze_panes) and _has_freeze_panes(xs):
        xs.freeze_panes.freeze_at(frozen_range(ws.freeze_panes))
    if ws._print_area:
        xs.page_setup.print_area = ",".join(absolute_coordinate(str(r)) for r in ws._print_area.ranges)
    for chart in ws._charts:
        _chart(xs, chart)


def excel_value(v, number_format: str = "General"):
    """What to send for a cell value: text with a leading apostrophe, so Excel never reads
    "=1+1", "-5", "95%" or "2023-1-1" as a formula, number or date.

    Not in a Text-formatted cell (set before the values): that format already keeps text as
    typed, and there the apostrophe would be kept too, as a visible character.
    """
    if isinstance(v, str) and number_format != TEXT:
        return "'" + v
    return v


def frozen_range(top_left: str) -> str | None:
    """openpyxl's freeze_panes (the first cell that scrolls, "A2") as xlwings' frozen range ("1:1")."""
    rows, columns = (n - 1 for n in coordinate_to_tuple(top_left))
    if rows and columns:
        return f"A1:{get_column_letter(columns)}{rows}"
    if rows:
        return f"1:{rows}"
    return f"A:{get_column_letter(columns)}" if columns else None


def _has_freeze_panes(xs) -> bool:
    """Excel on the web has them; xlwings' desktop engines (Windows, macOS) have no such call."""
    return hasattr(xs.impl, "freeze_panes")


def _remote(book) -> bool:
    """Excel on the web: sizes in points (desktop Excel takes column widths in characters)."""
    return book.app.engine.type == "remote"


def _range(xs, box: Box):
    r1, c1, r2, c2 = box
    return xs.range((r1, c1), (r2, c2))


def rectangles(ws: Worksheet, key: Callable[[object], Hashable | None]) -> Iterator[tuple[Hashable, Box]]:
    """(key, box) covering every cell of ws whose key is not None; each box holds one key only.

    Runs along each row, stacked over consecutive rows with the same columns.
    """
    cells: dict[Hashable, dict[int, list[int]]] = {}
    for (r, c), cell in sorted(ws._cells.items()):
        k = key(cell)
        if k is not None:
            cells.setdefault(k, {}).setdefault(r, []).append(c)
    for k, rows in cells.items():
        open_boxes: dict[tuple[int, int], list[int]] = {}  # (first column, last column) → [first row, last row]
        for r in sorted(rows):
            for span in _runs(rows[r]):
                box = open_boxes.get(span)
                if box is not None and box[1] == r - 1:
                    box[1] = r
                    continue
                if box is not None:
                    yield k, (box[0], span[0], box[1], span[1])
                open_boxes[span] = [r, r]
        for span, (r1, r2) in open_boxes.items():
            yield k, (r1, span[0], r2, span[1])


def _runs(columns: list[int]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for c in columns:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return [(a, b) for a, b in runs]


def _hex(color) -> str | None:
    rgb = getattr(color, "rgb", None)
    return "#" + rgb[-6:] if isinstance(rgb, str) and len(rgb) in (6, 8) else None


def _fill(cell) -> str | None:
    return _hex(cell.fill.fgColor) if cell.has_style and cell.fill.fill_type == "solid" else None


def _fonts(ws: Worksheet, xs) -> None:
    def font(cell):
        if not cell.has_style:
            return None
        f = cell.font
        return f.name, f.sz, bool(f.b), bool(f.i), _hex(f.color)

    for key, box in rectangles(ws, font):
        target = _range(xs, box).font
        for attribute, value in zip(("name", "size", "bold", "italic", "color"), key):
            if value is not None:
                setattr(target, attribute, value)


def _side(side) -> tuple[str, str, str] | None:
    if side is None or side.style not in LINE_STYLES:
        return None
    return (*LINE_STYLES[side.style], _hex(side.color) or "#000000")


def _borders(ws: Worksheet, xs) -> None:
    def sides(cell):
        if not cell.has_style:
            return None
        b = cell.border
        found = tuple(_side(s) for s in (b.left, b.right, b.top, b.bottom))
        return found if any(found) else None

    for (left, right, top, bottom), box in rectangles(ws, sides):
        if left == right == top == bottom:  # the same line all round every cell: one call for the box
            _set_border(_range(xs, box), "all", left)
            continue
        for r in range(box[0], box[2] + 1):  # anything else cell by cell
            for c in range(box[1], box[3] + 1):
                rng = xs.range((r, c))
                for which, side in zip(("edge_left", "edge_right", "edge_top", "edge_bottom"), (left, right, top, bottom)):
                    if side:
                        _set_border(rng, which, side)


def _set_border(rng, which: str, side: tuple[str, str, str]) -> None:
    line_style, weight, color = side
    rng.borders.set(which, line_style=line_style, weight=weight, color=color)


def _points(width: float, remote: bool) -> float:
    return round(width * POINTS_PER_CHARACTER, 2) if remote else width


def _sizes(ws: Worksheet, xs, remote: bool) -> None:
    widths = {column_index_from_string(letter): dim.width for letter, dim in ws.column_dimensions.items()
              if dim.width and dim.customWidth}
    for c, width in sorted(widths.items()):
        xs.range((1, c)).column_width = _points(width, remote)
    runs: list[list] = []  # [first row, last row, height]: consecutive rows of one height in one call
    for r, dim in sorted(ws.row_dimensions.items()):
        if dim.height is None:
            continue
        if runs and runs[-1][1] == r - 1 and runs[-1][2] == dim.height:
            runs[-1][1] = r
        else:
            runs.append([r, r, dim.height])
    for first, last, height in runs:
        xs.range((first, 1), (last, 1)).row_height = height


def _chart(xs, chart) -> None:
    """汇总's column chart of 总得分 (the only chart the writers make)."""
    if not isinstance(chart, BarChart) or not chart.series:
        return
    series = chart.series[0]
    values = _address(series.val.numRef.f)
    categories = _address((series.cat.strRef or series.cat.numRef).f) if series.cat else None
    anchor = chart.anchor if isinstance(chart.anchor, str) else \
        f"{get_column_letter(chart.anchor._from.col + 1)}{chart.anchor._from.row + 1}"
    xl_chart = xs.charts.add(width=chart.width * CM, height=chart.height * CM, chart_type="column_clustered",
                             source=xs.range(values), anchor=xs.range(anchor))
    if categories:
        xl_chart.set_x_axis_values(xs.range(categories))
    xl_chart.title = _title(chart.title)
    axis = chart.y_axis
    xl_chart.value_axis.set(title=_title(axis.title), minimum_scale=axis.scaling.min, maximum_scale=axis.scaling.max,
                            major_unit=axis.majorUnit)
    xl_chart.legend.visible = chart.legend is not None


def _address(reference: str) -> str:
    """'汇总'!$B$1:$B$4 → B1:B4."""
    min_col, min_row, max_col, max_row = range_boundaries(reference.split("!")[-1].replace("$", ""))
    return f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row}"


def _title(title) -> str | None:
    """The plain text of an openpyxl chart or axis title."""
    if title is None:
        return None
    rich = title.tx.rich if title.tx is not None else None
    if rich is None:
        return None
    return "".join(run.t for p in rich.p for run in (p.r or []))
