"""The recalc pipeline: workbook → projects → rules → generated sheets.

Plain functions, one per stage, like a loader: read (readers.input_sheet),
score (rules.score_project), write (writers.*). Findings travel beside results.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.workbook.workbook import Workbook

from . import layout as L
from .model import ERROR, Finding, ProjectResult
from .forms.recorded import form_for
from .forking import default_workers, fork_map
# imported here, not when first used: the forked 附件1 batches never import (a parent thread may hold the lock)
from .package.write import Grafting, saved
from .writers.annex import write_annex_sheet
from .generated import generated_sheet_names, record_generated  # noqa: F401 (generated_sheet_names re-exported)
from .profiles import Profile, load_profile
from .readers.input_sheet import has_sheet, is_unfilled, read_projects
from .rules import score_project
from .values import format_score
from .workbook_io import UnreadableWorkbook, open_workbook, package_findings, read_book, source_info

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
                    "total": None if r.total is None else format_score(r.total),
                    "grade": r.grade,
                    "budget_execution_rate": None if r.budget_execution_rate is None else str(r.budget_execution_rate),
                }
                for r, annex in zip(self.results, self.annex_sheets)
            ],
            "findings": [f.as_json() for f in self.findings],
        }


def score_workbook(wb: Workbook, source: Path, profile: Profile, progress: Progress | None = None,
                   cached: Callable[[str, str], object] | None = None) -> list[ProjectResult]:
    """cached: the value a formula cell shows, when not the one stored in the file at source."""
    projects = read_projects(wb, cached or _stored_results(wb, source), profile)
    results = []
    for i, project in enumerate(projects, start=1):
        results.append(score_project(project, profile))
        if progress:
            progress("评分", i, len(projects))
    return results


def recalc_workbook(path: Path, output: Path | None = None, profile: Profile | None = None,
                    progress: Progress | None = None, crosscheck: bool = True, form: str | None = None) -> RecalcReport:
    """Score every input sheet and write 附件1, 汇总 and 校验结果 into OUTPUT (default: the workbook itself).

    form: the registered form to write 附件1 in (default: the one the workbook records).

    Only xlperf's generated sheets change in the file: they are made in a workbook of their own and
    grafted into the package (`xlperf.package`); every other part comes back byte for byte."""
    from .safety import writer_lock

    profile = profile or load_profile()
    path = Path(path)
    target = Path(output) if output else path
    with writer_lock(target):  # from reading to replacing: a concurrent add-project is never lost
        wb = read_book(path)  # the generated sheets are replaced, never read
        chosen = form_for(wb, form)  # an unknown --form is refused before anything is scored
        results = score_and_crosscheck(wb, path, profile, progress, crosscheck, workers=None)  # a process of its own
        findings = package_findings(wb) + tuple(f for r in results for f in r.findings)
        print_areas = input_print_areas(wb, results)
        wb.release()  # scored: the cells are not read again, the writing below gets their memory
        old = list(source_info(wb).generated_sheets)
        grafting = Grafting(wb)
        grafting.remove(old)
        others = set(grafting.titles()) | set(wb.sheetnames)
        summary, findings_name, annex_sheets = _generated_names(others, results)
        front = _empty_workbook()
        _write_front(front, results, findings, summary, findings_name, annex_sheets, others)
        grafting.add(front, [summary, findings_name])
        del front
        grafting.forget_produced()  # before the 附件1 batches fork: they need none of it
        pairs = [(r, n) for r, n in zip(results, annex_sheets) if n is not None]
        batches = [pairs[i:i + GRAFT_BATCH] for i in range(0, len(pairs), GRAFT_BATCH)]
        done = 0
        # 附件1 made in batches (in forked processes where there are several cores), grafted in order as they come
        for titles, data in fork_map(_annex_batch, batches, chosen, default_workers(len(pairs), PARALLEL_ANNEX_FROM)):
            grafting.add_bytes(data, titles)
            done += len(titles)
            if progress:
                progress("生成附件1", done, len(pairs))
        grafting.drop_property(L.GENERATED_PROPERTY)
        grafting.follow_print_areas(print_areas, L.PRINT_AREA_MARKER)
        grafting.recalculate_on_open()
        grafting.write(target)
    return RecalcReport(file=str(path), results=tuple(results), annex_sheets=tuple(annex_sheets), findings=findings)


def input_print_areas(wb, results: list[ProjectResult]) -> dict[str, str]:
    """Each input sheet's print area for the rows in use (layout.input_print_ranges), by sheet title."""
    areas = {}
    for r in results:
        positions = r.project.positions
        if positions is None or r.project.sheet not in wb.sheetnames:
            continue
        used = max((i.row for i in r.project.indicators), default=0)
        ranges = L.input_print_ranges(positions, used, wb[r.project.sheet].max_row)
        areas[r.project.sheet] = L.print_area_text(r.project.sheet, ranges)
    return areas


