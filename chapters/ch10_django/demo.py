"""Chapter 10 demo: the chapter's Django app on dualqueue, each bug before its fix, and
the status picture.

    python -m chapters.ch10_django.demo          # prints what happens
    python -m chapters.ch10_django.demo --json   # the same results as one JSON object
    (the tests read it)

Standalone: it configures Django itself (``settings.configure`` with the
chapter's settings and a SQLite file in a temporary directory), migrates, runs
the stories of ``chapters.ch10_django.experiments``, and removes the directory.
Every outcome printed happened on this run.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def configure(directory: Path) -> None:
    """Point Django at the chapter's settings with a database in ``directory``, and
    migrate it."""
    import django
    from django.conf import settings
    from dualqueue.django.compat import TASKS_LOGGER

    from . import settings as chapter_settings

    values = chapter_settings.as_dict()
    values["DATABASES"] = {
        "default": {
            **values["DATABASES"]["default"],
            "NAME": str(directory / "ch10.sqlite3"),
        }
    }
    # The demo reports each failure from its task result; the worker's tracebacks would
    # bury that output.
    values["LOGGING"] = {
        "version": 1,
        "disable_existing_loggers": False,
        "loggers": {
            "dualqueue": {"level": "CRITICAL"},
            TASKS_LOGGER: {"level": "CRITICAL"},
        },
    }
    settings.configure(**values)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run(print: Callable[..., None]) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.core import mail
    from django.test import Client
    from dualqueue.django import registry

    from . import experiments
    from .tasks import send_registration_email

    results: dict[str, Any] = {}
    client = Client()

    print(
        "1. Enqueue on commit. alice@example.com registers two sites (the limit),"
        " then a third:"
    )
    for name in ("Farm 1", "Farm 2"):
        client.post(
            "/sites/", {"email": "alice@example.com", "name": name, "area_km2": "40"}
        )
    assert registry.join(experiments.DEADLOCK)
    for label, path, name in (
        ("broken twin (enqueue at once)", "/sites/enqueue-now/", "Farm 3"),
        ("fixed view (on_commit)", "/sites/", "Farm 4"),
    ):
        story = experiments.register_a_site_over_quota(
            client, path, "alice@example.com", name
        )
        results[f"rollback {path}"] = story
        # Sorted: the two tasks run on different pools, so they finish in either order.
        ran = sorted(
            " ".join([t["task"], t["status"], *t["errors"]]) for t in story["tasks"]
        )
        print(
            f"   {label}: HTTP {story['status_code']}, rows named {name!r}: "
            f"{story['rows']}"
        )
        print(f"     emails sent about it: {story['emails'] or 'none'}")
        shown = "".join(f"\n       {line}" for line in ran) if ran else " none"
        print(f"     tasks that ran:{shown}")

    print(
        "   The analysis and the request's transaction, when the request is slow to "
        "commit:"
    )
    results["visibility enqueue now"] = inside = (
        experiments.analyse_inside_the_transaction("Farm 5")
    )
    results["visibility on_commit"] = after = experiments.analyse_after_commit("Farm 6")
    print(
        f"     enqueued inside the transaction: {inside['status']}"
        f" (row committed, risk {inside['risk']!r})"
    )
    for error in inside["errors"]:
        print(f"       {error}")
    print(
        f"     enqueued on commit:              {after['status']} (risk "
        f"{after['risk']!r})"
    )

    print(
        "2. Database connections opened by worker threads for 8 reads, still open "
        "afterwards:"
    )
    for label, reads in (
        ("bare TaskSystem threads", experiments.reads_on_a_bare_task_system),
        ("through DualqueueBackend", experiments.reads_through_the_backend),
    ):
        results[f"connections {label}"] = counts = (
            experiments.worker_connections_left_open(reads)
        )
        print(
            f"   {label:26} opened {counts['opened']}, still open "
            f"{counts['still_open']}"
        )

    print("3. Backend objects and task systems, asked for from 3 request threads:")
    results["per thread"] = seen = experiments.backends_and_systems_seen_by(3)
    print(
        f"   {seen['backend_objects']} backend objects (Django builds one per thread),"
        f"\n   {seen['task_systems']} TaskSystem (the registry's, one per process)"
    )

    print("4. Refused at the caller, not in a worker:")
    results["refused"] = refused = experiments.undeclarable_tasks()
    for what, message in refused.items():
        print(f"   {what}: InvalidTaskError: {message}")
    results["capabilities"] = flags = experiments.capabilities()
    print("   capability flags:")
    for flag, value in flags.items():
        print(f"     {flag}={value}")
    result = send_registration_email.enqueue("bob@example.com", "Orchard")
    assert registry.join(experiments.DEADLOCK)
    if hasattr(os, "fork"):
        results["get_result"] = where = experiments.result_visible_from(result.id)
        print(
            f"   get_result({result.id[:8]}...)"
            f" in this process: {where['this_process']},"
            f" in a forked process: {where['another_process']}"
            "\n   (results live in this process)"
        )

    print("5. The status endpoint, GET /background-tasks/status/:")
    token = os.environ["DUALQUEUE_STATUS_TOKEN"]
    staff, member = Client(), Client()
    staff.force_login(User.objects.create_user("ops", is_staff=True))
    member.force_login(User.objects.create_user("carol"))
    results["status codes"] = codes = experiments.status_codes(
        staff, member, Client(), token
    )
    print("   " + ", ".join(f"{who}: {code}" for who, code in codes.items()))
    picture = json.loads(staff.get("/background-tasks/status/").content)
    results["snapshot"] = picture
    print(f"   the picture of pid {picture['pid']}:")
    for name, pool in picture["pools"].items():
        error = pool["last_error"]["type"] if pool["last_error"] else None
        print(
            f"     {name:8} workers {pool['workers']}, submitted {pool['submitted']},"
            f" succeeded {pool['succeeded']}, failed {pool['failed']},"
            f" queued {pool['queued']}"
            f"\n              last error {error}"
        )
    results["emails"] = len(mail.outbox)
    return results


def main(print: Callable[..., None] = print, as_json: bool = False) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix="dualqueue-ch10-"))
    os.environ.setdefault("DUALQUEUE_STATUS_TOKEN", secrets.token_urlsafe(24))
    try:
        configure(directory)
        results = run((lambda *a: None) if as_json else print)
        from dualqueue.django import registry

        registry.shutdown(timeout=5.0)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if as_json:
        print(json.dumps(results, default=str))
    return results


if __name__ == "__main__":
    main(as_json="--json" in sys.argv[1:])
