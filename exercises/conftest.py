"""Settings for running exercise tests (each run is its own pytest process; see ``exercises.checker``).

Every check has a time budget (``support.BUDGET``, or ``@pytest.mark.budget(seconds)``):
the solutions pass each check in well under a tenth of it, so a check still
running at the end of its budget is waiting for something that will not happen.
It fails then, with a message saying so, instead of passing slowly: a missed
wake-up that only costs a timeout's worth of seconds is still a bug.
"""

from __future__ import annotations

import signal
import sys
import sysconfig
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, Phase, settings

from exercises.support import BUDGET, explain

# Sized for a shared 2-core machine; a learner's own @settings still wins. Derandomized, so that a
# run's verdict is repeatable: the same code gets the same examples, in CI and on a learner's machine.
# No "explain" phase: its coverage notes would crowd out the failure message that matters.
settings.register_profile(
    "exercises",
    max_examples=60,
    deadline=None,
    derandomize=True,
    phases=[phase for phase in Phase if phase is not Phase.explain],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("exercises")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "budget(seconds): the time this check may take (default: support.BUDGET)")


_LIBRARY = tuple({sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")})


def _where(frame: FrameType | None) -> str:
    """The innermost frame of the learner's code, or of the check, that was running (not the library's)."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_LIBRARY) and not filename.startswith("<") and filename != __file__:
            path = Path(filename)
            return f"{frame.f_code.co_name}() in {path.parent.name}/{path.name}, line {frame.f_lineno}"
        frame = frame.f_back
    return "the check"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    marker = item.get_closest_marker("budget")
    seconds = float(marker.args[0]) if marker else BUDGET
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield  # no interval timer (Windows): the checks' own deadlock detectors still apply
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise AssertionError(explain(
            expected=f"this check to finish within {seconds:g} s (the solution needs a small fraction of that)",
            got=f"it was still running after {seconds:g} s, waiting in {_where(frame)}",
            usually="a thread waits for a wake-up that never comes: a notify() that wakes one waiter where "
            "several wait (notify_all), a wait() that is not in a `while` loop re-checking its condition "
            "(a notify sent before the wait is lost), or a deadline that is never computed (timeout=None)",
        ))

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.stderr.flush()