def recalc_in_memory(wb: Workbook, path: Path, profile: Profile, progress: Progress | None = None,
                     crosscheck: bool = True, cached: dict | None = None, form: str | None = None) -> RecalcReport:
    """Score wb's input sheets and write the generated sheets into wb (which is not saved).

    path names the workbook in messages. cached (sheet → (row, column) → value): what
    the formula cells show, when that is not stored in the file at path (an xlwings Book).
    """
    chosen = form_for(wb, form)  # an unknown --form is refused before anything is scored
    results = score_and_crosscheck(wb, path, profile, progress, crosscheck, cached)
    findings = package_findings(wb) + tuple(f for r in results for f in r.findings)
    annex_sheets = write_generated_sheets(wb, results, findings, progress, form=chosen)
    return RecalcReport(file=str(path), results=tuple(results), annex_sheets=tuple(annex_sheets), findings=findings)


def score_and_crosscheck(wb: Workbook, path: Path, profile: Profile, progress: Progress | None = None,
                         crosscheck: bool = True, cached: dict | None = None, workers: int | None = 1) -> list[ProjectResult]:
    """Every input sheet scored, with the formula cross-check's findings. Raises UnreadableWorkbook when there is none."""
    shown = None if cached is None else (lambda sheet, ref: cached.get(sheet, {}).get(coordinate_to_tuple(ref)))
    results = score_workbook(wb, path, profile, progress, cached=shown)
    if not results:
        # Nothing to score: never add sheets to someone else's workbook (a reviewer's 附件1, say).
        raise UnreadableWorkbook(f"{path.name} 中没有找到项目录入表（标题为“{L.INPUT_TITLE}”的工作表），未写入任何内容；"
                                 "审核已填好的附件1请用 xlperf check，新建主工作簿请用 xlperf new")
    if crosscheck:
        results = crosscheck_results(wb, path, results, profile, cached=cached, workers=workers)
    return results


def crosscheck_results(wb: Workbook, path: Path | None, results: list[ProjectResult], profile: Profile | None = None,
                       cached: dict | None = None, workers: int | None = 1) -> list[ProjectResult]:
    """Add the formula cross-check's findings to each project they concern.

    cached: the formulas' stored values (sheet → (row, column) → value) when they do not
    come from the file at path (an xlwings Book: the values Excel shows).
    """
    from .crosscheck import crosscheck

    extra: dict[str, list[Finding]] = {}
    for f in crosscheck(wb, path, results, profile, cached=cached, workers=workers):
        extra.setdefault(f.sheet, []).append(f)
    return [dataclasses.replace(r, findings=r.findings + tuple(extra.get(r.project.sheet, ()))) for r in results]


def write_generated_sheets(wb: Workbook, results: list[ProjectResult], findings, progress: Progress | None = None,
                           form=None) -> list[str]:
    """Replace the sheets xlperf generated last time by fresh ones, 附件1 in `form` (default: the
    workbook's recorded form); never touch another sheet."""
    form = form or form_for(wb)
    for name in generated_sheet_names(wb):
        if name in wb.sheetnames:
            del wb[name]
    annex_names, _ = _write_generated(wb, set(wb.sheetnames), results, findings, progress, form)
    return annex_names


