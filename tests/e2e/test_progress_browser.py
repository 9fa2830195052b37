"""The analysis's progress bar, in Debian's chromium against gunicorn with two workers.

A person runs a site's analysis (a dry run standing in for 12 s of Earth Engine time) and watches
its row: the bar appears while it runs and grows in place, fed by the task's
``report_progress`` calls, written to its result row by whichever worker runs it and read by
whichever worker answers the page's refresh; then the row ends done. With
``DUALQUEUE_SCREENSHOTS=<dir>`` the running page is saved for the Django guide.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.e2e.harness import DemoEnv, running_gunicorn, wait_until
from tests.e2e.test_demo_app_browser import shoot
from tests.e2e.test_status_page_browser import browser_page  # noqa: F401  (the fixture)
from tests.e2e.workload import STAFF_PASSWORD, STAFF_USERNAME

pytestmark = pytest.mark.slow
TIMEOUT = 60.0  # deadlock detector

READ_BAR = """() => {
  const bar = document.querySelector('#analyses tr[data-status="RUNNING"] .progress');
  if (!bar) return null;
  return {value: Number(bar.getAttribute("aria-valuenow")),
          width: bar.querySelector(".bar").style.width,
          text: bar.parentElement.querySelector(".progress-text").textContent.trim()};
}"""


def test_the_analysis_page_shows_a_progress_bar_that_moves(make_demo, browser_page: Page) -> None:  # noqa: F811
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    demo: DemoEnv = make_demo(GEE_DRY_RUN_SECONDS="12")
    with running_gunicorn(demo, workers=2) as server:
        base = server.base_url
        page.goto(f"{base}/accounts/login/")
        page.fill('input[name="username"]', STAFF_USERNAME)
        page.fill('input[name="password"]', STAFF_PASSWORD)
        with page.expect_navigation():
            page.click('form[action$="/accounts/login/"] button[type="submit"]')
        page.goto(f"{base}/app/sites/new/")
        box = page.locator("#canvas").bounding_box()
        assert box is not None
        for dx, dy in ((120, 120), (280, 110), (300, 280), (110, 270)):
            page.mouse.click(box["x"] + dx, box["y"] + dy)
        page.click("#use")
        page.fill("#id_name", "Progress field")
        with page.expect_navigation():
            page.click('#site-form button[type="submit"]')
        with page.expect_navigation():
            page.click("#run-analysis")

        first = wait_until(lambda: page.evaluate(READ_BAR), TIMEOUT, "the running analysis's progress bar")
        assert "dry run" in first["text"] or "building" in first["text"] or "initializing" in first["text"], first
        later = wait_until(
            lambda: (seen := page.evaluate(READ_BAR)) and seen["value"] > first["value"] and seen,
            TIMEOUT, f"the bar to move past {first}",
        )  # fmt: skip
        assert later["width"] == f"{later['value']}%", later
        assert "dry run: simulated service time" in later["text"], later  # the dry run says what it is
        shoot(page, "site-progress")
        page.wait_for_selector('#analyses tr[data-status="SUCCESSFUL"] .banner', timeout=TIMEOUT * 1000)
        assert page.evaluate(READ_BAR) is None, "a finished analysis shows no bar"
    assert errors == [], errors
