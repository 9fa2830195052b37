"""How long each check takes against the solution, next to the time budget every check has.

``python -m exercises.timing`` runs every exercise's checks against its
solution (a pytest process each, as the runner does) and prints, per exercise,
the slowest check and its share of the budget (``support.BUDGET``, or the
check's own ``@pytest.mark.budget``). The budget is a deadlock detector: a
missed wake-up must fail, not pass slowly, so the solutions should need a small
fraction of it. A measurement on the machine at hand, not a test.
"""

from __future__ import annotations

from .catalog import load_catalog
from .checker import check
from .support import BUDGET


def main() -> None:
    print(f"budget per check: {BUDGET:g} s")
    slowest_overall = 0.0
    for exercise in load_catalog():
        outcome = check(exercise, exercise.solution)
        name, seconds = max(outcome.durations, key=lambda item: item[1], default=("-", 0.0))
        slowest_overall = max(slowest_overall, seconds)
        total = sum(t for _, t in outcome.durations)
        verdict = "passed" if outcome.passed else "FAILED"
        print(f"{exercise.id:28} {verdict} {outcome.tests:3} checks  total {total:6.3f} s  "
              f"slowest {seconds:6.3f} s ({seconds / BUDGET:5.1%} of the budget)  {name}")
    margin = BUDGET / max(slowest_overall, 1e-9)
    print(f"slowest check of all: {slowest_overall:.3f} s, {margin:.0f}x inside the budget")


if __name__ == "__main__":
    main()
