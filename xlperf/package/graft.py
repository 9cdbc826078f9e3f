"""Take sheets out of a workbook package and graft sheets made elsewhere into it.

What xlperf writes (附件1, 汇总, 校验结果, a new 录入表, the 项目清单 it keeps) is produced by
openpyxl in a package of its own; this module moves those sheet parts, with the parts they need
(drawings, charts, comments…), into the user's package. The only other parts edited are the ones
that list sheets: [Content_Types].xml, xl/workbook.xml (sheets, sheet-scoped defined names, the
active tab), xl/_rels/workbook.xml.rels, docProps/app.xml, xl/calcChain.xml (entries of removed
sheets) and xl/styles.xml (formats appended). Every other part stays byte for byte.
"""
from __future__ import annotations

import copy
import io
import posixpath
import re
from dataclasses import dataclass

from lxml import etree

from .opc import MAIN_NS, R_NS, REL_NS, Package, PackageError, key, rels_name, relative, resolve, serialise
from .styles import StyleMap, merge_styles, restyle_sheet, used_styles

_M = f"{{{MAIN_NS}}}"
WORKSHEET_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_VT = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
_CP = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
# workbook children that come after <sheets> and before <definedNames> (where definedNames is put)
_BEFORE_NAMES = ("sheets", "functionGroups", "externalReferences")


@dataclass(frozen=True)
class Sheet:
    title: str
    index: int  # position among the workbook's sheets (what localSheetId counts)
    sheet_id: str
    rel_id: str
    part: str | None  # None: the relationship names no part in the package
    kind: str  # worksheet, chartsheet, dialogsheet…


def sheets(package: Package) -> list[Sheet]:
    workbook = package.main_document()
    targets = {rel.id: (resolve(workbook, rel.target) if not rel.external else None, rel.kind)
               for rel in package.rels(workbook)}
    out = []
    for i, el in enumerate(_sheets_element(package).findall(_M + "sheet")):
        part, kind = targets.get(el.get(f"{{{R_NS}}}id") or "", (None, ""))
        if part is not None and part not in package:
            part = None
        out.append(Sheet(el.get("name") or "", i, el.get("sheetId") or "", el.get(f"{{{R_NS}}}id") or "", part, kind))
    return out


def _sheets_element(package: Package) -> etree._Element:
    found = package.xml(package.main_document()).find(_M + "sheets")
    if found is None:
        raise PackageError("工作簿主体（xl/workbook.xml）中没有工作表列表，无法在原文件上修改")
    return found


def _closure(package: Package, start: str) -> list[str]:
    """start and every part reachable from it through internal relationships, in the order met."""
    seen, order, todo = set(), [], [start]
    while todo:
        name = todo.pop(0)
        if key(name) in seen or name not in package:
            continue
        seen.add(key(name))
        order.append(package.get(name).name)
        todo.extend(target for _, target in package.related(name))
    return order


# ---- taking sheets out -------------------------------------------------------------------
def remove_sheets(package: Package, titles) -> list[str]:
    """Take the sheets with these titles out of the workbook, with every part only they used.
    Returns the titles removed (a title the workbook does not have is left out)."""
    wanted = {t.lower() for t in titles}
    listed = sheets(package)
    gone = [s for s in listed if s.title.lower() in wanted]
    if not gone:
        return []
    workbook = package.main_document()
    root = package.xml(workbook)
    sheets_el = _sheets_element(package)
    new_index: dict[int, int] = {}
    kept = 0
    for s in listed:
        if s in gone:
            continue
        new_index[s.index] = kept
        kept += 1
    for el in list(sheets_el.findall(_M + "sheet")):
        if (el.get("name") or "").lower() in wanted:
            sheets_el.remove(el)
    _renumber_local_names(root, new_index)
    _fix_views(package, root, listed, new_index)
    for s in gone:
        package.remove_relationship(workbook, s.rel_id)
    candidates: list[str] = []
    for s in gone:
        if s.part is not None:
            candidates.extend(_closure(package, s.part))
    _remove_unreferenced(package, candidates)
    _drop_calc_chain_entries(package, {s.sheet_id for s in gone})
    _app_titles(package, remove=[s.title for s in gone])
    package.touch(workbook)
    return [s.title for s in gone]


