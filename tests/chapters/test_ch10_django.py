"""Chapter 10: the chapter's Django app on the real adapter, each bug before its fix.

The pytest process has one Django configuration (``tests.django_settings``, the
demo project's). The chapter's app has its own model and settings, so its
stories run where they belong: in a subprocess configured by the chapter
(``python -m chapters.ch10_django.demo --json``), once for this module. Each test
then checks one outcome of that run. The settings themselves are checked here,
in-process, without configuring Django.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chapters.ch10_django import settings as chapter_settings

ROOT = Path(__file__).resolve().parents[2]
DOES_NOT_EXIST = "chapters.ch10_django.models.Site.DoesNotExist"


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    """The demo's results, from a process configured with the chapter's own settings."""
    out = subprocess.run(
        [sys.executable, "-m", "chapters.ch10_django.demo", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


# -- enqueue on commit: the bug, then the fix
# -----------------------------------------------


# --8<-- [start:rollback-tests]
def test_a_task_enqueued_inside_a_rolled_back_transaction_still_runs_and_emails(
    demo: dict[str, Any],
) -> None:
    story = demo["rollback /sites/enqueue-now/"]
    assert story["status_code"] == 409 and story["rows"] == 0, (
        "the site was meant to be rolled back"
    )
    assert story["emails"] == ["Your site 'Farm 3' is registered"], (
        "the owner was told about a site that is not there"
    )
    outcomes = {
        task["task"]: (task["status"], task["errors"]) for task in story["tasks"]
    }
    assert outcomes["analyse_site"] == ("FAILED", [DOES_NOT_EXIST])


def test_enqueued_on_commit_a_rolled_back_site_gets_no_task_and_no_email(
    demo: dict[str, Any],
) -> None:
    story = demo["rollback /sites/"]
    assert story["status_code"] == 409 and story["rows"] == 0
    assert story["emails"] == [] and story["tasks"] == []
    # --8<-- [end:rollback-tests]


def test_an_analysis_enqueued_inside_the_transaction_runs_before_its_row_is_visible(
    demo: dict[str, Any],
) -> None:
    inside, after = demo["visibility enqueue now"], demo["visibility on_commit"]
    assert (inside["status"], inside["errors"], inside["risk"]) == (
        "FAILED",
        [DOES_NOT_EXIST],
        "",
    )
    assert (after["status"], after["errors"], after["risk"]) == (
        "SUCCESSFUL",
        [],
        "high",
    )


# -- connections, backends, validation, capabilities
# ------------------------------------------


def test_bare_worker_threads_keep_their_connections_and_the_backend_closes_them(
    demo: dict[str, Any],
) -> None:
    bare, adapter = (
        demo["connections bare TaskSystem threads"],
        demo["connections through DualqueueBackend"],
    )
    assert bare["opened"] >= 1 and bare["still_open"] == bare["opened"], (
        "the bare threads closed their connections"
    )
    assert adapter["opened"] >= 1 and adapter["still_open"] == 0, (
        "a worker thread left a connection open"
    )


def test_django_builds_a_backend_per_thread_and_the_registry_one_task_system(
    demo: dict[str, Any],
) -> None:
    assert demo["per thread"] == {"backend_objects": 3, "task_systems": 1}


def test_an_unknown_queue_and_an_unsupported_priority_are_refused_at_the_caller(
    demo: dict[str, Any],
) -> None:
    refused = demo["refused"]
    assert "Queue 'reports' is not valid" in refused["unknown queue"]
    assert "priority" in refused["priority"]


def test_the_capability_flags_are_honest_and_results_stay_in_their_process(
    demo: dict[str, Any],
) -> None:
    assert demo["capabilities"] == {
        # run_after waits on the pool's clock (chapter 13); a restart loses it
        "supports_defer": True,
        "supports_async_task": True,
        # results in this process's memory: not "from any process"
        "supports_get_result": False,
        "supports_priority": False,
    }
    assert demo["get_result"] == {"this_process": True, "another_process": False}


# -- the status endpoint
# ----------------------------------------------------------------------


def test_the_status_is_for_staff_and_the_token_only(demo: dict[str, Any]) -> None:
    assert demo["status codes"] == {
        "anonymous": 401,
        "wrong token": 401,
        "token": 200,
        "logged-in, not staff": 403,
        "staff": 200,
    }


def test_the_status_snapshot_adds_up_and_shows_the_failed_analyses(
    demo: dict[str, Any],
) -> None:
    pools = demo["snapshot"]["pools"]
    for name, pool in pools.items():
        assert (
            pool["submitted"]
            == pool["queued"]
            + pool["running"]
            + pool["succeeded"]
            + pool["failed"]
            + pool["dropped"]
        ), f"pool {name} does not add up: {pool}"
    assert pools["site"]["failed"] == 2, "the two analyses that could not see their row"
    assert pools["site"]["last_error"]["type"] == DOES_NOT_EXIST
    assert pools["general"]["failed"] == 0


# -- the settings, in this process
# ------------------------------------------------------------


def test_the_chapter_settings_follow_the_adapter_contract() -> None:
    from dualqueue.django.conf import parse

    parsed = parse(chapter_settings.DUALQUEUE)
    assert (
        dict(parsed.pools) == {"general": 2, "site": 10}
        and parsed.status_access == "staff-or-token"
    )
    backend = chapter_settings.TASKS["default"]
    assert backend["BACKEND"] == "dualqueue.django.backend.DualqueueBackend"
    assert backend["OPTIONS"]["QUEUE_POOLS"] == {"default": "general", "site": "site"}
    assert set(backend["QUEUES"]) == set(backend["OPTIONS"]["QUEUE_POOLS"])
    assert "dualqueue.django" in chapter_settings.INSTALLED_APPS
    assert chapter_settings.DATABASES["default"]["NAME"] != ":memory:", (
        "worker threads would see an empty database"
    )


def test_importing_the_chapter_package_imports_no_django() -> None:
    code = (
        "import sys, chapters.ch10_django;"
        " print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
