"""The values a workbook file stores for its formula cells (what Excel last calculated).

One streaming pass over each sheet's XML, keeping only cells that carry a
formula; far cheaper than a second openpyxl load with data_only=True.
"""
from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from typing import Iterable

from defusedxml.ElementTree import iterparse, parse
from openpyxl.utils.cell import coordinate_from_string, column_index_from_string

from . import runtime as rt

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _sheet_paths(z: zipfile.ZipFile) -> dict[str, str]:
    workbook = parse(z.open("xl/workbook.xml")).getroot()
    rels = parse(z.open("xl/_rels/workbook.xml.rels")).getroot()
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship")}
    out = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(f"{_REL}id"))
        if target:
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            out[sheet.get("name")] = path
    return out


def _shared_strings(z: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in z.namelist():
        return []
    out = []
    for si in parse(z.open("xl/sharedStrings.xml")).getroot().iter(f"{_MAIN}si"):
        out.append("".join(t.text or "" for t in si.iter(f"{_MAIN}t")))
    return out


_ABSENT = object()


def _typed(kind: str | None, text: str | None, shared: list[str]):
    if kind in ("str", "inlineStr"):
        return text or ""  # a formula whose result is ""
    if not text:
        return _ABSENT  # openpyxl writes an empty <v/> for formulas it never calculated
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "e":
        return rt.ERRORS.get(text, rt.XlError(text))
    if kind == "s":
        i = int(text)
        return shared[i] if i < len(shared) else None
    try:
        return float(text)
    except ValueError:
        return text


def stored_formula_values(wb, path: Path | None, sheets: Iterable[str] | None = None) -> dict[str, dict[tuple[int, int], object]]:
    """cached_formula_values, taken from wb itself when it is a Book (which kept each formula's stored result)."""
    from ..package.book import Book

    if not isinstance(wb, Book):
        return cached_formula_values(path, sheets)
    out: dict[str, dict[tuple[int, int], object]] = {}
    wanted = set(sheets) if sheets is not None else set(wb.sheetnames)
    for ws in wb.worksheets:
        if ws.title not in wanted:
            continue
        values, formulas = {}, 0
        for (r, c), cell in ws._cells.items():
            if cell.data_type != "f":
                continue
            formulas += 1
            if cell.stored is not None:
                value = _typed(cell.stored[0], cell.stored[1], wb.shared_strings)
                if value is not _ABSENT:
                    values[(r, c)] = value
        out[ws.title] = values
        if formulas and not values:
            return {}  # as cached_formula_values: a file with formulas and no stored result has none anywhere
    return out


def cached_formula_values(path: Path, sheets: Iterable[str] | None = None) -> dict[str, dict[tuple[int, int], object]]:
    """{sheet: {(row, col): cached value}} for formula cells; a formula without a stored value is absent."""
    out: dict[str, dict[tuple[int, int], object]] = {}
    from ..workbook_io import open_package  # the decrypted/converted package when the file is encrypted or .xls

    with open_package(path) as z:
        paths = _sheet_paths(z)
        wanted = set(sheets) if sheets is not None else set(paths)
        shared = None
        for name, member in paths.items():
            if name not in wanted or member not in z.namelist():
                continue
            values: dict[tuple[int, int], object] = {}
            formulas = 0
            for _, el in iterparse(z.open(member), events=("end",)):
                if el.tag != f"{_MAIN}c":
                    if el.tag == f"{_MAIN}row":
                        el.clear()
                    continue
                if el.find(f"{_MAIN}f") is not None:
                    formulas += 1
                    v = el.find(f"{_MAIN}v")
                    if v is not None:
                        kind = el.get("t")
                        if kind == "s" and shared is None:
                            shared = _shared_strings(z)
                        value = _typed(kind, v.text, shared or [])
                        if value is not _ABSENT and el.get("r"):
                            letter, row = coordinate_from_string(el.get("r"))
                            values[(row, column_index_from_string(letter))] = value
            out[name] = values
            if formulas and not values:
                # Excel, WPS and LibreOffice store a value for every formula; openpyxl stores none.
                # A sheet with formulas but no stored value means the file has none anywhere.
                return {}
    return out
