"""The recalc pipeline: workbook → projects → rules → generated sheets.

Plain functions, one per stage, like a loader: read (readers.input_sheet),
score (rules.score_project), write (writers.*). Findings travel beside results.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from openpyxl.packaging.custom import StringProperty
from openpyxl.workbook.workbook import Workbook

from . import layout as L
from .model import ERROR, Finding, ProjectResult
from .profiles import Profile, load_profile
from .readers.input_sheet import read_projects
from .rules import score_project
from .values import format_number
from .workbook_io import UnreadableWorkbook, open_workbook

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class RecalcReport:
    file: str
    results: tuple[ProjectResult, ...]
    annex_sheets: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def has_errors(self) -> bool:
        return any(f.severity == ERROR for f in self.findings)

    def as_json(self) -> dict:
        return {
            "file": self.file,
            "projects": [
                {
                    "name": r.project.name,
                    "sheet": r.project.sheet,
                    "annex_sheet": annex,
                    "total": format_number(r.total),
                    "grade": r.grade,
                    "budget_execution_rate": None if r.budget_execution_rate is None else str(r.budget_execution_rate),
                }
                for r, annex in zip(self.results, self.annex_sheets)
            ],
            "findings": [f.as_json() for f in self.findings],
        }


def score_workbook(wb: Workbook, source: Path, profile: Profile, progress: Progress | None = None) -> list[ProjectResult]:
    cached = _CachedValues(source)
    projects = read_projects(wb, cached, profile)
    results = []
    for i, project in enumerate(projects, start=1):
        results.append(score_project(project, profile))
        if progress:
            progress("评分", i, len(projects))
    return results


def recalc_workbook(path: Path, output: Path | None = None, profile: Profile | None = None,
                    progress: Progress | None = None, crosscheck: bool = True) -> RecalcReport:
    """Score every input sheet and write 附件1, 汇总 and 校验结果 into OUTPUT (default: the workbook itself)."""
    from .writers.save import save_workbook_atomic

    profile = profile or load_profile()
    path = Path(path)
    wb = open_workbook(path)
    results = score_workbook(wb, path, profile, progress)
    if not results:
        # Nothing to score: never add sheets to someone else's workbook (a reviewer's 附件1, say).
        raise UnreadableWorkbook(f"{path.name} 中没有找到项目录入表（A1 为“{L.INPUT_TITLE}”的工作表），未写入任何内容；"
                                 "审核已填好的附件1请用 xlperf check，新建主工作簿请用 xlperf new")
    if crosscheck:
        results = crosscheck_results(wb, path, results)
    findings = tuple(f for r in results for f in r.findings)
    annex_sheets = write_generated_sheets(wb, results, findings, progress)
    save_workbook_atomic(wb, Path(output) if output else path)
    return RecalcReport(file=str(path), results=tuple(results), annex_sheets=tuple(annex_sheets), findings=findings)


def crosscheck_results(wb: Workbook, path: Path, results: list[ProjectResult]) -> list[ProjectResult]:
    """Add the formula cross-check's findings to each project they concern."""
    from .crosscheck import crosscheck

    extra: dict[str, list[Finding]] = {}
    for f in crosscheck(wb, path, results):
        extra.setdefault(f.sheet, []).append(f)
    return [dataclasses.replace(r, findings=r.findings + tuple(extra.get(r.project.sheet, ()))) for r in results]


def write_generated_sheets(wb: Workbook, results: list[ProjectResult], findings, progress: Progress | None = None) -> list[str]:
    """Replace the sheets xlperf generated last time by fresh ones; never touch another sheet."""
    from .writers.annex import write_annex_sheet
    from .writers.findings_sheet import write_findings_sheet
    from .writers.summary import write_summary_sheet

    for name in generated_sheet_names(wb):
        if name in wb.sheetnames:
            del wb[name]
    taken = set(wb.sheetnames)

    def claim(base: str, prefix: str = "") -> str:
        name = L.safe_sheet_name(base, taken, prefix=prefix, reserved=False)
        taken.add(name)
        return name

    summary, findings_name = claim(L.SUMMARY_SHEET), claim(L.FINDINGS_SHEET)
    annex_names = [claim(r.project.name, prefix=L.ANNEX_PREFIX) for r in results]
    write_summary_sheet(wb, list(results), sheet_name=summary, annex_sheets=annex_names)
    write_findings_sheet(wb, list(findings), sheet_name=findings_name)
    for i, (result, name) in enumerate(zip(results, annex_names), start=1):
        write_annex_sheet(wb, result, name, unit=result.project.meta.get("unit") or None,
                          year=result.project.meta.get("year") or None)
        if progress:
            progress("生成附件1", i, len(results))
    _record_generated(wb, [summary, findings_name, *annex_names])
    return annex_names


def generated_sheet_names(wb: Workbook) -> list[str]:
    for prop in wb.custom_doc_props.props:
        if prop.name == L.GENERATED_PROPERTY:
            try:
                names = json.loads(prop.value)
            except (TypeError, ValueError):
                return []
            return [n for n in names if isinstance(n, str)]
    return []


def _record_generated(wb: Workbook, names: list[str]) -> None:
    props = wb.custom_doc_props
    for prop in list(props.props):
        if prop.name == L.GENERATED_PROPERTY:
            props.props.remove(prop)
    props.append(StringProperty(name=L.GENERATED_PROPERTY, value=json.dumps(names, ensure_ascii=False)))


class _CachedValues:
    """Cached values of formula cells, loaded only if a non-template formula needs one."""

    def __init__(self, path: Path):
        self.path = path
        self._wb = None

    def __call__(self, sheet: str, cell: str):
        if self._wb is None:
            self._wb = open_workbook(self.path, data_only=True)
        try:
            return self._wb[sheet][cell].value
        except KeyError:
            return None
