"""The database result store's table: one row per ``TaskResult`` (``DUALQUEUE["RESULT_STORE"] = "database"``).

Any process reads it, and it survives a restart. Each row names the process that holds the task
(host, pid and that pid's start identity, since pids are reused), so a row left ``READY`` or
``RUNNING`` by a process that has died can be told apart from one still running: see
``dualqueue.django.results.DatabaseResultStore.lost``.
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

    class Meta:
        app_label = "dualqueue"
        indexes = [  # noqa: RUF012
            models.Index(fields=["backend", "id"], name="dualqueue_result_backend_id"),
            models.Index(fields=["status"], name="dualqueue_result_status"),
        ]

    def __str__(self) -> str:
        return f"{self.task_path} {self.result_id} {self.status}"
