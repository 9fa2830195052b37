"""The Tasks framework's own backend tests, run against ``DualqueueBackend`` on each Django line.

Ported from Django's ``tests/tasks/test_immediate_backend.py`` and ``tests/tasks/test_tasks.py``
(django/django, Django 6.1, BSD-3-Clause) and the django-tasks backport's
``tests/tests/test_immediate_backend.py`` (RealOrangeOne/django-tasks 0.12, BSD-3-Clause): the
backend-agnostic parts, i.e. what any backend owes the framework, with the same task functions
(``tests/conformance/tasks.py``). What changes is only what "finished" means for a background
backend: each test waits for the pools to be idle (``registry.join``) where an immediate backend
had already run the task, and reads the outcome then.

Where the framework's test checks a capability a backend may decline, the test asks the backend's
own flag and skips with it as the reason (``supports_priority``, ``supports_defer``,
``supports_get_result``), so a change of flag re-runs the test instead of hiding it. Each test runs
twice: with the in-memory result store (``supports_get_result`` False: results are in one process)
and with the database store (True).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import pickle
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django
from django.test import SimpleTestCase, TransactionTestCase, override_settings
from django.utils import timezone
from dualqueue import FakeClock
from dualqueue.django import registry
from dualqueue.django.backend import DualqueueBackend
from dualqueue.django.compat import (
    TASKS_LOGGER,
    InvalidTaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_backends,
    task_enqueued,
    task_finished,
    task_started,
)

from tests.conformance import tasks as test_tasks

DEADLOCK = 30.0  # deadlock detector for a join, never a latency claim
TASKS = {
    "default": {
        "BACKEND": "dualqueue.django.backend.DualqueueBackend",
        "QUEUES": ["default", "queue-1"],
        "OPTIONS": {"QUEUE_POOLS": {"default": "general", "queue-1": "general"}},
    }
}


def requires(flag: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the test only if the configured backend declares ``flag``; otherwise skip, naming it."""

    return _skip_by_flag(flag, declared=False, reason="DualqueueBackend.{flag} is False ({store} result store)")


