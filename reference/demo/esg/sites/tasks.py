"""The site pool's task: run one analysis and write what happened to its ``Analysis`` row.

Declared with the Django Tasks API on the ``site`` queue, which the settings map to dualqueue's
site pool (10 threads): a slow analysis never delays an email on the general pool.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from dualqueue.django import report_progress

from . import earth_engine
from .models import Analysis, current_process

try:  # Django 6
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Django 5.2 with the django_tasks backport
    from django_tasks import task

Status = Analysis.Status


@task(queue_name="site")
def analyse_site(analysis_id: str) -> dict[str, Any]:
    """Analyse the site of ``analysis_id``; the row ends SUCCESSFUL with the result or FAILED with the error."""
    # READY -> RUNNING in one UPDATE: a run delivered twice (it cannot be here, but a durable
    # backend may redeliver) finds nothing to claim and stops.
    claimed = Analysis.objects.filter(pk=analysis_id, status=Status.READY).update(
        status=Status.RUNNING, started=timezone.now(), process=current_process()
    )
    if not claimed:
        raise LookupError(f"analysis {analysis_id} does not exist or is not waiting to run")
    analysis = Analysis.objects.select_related("site").get(pk=analysis_id)
    try:
        result = earth_engine.service().analyse(
            analysis.site.geometry, start=analysis.start.isoformat(), end=analysis.end.isoformat(),
            progress=report_progress,  # each step, on the result row: the site page shows a live bar
        )
    except Exception as exc:
        error = {"type": type(exc).__name__, "message": str(exc)[:500]}
        Analysis.objects.filter(pk=analysis_id).update(status=Status.FAILED, error=error, finished=timezone.now())
        raise
    Analysis.objects.filter(pk=analysis_id).update(status=Status.SUCCESSFUL, result=result, finished=timezone.now())
    return {"analysis_id": analysis_id, "mode": result["mode"], "expression_sha256": result["expression_sha256"]}


@task()
def reconcile_lost_analyses() -> int:
    """Mark analyses whose process is gone as lost; run every few minutes by ``DUALQUEUE["PERIODIC"]``.

    The pages reconcile what they show; this finds the rows nobody is looking at (a site whose
    owner has not come back), so the per-user limit and the status page's "to re-run" list are
    right without a visit. One process runs each tick (the claims), and it is one query when
    nothing is unfinished.
    """
    from .reconcile import reconcile

    return reconcile()
