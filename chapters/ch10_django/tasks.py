"""The chapter's tasks, declared with Django's Tasks API.

``@task()`` puts a task on the ``default`` queue, which ``TASKS`` maps to the
general pool; ``@task(queue_name="site")`` puts it on the site pool. The
declaration is validated when this module is imported: a queue the backend
does not have, or a ``run_after`` it cannot honour, fails at import (or at the
call that asks for it), never later in a worker. The arguments are JSON (ids
and strings), so the same tasks can move to a durable backend unchanged.
"""

from __future__ import annotations

from django.core.mail import send_mail
from django.utils import timezone

try:  # Django 6
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Django 5.2 with the django_tasks backport
    from django_tasks import task

from .models import Site


# --8<-- [start:tasks]
@task()
def send_registration_email(email: str, site_name: str) -> int:
    """Tell the owner their site is registered (light work: the general pool)."""
    return send_mail(
        f"Your site {site_name!r} is registered",
        f"We will email you when the analysis of {site_name!r} is ready.",
        None,
        [email],
    )


@task(queue_name="site")
def analyse_site(site_id: int) -> str:
    """Analyse one site (heavy work: the site pool). Reads the row the request wrote."""
    site = Site.objects.get(
        pk=site_id
    )  # Site.DoesNotExist if the row is not visible to this thread
    site.risk = (
        "high" if site.area_km2 > 100 else "low"
    )  # stands in for a 30-second Earth Engine call
    site.analysed_at = timezone.now()
    site.save(update_fields=["risk", "analysed_at"])
    return site.risk
    # --8<-- [end:tasks]


@task()
def count_sites() -> int:
    """A task that reads the database and nothing else: the connections experiment runs
    it."""
    return Site.objects.count()
