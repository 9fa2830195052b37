"""The status endpoints: who may see them, what refusals say (nothing), and what the picture holds."""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import resolve_url
from django.test import TestCase, override_settings
from django.urls import reverse
from dualqueue.django import metrics, registry
from prometheus_client.parser import text_string_to_metric_families

from tests.django import tasks
from tests.django.support import DEADLOCK, failure_logs
from tests.django.test_processes import clear_directory

TOKEN = "s3cret-Token_with.chars~+/="
URLS = {"json": "dualqueue:status", "page": "dualqueue:status-page", "metrics": "dualqueue:metrics"}
REFUSAL_BODIES = {401: b"Authentication required.\n", 403: b"Forbidden.\n"}


class AccessTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        users = get_user_model().objects
        cls.staff = users.create_user("staff", "staff@example.com", "pw", is_staff=True)
        cls.member = users.create_user("member", "member@example.com", "pw")

    def setUp(self) -> None:
        patcher = mock.patch.dict(os.environ, {"DUALQUEUE_STATUS_TOKEN": TOKEN})
        patcher.start()
        self.addCleanup(patcher.stop)

    def get(self, which: str, authorization: str | None = None, method: str = "get") -> Any:
        extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
        return getattr(self.client, method)(reverse(URLS[which]), **extra)

    def assertRefused(self, response: Any, status: int) -> None:
        self.assertEqual(response.status_code, status)
        self.assertEqual(response.content, REFUSAL_BODIES[status])  # no pool name, count or error text
        self.assertEqual(response["Cache-Control"], "no-store")
        if status == 401:
            self.assertEqual(response["WWW-Authenticate"], 'Bearer realm="dualqueue"')
        for header, value in response.items():
            self.assertNotIn("general", value.lower(), header)

    def assertAllowed(self, response: Any) -> None:
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_anonymous_is_unauthorized(self) -> None:
        self.assertRefused(self.get("json"), 401)
        self.assertRefused(self.get("metrics"), 401)

    def test_anonymous_visitor_of_the_page_is_sent_to_login(self) -> None:
        response = self.get("page")
        self.assertEqual(response.status_code, 302)
        self.assertEqual(response["Cache-Control"], "no-store")
        login = resolve_url(settings.LOGIN_URL)
        self.assertTrue(response["Location"].startswith(login), response["Location"])
        self.assertIn("next=/background-tasks/status/page/", response["Location"])

    def test_a_logged_in_member_who_is_not_staff_is_forbidden(self) -> None:
        self.client.force_login(self.member)
        for which in ("json", "metrics"):
            with self.subTest(which):
                self.assertRefused(self.get(which), 403)
        page = self.get("page")  # a person gets a page in the site's layout, saying nothing about the tasks
        self.assertEqual((page.status_code, page["Cache-Control"]), (403, "no-store"))
        html = page.content.decode()
        self.assertIn("is for staff", html)
        for secret in ("data-pool", "general", 'id="pid"', "succeeded", "dead letter"):
            self.assertNotIn(secret, html)

    def test_staff_may_see_everything(self) -> None:
        self.client.force_login(self.staff)
        for which in URLS:
            with self.subTest(which):
                self.assertAllowed(self.get(which))

    def test_the_right_bearer_token_may_see_everything(self) -> None:
        for which in URLS:
            for scheme in ("Bearer", "bearer", "BEARER"):
                with self.subTest(which, scheme=scheme):
                    self.assertAllowed(self.get(which, f"{scheme} {TOKEN}"))

    def test_a_member_with_the_right_token_is_allowed_by_the_token(self) -> None:
        self.client.force_login(self.member)
        self.assertAllowed(self.get("json", f"Bearer {TOKEN}"))

    def test_wrong_or_malformed_authorization_is_unauthorized_never_an_error(self) -> None:
