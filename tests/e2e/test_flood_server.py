"""``manage.py flood_server`` floods the running server (gunicorn, two workers) over HTTP; one answer counts it."""

from __future__ import annotations

import pytest

from tests.e2e.harness import DemoClient, DemoEnv, running_gunicorn, wait_until, worker_pids

pytestmark = pytest.mark.slow
TIMEOUT = 60.0  # deadlock detector


def test_flood_server_drives_the_running_server_over_http_and_one_answer_counts_every_worker(make_demo) -> None:
    # A per-user limit below the flood: the command spreads it over several accounts (20 -> 3).
    demo: DemoEnv = make_demo(GEE_DRY_RUN_SECONDS="0.5", SITE_MAX_UNFINISHED_ANALYSES="8")
    with running_gunicorn(demo, workers=2, extra_args=["--graceful-timeout", "5"]) as server:
        done = demo.manage("flood_server", "--url", f"{server.base_url}/", "--analyses", "20", "--timeout", "120")
        assert "all 20 analyses finished: 20 done, 0 failed" in done.stdout, done.stdout
        assert "3 flood accounts: each may have 8 unfinished analyses" in done.stdout, done.stdout
        workers = set(worker_pids(server.pid))

        def every_worker_and_every_analysis() -> bool:
            # Every analysis the flood posted, whichever worker took it, in the totals of one answer
            # (another worker's numbers are as fresh as its last publish: up to 2 s old).
            status = DemoClient(server.base_url).status()
            live = {p["pid"] for p in status["processes"] if p["state"] == "live"}
            site = status["totals"]["pools"]["site"]
            return live == workers and (site["submitted"], site["succeeded"]) == (20, 20)

        what = f"one answer with both workers {workers} and 20 analyses done"
        wait_until(every_worker_and_every_analysis, TIMEOUT, what)


def test_flood_server_drives_runserver_too(make_demo) -> None:
    """``make demo``'s default server: runserver closes a ``Connection: close`` socket without saying
    so, and a pooled client would reuse it for the next POST (seen: RemoteDisconnected)."""
    import subprocess
    import sys

    import requests

    from tests.e2e.harness import DEMO_DIR, free_port

    demo: DemoEnv = make_demo(GEE_DRY_RUN_SECONDS="0.2")
    port = free_port()
    log = (demo.var_dir / "runserver.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=DEMO_DIR, env=demo.env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        def answers() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_until(answers, TIMEOUT, "runserver to answer")
        done = demo.manage("flood_server", "--url", f"http://127.0.0.1:{port}/", "--analyses", "8", "--timeout", "120")
        assert "all 8 analyses finished: 8 done, 0 failed" in done.stdout, done.stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
