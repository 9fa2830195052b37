"""Every exercise is proven a third way: each wrong attempt in its catalog is rejected, by name.

``exercises/exNN_slug/wrong/*.py`` are realistic wrong solutions (see
``exercises/wrong.py``). For each one, the exercise's checks run against the
solution with that file swapped in, as the runner would run them against a
learner's copy, and must: fail; fail in every check the attempt names, with a
message that mentions its mistake; and fail only with teaching assertions
(Expected/Got/Usually), never with an error of the checks themselves.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from exercises.checker import Outcome, check
from exercises.wrong import WrongAttempt, build, wrong_attempts

from .conftest import CATALOG, PARALLEL
from .test_both_ways import teaches

ATTEMPTS = [attempt for exercise in CATALOG for attempt in wrong_attempts(exercise)]
# The exercises whose mistakes include ones that need two threads acting at once.
CONCURRENT = {"ex01", "ex02", "ex03", "ex04", "ex05", "ex06", "ex07", "ex09", "ex10", "ex13"}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("wrong")

    def run(job: tuple[int, WrongAttempt]) -> Outcome:
        n, attempt = job
        return check(attempt.exercise, build(attempt, root / str(n)))

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = pool.map(run, enumerate(ATTEMPTS))
        return {attempt.name: outcome for attempt, outcome in zip(ATTEMPTS, results, strict=True)}


@pytest.mark.parametrize("exercise", CATALOG, ids=lambda e: e.id)
def test_each_exercise_keeps_at_least_three_wrong_attempts(exercise: object) -> None:
    attempts = [a for a in ATTEMPTS if a.exercise is exercise]
    assert len(attempts) >= 3, f"{exercise}: {len(attempts)} wrong attempts; at least three"
    if exercise.id[:4] in CONCURRENT:  # type: ignore[attr-defined]
        assert any(a.kind == "race" for a in attempts), f"{exercise}: no attempt wrong only under an interleaving"


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=lambda a: a.name)
def test_each_wrong_attempt_is_rejected_with_a_message_that_names_its_mistake(
    outcomes: dict[str, Outcome], attempt: WrongAttempt
) -> None:
    outcome = outcomes[attempt.name]
    shown = f"{attempt.mistake}\n{outcome.output[-5000:]}"
    assert not outcome.passed, f"{attempt.name} passes every check: {shown}"
    errors = [f"{f.test}: {f.message}" for f in outcome.failures if f.kind == "error"]
    assert not errors, f"{attempt.name}: the checks errored instead of failing: {errors}\n{shown}"
    failed = {f.test: f for f in outcome.failures}
    for name in attempt.caught_by:
        assert name in failed, f"{attempt.name}: {name} passed (failed: {sorted(failed)})\n{shown}"
        text = f"{failed[name].message}\n{failed[name].details}"
        assert attempt.mentions.lower() in " ".join(text.lower().split()), (
            f"{attempt.name}: the failure of {name} does not mention {attempt.mentions!r}:\n{text}"
        )
        assert teaches(failed[name]), f"{attempt.name}: {name} fails without an Expected/Got/Usually message\n{shown}"


def test_the_catalog_files_are_whole_modules_named_after_their_mistake() -> None:
    for attempt in ATTEMPTS:
        assert Path(attempt.path).parent.name == "wrong"
        assert attempt.mistake and attempt.mentions, attempt.name
