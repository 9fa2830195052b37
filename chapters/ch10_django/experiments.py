"""The chapter's stories, each the bug before the fix, as functions that return what
happened.

They need a Django configured with ``chapters.ch10_django.settings`` and a
migrated database (the demo does both). Each returns plain data, so that the
demo can print it and its test can check it; none decides anything by timing.
A timeout appears only as a deadlock detector.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.core import mail
from django.db import transaction
from django.db.backends.signals import connection_created
from django.test import Client
from dualqueue import TaskSystem
from dualqueue.django import registry
from dualqueue.django.backend import DualqueueBackend
from dualqueue.django.compat import (
    InvalidTaskError,
    TaskResult,
    TaskResultDoesNotExist,
    task_backends,
    task_finished,
)

from .models import Site
from .tasks import analyse_site, count_sites, send_registration_email

DEADLOCK = 10.0  # seconds: a deadlock detector, never a latency claim

try:  # Django 6
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Django 5.2 with the django_tasks backport
    from django_tasks import task


@contextmanager
def finished_tasks() -> Iterator[list[dict[str, Any]]]:
    """Record every task that finishes inside the block: its name, status and error
    classes."""
    finished: list[dict[str, Any]] = []

    def record(sender: object, task_result: TaskResult[Any], **kwargs: object) -> None:
        finished.append(
            {
                "task": task_result.task.name,
                "args": list(task_result.args),
                "status": task_result.status.name,
                "errors": [error.exception_class_path for error in task_result.errors],
            }
        )

    task_finished.connect(record, dispatch_uid="ch10-finished-tasks")
    try:
        yield finished
    finally:
        task_finished.disconnect(dispatch_uid="ch10-finished-tasks")


# -- 1. enqueue on commit
# -----------------------------------------------------------------


# --8<-- [start:rollback-story]
def register_a_site_over_quota(
    client: Client, path: str, email: str, name: str
) -> dict[str, Any]:
    """POST a site for an owner who already has the maximum; the quota check rolls it
    back."""
    sent_before = len(mail.outbox)
    with finished_tasks() as finished:
        response = client.post(path, {"email": email, "name": name, "area_km2": "250"})
        assert registry.join(DEADLOCK), "the pools never went idle"
    return {
        "status_code": response.status_code,
        "rows": Site.objects.filter(name=name).count(),
        "emails": [message.subject for message in mail.outbox[sent_before:]],
        "tasks": finished,
    }
    # --8<-- [end:rollback-story]


# --8<-- [start:visibility-story]
def analyse_inside_the_transaction(name: str) -> dict[str, Any]:
    """The bug's other face: the worker runs the analysis before the request commits.

    The request is slow to finish (here: it waits for the pools inside its
    transaction), which is all it takes for the worker to look for the row
    before it is visible to the worker's own connection.
    """
    with transaction.atomic():
        site = Site.objects.create(
            name=name, owner_email="owner@example.com", area_km2=120
        )
        result = analyse_site.enqueue(site.pk)
        assert registry.join(DEADLOCK), "the pools never went idle"
    site.refresh_from_db()
    return {
        "status": result.status.name,
        "errors": [e.exception_class_path for e in result.errors],
        "row_committed": True,
        "risk": site.risk,
    }


def analyse_after_commit(name: str) -> dict[str, Any]:
    """The fix: enqueued by ``on_commit``, the analysis starts after the row is
    committed."""
    results: list[TaskResult[str]] = []
    with transaction.atomic():
        site = Site.objects.create(
            name=name, owner_email="owner@example.com", area_km2=120
        )
        transaction.on_commit(lambda: results.append(analyse_site.enqueue(site.pk)))
    assert registry.join(DEADLOCK), "the pools never went idle"
    site.refresh_from_db()
    return {
        "status": results[0].status.name,
        "errors": [e.exception_class_path for e in results[0].errors],
        "row_committed": True,
        "risk": site.risk,
    }
    # --8<-- [end:visibility-story]


# -- 2. database connections in worker threads
# --------------------------------------------


# --8<-- [start:connections]
def worker_connections_left_open(run: Callable[[], None]) -> dict[str, int]:
    """Run ``run`` (which makes worker threads read the database); count their
    connections still open."""
    opened: list[Any] = []

    def track(sender: object, connection: Any, **kwargs: object) -> None:
        if threading.current_thread() is not threading.main_thread():
            opened.append(connection)

    connection_created.connect(track, dispatch_uid="ch10-connections")
    try:
        run()
    finally:
        connection_created.disconnect(dispatch_uid="ch10-connections")
    return {
        "opened": len(opened),
        "still_open": sum(wrapper.connection is not None for wrapper in opened),
    }


def reads_on_a_bare_task_system(reads: int = 8) -> None:
    """The bug: the ORM used from plain worker threads. Each thread opens a connection
    and keeps it."""
    tasks = TaskSystem(general=2, site=1)
    # Reads meet in pairs, so that both worker threads read (not one, by chance).
    pair = threading.Barrier(2, timeout=DEADLOCK)

    def read() -> None:
        pair.wait()
        count_sites.call()

    for _ in range(reads):
        tasks.submit("general", read)
    assert tasks.join(DEADLOCK)
    tasks.shutdown(
        DEADLOCK
    )  # the threads end; nothing ever closes the connections they opened


def reads_through_the_backend(reads: int = 8) -> None:
    """The fix: through the adapter, each task closes stale connections before and after
    it runs."""
    for _ in range(reads):
        count_sites.enqueue()
    assert registry.join(DEADLOCK)
    # --8<-- [end:connections]


# -- 3. backend objects per thread, state in the registry
# ----------------------------------


# --8<-- [start:per-thread]
def backends_and_systems_seen_by(threads: int = 3) -> dict[str, int]:
    """Ask for the ``default`` backend and the task system from several request-like
    threads."""
    backends: list[object] = []  # kept, so that no object is freed and its id reused
    systems: list[object] = []

    def request() -> None:
        backends.append(task_backends["default"])
        systems.append(registry.get_task_system())

    workers = [threading.Thread(target=request) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(DEADLOCK)
    return {
        "backend_objects": len(set(map(id, backends))),
        "task_systems": len(set(map(id, systems))),
    }
    # --8<-- [end:per-thread]


# -- 4. validation at declaration, honest capabilities
# ------------------------------------


def undeclarable_tasks() -> dict[str, str]:
    """What the Tasks API refuses at the caller: an unknown queue, a ``priority`` the
    backend cannot honour (``run_after`` it can, since chapter 13)."""
    refused: dict[str, str] = {}
    try:
        task(queue_name="reports")(
            count_sites.func
        )  # what "@task(queue_name='reports')" does at import
    except InvalidTaskError as exc:
        refused["unknown queue"] = str(exc)
    try:
        analyse_site.using(priority=10)
    except InvalidTaskError as exc:
        refused["priority"] = str(exc)
    return refused


CAPABILITIES = (
    "supports_defer",
    "supports_async_task",
    "supports_get_result",
    "supports_priority",
)


def capabilities() -> dict[str, bool]:
    return {flag: getattr(DualqueueBackend, flag) for flag in CAPABILITIES}


# --8<-- [start:results-here]
def result_visible_from(result_id: str) -> dict[str, bool]:
    """``get_result`` here, and in a forked child process (which has its own, empty
    result store)."""
    here = send_registration_email.get_result(result_id).id == result_id
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: another process, like another gunicorn worker
        try:
            send_registration_email.get_result(result_id)
            found = b"1"
        except TaskResultDoesNotExist:
            found = b"0"
        os.write(write, found)
        os._exit(0)
    os.close(write)
    found_in_child = os.read(read, 1) == b"1"
    os.close(read)
    os.waitpid(pid, 0)
    return {"this_process": here, "another_process": found_in_child}
    # --8<-- [end:results-here]


# -- 5. the status endpoint
# ----------------------------------------------------------------


# --8<-- [start:status-access]
def status_codes(
    staff: Client, member: Client, anonymous: Client, token: str
) -> dict[str, int]:
    """Who may read ``/background-tasks/status/``: staff sessions and the bearer token,
    nobody else."""
    url = "/background-tasks/status/"
    return {
        "anonymous": anonymous.get(url).status_code,
        "wrong token": anonymous.get(
            url, headers={"Authorization": "Bearer not-the-token"}
        ).status_code,
        "token": anonymous.get(
            url, headers={"Authorization": f"Bearer {token}"}
        ).status_code,
        "logged-in, not staff": member.get(url).status_code,
        "staff": staff.get(url).status_code,
    }
    # --8<-- [end:status-access]
