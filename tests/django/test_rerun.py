"""Re-running a failed or lost task result from the status page: who may, what it enqueues, what it refuses.

With ``RESULT_STORE = "database"`` a result's task path and JSON arguments are in the table, so staff
can enqueue the same task again with the same arguments (``POST status/results/<id>/rerun/``). These
tests run the real writer thread against the test database (hence ``TransactionTestCase``).
"""

from __future__ import annotations

import os
import re
from typing import Any
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, TransactionTestCase, override_settings
from django.urls import reverse
from dualqueue.django import registry
from dualqueue.django.models import TaskResultRecord
from dualqueue.django.results import this_process

from tests.django import tasks
from tests.django.support import DEADLOCK, failure_logs

TOKEN = "rerun-test-token"
DATABASE_STORE = {**settings.DUALQUEUE, "RESULT_STORE": "database"}


def _row(task_path: str = "tests.django.tasks.echo", status: str = "FAILED", **fields: Any) -> TaskResultRecord:
    """A row as the store writes it: FAILED by default, from this (live) process."""
    me = this_process()
    values: dict[str, Any] = {
        "result_id": f"r{TaskResultRecord.objects.count()}-{status.lower()}",
        "backend": "default", "task_path": task_path, "queue_name": "default", "status": status,
        "args": [1, "two"], "kwargs": {"bands": ["B4", "B8"]},
        "errors": [{"exception_class_path": "builtins.ValueError", "traceback": "ValueError: no"}],
        "host": me.host, "pid": me.pid, "process_start": me.start,
    }  # fmt: skip
    values.update(fields)
    return TaskResultRecord.objects.create(**values)


def _settle() -> None:
    assert registry.join(DEADLOCK), "the re-run task did not finish"
    assert registry.result_store("default").flush(DEADLOCK), "the writer did not catch up"


