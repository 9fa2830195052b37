"""The core keeps its promises under load and faults: every task accounted for, nothing lost silently.

Sizes come from the issue that asked for them (8 producers x 50,000 tasks);
``DUALQUEUE_LOAD_TASKS`` scales the per-producer count down for a quick run.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time

import pytest
from dualqueue import Debouncer, FakeClock, PoolClosedError, QueueFullError, Retry, TaskSystem, WorkerPool

from tests.core.interleave import consistent
from tests.core.support import DEADLOCK, Gate, wait_for
from tests.forking import FORK_WITH_THREADS

PER_PRODUCER = int(os.environ.get("DUALQUEUE_LOAD_TASKS", "50000"))
PRODUCERS = 8


@pytest.fixture
def quiet_failures():
    # 80,000 tracebacks would measure the logging module, not the pools.
    logger = logging.getLogger("dualqueue")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def ok() -> None:
    pass


def fail() -> None:
    raise ValueError("task failed (injected)")


def exit_() -> None:
    raise SystemExit(3)


def slow() -> None:
    time.sleep(0.0002)


@pytest.mark.usefixtures("quiet_failures")
def test_a_mixed_load_from_eight_producers_is_accounted_for_task_by_task(figures) -> None:
    tasks = TaskSystem(general=WorkerPool("general", workers=2, dead_letters=50),
                       site=WorkerPool("site", workers=10, dead_letters=50))
    kinds = [ok] * 80 + [fail] * 10 + [exit_] * 5 + [slow] * 4 + [Retry(attempts=2, base_delay=0)(fail)]
    sent = {"general": {"ok": 0, "bad": 0}, "site": {"ok": 0, "bad": 0}}
    sent_lock = threading.Lock()
    worker_deaths: list[dict] = []
    stop = threading.Event()

    def produce(seed: int) -> None:
        rng = random.Random(seed)
        mine = {"general": {"ok": 0, "bad": 0}, "site": {"ok": 0, "bad": 0}}
        for _ in range(PER_PRODUCER):
            pool = "general" if rng.random() < 0.5 else "site"
            fn = rng.choice(kinds)
            tasks.submit(pool, fn)
            mine[pool]["ok" if fn in (ok, slow) else "bad"] += 1
        with sent_lock:
            for pool, counts in mine.items():
                for key, n in counts.items():
                    sent[pool][key] += n

    def monitor() -> None:
        while not stop.is_set():
            for pool in tasks.snapshot()["pools"].values():
                if pool["started"] and pool["alive_workers"] != pool["workers"]:
                    worker_deaths.append(pool)
                if not consistent(pool):
                    worker_deaths.append({"inconsistent": pool})
            time.sleep(0.01)

    watcher = threading.Thread(target=monitor)
    watcher.start()
    started = time.perf_counter()
    producers = [threading.Thread(target=produce, args=(seed,)) for seed in range(PRODUCERS)]
    for t in producers:
        t.start()
    for t in producers:
        t.join(300)
    assert tasks.join(timeout=300), "the pools did not finish the load"
    elapsed = time.perf_counter() - started
    stop.set()
    watcher.join(DEADLOCK)

# --8<-- [start:load-accounting]
    assert not worker_deaths, (
        f"a worker died or a snapshot was inconsistent under load: {worker_deaths[:2]}"
    )
    lost = 0
    for name, pool in tasks.snapshot()["pools"].items():
        expected = sent[name]["ok"] + sent[name]["bad"]
        assert pool["submitted"] == expected
        assert (
            pool["succeeded"] + pool["failed"] + pool["dropped"] == pool["submitted"]
        ), pool
        assert (pool["succeeded"], pool["failed"]) == (
            sent[name]["ok"],
            sent[name]["bad"],
        )
        assert len(pool["dead_letters"]) <= 50, "the dead-letter ring outgrew its bound"
        lost += pool["submitted"] - pool["succeeded"] - pool["failed"]
# --8<-- [end:load-accounting]
    figures.update(tasks=PRODUCERS * PER_PRODUCER, producers=PRODUCERS, seconds=round(elapsed, 2),
                   failed=sum(p["failed"] for p in tasks.snapshot()["pools"].values()), lost=lost,
                   worker_deaths=len(worker_deaths))
    tasks.shutdown(DEADLOCK)


def test_shutdown_under_load_returns_within_its_deadline_and_accounts_for_everything(figures) -> None:
    tasks = TaskSystem(general=2, site=10)
    forever = Gate()
    for i in range(3000):
        tasks.submit("site" if i % 3 else "general", forever.task if i % 500 == 0 else slow)
    deadline = 0.5
    started = time.monotonic()
    report = tasks.shutdown(timeout=deadline)
    took = time.monotonic() - started
    assert took < deadline + 1.0, f"shutdown took {took:.2f}s for a {deadline}s deadline"
    for name, part in report.pools.items():
        assert part.finished + len(part.dropped) + len(part.still_running) == part.queued + part.running, name
        assert tasks.snapshot()["pools"][name]["dropped"] == len(part.dropped)
    assert len(report.still_running) == 6, "the six never-returning tasks must be named as still running"
    second = tasks.shutdown(timeout=0.1)
    assert not second.dropped and second.queued == 0
    with pytest.raises(PoolClosedError):
        tasks.submit("general", ok)
    figures.update(outstanding=report.queued + report.running, finished=report.finished,
                   dropped=len(report.dropped), still_running=len(report.still_running),
                   seconds=round(took, 3), deadline=deadline)
    forever.open()


def test_backpressure_refuses_at_the_caller_and_loses_nothing_it_accepted(figures) -> None:
    pool = WorkerPool("bounded", workers=2, maxsize=100)
    ran = 0
    ran_lock = threading.Lock()

    def work() -> None:
        nonlocal ran
        time.sleep(0.0001)
        with ran_lock:
            ran += 1

    accepted = refused = 0
    until = time.monotonic() + 1.0
    while time.monotonic() < until:
        try:
            pool.submit(work)
            accepted += 1
        except QueueFullError:
            refused += 1
    assert pool.join(DEADLOCK)
    snap = pool.snapshot()
    assert refused > 0, "the producer never outran the workers: the test proved nothing"
    assert (snap["rejected"], snap["submitted"], snap["succeeded"], ran) == (refused, accepted, accepted, accepted)
    figures.update(accepted=accepted, refused=refused, lost=accepted - ran)
    pool.shutdown(DEADLOCK)


def test_a_raising_or_slow_debounce_callback_loses_and_repeats_nothing(figures) -> None:
    clock = FakeClock()
    pool = WorkerPool("index", workers=3, clock=clock)
    delivered: list[int] = []
    batches: list[list[int]] = []
    release = threading.Semaphore(0)
    state = {"calls": 0, "blocked": 0, "finale": False, "blocked_at": -1}

    def rebuild(batch: list[int]) -> None:
        state["calls"] += 1  # single flight: no other run touches these meanwhile
        delivered.extend(batch)
        batches.append(list(batch))
        if state["calls"] % 3 == 0:
            raise RuntimeError("index rebuild failed (injected)")
        if state["calls"] % 3 == 1 and not state["finale"]:
            state["blocked"] += 1
            release.acquire(timeout=DEADLOCK)  # slow: triggers keep arriving meanwhile
            state["blocked"] -= 1

    def settled() -> bool:  # no run in flight, or the one in flight is stuck in its slow part
        return not debouncer.running or state["blocked"] == 1

    debouncer = Debouncer(rebuild, wait=15, pool=pool, clock=clock)
    n = 0
    round_of: list[int] = []
    for round_ in range(40):
        for _ in range(random.Random(round_).randint(1, 20)):
            debouncer.trigger(n)
            round_of.append(round_)
            n += 1
            clock.advance(1)
        clock.advance(16)
        assert wait_for(settled), "a run neither finished nor reached its slow part"
        if state["blocked"] and state["blocked_at"] < 0:
            state["blocked_at"] = round_
        if state["blocked"] and round_ - state["blocked_at"] >= 2:  # slow for two more rounds of triggers
            release.release()
            assert wait_for(lambda: state["blocked"] == 0)
            state["blocked_at"] = -1
            assert wait_for(settled)
    state["finale"] = True
    release.release()
    for _ in range(50):  # settle: a follow-up starts when a slow run ends
        assert pool.join(DEADLOCK)
        clock.advance(16)
        if not debouncer.pending and not debouncer.running:
            break
    assert pool.join(DEADLOCK)
    snap = debouncer.snapshot()
    assert len(delivered) == n and delivered == list(range(n)), "an item was lost, repeated or reordered"
    assert not snap["running"] and not snap["pending"], "the single-flight guard was left held"
    assert snap["failed_runs"] >= 3 and snap["delivered"] == n, snap
    follow_ups = sum(1 for batch in batches if len({round_of[i] for i in batch}) > 1)
    assert follow_ups >= 5, f"only {follow_ups} runs collected triggers from a slow run: the test proved little"
    figures.update(items=n, runs=snap["runs"], failed_runs=snap["failed_runs"], follow_ups=follow_ups,
                   lost=n - len(set(delivered)),
                   duplicated=len(delivered) - len(set(delivered)))
    pool.shutdown(DEADLOCK)


@pytest.mark.filterwarnings(FORK_WITH_THREADS)
def test_fork_while_workers_are_busy_and_producers_hammer_the_lock(figures) -> None:
    tasks = TaskSystem(general=2, site=4)
    gate = Gate()
    for _ in range(4):
        tasks.submit("site", gate.task)
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            tasks.submit("general", ok)
            tasks.snapshot()

    hammers = [threading.Thread(target=hammer) for _ in range(2)]
    for t in hammers:
        t.start()
    statuses = []
    try:
        for _ in range(20):
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    fresh = tasks.snapshot()["pools"]
                    out: list[str] = []
                    tasks.submit("site", out.append, "child")
                    tasks.submit("general", out.append, "child")
                    done = tasks.join(timeout=5)
                    code = 0 if done and out == ["child"] * 2 and fresh["site"]["submitted"] == 0 else 2
                finally:
                    os._exit(code)
            deadline = time.monotonic() + 20
            while True:
                finished, status = os.waitpid(pid, os.WNOHANG)
                if finished:
                    statuses.append(os.waitstatus_to_exitcode(status))
                    break
                if time.monotonic() > deadline:  # a lock inherited held would hang the child
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                    statuses.append("hung")
                    break
                time.sleep(0.005)
    finally:
        stop.set()
        for t in hammers:
            t.join(DEADLOCK)
        gate.open()
    assert statuses == [0] * 20, f"children: {statuses}"
    assert tasks.join(DEADLOCK) and tasks.snapshot()["pools"]["site"]["succeeded"] == 4, "the parent stopped working"
    figures.update(forks=20, children_ok=statuses.count(0))
    tasks.shutdown(DEADLOCK)
    assert wait_for(lambda: True)
