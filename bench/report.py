"""The human side of the results: a table on stdout, and two runs side by side."""

from __future__ import annotations

from typing import Any

from bench.results import GOALS, Results


def _format(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _goal(name: str, value: float | None, conditions: dict[str, Any]) -> str:
    goal = GOALS.get(name)
    if goal is None:
        return ""
    reason = goal.not_judged(conditions)
    if reason is not None:
        return f"  [goal {goal.describe()}, {goal.why}: {reason}]"
    verdict = {True: "met", False: "MISSED", None: "not measured"}[goal.met(value)]
    return f"  [goal {goal.describe()}, {goal.why}: {verdict}]"


def table(results: Results) -> str:
    """Every figure with its unit, and its goal where the project has one."""
    width = max(len(name) for name in results.figures)
    lines = [f"{'figure':<{width}}  {'value':>14}  unit", "-" * (width + 24)]
    for name, figure in results.figures.items():
        lines.append(
            f"{name:<{width}}  {_format(figure.value):>14}  {figure.unit}"
            f"{_goal(name, figure.value, results.conditions)}"
        )
    return "\n".join(lines)


def comparison(before: Results, after: Results) -> str:
    """Each figure of two runs and their ratio (after / before); where a direction is
    known, 'better' or 'worse' says which way it moved."""
    names = list(before.figures) + [n for n in after.figures if n not in before.figures]
    width = max(len(name) for name in names)
    lines = [
        f"{'figure':<{width}}  {'before':>14}  {'after':>14}  {'ratio':>7}",
        "-" * (width + 44),
    ]
    for name in names:
        old, new = before.figures.get(name), after.figures.get(name)
        ratio, verdict = None, ""
        if old and new and old.value and new.value is not None:
            ratio = new.value / old.value
            higher = (new or old).higher_is_better
            if higher is not None and abs(ratio - 1) >= 0.05:
                verdict = "better" if (ratio > 1) == higher else "worse"
        lines.append(
            f"{name:<{width}}  {_format(old.value if old else None):>14}  "
            f"{_format(new.value if new else None):>14}  "
            f"{'-' if ratio is None else f'{ratio:.2f}x':>7}  {verdict}"
        )
    return "\n".join(lines)
