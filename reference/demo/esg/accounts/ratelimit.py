"""Fixed-window rate limits counted in the database: shared by every worker process, exact under concurrency.

``hit(key, limit, window)`` counts one hit on ``key`` and returns a ``Decision``: allowed while the
hits in this window are at most ``limit``, and how many seconds remain until the window ends
(the ``Retry-After`` of a refusal). ``allow(...)`` is the same as a bool.

A window is ``window`` seconds of wall-clock time (hour ``n`` is ``[n * 3600, (n + 1) * 3600)``):
simple and cheap, at the price of letting up to ``2 * limit`` hits through across a window
boundary. Each window of each key is one ``RateLimitBucket`` row, and a hit is one
``UPDATE ... SET hits = hits + 1`` (or the row's ``INSERT``) followed by a read of the count inside
the same transaction: the database serialises the increments, so two gunicorn workers cannot
both take the last slot, and every process counts against the same rows. (Django's cache API
would not do: ``incr`` is a read followed by a write in the database and file caches, and the
local-memory cache is one process's own.) Rows of past windows are deleted when a new one is
created.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import RateLimitBucket

__all__ = ["Decision", "allow", "hit", "key_for"]


class Decision(NamedTuple):
    allowed: bool
    retry_after: int  # seconds until this window ends


def key_for(kind: str, value: str) -> str:
    """A key for ``value`` (an email address, a user name, an IP): hashed, so any text makes a valid key."""
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'replace')).hexdigest()}"


def hit(key: str, limit: int, window: int, *, now: Callable[[], float] = time.time) -> Decision:
    """Count one hit on ``key``; allowed while the hits in this window are at most ``limit``."""
    moment = now()
    number = int(moment // window)
    bucket = f"{key}:{window}:{number}"
    ends = (number + 1) * window
    with transaction.atomic():
        counted = RateLimitBucket.objects.filter(key=bucket).update(hits=F("hits") + 1)
        if not counted:
            try:
                with transaction.atomic():  # a savepoint: a concurrent insert must not spoil the outer block
                    RateLimitBucket.objects.create(key=bucket, hits=1, expires=ends)
            except IntegrityError:  # another process created it first: count on its row
                RateLimitBucket.objects.filter(key=bucket).update(hits=F("hits") + 1)
            else:
                RateLimitBucket.objects.filter(expires__lte=moment).delete()
        hits = RateLimitBucket.objects.filter(key=bucket).values_list("hits", flat=True).get()
    return Decision(hits <= limit, max(1, math.ceil(ends - moment)))


def allow(key: str, limit: int, window: int, *, now: Callable[[], float] = time.time) -> bool:
    """Count one hit on ``key``; True while the hits in this window are at most ``limit``."""
    return hit(key, limit, window, now=now).allowed
