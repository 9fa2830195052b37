"""What periodic tasks promise that no other test checked: found by mutation testing.

``make mutation`` left these lines of ``dualqueue/periodic.py`` changeable with
every test still passing. Each test below states the behaviour the line is
for, as a user or an operator sees it: what a claims store answers, what its
file holds and is called, what the status picture and the log say, that the
timer goes on or is marked stopped. No test waits in real time for a tick:
the clocks are ``FakeClock``s.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from dualqueue import Claim, Cron, Every, FakeClock, FileClaims, LocalClaims, TaskSystem
from dualqueue.periodic import Periodic, _rearm_in_child, cancel_all, live_periodics

from .support import DEADLOCK

LOGGER = "dualqueue"
WALL0 = 1_699_999_980.0  # a whole minute: 2023-11-14T22:13:00Z


def records(caplog: pytest.LogCaptureFixture, text: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and text in r.getMessage()]


def job(*args: Any, **kwargs: Any) -> None:
    """A periodic task that does nothing."""


# -- schedules -----------------------------------------------------------------


def test_schedules_name_what_was_wrong() -> None:
    with pytest.raises(ValueError, match=r"^seconds must be a finite number of seconds >= 0, got -1$"):
        Every(-1)
    with pytest.raises(ValueError, match=r"^seconds must be > 0, got 0\.0$"):
        Every(0)
    with pytest.raises(TypeError, match=r"^a cron expression is a str, got int$"):
        Cron(5)  # type: ignore[arg-type]


def test_cron_without_the_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "croniter", None)  # as if not installed
    with pytest.raises(ImportError) as raised:
        Cron("* * * * *")
    assert str(raised.value) == (
        'Cron schedules need the optional extra: pip install "dualqueue[cron]" (it installs croniter)'
    )


def test_every_is_strictly_after_and_at_or_before_where_the_division_rounds() -> None:
    # 4.3 / 0.1 is 42.99999999999999 and 1.7 / 0.1 is 17.0, but 17 * 0.1 is
    # 1.7000000000000002: the floored tick lands on or past the wall time.
    every = Every(0.1)
    assert every.next_after(4.3) > 4.3 and every.at_or_before(1.7) <= 1.7
    for seconds in (0.1, 0.3, 0.7, 1 / 3):
        every = Every(seconds)
        for n in range(1, 2000):
            wall = round(n * seconds, 3)
            assert wall < every.next_after(wall) <= wall + seconds * 1.000001, (seconds, wall)
            assert wall - seconds * 1.000001 < every.at_or_before(wall) <= wall, (seconds, wall)


def test_cron_ticks_in_utc_whatever_the_local_time_zone() -> None:
    # Every process must compute the same ticks, whatever its TZ: at 22:13 UTC
    # (17:13 in New York), the next "20:00" is tomorrow's 20:00 UTC.
    cron = Cron("0 20 * * *")
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "EST+5"  # a POSIX zone: needs no tz database
    time.tzset()
    try:
        assert cron.next_after(WALL0) == 1_700_078_400.0  # 2023-11-15T20:00:00Z
        assert cron.at_or_before(WALL0) == 1_699_992_000.0  # 2023-11-14T20:00:00Z
        assert cron.previous(1_700_078_400.0) == 1_699_992_000.0
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


# -- claims stores ---------------------------------------------------------------


@pytest.mark.parametrize("store", ["local", "file"])
def test_both_stores_answer_each_claim_as_the_protocol_says(store: str, tmp_path: Path) -> None:
    claims = LocalClaims() if store == "local" else FileClaims(tmp_path)
    assert claims.claim("beat", 10.0, 9.0) == Claim(True, None, 0)
    assert claims.claim("beat", 10.0, 9.0) == Claim(False, 10.0, 0)  # the same tick: lost
    assert claims.claim("beat", 14.0, 13.0) == Claim(True, 10.0, 3)  # 11, 12, 13 ran nowhere
    assert claims.claim("beat", 12.0, 11.0) == Claim(False, 14.0, 3)  # an older tick: lost
    assert claims.claim("beat", 20.0, 19.0) == Claim(True, 14.0, 8)  # 15 to 19 more: the count adds up
    assert claims.claim("other", 20.0, 19.0) == Claim(True, None, 0)  # each name its own record


def test_file_claims_defaults_and_refusals(tmp_path: Path) -> None:
    nested = tmp_path / "var" / "lib" / "claims"
    claims = FileClaims(nested)  # the directory and its parents are created
    assert nested.is_dir() and claims.lock_timeout == 5.0
    with pytest.raises(ValueError, match=r"^lock_timeout must be a finite number of seconds >= 0, got -1$"):
        FileClaims(tmp_path, lock_timeout=-1)
    for name in ("", 7):
        with pytest.raises(ValueError, match=rf"^a periodic task needs a non-empty name, got {name!r}$"):
            claims.path(name)  # type: ignore[arg-type]


def test_a_file_record_shows_who_ran_the_last_tick_and_is_not_executable(tmp_path: Path) -> None:
    claims = FileClaims(tmp_path)
    # A name never claimed reads as empty (its file is created, as a claim would).
    assert claims.read("fresh") == {"last": None, "pid": None, "skipped": 0}
    claims.claim("beat", 10.0, 9.0)
    assert claims.read("beat") == {"last": 10.0, "pid": os.getpid(), "skipped": 0}
    for name in ("fresh", "beat"):
        assert claims.path(name).stat().st_mode & 0o111 == 0, f"{name}'s file is executable"


def test_file_records_are_read_leniently_and_refused_when_corrupt(tmp_path: Path) -> None:
    claims = FileClaims(tmp_path)
    path = claims.path("beat")
    # Written by hand or by another tool: only "last" and "skipped" matter.
    path.write_bytes(b'{"last": 10.0}')
    assert claims.read("beat") == {"last": 10.0, "pid": None, "skipped": 0}
    path.write_bytes(b'{"last": null, "skipped": 2}')
    assert claims.read("beat") == {"last": None, "pid": None, "skipped": 2}
    path.write_bytes(b'{"last": 10.0, "skipped": 1, "pid": 7, "host": "\xff"}')
    assert claims.read("beat") == {"last": 10.0, "pid": 7, "skipped": 1}
    for text in ('{"last": "yesterday", "skipped": 0}', '{"last": 10.0, "skipped": "3"}'):
        path.write_text(text)
        with pytest.raises(ValueError) as raised:
            claims.read("beat")
        assert str(raised.value) == f"corrupt claims record: {text!r}"
    # The refusal quotes at most 100 characters of the record.
    text = '{"last": "' + "x" * 200 + '"}'
    path.write_text(text)
    with pytest.raises(ValueError) as raised:
        claims.claim("beat", 20.0, 19.0)
    assert str(raised.value) == f"corrupt claims record: {text[:100]!r}"


def test_file_names_stay_readable_and_long_names_stay_distinct(tmp_path: Path) -> None:
    # Every process (and every version of dualqueue in a rolling deploy) must
    # find the same file for a name: the layout is a contract between them.
    claims = FileClaims(tmp_path)
    assert claims.path("a" * 150).name == "a" * 150 + ".claim"  # up to 150 characters: as is
    for long in ("a" * 151, "a" * 100 + "b" * 100, "é" * 30):  # "é" is quoted to 6 characters
        quoted = long if long.isascii() else "%C3%A9" * 30
        digest = hashlib.sha256(long.encode()).hexdigest()[:16]
        assert claims.path(long).name == f"{quoted[:100]}-{digest}.claim"
        assert claims.claim(long, 10.0, 9.0).won
    assert len(list(tmp_path.iterdir())) == 3


def test_a_claim_waits_for_a_lock_that_is_released_in_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    claims = FileClaims(tmp_path, lock_timeout=DEADLOCK)
    holder = os.open(claims.path("beat"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another process is mid-claim
    real_flock = fcntl.flock
    found_held: list[int] = []

    def flock(fd: int, operation: int) -> None:
        try:
            real_flock(fd, operation)
        except BlockingIOError:
            if not found_held:
                os.close(holder)  # the other process finishes its claim (or dies)
            found_held.append(fd)
            raise

    monkeypatch.setattr(fcntl, "flock", flock)
    assert claims.claim("beat", 10.0, 9.0) == Claim(True, None, 0)
    assert found_held, "the claim never found the lock held"


def test_a_lock_held_too_long_is_refused_by_its_duration(tmp_path: Path) -> None:
    claims = FileClaims(tmp_path, lock_timeout=0.05)
    holder = os.open(claims.path("beat"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(TimeoutError, match=r"^claims file lock held for over 0\.05s$"):
            claims.claim("beat", 10.0, 9.0)
    finally:
        os.close(holder)


def test_a_short_write_is_an_error_and_the_tick_is_not_won(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    claims = FileClaims(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(os, "pwrite", lambda fd, data, offset: len(data) - 1)  # the disk is full
        with pytest.raises(OSError) as raised:
            claims.claim("beat", 10.0, 9.0)
    assert raised.value.errno == errno.EIO
    assert str(raised.value) == f"[Errno 5] short write to {claims.path('beat')}"
    assert claims.claim("beat", 10.0, 9.0).won  # nothing was recorded: the tick is still free


# -- the periodic task ---------------------------------------------------------


def test_every_names_what_was_wrong() -> None:
    tasks = TaskSystem(general=1, clock=FakeClock())
    with pytest.raises(ValueError, match=r"^a periodic task needs a non-empty name, got ''$"):
        tasks.every("", Every(1), job)
    with pytest.raises(TypeError, match=r"^a periodic task must be callable, got str$"):
        tasks.every("x", Every(1), "job")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^schedule must be Every\(\.\.\.\) or Cron\(\.\.\.\), got 60$"):
        tasks.every("x", 60, job)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^claims must have a claim\(\) method, got <object object at "):
        tasks.every("x", Every(1), job, claims=object())  # type: ignore[arg-type]
    tasks.shutdown(DEADLOCK)


def test_the_status_picture_of_a_periodic_task_before_during_and_after() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    periodic = Periodic("beat", Every(10), job, (), {}, pool=tasks["general"], clock=clock)
    assert repr(periodic) == "<Periodic 'beat' every 10s>"
    fresh = {
        "schedule": "every 10s",
        "task": f"{__name__}.job",
        "queue": "general",
        "active": False,  # JSON false, not null
        "next_tick_at": None,
        "last_tick_at": None,
        "ran_here": 0,
        "ran_elsewhere": 0,
        "skipped": 0,
        "unclaimed": 0,
        "refused": 0,
        "last_error": None,
    }
    assert periodic.snapshot() == fresh
    periodic.start()
    assert periodic.snapshot() == {**fresh, "active": True, "next_tick_at": "2023-11-14T22:13:10.000+00:00"}
    periodic.cancel()
    assert periodic.snapshot() == fresh and clock.scheduled == 0
    tasks.shutdown(DEADLOCK)


class Recording:
    """A claims store that remembers the names it was asked about."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.names: list[str] = []

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        self.names.append(name)
        return self.inner.claim(name, tick, previous)


