"""What the writing commands call: the workbook read, plus sheets produced by openpyxl, into the file.

    Grafting(wb).remove([...]) / .add(produced, [...]) / .replace(produced, [...]) / .write(target)
    write_sheets(wb, produced, target, remove=[...], add=[...], replace=[...])   (the same, in one call)

wb is the workbook as `workbook_io.open_workbook` read it (its package bytes travel with it);
produced is an openpyxl Workbook holding the sheets to add or to put in place of others. Only those
sheets, the parts they need and the lists that name sheets change; the file is replaced atomically.
"""
from __future__ import annotations

import io
from pathlib import Path

from .graft import (add_sheets, drop_custom_property, follow_print_areas, recalculate_on_open, remove_sheets,
                    replace_sheet, set_sheet_states, sheet_states, sheets)
from .opc import CONTENT_TYPES, Package, PackageError
from .styles import StyleMap

MACRO_MARK = "macroenabled"


def saved(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


class Grafting:
    """Changes to the file wb was read from, made part by part, then written once:

        g = Grafting(wb); g.remove([...]); g.add(produced, [...]); g.replace(produced, [...]); g.write(target)
    """

    def __init__(self, wb):
        from ..safety import WriteRefused
        from ..workbook_io import source_info

        info = source_info(wb)
        if info is None or info.package is None:
            raise WriteRefused("内部错误：工作簿不是从文件读取的，无法在原文件上修改")
        self.wb = wb
        self.package = self._guard(lambda: Package.from_bytes(info.package))
        self.macro = MACRO_MARK in (self.package.content_type(self.package.main_document()) or "").lower()
        self._made: dict[int, Package] = {}  # each produced workbook saved once
        self._states: dict[str, str] = {}  # hidden/veryHidden of the sheets taken out, for their successors

    def _guard(self, action):
        from ..safety import WriteRefused

        try:
            return action()
        except PackageError as exc:
            raise WriteRefused(f"无法修改工作簿：{exc}；原文件未被改动") from None

    def _produced(self, produced) -> Package:
        if id(produced) not in self._made:
            self._made = {id(produced): Package.from_bytes(saved(produced))}  # the last one only: memory
        return self._made[id(produced)]

    def remove(self, titles) -> None:
        wanted = {t.lower() for t in titles}
        self._states.update(sheet_states(self.package, wanted))
        self._guard(lambda: remove_sheets(self.package, titles))

    def add(self, produced, titles) -> None:
        """Graft produced's (an openpyxl Workbook's) sheets with these titles at the end; a sheet that replaces
        one the user had hidden stays hidden."""
        self._add(self._produced(produced), titles)

    def add_bytes(self, produced: bytes, titles) -> None:
        """The same as add, from a produced workbook's bytes (made in another process)."""
        self._add(Package.from_bytes(produced), titles)

    def forget_produced(self) -> None:
        """Let go of the produced workbook saved last (its sheets are in the package now)."""
        self._made = {}

    def _add(self, made: Package, titles) -> None:
        before = {n.lower() for n in self.package.names()}
        self._guard(lambda: add_sheets(self.package, made, titles))
        for name in self.package.names():  # the grafted sheets and their parts, set aside compressed
            if name.lower() not in before and name.lower() != CONTENT_TYPES.lower():
                self.package.hold(name)
        set_sheet_states(self.package, {t: self._states[t.lower()] for t in titles if t.lower() in self._states})

    def replace(self, produced, titles) -> None:
        """Put produced's sheets with these titles in the place of the file's sheets of the same titles."""
        made = self._produced(produced)
        styles = StyleMap()
        for title in titles:
            styles = self._guard(lambda: replace_sheet(self.package, title, made, styles=styles))

    def titles(self) -> list[str]:
        """The titles of the file's sheets now (openpyxl may not have loaded all of them)."""
        return [s.title for s in sheets(self.package)]

    def recalculate_on_open(self) -> None:
        self._guard(lambda: recalculate_on_open(self.package))

    def follow_print_areas(self, wanted: dict[str, str], marker: str) -> list[str]:
        """Print areas of sheets (title → definition) where the sheet has none or xlperf's own (graft)."""
        return self._guard(lambda: follow_print_areas(self.package, wanted, marker))

    def drop_property(self, name: str) -> None:
        self._guard(lambda: drop_custom_property(self.package, name))

    def write(self, target: Path) -> Path:
        """Write atomically (with the .bak policy); raises WriteRefused with a Chinese message."""
        from ..writers.save import write_package_atomic

        return write_package_atomic(self.wb, lambda fh: self._guard(lambda: self.package.write_to(fh)), target,
                                    macro=self.macro)


def write_sheets(wb, produced, target: Path, remove=(), add=(), replace=(), drop_property: str | None = None) -> Path:
    """Graft and write atomically (with the .bak policy); raises WriteRefused with a Chinese message."""
    grafting = Grafting(wb)
    if replace:
        grafting.replace(produced, replace)
    grafting.remove(remove)
    if add:
        grafting.add(produced, add)
    if drop_property:
        grafting.drop_property(drop_property)
    return grafting.write(target)
