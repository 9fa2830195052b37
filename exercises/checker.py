"""Run one exercise's tests against one implementation, in a pytest process of its own.

``check(exercise, implementation)`` runs ``pytest exercises/<exercise>/`` with
``EXERCISE_IMPL`` set to the implementation's directory (the starter, the
solution or a learner's copy) and returns an ``Outcome`` with the counts read
from pytest's JUnit XML report. A process per check keeps checks apart: a
starter's stuck thread, a Django configuration, a hypothesis database entry
cannot leak from one check into another. The runner and the CI tests both use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .catalog import Exercise
from .target import ENV, EXERCISES

__all__ = ["Failure", "Outcome", "check"]

ROOT = EXERCISES.parent
TIMEOUT = 300.0  # seconds for a whole exercise: a deadlock detector (each test also has pytest's own timeout)


@dataclass(frozen=True)
class Failure:
    """One failed (or errored) test: its name, pytest's (possibly shortened) message, and the full report."""

    test: str
    kind: str  # "failure" or "error"
    message: str
    details: str = ""


@dataclass(frozen=True)
class Outcome:
    """What one run of an exercise's tests found."""

    exercise: str
    implementation: Path
    returncode: int
    tests: int
    failures: tuple[Failure, ...] = ()
    skipped: int = 0
    output: str = ""  # pytest's output when captured, else ""
    elapsed: float = 0.0
    collected: bool = field(default=True)  # False if pytest reported no test cases at all
    durations: tuple[tuple[str, float], ...] = ()  # (check, seconds pytest measured for it)

    @property
    def passed(self) -> bool:
        return self.returncode == 0 and self.tests > 0 and not self.failures

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def could_not_run(self) -> bool:
        """True if the checks never ran: nothing collected, or the code under test did not import."""
        return not self.collected or any(f.kind == "error" and f.message == "collection failure" for f in self.failures)


def check(
    exercise: Exercise, implementation: Path, *, capture: bool = True, extra_args: tuple[str, ...] = ()
) -> Outcome:
    """Run ``exercise``'s tests with the code in ``implementation``; pytest's output is captured or shown."""
    with tempfile.TemporaryDirectory(prefix="exercise-") as tmp:
        report = Path(tmp) / "junit.xml"
        env = {**os.environ, ENV: str(implementation.resolve())}
        env.pop("DJANGO_SETTINGS_MODULE", None)  # an exercise that uses Django brings its own settings
        command = [
            sys.executable, "-m", "pytest", str(exercise.path), "-q", "--tb=short", "--no-header",
            # Every assertion in the exercises carries its own message (what was expected, what
            # happened, what it usually means), so pytest's assertion rewriting adds little, and
            # without bytecode caching it costs about a second per run (it rewrites hypothesis).
            "--assert=plain",
            # The interleaving explorer's pytest plugin is not used here and is slow to import.
            "-p", "no:frontrun",
            "-p", "no:cacheprovider", f"--junitxml={report}", "-o", "junit_family=xunit1", *extra_args,
        ]
        started = time.monotonic()
        completed = subprocess.run(
            command, cwd=ROOT, env=env, timeout=TIMEOUT, text=True,
            stdout=subprocess.PIPE if capture else None, stderr=subprocess.STDOUT if capture else None,
        )
        elapsed = time.monotonic() - started
        tests, skipped, failures = _read_report(report)
        durations = _read_durations(report)
    return Outcome(
        exercise=exercise.id,
        implementation=implementation,
        returncode=completed.returncode,
        tests=tests,
        failures=failures,
        skipped=skipped,
        output=completed.stdout or "",
        elapsed=elapsed,
        collected=tests > 0,
        durations=durations,
    )


def _read_report(report: Path) -> tuple[int, int, tuple[Failure, ...]]:
    if not report.exists():
        return 0, 0, ()
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = skipped = 0
    failures: list[Failure] = []
    for suite in suites:
        for case in suite.iter("testcase"):
            tests += 1
            name = case.get("name", "?")
            for kind in ("failure", "error"):
                element = case.find(kind)
                if element is not None:
                    details = (element.text or "").strip()
                    message = (element.get("message") or details).strip()
                    failures.append(Failure(name, kind, message, details))
                    break
            else:
                if case.find("skipped") is not None:
                    skipped += 1
    return tests, skipped, tuple(failures)


def _read_durations(report: Path) -> tuple[tuple[str, float], ...]:
    if not report.exists():
        return ()
    return tuple((case.get("name", "?"), float(case.get("time") or 0.0))
                 for case in ET.parse(report).getroot().iter("testcase"))
