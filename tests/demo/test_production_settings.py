"""Production defaults (issue 13): DEBUG off unless asked for, no built-in key without DEBUG, a clean
``check --deploy`` under the documented environment, throttled logins, shared rate limits, and reset
links that go where the settings say, whatever Host the request named.

The settings themselves are read in fresh interpreters (``demo.settings`` decides at import), with
nothing from this process's environment but ``PATH``: exactly what an operator's shell gives them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client, TransactionTestCase, override_settings
from dualqueue.django import registry

from .support import DEADLOCK, make_user

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "reference" / "demo"
PRODUCTION_ENV = DEMO / "production.env"


def production_env() -> dict[str, str]:
    """The variables of ``reference/demo/production.env`` (``NAME=value`` lines; ``#`` comments)."""
    pairs = (line.split("=", 1) for line in PRODUCTION_ENV.read_text().splitlines() if line and line[0] != "#")
    return {name.strip(): value.strip() for name, value in pairs}


def run_demo(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(DEMO), str(REPO)]),
        "DJANGO_SETTINGS_MODULE": "demo.settings",
        "DEMO_VAR_DIR": str(tmp_path),
        "NO_GCE_CHECK": "true",
    }
    return subprocess.run(
        [sys.executable, *args], cwd=DEMO, env={**base, **env}, capture_output=True, text=True, timeout=120,
        check=False,
    )


SHOW = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SECRET_KEY[:8], s.PUBLIC_URL)"
)
BUILT_IN_KEY = "dualqueue-demo-insecure-key-for-local-use-only-0123456789"


