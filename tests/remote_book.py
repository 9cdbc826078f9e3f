"""xlwings' remote book in tests: the payload an Office.js client sends, and its actions applied back.

`payload_from_openpyxl(wb, name=...)` builds the JSON that xlwings Server's
Office.js client sends for wb (values as Excel shows them: formulas evaluated by
xlperf's formula engine, which the tests check against LibreOffice; names;
sheets). `apply_actions(wb, actions)` does to wb what Excel does with the actions
`book.json()` returns, with Office.js' semantics; an action or a value whose
effect is not modelled here raises (a test then fails loudly, never silently).
"""
from __future__ import annotations

import datetime as dt
import os
import re
from copy import copy
from decimal import Decimal

# xlwings reads its license once, when first imported: the remote book is xlwings PRO,
# free for noncommercial use and checked offline with this key.
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
import xlwings  # noqa: E402
from openpyxl.chart import BarChart, Reference  # noqa: E402
from openpyxl.styles import PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.hyperlink import Hyperlink

from xlperf.formula import runtime as rt
from xlperf.formula.book import FormulaBook, formula_of

EXCEL_MAX_ROWS = 1048576
POINTS_PER_CHARACTER = 7 * 0.75  # Office.js sizes columns in points: 7 pixels per character, 0.75 point per pixel
CM = 28.3465


# ---- the payload ---------------------------------------------------------------------------
def payload_from_openpyxl(wb, name: str = "工作簿.xlsx") -> dict:
    """What the Office.js client of xlwings Server sends for wb (client "Office.js", every sheet's values)."""
    book = FormulaBook(wb)
    sheets = [_sheet_payload(book, ws) for ws in wb.worksheets]
    return {
        "client": "Office.js",
        "version": xlwings.__version__,
        "book": {"name": name, "active_sheet_index": wb.worksheets.index(wb.active) if wb.active in wb.worksheets else 0,
                 "selection": "A1", "calculation": "Automatic"},
        "names": _names(wb),
        "sheets": sheets,
    }


def _sheet_payload(book: FormulaBook, ws) -> dict:
    shown = {}
    for (r, c), cell in ws._cells.items():
        if formula_of(cell) is not None:
            v = _json_value(book.value(ws.title, r, c))
        else:
            v = _json_value(cell.value)
        if v != "":
            shown[(r, c)] = v
    # Office.js sends the values of A1 to the last cell of the values-only used range.
    rows = max((r for r, _ in shown), default=0)
    columns = max((c for _, c in shown), default=0)
    values = [[shown.get((r, c), "") for c in range(1, columns + 1)] for r in range(1, rows + 1)] or [[""]]
    used = None
    if shown:
        first_row, first_col = min(r for r, _ in shown), min(c for _, c in shown)
        used = f"{get_column_letter(first_col)}{first_row}:{get_column_letter(columns)}{rows}"
    return {
        "name": ws.title,
        "visibility": {"visible": "Visible", "hidden": "Hidden", "veryHidden": "VeryHidden"}[ws.sheet_state],
        "show_gridlines": ws.sheet_view.showGridLines is not False,
        "print_area": ",".join(str(r) for r in ws._print_area.ranges) if ws._print_area else None,
        "notes": [], "notes_supported": True,
        "used_range_address": used,
        "used_range_row_count": rows, "used_range_column_count": columns,
        "values": values,
        "pictures": [], "shapes": [], "charts": [], "tables": [], "pivot_tables": [],
    }


def _json_value(v):
    """A cell value as Office.js puts it in JSON: "" for blank, error codes as text, dates as ISO text."""
    if v is None:
        return ""
    if isinstance(v, rt.XlError):
        return v.code
    if isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, dt.date):  # Date.toISOString(): "2024-01-05T00:00:00.000Z" (xlwings drops the "Z")
        moment = v if isinstance(v, dt.datetime) else dt.datetime.combine(v, dt.time())
        return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    if isinstance(v, (dt.time, dt.timedelta)):
        v = to_excel(v)
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return int(v)  # JavaScript has one number type: 10.0 arrives as 10
    return v


_REF = re.compile(r"(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?")


def _names(wb) -> list[dict]:
    out = []
    scopes = [(None, wb.defined_names)] + [(ws, ws.defined_names) for ws in wb.worksheets]
    for ws, names in scopes:
        for name, defn in names.items():
            text = defn.attr_text or ""
            sheet_index = address = None
            m = _REF.fullmatch(text)
            if m and (m.group(1) or m.group(2)).replace("''", "'") in wb.sheetnames:
                sheet_index = wb.sheetnames.index((m.group(1) or m.group(2)).replace("''", "'"))
                address = f"{m.group(3)}{m.group(4)}" + (f":{m.group(5)}{m.group(6)}" if m.group(5) else "")
            out.append({
                "name": name, "refers_to": "=" + text, "type": "Range" if address else "String",
                "sheet_index": sheet_index, "address": address,
                "scope_sheet_name": ws.title if ws is not None else None,
                "scope_sheet_index": wb.worksheets.index(ws) if ws is not None else None,
                "book_scope": ws is None,
            })
    return out


