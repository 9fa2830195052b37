"""Periodic tasks: each tick runs in exactly one process, or is recorded as skipped.

Unit tests drive ``FakeClock``. The property simulates several processes,
each with its own fake clock (so one may stall behind the others) and its own
``Periodic``, all sharing one claims store, while processes fire, stall, die
and start; it is run against a timer per process and a lease never released,
and must catch both. ``test_periodic_processes.py`` does it with real
processes and ``FileClaims``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from dualqueue import (
    Claim,
    Cron,
    Every,
    FakeClock,
    FileClaims,
    LocalClaims,
    PoolClosedError,
    TaskSystem,
)
from dualqueue.periodic import Periodic, skipped_between
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chapters.broken.timing import NeverReleasedLease, PerProcessClaims

from .support import DEADLOCK

WALL0 = 1_699_999_980.0  # a whole minute: 2023-11-14T22:13:00Z


def test_every_ticks_at_whole_multiples_of_its_interval() -> None:
    every = Every(60)
    assert every.next_after(WALL0) == WALL0 + 60 and every.next_after(WALL0 - 0.5) == WALL0
    assert every.at_or_before(WALL0 + 59.9) == WALL0 and every.previous(WALL0) == WALL0 - 60
    assert str(every) == "every 60s"
    for bad in (0, -1, float("nan"), float("inf"), True, "60"):
        with pytest.raises((ValueError, TypeError)):
            Every(bad)  # type: ignore[arg-type]


def test_cron_uses_croniter_and_refuses_a_bad_expression_at_once() -> None:
    cron = Cron("*/5 * * * *")
    assert cron.next_after(WALL0) == WALL0 + 120  # 22:13:00 -> 22:15:00 UTC
    assert cron.at_or_before(WALL0 + 120) == WALL0 + 120
    assert cron.at_or_before(WALL0 + 130) == WALL0 + 120
    assert cron.previous(WALL0 + 120) == WALL0 - 180
    assert str(cron) == "cron */5 * * * *"
    with pytest.raises(ValueError, match="not a valid cron"):
        Cron("every tuesday")
    with pytest.raises(TypeError):
        Cron(5)  # type: ignore[arg-type]


def test_cron_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "croniter", None)  # as if not installed
    with pytest.raises(ImportError, match=r"dualqueue\[cron\]"):
        Cron("* * * * *")


def test_a_periodic_task_runs_at_each_tick_on_its_pool() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, site=1, clock=clock)
    ran: list[float] = []
    periodic = tasks.every("beat", Every(10), lambda: ran.append(clock.wall()), queue="site")
    snap = tasks.snapshot()["periodic"]["beat"]
    assert snap["schedule"] == "every 10s" and snap["queue"] == "site"
    assert snap["next_tick_at"] == "2023-11-14T22:13:10.000+00:00" and snap["ran_here"] == 0
    clock.advance(9.99)
    assert ran == []
    for _ in range(3):
        clock.advance(0.01 if not ran else 10)
        assert tasks.join(DEADLOCK)
    assert ran == [WALL0 + 10, WALL0 + 20, WALL0 + 30]
    snap = periodic.snapshot()
    assert snap["ran_here"] == 3 and snap["skipped"] == 0 and snap["last_tick_at"] == "2023-11-14T22:13:30.000+00:00"
    report = tasks.shutdown(DEADLOCK)
    assert report.complete and not periodic.active and clock.scheduled == 0
    clock.advance(100)
    assert ran == [WALL0 + 10, WALL0 + 20, WALL0 + 30], "a tick fired after shutdown"


def test_a_late_process_runs_the_latest_tick_once_and_counts_the_rest_as_skipped() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    ran: list[float] = []
    every = Every(10)
    tasks.every("beat", every, lambda: ran.append(every.at_or_before(clock.wall())))
    clock.advance(10)
    tasks.join(DEADLOCK)
    stall(clock, 35)  # the clock's thread stalled 35 s: the armed tick fires once, late
    assert tasks.join(DEADLOCK)
    assert ran == [WALL0 + 10, WALL0 + 40], "a stalled timer caught up tick by tick"
    assert tasks.snapshot()["periodic"]["beat"]["skipped"] == 2  # ticks 20 and 30
    tasks.shutdown(DEADLOCK)


def stall(clock: FakeClock, seconds: float) -> None:
    """Time passes while the clock's thread runs nothing, then it runs what is due."""
    clock._now += seconds
    clock.advance(0)


