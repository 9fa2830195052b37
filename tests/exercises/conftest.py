"""The exercises as CI sees them: every exercise's checks, run against its solution and its starter.

``verdicts`` runs them all once per test session, two at a time (one pytest
process per exercise and implementation, as the runner does), and the tests in
this folder read the outcomes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from exercises.catalog import Exercise, load_catalog
from exercises.checker import Outcome, check

CATALOG = load_catalog()
PARALLEL = 2  # the CI machine has 2 cores


@pytest.fixture(scope="session")
def verdicts() -> dict[tuple[str, str], Outcome]:
    """(exercise id, "solution" or "starter") -> the outcome of that exercise's checks."""
    jobs: list[tuple[Exercise, str]] = [(e, variant) for e in CATALOG for variant in ("solution", "starter")]
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        outcomes = pool.map(lambda job: check(job[0], job[0].path / job[1]), jobs)
        return {(exercise.id, variant): outcome for (exercise, variant), outcome in zip(jobs, outcomes, strict=True)}


def exercise_ids() -> list[str]:
    return [e.id for e in CATALOG]
