"""The registry of published 自评表 forms: layouts are data.

One TOML file per form in this folder describes its title, its sections (info,
项目资金 block, 年度总体目标, 绩效指标), the column order and header names, whether the
budget block is scored and with how many points, where weights live, the total row's
label, grade labels and the amount unit. `vocabulary.toml` adds the header names and
labels people publish beyond each form's own titles. The readers (`check`), the
writers (附件1 in the unit's form), the template and the CLI all ask this module;
adding a province's form is adding a file here plus a test.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Mapping

DEFAULT_FORM = "national"
SEEDS_FORM = "shanxi"
WEIGHT_STYLES = ("column", "level1_header", "percent")


@dataclass(frozen=True)
class Column:
    """One column (or row) of a form: the engine's field and the title the form prints."""

    field: str
    title: str


@dataclass(frozen=True)
class BudgetBlock:
    """The 项目资金 block: amounts by kind (columns) × money by source (rows)."""

    scored: bool
    points: Decimal | None
    label: str
    columns: tuple[Column, ...]
    rows: tuple[Column, ...]

    def column(self, field: str) -> Column | None:
        return next((c for c in self.columns if c.field == field), None)


@dataclass(frozen=True)
class Recognise:
    """What says that a table found in a workbook is of this form: all given conditions hold
    (or those of one of the alternatives in `when`)."""

    title_any: tuple[str, ...] = ()
    header_any: tuple[str, ...] = ()
    header_all: tuple[str, ...] = ()
    budget_points: tuple[Decimal, ...] = ()
    weight_before_target: bool = False
    level1_header_weights: bool = False
    percent_weights: bool = False
    no_weight_column: bool = False
    priority: int = 0
    when: tuple["Recognise", ...] = ()


@dataclass(frozen=True)
class Form:
    name: str
    title: str
    description: str
    example: str
    writable: bool
    weights: str  # column | level1_header | percent
    amount_unit: str  # 万元 | 元
    total_label: str
    grade_label: str
    grade_labels: tuple[str, str, str, str]
    info: str  # line | grid
    info_rows: tuple[tuple[Column, ...], ...]
    budget: BudgetBlock | None
    goals_label: str | None
    goals: tuple[Column, ...]
    indicators_label: str | None
    indicators: tuple[Column, ...]
    widths: tuple[float, ...]
    recognise: Recognise

    @property
    def indicator_fields(self) -> tuple[str, ...]:
        return tuple(c.field for c in self.indicators)

    def indicator_title(self, field: str) -> str | None:
        return next((c.title for c in self.indicators if c.field == field), None)

    @property
    def budget_scored(self) -> bool:
        return self.budget is not None and self.budget.scored


def _columns(pairs) -> tuple[Column, ...]:
    return tuple(Column(field, title) for field, title in pairs or ())


def _form(data: dict) -> Form:
    budget = data.get("budget")
    rec = data.get("recognise", {})
    weights = data.get("weights", "column")
    if weights not in WEIGHT_STYLES:
        raise ValueError(f"form {data.get('name')}: weights must be one of {WEIGHT_STYLES}")
    return Form(
        name=data["name"],
        title=data["title"],
        description=data["description"],
        example=data.get("example", ""),
        writable=bool(data.get("writable", True)),
        weights=weights,
        amount_unit=data.get("amount_unit", "万元"),
        total_label=data.get("total_label", "总分"),
        grade_label=data.get("grade_label", "评价等级"),
        grade_labels=tuple(data["grade_labels"]),
        info=data.get("info", "grid"),
        info_rows=tuple(_columns(row) for row in data.get("info_fields", {}).get("rows", ())),
        budget=None if budget is None else BudgetBlock(
            scored=bool(budget.get("scored", False)),
            points=Decimal(budget["points"]) if budget.get("points") else None,
            label=budget["label"],
            columns=_columns(budget["columns"]),
            rows=_columns(budget["rows"]),
        ),
        goals_label=data.get("goals", {}).get("label"),
        goals=_columns(data.get("goals", {}).get("columns")),
        indicators_label=data["indicators"].get("label"),
        indicators=_columns(data["indicators"]["columns"]),
        widths=tuple(data["indicators"].get("widths", ())),
        recognise=_recognise(rec),
    )


def _recognise(rec: dict) -> Recognise:
    return Recognise(
        title_any=tuple(rec.get("title_any", ())),
        header_any=tuple(rec.get("header_any", ())),
        header_all=tuple(rec.get("header_all", ())),
        budget_points=tuple(Decimal(p) for p in rec.get("budget_points", ())),
        weight_before_target=bool(rec.get("weight_before_target", False)),
        level1_header_weights=bool(rec.get("level1_header_weights", False)),
        percent_weights=bool(rec.get("percent_weights", False)),
        no_weight_column=bool(rec.get("no_weight_column", False)),
        priority=int(rec.get("priority", 0)),
        when=tuple(_recognise(alt) for alt in rec.get("when", ())),
    )