def test_a_tick_runs_the_task_with_its_arguments_under_its_name() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    seen: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    store = Recording(LocalClaims())
    tasks.every("beat", Every(10), lambda *a, **k: seen.append((a, k)), 1, 2, claims=store, key="v")
    clock.advance(10)
    assert tasks.join(DEADLOCK)
    assert seen == [((1, 2), {"key": "v"})] and store.names == ["beat"]
    tasks.shutdown(DEADLOCK)


def test_a_tick_half_a_second_away_fires_on_time() -> None:
    clock = FakeClock(wall_start=WALL0 + 9.5)
    tasks = TaskSystem(general=1, clock=clock)
    periodic = tasks.every("beat", Every(10), job)
    clock.advance(0.5)
    assert periodic.snapshot()["ran_here"] == 1
    tasks.shutdown(DEADLOCK)


def test_a_process_that_loses_each_tick_shows_it_ran_elsewhere_and_when() -> None:
    shared = LocalClaims()
    first, second = FakeClock(wall_start=WALL0), FakeClock(wall_start=WALL0)
    a, b = TaskSystem(general=1, clock=first), TaskSystem(general=1, clock=second)
    winner = a.every("beat", Every(10), job, claims=shared)
    loser = b.every("beat", Every(10), job, claims=shared)
    for n in (1, 2):
        first.advance(10)  # process a's timer fires first and wins the tick
        second.advance(10)
        snap = loser.snapshot()
        assert (snap["ran_here"], snap["ran_elsewhere"]) == (0, n)
        assert snap["last_tick_at"] == f"2023-11-14T22:13:{10 * n}.000+00:00"
    assert (winner.snapshot()["ran_here"], winner.snapshot()["ran_elsewhere"]) == (2, 0)
    a.shutdown(DEADLOCK)
    b.shutdown(DEADLOCK)


