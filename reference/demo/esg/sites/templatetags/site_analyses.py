"""``{% analyses_needing_attention %}``: lost and failed analyses with a re-run button, for the status page."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from esg.sites.models import Analysis
from esg.sites.reconcile import reconcile

register = template.Library()
SHOWN = 20


@register.inclusion_tag("sites/_attention.html", takes_context=True)
def analyses_needing_attention(context: dict[str, Any]) -> dict[str, Any]:
    """The most recent failed or lost analyses of every user (the status page is for staff), reconciled first."""
    reconcile()
    failed = Analysis.objects.filter(status=Analysis.Status.FAILED).select_related("site", "site__owner")
    return {
        "analyses": list(failed[:SHOWN]),
        "csrf_token": context.get("csrf_token"),
        "next": context.get("next") or reverse("dualqueue:status-page"),
    }
