"""The way out as a team that outgrew one machine runs it: PostgreSQL with two ``db_worker``s, and Redis with RQ.

Only settings and environment change (``tests/e2e/way_out_settings.py`` plus ``DATABASE_URL``;
``tests/e2e/way_out_rq_settings.py`` plus ``REDIS_URL``). The web process (plain gunicorn, no
in-process pools) enqueues through the demo's own views; separate worker processes run the tasks:

* **PostgreSQL** (Debian's server, a throwaway cluster on loopback): two ``db_worker`` processes
  share every queue. Each task runs exactly once, on one of them, and both take work.
* **Redis** (Debian's ``redis-server`` on loopback): one ``rqworker`` with ``django_tasks_rq.Job``
  runs both queues. Each task runs exactly once, and its result is read back through the backend.

In both, the password-reset email reaches a real SMTP server exactly once and each analysis's
result is read back through the demo's own API.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.harness import DEMO_DIR, DemoClient, DemoEnv, SmtpSink, running_gunicorn, wait_until
from tests.e2e.services import postgres_server, redis_server
from tests.e2e.workload import STAFF_EMAIL, STAFF_PASSWORD, STAFF_USERNAME, create_site, login_staff, post_analysis

pytestmark = pytest.mark.slow

WORKER_TIMEOUT = 90.0  # deadlock detector: a healthy run takes a few seconds
ANALYSES = 6
SIMULATED_SECONDS = "0.5"  # each analysis holds its worker this long, so a second worker gets work

DB_RESULTS = """
import json
from django_tasks_db.models import DBTaskResult
print(json.dumps({str(r.id): [r.task_path, r.status, r.worker_ids] for r in DBTaskResult.objects.all()}))
"""


@contextmanager
def worker_process(demo: DemoEnv, argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A worker command of the demo (``manage.py ...``); SIGTERM, its graceful stop, on the way out."""
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", *argv], cwd=DEMO_DIR, env=demo.env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            raise AssertionError(f"{argv[0]} ignored SIGTERM:\n{log.read_text()}") from None


def enqueue_through_the_views(client: DemoClient) -> tuple[str, list[str]]:
    """Log in, create a site, post the analyses and one password reset; the site URL and analysis ids."""
    login_staff(client)
    site_url = create_site(client)
    analyses = [post_analysis(client, site_url) for _ in range(ANALYSES)]
    reset = client.post_form("/accounts/password-reset/", {"email": STAFF_EMAIL})
    assert reset.status_code == 302, f"the reset form answered {reset.status_code}"
    return site_url, analyses


def read_analyses_back(client: DemoClient, site_url: str, analyses: list[str]) -> None:
    for analysis_id in analyses:
        analysis = client.get(f"{site_url}analyses/{analysis_id}/").json()
        assert analysis["status"] == "SUCCESSFUL" and analysis["result"]["mode"] == "dry-run", analysis


