"""Django's own login and password-reset views, with the demo's templates, a login throttle and two changes to reset.

* Login POSTs are throttled per user name and per client address (``esg.accounts.throttle``).
* The form is ``QueuedPasswordResetForm``: the email goes out from the general pool, and its
  link points at ``PUBLIC_URL`` (never at the request's ``Host``).
* Rate limits (``PASSWORD_RESET_LIMITS``, per hour by default): every POST counts against the
  client's IP address, every well-formed one also against the address asked for. Over either
  limit the answer is ``429`` with ``Retry-After`` and the same page whether the address has an
  account or not. The counts are in the database (``esg.accounts.ratelimit``), shared by every
  worker process.
  The client's IP is ``REMOTE_ADDR``: behind a reverse proxy, set it from the proxy's header in
  the proxy or a middleware you trust, never from a header any client can send.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse_lazy

from esg.jsonapi import setting

from . import ratelimit, throttle
from .forms import EMAIL_TEMPLATE, SUBJECT_TEMPLATE, QueuedPasswordResetForm

DEFAULT_LIMITS = {"per_email": (5, 3600), "per_ip": (20, 3600)}


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = throttle.refuse_login(request)
        return refused if refused is not None else super().post(request, *args, **kwargs)


class LogoutView(auth_views.LogoutView):
    next_page = "/"


class PasswordResetView(auth_views.PasswordResetView):
    form_class = QueuedPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = EMAIL_TEMPLATE
    subject_template_name = SUBJECT_TEMPLATE
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        form = self.get_form()
        valid = form.is_valid()
        limits = {**DEFAULT_LIMITS, **setting("PASSWORD_RESET_LIMITS", {})}
        ip = request.META.get("REMOTE_ADDR") or "unknown"
        decisions = [ratelimit.hit(ratelimit.key_for("reset-ip", ip), *limits["per_ip"])]
        if valid:
            email = form.cleaned_data["email"].strip().lower()
            decisions.append(ratelimit.hit(ratelimit.key_for("reset-email", email), *limits["per_email"]))
        refused = [d.retry_after for d in decisions if not d.allowed]
        if refused:
            response = render(request, "accounts/password_reset_limited.html", status=429)
            response["Retry-After"] = str(max(refused))
            return response
        return self.form_valid(form) if valid else self.form_invalid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
