"""Scoring profiles: where provinces differ, the difference is data, not code.

Each profile is a TOML file in this folder; see domain.md §8.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Mapping

DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    level1_weight_check: str  # off | warning | error
    level1_weights: Mapping[str, Decimal]
    reverse_rule: str  # ratio | linear2x
    over_achievement_threshold: Decimal
    budget_score_integer: bool
    grade_labels: tuple[str, str, str, str]
    grade_bounds: tuple[Decimal, Decimal, Decimal]


def available_profiles() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(__package__).iterdir() if p.name.endswith(".toml"))


def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    """Load a named profile; raises KeyError with the known names if unknown."""
    if name not in available_profiles():
        raise KeyError(f"未知的评分规则配置“{name}”，可选：{'、'.join(available_profiles())}")
    data = tomllib.loads(resources.files(__package__).joinpath(f"{name}.toml").read_text("utf-8"))
    return Profile(
        name=data["name"],
        description=data["description"],
        level1_weight_check=data["level1_weight_check"],
        level1_weights={k: Decimal(v) for k, v in data["level1_weights"].items()},
        reverse_rule=data["reverse_rule"],
        over_achievement_threshold=Decimal(data["over_achievement_threshold"]),
        budget_score_integer=bool(data["budget_score_integer"]),
        grade_labels=tuple(data["grade_labels"]),
        grade_bounds=tuple(Decimal(b) for b in data["grade_bounds"]),
    )
