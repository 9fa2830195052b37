"""The database result store's table: one row per ``TaskResult`` (``DUALQUEUE["RESULT_STORE"] = "database"``).

Any process reads it, and it survives a restart. Each row names the process that holds the task
(host, pid and that pid's start identity, since pids are reused), so a row left ``READY`` or
``RUNNING`` by a process that has died can be told apart from one still running: see
``dualqueue.django.results.DatabaseResultStore.lost``.

A row with ``run_after`` is a deferred task: it waits ``READY`` for any process (one that is
running at its time, or the first one to start after it), which claims it with one conditional
``UPDATE`` (``READY`` -> ``RUNNING``) before running it, so exactly one process runs it. The
``progress_*`` columns hold what a running task last reported (``dualqueue.django.report_progress``).

``PeriodicClaim`` is the lease the processes share for periodic tasks: one row per schedule name
holding the last tick any process ran (see ``dualqueue.django.claims.DatabaseClaims``).
"""

from __future__ import annotations

from django.db import models


class TaskResultRecord(models.Model):
    """A ``TaskResult`` as the database keeps it; ``id`` orders rows by when they were first written."""

    id = models.BigAutoField(primary_key=True)
    result_id = models.CharField(max_length=64, unique=True)
    backend = models.CharField(max_length=100)
    task_path = models.CharField(max_length=255)
    queue_name = models.CharField(max_length=100)
    priority = models.IntegerField(default=0)
    takes_context = models.BooleanField(default=False)
    status = models.CharField(max_length=16)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    return_value = models.JSONField(null=True)
    errors = models.JSONField(default=list)  # [{"exception_class_path": ..., "traceback": ...}]
    worker_ids = models.JSONField(default=list)
    enqueued_at = models.DateTimeField(null=True)
    started_at = models.DateTimeField(null=True)
    last_attempted_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    process_start = models.CharField(max_length=64)  # the pid's start identity: pids are reused
    run_after = models.DateTimeField(null=True)  # a deferred task: not to run before this instant
    progress_current = models.FloatField(null=True)
    progress_total = models.FloatField(null=True)
    progress_message = models.CharField(max_length=200, blank=True, default="")
    progress_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "dualqueue"
        indexes = [  # noqa: RUF012
            models.Index(fields=["backend", "id"], name="dualqueue_result_backend_id"),
            models.Index(fields=["status"], name="dualqueue_result_status"),
            models.Index(fields=["status", "run_after"], name="dualqueue_result_deferred"),
        ]

    def __str__(self) -> str:
        return f"{self.task_path} {self.result_id} {self.status}"


class PeriodicClaim(models.Model):
    """The last tick of one periodic schedule that any process ran: the lease that makes each tick run once.

    ``last_tick`` is the tick's wall-clock instant (seconds since the epoch, a float: every process
    computes the same ticks from the schedule). A process runs tick ``t`` only if its conditional
    ``UPDATE ... WHERE last_tick = <what it read>`` changed the row; ``skipped`` counts the ticks
    nobody ran (no process alive, or all stalled) as the winner of the next tick found them.
    """

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=200, unique=True)
    last_tick = models.FloatField(null=True)
    skipped = models.BigIntegerField(default=0)
    runs = models.BigIntegerField(default=0)
    host = models.CharField(max_length=255, blank=True, default="")
    pid = models.IntegerField(null=True)
    claimed_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "dualqueue"

    def __str__(self) -> str:
        return f"{self.name} last tick {self.last_tick}"
