"""The process registry: one TaskSystem per process, bounded result stores, debouncers, and fork."""

from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from typing import Any

from django.db import connections
from django.test import SimpleTestCase, TransactionTestCase, override_settings
from dualqueue import FakeClock, TaskSystem
from dualqueue.django import registry
from dualqueue.django.compat import TaskResultDoesNotExist, TaskResultStatus, task_backends

from tests.django import tasks
from tests.django.support import DEADLOCK, finished


class ResultStoreTests(SimpleTestCase):
    @override_settings(DUALQUEUE={"RESULTS_KEPT": 3})
    def test_the_store_keeps_the_latest_results_and_counts_evictions(self) -> None:
        results = [tasks.noop.enqueue(i) for i in range(5)]
        self.assertTrue(registry.join(DEADLOCK))
        backend = task_backends["default"]
        for evicted in results[:2]:
            with self.assertRaises(TaskResultDoesNotExist):
                backend.get_result(evicted.id)
        for kept in results[2:]:
            self.assertIs(backend.get_result(kept.id), kept)
        store = registry.snapshot()["results"]["backends"]["default"]
        self.assertEqual(store, {"kept": 3, "limit": 3, "evicted": 2})
        # An evicted result is only gone from the store: its holder still sees it finish.
        self.assertEqual(results[0].status, TaskResultStatus.SUCCESSFUL)

    def test_a_limit_of_zero_keeps_nothing_and_counts_everything(self) -> None:
        store = registry.ResultStore(0)
        result = tasks.noop.enqueue()
        store.add(result)
        self.assertEqual(store.snapshot(), {"kept": 0, "limit": 0, "evicted": 1})
        with self.assertRaises(TaskResultDoesNotExist):
            store.get(result.id)
        self.assertTrue(finished(result))

    def test_no_limit_keeps_everything(self) -> None:
        store = registry.ResultStore(None)
        for _ in range(3):
            store.add(tasks.noop.enqueue())
        self.assertEqual(store.snapshot(), {"kept": 3, "limit": None, "evicted": 0})
        self.assertTrue(registry.join(DEADLOCK))

    def test_each_alias_has_its_own_store(self) -> None:
        two = {
            "default": {"BACKEND": "dualqueue.django.backend.DualqueueBackend", "QUEUES": ["default", "site"]},
            "other": {"BACKEND": "dualqueue.django.backend.DualqueueBackend", "QUEUES": ["default"]},
        }
        with override_settings(TASKS=two):
            mine = tasks.noop.enqueue()
            theirs = tasks.noop.using(backend="other").enqueue()
            self.assertTrue(registry.join(DEADLOCK))
            with self.assertRaises(TaskResultDoesNotExist):
                task_backends["other"].get_result(mine.id)
            self.assertIs(task_backends["other"].get_result(theirs.id), theirs)
            stores = registry.snapshot()["results"]["backends"]
            self.assertEqual({alias: s["kept"] for alias, s in stores.items()}, {"default": 1, "other": 1})
            # Both aliases share the process's one TaskSystem.
            self.assertEqual(registry.snapshot()["pools"]["general"]["succeeded"], 2)


class RegistryTests(SimpleTestCase):
    def test_concurrent_first_use_builds_one_system(self) -> None:
        barrier = threading.Barrier(8)
        seen: list[TaskSystem] = []

        def first_use() -> None:
            barrier.wait(DEADLOCK)
            seen.append(registry.get_task_system())

        threads = [threading.Thread(target=first_use) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DEADLOCK)
        self.assertEqual(len(seen), 8)
        self.assertEqual(len({id(system) for system in seen}), 1)

    def test_building_the_system_starts_no_thread(self) -> None:
        system = registry.get_task_system()
        self.assertEqual([p["alive_workers"] for p in system.snapshot()["pools"].values()], [0, 0])
        self.assertEqual(_threads_of(system), [])

    # --8<-- [start:test-fake-clock]
    def test_override_task_system_with_a_fake_clock_drives_a_debouncer(self) -> None:
        clock = FakeClock()
        batches: list[list[Any]] = []
        with registry.override_task_system(clock=clock) as system:
            index = registry.debouncer("search-index", batches.append, wait=15.0)
            for doc in (1, 2, 3):
                index.trigger(doc)
                clock.advance(5.0)  # quiet for less than the window each time
            self.assertEqual(batches, [])
            clock.advance(10.0)
            self.assertTrue(system.join(DEADLOCK))
            self.assertEqual(batches, [[1, 2, 3]])
            self.assertIs(
                registry.debouncer("search-index", batches.append, wait=15.0), index
            )
            self.assertEqual(
                registry.snapshot()["debouncers"]["search-index"]["delivered"], 3
            )
        self.assertIsNot(registry.get_task_system(), system)
        self.assertTrue(system["general"].closed)
    # --8<-- [end:test-fake-clock]

    def test_a_debouncer_name_means_one_debouncer(self) -> None:
        registry.debouncer("index", print, wait=1.0)
        for kwargs in ({"wait": 2.0}, {"wait": 1.0, "pool": "site"}, {"wait": 1.0, "max_wait": 5.0}):
            with self.subTest(kwargs), self.assertRaisesMessage(ValueError, "already exists"):
                registry.debouncer("index", print, **kwargs)  # type: ignore[arg-type]
        with self.assertRaisesMessage(ValueError, "already exists"):
            registry.debouncer("index", repr, wait=1.0)

    def test_reset_drops_what_is_queued_and_reports_it(self) -> None:
        with override_settings(DUALQUEUE={"POOLS": {"general": 1, "site": 1}}):
            gate = tasks.gate("reset")
            tasks.wait_at_gate.enqueue("reset")
            self.assertTrue(tasks.ENTERED["reset"].wait(DEADLOCK))
            queued = tasks.noop.enqueue()
            with self.assertLogs("dualqueue", "WARNING"):
                report = registry.reset()
            assert report is not None
            self.assertEqual(report.dropped, ("tests.django.tasks.noop",))
            self.assertEqual(report.still_running, ("tests.django.tasks.wait_at_gate",))
            self.assertEqual(queued.status, TaskResultStatus.READY)  # dropped unrun: it never started
            gate.set()


