"""The demo project boots under the test settings: apps load, migrations apply, URLs resolve."""

import os
import subprocess
import sys
from pathlib import Path

import django
from django.apps import apps
from django.urls import reverse
from dualqueue.django.compat import TASKS_APPS, TASKS_MODULE


def test_demo_apps_are_installed() -> None:
    labels = {config.label for config in apps.get_app_configs()}
    assert {"dualqueue", "esg_sites", "esg_accounts", "esg_documents"} <= labels


def test_the_tasks_framework_matches_the_django_line() -> None:
    """Django 6 runs on its built-in django.tasks with no backport app; 5.2 needs the backport's app."""
    labels = {config.label for config in apps.get_app_configs()}
    if django.VERSION >= (6, 0):
        assert (TASKS_MODULE, TASKS_APPS) == ("django.tasks", ())
        assert "django_tasks" not in labels, "Django 6 must not load the django_tasks backport"
    else:
        assert (TASKS_MODULE, TASKS_APPS) == ("django_tasks", ("django_tasks",))
        assert "django_tasks" in labels


def test_admin_url_resolves() -> None:
    assert reverse("admin:index") == "/admin/"


def test_the_demo_settings_raise_no_deprecation_warning_on_this_django_line(tmp_path: Path) -> None:
    """Both email branches of the settings, loaded and used with every deprecation warning an error."""
    probe = (
        "import django\n"
        "django.setup()\n"
        "import sys\n"
        "from django.core.management import call_command\n"
        "from dualqueue.django.compat import default_email_connection, task_backends\n"
        "from esg.accounts.tasks import send_email\n"
        "call_command('check', '--fail-level', 'ERROR')\n"
        "task_backends['default']\n"
        "backend = type(default_email_connection()).__module__\n"  # builds it; connects to nothing
        "if backend.endswith('console'):\n"
        "    send_email.call('Probe', 'body', None, ['probe@example.com'])\n"  # the demo's own sending code
        "print(backend)\n"
    )
    demo_dir = Path(__file__).resolve().parents[2] / "reference" / "demo"
    for smtp in ({}, {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": "2525"}):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EMAIL_", "DEMO_"))}
        env.update(DJANGO_SETTINGS_MODULE="demo.settings", DEMO_VAR_DIR=str(tmp_path), **smtp)
        # DEBUG is off by default and then the built-in key is refused: a key of the test's own.
        env.update(DJANGO_SECRET_KEY="probe-only-" + "k" * 50, DJANGO_HTTPS="0")
        errors = ["-W", "error::DeprecationWarning", "-W", "error::PendingDeprecationWarning"]
        argv = [sys.executable, *errors, "-c", probe]
        done = subprocess.run(argv, cwd=demo_dir, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"settings with {smtp or 'console email'}:\n{done.stderr}"
        expected = "smtp" if smtp else "console"
        assert done.stdout.strip().endswith(expected), done.stdout