def _remove_unreferenced(package: Package, candidates: list[str]) -> None:
    """Remove each candidate part no remaining relationship names (repeated: a drawing freed frees its chart)."""
    candidates = [c for c in candidates if c in package]
    while candidates:
        referenced = package.referenced()
        free = [c for c in candidates if key(c) not in referenced]
        if not free:
            return
        for name in free:
            package.remove(name)
        candidates = [c for c in candidates if c in package]


def _renumber_local_names(root: etree._Element, new_index: dict[int, int]) -> None:
    names = root.find(_M + "definedNames")
    if names is None:
        return
    for el in list(names):
        local = el.get("localSheetId")
        if local is None or not local.isdigit():
            continue
        if int(local) in new_index:
            el.set("localSheetId", str(new_index[int(local)]))
        else:
            names.remove(el)  # the sheet it belonged to is gone
    if len(names) == 0:
        root.remove(names)


def _fix_views(package: Package, root: etree._Element, listed: list[Sheet], new_index: dict[int, int]) -> None:
    """The active tab and the first tab shown follow their sheets; when the active sheet itself is gone,
    the kept sheet the user had selected (tabSelected) becomes active, else the first visible one."""
    states = [el.get("state") or "visible" for el in _sheets_element(package).findall(_M + "sheet")]
    kept = [s for s in listed if s.index in new_index]
    visible = [new_index[s.index] for s, state in zip(kept, states) if state == "visible"]
    for view in root.iter(_M + "workbookView"):
        active = view.get("activeTab") or "0"
        old = int(active) if active.isdigit() else 0
        if old in new_index:
            new = new_index[old]
        else:
            selected = [new_index[s.index] for s in kept if s.part and _tab_selected(package, s.part)]
            new = (selected or visible or [0])[0]
        if view.get("activeTab") is not None or new:
            view.set("activeTab", str(new))
        first = view.get("firstSheet")
        if first is not None and first.isdigit():
            shown = new_index.get(int(first), min((i for i in new_index.values()), default=0))
            view.set("firstSheet", str(min(shown, new)))


def _tab_selected(package: Package, part: str) -> bool:
    """Whether the sheet's first sheetView is selected (read up to that element, not the whole sheet)."""
    try:
        for _, el in etree.iterparse(io.BytesIO(package.blob(part)), events=("start",), tag=_M + "sheetView",
                                     resolve_entities=False, no_network=True):
            return el.get("tabSelected") in ("1", "true")
    except etree.XMLSyntaxError:
        return False
    return False


def _drop_calc_chain_entries(package: Package, sheet_ids: set[str]) -> None:
    """calcChain lists formula cells by sheetId; entries of removed sheets would make Excel repair the file."""
    workbook = package.main_document()
    target = package.related_part(workbook, "calcChain")
    if target is None:
        return
    root = package.xml(target)
    current = None
    dropped = False
    for el in list(root):
        i = el.get("i")
        if i is not None:
            current = i  # an entry without i belongs to the sheet of the entry before it
        if current in sheet_ids:
            root.remove(el)
            dropped = True
        elif i is None and dropped and current is not None:
            el.set("i", current)  # its sheet was inherited from an entry now gone: say it
    if not dropped:
        return
    if len(root) == 0:
        for rel, part in package.related(workbook):
            if key(part) == key(target):
                package.remove_relationship(workbook, rel.id)
        package.remove(target)
    else:
        package.touch(target)


