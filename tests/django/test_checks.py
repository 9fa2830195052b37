"""System checks: quiet on a good setup, and each unsafe setup named by its id, with a hint."""

from __future__ import annotations

import os
from unittest import mock

from django.core import checks
from django.test import SimpleTestCase, override_settings
from dualqueue.django.checks import check_dualqueue, sqlite_messages
from dualqueue.django.compat import task_backends

BACKEND = "dualqueue.django.backend.DualqueueBackend"
NO_ENV = {"DUALQUEUE_STATUS_TOKEN": "", "GUNICORN_GRACEFUL_TIMEOUT": ""}


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return [message.id or "" for message in messages]


@mock.patch.dict(os.environ, NO_ENV)
class CheckTests(SimpleTestCase):
    def test_the_demo_settings_pass_quietly(self) -> None:
        self.assertEqual(check_dualqueue(), [])

    def test_the_checks_are_registered_with_django(self) -> None:
        self.assertIn(check_dualqueue, checks.registry.registry.get_checks())
        with override_settings(DUALQUEUE={"POOLS": {}}):
            self.assertIn("dualqueue.E001", ids(checks.run_checks(tags=["dualqueue"])))

    def test_e001_invalid_dualqueue(self) -> None:
        with override_settings(DUALQUEUE={"POOLS": {"general": -1}}):
            (message,) = check_dualqueue()
        self.assertEqual(message.id, "dualqueue.E001")
        self.assertIn("must be a positive int", message.msg)
        self.assertTrue(message.hint)

    def test_e002_queue_without_pool(self) -> None:
        tasks_setting = {"default": {"BACKEND": BACKEND, "QUEUES": ["default", "reports"]}}
        with override_settings(TASKS=tasks_setting):
            messages = check_dualqueue()
        self.assertEqual(ids(messages), ["dualqueue.E002"])
        self.assertIn("queue 'reports' has no pool", messages[0].msg)
        self.assertIn("QUEUE_POOLS", messages[0].hint)

    def test_w001_exit_timeout_beyond_gunicorns_graceful_timeout(self) -> None:
        with override_settings(DUALQUEUE={"EXIT_TIMEOUT": 30.0}):
            messages = check_dualqueue()
            self.assertEqual(ids(messages), ["dualqueue.W001"])
            self.assertIn("worker_exit will drain for at most 28 s", messages[0].msg)
            with mock.patch.dict(os.environ, {"GUNICORN_GRACEFUL_TIMEOUT": "60"}):
                self.assertEqual(check_dualqueue(), [])

    def test_w002_w003_sqlite_that_task_threads_would_trip_over(self) -> None:
        databases = {
            "default": {"ENGINE": "django.db.backends.sqlite3", "OPTIONS": {"timeout": 1}},
            "good": {"ENGINE": "django.db.backends.sqlite3", "OPTIONS": {"transaction_mode": "IMMEDIATE"}},
            "pg": {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {}},
        }
        messages = sqlite_messages(databases)
        self.assertEqual(ids(messages), ["dualqueue.W002", "dualqueue.W003"])
        self.assertTrue(all("'default'" in m.msg and m.hint for m in messages))

    def test_w004_unbounded_result_store(self) -> None:
        with override_settings(DUALQUEUE={"RESULTS_KEPT": None}):
            self.assertEqual(ids(list(task_backends["default"].check())), ["dualqueue.W004"])
        self.assertEqual(list(task_backends["default"].check()), [])

    def test_w005_token_only_without_a_token(self) -> None:
        with override_settings(DUALQUEUE={"STATUS_ACCESS": "token"}):
            self.assertEqual(ids(check_dualqueue()), ["dualqueue.W005"])
            with mock.patch.dict(os.environ, {"DUALQUEUE_STATUS_TOKEN": "t"}):
                self.assertEqual(check_dualqueue(), [])

    def test_i001_dualqueue_set_but_unused(self) -> None:
        immediate = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
        with override_settings(TASKS=immediate):
            self.assertEqual(ids(check_dualqueue()), ["dualqueue.I001"])

    def test_i002_debug_without_a_status_token(self) -> None:
        with override_settings(DEBUG=True):
            messages = check_dualqueue()
            self.assertEqual(ids(messages), ["dualqueue.I002"])
            self.assertIn("staff sessions only", messages[0].msg)
            with mock.patch.dict(os.environ, {"DUALQUEUE_STATUS_TOKEN": "t"}):
                self.assertEqual(check_dualqueue(), [])
