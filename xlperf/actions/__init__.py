"""The one list of ribbon buttons (``actions.toml``): buttons are data, like forms.

Every ribbon xlperf ships is generated from `ACTIONS`: the desktop add-in's customUI and VBA
(`xlperf.addin`), the WPS add-in and the xlwings Server ribbon. Each action names the function of
`xlperf.excel` it runs; those functions call what the command line calls.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources

TAB_LABEL = "绩效自评"


@dataclass(frozen=True)
class Action:
    """One button: id (stable, ASCII), Chinese label, tip, built-in icon (imageMso), the xlperf.excel function."""

    id: str
    label: str
    function: str
    icon: str
    tip: str
    saved_file: bool = False  # works on the saved workbook file: the user is asked to save first

    @property
    def macro(self) -> str:
        """The parameterless VBA macro name (for 自定义功能区, 快速访问工具栏 and form buttons)."""
        return f"{TAB_LABEL}_{self.label}"


def _load() -> tuple[Action, ...]:
    data = tomllib.loads(resources.files(__package__).joinpath("actions.toml").read_text(encoding="utf-8"))
    actions = tuple(Action(**entry) for entry in data["action"])
    ids = [a.id for a in actions]
    if len(set(ids)) != len(ids) or len({a.label for a in actions}) != len(actions):
        raise ValueError("actions.toml: every id and label must be unique")
    return actions


ACTIONS: tuple[Action, ...] = _load()
BY_ID = {a.id: a for a in ACTIONS}
RECALC = BY_ID["recalc"]

__all__ = ["Action", "ACTIONS", "BY_ID", "RECALC", "TAB_LABEL"]