def unless(flag: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the test only if the backend does *not* declare ``flag`` (it checks the refusal)."""

    return _skip_by_flag(flag, declared=True, reason="DualqueueBackend.{flag} is True: nothing to refuse")


def _skip_by_flag(flag: str, declared: bool, reason: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Skip when the backend's ``flag`` is ``declared``; the flag is read when the test runs."""

    def decorate(test: Callable[..., Any]) -> Callable[..., Any]:
        def skip_if_declared(self: Any) -> None:
            if bool(getattr(task_backends["default"], flag)) is declared:
                self.skipTest(reason.format(flag=flag, store=self.store))

        if inspect.iscoroutinefunction(test):

            @functools.wraps(test)
            async def run_async(self: Any) -> Any:
                skip_if_declared(self)
                return await test(self)

            return run_async

        @functools.wraps(test)
        def run(self: Any) -> Any:
            skip_if_declared(self)
            return test(self)

        return run

    return decorate


class Conformance:
    """The framework's backend tests; the subclasses choose the result store."""

    store = "memory"
    assertEqual: Callable[..., None]
    assertIs: Callable[..., None]
    assertIn: Callable[..., None]
    assertIsNone: Callable[..., None]
    assertIsNotNone: Callable[..., None]
    assertGreaterEqual: Callable[..., None]
    assertIsInstance: Callable[..., None]
    assertRaises: Callable[..., Any]
    assertRaisesMessage: Callable[..., Any]
    assertLogs: Callable[..., Any]
    assertNotIn: Callable[..., None]
    subTest: Callable[..., Any]

    def finish(self, result: TaskResult[Any]) -> TaskResult[Any]:
        """Wait until the pools are idle and the result store has written; the result, as it ended."""
        assert registry.join(DEADLOCK), "the task did not finish"
        assert registry.result_store("default").flush(DEADLOCK)
        return result

    # -- test_immediate_backend.py ----------------------------------------------------------

    def test_using_correct_backend(self) -> None:
        backend = task_backends["default"]
        self.assertIsInstance(backend, DualqueueBackend)
        self.assertEqual(backend.alias, "default")

    def test_enqueue_task(self) -> None:
        for task in [test_tasks.noop_task, test_tasks.noop_task_async]:
            with self.subTest(task):
                result = self.finish(task.enqueue(1, two=3))
                self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
                self.assertIs(result.is_finished, True)
                self.assertIsNotNone(result.started_at)
                self.assertIsNotNone(result.last_attempted_at)
                self.assertIsNotNone(result.finished_at)
                self.assertGreaterEqual(result.started_at, result.enqueued_at)
                self.assertGreaterEqual(result.finished_at, result.started_at)
                self.assertIsNone(result.return_value)
                self.assertEqual(result.task, task)
                self.assertEqual(result.args, [1])
                self.assertEqual(result.kwargs, {"two": 3})
                self.assertEqual(result.attempts, 1)

    async def test_enqueue_task_async(self) -> None:
        for task in [test_tasks.noop_task, test_tasks.noop_task_async]:
            with self.subTest(task):
                result = await task.aenqueue()
                self.finish(result)
                self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
                self.assertIs(result.is_finished, True)
                self.assertGreaterEqual(result.started_at, result.enqueued_at)
                self.assertGreaterEqual(result.finished_at, result.started_at)
                self.assertEqual((result.args, result.kwargs, result.attempts), ([], {}, 1))

    def test_catches_exception(self) -> None:
        for task, exception, message in [
            (test_tasks.failing_task_value_error, ValueError, "This task failed due to ValueError"),
            (test_tasks.failing_task_system_exit, SystemExit, "This task failed due to SystemExit"),
        ]:
            with self.subTest(task), self.assertLogs(TASKS_LOGGER, level="ERROR") as captured:
                result = self.finish(task.enqueue())
            self.assertEqual(len(captured.output), 1)
            self.assertIn(message, captured.output[0])
            self.assertEqual(result.status, TaskResultStatus.FAILED)
            with self.assertRaisesMessage(ValueError, "Task failed"):
                result.return_value  # noqa: B018
            self.assertIs(result.is_finished, True)
            self.assertGreaterEqual(result.started_at, result.enqueued_at)
            self.assertGreaterEqual(result.finished_at, result.started_at)
            self.assertEqual(result.errors[0].exception_class, exception)
            traceback = result.errors[0].traceback
            self.assertIs(traceback.endswith(f"{exception.__name__}: {message}\n"), True, traceback)
            self.assertEqual((result.task, result.args, result.kwargs), (task, [], {}))

    def test_keyboard_interrupt_in_a_task_fails_the_task_not_the_worker(self) -> None:
        # Adapted: ImmediateBackend re-raises KeyboardInterrupt to the caller of enqueue(); on a
        # worker thread there is no caller to hand it to. The task fails and the pool lives on.
        with self.assertLogs(TASKS_LOGGER, level="ERROR"):
            result = self.finish(test_tasks.failing_task_keyboard_interrupt.enqueue())
        self.assertEqual(result.status, TaskResultStatus.FAILED)
        self.assertEqual(result.errors[0].exception_class, KeyboardInterrupt)
        after = self.finish(test_tasks.calculate_meaning_of_life.enqueue())
        self.assertEqual(after.return_value, 42)

    def test_exit_task(self) -> None:
        with self.assertLogs(TASKS_LOGGER, level="ERROR"):
            result = self.finish(test_tasks.exit_task.enqueue())
        self.assertEqual(result.status, TaskResultStatus.FAILED)
        self.assertEqual(result.errors[0].exception_class, SystemExit)

    def test_complex_exception(self) -> None:
        with self.assertLogs(TASKS_LOGGER, level="ERROR"):
            result = self.finish(test_tasks.complex_exception.enqueue())
        self.assertEqual(result.status, TaskResultStatus.FAILED)
        with self.assertRaisesMessage(ValueError, "Task failed"):
            result.return_value  # noqa: B018
        self.assertIsNone(result._return_value)
        self.assertEqual(result.errors[0].exception_class, ValueError)
        self.assertIn('ValueError(ValueError("This task failed"))', result.errors[0].traceback)

    def test_complex_return_value(self) -> None:
        with self.assertLogs(TASKS_LOGGER, level="ERROR"):
            result = self.finish(test_tasks.complex_return_value.enqueue())
        self.assertEqual(result.status, TaskResultStatus.FAILED)
        self.assertIsNone(result._return_value)
        self.assertEqual(result.errors[0].exception_class, TypeError)
        self.assertIn("Unsupported type", result.errors[0].traceback)

    def test_result(self) -> None:
        result = self.finish(task_backends["default"].enqueue(test_tasks.calculate_meaning_of_life, [], {}))
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 42)

    async def test_result_async(self) -> None:
        result = await task_backends["default"].aenqueue(test_tasks.calculate_meaning_of_life, [], {})
        self.finish(result)
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 42)

    def test_takes_context(self) -> None:
        result = self.finish(test_tasks.get_task_id.enqueue())
        self.assertEqual(result.return_value, result.id)

    def test_context(self) -> None:
        result = self.finish(test_tasks.check_context.enqueue(1))
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)

    def test_validate_on_enqueue(self) -> None:
        with self.assertRaisesMessage(InvalidTaskError, "Queue 'unknown_queue' is not valid for backend"):
            test_tasks.noop_task.using(queue_name="unknown_queue").enqueue()

    async def test_validate_on_aenqueue(self) -> None:
        with self.assertRaisesMessage(InvalidTaskError, "Queue 'unknown_queue' is not valid for backend"):
            await test_tasks.noop_task.using(queue_name="unknown_queue").aenqueue()

    def test_enqueue_on_a_listed_queue(self) -> None:
        result = self.finish(test_tasks.noop_task.using(queue_name="queue-1").enqueue())
        self.assertEqual((result.task.queue_name, result.status), ("queue-1", TaskResultStatus.SUCCESSFUL))

    def test_enqueue_logs(self) -> None:
        with self.assertLogs(TASKS_LOGGER, level="DEBUG") as captured:
            result = self.finish(test_tasks.noop_task.enqueue())
        lines = [line for line in captured.output if result.id in line]
        self.assertEqual(len(lines), 3, captured.output)
        self.assertIn("enqueued", lines[0])
        self.assertIn("state=RUNNING", lines[1])
        self.assertIn("state=SUCCESSFUL", lines[2])
        for line in captured.output:
            self.assertNotIn("NoneType", line)

    def test_failed_logs(self) -> None:
        with self.assertLogs(TASKS_LOGGER, level="DEBUG") as captured:
            result = self.finish(test_tasks.failing_task_value_error.enqueue())
        lines = [line for line in captured.output if result.id in line]
        self.assertEqual(len(lines), 3, captured.output)
        self.assertIn("state=RUNNING", lines[1])
        self.assertIn("state=FAILED", lines[2])

    def test_signals_are_sent_once_each_in_order(self) -> None:
        seen: list[tuple[str, type, str]] = []

        def receiver(name: str) -> Callable[..., None]:
            def on(sender: type, task_result: TaskResult[Any], **kwargs: Any) -> None:
                seen.append((name, sender, str(task_result.status)))

            return on

        receivers = {"enqueued": receiver("enqueued"), "started": receiver("started"), "finished": receiver("finished")}
        task_enqueued.connect(receivers["enqueued"])
        task_started.connect(receivers["started"])
        task_finished.connect(receivers["finished"])
        try:
            self.finish(test_tasks.noop_task.enqueue())
        finally:
            task_enqueued.disconnect(receivers["enqueued"])
            task_started.disconnect(receivers["started"])
            task_finished.disconnect(receivers["finished"])
        self.assertEqual(
            seen,
            [
                ("enqueued", DualqueueBackend, "READY"),
                ("started", DualqueueBackend, "RUNNING"),
                ("finished", DualqueueBackend, "SUCCESSFUL"),
            ],
        )

    # -- capabilities: run or refuse, by the backend's own flags ----------------------------

    # --8<-- [start:capability]
    @unless("supports_defer")
    def test_cannot_pass_run_after(self) -> None:
        with self.assertRaisesMessage(
            InvalidTaskError, "Backend does not support run_after"
        ):
            task_backends["default"].validate_task(
                test_tasks.failing_task_value_error.using(run_after=timezone.now())
            )

    @requires("supports_defer")
    def test_run_after_is_honoured(self) -> None:
        clock = FakeClock()  # the pool's clock: the test never waits for the hour
        with registry.override_task_system(clock=clock) as system:
            later = timezone.now() + timedelta(hours=1)
            task = test_tasks.calculate_meaning_of_life.using(run_after=later)
            result = task.enqueue()
            self.assertEqual(result.status, TaskResultStatus.READY)
            self.assertEqual(result.task.run_after, later)
            clock.advance(3600 - 60)
            self.assertEqual(result.status, TaskResultStatus.READY, "ran too early")
            clock.advance(120)
            self.assertTrue(system.join(DEADLOCK))
            self.finish(result)
            self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
            self.assertEqual(result.return_value, 42)

    @requires("supports_defer")
    def test_a_past_run_after_runs_at_once(self) -> None:
        earlier = timezone.now() - timedelta(minutes=5)
        task = test_tasks.calculate_meaning_of_life.using(run_after=earlier)
        result = self.finish(task.enqueue())
        self.assertEqual(result.status, TaskResultStatus.SUCCESSFUL)
        self.assertEqual(result.return_value, 42)
        self.assertEqual(result.task.run_after, earlier)

    # --8<-- [end:capability]

    @unless("supports_priority")
    def test_cannot_pass_priority(self) -> None:
        with self.assertRaisesMessage(InvalidTaskError, "Backend does not support setting priority"):
            test_tasks.noop_task.using(priority=10).enqueue()

    @requires("supports_priority")
    def test_priority_is_kept(self) -> None:
        result = self.finish(test_tasks.noop_task.using(priority=10).enqueue())
        self.assertEqual(result.task.priority, 10)

    @requires("supports_get_result")
    def test_get_result(self) -> None:
        result = self.finish(task_backends["default"].enqueue(test_tasks.calculate_meaning_of_life, (), {}))
        new_result = test_tasks.calculate_meaning_of_life.get_result(result.id)
        self.assertEqual(
            (new_result.id, new_result.status, new_result.return_value, new_result.task),
            (result.id, result.status, 42, result.task),
        )
        self.assertEqual(dataclasses.asdict(new_result), dataclasses.asdict(result))

    @requires("supports_get_result")
    async def test_get_result_async(self) -> None:
        result = await task_backends["default"].aenqueue(test_tasks.noop_task, (), {})
        self.finish(result)
        new_result = await test_tasks.noop_task.aget_result(result.id)
        self.assertEqual((new_result.id, new_result.status), (result.id, TaskResultStatus.SUCCESSFUL))

    @requires("supports_get_result")
    def test_refresh_result(self) -> None:
        result = test_tasks.calculate_meaning_of_life.enqueue()
        self.finish(result)
        original = dataclasses.asdict(result)
        result.refresh()
        self.assertEqual(dataclasses.asdict(result), original)

    def test_get_missing_result(self) -> None:
        with self.assertRaises(TaskResultDoesNotExist):
            test_tasks.noop_task.get_result("123")

    async def test_get_missing_result_async(self) -> None:
        with self.assertRaises(TaskResultDoesNotExist):
            await test_tasks.noop_task.aget_result("123")

    # -- test_tasks.py: what the framework's values must still do after a backend made them --

    def test_enqueue_with_invalid_argument(self) -> None:
        with self.assertRaisesMessage(TypeError, "Unsupported type"):
            test_tasks.noop_task.enqueue(timezone.now())

    async def test_aenqueue_with_invalid_argument(self) -> None:
        with self.assertRaisesMessage(TypeError, "Unsupported type"):
            await test_tasks.noop_task.aenqueue(timezone.now())

    def test_pickle_task_result(self) -> None:
        if django.VERSION < (6, 1):
            raise self.skipTest("TaskResult is picklable from Django 6.1 (the framework's feature, not the backend's)")
        result = self.finish(test_tasks.noop_task.enqueue())
        self.assertEqual(pickle.loads(pickle.dumps(result)), result)


@override_settings(TASKS=TASKS, DUALQUEUE={"RESULT_STORE": "memory"})
class MemoryStoreConformanceTests(Conformance, SimpleTestCase):
    """The framework's tests with results in this process's memory (``supports_get_result`` False)."""

    store = "memory"


@override_settings(TASKS=TASKS, DUALQUEUE={"RESULT_STORE": "database"})
class DatabaseStoreConformanceTests(Conformance, TransactionTestCase):
    """The framework's tests with results in the database (``supports_get_result`` True)."""

    store = "database"