# --8<-- [start:malformed-authorization]
        headers = [
            "Bearer wrong",
            f"Bearer {TOKEN}x",
            f"Bearer {TOKEN[:-1]}",
            "Bearer",
            "Bearer ",
            "Basic x",
            f"Basic {TOKEN}",
            "Bearer  a b",
            f"Bearer  {TOKEN}",
            f"Bearer {TOKEN} ",
            f"Bearer {TOKEN} extra",
            "Bearer " + "a" * 100_000,
            "Bearer caf\u00e9",
            "\u00e9\u00e9\u00e9",
            "",
            TOKEN,
        ]
# --8<-- [end:malformed-authorization]
        for header in headers:
            for which in ("json", "metrics", "page"):
                with self.subTest(header=header[:40], which=which):
                    self.assertRefused(self.get(which, header), 401)

    def test_a_wrong_header_is_not_rescued_by_a_member_session(self) -> None:
        self.client.force_login(self.member)
        self.assertRefused(self.get("json", "Bearer wrong"), 401)

    def test_no_token_configured_means_no_token_access(self) -> None:
        for value in (None, "", "   "):
            env = {} if value is None else {"DUALQUEUE_STATUS_TOKEN": value}
            with self.subTest(token=value), mock.patch.dict(os.environ, env, clear=False):
                if value is None:
                    del os.environ["DUALQUEUE_STATUS_TOKEN"]
                self.assertRefused(self.get("json", f"Bearer {TOKEN}"), 401)
                self.assertRefused(self.get("json", "Bearer "), 401)

    @override_settings(DUALQUEUE={"STATUS_ACCESS": "staff"})
    def test_staff_only_access_ignores_the_token(self) -> None:
        self.assertRefused(self.get("json", f"Bearer {TOKEN}"), 401)
        self.client.force_login(self.staff)
        self.assertAllowed(self.get("json"))

    @override_settings(DUALQUEUE={"STATUS_ACCESS": "token"})
    def test_token_only_access_ignores_staff_sessions(self) -> None:
        self.client.force_login(self.staff)
        self.assertRefused(self.get("json"), 403)
        self.assertAllowed(self.get("json", f"Bearer {TOKEN}"))
        self.client.logout()
        self.assertRefused(self.get("page"), 401)  # no login page can help: only a token can

    def test_only_safe_methods(self) -> None:
        self.assertRefused(self.get("json", method="post"), 401)
        response = self.get("json", f"Bearer {TOKEN}", method="post")
        self.assertEqual(response.status_code, 405)
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertEqual(self.get("json", f"Bearer {TOKEN}", method="head").status_code, 200)


