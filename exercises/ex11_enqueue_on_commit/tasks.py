"""The exercise's task: email a new member their invitation. Given; the exercise is the view that enqueues it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.mail import send_mail

try:
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    from django_tasks import task


@task()
def send_invitation(user_id: int) -> None:
    """Email the invitation to the user ``user_id``: the account must exist when the task runs."""
    user = get_user_model().objects.get(pk=user_id)
    send_mail(
        subject="You are invited to the ESG platform",
        message=f"Hello {user.username}, your account is ready. Set a password to sign in.",
        from_email="noreply@esg.example",
        recipient_list=[user.email],
    )
