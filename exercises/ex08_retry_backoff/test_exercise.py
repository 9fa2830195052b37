"""Exercise 8 checks: attempts spaced by growing, capped delays, scheduled on the clock;
nobody sleeps.

The retry runs on a ``FakeClock``: ``advance()`` runs the attempts that fall
due, inline, so every attempt's time is exact. ``time.sleep`` is replaced for
the duration of each check by a recorder that does not sleep, so a retry that
sleeps is seen (and the checks stay fast).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from dualqueue import FakeClock

from exercises.support import explain
from exercises.target import load

retry = load("ex08_retry_backoff", "retry")
Retry = retry.Retry


@pytest.fixture(autouse=True)
def slept(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Every time.sleep(seconds) called during the check, instead of sleeping."""
    calls: list[float] = []
    monkeypatch.setattr(time, "sleep", calls.append)
    yield calls


class Flaky:
    """A task that fails ``failures`` times (with ``error``), then succeeds; records
    when each attempt ran."""

    def __init__(
        self,
        clock: FakeClock,
        failures: int = 1_000,
        error: type[Exception] = RuntimeError,
    ) -> None:
        self.clock, self.failures, self.error = clock, failures, error
        self.attempts: list[float] = []

    def __call__(self) -> None:
        self.attempts.append(self.clock.now())
        if len(self.attempts) <= self.failures:
            raise self.error("quota exceeded, try again later")


def run_quietly(policy: Retry, task: Flaky) -> None:
    try:
        policy.run(task)
    except Exception as exc:
        raise AssertionError(
            explain(
                expected="run() to return without raising: a failure that gives up "
                "becomes a dead letter",
                got=f"run() raised {exc!r}",
                usually="the last failure is re-raised; on a clock's thread nobody "
                "would catch it",
            )
        ) from exc


# --8<-- [start:backoff]
def test_attempts_are_spaced_by_doubling_delays_on_the_clock(
    slept: list[float],
) -> None:
    clock = FakeClock()
    task = Flaky(clock)
    policy = Retry(clock, attempts=4, base_delay=1.0, factor=2.0, max_delay=60.0)
    run_quietly(policy, task)
    made_before_returning = len(task.attempts)
    clock.advance(100)
    assert not slept, explain(
        expected="no time.sleep at all: the retry waits on the clock, not on a thread",
        got=f"time.sleep was called {len(slept)} times ({slept})",
        usually="the thread that ran the task (a pool's worker) sleeps between "
        "attempts and can run nothing else meanwhile. Schedule the next attempt with "
        "self.clock.call_later(delay, ...)",
    )
    assert made_before_returning == 1, explain(
        expected="run() to make the first attempt and return; the clock makes the "
        "others later",
        got=f"run() made {made_before_returning} attempts before returning",
        usually="a loop in run() makes every attempt itself",
    )
    assert task.attempts == [0, 1, 3, 7], explain(
        expected="attempts at t = 0, 1, 3, 7 (delays 1, 2, 4: base_delay after the "
        "first failure, then times factor)",
        got=f"attempts at t = {task.attempts}",
        usually="delay() returns the same delay every time, or the exponent is off by "
        "one",
    )
# --8<-- [end:backoff]


def test_the_delay_grows_by_factor_and_is_capped_at_max_delay() -> None:
    policy = Retry(FakeClock(), attempts=6, base_delay=0.5, factor=3.0, max_delay=10.0)
    delays = [policy.delay(n) for n in range(1, 6)]
    assert delays == [0.5, 1.5, 4.5, 10.0, 10.0], explain(
        expected="delay(1..5) == [0.5, 1.5, 4.5, 10.0, 10.0] for base 0.5, factor 3, "
        "max 10",
        got=repr(delays),
        usually="the exponent is off by one (the first retry waits base_delay itself)"
        if delays[0] != 0.5
        else "the delay is not capped at max_delay"
        if any(d > 10.0 for d in delays)
        else "the delay does not grow by factor after each failure",
    )


def test_capped_attempt_times() -> None:
    clock = FakeClock()
    task = Flaky(clock)
    run_quietly(
        Retry(clock, attempts=5, base_delay=1.0, factor=10.0, max_delay=30.0), task
    )
    clock.advance(1000)
    assert task.attempts == [0, 1, 11, 41, 71], explain(
        expected="attempts at t = 0, 1, 11, 41, 71 (delays 1, 10, then capped at 30)",
        got=f"attempts at t = {task.attempts}",
        usually="the delay is not capped at max_delay, or attempts are not spaced "
        "through the clock",
    )


