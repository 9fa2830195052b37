"""Registering a site: a view that enqueues on commit, and its broken twin that enqueues
at once.

Both create the ``Site`` row inside a transaction, queue its analysis and the
owner's email, and then check the owner's quota, which can still roll the
transaction back. That order (write, then check) is ordinary: the count that
decides includes the row just written. It is also the order in which the twin
goes wrong: its tasks are already queued when the rollback happens, and they
run anyway.
"""

from __future__ import annotations

import functools

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Site
from .tasks import analyse_site, send_registration_email

MAX_SITES_PER_OWNER = 2


class QuotaExceeded(Exception):
    pass


def check_quota(email: str) -> None:
    if Site.objects.filter(owner_email=email).count() > MAX_SITES_PER_OWNER:
        raise QuotaExceeded(f"{email} already has {MAX_SITES_PER_OWNER} sites")


# --8<-- [start:broken-twin]
@csrf_exempt
@require_POST
def register_site_enqueue_now(request: HttpRequest) -> JsonResponse:
    """The bug: the tasks are queued inside the transaction, before anyone knows it will
    commit."""
    email, name = request.POST["email"], request.POST["name"]
    try:
        with transaction.atomic():
            site = Site.objects.create(
                name=name, owner_email=email, area_km2=float(request.POST["area_km2"])
            )
            analyse_site.enqueue(
                site.pk
            )  # a worker may run it before the commit, or after a rollback
            send_registration_email.enqueue(email, name)
            check_quota(email)  # raises: the row is rolled back, the tasks are not
    except QuotaExceeded as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse({"site": site.pk}, status=202)
    # --8<-- [end:broken-twin]


# --8<-- [start:on-commit]
@csrf_exempt
@require_POST
def register_site(request: HttpRequest) -> JsonResponse:
    """The fix: the tasks are queued by ``on_commit``, so only a committed row gets
    them."""
    email, name = request.POST["email"], request.POST["name"]
    try:
        with transaction.atomic():
            site = Site.objects.create(
                name=name, owner_email=email, area_km2=float(request.POST["area_km2"])
            )
            transaction.on_commit(functools.partial(analyse_site.enqueue, site.pk))
            transaction.on_commit(
                functools.partial(send_registration_email.enqueue, email, name)
            )
            check_quota(
                email
            )  # raises: the row is rolled back and the callbacks are discarded with it
    except QuotaExceeded as exc:
        return JsonResponse({"error": str(exc)}, status=409)
    return JsonResponse({"site": site.pk}, status=202)
    # --8<-- [end:on-commit]