# ---- grafting sheets in ------------------------------------------------------------------
def add_sheets(package: Package, produced: Package, titles, styles: StyleMap | None = None) -> StyleMap:
    """Graft the sheets of `produced` with these titles (in this order) at the end of package's workbook,
    with their parts, their sheet-scoped defined names and the formats they use."""
    workbook = package.main_document()
    root = package.xml(workbook)
    sheets_el = _sheets_element(package)
    styles = styles or StyleMap()
    shared = _shared_strings(produced)
    made = {s.title.lower(): s for s in sheets(produced)}
    produced_root = produced.xml(produced.main_document())
    existing = sheets(package)
    next_id = max([int(s.sheet_id) for s in existing if s.sheet_id.isdigit()] + [0]) + 1
    index = len(existing)
    taken = {s.title.lower() for s in existing}
    added = []
    for title in titles:
        source = made.get(title.lower())
        if source is None or source.part is None:
            raise PackageError(f"内部错误：生成的工作表“{title}”不在生成的文件中")
        if source.title.lower() in taken:
            raise PackageError(f"工作簿中已有名为“{source.title}”的工作表（可能是文件中缺少内容的工作表），不能再增加同名工作表")
        root_xml = produced.parse_fresh(source.part)
        styles = _merge_styles(package, produced, root_xml, styles)
        part = _copy_sheet(package, produced, source.part, styles, shared, root=root_xml)
        rel_id = package.add_relationship(workbook, WORKSHEET_TYPE, part)
        el = etree.SubElement(sheets_el, _M + "sheet")
        el.set("name", source.title)
        el.set("sheetId", str(next_id))
        el.set(f"{{{R_NS}}}id", rel_id)
        _copy_local_names(root, produced_root, source.index, index)
        next_id += 1
        index += 1
        taken.add(source.title.lower())
        added.append(source.title)
    _app_titles(package, add=added)
    package.touch(workbook)
    return styles


def replace_sheet(package: Package, title: str, produced: Package, produced_title: str | None = None,
                  styles: StyleMap | None = None) -> StyleMap:
    """Put produced's sheet (same title unless produced_title) in the place of the workbook's sheet `title`:
    same position, same sheetId, its parts and sheet-scoped names replaced."""
    target = next((s for s in sheets(package) if s.title.lower() == title.lower()), None)
    source = next((s for s in sheets(produced) if s.title.lower() == (produced_title or title).lower()), None)
    if target is None or source is None or source.part is None:
        raise PackageError(f"内部错误：找不到要替换的工作表“{title}”")
    root_xml = produced.parse_fresh(source.part)
    styles = _merge_styles(package, produced, root_xml, styles or StyleMap())
    workbook = package.main_document()
    root = package.xml(workbook)
    old = _closure(package, target.part) if target.part is not None else []
    if target.part is not None:
        # the same part and relationship, new content: only the sheet's own rels and the parts it used change
        rels = package.get(rels_name(target.part))
        if rels is not None:
            package.remove(rels.name)
        _copy_sheet(package, produced, source.part, styles, _shared_strings(produced), sheet_name=target.part,
                    root=root_xml)
        _remove_unreferenced(package, old[1:])
    else:
        package.remove_relationship(workbook, target.rel_id)
        part = _copy_sheet(package, produced, source.part, styles, _shared_strings(produced), root=root_xml)
        rel_id = package.add_relationship(workbook, WORKSHEET_TYPE, part)
        for el in _sheets_element(package).findall(_M + "sheet"):
            if (el.get("name") or "").lower() == title.lower():
                el.set(f"{{{R_NS}}}id", rel_id)
    _drop_calc_chain_entries(package, {target.sheet_id})  # its formula cells are not where they were
    names = root.find(_M + "definedNames")
    if names is not None:
        for el in list(names):
            if el.get("localSheetId") == str(target.index):
                names.remove(el)
    _copy_local_names(root, produced.xml(produced.main_document()), source.index, target.index)
    package.touch(workbook)
    return styles


def _merge_styles(package: Package, produced: Package, sheet: etree._Element, styles: StyleMap) -> StyleMap:
    """styles, grown by the formats a sheet of produced (its XML) uses that it does not map yet."""
    produced_styles = _styles_part(produced)
    if produced_styles is None:
        return styles
    xf, dxf = used_styles(sheet)
    xf, dxf = xf - styles.xf.keys(), dxf - styles.dxf.keys()
    if not xf and not dxf:
        return styles
    ours = _styles_part(package)
    if ours is None:
        # A package without a styles part (some generators): give it the producer's, indices unchanged.
        workbook = package.main_document()
        name = package.free_name("/xl/styles{}.xml", 1) if "/xl/styles.xml" in package else "/xl/styles.xml"
        package.put(name, produced.blob(produced_styles), produced.content_type(produced_styles))
        package.add_relationship(workbook, produced_styles_type(produced), name)
        source = produced.xml(produced_styles)
        n_xf = len(source.findall(f"{_M}cellXfs/{_M}xf"))
        n_dxf = len(source.findall(f"{_M}dxfs/{_M}dxf"))
        return StyleMap(xf={i: i for i in range(n_xf)}, dxf={i: i for i in range(n_dxf)})
    new, changed = merge_styles(package.xml(ours), produced.xml(produced_styles), xf, dxf)
    if changed:
        package.touch(ours)
    return StyleMap(xf={**styles.xf, **new.xf}, dxf={**styles.dxf, **new.dxf})


