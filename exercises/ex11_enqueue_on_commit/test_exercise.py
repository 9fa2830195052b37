"""Exercise 11 checks: a rolled-back request sends no invitation; a committed one sends
each, after the commit.

This module configures Django for itself
(``exercises/ex11_enqueue_on_commit/settings.py``):
run it in its own process, as ``python -m exercises run 11`` does. The task
backend runs each task the moment it is enqueued, as an idle worker would.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

SETTINGS = "exercises.ex11_enqueue_on_commit.settings"
os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS

import django  # noqa: E402
import pytest  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()
if (
    settings.SETTINGS_MODULE != SETTINGS
):  # pragma: no cover - only when run inside another Django setup
    raise RuntimeError(
        f"exercise 11 needs its own Django settings ({SETTINGS}); run `python -m "
        "exercises run 11`"
    )

from django.contrib.auth import get_user_model  # noqa: E402
from django.core import mail  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import IntegrityError, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from exercises.ex11_enqueue_on_commit import urls  # noqa: E402,F401  (imports the view under test now)
from exercises.support import explain  # noqa: E402

try:
    from django.tasks.signals import task_started  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from django_tasks.signals import task_started

setup_test_environment()
call_command("migrate", verbosity=0, run_syncdb=True)
User = get_user_model()


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    mail.outbox = []
    User.objects.all().delete()
    yield
    User.objects.all().delete()


@pytest.fixture
def ran_inside_a_transaction() -> Iterator[list[bool]]:
    """For each task that started: was the request's transaction still open at that
    moment?"""
    seen: list[bool] = []

    def record(sender: Any, **kwargs: Any) -> None:
        seen.append(connection.in_atomic_block)

    task_started.connect(record)
    yield seen
    task_started.disconnect(record)


def invite(*addresses: str) -> Any:
    return Client(raise_request_exception=False).post(
        "/invite/", {"email": list(addresses)}
    )


def failure(response: Any) -> str:
    exc = getattr(response, "exc_info", None)
    return f"{exc[0].__name__}: {exc[1]}" if exc else f"status {response.status_code}"


# --8<-- [start:rollback]
def test_a_rolled_back_request_sends_no_invitation() -> None:
    User.objects.create_user(username="taken@esg.example", email="taken@esg.example")
    # the second address is taken
    response = invite("new@esg.example", "taken@esg.example")
    exc = getattr(response, "exc_info", None)
    assert (
        response.status_code == 500
        and exc is not None
        and issubclass(exc[0], IntegrityError)
    ), explain(
        expected="the request to fail with IntegrityError on the taken address (and be "
        "rolled back)",
        got=failure(response),
        usually="the view fails for another reason: read the exception",
    )
    assert not User.objects.filter(username="new@esg.example").exists(), (
        "the rollback did not happen"
    )
    sent_to = [message.to for message in mail.outbox]
    assert sent_to == [], explain(
        expected="no email: the request was rolled back, so no account was created",
        got=f"invitations sent to {sent_to}, whose account does not exist",
        usually="the task is enqueued inside the transaction, and ran before the "
        "rollback. Enqueue it with transaction.on_commit(...): Django runs the "
        "callback after the commit, and drops it on a rollback",
    )
# --8<-- [end:rollback]


# --8<-- [start:commit]
def test_a_committed_request_sends_each_invitation_to_its_own_address_after_the_commit(
    ran_inside_a_transaction: list[bool],
) -> None:
    response = invite("ada@esg.example", "grace@esg.example")
    assert response.status_code == 200, explain(
        expected="status 200 for two free addresses",
        got=failure(response),
        usually="the view raises: read the exception",
    )
    sent_to = sorted(address for message in mail.outbox for address in message.to)
    assert sent_to == ["ada@esg.example", "grace@esg.example"], explain(
        expected="one invitation to ada@esg.example and one to grace@esg.example",
        got=f"invitations sent to {sent_to}",
        usually="nothing is enqueued once the transaction commits; or, if one address "
        "got both: the callback is a lambda that reads `user` when it runs, after the "
        "loop has moved on (bind the pk now, e.g. with functools.partial)",
    )
    assert ran_inside_a_transaction == [False, False], explain(
        expected="each task to start after the request's transaction committed",
        got="transaction still open when the tasks started: "
        f"{ran_inside_a_transaction}",
        usually="the task is enqueued inside the transaction: a worker thread (another "
        "database connection) could run it before the commit, find no account, and "
        "fail",
    )
# --8<-- [end:commit]


def test_a_request_with_no_address_enqueues_nothing() -> None:
    response = invite()
    assert response.status_code == 200 and mail.outbox == [], explain(
        expected="status 200 and no email for an empty list",
        got=f"{failure(response)}, {len(mail.outbox)} email(s)",
        usually="the view assumes at least one address",
    )
