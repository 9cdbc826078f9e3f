"""Bring the cell formats of grafted sheets into the workbook's own xl/styles.xml by appending.

A grafted sheet's cells name formats by index into the styles part of the package that produced
them (openpyxl's). Every index the user's sheets use must keep meaning what it meant, so nothing
in the workbook's lists is changed or reordered: each format a grafted sheet needs is looked up
(same XML, compared by content) and appended only when the workbook does not have it yet, so a
second recalc appends nothing. Returns the index maps the sheets' s=/style=/dxfId= are rewritten by.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from lxml import etree

from .opc import MAIN_NS

_M = f"{{{MAIN_NS}}}"
# The styleSheet's children in schema order (where a missing list is put).
_ORDER = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs", "tableStyles",
          "colors", "extLst")
_CUSTOM_FORMATS = 164  # numFmtId below this are built in


@dataclass
class StyleMap:
    xf: dict[int, int] = field(default_factory=dict)  # cellXfs index in the producer → in the workbook
    dxf: dict[int, int] = field(default_factory=dict)


_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})
# Attributes whose value is the default, written by one program and left out by another (Excel writes <b/>,
# openpyxl <b val="1"/>): equal formats must compare equal, or every re-save by Excel appends them again.
_DEFAULTS = {
    **{(tag, "val"): _TRUE for tag in ("b", "i", "strike", "outline", "shadow", "condense", "extend")},
    ("u", "val"): frozenset({"single"}),
    ("xf", "pivotButton"): _FALSE, ("xf", "quotePrefix"): _FALSE,
}


def content_key(el: etree._Element) -> tuple:
    """An element by its content: local name, attributes (defaults left out), text and children, whatever the prefixes."""
    name = etree.QName(el).localname
    attrs = tuple(sorted((etree.QName(k).localname, v) for k, v in el.attrib.items()
                         if v not in _DEFAULTS.get((name, etree.QName(k).localname), ())))
    return (name, attrs, (el.text or "").strip(), tuple(content_key(child) for child in el if isinstance(child.tag, str)))


def _list(root: etree._Element, name: str) -> etree._Element:
    """The styleSheet's list `name`, made empty in its schema place when missing."""
    found = root.find(_M + name)
    if found is not None:
        return found
    el = etree.Element(_M + name)
    el.set("count", "0")
    later = set(_ORDER[_ORDER.index(name) + 1:])
    for i, child in enumerate(root):
        if isinstance(child.tag, str) and etree.QName(child).localname in later:
            root.insert(i, el)
            return el
    root.append(el)
    return el


def _items(lst: etree._Element, tag: str) -> list[etree._Element]:
    return [el for el in lst if isinstance(el.tag, str) and etree.QName(el).localname == tag]


def _recount(lst: etree._Element, tag: str) -> None:
    lst.set("count", str(len(_items(lst, tag))))


class _Appender:
    """Append-or-find for one list (fonts, fills, borders, cellXfs, dxfs) of the workbook's styles."""

    def __init__(self, root: etree._Element, name: str, tag: str):
        self.created = root.find(_M + name) is None
        self.list, self.tag = _list(root, name), tag
        self.index = {}
        for i, el in enumerate(_items(self.list, tag)):
            self.index.setdefault(content_key(el), i)
        self.added = False

    def place(self, el: etree._Element) -> int:
        k = content_key(el)
        if k in self.index:
            return self.index[k]
        i = len(_items(self.list, self.tag))
        self.list.append(copy.deepcopy(el))
        self.index[k] = i
        self.added = True
        _recount(self.list, self.tag)
        return i


def used_styles(sheet: etree._Element) -> tuple[set[int], set[int]]:
    """The cellXfs and dxfs indices a worksheet's XML uses."""
    xf = {int(el.get("s")) for el in sheet.iter(_M + "c", _M + "row") if (el.get("s") or "").isdigit()}
    xf |= {int(el.get("style")) for el in sheet.iter(_M + "col") if (el.get("style") or "").isdigit()}
    dxf = {int(el.get("dxfId")) for el in sheet.iter(_M + "cfRule") if (el.get("dxfId") or "").isdigit()}
    return xf, dxf


