"""Login and password reset: the email leaves from the general pool, once, on commit; the answer
is the same for every address; and the rate limits hold for known and unknown addresses alike."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core import mail
from django.db import transaction
from django.test import Client, RequestFactory, TransactionTestCase, override_settings
from django.test.signals import template_rendered
from dualqueue.django import registry
from dualqueue.django.compat import TaskResult, task_finished
from esg.accounts.forms import QueuedPasswordResetForm

from .support import DEADLOCK, make_user

RESET = "/accounts/password-reset/"
LINK = re.compile(r"http://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)")


@contextmanager
def rendered_templates() -> Iterator[list[str]]:
    names: list[str] = []

    def record(sender: Any, template: Any, context: Any, **kwargs: Any) -> None:
        names.append(template.name)

    template_rendered.connect(record)
    try:
        yield names
    finally:
        template_rendered.disconnect(record)


@contextmanager
def finished_tasks() -> Iterator[list[TaskResult[Any]]]:
    results: list[TaskResult[Any]] = []

    def record(sender: Any, task_result: TaskResult[Any], **kwargs: Any) -> None:
        results.append(task_result)

    task_finished.connect(record)
    try:
        yield results
    finally:
        task_finished.disconnect(record)


class PasswordResetTests(TransactionTestCase):
    """Through the real view, form, task and pool (TransactionTestCase: workers see committed rows)."""

    def setUp(self) -> None:
        self.ada = make_user("ada")

    def reset(self, email: str, client: Client | None = None, **extra: Any) -> Any:
        return (client or Client()).post(RESET, {"email": email}, **extra)

    def test_a_known_address_gets_exactly_one_email_sent_from_the_general_pool(self) -> None:
        with finished_tasks() as finished:
            response = self.reset("ada@example.com")
            self.assertTrue(registry.join(DEADLOCK))
        self.assertRedirects(response, "/accounts/password-reset/done/")
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["ada@example.com"])
        self.assertEqual(mail.outbox[0].subject, "Reset your password on testserver")
        [task_result] = finished
        self.assertEqual(task_result.task.module_path, "esg.accounts.tasks.send_email")
        self.assertRegex(task_result.worker_ids[0], r":dualqueue-general-\d+$")

    def test_the_link_in_the_email_sets_a_new_password(self) -> None:
        self.reset("ada@example.com")
        self.assertTrue(registry.join(DEADLOCK))
        link = LINK.search(mail.outbox[0].body)
        self.assertIsNotNone(link, mail.outbox[0].body)
        assert link is not None
        browser = Client()
        form_page = browser.get(link.group(1), follow=True)
        self.assertContains(form_page, "Set a new password")
        new = "a much better passphrase 42"
        done = browser.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
        self.assertRedirects(done, "/accounts/reset/done/")
        self.assertTrue(Client().login(username="ada", password=new))
        self.assertContains(browser.get(link.group(1), follow=True), "This link does not work")  # used once

    def test_an_unknown_address_gets_no_email_and_the_identical_answer(self) -> None:
        with rendered_templates() as known_templates:
            known = self.reset("ada@example.com")
        with rendered_templates() as unknown_templates:
            unknown = self.reset("nobody@example.com")
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual([m.to for m in mail.outbox], [["ada@example.com"]])
        self.assertEqual(
            (unknown.status_code, unknown.headers["Location"], unknown.content),
            (known.status_code, known.headers["Location"], known.content),
        )
        # The same work on the way: the email's subject and body are rendered for the stand-in too.
        self.assertEqual(unknown_templates, known_templates)
        self.assertIn("accounts/password_reset_email.txt", unknown_templates)

    def test_an_inactive_account_is_treated_like_an_unknown_address(self) -> None:
        make_user("eve", is_active=False)
        self.assertRedirects(self.reset("eve@example.com"), "/accounts/password-reset/done/")
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(mail.outbox, [])

    def test_a_rolled_back_transaction_sends_nothing(self) -> None:
        request = RequestFactory().post(RESET)
        form = QueuedPasswordResetForm({"email": "ada@example.com"})
        self.assertTrue(form.is_valid())
        with self.assertRaises(RuntimeError), transaction.atomic():
            form.save(request=request)
            raise RuntimeError("the request failed after the form was saved")
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(mail.outbox, [])
        # The same call, committed, does send: the test above could have failed.
        with transaction.atomic():
            form.save(request=request)
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(len(mail.outbox), 1)

    @override_settings(PASSWORD_RESET_LIMITS={"per_email": (2, 3600), "per_ip": (100, 3600)})
    def test_the_per_address_limit_answers_429_alike_for_known_and_unknown(self) -> None:
        answers = {}
        for email in ("ada@example.com", "nobody@example.com"):
            codes = [self.reset(email).status_code for _ in range(3)]
            self.assertEqual(codes, [302, 302, 429], email)
            answers[email] = self.reset(email)
        self.assertEqual(answers["ada@example.com"].status_code, 429)
        self.assertEqual(answers["ada@example.com"].content, answers["nobody@example.com"].content)
        self.assertContains(answers["nobody@example.com"], "Too many reset requests", status_code=429)
        self.assertEqual(self.reset("ADA@example.com").status_code, 429)  # the same address, however it is cased
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(len(mail.outbox), 2)

    @override_settings(PASSWORD_RESET_LIMITS={"per_email": (100, 3600), "per_ip": (3, 3600)})
    def test_the_per_ip_limit_counts_every_address_and_spares_other_clients(self) -> None:
        codes = [self.reset(f"user{i}@example.com", REMOTE_ADDR="203.0.113.7").status_code for i in range(4)]
        self.assertEqual(codes, [302, 302, 302, 429])
        self.assertEqual(self.reset("not an email", REMOTE_ADDR="203.0.113.7").status_code, 429)
        self.assertEqual(self.reset("user9@example.com", REMOTE_ADDR="203.0.113.8").status_code, 302)


class LoginTests(TransactionTestCase):
    def test_the_login_form_logs_in_and_the_reset_page_renders(self) -> None:
        make_user("ada", password="correct horse battery staple")
        client = Client()
        self.assertContains(client.get("/accounts/login/"), "Forgot your password?")
        response = client.post("/accounts/login/", {"username": "ada", "password": "correct horse battery staple"})
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        self.assertContains(client.get("/"), "Your sites")
        self.assertContains(Client().get(RESET), "Reset your password")