# ---- the actions ---------------------------------------------------------------------------
def apply_actions(wb, actions) -> None:
    """Do to wb what Excel does with xlwings' remote actions (a dict with "actions" or the list itself)."""
    if isinstance(actions, dict):
        actions = actions["actions"]
    if len(wb.worksheets) != len(wb._sheets):
        raise NotImplementedError("chart sheets are not modelled: Office.js does not list them")
    for action in actions:
        handler = _HANDLERS.get(action["func"])
        if handler is None:
            raise NotImplementedError(f"remote action {action['func']!r} is not modelled in tests/remote_book.py")
        handler(wb, action)


def _sheet(wb, action):
    return wb.worksheets[action["sheet_position"]]


def _cells(wb, action):
    ws = _sheet(wb, action)
    r0, c0 = action["start_row"] + 1, action["start_column"] + 1
    for r in range(r0, r0 + action["row_count"]):
        for c in range(c0, c0 + action["column_count"]):
            yield ws.cell(r, c)


def _box(action) -> tuple[int, int, int, int]:
    r1, c1 = action["start_row"] + 1, action["start_column"] + 1
    return r1, c1, r1 + action["row_count"] - 1, c1 + action["column_count"] - 1


def _add_sheet(wb, action):
    position, name = action["args"]
    if name.lower() in {n.lower() for n in wb.sheetnames}:
        raise ValueError(f"Excel refuses a second sheet named {name!r}")
    wb.create_sheet(name, index=position)


def _delete_sheet(wb, action):
    del wb[_sheet(wb, action).title]


_TYPED = re.compile(r"[=+\-@]|\s*[-+]?(\d[\d,]*\.?\d*|\.\d+)(e[-+]?\d+)?\s*%?\s*$|\s*\d{1,4}[-/年]\d{1,2}|\s*(true|false)\s*$",
                    re.IGNORECASE)


def _set_value(cell, v) -> None:
    """Office.js' range.values: like typing. A leading apostrophe keeps the rest as text."""
    if v is None or v == "":
        cell.value = None
    elif isinstance(v, (bool, int, float)):
        cell.value = v
    elif isinstance(v, str) and cell.number_format == "@":  # a Text cell keeps what it gets, apostrophe and all
        cell.value = v
        cell.data_type = "s"
    elif isinstance(v, str) and v.startswith("'"):
        cell.value = v[1:] or None
        if cell.value is not None:
            cell.data_type = "s"
    elif isinstance(v, str) and not _TYPED.match(v):
        cell.value = v
        cell.data_type = "s"
    else:
        raise ValueError(f"Excel would not keep {v!r} as sent (formula, number or date): not modelled")


def _set_values(wb, action):
    ws = _sheet(wb, action)
    r0, c0 = action["start_row"] + 1, action["start_column"] + 1
    for i, row in enumerate(action["values"]):
        for j, v in enumerate(row):
            _set_value(ws.cell(r0 + i, c0 + j), v)


def _number_format(wb, action):
    for cell in _cells(wb, action):
        cell.number_format = action["args"][0]


def _merge(wb, action):
    r1, c1, r2, c2 = _box(action)
    ws = _sheet(wb, action)
    rows = [(r, r) for r in range(r1, r2 + 1)] if action["args"][0] else [(r1, r2)]
    for a, b in rows:
        if (a, c1) != (b, c2):
            ws.merge_cells(start_row=a, start_column=c1, end_row=b, end_column=c2)


def _unmerge(wb, action):
    r1, c1, r2, c2 = _box(action)
    ws = _sheet(wb, action)
    for mr in list(ws.merged_cells.ranges):
        if mr.min_row >= r1 and mr.max_row <= r2 and mr.min_col >= c1 and mr.max_col <= c2:
            ws.unmerge_cells(mr.coord)


def _column_width(wb, action):
    r1, c1, r2, c2 = _box(action)
    if action["row_count"] != EXCEL_MAX_ROWS and (r1, r2) != (1, 1):
        raise NotImplementedError("column widths are set through a cell or a whole column")
    for c in range(c1, c2 + 1):
        _sheet(wb, action).column_dimensions[get_column_letter(c)].width = action["args"][0] / POINTS_PER_CHARACTER


def _row_height(wb, action):
    r1, _, r2, _ = _box(action)
    for r in range(r1, r2 + 1):
        _sheet(wb, action).row_dimensions[r].height = float(action["args"][0])


