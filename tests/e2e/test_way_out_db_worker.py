"""The way out, proved: the demo's own tasks run unchanged on ``django_tasks_db`` and ``manage.py db_worker``.

Only settings change (``tests/e2e/way_out_settings.py``: ``TASKS`` and one app). The web process
(plain gunicorn: no in-process pools any more) enqueues through the demo's normal views, which
write the tasks to the database and run nothing; two ``db_worker`` processes, one per queue, pick
them up: the password-reset email (``default`` queue) reaches a real SMTP server, the site
analysis (``site`` queue) writes its result. Both results end ``SUCCESSFUL`` in the database.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e import way_out_rq_settings, way_out_settings
from tests.e2e.harness import DEMO_DIR, DemoClient, DemoEnv, SmtpSink, running_gunicorn, wait_until
from tests.e2e.workload import STAFF_EMAIL, create_site, login_staff, post_analysis

pytestmark = pytest.mark.slow

SETTINGS = "tests.e2e.way_out_settings"
WORKER_TIMEOUT = 60.0  # deadlock detector: a healthy run takes a few seconds

TASK_RESULTS = """
import json
from django_tasks_db.models import DBTaskResult
print(json.dumps({str(r.id): [r.task_path, r.queue_name, r.status, r.worker_ids] for r in DBTaskResult.objects.all()}))
"""


@contextmanager
def db_worker(demo: DemoEnv, queue: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A ``manage.py db_worker`` for one queue; SIGTERM (its graceful stop) on the way out."""
    # --8<-- [start:db-worker]
    argv = [
        sys.executable,
        "manage.py",
        "db_worker",
        "--queue-name",
        queue,
        "--interval",
        "0.2",
    ]
    argv += ["--no-startup-delay", "--no-reload", "--worker-id", f"e2e-{queue}"]
    # --8<-- [end:db-worker]
    with log.open("wb") as out:
        worker = subprocess.Popen(argv, cwd=DEMO_DIR, env=demo.env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=WORKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            raise AssertionError(f"db_worker {queue} ignored SIGTERM:\n{log.read_text()}") from None


def test_demo_tasks_run_unchanged_under_db_worker(
    make_demo: Callable[..., DemoEnv], smtp: SmtpSink, figures: dict[str, object]
) -> None:
    demo = make_demo(DJANGO_SETTINGS_MODULE=SETTINGS, **smtp.env)
    demo.manage("migrate", "--no-input", "-v", "0")  # the backend's own table

    # The web process: gunicorn without dualqueue's hooks, since it runs no task itself.
    with running_gunicorn(demo, workers=1, config=None, extra_args=["--graceful-timeout", "5"]) as server:
        client = DemoClient(server.base_url)
        login_staff(client)
        site_url = create_site(client)
        analysis_id = post_analysis(client, site_url)
        reset = client.post_form("/accounts/password-reset/", {"email": STAFF_EMAIL})
        assert reset.status_code == 302, f"the reset form answered {reset.status_code}"

        # --8<-- [start:queued]
        queued = demo.query(TASK_RESULTS)
        assert sorted(
            (path, queue, status) for path, queue, status, _ in queued.values()
        ) == [
            ("esg.accounts.tasks.send_email", "default", "READY"),
            ("esg.sites.tasks.analyse_site", "site", "READY"),
        ], (
            "the views should have queued both tasks in the database, and nothing "
            f"should have run: {queued}"
        )
        assert not smtp.received, "an email went out before any worker ran"
        # --8<-- [end:queued]

        # --8<-- [start:workers]
        # One db_worker process per queue: the email never waits behind an analysis.
        var = demo.var_dir
        with (
            db_worker(demo, "default", var / "worker-default.log"),
            db_worker(demo, "site", var / "worker-site.log"),
        ):
            mail = smtp.wait_for(STAFF_EMAIL, timeout=WORKER_TIMEOUT)
            finished = wait_until(
                lambda: _all_successful(demo),
                WORKER_TIMEOUT,
                "both results SUCCESSFUL",
                0.2,
            )
        # --8<-- [end:workers]
        analysis = client.get(f"{site_url}analyses/{analysis_id}/").json()

    figures.update(task_results={v[0]: {"queue": v[1], "status": v[2], "worker": v[3]} for v in finished.values()})
    assert {v[0]: v[3] for v in finished.values()} == {
        "esg.accounts.tasks.send_email": ["e2e-default"],
        "esg.sites.tasks.analyse_site": ["e2e-site"],
    }, f"each task should have run once, on its own queue's worker: {finished}"
    assert re.search(rf"{re.escape(server.base_url)}/accounts/reset/[^/\s]+/[^/\s]+/", mail.body), mail.body
    assert analysis["status"] == "SUCCESSFUL" and analysis["result"]["mode"] == "dry-run", analysis


def _all_successful(demo: DemoEnv) -> dict[str, list[object]] | None:
    results: dict[str, list[object]] = demo.query(TASK_RESULTS)
    return results if all(status == "SUCCESSFUL" for _, _, status, _ in results.values()) else None


def test_way_out_settings_change_only_the_backend() -> None:
    """The durable backends are configured for exactly the demo's queues; RQ has a queue behind each."""
    from demo import settings as demo_settings

    queues = demo_settings.TASKS["default"]["QUEUES"]
    for module, backend in (
        (way_out_settings, "django_tasks_db.DatabaseBackend"),
        (way_out_rq_settings, "django_tasks_rq.RQBackend"),
    ):
        configured = module.TASKS
        assert configured == {"default": {"BACKEND": backend, "QUEUES": queues}}, module.__name__
        assert module.INSTALLED_APPS[: len(demo_settings.INSTALLED_APPS)] == demo_settings.INSTALLED_APPS
    assert set(way_out_rq_settings.RQ_QUEUES) == set(queues), "every queue in TASKS needs an RQ queue, and no other"
