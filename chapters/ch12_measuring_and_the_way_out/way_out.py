"""The way out: the same tasks on a durable engine, by changing settings only.

Three ``TASKS`` settings for the same task code (chapter 10's ``@task``
functions): this process's pools, the database with ``manage.py db_worker``
processes (``django_tasks_db``), and Redis with RQ workers (``django_tasks_rq``).
The durable ones also need their app in ``INSTALLED_APPS`` (the database backend
keeps the queue and the results in a table of its own), and RQ needs its queues.

``run_on_the_database_backend()`` is the proof in small: in a process of its own
(``python -m chapters.ch12_measuring_and_the_way_out.way_out``), it configures
chapter 10's settings with ``TASKS`` switched to the database backend, migrates,
enqueues chapter 10's two tasks unchanged, checks they wait in the table, runs
``db_worker --batch`` (process everything, then exit), and reports what ran.
The demo project's full proof, with real ``db_worker`` processes, is in
``tests/e2e``.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "DATABASE",
    "DATABASE_APPS",
    "IN_PROCESS",
    "RQ",
    "RQ_APPS",
    "RQ_QUEUES",
    "run_on_the_database_backend",
]

# --8<-- [start:in-process]
IN_PROCESS = {
    "default": {
        "BACKEND": "dualqueue.django.backend.DualqueueBackend",
        "QUEUES": ["default", "site"],
        "OPTIONS": {"QUEUE_POOLS": {"default": "general", "site": "site"}},
    }
}
# --8<-- [end:in-process]

# --8<-- [start:database]
DATABASE_APPS = [
    "django_tasks_db"
]  # add to INSTALLED_APPS: its table holds the queue and the results

DATABASE = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": [
            "default",
            "site",
        ],  # the same queue names the tasks are declared with
    }
}
# then, on any number of machines:
#   python manage.py db_worker --queue-name default
# python manage.py db_worker --queue-name site     (one task at a time per process:
# start several)
# --8<-- [end:database]

# --8<-- [start:rq]
RQ_APPS = [
    "django_rq",
    "django_tasks_rq",
]  # pip install django-tasks-rq (brings django-rq and rq)

RQ_QUEUES = {  # django-rq: every queue named in TASKS needs a Redis queue here
    "default": {"URL": "redis://localhost:6379/0"},
    "site": {
        "URL": "redis://localhost:6379/0",
        "DEFAULT_TIMEOUT": 600,
    },  # an analysis may take minutes
}

RQ = {
    "default": {
        "BACKEND": "django_tasks_rq.RQBackend",
        "QUEUES": ["default", "site"],
    }
}
# then: python manage.py rqworker default site
# --8<-- [end:rq]


def run_on_the_database_backend(directory: Path) -> dict[str, Any]:
    """Chapter 10's tasks on ``django_tasks_db``: enqueue, see them wait in the table,
    run ``db_worker --batch``.

    Configures Django for this process: call it only in a process of its own.
    """
    import django
    from django.conf import settings

    from chapters.ch10_django import settings as chapter10

    # --8<-- [start:switch]
    values = chapter10.as_dict()
    values["INSTALLED_APPS"] = [*values["INSTALLED_APPS"], *DATABASE_APPS]
    values["TASKS"] = (
        DATABASE  # the only other change: no task, view or model is touched
    )
    # --8<-- [end:switch]
    values["DATABASES"] = {
        "default": {
            **values["DATABASES"]["default"],
            "NAME": str(directory / "way-out.sqlite3"),
        }
    }
    values["LOGGING"] = {"version": 1, "disable_existing_loggers": False}
    settings.configure(**values)
    django.setup()

    from django.core import mail
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult
    from dualqueue.django.compat import task_backends

    from chapters.ch10_django.models import Site
    from chapters.ch10_django.tasks import analyse_site, send_registration_email

    call_command("migrate", verbosity=0)
    site = Site.objects.create(
        name="Farm 9", owner_email="dana@example.com", area_km2=250
    )
    results = [
        analyse_site.enqueue(site.pk),
        send_registration_email.enqueue(site.owner_email, site.name),
    ]
    waiting = {
        row.task_path.rsplit(".", 1)[-1]: (row.queue_name, row.status)
        for row in DBTaskResult.objects.all()
    }
    call_command(
        "db_worker",
        queue_name="*",
        batch=True,
        startup_delay=False,
        reload=False,
        verbosity=0,
    )
    site.refresh_from_db()
    return {
        "backend": type(task_backends["default"]).__module__
        + "."
        + type(task_backends["default"]).__name__,
        "waiting_before_the_worker": waiting,
        "after_the_worker": {
            r.task.name: r.task.get_result(r.id).status.name for r in results
        },
        "return_values": {
            r.task.name: r.task.get_result(r.id).return_value for r in results
        },
        "emails": [message.subject for message in mail.outbox],
        "site_risk": site.risk,
    }


def main() -> int:
    directory = Path(tempfile.mkdtemp(prefix="dualqueue-way-out-"))
    try:
        print(json.dumps(run_on_the_database_backend(directory), default=str))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
