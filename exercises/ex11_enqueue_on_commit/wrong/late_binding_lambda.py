"""Wrong: ``transaction.on_commit(lambda: send_invitation.enqueue(user.pk))`` in the loop.

Right for one address. The lambdas run after the commit, when the loop is
over, and each reads the variable ``user`` then: every invitation goes to
the last address.

Kind: logic
Caught by: test_a_committed_request_sends_each_invitation_to_its_own_address_after_the_commit
Message mentions: bind the pk now
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from exercises.ex11_enqueue_on_commit.tasks import send_invitation


@require_POST
def invite(request: HttpRequest) -> JsonResponse:
    """POST ``email=a@example.com&email=b@example.com``: create each account and email each an invitation."""
    user_model = get_user_model()
    invited = []
    for address in request.POST.getlist("email"):
        user = user_model.objects.create_user(username=address, email=address)  # IntegrityError if taken
        # partial binds this user's pk now; `lambda: send_invitation.enqueue(user.pk)` would read
        # `user` when the transaction commits, after the loop: every email to the last address.
        transaction.on_commit(lambda: send_invitation.enqueue(user.pk))  # noqa: B023  (the mistake this file keeps)
        invited.append(address)
    return JsonResponse({"invited": invited})
