"""The sites API: create, read, analyse; who may see what; analyses run on the site pool for real."""

from __future__ import annotations

import uuid
from typing import Any

import ee
from django.test import Client, TestCase, TransactionTestCase
from dualqueue.django import registry
from dualqueue.django.compat import TASKS_LOGGER, TaskResultStatus, task_backends
from esg.sites import earth_engine
from esg.sites.models import Analysis, Site

from .support import DEADLOCK, create_site, logged_in, make_user, post_json, square

WINDOW = {"start": "2024-01-01", "end": "2025-01-01"}


class SitesApiTests(TestCase):
    def setUp(self) -> None:
        self.ada = make_user("ada")
        self.client = logged_in(self.ada)

    def test_create_then_read_a_site(self) -> None:
        response = post_json(self.client, "/sites/", {"name": "  Forest plot ", "geometry": square()})
        self.assertEqual(response.status_code, 201)
        site_id = response.json()["id"]
        self.assertEqual(response.json()["url"], f"/sites/{site_id}/")
        detail = self.client.get(f"/sites/{site_id}/").json()
        self.assertEqual(detail["name"], "Forest plot")
        self.assertEqual(detail["geometry"], square())
        self.assertAlmostEqual(detail["area_km2"], 79.6, delta=0.5)  # 0.1 deg x 0.1 deg at 50 N
        self.assertEqual([s["id"] for s in self.client.get("/sites/").json()["sites"]], [site_id])

    def test_a_feature_is_stored_as_its_polygon(self) -> None:
        feature = {"type": "Feature", "properties": {"owner": "x"}, "geometry": square()}
        site_id = post_json(self.client, "/sites/", {"name": "F", "geometry": feature}).json()["id"]
        self.assertEqual(Site.objects.get(pk=site_id).geometry, square())

    def test_anonymous_callers_get_401_in_json(self) -> None:
        anonymous = Client()
        for method, url in [("get", "/sites/"), ("post", "/sites/"), ("get", "/sites/1/")]:
            response = getattr(anonymous, method)(url)
            self.assertEqual(response.status_code, 401, url)
            self.assertEqual(response.json()["login_url"], "/accounts/login/")

    def test_other_users_sites_and_results_are_404_like_unknown_ones(self) -> None:
        site_id = create_site(self.client)
        result_id = post_json(self.client, f"/sites/{site_id}/analyses/", WINDOW).json()["result_id"]
        bob = logged_in(make_user("bob"))
        for url in [f"/sites/{site_id}/", f"/sites/{site_id}/analyses/{result_id}/"]:
            response = bob.get(url)
            self.assertEqual(response.status_code, 404, url)
            self.assertIn("error", response.json())
        self.assertEqual(post_json(bob, f"/sites/{site_id}/analyses/", {}).status_code, 404)
        self.assertEqual(bob.get("/sites/").json()["sites"], [])

    def test_a_result_id_is_404_under_another_site(self) -> None:
        first, second = create_site(self.client, "one"), create_site(self.client, "two")
        result_id = post_json(self.client, f"/sites/{first}/analyses/", WINDOW).json()["result_id"]
        self.assertEqual(self.client.get(f"/sites/{first}/analyses/{result_id}/").status_code, 200)
        self.assertEqual(self.client.get(f"/sites/{second}/analyses/{result_id}/").status_code, 404)
        self.assertEqual(self.client.get(f"/sites/{first}/analyses/{uuid.uuid4()}/").status_code, 404)

    def test_an_analysis_is_accepted_with_a_status_url(self) -> None:
        site_id = create_site(self.client)
        response = post_json(self.client, f"/sites/{site_id}/analyses/", WINDOW)
        self.assertEqual(response.status_code, 202)
        body = response.json()
        self.assertEqual(body["status_url"], f"/sites/{site_id}/analyses/{body['result_id']}/")
        analysis = Analysis.objects.get(pk=body["result_id"])
        self.assertEqual((str(analysis.start), str(analysis.end)), (WINDOW["start"], WINDOW["end"]))
        self.assertEqual(self.client.get(body["status_url"]).json()["status"], "READY")

    def test_an_analysis_without_a_body_covers_the_last_full_year(self) -> None:
        site_id = create_site(self.client)
        result_id = self.client.post(f"/sites/{site_id}/analyses/", "", "application/json").json()["result_id"]
        analysis = Analysis.objects.get(pk=result_id)
        self.assertEqual((analysis.start.isoformat(), analysis.end.isoformat()), earth_engine.default_window())

    def test_csrf_is_enforced_and_answered_in_json(self) -> None:
        strict = logged_in(self.ada, enforce_csrf_checks=True)
        refused = post_json(strict, "/sites/", {"name": "x", "geometry": square()})
        self.assertEqual(refused.status_code, 403)
        self.assertIn("X-CSRFToken", refused.json()["error"])
        token = strict.get("/sites/").cookies["csrftoken"].value  # GET /sites/ hands out the cookie
        accepted = post_json(strict, "/sites/", {"name": "x", "geometry": square()}, headers={"X-CSRFToken": token})
        self.assertEqual(accepted.status_code, 201)