def produced_styles_type(produced: Package) -> str:
    for rel in produced.rels(produced.main_document()):
        if rel.kind == "styles":
            return rel.type
    return "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"


def _styles_part(package: Package) -> str | None:
    return package.related_part(package.main_document(), "styles")


def _shared_strings(package: Package) -> list[etree._Element]:
    part = package.related_part(package.main_document(), "sharedStrings")
    return [] if part is None else package.xml(part).findall(_M + "si")


def _numbered(name: str) -> str:
    """A name template for parts like name: /xl/drawings/drawing1.xml → /xl/drawings/drawing{}.xml."""
    directory, base = posixpath.split(name)
    stem, ext = posixpath.splitext(base)
    stem = re.sub(r"\d+$", "", stem)
    return posixpath.join(directory, stem.replace("{", "").replace("}", "") + "{}" + ext)


def _copy_sheet(package: Package, produced: Package, sheet_part: str, styles: StyleMap,
                shared: list[etree._Element], sheet_name: str | None = None, root: etree._Element | None = None) -> str:
    """Copy produced's sheet part (as sheet_name, else under a free name) and the parts it needs under free
    names; returns the sheet's name in package."""
    closure = _closure(produced, sheet_part)
    names = {}
    for name in closure:
        new = sheet_name if sheet_name and key(name) == key(sheet_part) else package.free_name(_numbered(name))
        package.put(new, b"")  # reserve it
        names[key(name)] = new
    for name in closure:
        new = names[key(name)]
        content_type = produced.content_type(name)
        if key(name) == key(sheet_part):
            root = root if root is not None else produced.parse_fresh(name)  # serialised at once: one sheet in memory
            restyle_sheet(root, styles)
            _inline_shared_strings(root, shared)
            for view in root.iter(_M + "sheetView"):
                view.attrib.pop("tabSelected", None)  # the workbook's active tab stays the only selected one
            package.put(new, serialise(root), content_type)
        else:
            package.put(new, produced.blob(name), content_type)
        rels = produced.rels(name)
        if rels:
            out = etree.Element(f"{{{REL_NS}}}Relationships", nsmap={None: REL_NS})
            for rel in rels:
                target = rel.target if rel.external else relative(new, names[key(resolve(name, rel.target))]) \
                    if key(resolve(name, rel.target)) in names else rel.target
                el = etree.SubElement(out, f"{{{REL_NS}}}Relationship", Id=rel.id, Type=rel.type, Target=target)
                if rel.external:
                    el.set("TargetMode", "External")
            package.put_xml(rels_name(new), out)
    return names[key(sheet_part)]


def _inline_shared_strings(root: etree._Element, shared: list[etree._Element]) -> None:
    """Cells that point into the producer's sharedStrings part hold their text themselves instead."""
    for c in root.iter(_M + "c"):
        if c.get("t") != "s":
            continue
        v = c.find(_M + "v")
        index = int(v.text) if v is not None and (v.text or "").strip().isdigit() else -1
        if v is not None:
            c.remove(v)
        c.set("t", "inlineStr")
        inline = etree.SubElement(c, _M + "is")
        if 0 <= index < len(shared):
            for child in shared[index]:
                inline.append(copy.deepcopy(child))
        else:
            etree.SubElement(inline, _M + "t")