class Stale:
    """A store that wins the first tick, then answers from a replica that lags behind."""

    def __init__(self) -> None:
        self.answers = [Claim(True, None, 0), Claim(False, WALL0, 0)]

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        return self.answers.pop(0)


def test_a_stale_answer_never_moves_the_last_tick_back() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    periodic = tasks.every("beat", Every(10), job, claims=Stale())
    clock.advance(20)
    snap = periodic.snapshot()
    assert (snap["ran_here"], snap["ran_elsewhere"]) == (1, 1)
    assert snap["last_tick_at"] == "2023-11-14T22:13:10.000+00:00"
    tasks.shutdown(DEADLOCK)


def test_each_refused_tick_is_counted_with_what_the_store_recorded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, site=1, clock=clock)
    store = LocalClaims()
    store.claim("beat", WALL0 - 30, WALL0 - 40)  # the last run, three ticks before
    periodic = tasks.every("beat", Every(10), job, queue="site", claims=store)
    tasks["site"].shutdown(0)
    clock.advance(10)
    snap = periodic.snapshot()
    assert (snap["refused"], snap["ran_here"], snap["skipped"]) == (1, 0, 3)  # WALL0-20, -10, +0
    assert snap["last_tick_at"] == "2023-11-14T22:13:10.000+00:00"  # claimed, though refused
    clock.advance(10)
    snap = periodic.snapshot()
    assert (snap["refused"], snap["skipped"]) == (2, 3)
    assert snap["last_tick_at"] == "2023-11-14T22:13:20.000+00:00"
    first, _ = records(caplog, "pool refused tick")
    assert first.levelno == logging.ERROR
    assert first.getMessage().startswith(
        "dualqueue: periodic task 'beat': pool refused tick 2023-11-14T22:13:10.000+00:00 "
        "(dualqueue.errors.PoolClosedError: "
    )
    tasks.shutdown(DEADLOCK)


