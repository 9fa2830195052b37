"""The demo's management commands: ``seed_demo`` (idempotent) and a tiny ``flood`` that sends every email."""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path
from unittest import mock

from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.test import Client, TransactionTestCase, override_settings
from esg.sites.models import Analysis, Site


def run(*args: str, **options: object) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


class SeedDemoTests(TransactionTestCase):
    def setUp(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.var = Path(folder.name)
        override = override_settings(VAR_DIR=self.var)
        override.enable()
        self.addCleanup(override.disable)

    def test_seeding_twice_makes_one_staff_user_two_sites_and_keeps_the_password(self) -> None:
        with mock.patch.dict(os.environ, {}, clear=False):
            os.environ.pop("DEMO_ADMIN_PASSWORD", None)
            first = run("seed_demo")
            second = run("seed_demo")
        password = re.search(r"password:\s+(\S+)", first)
        assert password is not None
        self.assertIn(f"password:   {password.group(1)}", second)
        self.assertEqual((self.var / "admin-password.txt").stat().st_mode & 0o777, 0o600)
        admin = get_user_model().objects.get(username="admin")
        self.assertTrue(admin.is_staff and admin.is_superuser)
        self.assertTrue(Client().login(username="admin", password=password.group(1)))
        self.assertEqual(Site.objects.filter(owner=admin).count(), 2)
        self.assertIn("2 example site(s), 2 created now", first)
        self.assertIn("2 example site(s), 0 created now", second)

    def test_the_password_can_come_from_the_environment(self) -> None:
        with mock.patch.dict(os.environ, {"DEMO_ADMIN_PASSWORD": "from the environment 7"}):
            out = run("seed_demo")
        self.assertIn("(from DEMO_ADMIN_PASSWORD)", out)
        self.assertNotIn("from the environment 7", out)
        self.assertTrue(Client().login(username="admin", password="from the environment 7"))


class FloodTests(TransactionTestCase):
    def test_a_tiny_flood_sends_every_email_and_prints_the_table(self) -> None:
        out = run("flood", analyses=6, resets=4, simulated_seconds=0.05, interval=0.01, timeout=30)
        self.assertIn("analyses finished: 6/6; emails sent: 4/4", out)
        self.assertEqual(sorted(m.to[0] for m in mail.outbox), [f"flood-reset-{i}@example.com" for i in range(4)])
        header = next(line for line in out.splitlines() if "site backlog at submit" in line)
        for column in ("emails", "p50 ms", "p95 ms", "max ms"):
            self.assertIn(column, header)
        rows = [line.split() for line in out.splitlines()[out.splitlines().index(header) + 1 :] if line.strip()]
        self.assertEqual(rows[-1][0:2], ["all", "4"])
        self.assertEqual(sum(int(row[1]) for row in rows[:-1]), 4)  # every reset is in exactly one backlog row
        for row in rows:
            self.assertTrue(all(float(cell) >= 0 for cell in row[2:5]), row)
        dry_runs = Analysis.objects.filter(status=Analysis.Status.SUCCESSFUL, site__name="Flood test site")
        self.assertEqual(dry_runs.count(), 6)
        self.assertTrue(all(a.result["simulated_service_seconds"] == 0.05 for a in dry_runs))
