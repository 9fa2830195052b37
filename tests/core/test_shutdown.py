"""Shutdown: bounded, honest, final. And what happens at exit and at fork.

For any workload (tasks that finish, raise, or never return, queued behind
each other), a shutdown with a deadline accounts for every task that was
outstanding when intake stopped: finished during the drain, dropped by name,
or still running (abandoned to its daemon thread). Nothing is counted twice,
the pool's counters agree with the report, and no submit is accepted after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from dualqueue import Debouncer, FakeClock, PoolClosedError, TaskSystem, WorkerPool
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from chapters.broken import ForgetfulShutdownPool, NoForkResetPool
from tests.forking import FORK_WITH_THREADS

from .interleave import consistent
from .support import DEADLOCK, Gate, boom, wait_for

ROOT = Path(__file__).resolve().parents[2]
kinds = st.sampled_from(["ok", "raise", "hang"])


# --8<-- [start:shutdown-property]
def check_shutdown_accounts_for_everything(
    cls: type[WorkerPool], workload: list[str], workers: int
) -> None:
    pool = cls("drain", workers=workers)
    hung = Gate()
    run = {"ok": lambda: None, "raise": boom, "hang": hung.task}
    try:
        for kind in workload:
            pool.submit(run[kind])
        report = pool.shutdown(timeout=0.05)
        after = pool.snapshot()
        outstanding = report.queued + report.running
        accounted = report.finished + len(report.dropped) + len(report.still_running)
        assert accounted == outstanding, (
            f"{report} accounts for {accounted} of {outstanding} tasks"
        )
        assert after["dropped"] == len(report.dropped), (
            "the pool's dropped counter disagrees with the report"
        )
        assert consistent(after), f"inconsistent snapshot after shutdown: {after}"
        assert after["submitted"] == len(workload)
        with pytest.raises(PoolClosedError):
            pool.submit(lambda: None)
        second = pool.shutdown(timeout=0.05)
        assert not second.dropped, (
            "a second shutdown dropped tasks the first had already accounted for"
        )
    finally:
        hung.open()
        # --8<-- [end:shutdown-property]


@given(workload=st.lists(kinds, max_size=30), workers=st.integers(min_value=1, max_value=3))
@settings(max_examples=25)
def test_shutdown_accounts_for_every_outstanding_task(workload: list[str], workers: int) -> None:
    check_shutdown_accounts_for_everything(WorkerPool, workload, workers)


def test_shutdown_property_catches_a_shutdown_that_forgets_the_queue() -> None:
    @given(workload=st.lists(kinds, max_size=30), workers=st.integers(min_value=1, max_value=3))
    @settings(phases=[Phase.generate], database=None, derandomize=True, max_examples=100)
    def forgetful_property(workload: list[str], workers: int) -> None:
        check_shutdown_accounts_for_everything(ForgetfulShutdownPool, workload, workers)

    with pytest.raises(AssertionError):
        forgetful_property()


def test_shutdown_drains_what_it_can_and_names_what_it_drops() -> None:
    pool = WorkerPool("drain", workers=1)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    for _ in range(3):
        pool.submit(boom)
    started = time.monotonic()
    report = pool.shutdown(timeout=0.2)
    assert time.monotonic() - started < DEADLOCK
    assert (report.queued, report.running, report.finished) == (3, 1, 0)
    assert report.dropped == ("tests.core.support.boom",) * 3
    assert report.still_running == ("tests.core.support.Gate.task",)
    assert not report.complete
    gate.open()


def test_a_system_shutdown_flushes_debouncers_and_drains_every_pool_against_one_deadline() -> None:
    tasks = TaskSystem(general=1, site=1)
    indexed: list[list[int]] = []
    debouncer = tasks.debouncer("index", indexed.append, wait=3600)
    debouncer.trigger(1)
    debouncer.trigger(2)
    gate_general, gate_site = Gate(), Gate()
    tasks.submit("general", gate_general.task)
    tasks.submit("site", gate_site.task)
    assert gate_general.wait_until_entered(1) and gate_site.wait_until_entered(1)
    gate_general.open()
    started = time.monotonic()
    report = tasks.shutdown(timeout=0.3)
    elapsed = time.monotonic() - started
    assert elapsed < DEADLOCK
    assert indexed == [[1, 2]], "the pending debounced batch was not run during the drain"
    assert report.pools["site"].still_running == ("tests.core.support.Gate.task",)
    assert report.pools["general"].finished == 2  # the gated task and the flushed index run
    with pytest.raises(PoolClosedError):
        debouncer.trigger(3)
    gate_site.open()


# --8<-- [start:exit-drain]
EXIT_SCRIPT = """
import sys, threading, logging
logging.basicConfig(level=logging.INFO, format="%(message)s")
from dualqueue import TaskSystem
tasks = TaskSystem(general=2, site=2, exit_timeout={exit_timeout})
out = open(sys.argv[1], "a")
def work(i):
    out.write(f"{{i}}\\n"); out.flush()
{extra}
for i in range(20):
    tasks.submit("general", work, i)
