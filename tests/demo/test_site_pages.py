"""The sites as HTML pages: create by form, run, re-run a lost analysis; rows whose process is gone are reconciled."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.test import TransactionTestCase, override_settings
from dualqueue.django import registry
from esg.sites.models import LOST, Analysis, Site
from esg.sites.reconcile import UNHEARD_GRACE, reconcile

FIELD = {
    "type": "Polygon",
    "coordinates": [[[36.80, -1.30], [36.81, -1.30], [36.81, -1.29], [36.80, -1.29], [36.80, -1.30]]],
}


class SitePagesTests(TransactionTestCase):
    def setUp(self) -> None:
        users = get_user_model().objects
        self.owner = users.create_user("owner", "owner@example.com", "pw")
        self.other = users.create_user("other", "other@example.com", "pw")
        self.client.force_login(self.owner)

    def create(self) -> Site:
        response = self.client.post("/app/sites/new/", {"name": "Karura", "geometry": json.dumps(FIELD)})
        self.assertEqual(response.status_code, 302, response.content[:500])
        return Site.objects.get(name="Karura")

    def test_a_site_created_by_form_is_analysed_and_its_dry_run_result_is_shown_as_one(self) -> None:
        site = self.create()
        listed = self.client.get("/app/sites/")
        self.assertContains(listed, f'<a href="/app/sites/{site.pk}/">Karura</a>')
        page = self.client.get(f"/app/sites/{site.pk}/")
        self.assertContains(page, 'id="run-analysis"')
        self.assertContains(page, "<path d=\"M")
        self.assertEqual(self.client.post(f"/app/sites/{site.pk}/run/").status_code, 302)
        self.assertTrue(registry.join(10.0))
        history = self.client.get(f"/app/sites/{site.pk}/history/").content.decode()
        self.assertIn('data-status="SUCCESSFUL"', history)
        self.assertIn("Dry run: no Earth Engine call was made", history)
        self.assertIn("COPERNICUS/S2_SR_HARMONIZED", history)

    @override_settings(SITE_MAX_UNFINISHED_ANALYSES=1)
    def test_run_over_the_owners_limit_is_a_429_page_with_retry_after_and_stores_nothing(self) -> None:
        site = self.create()
        Analysis.objects.create(site=site, start="2024-01-01", end="2024-12-31")  # waiting: the limit is reached
        response = self.client.post(f"/app/sites/{site.pk}/run/")
        self.assertEqual(response.status_code, 429)
        self.assertGreater(int(response["Retry-After"]), 0)
        self.assertContains(response, "Too many unfinished analyses", status_code=429)
        self.assertContains(response, "Nothing was stored", status_code=429)
        self.assertEqual(Analysis.objects.count(), 1)

    def test_a_bad_polygon_is_refused_on_the_form_with_the_reason(self) -> None:
        bad = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}
        response = self.client.post("/app/sites/new/", {"name": "x", "geometry": json.dumps(bad)})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Not a usable polygon")
        self.assertContains(self.client.post("/app/sites/new/", {"name": "x", "geometry": "{"}), "Not JSON")
        self.assertFalse(Site.objects.exists())

    def test_another_users_site_and_reruns_are_404(self) -> None:
        site = self.create()
        self.client.force_login(self.other)
        self.assertEqual(self.client.get(f"/app/sites/{site.pk}/").status_code, 404)
        self.assertEqual(self.client.post(f"/app/sites/{site.pk}/run/").status_code, 404)

    def test_a_row_whose_process_is_gone_is_lost_and_can_be_re_run(self) -> None:
        site = self.create()
        stuck = Analysis.objects.create(site=site, start="2024-01-01", end="2024-02-01", status="RUNNING",
                                        process="elsewhere-999-0.1")
        fresh = Analysis.objects.create(site=site, start="2024-01-01", end="2024-02-01", process="elsewhere-998-0.1")
        mine = Analysis.objects.create(site=site, start="2024-01-01", end="2024-02-01")  # this process: live
        Analysis.objects.filter(pk=stuck.pk).update(created=stuck.created.replace(year=2020))
        self.assertEqual(reconcile(), 1, f"only the row unheard of for over {UNHEARD_GRACE}s is lost")
        stuck.refresh_from_db()
        self.assertTrue(stuck.lost)
        self.assertEqual(stuck.error["type"], LOST)
        self.assertEqual(Analysis.objects.get(pk=fresh.pk).status, "READY")
        self.assertEqual(Analysis.objects.get(pk=mine.pk).status, "READY")
        Analysis.objects.filter(pk__in=[fresh.pk, mine.pk]).delete()
        history = self.client.get(f"/app/sites/{site.pk}/history/").content.decode()
        self.assertIn('data-lost="1"', history)
        self.assertIn("re-run it", history)
        response = self.client.post(f"/app/sites/analyses/{stuck.pk}/rerun/", {"next": "https://evil.example/"})
        self.assertEqual(response["Location"], f"/app/sites/{site.pk}/")
        self.assertTrue(registry.join(10.0))
        self.assertEqual(Analysis.objects.filter(site=site, status="SUCCESSFUL").count(), 1)

    def test_re_run_needs_post_and_the_csrf_token(self) -> None:
        from django.test import Client

        site = self.create()
        row = Analysis.objects.create(site=site, start="2024-01-01", end="2024-02-01", status="FAILED")
        self.assertEqual(self.client.get(f"/app/sites/analyses/{row.pk}/rerun/").status_code, 405)
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(self.owner)
        self.assertEqual(strict.post(f"/app/sites/analyses/{row.pk}/rerun/").status_code, 403)
        self.assertEqual(Analysis.objects.count(), 1)

    def test_pages_need_a_login_and_the_favicon_does_not(self) -> None:
        self.client.logout()
        response = self.client.get("/app/sites/")
        self.assertEqual(response.status_code, 302)
        self.assertIn("/accounts/login/?next=/app/sites/", response["Location"])
        icon = self.client.get("/favicon.ico")
        self.assertEqual((icon.status_code, icon["Content-Type"]), (200, "image/svg+xml"))


class StatusPageRerunTests(TransactionTestCase):
    def test_staff_re_run_a_lost_analysis_from_the_status_page(self) -> None:
        users = get_user_model().objects
        owner = users.create_user("owner", "owner@example.com", "pw")
        staff = users.create_user("ops", "ops@example.com", "pw", is_staff=True)
        site = Site.objects.create(name="Karura", geometry=FIELD, area_km2=1.0, owner=owner)
        row = Analysis.objects.create(site=site, start="2024-01-01", end="2024-02-01", status="RUNNING",
                                      process="elsewhere-999-0.1")
        Analysis.objects.filter(pk=row.pk).update(created=row.created.replace(year=2020))
        self.client.force_login(staff)
        page = self.client.get("/background-tasks/status/page/")
        self.assertContains(page, f'id="attention-{row.pk}" data-lost="1"')
        self.assertContains(page, 'name="next" value="/background-tasks/status/page/"')
        response = self.client.post(f"/app/sites/analyses/{row.pk}/rerun/", {"next": "/background-tasks/status/page/"})
        self.assertEqual(response["Location"], "/background-tasks/status/page/")
        self.assertTrue(registry.join(10.0))
        self.assertEqual(Analysis.objects.filter(site=site, status="SUCCESSFUL").count(), 1)

    def test_the_re_run_section_refreshes_from_a_staff_only_fragment(self) -> None:
        users = get_user_model().objects
        member = users.create_user("member", "member@example.com", "pw")
        staff = users.create_user("ops2", "ops2@example.com", "pw", is_staff=True)
        self.client.force_login(staff)
        page = self.client.get("/background-tasks/status/page/").content.decode()
        self.assertIn('data-refresh-url="/app/sites/analyses/attention/"', page)
        fragment = self.client.get("/app/sites/analyses/attention/")
        self.assertContains(fragment, "Analyses to re-run")
        self.assertEqual(fragment["Cache-Control"], "no-store")
        self.client.force_login(member)
        self.assertEqual(self.client.get("/app/sites/analyses/attention/").status_code, 403)
        self.client.logout()
        self.assertEqual(self.client.get("/app/sites/analyses/attention/").status_code, 403)


class AdminTests(TransactionTestCase):
    def test_sites_analyses_and_documents_are_in_the_admin(self) -> None:
        admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
        site = Site.objects.create(name="Karura", geometry=FIELD, area_km2=1.0, owner=admin)
        row = Analysis.objects.create(site=site, start="2024-01-01", end="2024-02-01")
        self.client.force_login(admin)
        for url in (
            "/admin/esg_sites/site/", f"/admin/esg_sites/site/{site.pk}/change/",
            "/admin/esg_sites/analysis/", f"/admin/esg_sites/analysis/{row.pk}/change/",
            "/admin/esg_documents/document/",
        ):
            with self.subTest(url):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200, url)
        self.assertContains(self.client.get("/admin/esg_sites/analysis/"), row.process)


class JsonApiReconcileTests(TransactionTestCase):
    def test_the_json_api_reports_a_lost_row_as_failed_with_the_reason(self) -> None:
        owner = get_user_model().objects.create_user("owner", "owner@example.com", "pw")
        site = Site.objects.create(name="Karura", geometry=FIELD, area_km2=1.0, owner=owner)
        row = Analysis.objects.create(site=site, start="2024-01-01", end="2024-02-01", status="RUNNING",
                                      process="elsewhere-999-0.1")
        Analysis.objects.filter(pk=row.pk).update(created=row.created.replace(year=2020))
        self.client.force_login(owner)
        answer = self.client.get(f"/sites/{site.pk}/analyses/{row.pk}/").json()
        self.assertEqual(answer["status"], "FAILED")
        self.assertEqual(answer["errors"][0]["type"], LOST)
        self.assertEqual(set(answer), {"result_id", "site_id", "status", "errors"}, "the API's shape is unchanged")


class MapTilesTests(TransactionTestCase):
    def test_no_tiles_by_default_and_the_configured_tiles_under_the_outline(self) -> None:
        from django.test import override_settings

        owner = get_user_model().objects.create_user("owner", "owner@example.com", "pw")
        site = Site.objects.create(name="Karura", geometry=FIELD, area_km2=1.0, owner=owner)
        self.client.force_login(owner)
        self.assertNotContains(self.client.get(f"/app/sites/{site.pk}/"), "<image")
        template = "https://tiles.example/{z}/{x}/{y}.png"
        with override_settings(DEMO_MAP_TILE_URL=template):
            html = self.client.get(f"/app/sites/{site.pk}/").content.decode()
            new = self.client.get("/app/sites/new/").content.decode()
        self.assertIn(f'data-tile-url="{template}"', new)
        # A 0.01-degree field near Nairobi at zoom 15: tile x of 36.80 E is 19733, tile y of 1.30 S is 16502.
        self.assertIn('<image href="https://tiles.example/15/19733/16502.png"', html)
        self.assertLessEqual(html.count("<image "), 9)


class ScheduledAnalysisTests(TransactionTestCase):
    """"Run in 24 hours": a deferred task on the pool's clock, its row waiting, never reconciled as lost."""

    def setUp(self) -> None:
        self.owner = get_user_model().objects.create_user("owner", "owner@example.com", "pw")
        self.client.force_login(self.owner)
        self.site = Site.objects.create(name="Karura", geometry=FIELD, area_km2=1.0, owner=self.owner)

    def test_a_scheduled_analysis_waits_on_the_clock_then_runs_once(self) -> None:
        import datetime

        from django.utils import timezone
        from dualqueue import FakeClock

        clock = FakeClock()
        with registry.override_task_system(clock=clock) as system:
            before = timezone.now()
            response = self.client.post(f"/app/sites/{self.site.pk}/run/", {"when": "24h"})
            self.assertEqual(response.status_code, 302)
            analysis = Analysis.objects.get()
            self.assertEqual(analysis.status, Analysis.Status.READY)
            self.assertGreaterEqual(analysis.run_after, before + datetime.timedelta(hours=24))
            self.assertEqual(system.snapshot()["pools"]["site"]["scheduled"], 1, "waiting, holding no worker")
            history = self.client.get(f"/app/sites/{self.site.pk}/history/").content.decode()
            self.assertIn("scheduled for", history)
            # Its process is unknown and the row is older than the grace: an ordinary READY row would be lost.
            long_ago = timezone.now() - datetime.timedelta(seconds=UNHEARD_GRACE + 60)
            Analysis.objects.update(process="gone-host-1-x", created=long_ago)
            self.assertEqual(reconcile(), 0, "a scheduled analysis is not lost with its process")
            self.assertEqual(Analysis.objects.get().status, Analysis.Status.READY)
            clock.advance(23 * 3600)  # runs what fell due, synchronously: nothing yet
            self.assertEqual(system.snapshot()["pools"]["site"]["scheduled"], 1)
            self.assertEqual(Analysis.objects.get().status, Analysis.Status.READY, "never before its time")
            clock.advance(3600 + 1)
            self.assertTrue(system.join(10.0))
            self.assertEqual(Analysis.objects.get().status, Analysis.Status.SUCCESSFUL)
            self.assertEqual(system.snapshot()["pools"]["site"]["succeeded"], 1)

    def test_an_unknown_when_is_refused(self) -> None:
        response = self.client.post(f"/app/sites/{self.site.pk}/run/", {"when": "next-year"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(Analysis.objects.exists())