def merge_styles(target: etree._Element, source: etree._Element, xf_wanted=None, dxf_wanted=None) -> tuple[StyleMap, bool]:
    """Append what source's cellXfs and dxfs (those with the wanted indices; all when None) need to
    target (both styleSheet roots). Returns the index maps and whether target changed."""
    fonts = _Appender(target, "fonts", "font")
    fills = _Appender(target, "fills", "fill")
    borders = _Appender(target, "borders", "border")
    xfs = _Appender(target, "cellXfs", "xf")
    dxfs = _Appender(target, "dxfs", "dxf")
    formats_changed = False

    def source_list(name: str, tag: str) -> list[etree._Element]:
        lst = source.find(_M + name)
        return [] if lst is None else _items(lst, tag)

    src_fonts, src_fills, src_borders = (source_list("fonts", "font"), source_list("fills", "fill"),
                                         source_list("borders", "border"))
    src_codes = {el.get("numFmtId"): el.get("formatCode") for el in source_list("numFmts", "numFmt")}
    target_formats = None
    format_map: dict[str, str] = {}

    def number_format(num_id: str | None) -> str | None:
        nonlocal target_formats, formats_changed
        if num_id is None or not num_id.isdigit() or int(num_id) < _CUSTOM_FORMATS or num_id not in src_codes:
            return num_id
        if num_id in format_map:
            return format_map[num_id]
        if target_formats is None:
            target_formats = _list(target, "numFmts")
        code = src_codes[num_id]
        existing = {el.get("formatCode"): el.get("numFmtId") for el in _items(target_formats, "numFmt")}
        if code in existing:
            format_map[num_id] = existing[code]
        else:
            ids = [int(el.get("numFmtId")) for el in _items(target_formats, "numFmt") if (el.get("numFmtId") or "").isdigit()]
            new_id = str(max([_CUSTOM_FORMATS - 1, *ids]) + 1)
            etree.SubElement(target_formats, _M + "numFmt", numFmtId=new_id, formatCode=code)
            _recount(target_formats, "numFmt")
            format_map[num_id] = new_id
            formats_changed = True
        return format_map[num_id]

    def mapped(items: list[etree._Element], appender: _Appender, index: str | None) -> str | None:
        if index is None or not index.isdigit() or int(index) >= len(items):
            return index
        return str(appender.place(items[int(index)]))

    style_map = StyleMap()
    for i, xf in enumerate(source_list("cellXfs", "xf")):
        if xf_wanted is not None and i not in xf_wanted:
            continue
        new = copy.deepcopy(xf)
        for attr, items, appender in (("fontId", src_fonts, fonts), ("fillId", src_fills, fills),
                                      ("borderId", src_borders, borders)):
            if new.get(attr) is not None:
                new.set(attr, mapped(items, appender, new.get(attr)))
        if new.get("numFmtId") is not None:
            new.set("numFmtId", number_format(new.get("numFmtId")))
        new.set("xfId", "0")  # the workbook's Normal style: named styles are not carried over
        style_map.xf[i] = xfs.place(new)
    for i, dxf in enumerate(source_list("dxfs", "dxf")):
        if dxf_wanted is not None and i not in dxf_wanted:
            continue
        new = copy.deepcopy(dxf)
        fmt = new.find(_M + "numFmt")
        if fmt is not None and fmt.get("numFmtId") is not None:
            fmt.set("numFmtId", number_format(fmt.get("numFmtId")) or fmt.get("numFmtId"))
        style_map.dxf[i] = dxfs.place(new)
    for appender in (fonts, fills, borders, xfs, dxfs):
        if appender.created and not appender.added:
            target.remove(appender.list)  # made for nothing: leave the part as it was
    changed = formats_changed or any(a.added for a in (fonts, fills, borders, xfs, dxfs))
    return style_map, changed


def restyle_sheet(root: etree._Element, style_map: StyleMap) -> None:
    """Rewrite a grafted worksheet's format indices (c/@s, row/@s, col/@style, cfRule/@dxfId)."""
    for el in root.iter(_M + "c", _M + "row"):
        s = el.get("s")
        if s is not None and s.isdigit():
            el.set("s", str(style_map.xf.get(int(s), 0)))
    for el in root.iter(_M + "col"):
        s = el.get("style")
        if s is not None and s.isdigit():
            el.set("style", str(style_map.xf.get(int(s), 0)))
    for el in root.iter(_M + "cfRule"):
        d = el.get("dxfId")
        if d is not None and d.isdigit() and int(d) in style_map.dxf:
            el.set("dxfId", str(style_map.dxf[int(d)]))
