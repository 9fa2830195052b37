"""DualqueueBackend meets the backport's own expectations of a backend, on real worker threads.

The first class mirrors django-tasks' ``test_immediate_backend.py`` (and the threaded backend
tests upstream): statuses, timestamps, return values, errors, signals, validation. The rest
is what only a pooled backend owes: which thread runs what, isolation between the pools,
database connections, errors surfacing at the caller, and failures counted by the pool.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from django.core import mail
from django.db import connections
from django.test import SimpleTestCase, TransactionTestCase, override_settings
from django.utils import timezone
from dualqueue import PoolClosedError, QueueFullError, TaskSystem, WorkerPool
from dualqueue.django import registry
from dualqueue.django.backend import DualqueueBackend
from dualqueue.django.compat import (
    InvalidTaskError,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_backends,
    task_enqueued,
)

from tests.django import tasks
from tests.django.support import DEADLOCK, failure_logs, finished, record_signals

try:
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from django_tasks import task

SMALL_POOLS = {"POOLS": {"general": 1, "site": 1}, "EXIT_TIMEOUT": 5.0, "RESULTS_KEPT": 100}


class BackendContractTests(SimpleTestCase):
    """What django-tasks' own suite asks of a backend."""

    def test_the_default_backend_is_a_dualqueue_backend(self) -> None:
        backend = task_backends["default"]
        self.assertIsInstance(backend, DualqueueBackend)
        self.assertEqual(backend.alias, "default")
        self.assertEqual(backend.queue_pools, {"default": "general", "site": "site"})

    def test_capability_flags_are_honest(self) -> None:
        self.assertTrue(DualqueueBackend.supports_defer)  # run_after waits on the pool's clock (and in the row)
        self.assertFalse(DualqueueBackend.supports_priority)
        self.assertTrue(DualqueueBackend.supports_async_task)
        # "from any thread or process": only the database store can say yes.
        # On the class and on the instance alike, and a settings change is seen at once.
        for holder in (DualqueueBackend, task_backends["default"]):
            self.assertIs(holder.supports_get_result, False)  # the memory store (these settings)
            with override_settings(DUALQUEUE={"RESULT_STORE": "database"}):
                self.assertIs(holder.supports_get_result, True)
            with override_settings(DUALQUEUE={"RESULT_STORE": "memory"}):
                self.assertIs(holder.supports_get_result, False)

    def test_enqueue_then_success(self) -> None:
        result = tasks.noop.enqueue(1, two=3)
        self.assertTrue(finished(result))
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertTrue(result.is_finished)
        self.assertIsNotNone(result.enqueued_at)
        self.assertGreaterEqual(result.started_at, result.enqueued_at)
        self.assertEqual(result.last_attempted_at, result.started_at)
        self.assertGreaterEqual(result.finished_at, result.started_at)
        self.assertIsNone(result.return_value)
        self.assertEqual(result.task, tasks.noop)
        self.assertEqual(result.args, [1])
        self.assertEqual(result.kwargs, {"two": 3})
        self.assertEqual(result.attempts, 1)
        self.assertEqual(result.backend, "default")

    def test_return_value(self) -> None:
        result = tasks.calculate_meaning_of_life.enqueue()
        self.assertTrue(finished(result))
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 42)

    def test_a_raising_task_fails_with_its_exception_path_and_traceback(self) -> None:
        cases = [
            (tasks.failing_value_error, ValueError, "This task failed due to ValueError"),
            (tasks.failing_system_exit, SystemExit, "This task failed due to SystemExit"),
        ]
        for task_, exception, message in cases:
            with self.subTest(task_.name), failure_logs(self) as (logged, _):
                result = task_.enqueue()
                self.assertTrue(registry.join(DEADLOCK))
                self.assertEqual(len(logged.output), 1)
                self.assertIn(result.id, logged.output[0])
                self.assertEqual(result.status, TaskResultStatus.FAILED)
                with self.assertRaisesMessage(ValueError, "Task failed"):
                    result.return_value  # noqa: B018
                self.assertGreaterEqual(result.finished_at, result.started_at)
                self.assertEqual(len(result.errors), 1)
                self.assertEqual(result.errors[0].exception_class, exception)
                self.assertTrue(result.errors[0].traceback.endswith(f"{exception.__name__}: {message}\n"))

    def test_a_return_value_json_cannot_carry_fails_the_task(self) -> None:
        with failure_logs(self):
            result = tasks.complex_return_value.enqueue()
            self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(result.status, TaskResultStatus.FAILED)
        self.assertIsNone(result._return_value)
        self.assertEqual(result.errors[0].exception_class, TypeError)
        self.assertIn("Unsupported type", result.errors[0].traceback)

    def test_arguments_and_return_values_are_json_normalised(self) -> None:
        result = tasks.echo.enqueue((1, 2), b"bytes", nested={"t": (3, 4)})
        self.assertEqual(result.args, [[1, 2], "bytes"])
        self.assertEqual(result.kwargs, {"nested": {"t": [3, 4]}})
        self.assertTrue(finished(result))
        # The function receives what a durable backend would give it: lists, not tuples.
        self.assertEqual(result.return_value, {"args": [[1, 2], "bytes"], "kwargs": {"nested": {"t": [3, 4]}}})

    def test_arguments_json_cannot_carry_fail_at_the_caller_and_queue_nothing(self) -> None:
        with record_signals() as log:
            with self.assertRaisesMessage(TypeError, "tests.django.tasks.echo: the arguments of a task must be JSON"):
                tasks.echo.enqueue(object())
            with self.assertRaises(ValueError):
                tasks.echo.enqueue(b"\xff not utf-8")
        self.assertEqual(log, [])
        self.assertEqual(registry.snapshot()["pools"]["general"]["submitted"], 0)

    def test_takes_context(self) -> None:
        result = tasks.get_task_id.enqueue()
        self.assertTrue(finished(result))
        self.assertEqual(result.return_value, result.id)

    def test_async_task_runs_to_completion(self) -> None:
        result = tasks.async_meaning_of_life.enqueue()
        self.assertTrue(finished(result))
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 42)

    def test_async_tasks_sync_code_runs_on_the_worker_thread(self) -> None:
        # So the ORM calls an async task makes through sync_to_async use the worker's
        # connection, which the worker closes after the task.
        result = tasks.async_sync_thread_name.enqueue()
        self.assertTrue(finished(result))
        self.assertRegex(result.return_value, r"^dualqueue-general-\d+$")

    def test_aenqueue(self) -> None:
        result = asyncio.run(tasks.calculate_meaning_of_life.aenqueue())
        self.assertTrue(finished(result))
        self.assertEqual(result.return_value, 42)

    def test_signals_fire_once_each_in_order_with_the_result(self) -> None:
        with record_signals() as log:
            ok = tasks.calculate_meaning_of_life.enqueue()
            with failure_logs(self):
                failed = tasks.failing_value_error.enqueue()
                self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(log.of(ok.id), [("enqueued", "READY"), ("started", "RUNNING"), ("finished", "SUCCESSFUL")])
        self.assertEqual(log.of(failed.id), [("enqueued", "READY"), ("started", "RUNNING"), ("finished", "FAILED")])
        self.assertEqual({sender for *_, sender in log}, {DualqueueBackend})

    def test_get_result_returns_the_result_in_this_process(self) -> None:
        result = tasks.calculate_meaning_of_life.enqueue()
        self.assertTrue(finished(result))
        backend = task_backends["default"]
        self.assertIs(backend.get_result(result.id), result)
        self.assertIs(tasks.calculate_meaning_of_life.get_result(result.id), result)
        self.assertIs(asyncio.run(backend.aget_result(result.id)), result)
        result.refresh()
        self.assertEqual(result.return_value, 42)

    def test_get_result_of_an_unknown_id_raises(self) -> None:
        backend = task_backends["default"]
        for result_id in ["unknown", "", 123]:
            with self.subTest(result_id), self.assertRaises(TaskResultDoesNotExist):
                backend.get_result(result_id)  # type: ignore[arg-type]

    def test_get_result_is_the_same_from_another_thread(self) -> None:
        result = tasks.noop.enqueue()
        seen: list[Any] = []
        thread = threading.Thread(target=lambda: seen.append(task_backends["default"].get_result(result.id)))
        thread.start()
        thread.join(DEADLOCK)
        self.assertEqual(seen, [result])
        self.assertTrue(finished(result))