def test_no_attempt_runs_before_its_time() -> None:
    clock = FakeClock()
    task = Flaky(clock)
    run_quietly(Retry(clock, attempts=3, base_delay=1.0), task)
    clock.advance(0.999)
    early = len(task.attempts)
    clock.advance(0.001)
    assert (early, len(task.attempts)) == (1, 2), explain(
        expected="1 attempt at t=0.999, the 2nd exactly at t=1",
        got=f"{early} attempt(s) at t=0.999, {len(task.attempts)} at t=1",
        usually="the retry does not wait for its delay (or waits on something other "
        "than the clock)",
    )


def test_a_success_stops_the_retries() -> None:
    clock = FakeClock()
    task = Flaky(clock, failures=2)
    policy = Retry(clock, attempts=5, base_delay=1.0)
    run_quietly(policy, task)
    clock.advance(100)
    assert (
        task.attempts == [0, 1, 3]
        and policy.dead_letters == []
        and clock.scheduled == 0
    ), explain(
        expected="3 attempts (t = 0, 1, 3), no dead letter, nothing left scheduled",
        got=f"attempts at {task.attempts}, dead letters {policy.dead_letters}, "
        f"{clock.scheduled} scheduled",
        usually="a retry is scheduled even after a success, or a success is recorded "
        "as a failure",
    )


def test_giving_up_leaves_one_dead_letter_and_nothing_scheduled() -> None:
    clock = FakeClock()
    task = Flaky(clock)
    policy = Retry(clock, attempts=4, base_delay=1.0)
    run_quietly(policy, task)
    clock.advance(100)
    letters = [(d.task, d.attempts, d.error) for d in policy.dead_letters]
    assert letters == [("Flaky", 4, "RuntimeError")] and clock.scheduled == 0, explain(
        expected="one dead letter ('Flaky', 4 attempts, 'RuntimeError') and nothing "
        "scheduled",
        got=f"dead letters {letters}, {clock.scheduled} scheduled",
        usually="the last failure is not recorded, is recorded twice, or schedules one "
        "attempt too many",
    )


def test_an_error_not_in_retry_on_is_not_retried() -> None:
    clock = FakeClock()
    task = Flaky(clock, error=ValueError)
    policy = Retry(
        clock, attempts=5, base_delay=1.0, retry_on=(TimeoutError, ConnectionError)
    )
    run_quietly(policy, task)
    clock.advance(100)
    letters = [(d.attempts, d.error) for d in policy.dead_letters]
    assert task.attempts == [0] and letters == [(1, "ValueError")], explain(
        expected="one attempt, then a dead letter (1 attempt, 'ValueError'): a bug is "
        "not retried",
        got=f"attempts at {task.attempts}, dead letters {letters}",
        usually="every exception is retried; only the ones in retry_on are worth "
        "another try",
    )


def test_two_tasks_retrying_at_once_each_get_every_attempt() -> None:
    # One policy serves every task of a pool: two analyses failing at the same time must
    # each get their own attempts and their own backoff, and give up on their own.
    clock = FakeClock()
    policy = Retry(clock, attempts=3, base_delay=1.0, factor=2.0)
    first, second = Flaky(clock), Flaky(clock)
    run_quietly(policy, first)
    clock.advance(0.5)
    run_quietly(policy, second)
    clock.advance(100)
    letters = sorted((d.attempts, d.error) for d in policy.dead_letters)
    got = (first.attempts, second.attempts, letters)
    expected = ([0, 1, 3], [0.5, 1.5, 3.5], [(3, "RuntimeError"), (3, "RuntimeError")])
    assert got == expected, explain(
        expected=f"attempts at {expected[0]} and at {expected[1]}, and two dead "
        "letters of 3 attempts each",
        got=f"attempts at {got[0]} and at {got[1]}, dead letters {got[2]}",
        usually="the attempt count (or the current delay) is kept on the Retry object, "
        "state shared between tasks: the two tasks advance one count. Keep each task's "
        "attempt number with that task's retries",
    )