class Exploding:
    """A claims store that raises."""

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        raise OSError("disk")


def test_a_failing_store_is_shown_and_logged_with_the_tick_it_cost(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    periodic = tasks.every("beat", Every(10), job, claims=Exploding())
    clock.advance(10)
    assert periodic.snapshot()["last_error"] == {
        "type": "OSError",
        "message": "disk",
        "at": "2023-11-14T22:13:10.000+00:00",
    }
    (record,) = records(caplog, "claims store failed")
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        "dualqueue: periodic task 'beat': claims store failed; tick 2023-11-14T22:13:10.000+00:00 not run "
        "(OSError: disk)"
    )
    tasks.shutdown(DEADLOCK)


class BrokenSchedule(Every):
    """A user schedule that fails once ``broken`` is set."""

    def __init__(self) -> None:
        super().__init__(10)
        self.broken = False

    def next_after(self, wall: float) -> float:
        if self.broken:
            raise ZeroDivisionError("schedule bug")
        return super().next_after(wall)


def a_beat_whose_schedule_breaks() -> tuple[FakeClock, TaskSystem, Periodic]:
    """A periodic started on a fake clock, whose schedule fails from now on."""
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    schedule = BrokenSchedule()
    periodic = tasks.every("beat", schedule, job)
    schedule.broken = True
    return clock, tasks, periodic


class RefusingClock(FakeClock):
    def call_later(self, delay: float, fn: Any) -> Any:
        raise RuntimeError("can't start new thread")


