"""Hostile tasks: the core keeps its promises for any user code, not only for polite tasks.

The strategies and the judge live in chapter 11 (``chapters/ch11_testing_concurrency/
hostile.py``), where the book teaches them; here they run against the reference core
with the suite's hypothesis profile. ``tests/chapters/test_ch11_testing_concurrency.py``
proves each family fails on the broken variant it guards against.

Also here: every number a caller can pass as a time (a timeout, a delay, a window, a
retry policy's parameters) is refused at the caller when it is not a finite number
(or None where None means "no limit"), and the clock's thread survives callbacks of
every ``BaseException`` kind.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from dualqueue import Debouncer, FakeClock, Retry, SystemClock, TaskSystem, WorkerPool
from dualqueue.retry import NAME_LIMIT
from dualqueue.stats import MESSAGE_LIMIT
from hypothesis import given, settings
from hypothesis import strategies as st

from chapters.ch11_testing_concurrency.hostile import (
    HANG,
    KINDS,
    ErrorSpec,
    Run,
    Subject,
    TaskSpec,
    UserError,
    build_task,
    check_hostile_workload,
    hostile_property,
)
from tests.forking import FORK_WITH_THREADS

# The hostile workloads fork from worker threads on purpose: the child probes that it got
# a fresh pool, then leaves through os._exit. Only 3.12+'s warning about forking a process
# with threads is expected (tests/forking.py); the test below asserts it is raised.
FORK_WARNING = FORK_WITH_THREADS


# --8<-- [start:hostile-property]
@pytest.mark.filterwarnings(FORK_WARNING)
def test_hostile_workloads_keep_every_promise() -> None:
    examples = min(settings().max_examples, 50)
    hostile_property(Subject(), max_examples=examples, derandomize=True)()
# --8<-- [end:hostile-property]


# -- times and delays: finite, or refused at the caller -------------------------------------

# --8<-- [start:times-refused]
NOT_FINITE = [math.nan, math.inf, -math.inf, -1.0, -1e-9]
NOT_NUMBERS = ["1", b"1", [1], object()]
Call = Callable[[WorkerPool, Any], object]
TIMES: dict[str, tuple[str, Call]] = {  # id: (the argument's name, a call passing it)
    "pool.join": ("timeout", lambda p, t: p.join(timeout=t)),
    "pool.shutdown": ("timeout", lambda p, t: p.shutdown(timeout=t)),
    "system.shutdown": (
        "timeout", lambda p, t: TaskSystem(general=1).shutdown(timeout=t)
    ),
    "system.join": ("timeout", lambda p, t: TaskSystem(general=1).join(timeout=t)),
    "exit_timeout": ("exit_timeout", lambda p, t: WorkerPool("p", exit_timeout=t)),
    "system.exit_timeout": (
        "exit_timeout", lambda p, t: TaskSystem(general=1, exit_timeout=t)
    ),
    "Debouncer.wait": ("wait", lambda p, t: Debouncer(print, wait=t)),
    "Debouncer.max_wait": (
        "max_wait", lambda p, t: Debouncer(print, wait=1, max_wait=t)
    ),
    "FakeClock.call_later": ("delay", lambda p, t: FakeClock().call_later(t, print)),
    "FakeClock.advance": ("seconds", lambda p, t: FakeClock().advance(t)),
    "SystemClock.call_later": (
        "delay", lambda p, t: SystemClock().call_later(t, print)
    ),
    "Retry.base_delay": ("base_delay", lambda p, t: Retry(base_delay=t)),
    "Retry.max_delay": ("max_delay", lambda p, t: Retry(max_delay=t)),
    "Retry.factor": ("factor", lambda p, t: Retry(factor=t)),
    "Retry.jitter": ("jitter", lambda p, t: Retry(jitter=t)),
}


@pytest.mark.parametrize("bad", NOT_FINITE + NOT_NUMBERS, ids=repr)
@pytest.mark.parametrize(("argument", "call"), TIMES.values(), ids=TIMES.keys())
def test_a_time_that_is_not_a_finite_number_is_refused_at_the_caller(
    argument: str, call: Call, bad: object
) -> None:
    pool = WorkerPool("times", workers=1)
    with pytest.raises((ValueError, TypeError), match=f"^{argument} "):  # names it
        call(pool, bad)
    # Refused before it did anything: the pool is still open and still works.
    done = threading.Event()
    pool.submit(done.set)
    assert done.wait(HANG) and pool.join(timeout=HANG)
    assert pool.shutdown(timeout=HANG).complete
# --8<-- [end:times-refused]


@settings(deadline=None)
@given(
    attempts=st.integers(1, 2**64),
    base_delay=st.floats(min_value=0, allow_infinity=False),
    factor=st.floats(min_value=1, allow_infinity=False),
    max_delay=st.floats(min_value=0, allow_infinity=False),
    jitter=st.floats(0, 1),
    failures=st.integers(1, 10**6),
)
def test_a_policy_accepted_at_construction_gives_a_finite_delay_for_any_failure_count(
    attempts: int, base_delay: float, factor: float, max_delay: float, jitter: float, failures: int
) -> None:
    policy = Retry(attempts=attempts, base_delay=base_delay, factor=factor, max_delay=max_delay, jitter=jitter)
    delay = policy.delay(failures)  # an OverflowError here would end the task at best
    assert math.isfinite(delay) and 0 <= delay <= max_delay


@pytest.mark.parametrize("call", ["join", "shutdown"])
@pytest.mark.parametrize("owner", ["pool", "system"])
def test_join_or_shutdown_from_an_own_worker_is_refused_at_once_and_says_why(
    call: str, owner: str
) -> None:
    tasks = TaskSystem(general=1)
    refusals: list[str] = []

    def task() -> None:
        target = tasks if owner == "system" else tasks["general"]
        try:
            getattr(target, call)(timeout=HANG)
        except RuntimeError as exc:
            refusals.append(str(exc))

    tasks.submit("general", task)
    assert tasks.join(timeout=HANG)
    assert len(refusals) == 1 and f"{call}()" in refusals[0], refusals
    assert not tasks["general"].closed, "refused, yet it closed the pool"
    assert tasks.shutdown(timeout=HANG).complete


# -- what a person reads: short, fixed text where user code would not give any ------------

STR_FAILED = "<exception str() failed>"  # the fallback traceback uses too


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("plain", "hostile"),
        ("empty", ""),
        ("many-lines", ""),  # the first line of "\n\n...hostile"
        ("huge", "x" * (MESSAGE_LIMIT - 1) + "…"),
        ("not-text", STR_FAILED),
        ("recurses", STR_FAILED),
        ("raises SystemExit", STR_FAILED),
        ("raises KeyboardInterrupt", STR_FAILED),
        ("raises BaseExceptionGroup", STR_FAILED),
    ],
)
def test_an_error_is_shown_by_its_first_line_bounded_or_by_a_fixed_text(
    how: str, expected: str
) -> None:
    pool = WorkerPool("general", workers=1)
    run = Run(TaskSystem(general=pool))
    pool.submit(build_task(TaskSpec("general", "function", error=ErrorSpec("UserError", how)), run))
    assert pool.join(timeout=HANG)
    error = pool.snapshot()["last_error"]
    letter = pool.snapshot()["dead_letters"][-1]
    assert (error["message"], letter["message"]) == (expected, expected)
    assert error["type"] == "chapters.ch11_testing_concurrency.hostile.HostileUserError"
    pool.shutdown(timeout=HANG)


def test_a_name_that_raises_or_is_too_long_is_shown_short_and_fixed() -> None:
    pool = WorkerPool("general", workers=1, dead_letters=10)
    run = Run(TaskSystem(general=pool))
    failing = ErrorSpec("UserError")
    for shape in ("nameless", "names-raise", "names-not-text", "task-name-raises"):
        pool.submit(build_task(TaskSpec("general", shape, error=failing), run))

    def long_name() -> None:
        raise UserError("fails")

    long_name.__qualname__ = "n" * 1000
    pool.submit(long_name)
    assert pool.join(timeout=HANG)
    names = [letter["task"] for letter in pool.snapshot()["dead_letters"]]
    assert names[:4] == ["HostileCallable"] * 4, names
    assert names[4] == (f"{__name__}." + "n" * 1000)[: NAME_LIMIT - 1] + "…"
    pool.shutdown(timeout=HANG)


# -- the clock's thread ------------------------------------------------------------------------


@settings(deadline=None, max_examples=min(settings().max_examples, 25), derandomize=True)
@given(kinds=st.lists(st.sampled_from(sorted(KINDS)), min_size=1, max_size=4))
def test_the_clock_thread_survives_callbacks_of_every_exception_kind(kinds: list[str]) -> None:
    clock = CLOCK_UNDER_TEST
    ran = threading.Event()

    def raising(kind: str) -> Callable[[], None]:
        def callback() -> None:
            raise KINDS[kind]("from a clock callback")

        return callback

    for kind in kinds:
        clock.call_later(0, raising(kind))
    clock.call_later(0, ran.set)
    assert ran.wait(HANG), f"the clock stopped after callbacks raising {kinds}"


CLOCK_UNDER_TEST = SystemClock()


def test_a_retry_still_runs_after_a_clock_callback_raised_system_exit() -> None:
    clock = SystemClock()
    clock.call_later(0, sys.exit)
    pool = WorkerPool("after-exit", workers=1, clock=clock)
    attempts: list[int] = []

    @Retry(attempts=2, base_delay=0.001, max_delay=0.001)
    def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise TimeoutError("the first attempt times out")

    pool.submit(flaky)
    assert pool.join(timeout=HANG), "the retry never ran: the clock's thread is gone"
    assert len(attempts) == 2
    pool.shutdown(timeout=HANG)


# -- fork, the 3.12+ warning understood -------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forking_a_pool_with_live_workers_warns_and_the_child_works() -> None:
    """On 3.12+ CPython warns at fork() when threads are alive; dualqueue's answer is the fresh pool."""
    pool = WorkerPool("forked", workers=2)
    pool.submit(int)
    assert pool.join(timeout=HANG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pid = os.fork()
        if pid == 0:
            ran = threading.Event()
            fresh = pool.snapshot()["submitted"] == 0
            pool.submit(ran.set)
            os._exit(0 if fresh and ran.wait(HANG) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child's pool was not fresh, or did not run its task"
    fork_warnings = [w for w in caught if "use of fork() may lead to deadlocks" in str(w.message)]
    if sys.version_info >= (3, 12):
        assert [w.category for w in fork_warnings] == [DeprecationWarning]
    else:
        assert fork_warnings == []
    pool.shutdown(timeout=HANG)


def test_the_property_runs_one_workload_by_hand() -> None:
    """A readable example of what the strategies generate, kept as a regression."""
    from chapters.ch11_testing_concurrency.hostile import PolicySpec, Workload

    w = Workload(
        general=2,
        site=1,
        tasks=(
            TaskSpec("site", "nameless", ("snapshot", "submit-other"), ErrorSpec("SystemExit", "raises ValueError")),
            TaskSpec("general", "partial", ("trigger", "join"), None, PolicySpec(10**6, 1e308, 4)),
            TaskSpec("general", "names-raise", ("shutdown",), ErrorSpec("UserBase", "not-text", "huge"), None, True),
        ),
        callback=TaskSpec("general", "lambda", ("trigger", "flush"), ErrorSpec("KeyboardInterrupt")),
        handler="raises SystemExit",
        release_first=True,
        timeout=0.05,
    )
    check_hostile_workload(Subject(), w)