def _restyle(cells, part: str, change) -> None:
    """cell.<part> (font, border, fill, alignment) = change(a copy of it, extra) for (cell, extra) in cells.

    Cells sharing the old style part and extra are changed once (openpyxl's style copies are slow).
    """
    id_attr = {"font": "fontId", "border": "borderId", "fill": "fillId", "alignment": "alignmentId"}[part]
    done: dict = {}
    for cell, extra in cells:
        if cell._style is None:  # a new cell has no style record yet
            cell._style = StyleArray()
        key = (getattr(cell._style, id_attr), extra)
        if key in done:
            setattr(cell._style, id_attr, done[key])
            continue
        setattr(cell, part, change(copy(getattr(cell, part)), extra))
        done[key] = getattr(cell._style, id_attr)


def _font(wb, action):
    prop, value = action["args"]
    key = {"name": "name", "size": "sz", "bold": "b", "italic": "i", "color": "color"}.get(prop)
    if key is None:
        raise NotImplementedError(f"font property {prop!r}")
    if key == "color":
        value = "FF" + value.lstrip("#").upper()

    def change(font, _):
        setattr(font, key, value)
        return font

    _restyle(((cell, None) for cell in _cells(wb, action)), "font", change)


_STYLES = {("continuous", "thin"): "thin", ("continuous", "medium"): "medium", ("continuous", "thick"): "thick",
           ("continuous", "hairline"): "hair", ("dash", "thin"): "dashed", ("dot", "thin"): "dotted",
           ("double", "thick"): "double", ("dash", "medium"): "mediumDashed"}
_ATTRS = {v: k for k, v in _STYLES.items()}


def _border(wb, action):
    side_name, attribute, value = action["args"]
    r1, c1, r2, c2 = _box(action)
    targets = {
        "edge_top": lambda r, c: ["top"] if r == r1 else [],
        "edge_bottom": lambda r, c: ["bottom"] if r == r2 else [],
        "edge_left": lambda r, c: ["left"] if c == c1 else [],
        "edge_right": lambda r, c: ["right"] if c == c2 else [],
        "inside_vertical": lambda r, c: (["right"] if c < c2 else []) + (["left"] if c > c1 else []),
        "inside_horizontal": lambda r, c: (["bottom"] if r < r2 else []) + (["top"] if r > r1 else []),
    }.get(side_name)
    if targets is None:
        raise NotImplementedError(f"border side {side_name!r}")
    def change(border, sides):
        for name in sides:
            setattr(border, name, _changed_side(getattr(border, name), attribute, value))
        return border

    cells = ((cell, tuple(targets(cell.row, cell.column))) for cell in _cells(wb, action))
    _restyle(((cell, sides) for cell, sides in cells if sides), "border", change)


def _changed_side(side: Side | None, attribute: str, value) -> Side:
    """Excel's rule: giving a missing line a colour or a weight draws a continuous one."""
    line_style, weight = _ATTRS.get(side.style if side is not None else None, (None, "thin"))
    color = side.color.rgb[-6:] if side is not None and side.color is not None and side.color.rgb else None
    if attribute == "line_style":
        line_style = None if value in (None, "none") else value
    elif attribute == "weight":
        weight, line_style = value, line_style or "continuous"
    elif attribute == "color":
        color, line_style = value.lstrip("#").upper(), line_style or "continuous"
    else:
        raise NotImplementedError(f"border attribute {attribute!r}")
    if line_style is None:
        return Side(style=None)
    style = _STYLES.get((line_style, weight))
    if style is None:
        raise NotImplementedError(f"border {line_style} {weight}")
    return Side(style=style, color=color)


def _range_color(wb, action):
    color = action["args"][0]
    fill = PatternFill() if color is None else PatternFill("solid", fgColor=color.lstrip("#").upper())
    _restyle(((cell, None) for cell in _cells(wb, action)), "fill", lambda old, _: fill)


def _alignment(attribute: str, values: dict):
    def apply(wb, action):
        value = values[action["args"][0]] if values else bool(action["args"][0])

        def change(alignment, _):
            setattr(alignment, attribute, value)
            return alignment

        _restyle(((cell, None) for cell in _cells(wb, action)), "alignment", change)
    return apply


def _hyperlink(wb, action):
    address, text, _tip = action["args"]
    for cell in _cells(wb, action):
        cell.value = text or None  # Office.js shows textToDisplay in the cell, as it is
        cell.data_type = "s" if text else cell.data_type
        if address.startswith("#"):
            cell.hyperlink = Hyperlink(ref=cell.coordinate, location=address[1:])
        else:
            cell.hyperlink = address


def _names_add(wb, action):
    name, refers_to = action["args"]
    scope = wb.defined_names if action["sheet_position"] is None else _sheet(wb, action).defined_names
    if name in scope:
        raise ValueError(f"Excel refuses a second name {name!r} in one scope")
    scope[name] = DefinedName(name, attr_text=refers_to[1:] if refers_to.startswith("=") else refers_to)


