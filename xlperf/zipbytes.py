"""Zip packages (.xlsx, .xlam) whose bytes depend only on their content.

The generated template and add-in are committed and tested to stay byte-for-byte
in sync with the code that makes them: no timestamps, no builder's system in the
zip metadata.
"""
from __future__ import annotations

import io
import zipfile
from typing import Callable

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


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