def _copy_local_names(root: etree._Element, produced_root: etree._Element, source_index: int, index: int) -> None:
    """The producer's defined names that belong to sheet source_index, as names of sheet index."""
    produced_names = produced_root.find(_M + "definedNames")
    if produced_names is None:
        return
    mine = [el for el in produced_names if el.get("localSheetId") == str(source_index)]
    if not mine:
        return
    names = root.find(_M + "definedNames")
    if names is None:
        names = _insert_after(root, "definedNames", _BEFORE_NAMES)
    for el in mine:
        new = copy.deepcopy(el)
        new.set("localSheetId", str(index))
        names.append(new)


def _insert_after(root: etree._Element, name: str, before: tuple[str, ...]) -> etree._Element:
    """A new empty child `name` of the workbook element, after the last of its children named in before
    (its place in the schema's order)."""
    el = etree.Element(_M + name)
    place = max((i for i, child in enumerate(root) if isinstance(child.tag, str)
                 and etree.QName(child).localname in before), default=len(root) - 1)
    root.insert(place + 1, el)
    return el


# ---- docProps -------------------------------------------------------------------------------
def _app_titles(package: Package, add=(), remove=()) -> None:
    """Keep docProps/app.xml's list of worksheet titles in step (when it has the usual shape)."""
    part = package.related_part("/", "extended-properties")
    if part is None or not (add or remove):
        return
    try:
        root = package.xml(part)
    except PackageError:
        return  # informational only: a part we cannot parse is left as it is
    pairs = root.find(f"{{{_EP}}}HeadingPairs/{{{_VT}}}vector")
    titles = root.find(f"{{{_EP}}}TitlesOfParts/{{{_VT}}}vector")
    if pairs is None or titles is None:
        return
    variants = pairs.findall(f"{{{_VT}}}variant")
    groups = []  # (count element, count)
    for i in range(0, len(variants) - 1, 2):
        count = variants[i + 1].find(f"{{{_VT}}}i4")
        if count is None or not (count.text or "").strip().isdigit():
            return
        groups.append((count, int(count.text)))
    strings = titles.findall(f"{{{_VT}}}lpstr")
    if sum(n for _, n in groups) != len(strings) or not groups:
        return
    worksheet_names = {s.title for s in sheets(package) if s.kind == "worksheet"} | set(remove)
    start, best, best_hits = 0, None, -1
    for g, (count, n) in enumerate(groups):
        hits = sum(1 for el in strings[start:start + n] if (el.text or "") in worksheet_names)
        if hits > best_hits:
            best, best_hits, best_start = g, hits, start
        start += n
    count, n = groups[best]
    members = strings[best_start:best_start + n]
    following = strings[best_start + n] if best_start + n < len(strings) else None
    for el in members:
        if (el.text or "") in set(remove):
            titles.remove(el)
            n -= 1
    kept = [el for el in members if el.getparent() is not None]
    if kept:
        position = titles.index(kept[-1]) + 1
    else:
        position = titles.index(following) if following is not None else len(titles)
    for title in add:
        el = etree.Element(f"{{{_VT}}}lpstr")
        el.text = title
        titles.insert(position, el)
        position += 1
        n += 1
    count.text = str(n)
    titles.set("size", str(len(titles.findall(f"{{{_VT}}}lpstr"))))
    package.touch(part)


def sheet_states(package: Package, titles: set[str]) -> dict[str, str]:
    """lower-cased title → state (hidden, veryHidden) of the sheets with these titles that are not visible."""
    return {(el.get("name") or "").lower(): el.get("state") for el in _sheets_element(package).findall(_M + "sheet")
            if (el.get("name") or "").lower() in titles and el.get("state") in ("hidden", "veryHidden")}


def set_sheet_states(package: Package, states: dict[str, str]) -> None:
    """Hide the sheets named (title → state); the active tab is never one of them."""
    if not states:
        return
    wanted = {t.lower(): v for t, v in states.items()}
    elements = _sheets_element(package).findall(_M + "sheet")
    for el in elements:
        if (el.get("name") or "").lower() in wanted:
            el.set("state", wanted[(el.get("name") or "").lower()])
    root = package.xml(package.main_document())
    visible = [i for i, el in enumerate(elements) if (el.get("state") or "visible") == "visible"]
    for view in root.iter(_M + "workbookView"):
        active = int(view.get("activeTab") or 0) if (view.get("activeTab") or "0").isdigit() else 0
        if visible and active not in visible:
            view.set("activeTab", str(visible[0]))
    package.touch(package.main_document())