class ValidationTests(SimpleTestCase):
    """Mistakes fail where they are made: at decoration, at ``using()``, or at enqueue."""

    def test_non_module_level_function_is_refused(self) -> None:
        def local() -> None:
            pass

        with self.assertRaisesMessage(InvalidTaskError, "Task function must be defined at a module level"):
            task()(local)

    def test_unknown_queue_is_refused(self) -> None:
        with self.assertRaisesMessage(InvalidTaskError, "Queue 'nope' is not valid for backend"):
            tasks.noop.using(queue_name="nope")

    def test_priority_is_refused(self) -> None:
        with self.assertRaisesMessage(InvalidTaskError, "Backend does not support setting priority of tasks"):
            tasks.noop.using(priority=10)

    def test_a_naive_run_after_is_refused(self) -> None:
        # run_after is supported; an instant without a time zone is not one (the framework's own check).
        with self.assertRaisesMessage(InvalidTaskError, "run_after must be an aware datetime"):
            tasks.noop.using(run_after=timezone.now().replace(tzinfo=None))

    def test_takes_context_needs_a_context_argument(self) -> None:
        with self.assertRaisesMessage(InvalidTaskError, "first argument of 'context'"):
            task(takes_context=True)(tasks.noop.func)

    def test_enqueue_validates_again_under_the_current_settings(self) -> None:
        on_site = tasks.noop.using(queue_name="site")
        only_default = {"default": {"BACKEND": "dualqueue.django.backend.DualqueueBackend", "QUEUES": ["default"]}}
        with (
            override_settings(TASKS=only_default),
            self.assertRaisesMessage(InvalidTaskError, "Queue 'site' is not valid for backend"),
        ):
            on_site.enqueue()