@override_settings(DUALQUEUE=DATABASE_STORE)
class RerunTests(TransactionTestCase):
    def setUp(self) -> None:
        users = get_user_model().objects
        self.staff = users.create_user("staff", "staff@example.com", "pw", is_staff=True)
        self.member = users.create_user("member", "member@example.com", "pw")
        patcher = mock.patch.dict(os.environ, {"DUALQUEUE_STATUS_TOKEN": TOKEN})
        patcher.start()
        self.addCleanup(patcher.stop)

    def post(self, result_id: str, client: Client | None = None, **extra: Any) -> Any:
        return (client or self.client).post(reverse("dualqueue:rerun", args=[result_id]), **extra)

    def assertNothingEnqueued(self, rows_before: int) -> None:
        _settle()
        self.assertEqual(TaskResultRecord.objects.count(), rows_before)

    def test_staff_rerun_enqueues_the_same_task_once_with_the_same_arguments(self) -> None:
        failed = _row(queue_name="default")
        self.client.force_login(self.staff)
        listed = self.client.get(reverse("dualqueue:status")).json()["failed_results"]
        self.assertEqual([(r["result_id"], r["state"], r["error_type"], r["rerunnable"]) for r in listed],
                         [(failed.result_id, "failed", "ValueError", True)])  # fmt: skip
        page = self.client.get(reverse("dualqueue:status-page")).content.decode()
        self.assertIn(f'action="{reverse("dualqueue:rerun", args=[failed.result_id])}"', page)

        response = self.post(failed.result_id, HTTP_ACCEPT="application/json")
        self.assertEqual(response.status_code, 202, response.content)
        answer = response.json()
        self.assertEqual((answer["rerun_of"], answer["task"]), (failed.result_id, "tests.django.tasks.echo"))
        _settle()
        rows = TaskResultRecord.objects.order_by("id")
        self.assertEqual(rows.count(), 2, "exactly one new run")
        new = rows.get(result_id=answer["result_id"])
        self.assertEqual(
            (new.task_path, new.backend, new.queue_name, new.priority, new.args, new.kwargs, new.status),
            ("tests.django.tasks.echo", "default", "default", 0, [1, "two"], {"bands": ["B4", "B8"]}, "SUCCESSFUL"),
        )
        self.assertEqual(new.return_value, {"args": [1, "two"], "kwargs": {"bands": ["B4", "B8"]}})
        failed.refresh_from_db()
        self.assertEqual(failed.status, "FAILED", "the failed result stays as it was")

    def test_the_html_answer_shows_the_new_result_id(self) -> None:
        failed = _row()
        self.client.force_login(self.staff)
        response = self.post(failed.result_id)
        self.assertEqual(response.status_code, 202)
        _settle()
        new = TaskResultRecord.objects.exclude(result_id=failed.result_id).get()
        self.assertIn(f'<code id="new-result">{new.result_id}</code>', response.content.decode())

    def test_a_task_that_failed_for_real_is_listed_and_a_lost_one_can_be_rerun(self) -> None:
        with failure_logs(self):
            tasks.failing_value_error.enqueue()
            _settle()
        lost = _row(status="RUNNING", process_start="gone:0", errors=[])  # this pid, another start: a dead process
        self.client.force_login(self.staff)
        listed = {r["task"]: r for r in self.client.get(reverse("dualqueue:status")).json()["failed_results"]}
        self.assertEqual(listed["tests.django.tasks.failing_value_error"]["error_type"], "ValueError")
        self.assertEqual((listed["tests.django.tasks.echo"]["state"], listed["tests.django.tasks.echo"]["error_type"]),
                         ("lost", "TaskLost"))  # fmt: skip
        before = TaskResultRecord.objects.count()
        response = self.post(lost.result_id, HTTP_ACCEPT="application/json")
        self.assertEqual(response.status_code, 202, response.content)
        _settle()
        self.assertEqual(TaskResultRecord.objects.count(), before + 1)
        self.assertEqual(TaskResultRecord.objects.get(result_id=response.json()["result_id"]).args, [1, "two"])

    def test_a_member_who_is_not_staff_is_forbidden_and_an_anonymous_one_unauthorized(self) -> None:
        failed = _row()
        self.assertEqual(self.post(failed.result_id).status_code, 401)
        self.client.force_login(self.member)
        self.assertEqual(self.post(failed.result_id).status_code, 403)
        self.assertNothingEnqueued(1)

    def test_the_token_reads_the_status_but_never_reruns(self) -> None:
        failed = _row()
        auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
        self.assertEqual(self.client.get(reverse("dualqueue:status"), **auth).status_code, 200)
        self.assertEqual(self.post(failed.result_id, **auth).status_code, 403)
        self.client.force_login(self.staff)  # a staff session sending the token is still a token client
        self.assertEqual(self.post(failed.result_id, **auth).status_code, 403)
        self.assertNothingEnqueued(1)

    def test_get_is_not_allowed(self) -> None:
        failed = _row()
        self.client.force_login(self.staff)
        self.assertEqual(self.client.get(reverse("dualqueue:rerun", args=[failed.result_id])).status_code, 405)
        self.assertNothingEnqueued(1)

    def test_csrf_is_enforced(self) -> None:
        failed = _row()
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.staff)
        self.assertEqual(self.post(failed.result_id, client).status_code, 403)
        self.assertNothingEnqueued(1)
        page = client.get(reverse("dualqueue:failed-results")).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None, page
        response = self.post(failed.result_id, client, data={"csrfmiddlewaretoken": token.group(1)})
        self.assertEqual(response.status_code, 202)
        _settle()
        self.assertEqual(TaskResultRecord.objects.count(), 2)

    def test_an_unknown_id_is_not_found(self) -> None:
        _row()
        self.client.force_login(self.staff)
        for unknown in ("no-such-result", "x" * 300):
            with self.subTest(unknown):
                self.assertEqual(self.post(unknown).status_code, 404)
        self.assertNothingEnqueued(1)

    def test_what_cannot_be_rerun_is_refused_with_a_reason(self) -> None:
        self.client.force_login(self.staff)
        refused = {
            "SUCCESSFUL": _row(status="SUCCESSFUL", errors=[]),
            "RUNNING": _row(status="RUNNING", errors=[]),  # its process (this one) is alive: not lost
            "arguments": _row(args={"not": "a list"}),
            "not a task": _row(task_path="os.path.join"),
            "no module": _row(task_path="tests.django.no_such_module.task"),
        }
        listed = {r["result_id"]: r for r in self.client.get(reverse("dualqueue:status")).json()["failed_results"]}
        self.assertFalse(listed[refused["arguments"].result_id]["rerunnable"])
        self.assertNotIn(refused["SUCCESSFUL"].result_id, listed)
        self.assertNotIn(refused["RUNNING"].result_id, listed)
        for reason, row in refused.items():
            with self.subTest(reason):
                response = self.post(row.result_id, HTTP_ACCEPT="application/json")
                self.assertEqual(response.status_code, 409, response.content)
                self.assertIn("Cannot re-run", response.json()["error"])
        self.assertNothingEnqueued(len(refused))


class MemoryStoreTests(TransactionTestCase):
    """The tests' own settings keep results in memory: nothing to list, and a re-run is refused, saying why."""

    def test_the_memory_store_refuses_with_a_clear_message(self) -> None:
        self.assertEqual(settings.DUALQUEUE["RESULT_STORE"], "memory")
        staff = get_user_model().objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
        self.client.force_login(staff)
        result = tasks.echo.enqueue(1)
        self.assertTrue(registry.join(DEADLOCK))
        response = self.post_json(result.id)
        self.assertEqual(response.status_code, 409)
        self.assertIn('RESULT_STORE"] = "memory"', response.json()["error"])
        self.assertEqual(self.client.get(reverse("dualqueue:status")).json()["failed_results"], [])
        self.assertIn("nothing can be re-run", self.client.get(reverse("dualqueue:status-page")).content.decode())

    def post_json(self, result_id: str) -> Any:
        return self.client.post(reverse("dualqueue:rerun", args=[result_id]), HTTP_ACCEPT="application/json")