class Exploding:
    """A claims store that raises whatever it was given."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        raise self.exc


@pytest.mark.parametrize("exc", [OSError("disk"), SystemExit(3), KeyboardInterrupt(), GeneratorExit()])
def test_a_claims_store_that_raises_never_runs_the_tick_nor_stops_the_timer(exc: BaseException) -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    ran: list[int] = []
    tasks.every("beat", Every(5), ran.append, 1, claims=Exploding(exc))
    for _ in range(3):
        clock.advance(5)
    snap = tasks.snapshot()["periodic"]["beat"]
    assert ran == [] and snap["unclaimed"] == 3 and snap["active"]
    assert snap["last_error"]["type"] == type(exc).__qualname__
    tasks.shutdown(DEADLOCK)


def test_a_tick_the_pool_refuses_is_counted_not_lost() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, site=1, clock=clock)
    periodic = tasks.every("beat", Every(5), print, queue="site")
    tasks["site"].shutdown(0)  # the pool closed under a live timer
    clock.advance(5)
    snap = periodic.snapshot()
    assert snap["refused"] == 1 and snap["last_error"]["type"] == "dualqueue.errors.PoolClosedError"
    tasks.shutdown(DEADLOCK)


def test_every_checks_its_arguments_at_the_caller() -> None:
    tasks = TaskSystem(general=1, clock=FakeClock())
    with pytest.raises(KeyError):
        tasks.every("x", Every(1), print, queue="nope")
    with pytest.raises(TypeError):
        tasks.every("x", Every(1), "print")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tasks.every("x", 60, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        tasks.every("x", Every(1), print, claims=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tasks.every("", Every(1), print)
    tasks.every("x", Every(1), print)
    with pytest.raises(ValueError, match="already exists"):
        tasks.every("x", Every(1), print)
    tasks.shutdown(DEADLOCK)
    with pytest.raises(PoolClosedError):
        tasks.every("y", Every(1), print)


def test_file_claims_share_ticks_between_stores_and_count_skips(tmp_path: Path) -> None:
    a, b = FileClaims(tmp_path / "claims"), FileClaims(tmp_path / "claims")
    assert a.claim("beat/one", 10.0, 9.0) == Claim(True, None, 0)
    assert b.claim("beat/one", 10.0, 9.0) == Claim(False, 10.0, 0)
    assert b.claim("beat/one", 14.0, 13.0) == Claim(True, 10.0, 3)  # 11, 12, 13 ran nowhere
    assert a.read("beat/one")["skipped"] == 3 and a.read("beat/one")["last"] == 14.0
    assert [p.name for p in (tmp_path / "claims").iterdir()] == ["beat%2Fone.claim"]
    (tmp_path / "claims" / "beat%2Fone.claim").write_text("{not json")
    with pytest.raises(ValueError):
        a.claim("beat/one", 15.0, 14.0)  # a corrupt record is never run blind


def test_file_claims_wait_for_a_held_lock_only_so_long(tmp_path: Path) -> None:
    import fcntl
    import os

    claims = FileClaims(tmp_path, lock_timeout=0.05)
    fd = os.open(claims.path("beat"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(TimeoutError):
            claims.claim("beat", 1.0, 0.0)
    finally:
        os.close(fd)
    assert claims.claim("beat", 1.0, 0.0).won


def test_skipped_between_counts_the_ticks_nobody_ran() -> None:
    assert skipped_between(None, 10.0, 9.0) == 0
    assert skipped_between(9.0, 10.0, 9.0) == 0
    assert skipped_between(5.0, 10.0, 9.0) == 4
    assert skipped_between(5.0, 10.0, 10.0) == 1  # a degenerate spacing still records one


# -- the property: N processes sharing a claims store --------------------------

INTERVAL = 10.0


class Proc:
    """One simulated process: its own fake clock, pool stand-in and Periodic."""

    def __init__(self, pid: int, wall: float, claims: Any, log: list[tuple[int, float, bool]]) -> None:
        self.pid = pid
        self.clock = FakeClock(wall_start=wall)
        self.submitted = 0
        recorder = Recording(claims, pid, log)
        self.periodic = Periodic(
            "beat",
            Every(INTERVAL),
            self.run,
            (),
            {},
            pool=self,
            clock=self.clock,
            claims=recorder,  # type: ignore[arg-type]
        )
        self.periodic.start()
        self.name = f"proc{pid}"

    def run(self) -> None:  # pragma: no cover - never called: submit records instead
        pass

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> None:
        self.submitted += 1


class Recording:
    def __init__(self, inner: Any, pid: int, log: list[tuple[int, float, bool]]) -> None:
        self.inner, self.pid, self.log = inner, pid, log

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        claim = self.inner.claim(name, tick, previous)
        self.log.append((self.pid, tick, claim.won))
        return claim


def shared_local(shared: dict[str, Any], pid: int) -> Any:
    return shared.setdefault("store", LocalClaims())


def per_process(shared: dict[str, Any], pid: int) -> Any:
    return PerProcessClaims()


def never_released(shared: dict[str, Any], pid: int) -> Any:
    return NeverReleasedLease(shared, pid)


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("time"), st.sampled_from([1.0, 5.0, 10.0, 25.0])),  # the world's clock moves
        st.tuples(st.just("catch_up"), st.integers(0, 3)),  # process i's clock thread runs
        st.tuples(st.just("kill"), st.integers(0, 3)),
        st.tuples(st.just("start"), st.just(0)),
    ),
    max_size=40,
)


def simulate(make_claims: Any, steps: list[tuple[str, Any]]) -> None:
    shared: dict[str, Any] = {}
    log: list[tuple[int, float, bool]] = []
    now = WALL0 + 3.0
    procs: list[Proc] = []
    alive: list[Proc] = []

    def start() -> None:
        proc = Proc(len(procs), now, make_claims(shared, len(procs)), log)
        procs.append(proc)
        alive.append(proc)

    def catch_up(proc: Proc) -> None:
        # The process's clock thread, stalled since its last step, runs now:
        # time has passed for it as for everyone (causality), in one jump.
        stall(proc.clock, max(0.0, now - proc.clock.wall()))

    start()
    start()
    for op, value in steps:
        if op == "time":
            now += value
        elif op == "catch_up" and alive:
            catch_up(alive[value % len(alive)])
        elif op == "kill" and alive:
            alive.pop(value % len(alive)).periodic.cancel()  # SIGKILL: it just stops
        elif op == "start":
            start()
    for proc in alive:
        catch_up(proc)
    grid = {round(tick / INTERVAL) for _, tick, _ in log}
    runs = [round(tick / INTERVAL) for _, tick, won in log if won]
    assert sorted(runs) == sorted(set(runs)), f"a tick ran in two processes: {sorted(runs)}"
    assert sum(p.submitted for p in procs) == len(runs)
    if not runs:
        assert not grid, "ticks were fired and lost, none run"
        return
    skipped = set(range(min(runs), max(runs) + 1)) - set(runs)
    lost = {round(tick / INTERVAL) for _, tick, won in log if not won}
    assert lost <= set(runs) | skipped, f"ticks lost without a record: {sorted(lost - set(runs) - skipped)}"
    stored = max(p.periodic.snapshot()["skipped"] for p in procs)
    assert stored == len(skipped), f"{len(skipped)} ticks skipped, {stored} recorded"


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(steps=STEPS)
def test_ticks_are_never_doubled_nor_lost_without_a_record(steps: list[tuple[str, Any]]) -> None:
    simulate(shared_local, steps)


@pytest.mark.parametrize("broken", [per_process, never_released], ids=["a timer per process", "a lease never released"])
def test_the_periodic_property_catches_each_broken_store(broken: Any) -> None:
    @settings(PROPERTY, phases=[Phase.generate], derandomize=True, database=None)
    @given(steps=STEPS)
    def check(steps: list[tuple[str, Any]]) -> None:
        simulate(broken, steps)

    with pytest.raises(AssertionError):
        check()


def test_after_fork_the_child_rearms_its_own_timer() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    periodic = tasks.every("beat", Every(10), print)
    from dualqueue.periodic import _rearm_in_child

    old = periodic._handle
    _rearm_in_child()  # what the at-fork hook runs in a child
    assert periodic._handle is not old and periodic.active and clock.scheduled == 1
    assert periodic.snapshot()["ran_here"] == 0
    tasks.shutdown(DEADLOCK)


def test_concurrent_claims_on_one_local_store_have_one_winner_per_tick() -> None:
    claims = LocalClaims()
    wins: list[float] = []
    lock = threading.Lock()

    def contender() -> None:
        for tick in range(1, 200):
            if claims.claim("beat", float(tick), float(tick - 1)).won:
                with lock:
                    wins.append(tick)

    threads = [threading.Thread(target=contender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLOCK)
    assert sorted(wins) == sorted(set(wins))


class BrokenSchedule(Every):
    """A user schedule that fails once it has given its first tick."""

    def __init__(self) -> None:
        super().__init__(10)
        self.calls = 0

    def next_after(self, wall: float) -> float:
        self.calls += 1
        if self.calls > 1:
            raise ZeroDivisionError("schedule bug")
        return super().next_after(wall)


def test_a_failing_schedule_or_clock_stops_the_timer_with_a_recorded_error() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    periodic = tasks.every("beat", BrokenSchedule(), print)
    clock.advance(10)
    snap = periodic.snapshot()
    assert not snap["active"] and snap["last_error"]["type"] == "ZeroDivisionError"
    assert snap["ran_here"] == 1 and clock.scheduled == 0

    class RefusingClock(FakeClock):
        def call_later(self, delay: float, fn: Any) -> Any:
            raise RuntimeError("can't start new thread")

    refusing = TaskSystem(general=1, clock=RefusingClock(wall_start=WALL0))
    stopped = refusing.every("beat", Every(10), print)
    assert not stopped.active and stopped.snapshot()["last_error"]["type"] == "RuntimeError"
    tasks.shutdown(DEADLOCK)
    refusing.shutdown(DEADLOCK)


class RefusingSchedule(Every):
    """A user schedule that cannot give even its first tick."""

    def next_after(self, wall: float) -> float:
        raise ZeroDivisionError("schedule bug")


def test_a_schedule_that_fails_at_start_is_refused_and_leaves_nothing_behind() -> None:
    clock = FakeClock(wall_start=WALL0)
    tasks = TaskSystem(general=1, clock=clock)
    with pytest.raises(ZeroDivisionError, match="schedule bug"):
        tasks.every("beat", RefusingSchedule(10), print)
    # Before: the timer said active with nothing armed, and the name stayed taken.
    assert tasks.periodics == {} and clock.scheduled == 0
    beat = tasks.every("beat", Every(10), print)  # the name is free again
    assert beat.active and clock.scheduled == 1
    pool = tasks.pools["general"]
    alone = Periodic("alone", RefusingSchedule(10), print, (), {}, pool=pool, clock=clock)
    with pytest.raises(ZeroDivisionError):
        alone.start()
    assert alone.active is False and alone.snapshot()["next_tick_at"] is None
    tasks.shutdown(DEADLOCK)
