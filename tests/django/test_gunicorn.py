"""The gunicorn configuration: its settings from the environment, and its hooks called as gunicorn calls them."""

from __future__ import annotations

import os
import signal
from types import SimpleNamespace
from typing import Any
from unittest import mock

from django.test import SimpleTestCase, override_settings
from dualqueue.django import gunicorn, registry
from dualqueue.django.compat import TaskResultStatus

from tests.django import tasks
from tests.django.support import DEADLOCK, finished


def fake_server(graceful_timeout: int = 30) -> Any:
    return SimpleNamespace(cfg=SimpleNamespace(graceful_timeout=graceful_timeout))


def fake_worker(pid: int | None = None) -> Any:
    return SimpleNamespace(pid=os.getpid() if pid is None else pid)


class ConfigTests(SimpleTestCase):
    def test_defaults(self) -> None:
        self.assertEqual(
            gunicorn.config_from_env({}),
            {"bind": "0.0.0.0:8000", "workers": 2, "threads": 4, "worker_class": "gthread",
             "graceful_timeout": 30, "preload_app": True},
        )

    def test_environment_overrides(self) -> None:
        env = {"PORT": "9001", "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "8", "GUNICORN_GRACEFUL_TIMEOUT": "45",
               "GUNICORN_PRELOAD": "0", "GUNICORN_WORKER_CLASS": "sync"}
        self.assertEqual(
            gunicorn.config_from_env(env),
            {"bind": "0.0.0.0:9001", "workers": 3, "threads": 8, "worker_class": "sync",
             "graceful_timeout": 45, "preload_app": False},
        )
        self.assertEqual(gunicorn.config_from_env({"GUNICORN_BIND": "unix:/tmp/g.sock"})["bind"], "unix:/tmp/g.sock")

    def test_bad_values_fail_naming_the_variable(self) -> None:
        for env, message in [
            ({"WEB_CONCURRENCY": "two"}, "WEB_CONCURRENCY must be an integer, got 'two'"),
            ({"GUNICORN_THREADS": "0"}, "GUNICORN_THREADS must be >= 1, got 0"),
            ({"GUNICORN_PRELOAD": "maybe"}, "GUNICORN_PRELOAD must be 0 or 1"),
        ]:
            with self.subTest(env), self.assertRaisesMessage(ValueError, message):
                gunicorn.config_from_env(env)

    def test_the_module_is_a_gunicorn_config(self) -> None:
        from gunicorn.config import Config

        config = Config()
        for name in ("bind", "workers", "threads", "worker_class", "graceful_timeout", "preload_app",
                     "post_fork", "post_worker_init", "worker_exit", "worker_int", "worker_abort"):
            config.set(name, getattr(gunicorn, name))  # gunicorn validates each value as it would at startup
        self.assertEqual(config.worker_class_str, "gthread")
        self.assertTrue(config.preload_app)

    def test_drain_budget(self) -> None:
        self.assertEqual(gunicorn.drain_budget(30, 25.0, None, now=100.0), 25.0)
        self.assertEqual(gunicorn.drain_budget(30, 40.0, None, now=100.0), 30 - gunicorn.EXIT_MARGIN)
        self.assertEqual(gunicorn.drain_budget(30, 25.0, 90.0, now=100.0), 30 - gunicorn.EXIT_MARGIN - 10)
        self.assertEqual(gunicorn.drain_budget(30, 25.0, 50.0, now=100.0), 0.0)


@override_settings(DUALQUEUE={"POOLS": {"general": 1, "site": 1}, "EXIT_TIMEOUT": 0.0})
class HookTests(SimpleTestCase):
    def test_worker_exit_drains_and_logs_what_was_dropped_by_name(self) -> None:
        gate = tasks.gate("exit")
        running = tasks.wait_at_gate.enqueue("exit")
        self.assertTrue(tasks.ENTERED["exit"].wait(DEADLOCK))
        queued = [tasks.noop.enqueue(), tasks.calculate_meaning_of_life.enqueue()]
        try:
            with self.assertLogs("dualqueue.django.gunicorn", "WARNING") as logged:
                gunicorn.worker_exit(fake_server(), fake_worker())
        finally:
            gate.set()
        (line,) = logged.output
        self.assertIn(f"worker {os.getpid()} drained", line)
        self.assertIn("budget 0.0s", line)  # EXIT_TIMEOUT 0: drop at once
        self.assertIn(
            "2 dropped ['tests.django.tasks.noop', 'tests.django.tasks.calculate_meaning_of_life']", line
        )
        self.assertIn("1 still running ['tests.django.tasks.wait_at_gate']", line)
        self.assertEqual([r.status for r in queued], [TaskResultStatus.READY] * 2)
        self.assertTrue(finished(running))
        pools = registry.snapshot()["pools"]
        self.assertEqual(pools["general"]["dropped"], 2)
        self.assertTrue(pools["general"]["closed"])

    @override_settings(DUALQUEUE={"POOLS": {"general": 1, "site": 1}, "EXIT_TIMEOUT": 5.0})
    def test_worker_exit_lets_queued_tasks_finish_within_the_budget(self) -> None:
        results = [tasks.noop.enqueue() for _ in range(3)]
        with self.assertLogs("dualqueue.django.gunicorn", "INFO") as logged:
            gunicorn.worker_exit(fake_server(), fake_worker())
        self.assertTrue(all(r.status == TaskResultStatus.SUCCESSFUL for r in results))
        self.assertRegex(logged.output[0], r"drained for [\d.]+s \(budget 5\.0s\): \d finished, 0 dropped \[\]")

    def test_worker_exit_in_the_master_for_a_dead_worker_touches_nothing(self) -> None:
        system = registry.get_task_system()
        with self.assertNoLogs("dualqueue.django.gunicorn"):
            gunicorn.worker_exit(fake_server(), fake_worker(pid=os.getpid() + 1))
        self.assertFalse(system["general"].closed)

    def test_worker_exit_without_any_task(self) -> None:
        with self.assertLogs("dualqueue.django.gunicorn", "INFO") as logged:
            gunicorn.worker_exit(fake_server(), fake_worker())
        self.assertIn("never ran a task", logged.output[0])

    def test_post_fork_and_signal_hooks_log(self) -> None:
        with self.assertLogs("dualqueue.django.gunicorn", "INFO") as logged:
            gunicorn.post_fork(fake_server(), fake_worker())
            gunicorn.worker_int(fake_worker())
            gunicorn.worker_abort(fake_worker())
        self.assertEqual(len(logged.output), 3)
        self.assertIn("forked; its pools start on their first task", logged.output[0])
        self.assertIn("interrupted", logged.output[1])
        self.assertIn("aborted by gunicorn", logged.output[2])

    def test_post_worker_init_notes_when_sigterm_arrives_and_chains_gunicorns_handler(self) -> None:
        calls: list[int] = []
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
        try:
            with mock.patch.object(gunicorn, "_stop_requested_at", None):
                gunicorn.post_worker_init(fake_worker())
                handler = signal.getsignal(signal.SIGTERM)
                assert callable(handler)
                handler(signal.SIGTERM, None)
                self.assertEqual(calls, [signal.SIGTERM])
                self.assertIsNotNone(gunicorn._stop_requested_at)
        finally:
            signal.signal(signal.SIGTERM, previous)
