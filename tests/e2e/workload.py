"""What the end-to-end tests do to a running demo: log in, create a site, fill the site pools.

Each gunicorn worker is its own process with its own pools, and the status endpoint describes the
worker that answered (its ``pid``). To know the state of *every* worker, :func:`site_pools_by_pid`
keeps asking, each time on a fresh connection, until each pid has answered once.
"""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.harness import DemoClient

SITE_WORKERS = 10  # DUALQUEUE["POOLS"]["site"] in the demo's settings
GENERAL_WORKERS = 2
ANALYSIS_TASK = "esg.sites.tasks.analyse_site"  # how the pools name the site task in a shutdown report

# The load tests post every analysis from one account: the per-user limit of unfinished analyses
# (SITE_MAX_UNFINISHED_ANALYSES, 20 by default) would refuse the backlog they need.
ONE_ACCOUNT_LOAD = {"SITE_MAX_UNFINISHED_ANALYSES": "1000"}

# The staff user that `manage.py seed_demo` creates, named through its DEMO_ADMIN_* variables
# (esg/sites/management/commands/seed_demo.py).
STAFF_USERNAME = "e2e-staff"
STAFF_PASSWORD = "e2e-staff-password"
STAFF_EMAIL = "e2e-staff@example.com"

# A small field near Nairobi (about 1 km2): a valid site for the demo's GeoJSON checks.
FIELD = {
    "type": "Polygon",
    "coordinates": [[[36.80, -1.30], [36.81, -1.30], [36.81, -1.29], [36.80, -1.29], [36.80, -1.30]]],
}


def login(client: DemoClient, username: str, password: str) -> None:
    """Log in through the demo's real login form (session cookie + CSRF token)."""
    response = client.post_form("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, f"login as {username} failed: {response.status_code} {response.text[:500]}"


def login_staff(client: DemoClient) -> None:
    login(client, STAFF_USERNAME, STAFF_PASSWORD)


def create_site(client: DemoClient, name: str = "E2E field") -> str:
    """POST a site; returns its URL path (``/sites/<id>/``)."""
    client.get("/sites/")  # sets the csrftoken cookie for the JSON API
    response = client.post("/sites/", json={"name": name, "geometry": FIELD})
    assert response.status_code == 201, f"creating a site answered {response.status_code}: {response.text[:500]}"
    return str(response.json()["url"])


def post_analysis(client: DemoClient, site_url: str) -> str:
    """POST one analysis of the site; returns its result id (202 Accepted)."""
    response = client.post(f"{site_url}analyses/")
    assert response.status_code == 202, f"an analysis answered {response.status_code}: {response.text[:500]}"
    return str(response.json()["result_id"])


def site_pools_by_pid(client: DemoClient, workers: int, timeout: float = 30.0) -> dict[int, dict[str, Any]]:
    """The site pool of each of ``workers`` gunicorn workers, each read by asking until every pid has answered."""
    seen: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < workers:
        assert time.monotonic() < deadline, (
            f"only {len(seen)} of {workers} workers answered the status in {timeout:.0f}s: {sorted(seen)}"
        )
        status = client.status()
        seen[int(status["pid"])] = status["pools"]["site"]
    return seen


def post_analyses_until_saturated(
    client: DemoClient, site_url: str, *, workers: int, backlog: int, batch: int = 10, most: int = 300
) -> tuple[list[str], dict[int, dict[str, Any]]]:
    """Post analyses until every worker's site pool runs ``SITE_WORKERS`` tasks with ``backlog`` more queued.

    Which worker takes a request is the kernel's choice, so this posts in batches and looks at
    every worker's status after each. Returns the result ids posted and the last status per pid.
    """
    posted: list[str] = []
    while True:
        posted += [post_analysis(client, site_url) for _ in range(batch)]
        pools = site_pools_by_pid(client, workers)
        if all(p["running"] == SITE_WORKERS and p["queued"] >= backlog for p in pools.values()):
            return posted, pools
        assert len(posted) < most, f"{len(posted)} analyses did not saturate {workers} site pools: {pools}"
