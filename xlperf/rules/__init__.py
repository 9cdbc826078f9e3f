"""The scoring rules: pure functions over immutable records (domain.md)."""
from .budget import derive_budget, rate_points
from .indicator import completion_rate, indicator_score, infer_direction, score_indicator
from .project import grade, score_project, total_score

__all__ = [
    "completion_rate", "derive_budget", "grade", "indicator_score", "infer_direction",
    "rate_points", "score_indicator", "score_project", "total_score",
]
