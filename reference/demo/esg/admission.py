"""Admission control: how much unfinished background work one user may have, and what a full queue answers.

Two bounds keep one user (or a script with one account) from owning the pools:

* **Per user**, counted in the database: ``admit(user, unfinished, limit=..., what=...)`` runs inside
  ``transaction.atomic()`` before the new row is written. It locks the user's row first, so two
  requests of the same user, in any two gunicorn worker processes, are counted one after the
  other (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the demo's ``IMMEDIATE``
  transactions already serialise writers), then counts the user's unfinished rows of the last
  hour (``counted_since``: older ones were lost to a crash). At the limit the answer is ``429``
  with ``Retry-After`` and nothing is written.
* **Per pool**, in memory: the ``DUALQUEUE["MAXSIZE"]`` bound. ``enqueue(task, *args)`` turns the
  core's ``QueueFullError`` (and a ``PoolClosedError`` during a shutdown) into ``503`` with
  ``Retry-After``; the caller deletes the row it wrote, so a refused request stores nothing.

Both answers are ``ApiError``s, so a JSON view returns them as ``{"error": ...}`` with the header,
and an HTML view can show the same message.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from dualqueue import PoolClosedError, QueueFullError

from esg.jsonapi import ApiError

__all__ = ["BUSY_RETRY_AFTER", "admit", "counted_since", "enqueue"]

BUSY_RETRY_AFTER = 30  # seconds: about one analysis; a client that waits this long finds room again
STALE_AFTER = 3600.0  # seconds: unfinished work older than this is lost (a crash), not waiting


def counted_since() -> datetime.datetime:
    """Unfinished rows created before this moment no longer count against their owner.

    Delivery is at-most-once: a crash or a deploy that drops queued work leaves its rows unfinished
    for ever (the SIGTERM test shows them). Without this cut-off, a user whose analyses were
    dropped would stay at their limit. ``UNFINISHED_STALE_SECONDS`` (an hour by default) is far
    longer than a full site queue takes to drain (200 waiting, 10 workers).
    """
    seconds = float(getattr(settings, "UNFINISHED_STALE_SECONDS", STALE_AFTER))
    return timezone.now() - datetime.timedelta(seconds=seconds)


def admit(user: Any, unfinished: Callable[[], int], *, limit: int, what: str, retry_after: int) -> None:
    """Refuse (429) if ``user`` already has ``limit`` unfinished ``what``; call inside ``transaction.atomic()``.

    ``unfinished()`` counts them in the database, after the user's row is locked: the count and
    the insert that follows it are one step for every process.
    """
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    if limit <= 0:
        raise ApiError(429, f"new {what} are switched off here", retry_after=retry_after)
    count = unfinished()
    if count >= limit:
        raise ApiError(
            429,
            f"you already have {count} {what} waiting or running (the limit is {limit}); "
            f"try again when one has finished",
            retry_after=retry_after,
        )


def enqueue(task: Any, *args: Any) -> Any:
    """``task.enqueue(*args)``, or ``ApiError(503)`` with ``Retry-After`` if its pool is full or closed."""
    try:
        return task.enqueue(*args)
    except QueueFullError:
        raise ApiError(
            503, "the server has too much work queued right now; nothing was saved, try again later",
            retry_after=BUSY_RETRY_AFTER,
        ) from None
    except PoolClosedError:
        raise ApiError(
            503, "the server is restarting; nothing was saved, try again in a moment", retry_after=BUSY_RETRY_AFTER
        ) from None
