"""The general pool's task: send one email through Django's email backends.

Declared with ``@task()``: the ``default`` queue, which the settings map to dualqueue's general
pool (2 threads), so a password-reset email never waits behind a site analysis. The message is
rendered by the request (``esg.accounts.forms``) and sent here with whatever ``EMAIL_BACKEND`` is
configured: the console by default, SMTP when ``EMAIL_HOST`` and ``EMAIL_PORT`` are set.
"""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives

try:  # Django 6
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Django 5.2 with the django_tasks backport
    from django_tasks import task


@task()
def send_email(
    subject: str, body: str, from_email: str | None, recipients: list[str], html_body: str | None = None
) -> int:
    """Send one message; returns how many were sent (1). A backend error fails the task, visibly."""
    message = EmailMultiAlternatives(subject, body, from_email, recipients)
    if html_body is not None:
        message.attach_alternative(html_body, "text/html")
    return message.send()
