"""Nothing stays "running" forever: rows whose process is gone are marked lost.

Delivery is at most once: a worker process that dies (a crash, a deploy's SIGKILL, a drain that
ran out of time) takes its queued and running analyses with it, and their rows would say
``READY`` or ``RUNNING`` for good. Each row records the process that queued or runs it
(``Analysis.process``), and every process publishes whether it is alive
(``dualqueue.django.processes``). ``reconcile()`` marks as ``FAILED``, with the error type
``LostWithItsProcess``, every unfinished row whose process has exited or is gone, or whose
process has not been heard of at all for longer than ``UNHEARD_GRACE`` seconds after the row
was written. The pages show such a row as *lost*, with a re-run action.

A scheduled analysis (``run_after``) waiting ``READY`` is never lost with the process that
scheduled it: any process of the server runs it at its time, or the first one to start after it
(``dualqueue.django``'s deferred tasks), and claims the row then.

It runs where the rows are read (the site pages and the status page), so it needs no
scheduler; it is one query when nothing is unfinished. With a durable backend (``db_worker``)
the rows belong to those workers, which publish nothing here: then it does nothing.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from dualqueue.django import processes

from .models import LOST, Analysis

UNHEARD_GRACE = 60.0  # seconds: longer than any process takes to publish for the first time


def in_process_backend() -> bool:
    """True if analyses run on this server's own pools (dualqueue's backend), so their processes publish."""
    backend = str(getattr(settings, "TASKS", {}).get("default", {}).get("BACKEND", ""))
    return backend.startswith("dualqueue.")


def reconcile(rows: QuerySet[Analysis] | None = None) -> int:
    """Mark the unfinished rows (of ``rows``, default all) whose process is gone as lost; return how many."""
    if not in_process_backend():
        return 0
    unfinished = (rows if rows is not None else Analysis.objects.all()).filter(
        status__in=[Analysis.Status.READY, Analysis.Status.RUNNING]
    ).exclude(process="").exclude(status=Analysis.Status.READY, run_after__isnull=False)
    candidates = list(unfinished.values_list("pk", "process", "created", "status"))
    if not candidates:
        return 0
    states = processes.process_states()
    if states is None:  # publishing is off: nothing can tell
        return 0
    now = timezone.now()
    grace = datetime.timedelta(seconds=UNHEARD_GRACE)
    lost = 0
    for pk, key, created, status in candidates:
        state = states.get(key)
        if state == "live" or (state is None and now - created < grace):
            continue
        what = "queued" if status == Analysis.Status.READY else "running"
        error = {
            "type": LOST,
            "message": f"the worker process that had it {what} ({_pid(key)}) "
            f"{'shut down' if state == 'exited' else 'stopped'} before it finished; re-run it",
        }
        # Only if it is still unfinished: a worker may have finished it since we read it.
        lost += Analysis.objects.filter(pk=pk, status=status).update(
            status=Analysis.Status.FAILED, error=error, finished=now
        )
    return lost


def _pid(key: str) -> str:
    parts = key.rsplit("-", 2)
    return f"pid {parts[-2]}" if len(parts) == 3 else key
