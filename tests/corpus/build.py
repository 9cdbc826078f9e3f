"""Build tests/corpus/<id>.xlsx from tests/corpus/src/<id>.toml (deterministic bytes).

    python tests/corpus/build.py [ID ...]     # all sources when no ID is given
"""
from __future__ import annotations

import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
from xlperf.template.build import workbook_bytes as template_workbook_bytes  # noqa: E402  (first: xlperf sets
#                                                         how openpyxl writes XML; the template's deterministic bytes)
from openpyxl import Workbook  # noqa: E402

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"


def load(source: Path) -> dict:
    return tomllib.loads(source.read_text("utf-8"))


def workbook_bytes(data: dict) -> bytes:
    """The table's cells as published, one sheet, in a zip with fixed timestamps."""
    wb = Workbook()
    ws = wb.active
    ws.title = data["table"].get("sheet", "Sheet1")
    for r, row in enumerate(data["table"]["rows"], start=1):
        for c, value in enumerate(row, start=1):
            if value == "" or value is None:
                continue
            cell = ws.cell(r, c)
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # published text, never a formula
    for rng in data["table"].get("merges", []):
        ws.merge_cells(rng)
    wb.properties.creator = "xlperf corpus"
    return template_workbook_bytes(wb)


def build(ids: list[str] | None = None) -> list[Path]:
    written = []
    for source in sorted(SOURCES.glob("*.toml")):
        if ids and source.stem not in ids:
            continue
        target = HERE / f"{source.stem}.xlsx"
        blob = workbook_bytes(load(source))
        if not target.exists() or target.read_bytes() != blob:
            target.write_bytes(blob)
        written.append(target)
    return written


if __name__ == "__main__":
    for path in build(sys.argv[1:] or None):
        print(path.relative_to(HERE.parent.parent))