class DebouncerDatabaseTests(TransactionTestCase):
    def test_debounced_runs_close_their_database_connection(self) -> None:
        clock = FakeClock()
        used: list[Any] = []

        def rebuild(batch: list[Any]) -> None:
            wrapper = connections["default"]  # this thread's own
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT 1")
            used.append(wrapper)

        with registry.override_task_system(clock=clock) as system:
            registry.debouncer("rebuild", rebuild, wait=1.0).trigger("doc")
            clock.advance(1.0)
            self.assertTrue(system.join(DEADLOCK))
        self.assertEqual(len(used), 1)
        self.assertIsNot(used[0], connections["default"], "the run used the test thread's connection")
        self.assertIsNone(used[0].connection, "a debounced run left its database connection open")


def _threads_of(system: TaskSystem) -> list[threading.Thread]:
    return [thread for pool in system.pools.values() for thread in pool._threads]


class ForkTests(SimpleTestCase):
    """A forked child (gunicorn --preload) gets a working registry of its own."""

    def test_a_forked_child_runs_tasks_on_fresh_pools_with_an_empty_result_store(self) -> None:
        parent_result = tasks.thread_name.enqueue()
        self.assertTrue(finished(parent_result))
        # Hold the registry's lock in another thread across the fork: a child that inherited
        # it held would deadlock on its first enqueue.
        holding, release = threading.Event(), threading.Event()

        def hold_lock() -> None:
            with registry._lock:
                holding.set()
                release.wait(DEADLOCK)

        holder = threading.Thread(target=hold_lock)
        holder.start()
        self.assertTrue(holding.wait(DEADLOCK))
        with warnings.catch_warnings():
            # Python 3.12+ warns about exactly what this test does on purpose: fork with live threads.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: report by exit status, never return into the test runner
            code = 99
            try:
                signal.signal(signal.SIGALRM, signal.SIG_DFL)  # not pytest-timeout's handler: just die
                signal.alarm(int(DEADLOCK))  # a deadlocked child dies instead of hanging
                code = _child_checks(parent_result.id)
            finally:
                os._exit(code)
        release.set()
        holder.join(DEADLOCK)
        status = _wait_for_child(pid)
        self.assertFalse(
            os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM, "the child deadlocked (its alarm fired)"
        )
        self.assertTrue(os.WIFEXITED(status), f"the child did not exit normally (status {status})")
        self.assertEqual(os.WEXITSTATUS(status), 0, _CHILD_FAILURES.get(os.WEXITSTATUS(status), "unknown"))
        # The parent is untouched: its result and its pools are as they were.
        self.assertIs(task_backends["default"].get_result(parent_result.id), parent_result)
        self.assertEqual(registry.snapshot()["pools"]["general"]["succeeded"], 1)


_CHILD_FAILURES = {
    1: "the child could read the parent's result",
    2: "the child's pools were not fresh",
    3: "the child's task did not run on a child worker",
    4: "the child's result store was not its own",
    99: "the child raised",
}


def _child_checks(parent_result_id: str) -> int:
    backend = task_backends["default"]
    try:
        backend.get_result(parent_result_id)
        return 1
    except TaskResultDoesNotExist:
        pass
    pools = registry.snapshot()["pools"]
    if pools["general"]["submitted"] != 0 or pools["general"]["alive_workers"] != 0:
        return 2
    result = tasks.thread_name.enqueue()
    if not registry.join(DEADLOCK) or result.status != TaskResultStatus.SUCCESSFUL:
        return 3
    if not str(result.return_value).startswith("dualqueue-general-"):
        return 3
    if result.worker_ids != [f"{os.getpid()}:{result.return_value}"]:
        return 3
    kept = registry.snapshot()["results"]["backends"]["default"]["kept"]
    if backend.get_result(result.id) is not result or kept != 1:
        return 4
    return 0


def _wait_for_child(pid: int) -> int:
    deadline = time.monotonic() + 2 * DEADLOCK
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError("the forked child did not finish: it deadlocked")
