"""Invite new members: one account per address, and an invitation email for each.

Exercise 11. The request runs in one transaction (ATOMIC_REQUESTS): if any
address fails, every account it created is rolled back. The invitations are
enqueued at once, inside the transaction, so a rolled-back request has already
emailed people whose accounts do not exist. Enqueue them only once the
transaction commits (see README.md).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from exercises.ex11_enqueue_on_commit.tasks import send_invitation


# --8<-- [start:invite]
@require_POST
def invite(request: HttpRequest) -> JsonResponse:
    """POST ``email=a@example.com&email=b@example.com``: create each account and email
    each an invitation."""
    user_model = get_user_model()
    invited = []
    for address in request.POST.getlist("email"):
        # IntegrityError if taken
        user = user_model.objects.create_user(username=address, email=address)
        # TODO: the transaction is still open here; it may yet be rolled back.
        send_invitation.enqueue(user.pk)
        invited.append(address)
    return JsonResponse({"invited": invited})
# --8<-- [end:invite]