def test_debug_is_off_by_default(tmp_path: Path) -> None:
    done = run_demo(["-c", SHOW], {"DJANGO_SECRET_KEY": "k" * 60}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "False"


def test_the_demo_refuses_to_start_with_the_built_in_key_when_debug_is_off(tmp_path: Path) -> None:
    for env in ({}, {"DJANGO_SECRET_KEY": ""}, {"DJANGO_SECRET_KEY": BUILT_IN_KEY}):
        done = run_demo(["manage.py", "check"], env, tmp_path)
        assert done.returncode != 0, f"started with {env}"
        assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set and DEBUG is off" in done.stderr, done.stderr
        assert "secrets.token_urlsafe(50)" in done.stderr


def test_debug_on_asks_for_nothing_more(tmp_path: Path) -> None:
    done = run_demo(["-c", SHOW], {"DJANGO_DEBUG": "1"}, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "dualqueu", "http://localhost:8000"]


def test_check_deploy_is_clean_under_the_documented_production_environment(tmp_path: Path) -> None:
    done = run_demo(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(), tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr


def test_check_deploy_does_fail_when_a_production_setting_is_missing(tmp_path: Path) -> None:
    # The check above could pass by checking nothing: here plain HTTP is asked for, and it says so.
    plain_http = {**production_env(), "DJANGO_HTTPS": "0"}
    done = run_demo(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], plain_http, tmp_path)
    assert done.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in done.stderr + done.stdout, check


def test_a_bad_public_url_is_refused_at_start(tmp_path: Path) -> None:
    done = run_demo(["-c", SHOW], {"DJANGO_DEBUG": "1", "DEMO_PUBLIC_URL": "esg.example.com/path"}, tmp_path)
    assert done.returncode != 0 and "DEMO_PUBLIC_URL must be the site's scheme and host" in done.stderr


RATE_LIMIT_WORKER = """
from esg.accounts import ratelimit
allowed = sum(ratelimit.allow("shared-key", {limit}, 3600) for _ in range({hits}))
print(allowed)
"""

# The broken variant: the counts as they were before issue 13, in Django's cache (LocMemCache: one
# process's memory), with add() then incr().
PER_PROCESS_WORKER = """
from django.core.cache import cache
def allow():
    cache.add("shared-key", 0, 3600)
    return cache.incr("shared-key") <= {limit}
print(sum(allow() for _ in range({hits})))
"""


def hits_allowed_across_processes(tmp_path: Path, worker: str, limit: int, hits: int, processes: int) -> list[int]:
    """Run ``worker`` in ``processes`` processes at once on one database; how many hits each was allowed."""
    env = {"DJANGO_DEBUG": "1", "DEMO_SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    migrated = run_demo(["manage.py", "migrate", "--no-input", "-v", "0"], env, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    code = worker.format(limit=limit, hits=hits)
    base = {**env, "PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join([str(DEMO), str(REPO)])}
    base["DJANGO_SETTINGS_MODULE"] = "demo.settings"
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", code], cwd=DEMO, env=base, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        for _ in range(processes)
    ]
    results = [w.communicate(timeout=120) for w in workers]
    assert all(w.returncode == 0 for w in workers), [err for _, err in results]
    return [int(out.strip().splitlines()[-1]) for out, _ in results]


def test_rate_limits_are_exact_across_processes(tmp_path: Path) -> None:
    # 80 hits from four processes at once against a limit of 25: exactly 25 get through.
    allowed = hits_allowed_across_processes(tmp_path, RATE_LIMIT_WORKER, limit=25, hits=20, processes=4)
    assert sum(allowed) == 25, f"{allowed} allowed per process; the limit is 25 for all of them together"


def test_the_check_catches_counts_kept_per_process(tmp_path: Path) -> None:
    allowed = hits_allowed_across_processes(tmp_path, PER_PROCESS_WORKER, limit=25, hits=20, processes=4)
    assert sum(allowed) == 80, f"per-process counts let {allowed} through: the test above would have caught it"


class HostAndDebugTests(TransactionTestCase):
    def test_a_bad_host_gets_a_plain_400_without_debug_details(self) -> None:
        response = Client(HTTP_HOST="attacker.example").get("/")
        self.assertEqual(response.status_code, 400)
        for secret in (b"Traceback", b"SECRET_KEY", b"DisallowedHost", b"settings", b"urlpatterns"):
            self.assertNotIn(secret, response.content)

    def test_a_404_does_not_list_the_urls(self) -> None:
        response = Client().get("/no-such-page/")
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(b"background-tasks", response.content)
        self.assertNotIn(b"admin/", response.content)

    @override_settings(ALLOWED_HOSTS=["testserver", "attacker.example"], PUBLIC_URL="https://esg.example.com")
    def test_reset_links_go_to_the_public_url_whatever_host_the_request_named(self) -> None:
        make_user("ada")
        client = Client(HTTP_HOST="attacker.example")
        response = client.post("/accounts/password-reset/", {"email": "ada@example.com"})
        self.assertEqual(response.status_code, 302)
        self.assertTrue(registry.join(DEADLOCK))
        [message] = mail.outbox
        self.assertIn("https://esg.example.com/accounts/reset/", message.body)
        self.assertNotIn("attacker.example", message.body + message.subject)


LIMITS = {"per_username": (3, 900), "per_ip": (100, 900)}


@override_settings(LOGIN_LIMITS=LIMITS)
class LoginThrottleTests(TransactionTestCase):
    def setUp(self) -> None:
        self.ada = make_user("ada", password="right password 1")
        self.staff = make_user("root", password="right password 2", is_staff=True, is_superuser=True)

    def attempt(self, url: str, username: str, password: str, **extra: Any) -> Any:
        return Client().post(url, {"username": username, "password": password}, **extra)

    def test_the_login_form_refuses_after_the_limit_even_the_right_password(self) -> None:
        codes = [self.attempt("/accounts/login/", "ada", "wrong").status_code for _ in range(3)]
        self.assertEqual(codes, [200, 200, 200])  # the form, with its error
        refused = self.attempt("/accounts/login/", "ADA ", "right password 1")  # the same name, however typed
        self.assertContains(refused, "Too many login attempts", status_code=429)
        self.assertGreater(int(refused["Retry-After"]), 0)
        self.assertNotIn("_auth_user_id", refused.client.session)
        self.assertEqual(self.attempt("/accounts/login/", "root", "right password 2").status_code, 302)

    def test_the_admin_login_is_throttled_too(self) -> None:
        url = "/admin/login/?next=/admin/"
        codes = [self.attempt(url, "root", "wrong").status_code for _ in range(3)]
        self.assertEqual(codes, [200, 200, 200])
        self.assertEqual(self.attempt(url, "root", "right password 2").status_code, 429)

    @override_settings(LOGIN_LIMITS={"per_username": (100, 900), "per_ip": (4, 900)})
    def test_the_per_address_limit_counts_every_user_name(self) -> None:
        url = "/accounts/login/"
        codes = [self.attempt(url, f"u{i}", "x", REMOTE_ADDR="203.0.113.9").status_code for i in range(5)]
        self.assertEqual(codes, [200, 200, 200, 200, 429])
        self.assertEqual(self.attempt("/accounts/login/", "u9", "x", REMOTE_ADDR="203.0.113.10").status_code, 200)


@pytest.mark.parametrize("name", ["production.env"])
def test_the_documented_environment_sets_no_debug_and_a_real_key(name: str) -> None:
    env = production_env()
    assert "DJANGO_DEBUG" not in env
    assert len(env["DJANGO_SECRET_KEY"]) >= 50
