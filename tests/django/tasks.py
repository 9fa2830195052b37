"""Tasks the adapter's tests enqueue: module-level functions, as Django's Tasks framework requires.

The first sections are the examples the Django guide shows; the rest are the backport's own
test tasks (noop, meaning of life, failures, context) plus tasks that report where they ran or
block on a gate the test opens.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import connections, transaction
from dualqueue.django.compat import TaskContext

try:  # the decorator, from wherever this Django keeps it
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from django_tasks import task

DEADLOCK = 10.0  # seconds a gated task waits before giving up: a deadlock detector, never a latency claim


# --8<-- [start:declare]
@task()  # the "default" queue, mapped to the general pool: light work
def send_welcome_email(user_id: int) -> str:
    user = get_user_model().objects.get(pk=user_id)
    send_mail("Welcome", f"Hello {user.username}.", None, [user.email])
    return threading.current_thread().name


@task(queue_name="site")  # the site pool: heavy work
def measure_site(site_id: int, bands: list[str]) -> dict[str, Any]:
    return {"site": site_id, "bands": bands, "thread": threading.current_thread().name}
# --8<-- [end:declare]


# --8<-- [start:on-commit]
def invite(username: str, email: str) -> int:
    """Create a user and send the welcome email once the row is committed."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email)
        # A worker thread cannot see an uncommitted row: enqueue only after the commit.
        transaction.on_commit(partial(send_welcome_email.enqueue, user.pk))
    return user.pk
# --8<-- [end:on-commit]


# --8<-- [start:context]
@task(takes_context=True)
def get_task_id(context: TaskContext) -> str:
    return context.task_result.id
# --8<-- [end:context]


@task()
def noop(*args: Any, **kwargs: Any) -> None:
    pass


@task()
def calculate_meaning_of_life() -> int:
    return 42


@task()
def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": args, "kwargs": kwargs}


@task()
def failing_value_error() -> None:
    raise ValueError("This task failed due to ValueError")


@task()
def failing_system_exit() -> None:
    raise SystemExit("This task failed due to SystemExit")


@task()
def complex_return_value() -> object:
    return object()  # JSON cannot carry it: the task fails when its result is recorded


@task()
def thread_name() -> str:
    return threading.current_thread().name


@task(queue_name="site")
def site_thread_name() -> str:
    return threading.current_thread().name


@task()
async def async_meaning_of_life() -> int:
    return 42


def _current_thread_name() -> str:
    return threading.current_thread().name


@task()
async def async_sync_thread_name() -> str:
    """Where an async task's ``sync_to_async`` code (the ORM, say) runs: the worker thread itself."""
    return await sync_to_async(_current_thread_name)()


# Database connections the tasks below used, for the test to inspect once the pool is idle.
USED_CONNECTIONS: list[Any] = []


@task()
def query_database() -> int:
    wrapper = connections["default"]  # this thread's own (django.db.connection is a proxy to it)
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
        (value,) = cursor.fetchone()
    USED_CONNECTIONS.append(wrapper)
    return int(value)


# Gates: a gated task blocks until the test sets the Event of that name.
GATES: dict[str, threading.Event] = {}
ENTERED: dict[str, threading.Event] = {}


def gate(name: str) -> threading.Event:
    """A fresh gate called ``name`` (and its "a task is inside" event)."""
    GATES[name] = threading.Event()
    ENTERED[name] = threading.Event()
    return GATES[name]


def _wait_at(name: str) -> str:
    ENTERED[name].set()
    if not GATES[name].wait(DEADLOCK):
        raise TimeoutError(f"gate {name!r} was never opened")
    return threading.current_thread().name


@task()
def wait_at_gate(name: str) -> str:
    return _wait_at(name)


@task(queue_name="site")
def wait_at_gate_on_site(name: str) -> str:
    return _wait_at(name)


RUNS: list[str] = []  # what record_run was called with, in this process


@task()
def record_run(label: str) -> str:
    """Record that it ran: the failed-enqueue tests count runs, not signals."""
    RUNS.append(label)
    return label


RUNS: list[str] = []  # what count_run recorded, in this process


@task()
def count_run(label: str) -> str:
    """Append ``label`` to ``RUNS``: how many times a deferred or periodic task ran in this process."""
    RUNS.append(label)
    return label


@task()
def report_steps(total: int) -> int:
    """Report ``total`` steps of progress, then return how many reports were recorded on a pool's slot."""
    from dualqueue.django import report_progress

    recorded = 0
    for step in range(total + 1):
        recorded += report_progress(step, total, f"step {step} of {total}")
    return recorded