def _files() -> list:
    return sorted((p for p in resources.files(__package__).iterdir()
                   if p.name.endswith(".toml") and p.name != "vocabulary.toml"), key=lambda p: p.name)


@lru_cache(maxsize=None)
def all_forms() -> tuple[Form, ...]:
    """Every registered form, the default first, then by name."""
    forms = [_form(tomllib.loads(p.read_text("utf-8"))) for p in _files()]
    return tuple(sorted(forms, key=lambda f: (f.name != DEFAULT_FORM, f.name)))


def available_forms() -> list[str]:
    return [f.name for f in all_forms()]


def writable_forms() -> list[str]:
    return [f.name for f in all_forms() if f.writable]


class UnknownForm(KeyError):
    def __init__(self, name: str, writable_only: bool = False):
        names = writable_forms() if writable_only else available_forms()
        known = next((f for f in all_forms() if f.name == name), None)
        if known is not None and writable_only:
            why = f"表样“{name}”（{known.title}）只用于审核，不能由项目录入表生成"
        else:
            why = f"未知的表样“{name}”"
        super().__init__(f"{why}，可选：{'、'.join(names)}（xlperf forms 列出全部表样）")
        self.message = self.args[0]

    def __str__(self) -> str:
        return self.message


def load_form(name: str, writable: bool = False) -> Form:
    """The named form; raises UnknownForm (with the known names) otherwise."""
    form = next((f for f in all_forms() if f.name == name), None)
    if form is None or (writable and not form.writable):
        raise UnknownForm(name, writable_only=writable)
    return form


# ---- the vocabulary the readers compare headers with ---------------------------------
@dataclass(frozen=True)
class Vocabulary:
    indicator_fields: Mapping[str, tuple[str, ...]]
    budget_columns: Mapping[str, tuple[str, ...]]
    budget_rows: Mapping[str, tuple[str, ...]]
    total_labels: frozenset[str]
    grade_labels: frozenset[str]
    info_labels: Mapping[str, tuple[str, ...]]  # name/department/unit → labels of the rows above a table


def _merged(base: Mapping[str, list[str]], extra: list[Column]) -> dict[str, tuple[str, ...]]:
    out = {k: list(v) for k, v in base.items()}
    for c in extra:
        out.setdefault(c.field, [])
        if c.title not in out[c.field]:
            out[c.field].append(c.title)
    return {k: tuple(v) for k, v in out.items()}


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """Header names as the readers compare them (raw; readers normalise both sides the same way)."""
    data = tomllib.loads(resources.files(__package__).joinpath("vocabulary.toml").read_text("utf-8"))
    forms = all_forms()
    budgets = [f.budget for f in forms if f.budget is not None]
    labels = data["summary_labels"]
    return Vocabulary(
        indicator_fields=_merged(data["indicator_fields"], [c for f in forms for c in f.indicators]),
        budget_columns=_merged(data["budget_columns"], [c for b in budgets for c in b.columns]),
        budget_rows=_merged(data["budget_rows"], [c for b in budgets for c in b.rows]),
        total_labels=frozenset(labels["total"]) | {f.total_label for f in forms},
        grade_labels=frozenset(labels["grade"]) | {f.grade_label for f in forms},
        info_labels=_merged(data["info_labels"], [c for f in forms for row in f.info_rows for c in row]),
    )


# ---- which form a found table is --------------------------------------------------
@dataclass(frozen=True)
class TableTraits:
    """What a reader saw of one table, for recognising its form."""

    title: str  # the text above the header (title rows), normalised
    headers: tuple[str, ...]  # the header titles found, normalised, in column order
    fields: tuple[str, ...]  # the engine fields of those headers, in column order
    budget_points: Decimal | None  # the budget block's 分值, when it has one (None: no scored block)
    level1_header_weights: bool
    percent_weights: bool


def recognise(traits: TableTraits) -> Form:
    """The registered form the table matches best (national when nothing more specific matches)."""
    def matches(r: Recognise) -> bool:
        if r.when and any(matches(alt) for alt in r.when):
            return True
        if r.title_any and not any(w in traits.title for w in r.title_any):
            return False
        if r.header_any and not any(w in traits.headers for w in r.header_any):
            return False
        if r.header_all and not all(w in traits.headers for w in r.header_all):
            return False
        if r.budget_points and traits.budget_points not in r.budget_points:
            return False
        if r.weight_before_target:
            fields = traits.fields
            if not ("weight" in fields and "target" in fields and fields.index("weight") < fields.index("target")):
                return False
        if r.level1_header_weights and not traits.level1_header_weights:
            return False
        if r.percent_weights and not traits.percent_weights:
            return False
        if r.no_weight_column and "weight" in traits.fields:
            return False
        return True

    candidates = [f for f in all_forms() if matches(f.recognise)]
    if not candidates:
        return load_form(DEFAULT_FORM)
    return max(candidates, key=lambda f: f.recognise.priority)
