"""Invite new members: one account per address, and an invitation email for each.

Exercise 11, solved. The request runs in one transaction (ATOMIC_REQUESTS). Each
invitation is handed to ``transaction.on_commit``: Django enqueues it after the
transaction commits, and forgets it if the transaction rolls back. So a failed
request emails nobody, and no worker can run the task before the account it
needs is visible to other connections.
"""

from __future__ import annotations

from functools import partial

from django.contrib.auth import get_user_model
from django.db import transaction
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
        # partial binds this user's pk now; `lambda: send_invitation.enqueue(user.pk)`
        # would read `user` when the transaction commits, after the loop: every email to
        # the last address.
        transaction.on_commit(partial(send_invitation.enqueue, user.pk))
        invited.append(address)
    return JsonResponse({"invited": invited})
# --8<-- [end:invite]
