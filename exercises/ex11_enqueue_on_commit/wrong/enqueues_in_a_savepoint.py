"""Wrong: each account and its invitation are wrapped in ``with transaction.atomic():``.

An atomic block inside the request's transaction is a savepoint, not a
commit: the task is still enqueued before the request commits, and sent
even if a later address rolls the whole request back.

Kind: logic
Caught by: test_a_rolled_back_request_sends_no_invitation
Message mentions: transaction.on_commit
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
        with transaction.atomic():
            user = user_model.objects.create_user(username=address, email=address)  # IntegrityError if taken
        send_invitation.enqueue(user.pk)
        invited.append(address)
    return JsonResponse({"invited": invited})