def recalculate_on_open(package: Package) -> None:
    """Ask Excel to recalculate every formula when it opens the file (calcPr/@fullCalcOnLoad): the user's own
    formulas and charts that read xlperf's sheets would otherwise show their old cached values until F9.
    The cached values stay in the file for readers that do not calculate."""
    workbook = package.main_document()
    root = package.xml(workbook)
    calc = root.find(_M + "calcPr")
    if calc is None:
        calc = _insert_after(root, "calcPr", (*_BEFORE_NAMES, "definedNames"))
    if calc.get("fullCalcOnLoad") not in ("1", "true"):
        calc.set("fullCalcOnLoad", "1")
        package.touch(workbook)


PRINT_AREA = "_xlnm.Print_Area"


def _same_area(a: str | None, b: str | None) -> bool:
    """Two print areas as Excel may write them (quoted or not, with or without $)."""
    flat = lambda text: re.sub(r"[\s$']", "", text or "")  # noqa: E731
    return a is not None and b is not None and flat(a) == flat(b)


def follow_print_areas(package: Package, wanted: dict[str, str], marker: str) -> list[str]:
    """Set each sheet's print area (title → definition) where the sheet has none, or has the one recorded
    in its hidden `marker` name (xlperf's own); a print area the user chose is kept. The titles changed."""
    titles = {s.title: s.index for s in sheets(package)}
    workbook = package.main_document()
    root = package.xml(workbook)
    names = root.find(_M + "definedNames")
    by_sheet: dict[str, dict[str, etree._Element]] = {}  # localSheetId → name → element
    for el in [] if names is None else names.findall(_M + "definedName"):
        by_sheet.setdefault(el.get("localSheetId") or "", {})[el.get("name") or ""] = el
    changed: list[str] = []
    for title, area in wanted.items():
        index = titles.get(title)
        if index is None:
            continue
        own = by_sheet.get(str(index), {})
        printed, recorded = own.get(PRINT_AREA), own.get(marker)
        printed_text = None if printed is None else printed.text
        recorded_text = None if recorded is None else recorded.text
        if printed is not None and not _same_area(printed_text, recorded_text):
            continue  # the user's
        if _same_area(printed_text, area) and _same_area(recorded_text, area):
            continue
        if names is None:
            names = _insert_after(root, "definedNames", _BEFORE_NAMES)
        for name, el in ((PRINT_AREA, printed), (marker, recorded)):
            if el is None:
                el = etree.SubElement(names, _M + "definedName", name=name, localSheetId=str(index))
                if name == marker:
                    el.set("hidden", "1")
            el.text = area
        changed.append(title)
    if changed:
        package.touch(workbook)
    return changed


def local_names(package: Package, name: str) -> list[tuple[str, str]]:
    """(sheet title, definition) of each sheet-scoped defined name `name`."""
    titles = [s.title for s in sheets(package)]
    names = package.xml(package.main_document()).find(_M + "definedNames")
    out = []
    for el in [] if names is None else names.findall(_M + "definedName"):
        local = el.get("localSheetId") or ""
        if el.get("name") == name and local.isdigit() and int(local) < len(titles):
            out.append((titles[int(local)], el.text or ""))
    return out


def _custom_part(package: Package) -> str | None:
    return package.related_part("/", "custom-properties")


def custom_property(package: Package, name: str) -> str | None:
    """The text of a custom document property (docProps/custom.xml), or None."""
    part = _custom_part(package)
    if part is None:
        return None
    for el in package.xml(part).findall(f"{{{_CP}}}property"):
        if el.get("name") == name:
            return "".join(el.itertext())
    return None


def drop_custom_property(package: Package, name: str) -> bool:
    """Remove a custom document property (docProps/custom.xml) by name; True when there was one."""
    part = _custom_part(package)
    if part is None:
        return False
    root = package.xml(part)
    found = [el for el in root.findall(f"{{{_CP}}}property") if el.get("name") == name]
    for el in found:
        root.remove(el)
    if found:
        package.touch(part)
    return bool(found)