class AnalysisRunTests(TransactionTestCase):
    """The analysis task runs on a site-pool thread, and its row tells the client what happened."""

    def setUp(self) -> None:
        self.client = logged_in(make_user("ada"))
        self.site_id = create_site(self.client)

    def run_analysis(self) -> tuple[dict[str, Any], Analysis]:
        accepted = post_json(self.client, f"/sites/{self.site_id}/analyses/", WINDOW).json()
        self.assertTrue(registry.join(DEADLOCK))
        return self.client.get(accepted["status_url"]).json(), Analysis.objects.get(pk=accepted["result_id"])

    def test_a_dry_run_analysis_succeeds_on_the_site_pool(self) -> None:
        status, analysis = self.run_analysis()
        self.assertEqual(status["status"], "SUCCESSFUL")
        result = status["result"]
        self.assertEqual(result["mode"], "dry-run")
        self.assertEqual(result["note"], earth_engine.DRY_RUN_NOTE)
        self.assertEqual(result["datasets"], sorted([earth_engine.SENTINEL2, earth_engine.HANSEN]))
        self.assertNotIn("values", result)
        task_result = task_backends["default"].get_result(analysis.task_result_id)
        self.assertEqual(task_result.status, TaskResultStatus.SUCCESSFUL)
        self.assertRegex(task_result.worker_ids[0], r":dualqueue-site-\d+$")
        self.assertIsNotNone(analysis.started)
        self.assertIsNotNone(analysis.finished)

    def test_quota_errors_are_retried_inside_the_task_and_it_succeeds(self) -> None:
        calls: list[int] = []

        def compute(expr: Any) -> Any:
            calls.append(1)
            if len(calls) < 3:
                raise ee.EEException("Too many concurrent aggregations.")
            return {"scenes": 4}

        earth_engine.use_service(earth_engine.EarthEngine(live=True, compute=compute, sleep=lambda s: None))
        with self.assertLogs("esg.sites", "WARNING"):
            status, _ = self.run_analysis()
        self.assertEqual(status["status"], "SUCCESSFUL")
        self.assertEqual((status["result"]["values"], status["result"]["attempts"]), ({"scenes": 4}, 3))

    def test_a_permanent_failure_ends_failed_with_the_error_recorded(self) -> None:
        def compute(expr: Any) -> Any:
            raise ee.EEException("Image.load: Image asset 'UMD/hansen/x' not found.")

        earth_engine.use_service(earth_engine.EarthEngine(live=True, compute=compute, sleep=lambda s: None))
        with self.assertLogs(TASKS_LOGGER, "ERROR"), self.assertLogs("dualqueue", "ERROR"):
            status, analysis = self.run_analysis()
        self.assertEqual(status["status"], "FAILED")
        message = "Image.load: Image asset 'UMD/hansen/x' not found."
        self.assertEqual(status["errors"], [{"type": "EEException", "message": message}])
        self.assertNotIn("result", status)
        task_result = task_backends["default"].get_result(analysis.task_result_id)
        self.assertEqual(task_result.status, TaskResultStatus.FAILED)
        self.assertEqual(task_result.errors[0].exception_class_path, "ee.ee_exception.EEException")
