"""Every exercise is proven both ways: its solution passes its checks, its untouched starter fails them.

And the starter fails *usefully*: its checks are collected and run (the starter
imports), and every failure is an assertion whose message teaches (what was
Expected, what it Got, what that Usually means), not a crash.
"""

from __future__ import annotations

import pytest

from exercises.checker import Failure, Outcome

from .conftest import exercise_ids


def summary(outcome: Outcome) -> str:
    return f"{outcome.tests} checks, {outcome.failed} failed, rc={outcome.returncode}\n{outcome.output[-4000:]}"


def teaches(failure: Failure) -> bool:
    """An assertion whose message says what was expected, what happened, and what that usually means."""
    text = f"{failure.message}\n{failure.details}"
    parts = ("Expected:", "Got:", "Usually:")
    return failure.message.startswith("AssertionError") and all(part in text for part in parts)


@pytest.mark.parametrize("exercise", exercise_ids())
def test_the_solution_passes_every_check(verdicts: dict[tuple[str, str], Outcome], exercise: str) -> None:
    outcome = verdicts[(exercise, "solution")]
    assert outcome.passed, f"the solution of {exercise} fails its own checks: {summary(outcome)}"
    assert outcome.skipped == 0, f"{exercise}: {outcome.skipped} checks were skipped against the solution"


@pytest.mark.parametrize("exercise", exercise_ids())
def test_the_untouched_starter_fails_with_teaching_assertions(
    verdicts: dict[tuple[str, str], Outcome], exercise: str
) -> None:
    outcome = verdicts[(exercise, "starter")]
    assert not outcome.passed and outcome.failed >= 1, f"{exercise}: the starter passes its checks: {summary(outcome)}"
    errors = [f for f in outcome.failures if f.kind == "error"]
    assert not errors, f"{exercise}: the starter errors instead of failing (does it import?): {errors}"
    untaught = [f.test for f in outcome.failures if not teaches(f)]
    assert not untaught, f"{exercise}: failures without an Expected/Got/Usually message: {untaught}"
    solution = verdicts[(exercise, "solution")]
    assert outcome.tests == solution.tests, f"{exercise}: the starter and the solution ran different checks"
