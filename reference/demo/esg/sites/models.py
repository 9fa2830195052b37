"""Sites and their analyses: a site is a named polygon owned by one user; an analysis is one run on it.

``Analysis`` is the durable record of a run, keyed by the id the API hands out as ``result_id``.
It says which site the run belongs to (so ``/sites/<id>/analyses/<result_id>/`` can refuse a
result that belongs to another site or another user) and holds the status, result or error that
the task writes. The row, not the task backend's memory, is what the status endpoint reads: it is
the same in every process (gunicorn runs several) and survives a restart. A run lost in a crash
(at-most-once delivery) would stay ``READY`` or ``RUNNING``: each row records the process that
queued or runs it, and ``esg.sites.reconcile`` marks the rows of a process that is gone as failed
with a ``LostWithItsProcess`` error (shown as *lost*, with a re-run action). ``task_result_id``
links a row to the task system's status page.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


def current_process() -> str:
    """The identity of the process that creates or claims a row (host, pid, start token)."""
    from dualqueue.django import processes

    return processes.identity().key


class Site(models.Model):
    """A place the platform reports on: a validated GeoJSON Polygon (see ``esg.sites.geojson``)."""

    name = models.CharField(max_length=200)
    geometry = models.JSONField(help_text="GeoJSON Polygon, validated and normalised on the way in")
    area_km2 = models.FloatField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sites")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created", "-id")

    def __str__(self) -> str:
        return self.name


class Analysis(models.Model):
    """One Earth Engine analysis of a site; its id is the ``result_id`` clients poll."""

    class Status(models.TextChoices):
        # Django Tasks' status names, so the two pictures read alike.
        READY = "READY"
        RUNNING = "RUNNING"
        SUCCESSFUL = "SUCCESSFUL"
        FAILED = "FAILED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="analyses")
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.READY)
    task_result_id = models.CharField(max_length=64, blank=True, help_text="the Django Tasks result id")
    result = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True, help_text='{"type": ..., "message": ...}; never a traceback')
    created = models.DateTimeField(auto_now_add=True)
    process = models.CharField(
        max_length=200, blank=True, default=current_process,
        help_text="the process that queued or runs it; a row whose process is gone is reconciled as lost",
    )
    run_after = models.DateTimeField(
        null=True, blank=True,
        help_text="a scheduled analysis: not to start before this (it waits for any process: never lost with its own)",
    )
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created",)
        verbose_name_plural = "analyses"

    def __str__(self) -> str:
        return f"analysis {self.id} of {self.site_id} ({self.status})"

    @property
    def scheduled(self) -> bool:
        """True while a scheduled analysis waits for its time (``READY`` with a ``run_after``)."""
        return self.status == self.Status.READY and self.run_after is not None

    @property
    def lost(self) -> bool:
        """True if the process that had it stopped before it finished (see ``esg.sites.reconcile``)."""
        return self.status == self.Status.FAILED and (self.error or {}).get("type") == LOST


LOST = "LostWithItsProcess"
