"""The checks are specific: a half-right fix fails exactly the checks about the half that is missing.

Each case takes an exercise's solution, puts back one classic mistake, and runs
the exercise's checks against the result (as the runner would): exactly the
checks named here must fail, and every other check must pass. This is what lets
a failure message say what the mistake usually is.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from exercises.catalog import find, load_catalog
from exercises.checker import Outcome, check

from .conftest import PARALLEL


@dataclass(frozen=True)
class HalfFix:
    exercise: str
    module: str
    right: str  # text of the solution...
    wrong: str  # ...replaced by the mistake
    fails: frozenset[str]  # the checks that must fail (test names, parameters included)


CASES = {
    "catching Exception, not BaseException": HalfFix(
        "1", "worker.py", "except BaseException:", "except Exception:",
        frozenset({"test_the_task_after_a_failing_task_still_runs[SystemExit]"}),
    ),
    "task_done only after a success": HalfFix(
        "1", "worker.py", "            finally:\n                self._queue.task_done()",
        "            else:\n                self._queue.task_done()\n            finally:",
        frozenset({"test_a_failed_task_is_marked_done_so_join_returns"}),
    ),
    "a new lock for every call": HalfFix(
        "5", "stats.py", "with self._lock:", "with threading.Lock():",
        frozenset({f"test_two_workers_recording_at_once_are_both_counted_in_every_interleaving[{case}]"
                   for case in ("record_start-started", "record_success-succeeded", "record_failure-failed")}),
    ),
    "atomic transitions, unlocked snapshot": HalfFix(
        "6", "stats.py", "        with self._lock:\n            return {", "        if True:\n            return {",
        frozenset({"test_a_transition_in_the_middle_of_a_snapshot_cannot_tear_it"}),
    ),
    "lazy start without a fork hook": HalfFix(
        "10", "pool.py", "os.register_at_fork(after_in_child=_reset_pools_in_child)", "",
        frozenset({"test_a_child_forked_after_the_pool_ran_tasks_gets_a_working_pool",
                   "test_the_parents_backlog_does_not_run_in_the_child",
                   "test_a_lock_held_at_the_moment_of_the_fork_is_free_in_the_child"}),
    ),
    "on_commit with a late-binding lambda": HalfFix(
        "11", "views.py", "transaction.on_commit(partial(send_invitation.enqueue, user.pk))",
        "transaction.on_commit(lambda: send_invitation.enqueue(user.pk))",
        frozenset({"test_a_committed_request_sends_each_invitation_to_its_own_address_after_the_commit"}),
    ),
}


def run_half_fix(case: HalfFix, directory: Path) -> Outcome:
    exercise = find(load_catalog(), case.exercise)
    shutil.copytree(exercise.solution, directory, ignore=shutil.ignore_patterns("__pycache__"))
    module = directory / case.module
    text = module.read_text(encoding="utf-8")
    assert case.right in text, f"the solution of {exercise.id} no longer contains {case.right!r}"
    module.write_text(text.replace(case.right, case.wrong), encoding="utf-8")
    return check(exercise, directory)


@pytest.fixture(scope="module")
def half_fix_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("half-fixes")
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = {name: pool.submit(run_half_fix, case, root / str(n)) for n, (name, case) in enumerate(CASES.items())}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_a_half_fix_fails_exactly_the_checks_about_its_missing_half(
    half_fix_outcomes: dict[str, Outcome], name: str
) -> None:
    outcome = half_fix_outcomes[name]
    failed = {failure.test for failure in outcome.failures}
    assert outcome.tests > len(failed), f"{name}: every check failed\n{outcome.output[-3000:]}"
    assert failed == CASES[name].fails, f"{name}: failed {sorted(failed)}\n{outcome.output[-3000:]}"