GRAFT_BATCH = 100  # 附件1 sheets produced per workbook before they are grafted into the file


PARALLEL_ANNEX_FROM = 200  # 附件1: below this, forking costs more than it saves


def _generated_names(taken: set[str], results: list[ProjectResult]) -> tuple[str, str, list[str | None]]:
    """Names for 汇总, 校验结果 and each result's 附件1 (None: no 附件1), none of them in taken (case aside)."""
    taken = set(taken)

    def claim(base: str, prefix: str = "") -> str:
        name = L.safe_sheet_name(base, taken, prefix=prefix, reserved=False)
        taken.add(name)
        return name

    summary, findings_name = claim(L.SUMMARY_SHEET), claim(L.FINDINGS_SHEET)
    # A 项目清单 row without its 录入表 is listed in 汇总 (未评分, with the finding) but has no 附件1.
    annex_names = [claim(r.project.name, prefix=L.ANNEX_PREFIX) if has_sheet(r.project) and not is_unfilled(r.project)
                   else None for r in results]
    return summary, findings_name, annex_names


def _write_front(wb: Workbook, results: list[ProjectResult], findings, summary: str, findings_name: str,
                 annex_names: list[str | None], others: set[str]) -> None:
    """汇总 and 校验结果 (marked as generated); others: the workbook's other sheets, which 位置 may link to."""
    from .writers.findings_sheet import write_findings_sheet
    from .writers.summary import write_summary_sheet

    listed = [(r, n) for r, n in zip(results, annex_names) if not is_unfilled(r.project)]  # unused sheets left out
    write_summary_sheet(wb, [r for r, _ in listed], sheet_name=summary, annex_sheets=[n for _, n in listed])
    sheets = sorted(set(others) | {summary, findings_name} | {n for n in annex_names if n})
    write_findings_sheet(wb, list(findings), sheet_name=findings_name, sheets=sheets)
    record_generated(wb, [summary, findings_name])


def _write_annexes(wb: Workbook, pairs, form) -> list[str]:
    for result, name in pairs:
        write_annex_sheet(wb, result, name, unit=result.project.meta.get("unit") or None,
                          year=result.project.meta.get("year") or None, form=form)
    names = [name for _, name in pairs]
    record_generated(wb, names)
    return names


def _annex_batch(form, pairs) -> tuple[list[str], bytes]:
    """One batch of 附件1 in a workbook of its own, as the bytes a Grafting takes."""
    wb = _empty_workbook()
    return _write_annexes(wb, pairs, form), saved(wb)


def _write_generated(wb: Workbook, taken: set[str], results: list[ProjectResult], findings, progress: Progress | None,
                     form) -> tuple[list[str | None], list[str]]:
    """Write 汇总, 校验结果 and each 附件1 into wb under names not in taken (case aside).
    Returns (the 附件1 name of each result or None, every sheet written in order)."""
    summary, findings_name, annex_names = _generated_names(taken, results)
    _write_front(wb, results, findings, summary, findings_name, annex_names, taken)
    pairs = [(r, n) for r, n in zip(results, annex_names) if n is not None]
    for i in range(0, len(pairs), GRAFT_BATCH):
        _write_annexes(wb, pairs[i:i + GRAFT_BATCH], form)
        if progress:
            progress("生成附件1", min(i + GRAFT_BATCH, len(pairs)), len(pairs))
    return annex_names, [summary, findings_name, *(n for n in annex_names if n is not None)]


def _empty_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def _stored_results(wb, source: Path):
    """What a formula cell shows, as stored in the file: a Book kept it beside the formula."""
    from .package.book import Book

    if isinstance(wb, Book):
        return lambda sheet, ref: wb[sheet][ref].cached
    return _CachedValues(source)


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
