"""Which form a master workbook writes its 附件1 in: a workbook-level defined name `xlperf_form`
whose value is the form's name ("national"), set by `xlperf new --form` and changed by
`xlperf recalc/export --form` only when asked (an override does not rewrite the record).

A workbook without the name was made before forms existed: it keeps the seeds' 山西 layout.
"""
from __future__ import annotations

import re

from openpyxl.workbook.defined_name import DefinedName

from ..layout import printable_name
from ..workbook_io import UnreadableWorkbook
from . import SEEDS_FORM, Form, UnknownForm, load_form, writable_forms

FORM_NAME = "xlperf_form"


def recorded_form(wb) -> str | None:
    """The form name recorded in wb, or None."""
    defined = wb.defined_names.get(FORM_NAME)
    if defined is None:
        return None
    m = re.fullmatch(r'=?\s*"([^"]*)"\s*', defined.attr_text or "")
    return m.group(1) if m else None


def record_form(wb, name: str) -> None:
    load_form(name, writable=True)  # refuse a name nobody can write
    wb.defined_names[FORM_NAME] = DefinedName(FORM_NAME, attr_text=f'"{name}"')


def form_for(wb, override: str | None = None) -> Form:
    """The form to write: the override, else the recorded one, else the seeds' layout.
    Raises forms.UnknownForm for an override that is not a writable form, and UnreadableWorkbook (a Chinese
    message, exit 2) for a recorded name that is not one (made by a newer xlperf, or typed by hand)."""
    if override:
        return load_form(override, writable=True)
    if wb.defined_names.get(FORM_NAME) is None:
        return load_form(SEEDS_FORM, writable=True)
    name = recorded_form(wb)
    try:
        if name is None:
            raise UnknownForm("")
        return load_form(name, writable=True)
    except UnknownForm:
        shown = printable_name(name if name is not None else wb.defined_names[FORM_NAME].attr_text or "")[:60]
        raise UnreadableWorkbook(
            f"工作簿记录的附件1表样（名称 {FORM_NAME}）为“{shown}”，不是本版本 xlperf 能生成的表样"
            f"（可能由更新版本的 xlperf 创建，或被手工修改）：请升级 xlperf，或用 --form 指定本次使用的表样"
            f"（可选：{'、'.join(writable_forms())}；xlperf forms 列出全部表样）") from None