class PictureTests(TestCase):
    """What an authorized reader sees: both pools, the counts, the errors, the result stores."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.staff = get_user_model().objects.create_user("staff", "s@example.com", "pw", is_staff=True)

    def setUp(self) -> None:
        self.client.force_login(self.staff)
        with failure_logs(self):
            tasks.noop.enqueue()
            tasks.failing_value_error.enqueue()
            tasks.site_thread_name.enqueue()
            self.assertTrue(registry.join(DEADLOCK))

    def test_json_shape(self) -> None:
        data = json.loads(self.client.get(reverse("dualqueue:status")).content)
        self.assertEqual(
            set(data),
            {"pid", "started_at", "pools", "debouncers", "error_rates", "results", "processes", "totals", "publishing",
             "failed_results", "periodic_schedules"} | ({"periodic"} if "periodic" in data else set()),
            # failed_results: the re-run section (tests/django/test_rerun.py); periodic_schedules: the time section
            "top-level keys",
        )
        self.assertEqual(data["pid"], os.getpid())
        self.assertEqual(set(data["pools"]), {"general", "site"})
        for name, pool in data["pools"].items():
            total = pool["queued"] + pool["running"] + pool["succeeded"] + pool["failed"] + pool["dropped"]
            self.assertEqual(pool["submitted"], total, name)
        general = data["pools"]["general"]
        self.assertEqual((general["submitted"], general["succeeded"], general["failed"]), (2, 1, 1))
        self.assertEqual(general["last_error"]["type"], "ValueError")
        self.assertEqual([d["task"] for d in general["dead_letters"]], ["tests.django.tasks.failing_value_error"])
        self.assertEqual(data["pools"]["site"]["succeeded"], 1)
        self.assertEqual(data["error_rates"]["pools"], {"general": 0.5, "site": 0.0})
        self.assertIn("since this process's pools started", data["error_rates"]["window"])
        self.assertEqual(data["results"]["backends"], {"default": {"kept": 3, "limit": 1000, "evicted": 0}})
        self.assertIn("this process's memory", data["results"]["where"])

    def test_page_shows_both_pools_errors_and_results(self) -> None:
        clear_directory()  # processes other tests forked (or made up) are not this test's subject
        response = self.client.get(reverse("dualqueue:status-page"))
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        self.assertIn('data-pool="general"', html)
        self.assertIn('data-pool="site"', html)
        self.assertIn(f'<strong id="pid">{os.getpid()}</strong>', html)
        self.assertNotIn('http-equiv="refresh"', html)  # it updates itself in place, never reloads
        self.assertIn('data-json-url="/background-tasks/status/"', html)
        self.assertIn("ValueError at ", html)  # last error: type and time
        self.assertIn("tests.django.tasks.failing_value_error", html)  # the dead letter
        self.assertIn("No debouncer in this process yet.", html)
        self.assertIn('<span id="live-count">1</span> live worker process;', html)
        self.assertIn("tests.django.tasks.noop", html)  # recently finished

    def test_page_lists_debouncers(self) -> None:
        registry.debouncer("search-index", tasks.noop.func, wait=15.0).trigger(1)
        try:
            html = self.client.get(reverse("dualqueue:status-page")).content.decode()
            self.assertIn("search-index", html)
        finally:
            registry.get_task_system().debouncers["search-index"].cancel()

    def test_metrics_parse_and_match_the_picture(self) -> None:
        response = self.client.get(reverse("dualqueue:metrics"))
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Type"].startswith("text/plain"))
        samples = _samples(response.content.decode())
        pid = str(os.getpid())
        self.assertEqual(samples[("dualqueue_pool_tasks_submitted_total", (("pid", pid), ("pool", "general")))], 2)
        self.assertEqual(samples[("dualqueue_pool_tasks_failed_total", (("pid", pid), ("pool", "general")))], 1)
        self.assertEqual(samples[("dualqueue_pool_workers", (("pid", pid), ("pool", "site")))], 10)
        self.assertEqual(samples[("dualqueue_pool_dead_letters", (("pid", pid), ("pool", "general")))], 1)
        self.assertEqual(samples[("dualqueue_results_kept", (("backend", "default"), ("pid", pid)))], 3)

    def test_the_plain_exposition_says_exactly_what_prometheus_client_says(self) -> None:
        picture = registry.snapshot()
        picture["pools"]['we"ird\\pool\n'] = dict(picture["pools"]["site"], name="weird")  # escaping
        with_client, client_type = metrics.render(picture)
        with mock.patch.dict(sys.modules, {"prometheus_client": None}):  # as if not installed
            plain, plain_type = metrics.render(picture)
        self.assertEqual(plain, metrics.render_plain(picture))
        self.assertEqual(plain_type, "text/plain; version=0.0.4; charset=utf-8")
        self.assertNotEqual(client_type, plain_type)
        self.assertEqual(_samples(plain), _samples(with_client))
        self.assertGreater(len(_samples(plain)), 30)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@override_settings(ROOT_URLCONF="tests.django.urls")
class UrlTests(TestCase):
    def test_the_status_urls_mount_under_the_projects_prefix_with_their_names(self) -> None:
        self.assertEqual(reverse("dualqueue:status"), "/background-tasks/status/")
        self.assertEqual(reverse("dualqueue:status-page"), "/background-tasks/status/page/")
        self.assertEqual(reverse("dualqueue:metrics"), "/background-tasks/metrics/")
        self.assertEqual(self.client.get("/background-tasks/status/").status_code, 401)