def test_a_timer_that_stops_says_why(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    clock, tasks, periodic = a_beat_whose_schedule_breaks()
    clock.advance(10)
    assert periodic.snapshot()["active"] is False
    (record,) = records(caplog, "schedule failed")
    assert (record.levelno, record.getMessage()) == (
        logging.ERROR,
        "dualqueue: periodic task 'beat': schedule failed; it is stopped (ZeroDivisionError: schedule bug)",
    )
    refusing = TaskSystem(general=1, clock=RefusingClock(wall_start=WALL0))
    stopped = refusing.every("beat", Every(10), job)
    assert stopped.snapshot()["active"] is False
    (record,) = records(caplog, "could not arm")
    assert (record.levelno, record.getMessage()) == (
        logging.ERROR,
        "dualqueue: periodic task 'beat': could not arm its next tick; it is stopped "
        "(RuntimeError: can't start new thread)",
    )
    tasks.shutdown(DEADLOCK)
    refusing.shutdown(DEADLOCK)


class RaisingHandler(logging.Handler):
    """A log handler that fails (user code, as every handler is)."""

    def emit(self, record: logging.LogRecord) -> None:
        raise RuntimeError("the log is full")


def test_a_failing_log_handler_cannot_keep_a_stopped_timer_marked_active() -> None:
    handler = RaisingHandler()
    logging.getLogger(LOGGER).addHandler(handler)
    try:
        clock, tasks, periodic = a_beat_whose_schedule_breaks()
        clock.advance(10)
        assert periodic.snapshot()["active"] is False and periodic.snapshot()["ran_here"] == 1
        refusing = TaskSystem(general=1, clock=RefusingClock(wall_start=WALL0))
        stopped = refusing.every("beat", Every(10), job)  # does not raise the handler's error
        assert stopped.snapshot()["active"] is False
    finally:
        logging.getLogger(LOGGER).removeHandler(handler)
    tasks.shutdown(DEADLOCK)
    refusing.shutdown(DEADLOCK)


# -- exit and fork ---------------------------------------------------------------


def test_after_fork_new_periodic_tasks_register_and_the_exit_drain_cancels_all() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    before = tasks.every("before", Every(10), job)
    _rearm_in_child()  # what the at-fork hook runs in a child
    after = tasks.every("after", Every(10), job)  # registers under the child's registry lock
    live = live_periodics()
    assert before in live and after in live
    cancel_all()  # what the exit drain runs
    assert not before.active and not after.active and clock.scheduled == 0
    tasks.shutdown(DEADLOCK)


class ParentHandle:
    """A handle of the parent's timer: after a fork, cancelling it may fail."""

    def __init__(self, clock: ForkedClock, inner: Any) -> None:
        self.clock, self.inner = clock, inner

    def cancel(self) -> None:
        if self.clock.parent_gone:
            raise RuntimeError("the parent's timer thread is gone")
        self.inner.cancel()


class ForkedClock(FakeClock):
    parent_gone = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handles: list[ParentHandle] = []

    def call_later(self, delay: float, fn: Any) -> Any:
        handle = ParentHandle(self, super().call_later(delay, fn))
        self.handles.append(handle)
        return handle


def test_after_fork_a_parent_timer_that_cannot_be_cancelled_does_not_stop_the_child() -> None:
    clock = ForkedClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    periodic = tasks.every("beat", Every(10), job)
    clock.parent_gone = True
    try:
        _rearm_in_child()
    finally:
        clock.parent_gone = False
    parent, _ = clock.handles  # the parent's, then the child's own
    parent.inner.cancel()  # in a real child the parent's timer thread does not exist
    assert periodic.active and clock.scheduled == 1
    clock.advance(10)
    assert periodic.snapshot()["ran_here"] == 1
    tasks.shutdown(DEADLOCK)


def test_after_fork_a_schedule_that_fails_to_rearm_is_recorded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    clock, tasks, periodic = a_beat_whose_schedule_breaks()
    _rearm_in_child()  # must not raise out of the at-fork hook
    snap = periodic.snapshot()
    assert snap["next_tick_at"] is None and clock.scheduled == 0
    assert periodic.active is False, "stopped, not active with nothing armed"
    assert (snap["last_error"]["type"], snap["last_error"]["message"]) == ("ZeroDivisionError", "schedule bug")
    (record,) = records(caplog, "re-arm")
    assert (record.levelno, record.getMessage()) == (
        logging.ERROR,
        "dualqueue: periodic task 'beat': could not re-arm after fork (ZeroDivisionError: schedule bug)",
    )
    tasks.shutdown(DEADLOCK)
