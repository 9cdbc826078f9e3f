"""The corpus score: `python tests/corpus/score.py [--verbose] [ID ...]`.

Runs `xlperf check` over every table of tests/corpus/ and compares with the verdict worked out by
hand in its source (src/<id>.toml): tables found, totals and grades recomputed exactly, wrong
published cells flagged at their cell with the hand-worked correct value, a warning on every cell
that only a judgement explains, and errors raised on cells that are right (false errors).

A wrong cell counts as found only when an error at that cell gives, as its expected value, the
source's `correct` value at the precision the hand gave it (95.86% agrees with 0.959; 100.00% with
100%). In a partial table (complete = false) no total or grade is compared, and errors that depend on
the rows cut off are left out of the false errors: the table-wide codes (TABLE_WIDE: the weights' sum,
the published 总分 and grade, no indicator table), any error on the table's last (cut) row, and a
一级 group's points sum (GROUP_WIDE) when the group runs on to the cut.
"""
from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from xlperf.check import check_workbook, grade_rank  # noqa: E402
from xlperf.model import ERROR, WARNING  # noqa: E402
from xlperf.values import half_up  # noqa: E402
from xlperf.profiles import load_profile  # noqa: E402

PROFILE = load_profile("default")
TABLE_WIDE = {"weights-sum", "no-indicators", "no-indicator-table", "published-total-mismatch", "published-total-arithmetic", "published-grade-mismatch"}
GROUP_WIDE = {"level1-points-mismatch"}  # a sum over one 一级 group's rows, reported at the group's label


_AMOUNT = re.compile(r"\s*([+-]?\d+(?:\.\d+)?)\s*(%?)")


def _amount(text: object) -> tuple[Decimal, int] | None:
    """The leading number of a value as a plain fraction-or-number and its decimal places ("95.9%" → 0.959, 3)."""
    m = _AMOUNT.match(str(text).replace(",", ""))
    if not m:
        return None
    number = Decimal(m.group(1))
    places = max(-number.as_tuple().exponent, 0)
    if m.group(2):
        return number / 100, places + 2
    return number, places


def agrees(expected: object, correct: object) -> bool:
    """A finding's expected value is the hand-worked correct value, at the precision of the correct one."""
    if expected is None:
        return False
    e, c = _amount(expected), _amount(correct)
    if e is None or c is None:
        return "".join(str(expected).split()) == "".join(str(correct).split())
    return half_up(e[0], Decimal(1).scaleb(-c[1])) == c[0]


def _row(cell: str) -> int:
    digits = "".join(ch for ch in cell if ch.isdigit())
    return int(digits) if digits else 0


def _col(cell: str) -> int:
    n = 0
    for ch in cell:
        if ch.isalpha():
            n = n * 26 + ord(ch.upper()) - 64
    return n


def _group_runs_to(rows: list[list], cell: str, last: int) -> bool:
    """The group labelled at `cell` runs on to the table's last row: no later label in its column before it."""
    col, start = _col(cell) - 1, _row(cell)
    return not any(col < len(rows[r - 1]) and rows[r - 1][col] not in ("", None) for r in range(start + 1, min(last, len(rows)) + 1))



@dataclass
class Outcome:
    id: str
    family: str
    province: str
    complete: bool
    found: bool
    form: str | None
    total_ok: bool | None  # None: partial table, no total expected
    missed: list[str] = field(default_factory=list)  # wrong published cells not flagged with the correct value
    judgements_missed: list[str] = field(default_factory=list)  # judgement cells without a warning
    false_errors: list[str] = field(default_factory=list)  # errors on cells that are right
    wrong: int = 0
    judgements: int = 0
    detail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.found and self.total_ok is not False and not self.missed and not self.false_errors
                and not self.judgements_missed)


def sources(ids: list[str] | None = None) -> list[Path]:
    return [p for p in sorted((HERE / "src").glob("*.toml")) if not ids or p.stem in ids]


