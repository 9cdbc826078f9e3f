"""Opening workbooks safely: every failure becomes one clear Chinese message."""
from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

SUPPORTED_SUFFIXES = (".xlsx", ".xlsm")


class UnreadableWorkbook(Exception):
    """The file cannot be read as a workbook; str(exc) is the message for the user."""


def open_workbook(path: Path, data_only: bool = False, read_only: bool = False) -> Workbook:
    path = Path(path)
    if not path.exists():
        raise UnreadableWorkbook(f"找不到文件：{path}")
    if path.is_dir():
        raise UnreadableWorkbook(f"{path} 是文件夹，不是 Excel 工作簿")
    suffix = path.suffix.lower()
    if suffix in (".xls", ".et", ".csv"):
        raise UnreadableWorkbook(f"{path.name} 是 {suffix} 格式，请先在 Excel、WPS 或 LibreOffice 中另存为 .xlsx 后再处理")
    if path.stat().st_size == 0:
        raise UnreadableWorkbook(f"{path.name} 是空文件，不是 Excel 工作簿")
    if not zipfile.is_zipfile(path):
        raise UnreadableWorkbook(f"{path.name} 不是有效的 .xlsx 工作簿（文件已损坏、被加密或不是 Excel 文件）")
    try:
        with warnings.catch_warnings():
            # openpyxl warns about extensions it does not read (slicers…); irrelevant to the values.
            warnings.simplefilter("ignore")
            return load_workbook(path, data_only=data_only, read_only=read_only, keep_vba=suffix == ".xlsm")
    except Exception as exc:  # openpyxl raises many kinds; the user needs one message
        raise UnreadableWorkbook(f"无法读取 {path.name}：文件可能已损坏（{type(exc).__name__}: {exc}）") from exc
