"""Every check has a time budget: one still running at its end fails, and says what that usually means.

The budget is a deadlock detector, not a latency claim: the solutions pass each
check in a small fraction of it. These tests run a tiny check file through
pytest with the exercises' plugin (``exercises/conftest.py``), as the runner
runs an exercise's checks, and read the verdict from the JUnit report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from exercises.checker import ROOT, _read_report
from exercises.support import BUDGET, DEADLOCK

CHECKS = '''
import threading

import pytest


@pytest.mark.budget(0.5)
def test_waits_for_a_wakeup_that_never_comes():
    done = threading.Condition()
    with done:
        done.wait()  # nobody will ever notify it


@pytest.mark.budget(5)
def test_finishes_well_inside_its_budget():
    threading.Event().wait(0.01)
'''


def run_checks(tmp_path: Path) -> tuple[int, tuple]:
    (tmp_path / "test_checks.py").write_text(CHECKS)
    report = tmp_path / "junit.xml"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path / "test_checks.py"), "-p", "exercises.conftest", "-q",
         "-p", "no:cacheprovider", "-p", "no:frontrun", f"--junitxml={report}", "-o", "junit_family=xunit1",
         "--rootdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    tests, _, failures = _read_report(report)
    return tests, failures, done.stdout  # type: ignore[return-value]


def test_a_check_that_outlives_its_budget_fails_with_a_message_about_missed_wakeups(tmp_path: Path) -> None:
    tests, failures, output = run_checks(tmp_path)
    assert tests == 2, output
    assert [f.test for f in failures] == ["test_waits_for_a_wakeup_that_never_comes"], output
    message = f"{failures[0].message}\n{failures[0].details}"
    for part in ("Expected:", "Got:", "Usually:", "still running after 0.5 s", "notify_all", "`while` loop"):
        assert part in message, f"{part!r} not in the failure:\n{message}"
    assert "test_waits_for_a_wakeup_that_never_comes() in" in message, "it says where the check was waiting"


def test_the_default_budget_leaves_room_for_the_deadlock_detectors_inside_a_check() -> None:
    # A check may wait on two detectors in a row before it can say what went wrong; the budget must let it.
    assert BUDGET >= 2 * DEADLOCK
