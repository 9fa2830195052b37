"""Fixed-window rate limits in Django's cache: ``allow(key, limit, window)`` counts a hit and says yes or no.

A window is ``window`` seconds of wall-clock time (hour ``n`` is ``[n * 3600, (n + 1) * 3600)``):
simple and cheap, at the price of letting up to ``2 * limit`` hits through across a window
boundary. The count is ``cache.add`` then ``cache.incr``, both atomic in the local-memory,
Memcached, Redis and database caches, so concurrent requests cannot both take the last slot.
The counts are only as shared as the cache is: the demo's ``LocMemCache`` is per process.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from django.core.cache import cache

__all__ = ["allow", "key_for"]


def key_for(kind: str, value: str) -> str:
    """A cache key for ``value`` (an email address or an IP): hashed, so any text makes a valid key."""
    return f"ratelimit:{kind}:{hashlib.sha256(value.encode('utf-8')).hexdigest()}"


def allow(key: str, limit: int, window: int, *, now: Callable[[], float] = time.time) -> bool:
    """Count one hit on ``key``; True while the hits in this window are at most ``limit``."""
    bucket = f"{key}:{window}:{int(now() // window)}"
    cache.add(bucket, 0, timeout=window)
    try:
        hits = cache.incr(bucket)
    except ValueError:  # evicted between add and incr: this hit starts the count again
        cache.set(bucket, 1, timeout=window)
        hits = 1
    return hits <= limit
