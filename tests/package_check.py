"""Helpers for tests of the package-level writer: put xlperf's sheets into any workbook at the XML
level, and compare two packages part by part (case-insensitive part names)."""
from __future__ import annotations

import io
import zipfile

from lxml import etree

from xlperf.package.opc import CT_NS, MAIN_NS, REL_NS, Package, key, partname, rels_name, resolve
from xlperf.package.write import saved
from xlperf.profiles import load_profile
from xlperf.template.build import new_workbook
from xlperf.template.examples import example_project

M = f"{{{MAIN_NS}}}"
PROFILE = load_profile("default")


def master_sheets(projects: int = 1, inputs=None):
    """A master workbook (openpyxl) with 项目清单 and `projects` filled input sheets (or these inputs), and their titles."""
    inputs = list(inputs) if inputs is not None else [example_project(i) for i in range(projects)]
    wb = new_workbook(inputs, PROFILE, form="national")
    from xlperf import layout as L

    titles = [L.PROJECT_LIST_SHEET] + [ws.title for ws in wb.worksheets if ws["A1"].value == L.INPUT_TITLE]
    return wb, titles


def with_master_sheets(data: bytes, projects: int = 1, inputs=None) -> bytes:
    """data (any workbook package) with xlperf's 项目清单 and input sheets grafted in, nothing else changed
    but the lists of sheets, as an accountant would have copied them into their own workbook."""
    wb, titles = master_sheets(projects, inputs)
    produced = Package.from_bytes(saved(wb))
    package = Package.from_bytes(data)
    from xlperf.package.graft import add_sheets

    add_sheets(package, produced, titles)
    # the workbook-level record of the form travels with the master sheets
    root = package.xml(package.main_document())
    names = root.find(M + "definedNames")
    if names is None:
        names = etree.Element(M + "definedNames")
        sheets = root.find(M + "sheets")
        sheets.addnext(names)
    if not any(el.get("name") == "xlperf_form" for el in names):
        el = etree.SubElement(names, M + "definedName", name="xlperf_form")
        el.text = '"national"'
    package.touch(package.main_document())
    return package.to_bytes()


def parts(data: bytes) -> dict[str, bytes]:
    """part key → bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {key(i.filename): z.read(i) for i in z.infolist() if not i.is_dir()}


def owned_parts(data: bytes, extra_sheets=()) -> set[str]:
    """The parts the writer may edit in data: the lists of sheets, styles, calcChain, app/custom properties,
    and (extra_sheets) the parts of these sheets."""
    package = Package.from_bytes(data)
    workbook = package.main_document()
    owned = {key("/[Content_Types].xml"), key(workbook), key(rels_name(workbook))}
    owned |= {key(target) for rel, target in package.related("/") if rel.kind in ("extended-properties", "custom-properties")}
    owned |= {key(target) for rel, target in package.related(workbook) if rel.kind in ("styles", "calcChain")}
    from xlperf.package.graft import sheets

    for sheet in sheets(package):
        if sheet.title in extra_sheets and sheet.part:
            owned |= {key(sheet.part), key(rels_name(sheet.part))}
    return owned


def changed_outside(before: bytes, after: bytes, owned: set[str]) -> list[str]:
    """Parts of before that are missing or different in after, outside owned."""
    a, b = parts(before), parts(after)
    return sorted(name for name, blob in a.items() if name not in owned and b.get(name) != blob)


def entries_kept(before: bytes, after: bytes, removed_sheets=()) -> list[str]:
    """What an owned part had before and lost: content types, sheets, workbook relationships, style entries."""
    lost = []
    pa, pb = Package.from_bytes(before), Package.from_bytes(after)
    gone_parts = {key(n) for n in pa.names()} - {key(n) for n in pb.names()}
    for tag in ("Default", "Override"):
        old = {(el.get("Extension") or el.get("PartName", "")).lower(): el.get("ContentType")
               for el in pa.xml("/[Content_Types].xml").findall(f"{{{CT_NS}}}{tag}")}
        new = {(el.get("Extension") or el.get("PartName", "")).lower(): el.get("ContentType")
               for el in pb.xml("/[Content_Types].xml").findall(f"{{{CT_NS}}}{tag}")}
        lost += [f"content type {k}" for k, v in old.items() if new.get(k) != v and k not in gone_parts]
    wa, wb_ = pa.main_document(), pb.main_document()
    old_sheets = {el.get("name"): el.get("sheetId") for el in pa.xml(wa).iter(M + "sheet")}
    new_sheets = {el.get("name"): el.get("sheetId") for el in pb.xml(wb_).iter(M + "sheet")}
    lost += [f"sheet {n}" for n, i in old_sheets.items() if n not in removed_sheets and new_sheets.get(n) != i]
    rels_b = {(r.id, r.type, r.target) for r in pb.rels(wb_)}
    lost += [f"workbook rel {r.id}" for r in pa.rels(wa) if (r.id, r.type, r.target) not in rels_b
             and not (r.kind == "worksheet" and key(resolve(wa, r.target)) in gone_parts)]
    styles = pa.related_part(wa, "styles")
    if styles is not None:
        sa, sb = pa.xml(styles), pb.xml(pb.related_part(wb_, "styles"))
        for name in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs"):
            la, lb = sa.find(M + name), sb.find(M + name)
            old = [] if la is None else [etree.tostring(el) for el in la]
            new = [] if lb is None else [etree.tostring(el) for el in lb]
            if new[:len(old)] != old:
                lost.append(f"styles {name}")
    return lost


def parse_all(data: bytes) -> list[str]:
    """Parts that are XML by their content type and do not parse strictly."""
    bad = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.lower().endswith((".xml", ".rels", ".vml")) and not name.lower().endswith(".vml"):
                try:
                    etree.fromstring(z.read(name), etree.XMLParser(resolve_entities=False))
                except etree.XMLSyntaxError as exc:
                    bad.append(f"{name}: {exc}")
    return bad


__all__ = ["with_master_sheets", "parts", "owned_parts", "changed_outside", "entries_kept", "parse_all",
           "master_sheets", "partname", "REL_NS"]
