"""Admission control: how much unfinished background work one user may have, and what a full queue answers.

Two bounds keep one user (or a script with one account) from owning the pools:

* **Per user**, counted in the database: ``admit(user, unfinished, limit=..., what=...)`` runs inside
  ``transaction.atomic()`` before the new row is written. It locks the user's row first, so two
  requests of the same user, in any two gunicorn worker processes, are counted one after the
  other (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the demo's ``IMMEDIATE``
  transactions already serialise writers), then counts the user's unfinished rows. At the limit
  the answer is ``429`` with ``Retry-After`` and nothing is written.
* **Per pool**, in memory: the ``DUALQUEUE["MAXSIZE"]`` bound. ``enqueue(task, *args)`` turns the
  core's ``QueueFullError`` (and a ``PoolClosedError`` during a shutdown) into ``503`` with
  ``Retry-After``; the caller deletes the row it wrote, so a refused request stores nothing.

Both answers are ``ApiError``s, so a JSON view returns them as ``{"error": ...}`` with the header,
and an HTML view can show the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from dualqueue import PoolClosedError, QueueFullError

from esg.jsonapi import ApiError

__all__ = ["BUSY_RETRY_AFTER", "admit", "enqueue"]

BUSY_RETRY_AFTER = 30  # seconds: about one analysis; a client that waits this long finds room again


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
