"""The status page in a real browser: a staff user logs in through the form, sees both pools, watches a task land.

Debian's chromium (``/usr/bin/chromium``; ``make browser`` installs it, and ``make test`` runs that
target) driven by Playwright's Python API; never a browser that Playwright downloads. The demo runs
under gunicorn with one worker, so every request, the browser's included, reaches the same pools.
After the page is open, the browser is never told to reload it: the page must refresh its numbers
by itself while another tab asks for a password reset, which runs on the general pool.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from tests.e2e.harness import DemoEnv, running_gunicorn, worker_pids
from tests.e2e.workload import GENERAL_WORKERS, SITE_WORKERS, STAFF_EMAIL, STAFF_PASSWORD, STAFF_USERNAME

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"  # Debian's package; `make browser` installs it
# No network beyond loopback, no first-run work, no background services: a quiet, hermetic browser.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000  # deadlock detector for every browser wait


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Page]:
    """A headless chromium page with a fresh profile; fails (never skips) when chromium is missing."""
    chromium = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if chromium is None:
        pytest.fail(
            f"Debian's chromium is missing ({CHROMIUM}): `make browser` installs it "
            "(make test runs that target; CI installs it). The status-page proof needs a real browser."
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context.new_page()
        finally:
            context.close()


# The page as the browser shows it, read in one script run (a refresh cannot land halfway through a
# read): the pid and each pool's row by column heading; null while a fresh copy is still loading.
READ_PAGE = """() => {
  if (document.readyState === "loading") return null;
  const headings = [...document.querySelectorAll("#pools th")].map((th) => th.textContent.trim());
  const pools = {};
  for (const row of document.querySelectorAll("#pools tr[data-pool]")) {
    const cells = [...row.querySelectorAll("td")].map((td) => td.textContent.trim());
    if (cells.length !== headings.length) return null;
    pools[row.dataset.pool] = Object.fromEntries(headings.map((heading, i) => [heading, cells[i]]));
  }
  return {pid: document.querySelector("#pid")?.textContent.trim(), pools};
}"""


def read_page(page: Page) -> dict[str, Any]:
    """The status page's pid and pools as shown now, waiting out any self-refresh in progress."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        try:
            shown = page.evaluate(READ_PAGE)
        except PlaywrightError:  # the page replaced itself while the script ran
            shown = None
        if shown and shown["pid"] and {"general", "site"} <= set(shown["pools"]):
            return dict(shown)
        page.wait_for_timeout(100)  # lets the browser run its own timers and refreshes
    raise AssertionError(f"the status page never showed a pid and both pools; it is at {page.url}")


def test_staff_sees_both_pools_and_the_page_updates_itself_when_a_task_runs(
    make_demo: Callable[..., DemoEnv], browser_page: Page, figures: dict[str, object]
) -> None:
    page = browser_page
    demo = make_demo()
    with running_gunicorn(demo, workers=1, extra_args=["--graceful-timeout", "5"]) as server:
        status_url = f"{server.base_url}/background-tasks/status/page/"
        page.goto(status_url)
        assert "/accounts/login/" in page.url, f"an anonymous visitor was not sent to the login form: {page.url}"
        page.fill('input[name="username"]', STAFF_USERNAME)
        page.fill('input[name="password"]', STAFF_PASSWORD)
        with page.expect_navigation():
            page.click('form[action$="/accounts/login/"] button[type="submit"]')
        assert page.url == status_url, f"after logging in the browser is at {page.url}, not the status page"

        shown = read_page(page)
        pid, general, site = shown["pid"], shown["pools"]["general"], shown["pools"]["site"]
        workers = worker_pids(server.pid)
        assert int(pid) in workers, f"the page shows pid {pid}; gunicorn's worker is {workers}"
        assert general["workers (alive)"].split()[0] == str(GENERAL_WORKERS), general
        assert site["workers (alive)"].split()[0] == str(SITE_WORKERS), site
        before = int(general["succeeded"])

        # From here on the test never navigates this page: only the page itself may refresh it.
        refreshes: list[float] = []
        page.on("load", lambda _page: refreshes.append(time.monotonic()))

        other = page.context.new_page()  # a second tab: someone asks for a password reset
        other.goto(f"{server.base_url}/accounts/password-reset/")
        other.fill('input[name="email"]', STAFF_EMAIL)
        with other.expect_navigation():
            other.click('form[action$="/accounts/password-reset/"] button[type="submit"]')
        assert other.url.endswith("/accounts/password-reset/done/"), f"the reset form went to {other.url}"
        asked = time.monotonic()

        after = _wait_for_succeeded_above(page, "general", before)
        seen = time.monotonic() - asked
        assert read_page(page)["pid"] == pid, "the page now shows another process"

    figures.update(update_seen_seconds=round(seen, 2), self_refreshes=len(refreshes), general_succeeded=[before, after])
    print(f"\nstatus page showed the reset email task {seen:.1f}s after it was asked ({len(refreshes)} self-refreshes)")


def _wait_for_succeeded_above(page: Page, pool: str, before: int) -> int:
    """Watch the open page (never reloading it) until the pool's "succeeded" count passes ``before``."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        now = int(read_page(page)["pools"][pool]["succeeded"])
        if now > before:
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"the status page's {pool} pool never showed more than {before} succeeded task(s)")
