"""Edit a worksheet the way Excel does when a user inserts, deletes or moves rows and columns.

openpyxl's insert_rows/delete_rows move cells but leave formulas and merged
ranges alone; Excel moves every reference. These helpers do what Excel does,
so the tests can hand the reader a sheet as an accountant's edits leave it.
"""
from __future__ import annotations

import re

from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.cell_range import CellRange

from xlperf.formula.parser import outside_strings

_REF = re.compile(r"(?<![A-Za-z0-9_.])(\$?)([A-Z]{1,3})(\$?)(\d+)(?![A-Za-z0-9_(])")
_ROW_RANGE = re.compile(r"(?<![A-Za-z0-9_.])(\$?[A-Z]{1,3}\$?)(\d+):(\$?[A-Z]{1,3}\$?)(\d+)(?![A-Za-z0-9_(])")


def _rewrite(formula: str, move) -> str:
    return outside_strings(formula, lambda part: _REF.sub(move, part))


def _formulas(ws):
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("=") and cell.data_type == "f":
                yield cell


def _shift_refs(ws, row_fn=lambda r: r, col_fn=lambda c: c) -> None:
    def move(m):
        col, row = column_index_from_string(m.group(2)), int(m.group(4))
        new_row, new_col = row_fn(row), col_fn(col)
        if new_row is None or new_col is None:
            return "#REF!"
        return f"{m.group(1)}{get_column_letter(new_col)}{m.group(3)}{new_row}"

    for cell in _formulas(ws):
        cell.value = _rewrite(cell.value, move)


def _shift_merged(ws, fn) -> None:
    ranges = [CellRange(r.coord) for r in ws.merged_cells.ranges]
    for r in list(ws.merged_cells.ranges):
        ws.merged_cells.remove(r)
    for r in ranges:
        bounds = fn(r.min_col, r.min_row, r.max_col, r.max_row)
        if bounds is not None:
            min_col, min_row, max_col, max_row = bounds
            ws.merged_cells.add(CellRange(min_col=min_col, min_row=min_row, max_col=max_col, max_row=max_row))


def insert_rows(ws, idx: int, amount: int = 1) -> None:
    _shift_refs(ws, row_fn=lambda r: r + amount if r >= idx else r)
    ws.insert_rows(idx, amount)
    # A merged range below moves down; one spanning the insertion point grows.
    _shift_merged(ws, lambda c1, r1, c2, r2: (c1, r1 + amount if r1 >= idx else r1, c2, r2 + amount if r2 >= idx else r2))


def delete_rows(ws, idx: int, amount: int = 1) -> None:
    def fn(r):
        if r < idx:
            return r
        if r < idx + amount:
            return None
        return r - amount

    def single(m):
        row = fn(int(m.group(4)))
        return "#REF!" if row is None else f"{m.group(1)}{m.group(2)}{m.group(3)}{row}"

    def shrink(m):
        # Excel shrinks a range that loses its first or last rows; only a range deleted whole becomes #REF!.
        first, last = int(m.group(2)), int(m.group(4))
        if idx <= first and last < idx + amount:
            return "#REF!"
        new_first = first if first < idx else max(first - amount, idx)
        new_last = last if last < idx else max(last - amount, idx - 1)
        return f"{m.group(1)}{new_first}:{m.group(3)}{new_last}"

    def move(part: str) -> str:
        pieces = []
        last_end = 0
        for m in _ROW_RANGE.finditer(part):  # ranges first, then the single references between them
            pieces += [_REF.sub(single, part[last_end:m.start()]), shrink(m)]
            last_end = m.end()
        return "".join(pieces) + _REF.sub(single, part[last_end:])

    for cell in _formulas(ws):
        cell.value = outside_strings(cell.value, move)
    ws.delete_rows(idx, amount)

    def merged(c1, r1, c2, r2):
        if r1 >= idx + amount:
            return c1, r1 - amount, c2, r2 - amount
        return None if r2 >= idx else (c1, r1, c2, r2)  # a merged range touching the deleted rows: dropped

    _shift_merged(ws, merged)


def insert_cols(ws, idx: int, amount: int = 1) -> None:
    _shift_refs(ws, col_fn=lambda c: c + amount if c >= idx else c)
    ws.insert_cols(idx, amount)
    _shift_merged(ws, lambda c1, r1, c2, r2: (c1 + amount if c1 >= idx else c1, r1, c2 + amount if c2 >= idx else c2, r2))


def swap_cols(ws, a: int, b: int) -> None:
    """Cut column a and paste it where b is, and b where a is (a ≠ b): contents and references move together."""
    _shift_refs(ws, col_fn=lambda c: b if c == a else a if c == b else c)
    swap = {a: b, b: a}
    ranges = [CellRange(r.coord) for r in ws.merged_cells.ranges]
    for r in ranges:
        ws.unmerge_cells(r.coord)  # merged cells cannot be written while they move
    for row in range(1, ws.max_row + 1):
        ca, cb = ws.cell(row, a), ws.cell(row, b)
        va, vb = (ca.value, ca.data_type, ca._style), (cb.value, cb.data_type, cb._style)
        ca.value, cb.value = vb[0], va[0]
        ca.data_type, cb.data_type = vb[1], va[1]
        ca._style, cb._style = vb[2], va[2]
    for r in ranges:
        c0, c1 = (swap.get(r.min_col, r.min_col), swap.get(r.max_col, r.max_col)) if r.min_col == r.max_col else (r.min_col, r.max_col)
        ws.merge_cells(start_row=r.min_row, start_column=c0, end_row=r.max_row, end_column=c1)
