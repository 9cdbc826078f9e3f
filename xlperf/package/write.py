"""What the writing commands call: the workbook read, plus sheets produced by openpyxl, into the file.

    write_sheets(wb, produced, target, remove=[...], add=[...], replace=[...])

wb is the workbook as `workbook_io.open_workbook` read it (its package bytes travel with it);
produced is an openpyxl Workbook holding the sheets to add or to put in place of others. Only those
sheets, the parts they need and the lists that name sheets change; the file is replaced atomically.
"""
from __future__ import annotations

import io
from pathlib import Path

from .graft import add_sheets, drop_custom_property, remove_sheets, replace_sheet
from .opc import Package, PackageError
from .styles import StyleMap

MACRO_MARK = "macroenabled"


def saved(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def grafted(source: bytes, produced: bytes | None, remove=(), add=(), replace=(), drop_property: str | None = None) -> bytes:
    """source with the sheets `remove` taken out, `replace` put in place and `add` appended from produced."""
    package = Package.from_bytes(source)
    made = Package.from_bytes(produced) if produced is not None else None
    styles = StyleMap()
    for title in replace:
        styles = replace_sheet(package, title, made, styles=styles)
    remove_sheets(package, remove)
    if add:
        add_sheets(package, made, add, styles)
    if drop_property:
        drop_custom_property(package, drop_property)
    return package.to_bytes()


def is_macro_enabled(package: bytes) -> bool:
    """Whether the package's workbook is an .xlsm's (its content type says macroEnabled)."""
    pkg = Package.from_bytes(package)
    return MACRO_MARK in (pkg.content_type(pkg.main_document()) or "").lower()


def write_sheets(wb, produced, target: Path, remove=(), add=(), replace=(), drop_property: str | None = None) -> Path:
    """Graft and write atomically (with the .bak policy); raises WriteRefused with a Chinese message."""
    from ..safety import WriteRefused
    from ..workbook_io import source_info
    from ..writers.save import write_package_atomic

    info = source_info(wb)
    if info is None or info.package is None:
        raise WriteRefused("内部错误：工作簿不是从文件读取的，无法在原文件上修改")
    try:
        data = grafted(info.package, saved(produced) if produced is not None else None,
                       remove=remove, add=add, replace=replace, drop_property=drop_property)
        macro = is_macro_enabled(info.package)
    except PackageError as exc:
        raise WriteRefused(f"无法写入“{Path(target).name}”：{exc}；原文件未被改动") from None
    return write_package_atomic(wb, data, target, macro=macro)
