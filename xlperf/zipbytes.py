"""Zip packages (.xlsx, .xlam) whose bytes depend only on their content.

The generated template and add-in are committed and tested to stay byte-for-byte
in sync with the code that makes them: no timestamps, no builder's system in the
zip metadata.
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import Callable

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_DOCUMENT_TIME = "2020-01-01T00:00:00Z"  # docProps/core.xml's created and modified


def rezip(package: bytes, transform: Callable[[str, bytes], bytes] = lambda name, data: data) -> bytes:
    """package with every member rewritten (through transform) under fixed zip metadata, in the same order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0  # same bytes whichever system builds it
            info.external_attr = 0o600 << 16  # what zipfile.writestr would set anyway
            dst.writestr(info, transform(name, src.read(name)))
    return out.getvalue()


def fixed_package(package: bytes) -> bytes:
    """rezip, with docProps/core.xml's created/modified times fixed too: an Office file (.xlsx, .docx) whose
    bytes depend only on its content."""
    def fixed(name: str, data: bytes) -> bytes:
        if name != "docProps/core.xml":
            return data
        return re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                      lambda m: m.group(1) + FIXED_DOCUMENT_TIME.encode() + m.group(3), data)

    return rezip(package, fixed)