def _name_delete(wb, action):
    _full, _refers_to, name, _sheet_index, book_scope, scope_sheet_index = action["args"]
    scope = wb.defined_names if book_scope else wb.worksheets[scope_sheet_index].defined_names
    del scope[name]


def _freeze(wb, action):
    """freezeAt(range): the range is the frozen top-left pane ("1:1" freezes row 1)."""
    address = action["args"][0].replace("$", "")
    ws = _sheet(wb, action)
    if re.fullmatch(r"\d+:\d+", address):
        ws.freeze_panes = f"A{int(address.split(':')[1]) + 1}"
    elif re.fullmatch(r"[A-Z]+:[A-Z]+", address):
        ws.freeze_panes = f"{get_column_letter(range_boundaries(address)[2] + 1)}1"
    else:
        _, _, max_col, max_row = range_boundaries(address)
        ws.freeze_panes = f"{get_column_letter(max_col + 1)}{max_row + 1}"


def _print_area(wb, action):
    _sheet(wb, action).print_area = action["args"][0]


def _reference(wb, sheet: str, address: str) -> Reference:
    min_col, min_row, max_col, max_row = range_boundaries(address.replace("$", ""))
    return Reference(wb[sheet], min_col=min_col, min_row=min_row, max_col=max_col, max_row=max_row)


def _add_chart(wb, action):
    name, chart_type, sheet, address, _left, _top, width, height, plot_by, anchor, _style = action["args"]
    if chart_type != "ColumnClustered" or plot_by not in (None, "Columns"):
        raise NotImplementedError(f"chart {chart_type} {plot_by}")
    chart = BarChart()
    chart.type = "col"
    ref = _reference(wb, sheet, address)
    header = wb[sheet].cell(ref.min_row, ref.min_col).value
    chart.add_data(ref, titles_from_data=isinstance(header, str))
    chart.width, chart.height = width / CM, height / CM
    _sheet(wb, action).add_chart(chart, (anchor or "$A$1").replace("$", ""))


def _chart(wb, action):
    return _sheet(wb, action)._charts[action["args"][0]]


def _chart_x_values(wb, action):
    _, sheet, address = action["args"]
    _chart(wb, action).set_categories(_reference(wb, sheet, address))


def _chart_title(wb, action):
    _chart(wb, action).title = action["args"][1]


def _chart_axis(wb, action):
    _, which, attributes = action["args"]
    axis = {"value": "y_axis", "category": "x_axis"}[which]
    axis = getattr(_chart(wb, action), axis)
    for key, value in attributes.items():
        if key == "title":
            axis.title = value
        elif key == "minimum_scale":
            axis.scaling.min = value
        elif key == "maximum_scale":
            axis.scaling.max = value
        elif key == "major_unit":
            axis.majorUnit = value
        else:
            raise NotImplementedError(f"chart axis attribute {key!r}")


def _chart_legend(wb, action):
    _, attribute, value = action["args"]
    if attribute != "visible":
        raise NotImplementedError(f"chart legend attribute {attribute!r}")
    chart = _chart(wb, action)
    if not value:
        chart.legend = None


def _nothing(wb, action):
    """Actions that change nothing in the file: a dialog, the screen, the active sheet."""


_HANDLERS = {
    "addSheet": _add_sheet,
    "sheetDelete": _delete_sheet,
    "setValues": _set_values,
    "setNumberFormat": _number_format,
    "rangeMerge": _merge,
    "rangeUnmerge": _unmerge,
    "setColumnWidth": _column_width,
    "setRowHeight": _row_height,
    "setFontProperty": _font,
    "setBorderProperty": _border,
    "setRangeColor": _range_color,
    "setHorizontalAlignment": _alignment("horizontal", {
        "General": "general", "Left": "left", "Center": "center", "Right": "right", "Fill": "fill",
        "Justify": "justify", "CenterAcrossSelection": "centerContinuous", "Distributed": "distributed"}),
    "setVerticalAlignment": _alignment("vertical", {
        "Top": "top", "Center": "center", "Bottom": "bottom", "Justify": "justify", "Distributed": "distributed"}),
    "setWrapText": _alignment("wrap_text", {}),
    "addHyperlink": _hyperlink,
    "namesAdd": _names_add,
    "nameDelete": _name_delete,
    "freezePaneAtRange": _freeze,
    "setPrintArea": _print_area,
    "addChart": _add_chart,
    "setChartXAxisValues": _chart_x_values,
    "setChartTitle": _chart_title,
    "setChartAxis": _chart_axis,
    "setChartLegend": _chart_legend,
    "alert": _nothing,
    "activateSheet": _nothing,
    "setScreenUpdating": _nothing,
}
