"""The demo as an application, in Debian's chromium against gunicorn with two workers.

One story, as a person would live it: log in, draw a site on the canvas, run its analysis and see
the (dry-run) result; flood the server over HTTP and watch one status page show both worker
processes and update itself without a reload; kill a worker in the middle of an analysis and see
the row shown as lost; re-run it from the page. With ``DUALQUEUE_SCREENSHOTS=<dir>`` (``make
screenshots``) it saves a screenshot of each page there, for the Django guide.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.harness import DemoClient, DemoEnv, running_gunicorn, wait_until, worker_pids
from tests.e2e.test_status_page_browser import browser_page  # noqa: F401  (the fixture)
from tests.e2e.workload import ONE_ACCOUNT_LOAD, STAFF_PASSWORD, STAFF_USERNAME, login_staff

pytestmark = pytest.mark.slow
TIMEOUT = 60.0  # deadlock detector
SHOTS = os.environ.get("DUALQUEUE_SCREENSHOTS", "")


def shoot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_a_person_runs_the_demo_from_the_browser_and_one_status_page_shows_every_worker(
    make_demo, browser_page: Page  # noqa: F811
) -> None:
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    demo: DemoEnv = make_demo(GEE_DRY_RUN_SECONDS="5", **ONE_ACCOUNT_LOAD)  # 30 analyses from one account
    with running_gunicorn(demo, workers=2, extra_args=["--graceful-timeout", "5"]) as server:
        base = server.base_url
        page.goto(f"{base}/app/sites/")
        assert "/accounts/login/" in page.url
        page.fill('input[name="username"]', STAFF_USERNAME)
        page.fill('input[name="password"]', STAFF_PASSWORD)
        with page.expect_navigation():
            page.click('form[action$="/accounts/login/"] button[type="submit"]')

        # Draw a site: four corners on the canvas, then "Use this polygon".
        page.goto(f"{base}/app/sites/new/")
        box = page.locator("#canvas").bounding_box()
        assert box is not None
        for dx, dy in ((120, 120), (280, 110), (300, 280), (110, 270)):
            page.mouse.click(box["x"] + dx, box["y"] + dy)
        page.click("#use")
        page.fill("#id_name", "Drawn field")
        shoot(page, "site-new")
        with page.expect_navigation():
            page.click('#site-form button[type="submit"]')
        assert "/app/sites/" in page.url and page.locator("h1").inner_text() == "Drawn field"
        site_url = page.url

        # Run its analysis; the history updates itself until the result is there.
        with page.expect_navigation():
            page.click("#run-analysis")
        page.wait_for_selector('#analyses tr[data-status="SUCCESSFUL"] .banner', timeout=TIMEOUT * 1000)
        assert "no Earth Engine call was made" in page.locator("#analyses .banner").first.inner_text()
        shoot(page, "site-page")
        page.goto(f"{base}/app/sites/")
        assert page.locator("#sites a", has_text="Drawn field").count() == 1
        shoot(page, "sites-list")

        # Upload a document through the form: the page says when it will be searchable.
        page.goto(f"{base}/documents/")
        page.set_input_files("#id_file", files=[{"name": "field-notes.txt", "mimeType": "text/plain",
                                                  "buffer": b"Peat depth and canopy cover at the drawn field."}])
        with page.expect_navigation():
            page.click('form[action="/documents/"] button[type="submit"]')
        notice = page.locator(".messages li").inner_text()
        assert "field-notes.txt uploaded; it will be searchable in about" in notice, notice
        shoot(page, "documents")

        # Flood over HTTP (a fresh connection per request reaches both workers), watch one status page.
        site_id = int(site_url.rstrip("/").rsplit("/", 1)[1])
        client = DemoClient(base)
        login_staff(client)
        page.goto(f"{base}/background-tasks/status/page/")
        loads: list[float] = []
        page.on("load", lambda _p: loads.append(time.monotonic()))
        for _ in range(30):
            assert client.post(f"/sites/{site_id}/analyses/", data=b"").status_code == 202
        workers = set(worker_pids(server.pid))
        assert len(workers) == 2

        def both_live_and_busy() -> bool:
            live = {int(p) for p in page.eval_on_selector_all(
                '#processes tr[data-state="live"]', "rows => rows.map(r => r.dataset.pid)")}
            running = page.locator('#totals tr[data-pool="site"] td').nth(4).inner_text()
            return live == workers and int(running) > 0

        def updated_twice() -> bool:
            return int(page.get_attribute("#dualqueue-status", "data-updates") or 0) >= 2

        wait_until(updated_twice, TIMEOUT, f"the page to update itself from the JSON (script errors: {errors})")
        wait_until(both_live_and_busy, TIMEOUT, "the status page to show both workers live and the site pool busy")
        assert page.get_attribute("#dualqueue-status", "data-error") is None
        assert loads == [], f"the status page reloaded itself {len(loads)} time(s)"
        shoot(page, "status-page")

        # Kill a worker while it runs analyses (as the status shows it): its rows must be shown as lost.
        def a_busy_worker() -> int | None:
            status = client.status()
            busy = [p["pid"] for p in status["processes"]
                    if p["state"] == "live" and p["pid"] in workers and p["pools"]["site"]["running"] > 0]
            return busy[0] if busy else None

        victim = wait_until(a_busy_worker, TIMEOUT, "a worker running analyses")
        os.kill(victim, signal.SIGKILL)
        page.goto(site_url)
        lost = f'#analyses tr[data-lost="1"]:has-text("pid {victim}")'
        page.wait_for_selector(lost, timeout=TIMEOUT * 1000)
        still = demo.query(
            "import json; from esg.sites.models import Analysis;"
            f"print(json.dumps(Analysis.objects.filter(site_id={site_id}, process__contains='-{victim}-',"
            " status__in=['READY', 'RUNNING']).count()))"
        )
        assert still == 0, f"{still} row(s) of the killed worker {victim} still read as queued or running"
        shoot(page, "site-lost")
        page.goto(f"{base}/background-tasks/status/page/")
        page.wait_for_selector(f'#processes tr[data-pid="{victim}"][data-state="gone"]', timeout=TIMEOUT * 1000)
        shoot(page, "status-gone")

        # Re-run a lost analysis from the page: a new row, which finishes.
        page.goto(site_url)
        ids = lambda: page.eval_on_selector_all("#analyses tr[data-status]", "rows => rows.map(r => r.id)")  # noqa: E731
        before = set(ids())
        with page.expect_navigation():
            page.locator(lost).first.locator("button").click()
        new = wait_until(lambda: [i for i in ids() if i not in before], TIMEOUT, "the re-run's row")[0]
        finished = lambda: page.get_attribute(f"#{new}", "data-status") == "SUCCESSFUL"  # noqa: E731
        wait_until(finished, TIMEOUT, "the re-run to finish")