def score_one(source: Path) -> Outcome:
    data = tomllib.loads(source.read_text("utf-8"))
    meta, expected = data["source"], data.get("expected", {})
    path = HERE / f"{source.stem}.xlsx"
    if not path.exists():  # not built yet: check the source's cells as build.py would write them
        import tempfile

        from build import workbook_bytes

        path = Path(tempfile.mkdtemp()) / path.name
        path.write_bytes(workbook_bytes(data))
    report = check_workbook(path, PROFILE, crosscheck=False)
    errors = [f for f in report.findings if f.severity == ERROR]
    if not meta.get("complete", True):
        # A cut-off copy: what depends on the missing rows (the weights' sum, the 总分) and the cut row itself say nothing.
        last = max((t.last_row for t in report.tables), default=0)
        errors = [f for f in errors if f.code not in TABLE_WIDE and _row(f.cell) != last]
        # a group cut off with the copy: its sum says nothing either
        errors = [f for f in errors if not (f.code in GROUP_WIDE and _group_runs_to(data["table"]["rows"], f.cell, last))]
    error_cells = {f.cell for f in errors if f.code != "no-table"}
    wrong = {w["cell"] for w in expected.get("wrong", [])}
    judgements = {j["cell"] for j in expected.get("judgement", [])}
    warning_cells = {f.cell for f in report.findings if f.severity == WARNING}
    found = bool(report.tables)
    out = Outcome(source.stem, meta["family"], meta["province"], bool(meta.get("complete", True)), found,
                  report.tables[0].form if found else None, None, wrong=len(wrong))
    if out.complete and found:
        t = report.tables[0]
        total_ok = t.total is not None and t.total == Decimal(expected["total"]).quantize(Decimal("0.01"))
        grade_ok = grade_rank(t.grade, PROFILE) == grade_rank(expected["grade"], PROFILE)
        out.total_ok = total_ok and grade_ok
        if not out.total_ok:
            out.detail.append(f"总分 {t.total} {t.grade}，应为 {expected['total']} {expected['grade']}")
    for w in expected.get("wrong", []):
        at_cell = [f for f in errors if f.cell == w["cell"]]
        if not any(agrees(f.expected, w["correct"]) for f in at_cell):
            out.missed.append(w["cell"])
            given = "、".join(f"{f.code} 应为 {f.expected}" for f in at_cell)
            out.detail.append(f"漏报 {w['cell']}（应为 {w['correct']}）" + (f"：只报了 {given}" if given else ""))
    out.missed.sort()
    out.false_errors = sorted(error_cells - wrong)
    for f in errors:
        if f.cell in out.false_errors:
            out.detail.append(f"误报 {f.cell} {f.code}: {f.message}")
    out.judgements = len(judgements)
    out.judgements_missed = sorted(judgements - warning_cells)
    for cell in out.judgements_missed:
        out.detail.append(f"评价人判断的单元格 {cell} 没有警告")
    return out


def score(ids: list[str] | None = None) -> list[Outcome]:
    return [score_one(p) for p in sources(ids)]


def table(outcomes: list[Outcome]) -> str:
    complete = [o for o in outcomes if o.complete]
    provinces = sorted({o.province for o in outcomes})
    families = sorted({o.family for o in outcomes})
    wrong = sum(o.wrong for o in outcomes)
    missed = sum(len(o.missed) for o in outcomes)
    judgements = sum(o.judgements for o in outcomes)
    judgements_missed = sum(len(o.judgements_missed) for o in outcomes)
    lines = [
        f"表格 {len(outcomes)} 张（完整 {len(complete)}，部分 {len(outcomes) - len(complete)}），"
        f"{len(provinces)} 个省份，{len(families)} 类表样",
        f"找到表格        {sum(o.found for o in outcomes)}/{len(outcomes)}",
        f"总分和等级一致  {sum(bool(o.total_ok) for o in complete)}/{len(complete)}",
        f"错误单元格找到（给出正确值）  {wrong - missed}/{wrong}",
        f"评价人判断有警告  {judgements - judgements_missed}/{judgements}",
        f"误报（对的单元格报错误）  {sum(len(o.false_errors) for o in outcomes)}",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    verbose = "--verbose" in argv
    ids = [a for a in argv if not a.startswith("--")]
    outcomes = score(ids or None)
    for o in outcomes:
        mark = "✓" if o.ok else "✗"
        print(f"{mark} {o.id:48} {o.form or '—':10} {'部分' if not o.complete else ''}")
        if verbose or not o.ok:
            for line in o.detail:
                print("    " + line)
    print()
    print(table(outcomes))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