@override_settings(DUALQUEUE=SMALL_POOLS)
class PoolTests(SimpleTestCase):
    """Which thread runs what, and what one pool's load does (nothing) to the other."""

    def test_general_tasks_run_on_general_workers_and_site_tasks_on_site_workers(self) -> None:
        general = [tasks.thread_name.enqueue() for _ in range(3)]
        site = [tasks.site_thread_name.enqueue() for _ in range(3)] + [tasks.measure_site.enqueue(7, ["B4", "B8"])]
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual({r.return_value for r in general}, {"dualqueue-general-0"})
        self.assertEqual({r.return_value for r in site[:3]}, {"dualqueue-site-0"})
        self.assertEqual(site[3].return_value, {"site": 7, "bands": ["B4", "B8"], "thread": "dualqueue-site-0"})
        self.assertEqual({r.worker_ids[0].split(":", 1)[1] for r in general}, {"dualqueue-general-0"})

    def test_enqueue_returns_a_ready_result(self) -> None:
        gate = tasks.gate("busy")
        blocker = tasks.wait_at_gate.enqueue("busy")
        self.assertTrue(tasks.ENTERED["busy"].wait(DEADLOCK))
        result = tasks.noop.enqueue()  # the one general worker is busy: this one must wait
        self.assertEqual(result.status, TaskResultStatus.READY)
        self.assertIsNone(result.started_at)
        self.assertEqual(blocker.status, TaskResultStatus.RUNNING)
        gate.set()
        self.assertTrue(finished(result))
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)

    def test_a_blocked_site_pool_does_not_delay_a_general_task(self) -> None:
        gate = tasks.gate("site-busy")
        blocked = [tasks.wait_at_gate_on_site.enqueue("site-busy") for _ in range(3)]
        self.assertTrue(tasks.ENTERED["site-busy"].wait(DEADLOCK))
        general = tasks.thread_name.enqueue()
        try:
            self.assertTrue(finished(general), "a general task waited behind the blocked site pool")
            self.assertEqual(general.return_value, "dualqueue-general-0")
            # Causality, not latency: it finished while every site task was still held.
            self.assertEqual([r.status for r in blocked], ["RUNNING", "READY", "READY"])
            self.assertEqual(registry.snapshot()["pools"]["site"]["queued"], 2)
        finally:
            gate.set()
        self.assertTrue(registry.join(DEADLOCK))

    def test_a_failed_task_is_counted_by_its_pool_with_its_own_name(self) -> None:
        with failure_logs(self) as (_, logged):
            result = tasks.failing_value_error.enqueue()
            self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(result.status, TaskResultStatus.FAILED)
        pool = registry.snapshot()["pools"]["general"]
        self.assertEqual((pool["failed"], pool["succeeded"], pool["error_rate"]), (1, 0, 1.0))
        self.assertEqual(pool["last_error"]["type"], "ValueError")
        self.assertEqual(pool["last_error"]["message"], "This task failed due to ValueError")
        self.assertEqual([d["task"] for d in pool["dead_letters"]], ["tests.django.tasks.failing_value_error"])
        self.assertIn("tests.django.tasks.failing_value_error", logged.output[0])

    def test_a_raising_task_started_receiver_fails_the_task_instead_of_leaving_it_running(self) -> None:
        def explode(**kwargs: Any) -> None:
            raise RuntimeError("receiver broke")

        from dualqueue.django.compat import task_started

        task_started.connect(explode)
        try:
            with failure_logs(self):
                result = tasks.noop.enqueue()
                self.assertTrue(registry.join(DEADLOCK))
        finally:
            task_started.disconnect(explode)
        self.assertEqual(result.status, TaskResultStatus.FAILED)
        self.assertEqual(result.errors[0].exception_class, RuntimeError)

    def test_a_shut_down_pool_refuses_at_the_caller_and_signals_nothing(self) -> None:
        registry.get_task_system()
        registry.shutdown(timeout=1.0)
        with record_signals() as log, self.assertRaises(PoolClosedError):
            tasks.noop.enqueue()
        self.assertEqual(log, [])
        self.assertEqual(registry.snapshot()["results"]["backends"].get("default", {"kept": 0})["kept"], 0)

    def test_a_full_pool_refuses_at_the_caller(self) -> None:
        bounded = TaskSystem(general=WorkerPool("general", workers=1, maxsize=1), site=1)
        with registry.override_task_system(bounded):
            gate = tasks.gate("full")
            tasks.wait_at_gate.enqueue("full")
            self.assertTrue(tasks.ENTERED["full"].wait(DEADLOCK))
            waiting = tasks.noop.enqueue()  # fills the one queue slot
            with self.assertRaises(QueueFullError):
                tasks.noop.enqueue()
            self.assertEqual(bounded["general"].snapshot()["rejected"], 1)
            gate.set()
            self.assertTrue(finished(waiting))
            self.assertTrue(bounded.join(DEADLOCK))

    def test_the_task_is_not_handed_to_its_pool_before_task_enqueued_is_sent(self) -> None:
        seen: list[tuple[list[str], int]] = []

        def on_enqueued(task_result: Any, **kwargs: Any) -> None:
            # While the signal is being sent, the pool has not been given the task at all.
            submitted = registry.snapshot()["pools"]["general"]["submitted"]
            seen.append(([name for name, _ in log.of(task_result.id)], submitted))

        with record_signals() as log:
            task_enqueued.connect(on_enqueued)
            try:
                result = tasks.noop.enqueue()
                self.assertTrue(finished(result))
            finally:
                task_enqueued.disconnect(on_enqueued)
        self.assertEqual(seen, [(["enqueued"], 0)])
        self.assertEqual([name for name, _ in log.of(result.id)], ["enqueued", "started", "finished"])


