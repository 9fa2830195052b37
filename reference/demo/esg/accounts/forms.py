"""Password reset that sends its email from the general pool, and answers the same for every address.

``QueuedPasswordResetForm`` is Django's ``PasswordResetForm`` with three changes:

* The link in the email goes to ``PUBLIC_URL`` (the ``DEMO_PUBLIC_URL`` setting), never to the
  host the request named.
* ``send_mail`` renders the message in the request (Django's templates, Django's token) and
  enqueues ``send_email`` with the rendered subject, body and recipient, on commit: if the
  request's transaction rolls back, nothing is sent. The request never waits for SMTP.
* **No account enumeration.** For an address with no active account, Django's form does no work
  at all, which a stopwatch can tell apart from the work of generating a token and rendering
  two templates. Here ``get_users`` yields a stand-in user for such an address, so both cases
  take the same path through ``save`` (token, context, both templates rendered); only the last
  step differs: the stand-in's message is dropped instead of enqueued.

  What still differs, honestly: the known path registers an on-commit callback and puts one
  item on a queue (microseconds), the database returns a row instead of none, and several
  accounts sharing one address render one message each. The response itself (status, headers,
  body, redirect) is identical, and the email is sent off the request path either way.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.db import transaction
from django.template import loader

from .tasks import send_email

logger = logging.getLogger("esg.accounts")


def public_url() -> SplitResult:
    """``settings.PUBLIC_URL`` (``DEMO_PUBLIC_URL``), split: where the site's links point."""
    return urlsplit(settings.PUBLIC_URL)


class _StandIn:
    """Marks the unsaved user built for an address that has no account."""


SUBJECT_TEMPLATE = "accounts/password_reset_subject.txt"
EMAIL_TEMPLATE = "accounts/password_reset_email.txt"


class QueuedPasswordResetForm(PasswordResetForm):
    def save(  # type: ignore[override]
        self, *, subject_template_name: str = SUBJECT_TEMPLATE, email_template_name: str = EMAIL_TEMPLATE, **kwargs: Any
    ) -> None:
        """Django's ``save`` with the demo's templates, and the link's domain and scheme from ``PUBLIC_URL``.

        Django's form takes the domain from the request's ``Host`` unless it is overridden: with
        several names in ``ALLOWED_HOSTS`` (or a wildcard), a client could choose the host that
        the emailed link, and its token, go to. Here whatever the view passed is replaced.
        """
        public = public_url()
        kwargs["domain_override"] = public.netloc
        kwargs["use_https"] = public.scheme == "https"
        super().save(subject_template_name=subject_template_name, email_template_name=email_template_name, **kwargs)

    def get_users(self, email: str) -> Iterator[Any]:
        found = False
        for user in super().get_users(email):
            found = True
            yield user
        if not found:
            user_model = get_user_model()
            stand_in = user_model(**{user_model.get_email_field_name(): email, "password": "!"})
            stand_in._reset_stand_in = _StandIn  # type: ignore[attr-defined]
            yield stand_in

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        # Rendered as Django's own send_mail renders it; the subject must be one line.
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        html = None
        if html_email_template_name is not None:
            html = loader.render_to_string(html_email_template_name, context)
        if getattr(context["user"], "_reset_stand_in", None) is _StandIn:
            return  # an address without an account: the same work, nothing sent
        transaction.on_commit(functools.partial(_enqueue, subject, body, from_email, [to_email], html))


def _enqueue(subject: str, body: str, from_email: str | None, recipients: list[str], html: str | None) -> None:
    # A refused enqueue (a closed or full pool, already counted there) must not turn into a 500:
    # that would tell the client the address has an account.
    try:
        send_email.enqueue(subject, body, from_email, recipients, html)
    except Exception:
        logger.exception("password reset email was not queued")