"""


def run_script(source: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_tasks_queued_at_interpreter_exit_are_drained_not_lost(tmp_path: Path) -> None:
    out = tmp_path / "ran.txt"
    result = run_script(EXIT_SCRIPT.format(exit_timeout=30.0, extra=""), str(out))
    assert result.returncode == 0, result.stderr
    ran = sorted(int(line) for line in out.read_text().split())
    assert ran == list(range(20)), f"only {len(ran)} of 20 queued tasks ran before exit"


def test_a_task_that_never_returns_cannot_hold_the_process_open(tmp_path: Path) -> None:
    out = tmp_path / "ran.txt"
    hang = "tasks.submit('site', threading.Event().wait)"
    started = time.monotonic()
    result = run_script(EXIT_SCRIPT.format(exit_timeout=0.5, extra=hang), str(out))
    assert time.monotonic() - started < 30, "exit waited far beyond exit_timeout"
    assert result.returncode == 0, result.stderr
    assert "still running ['threading.Event.wait']" in result.stderr, result.stderr
    assert len(out.read_text().split()) == 20
    # --8<-- [end:exit-drain]


def test_the_exit_drain_does_not_wait_again_for_what_a_shutdown_left_running(tmp_path: Path) -> None:
    # A server's worker-exit hook shuts the system down within its budget; the
    # exit hook must not then wait exit_timeout more for the task it abandoned
    # (gunicorn would kill the worker at its graceful timeout mid-wait).
    out = tmp_path / "ran.txt"
    hang = "tasks.submit('site', threading.Event().wait)\ntasks.shutdown(timeout=0.2)"
    started = time.monotonic()
    script = EXIT_SCRIPT.format(exit_timeout=20.0, extra=hang).replace("range(20)", "range(0)")
    result = run_script(script, str(out))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "still running ['threading.Event.wait']" in result.stderr, "the shutdown should report the hung task"
    assert "exit drain" not in result.stderr, f"the exit hook drained an already shut-down pool again:\n{result.stderr}"
    assert elapsed < 20.0, f"exit took {elapsed:.1f}s: it waited exit_timeout again for the abandoned task"


def test_a_debounced_run_is_reported_by_the_debouncers_name() -> None:
    pool = WorkerPool("index-pool", workers=1)
    gate = Gate()
    pool.submit(gate.task)
    assert gate.wait_until_entered(1)
    index = Debouncer(lambda batch: None, wait=60, pool=pool, clock=FakeClock(), name="documents-index")
    index.trigger("doc-1")
    assert index.flush()
    report = pool.shutdown(timeout=0)
    assert report.dropped == ("debouncer 'documents-index'",), report
    gate.open()


@pytest.mark.filterwarnings(FORK_WITH_THREADS)
def test_a_forked_childs_status_starts_when_the_child_did() -> None:
    clock = FakeClock()
    tasks = TaskSystem(general=1, clock=clock)
    parent_started = tasks.snapshot()["started_at"]
    clock.advance(3600)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if tasks.snapshot()["started_at"] != parent_started else 3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child's snapshot kept the parent's started_at"
    assert tasks.snapshot()["started_at"] == parent_started


@pytest.mark.filterwarnings(FORK_WITH_THREADS)
def test_a_child_forked_while_another_thread_holds_the_clocks_lock_still_works() -> None:
    # The child's fork handlers and its first snapshot read the clock; the
    # thread holding the clock's lock in the parent does not exist in the child.
    clock = FakeClock()
    tasks = TaskSystem(general=1, clock=clock)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with clock._lock:
            held.set()
            release.wait(DEADLOCK)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(DEADLOCK)
    try:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                ran: list[str] = []
                tasks.snapshot()
                tasks.submit("general", ran.append, "child")
                code = 0 if tasks.join(timeout=5) and ran == ["child"] else 2
            finally:
                os._exit(code)
        status = wait_for_child(pid, deadline=10.0)
    finally:
        release.set()
        holder.join(DEADLOCK)
    assert status == 0, f"the child {'hung' if status == 'hung' else f'exited {status}'}"


def wait_for_child(pid: int, deadline: float) -> int | str:
    """The child's exit status, or "hung" (and the child killed) if it outlives ``deadline`` seconds."""
    give_up = time.monotonic() + deadline
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > give_up:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.01)


# --8<-- [start:fork-property]
def check_child_has_fresh_working_pools(cls: type[WorkerPool]) -> int:
    """Fork after tasks ran (and while one runs); return the child's exit status.

    The child must find empty pools of its own, run a task, and exit 0 within
    the deadline; the parent's pool must keep working.
    """
    pool = cls("forked", workers=2)
    gate = Gate()
    for _ in range(5):
        pool.submit(lambda: None)
    assert pool.join(DEADLOCK)
    pool.submit(gate.task)  # busy while we fork
    assert gate.wait_until_entered(1)
    for _ in range(3):
        pool.submit(lambda: None)
    pid = os.fork()
    if pid == 0:  # the child: no pytest from here on, only an exit status
        status = 1
        try:
            fresh = pool.snapshot()
            ran: list[int] = []
            pool.submit(ran.append, 1)
            ok = pool.join(timeout=5)
            status = (
                0
                if (
                    ok
                    and ran == [1]
                    and fresh["submitted"] == 0
                    and fresh["queued"] == 0
                )
                else 3
            )
        finally:
            os._exit(status)
    try:
        deadline = time.monotonic() + 20
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return -9
            time.sleep(0.01)
    finally:
        gate.open()
        assert pool.join(DEADLOCK), "the parent's pool stopped working after the fork"
        pool.shutdown(DEADLOCK)
        # --8<-- [end:fork-property]


# --8<-- [start:fork-tests]
@pytest.mark.filterwarnings(FORK_WITH_THREADS)
def test_a_forked_child_gets_fresh_working_pools() -> None:
    for _ in range(5):
        assert check_child_has_fresh_working_pools(WorkerPool) == 0


@pytest.mark.filterwarnings(FORK_WITH_THREADS)
def test_the_fork_property_catches_a_pool_without_a_fork_reset() -> None:
    assert check_child_has_fresh_working_pools(NoForkResetPool) != 0
    # --8<-- [end:fork-tests]


def test_wait_for_is_a_bounded_poll() -> None:
    assert wait_for(lambda: True)
    assert not wait_for(lambda: False, timeout=0.01)
