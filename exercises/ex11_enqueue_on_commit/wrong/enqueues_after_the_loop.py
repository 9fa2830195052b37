"""Wrong: the invitations are enqueued after the loop, once every account was created.

"Only enqueue when everything succeeded" is the right idea in the wrong
place: the request's transaction is still open until the view returns, so a
worker can run the task before the commit, and find no account.

Kind: race
Caught by: test_a_committed_request_sends_each_invitation_to_its_own_address_after_the_commit
Message mentions: enqueued inside the transaction
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from exercises.ex11_enqueue_on_commit.tasks import send_invitation


@require_POST
def invite(request: HttpRequest) -> JsonResponse:
    """POST ``email=a@example.com&email=b@example.com``: create each account and email each an invitation."""
    user_model = get_user_model()
    invited = []
    users = []
    for address in request.POST.getlist("email"):
        users.append(user_model.objects.create_user(username=address, email=address))  # IntegrityError if taken
        invited.append(address)
    for user in users:  # every account was created: now send the invitations
        send_invitation.enqueue(user.pk)
    return JsonResponse({"invited": invited})
