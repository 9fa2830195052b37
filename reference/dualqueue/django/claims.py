"""``DatabaseClaims``: the lease that makes each tick of a periodic task run in exactly one process.

Every process of the server arms the same schedules (``DUALQUEUE["PERIODIC"]``) and computes the
same tick instants from the wall clock. At a tick each asks ``claim(name, tick, previous)``; the
answer is yes for exactly one of them, because the claim is one compare-and-set on the schedule's
row (``dualqueue.django.models.PeriodicClaim``)::

    UPDATE dualqueue_periodicclaim SET last_tick = <tick>, ... WHERE name = <name> AND last_tick = <what I read>

The database applies the two processes' UPDATEs one after the other; the second finds
``last_tick`` changed and updates nothing. That is portable (SQLite and PostgreSQL, no
``SELECT ... FOR UPDATE``, no advisory lock) and holds nothing between ticks: a process killed at
any instant leaves a row that the next tick's winner simply moves on, so no lease ever needs
releasing (the failure of a lease that is never released cannot happen here by construction).

**Skipped ticks are recorded.** The winner of tick ``t`` that finds the last tick run earlier than
``previous`` (the tick before ``t``: nobody ran it, because no process was alive or all were
stalled) adds the ticks in between to the row's ``skipped`` count; the status page shows it.
"""

from __future__ import annotations

import logging

from django.db import close_old_connections
from django.db.models import F, Q
from django.utils import timezone

from dualqueue import Claim
from dualqueue.periodic import skipped_between

from .results import this_process

__all__ = ["DatabaseClaims"]

logger = logging.getLogger("dualqueue.django.claims")

CAS_ATTEMPTS = 5  # another process moved the row to an *older* tick meanwhile: read again, try again


class DatabaseClaims:
    """Claims on ``dualqueue.django.models.PeriodicClaim`` rows, one per schedule name (the core's ``Claims``)."""

    def claim(self, name: str, tick: float, previous: float | None) -> Claim:
        """Run tick ``tick`` of ``name`` here? One conditional UPDATE; True for exactly one process per tick.

        It runs on the pool's clock thread, which keeps no connection between ticks: stale ones are
        closed before and after, as a task's are.
        """
        close_old_connections()
        try:
            return self._claim(name, tick, previous)
        finally:
            close_old_connections()

    def _claim(self, name: str, tick: float, previous: float | None) -> Claim:
        from .models import PeriodicClaim

        PeriodicClaim.objects.bulk_create([PeriodicClaim(name=name)], ignore_conflicts=True)
        me = this_process()
        for _ in range(CAS_ATTEMPTS):
            row = PeriodicClaim.objects.filter(name=name).values("last_tick", "skipped").first()
            if row is None:  # deleted meanwhile (an admin, a test): create it again
                PeriodicClaim.objects.bulk_create([PeriodicClaim(name=name)], ignore_conflicts=True)
                continue
            last = row["last_tick"]
            if last is not None and last >= tick:
                return Claim(False, last, row["skipped"])  # another process ran this tick (or a later one)
            skipped = skipped_between(last, tick, previous)
            unchanged = Q(last_tick__isnull=True) if last is None else Q(last_tick=last)
            won = PeriodicClaim.objects.filter(unchanged, name=name).update(
                last_tick=tick, skipped=F("skipped") + skipped, runs=F("runs") + 1, host=me.host, pid=me.pid,
                claimed_at=timezone.now(),
            )  # fmt: skip
            if won:
                if skipped:
                    logger.warning("dualqueue: periodic %r skipped %d tick(s) before %s: no process ran them",
                                   name, skipped, tick)  # fmt: skip
                return Claim(True, last, row["skipped"] + skipped)
        return Claim(False, None, 0)

    def state(self, name: str) -> dict[str, object] | None:
        """The row of ``name`` as the status shows it (last tick, runs, skipped, who ran it last), or None."""
        from .models import PeriodicClaim

        return (
            PeriodicClaim.objects.filter(name=name)
            .values("last_tick", "runs", "skipped", "host", "pid", "claimed_at")
            .first()
        )
