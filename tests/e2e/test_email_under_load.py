"""The promise of the two pools, end to end: a password-reset email arrives within 2 s while analyses saturate.

The demo runs under a real gunicorn (gthread, ``--preload``, 2 workers) with the adapter's hooks,
sends mail over SMTP to a real server on loopback, and simulates Earth Engine's service time
(``GEE_DRY_RUN_SECONDS``). The test posts analyses until the site pool of *both* workers is full
(10 running) with a backlog behind it, as each worker's own status says; then it asks for a
password reset and measures, on one clock, from the moment the request is sent to the moment the
SMTP server has the whole message. The site pools are checked again afterwards: the email did not
arrive because the load had gone.

The 2-second bound is the claim being tested (issue 3), not a deadlock detector; every other wait
is one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest

from tests.e2e.harness import DemoClient, DemoEnv, SmtpSink, running_gunicorn
from tests.e2e.workload import (
    ONE_ACCOUNT_LOAD,
    SITE_WORKERS,
    STAFF_EMAIL,
    create_site,
    login_staff,
    post_analyses_until_saturated,
    site_pools_by_pid,
)

pytestmark = pytest.mark.slow

EMAIL_CLAIM_SECONDS = 2.0  # issue 3: "the password-reset email arrives within 2 s under full site load"
SERVICE_SECONDS = 8  # each analysis holds its site worker this long: far longer than the whole measurement
BACKLOG = 5  # analyses waiting behind the 10 running ones, in each gunicorn worker, before the reset
WORKERS = 2


def test_reset_email_arrives_within_2s_while_both_workers_site_pools_are_saturated(
    make_demo: Callable[..., DemoEnv], smtp: SmtpSink, figures: dict[str, object]
) -> None:
    demo = make_demo(GEE_DRY_RUN_SECONDS=str(SERVICE_SECONDS), **ONE_ACCOUNT_LOAD, **smtp.env)
    # A short graceful timeout only so that teardown does not wait for the backlog (tested elsewhere).
    with running_gunicorn(demo, workers=WORKERS, extra_args=["--graceful-timeout", "4"]) as server:
        client = DemoClient(server.base_url)
        login_staff(client)
        site_url = create_site(client)
        posted, before = post_analyses_until_saturated(client, site_url, workers=WORKERS, backlog=BACKLOG)

        sent = time.monotonic()
        response = client.post_form("/accounts/password-reset/", {"email": STAFF_EMAIL})
        answered = time.monotonic()
        mail = smtp.wait_for(STAFF_EMAIL, timeout=60)  # deadlock detector; the claim is asserted below
        latency = mail.received_at - sent

        after = site_pools_by_pid(client, WORKERS)

        link = re.search(rf"{re.escape(server.base_url)}/accounts/reset/[^/\s]+/[^/\s]+/", mail.body)
        assert link, f"no reset link for {server.base_url} in the email:\n{mail.body}"
        # The link is a real one: Django's confirm view accepts the token and moves it out of the URL.
        follow = client.session.get(link.group(0), allow_redirects=False, timeout=30)

    figures.update(
        email_latency_seconds=round(latency, 4),
        reset_request_seconds=round(answered - sent, 4),
        analyses_posted=len(posted),
        site_pools_before={str(pid): _load(pool) for pid, pool in before.items()},
        site_pools_after={str(pid): _load(pool) for pid, pool in after.items()},
        service_seconds=SERVICE_SECONDS,
    )
    print(f"\npassword-reset email under full site load: {latency * 1000:.1f} ms from request to SMTP delivery")

    assert response.status_code == 302, f"the reset form answered {response.status_code}, expected a redirect"
    assert latency < EMAIL_CLAIM_SECONDS, (
        f"the reset email took {latency:.3f}s from request to SMTP delivery (claim: under {EMAIL_CLAIM_SECONDS}s) "
        f"with {len(posted)} analyses posted; site pools before: {figures['site_pools_before']}"
    )
    for pid, pool in after.items():
        assert pool["running"] == SITE_WORKERS, f"worker {pid}'s site pool was no longer full after the email: {pool}"
    assert follow.status_code == 302 and follow.headers["Location"].endswith("/set-password/"), (
        f"the emailed link was refused: {follow.status_code} {follow.headers.get('Location')}"
    )


def _load(pool: dict[str, object]) -> dict[str, object]:
    return {key: pool[key] for key in ("workers", "running", "queued", "succeeded")}