@pytest.fixture
def postgres() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def test_two_db_workers_share_the_queue_on_postgresql(tmp_path: Path, postgres: str, smtp: SmtpSink) -> None:
    demo = DemoEnv(
        tmp_path / "var",
        DJANGO_SETTINGS_MODULE="tests.e2e.way_out_settings",
        DATABASE_URL=postgres,
        GEE_DRY_RUN_SECONDS=SIMULATED_SECONDS,
        DEMO_ADMIN_USERNAME=STAFF_USERNAME,
        DEMO_ADMIN_EMAIL=STAFF_EMAIL,
        DEMO_ADMIN_PASSWORD=STAFF_PASSWORD,
        **smtp.env,
    )
    demo.manage("migrate", "--no-input", "-v", "0")
    demo.manage("seed_demo")
    with running_gunicorn(demo, workers=1, config=None, extra_args=["--graceful-timeout", "5"]) as server:
        client = DemoClient(server.base_url)
        site_url, analyses = enqueue_through_the_views(client)
        queued = demo.query(DB_RESULTS)
        assert len(queued) == ANALYSES + 1 and {s for _, s, _ in queued.values()} == {"READY"}, queued

        # --8<-- [start:two-workers]
        # Two db_worker processes (on two machines, in production) share every queue of
        # the database.
        common = [
            "db_worker",
            "--queue-name",
            "*",
            "--interval",
            "0.1",
            "--no-startup-delay",
            "--no-reload",
        ]
        var = demo.var_dir
        with (
            worker_process(
                demo, [*common, "--worker-id", "worker-a"], var / "worker-a.log"
            ),
            worker_process(
                demo, [*common, "--worker-id", "worker-b"], var / "worker-b.log"
            ),
        ):
            # --8<-- [end:two-workers]
            finished = wait_until(lambda: _all_successful(demo), WORKER_TIMEOUT, "every result SUCCESSFUL", 0.2)
            smtp.wait_for(STAFF_EMAIL, timeout=WORKER_TIMEOUT)
        read_analyses_back(client, site_url, analyses)

    runs = {result_id: workers for result_id, (_, _, workers) in finished.items()}
    assert all(len(workers) == 1 for workers in runs.values()), f"each task runs exactly once: {runs}"
    used = {workers[0] for workers in runs.values()}
    assert used == {"worker-a", "worker-b"}, f"both workers should have taken tasks off the shared queue: {runs}"
    assert [STAFF_EMAIL in m.rcpt_tos for m in smtp.received].count(True) == 1, "the reset email went out exactly once"


def _all_successful(demo: DemoEnv) -> dict[str, list[object]] | None:
    results: dict[str, list[object]] = demo.query(DB_RESULTS)
    return results if results and all(status == "SUCCESSFUL" for _, status, _ in results.values()) else None


RQ_RESULTS = """
import json
from dualqueue.django.compat import task_backends
from esg.sites.models import Analysis
backend = task_backends["default"]
out = {}
for analysis in Analysis.objects.all():
    r = backend.get_result(analysis.task_result_id)
    out[r.id] = [r.task.module_path, str(r.status), list(r.worker_ids), r.attempts]
print(json.dumps(out))
"""


def test_rq_worker_runs_the_demo_tasks_from_redis(
    make_demo: Callable[..., DemoEnv], redis_url: str, smtp: SmtpSink
) -> None:
    demo = make_demo(DJANGO_SETTINGS_MODULE="tests.e2e.way_out_rq_settings", REDIS_URL=redis_url, **smtp.env)
    with running_gunicorn(demo, workers=1, config=None, extra_args=["--graceful-timeout", "5"]) as server:
        client = DemoClient(server.base_url)
        site_url, analyses = enqueue_through_the_views(client)
        assert not smtp.received, "an email went out before any worker ran"
        # --8<-- [start:rqworker]
        argv = ["rqworker", "default", "site", "--job-class", "django_tasks_rq.Job"]
        # runs jobs in its own process, no fork per job
        argv += ["--worker-class", "rq.SimpleWorker"]
        # --8<-- [end:rqworker]
        # --burst: the worker runs what is queued and exits by itself, so the test waits for its exit.
        log = demo.var_dir / "rqworker.log"
        with log.open("wb") as out:
            done = subprocess.run(
                [sys.executable, "manage.py", *argv, "--burst"], cwd=DEMO_DIR, env=demo.env, stdout=out,
                stderr=subprocess.STDOUT, timeout=WORKER_TIMEOUT, check=False,
            )  # fmt: skip
        assert done.returncode == 0, f"rqworker --burst exited {done.returncode}:\n{log.read_text()}"
        smtp.wait_for(STAFF_EMAIL, timeout=WORKER_TIMEOUT)
        read_analyses_back(client, site_url, analyses)
        results: dict[str, list[object]] = demo.query(RQ_RESULTS)

    assert len(results) == ANALYSES, results
    assert {path for path, *_ in results.values()} == {"esg.sites.tasks.analyse_site"}, results
    for result_id, (_, status, worker_ids, attempts) in results.items():
        assert (status, attempts, len(worker_ids)) == ("SUCCESSFUL", 1, 1), f"{result_id} ran exactly once: {results}"
    assert [STAFF_EMAIL in m.rcpt_tos for m in smtp.received].count(True) == 1, "the reset email went out exactly once"
