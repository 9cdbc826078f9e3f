"""Which sheets xlperf generated (汇总, 校验结果, 附件1-…): the one reader and writer of that record.

Each generated sheet carries a sheet-scoped defined name (layout.GENERATED_MARKER) whose value is its
own name ('="汇总"'): the marker goes wherever its sheet goes, and a user's sheet that happens to be
called 汇总 has none. Workbooks of older versions kept a workbook-wide list in a custom document
property (layout.GENERATED_PROPERTY) instead; it is read when there is no marker, and dropped by recalc.

Read from an openpyxl Workbook (`generated_sheet_names`) or straight from the package without loading
any sheet (`generated_in_package`).
"""
from __future__ import annotations

import json
import re

from openpyxl.workbook.defined_name import DefinedName

from . import layout as L


def marker_formula(sheet: str) -> str:
    """The marker's definition on a generated sheet: its own name as a text constant, '="汇总"'."""
    return '="' + sheet.replace('"', '""') + '"'


def marker_sheet_name(definition: str | None) -> str | None:
    """The sheet name a marker definition holds ('="汇总"' or '"汇总"'); None for anything else."""
    m = re.fullmatch(r'=?\s*"((?:[^"]|"")*)"\s*', definition or "")
    return m.group(1).replace('""', '"') if m else None


def _from_list(value) -> list[str]:
    try:
        names = json.loads(value)
    except (TypeError, ValueError):
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def generated_sheet_names(wb) -> list[str]:
    """The sheets of wb (openpyxl) xlperf generated: those whose marker names them; without any marker,
    the older workbook-wide list."""
    markers = {ws.title: marker_sheet_name(ws.defined_names[L.GENERATED_MARKER].attr_text)
               for ws in wb.worksheets if L.GENERATED_MARKER in getattr(ws, "defined_names", {})}
    if markers:
        return [title for title, named in markers.items() if named == title]
    for prop in getattr(wb.custom_doc_props, "props", []):
        if prop.name == L.GENERATED_PROPERTY:
            return _from_list(prop.value)
    return []


def generated_in_package(package) -> list[str]:
    """The same, read from an xlperf.package.opc.Package's XML (no sheet is parsed)."""
    from .package.graft import custom_property, local_names

    markers = {title: marker_sheet_name(text) for title, text in local_names(package, L.GENERATED_MARKER)}
    if markers:
        return [title for title, named in markers.items() if named == title]
    value = custom_property(package, L.GENERATED_PROPERTY)
    return _from_list(value) if value is not None else []


def record_generated(wb, names: list[str]) -> None:
    """Mark each generated sheet of wb with its own name; drop the older workbook-wide list.

    The list (layout.GENERATED_PROPERTY) outlived its sheets: after a user deleted xlperf's
    sheets and made a 汇总 of their own, it still named 汇总 and the user's sheet was replaced.
    """
    props = wb.custom_doc_props
    for prop in list(props.props):
        if prop.name == L.GENERATED_PROPERTY:
            props.props.remove(prop)
    for name in names:
        wb[name].defined_names[L.GENERATED_MARKER] = DefinedName(L.GENERATED_MARKER, attr_text=marker_formula(name)[1:])
