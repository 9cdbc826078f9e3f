"""Which form a master workbook writes its 附件1 in: a workbook-level defined name `xlperf_form`
whose value is the form's name ("national"), set by `xlperf new --form` and changed by
`xlperf recalc/export --form` only when asked (an override does not rewrite the record).

A workbook without the name was made before forms existed: it keeps the seeds' 山西 layout.
"""
from __future__ import annotations

import re

from openpyxl.workbook.defined_name import DefinedName

from . import SEEDS_FORM, Form, load_form

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
    Raises forms.UnknownForm for a name that is not a writable form."""
    return load_form(override or recorded_form(wb) or SEEDS_FORM, writable=True)