class FailedEnqueueTests(SimpleTestCase):
    """A failed enqueue runs nothing, as with ImmediateBackend: a caller that retries runs the task once."""

    def test_a_task_enqueued_receiver_that_raises_stops_the_task_from_running(self) -> None:
        class ReceiverBroke(Exception):
            pass

        def broken_receiver(task_result: Any, **kwargs: Any) -> None:
            raise ReceiverBroke("the audit log is down")

        tasks.RUNS.clear()
        task_enqueued.connect(broken_receiver)
        try:
            with self.assertRaises(ReceiverBroke):
                tasks.record_run.enqueue("first try")
        finally:
            task_enqueued.disconnect(broken_receiver)
        retried = tasks.record_run.enqueue("retry")  # what a caller does after the error
        self.assertTrue(finished(retried))
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(tasks.RUNS, ["retry"], "the failed enqueue must not have run the task")
        general = registry.snapshot()["pools"]["general"]
        self.assertEqual((general["submitted"], general["succeeded"], general["dropped"]), (1, 1, 0))

    def test_a_refused_submit_after_the_signal_ends_the_result_failed_and_runs_nothing(self) -> None:
        tasks.RUNS.clear()
        with record_signals() as log:
            closing: list[str] = []

            def shut_down_meanwhile(task_result: Any, **kwargs: Any) -> None:
                closing.append(task_result.id)
                registry.get_task_system().shutdown(timeout=0)  # a deploy's shutdown, racing the enqueue

            task_enqueued.connect(shut_down_meanwhile)
            try:
                with self.assertRaises(PoolClosedError):
                    tasks.record_run.enqueue("raced")
            finally:
                task_enqueued.disconnect(shut_down_meanwhile)
        (result_id,) = closing
        self.assertEqual([name for name, _ in log.of(result_id)], ["enqueued", "finished"])
        self.assertEqual(log.of(result_id)[-1][1], "FAILED")
        self.assertEqual(tasks.RUNS, [])
        with self.assertRaises(PoolClosedError):  # after shutdown: refused before any signal
            tasks.record_run.enqueue("late")

class DatabaseTests(TransactionTestCase):
    """Worker threads use their own connections, and close them after each task."""

    def test_the_worker_closes_its_database_connection_after_each_task(self) -> None:
        tasks.USED_CONNECTIONS.clear()
        results = [tasks.query_database.enqueue() for _ in range(3)]
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual([r.return_value for r in results], [1, 1, 1])
        self.assertEqual(len(tasks.USED_CONNECTIONS), 3)
        for used in tasks.USED_CONNECTIONS:
            self.assertIsNot(used, connections["default"], "a task used the test thread's connection")
            self.assertIsNone(used.connection, "a worker thread kept its database connection open")

    # --8<-- [start:test-on-commit]
    def test_enqueue_on_commit_sends_the_email_for_the_committed_row(self) -> None:
        user_id = tasks.invite("ada", "ada@example.com")
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["ada@example.com"])
        result = task_backends["default"].get_result(
            next(iter(registry.result_store("default")._results))  # the one result kept
        )
        self.assertEqual(result.args, [user_id])
        self.assertRegex(result.return_value, r"^dualqueue-general-\d+$")
    # --8<-- [end:test-on-commit]
