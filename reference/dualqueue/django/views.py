"""The status endpoints: JSON for machines, a page for people, Prometheus metrics for scrapers.

All three show every worker process of the server, whichever process answers: this process's
picture (``registry.snapshot()``: pools, debouncers, dead letters, recent tasks, error rates,
result stores, pid) and, from ``dualqueue.django.processes``, every process that published its
own (live ones, and for a while the ones that exited or died, with what they left unfinished)
and the totals of the live ones. All three are guarded the same way, by
``DUALQUEUE["STATUS_ACCESS"]``:

* ``"staff"``: an active staff user's session;
* ``"token"``: ``Authorization: Bearer <token>``, where the token is the environment variable
  ``DUALQUEUE_STATUS_TOKEN`` (read per request; unset or empty disables token access), compared
  in constant time;
* ``"staff-or-token"`` (the default): either.

Everyone else is refused, and a refusal tells nothing about the tasks (no pool name, no count,
no error text): **401** with ``WWW-Authenticate: Bearer`` when no valid credentials came (no
session, or an ``Authorization`` header that is wrong, malformed or oversized), **403** for a
logged-in user who is not staff (the HTML page answers it with a page, ``dualqueue/403.html``,
that says only that the page is for staff). The HTML page sends an anonymous visitor without an
``Authorization`` header to the login page instead of a bare 401. Every response, refusals
included, is ``Cache-Control: no-store``.

With the database result store, the JSON and the page also list the recent ``FAILED`` results and
the lost ones (``failed_results``), and staff may re-run one: ``POST status/results/<id>/rerun/``
(``dualqueue:rerun``), CSRF-protected, a staff session only (a token reads, it never re-runs),
enqueues the same task (imported by its path, refused unless it is a ``Task``) with the same
arguments on the same backend alias and queue, and answers the new result's id.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.module_loading import import_string
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST, require_safe

from . import conf, metrics, processes, registry
from .compat import Task, TaskResultStatus, task_backends

__all__ = [
    "dead_letters", "failed_results", "metrics_view", "picture", "recent_tasks", "rerun", "status", "status_page",
]  # fmt: skip

MAX_AUTHORIZATION_LENGTH = 1024  # longer headers are refused unread
# RFC 6750 b64token: what may follow "Bearer " (exactly one space).
_BEARER = re.compile(r"Bearer ([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)

View = Callable[..., HttpResponse]


def _unauthorized() -> HttpResponse:
    response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = 'Bearer realm="dualqueue"'
    return response


def _forbidden() -> HttpResponse:
    return HttpResponse("Forbidden.\n", status=403, content_type="text/plain; charset=utf-8")


def bearer_token_valid(header: str) -> bool:
    """True if ``header`` is ``Bearer <token>`` with the configured token; never raises."""
    expected = os.environ.get(conf.TOKEN_ENV_VAR, "").strip()
    if not expected or len(header) > MAX_AUTHORIZATION_LENGTH:
        return False
    match = _BEARER.fullmatch(header)
    if match is None:
        return False
    return hmac.compare_digest(match.group(1).encode("ascii"), expected.encode("utf-8"))


def _refusal(request: HttpRequest, *, page: bool) -> HttpResponse | None:
    """None if the request may see the status, else the response that refuses it."""
    settings = conf.get_settings()
    user = getattr(request, "user", None)  # None without AuthenticationMiddleware: token only
    if settings.staff_allowed and user is not None and user.is_active and user.is_staff:
        return None
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is not None:
        return None if settings.token_allowed and bearer_token_valid(header) else _unauthorized()
    if user is not None and user.is_authenticated:
        # A person at the page gets a page (the project's layout, nothing about the tasks).
        return render(request, "dualqueue/403.html", status=403) if page else _forbidden()
    if page and settings.staff_allowed:
        return redirect_to_login(request.get_full_path())
    return _unauthorized()


def _guarded(*, page: bool = False) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        safe_view = require_safe(view)

        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = _refusal(request, page=page) or safe_view(request, *args, **kwargs)
            response["Cache-Control"] = "no-store"
            return response

        return guarded

    return decorate


def picture() -> dict[str, Any]:
    """This process's picture (``registry.snapshot()``) plus every published process's and the totals."""
    own = registry.snapshot()
    own.update(processes.collect(own))
    return own


@_guarded()
def status(request: HttpRequest) -> HttpResponse:
    """``GET status/``: the picture as JSON: this process's at the top level, every process's under ``processes``."""
    shown = picture()
    shown["failed_results"] = failed_results()
    shown["periodic_schedules"] = periodic_state(shown)
    return JsonResponse(shown, json_dumps_params={"indent": 2})


RECENT_SHOWN = 10  # recent tasks shown per pool on the page (each process keeps its own ring)


@_guarded(page=True)
def status_page(request: HttpRequest) -> HttpResponse:
    """``GET status/page/``: the picture for people; the page fetches the JSON and updates itself in place.

    The template is ``dualqueue/status.html``, which extends ``dualqueue/base.html``: a project
    gives the page its own layout by providing a ``dualqueue/base.html`` of its own (with a
    ``content`` block, and ``head`` for styles), and may add sections by extending
    ``dualqueue/status.html`` and filling its ``extra`` block.
    """
    shown = picture()
    context = {
        "picture": shown,
        "pools": list(shown["pools"].values()),
        "debouncers": list(shown["debouncers"].values()),
        "dead_letters": dead_letters(shown),
        "recent": recent_tasks(shown),
        "results": sorted(shown["results"]["backends"].items()),
        "refresh_seconds": 2,
        "failed_results": failed_results(),
        "result_store": conf.get_settings().result_store,
        **time_context(shown),
    }
    return render(request, "dualqueue/status.html", context)


def time_context(shown: dict[str, Any]) -> dict[str, Any]:
    """The page's "Later, every, how far along" section: running tasks' progress, deferred work, periodic tasks."""
    running = [
        {**task, "pool": name, "pid": process["pid"], "percent": _percent(task.get("progress"))}
        for process in shown["processes"]
        if process["state"] == "live"
        for name, pool in process["pools"].items()
        for task in pool.get("running_tasks") or ()
    ]
    scheduled = [
        {"pool": name, "pid": process["pid"], "scheduled": pool.get("scheduled", 0),
         "next_in": pool.get("next_scheduled_in")}
        for process in shown["processes"]
        if process["state"] == "live"
        for name, pool in process["pools"].items()
        if pool.get("scheduled")
    ]  # fmt: skip
    return {
        "running_tasks": running,
        "scheduled_pools": scheduled,
        "deferred_results": [
            {"backend": alias, "deferred": store.get("deferred", 0), "next_run_after": store.get("next_run_after")}
            for alias, store in sorted(shown["results"]["backends"].items())
            if "deferred" in store
        ],
        "periodic": periodic_state(shown),
    }


def _percent(progress: Any) -> int | None:
    if not isinstance(progress, dict) or progress.get("fraction") is None:
        return None
    return round(100 * float(progress["fraction"]))


def periodic_state(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """Each ``DUALQUEUE["PERIODIC"]`` schedule: this process's view (next tick, ran here, elsewhere), the claims row."""
    from .claims import DatabaseClaims

    mine = shown.get("periodic") or {}
    rows = []
    claims = DatabaseClaims()
    for name, entry in conf.get_settings().periodic.items():
        try:
            claim = claims.state(name)
        except Exception:  # no table yet: the page still shows the schedule
            claim = None
        here = mine.get(name) or {}
        rows.append({
            "name": name, "task": entry.task, "schedule": here.get("schedule") or entry.schedule_text,
            "next_tick_at": here.get("next_tick_at"), "last_tick_at": here.get("last_tick_at"),
            "ran_here": here.get("ran_here"), "ran_elsewhere": here.get("ran_elsewhere"),
            "unclaimed": here.get("unclaimed"), "last_error": here.get("last_error"),
            "runs": claim["runs"] if claim else 0, "skipped": claim["skipped"] if claim else here.get("skipped", 0),
            "last_pid": claim["pid"] if claim else None,
            "claimed_at": claim["claimed_at"].isoformat() if claim and claim["claimed_at"] else None,
        })  # fmt: skip
    return rows


@_guarded(page=True)
def time_fragment(request: HttpRequest) -> HttpResponse:
    """``GET status/page/time/``: the page's "Later, every, how far along" section, which the page refreshes."""
    return render(request, "dualqueue/time.html", time_context(picture()))


@_guarded(page=True)
def failed_results_fragment(request: HttpRequest) -> HttpResponse:
    """``GET status/page/failed/``: the page's "Failed and lost results" section, which the page refreshes."""
    context = {"failed_results": failed_results(), "result_store": conf.get_settings().result_store}
    return render(request, "dualqueue/failed_results.html", context)


def recent_tasks(shown: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per pool, the last ``RECENT_SHOWN`` finished tasks of every live process, newest first."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for process in shown["processes"]:
        if process["state"] != "live":
            continue
        for name, pool in process["pools"].items():
            merged.setdefault(name, []).extend({**task, "pid": process["pid"]} for task in pool.get("recent", ()))
    return {
        name: sorted(tasks, key=lambda t: t.get("finished_at") or "", reverse=True)[:RECENT_SHOWN]
        for name, tasks in merged.items()
    }


def dead_letters(shown: dict[str, Any]) -> list[dict[str, Any]]:
    """Every process's dead letters (live or not), newest first, each with its pool and pid."""
    letters = [
        {"pool": name, "pid": process["pid"], **letter}
        for process in shown["processes"]
        for name, pool in process["pools"].items()
        for letter in pool.get("dead_letters", ())
    ]
    return sorted(letters, key=lambda letter: str(letter.get("failed_at") or ""), reverse=True)


@_guarded()
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET metrics/``: every live process's picture in Prometheus's text format, each series labelled by pid."""
    text, content_type = metrics.render(picture())
    return HttpResponse(text, content_type=content_type)


# -- failed and lost results, and re-running them ------------------------------------------------

FAILED_SHOWN = 20  # failed results, and lost ones, shown (each list, newest first)


def _database_aliases() -> list[str]:
    """The aliases of this project's dualqueue backends, when results are in the database; else none."""
    from .backend import DualqueueBackend

    if conf.get_settings().result_store != "database":
        return []
    aliases = []
    for alias in task_backends:  # type: ignore[attr-defined,unused-ignore]
        try:
            if isinstance(task_backends[alias], DualqueueBackend):
                aliases.append(alias)
        except Exception:  # a misconfigured backend is the checks' business, not the page's
            continue
    return sorted(aliases)


def _arguments_known(args: Any, kwargs: Any) -> bool:
    return isinstance(args, list) and isinstance(kwargs, dict) and all(isinstance(k, str) for k in kwargs)


def failed_results() -> list[dict[str, Any]]:
    """The newest ``FAILED`` rows and the lost rows of the database store, newest first (empty with memory)."""
    from .models import TaskResultRecord
    from .results import process_alive

    aliases = _database_aliases()
    if not aliases:
        return []
    shown: list[dict[str, Any]] = []
    failed = TaskResultRecord.objects.filter(backend__in=aliases, status=str(TaskResultStatus.FAILED)).order_by("-id")
    unfinished = TaskResultRecord.objects.filter(
        backend__in=aliases, status__in=[str(TaskResultStatus.READY), str(TaskResultStatus.RUNNING)]
    ).order_by("-id")
    lost = [row for row in unfinished if process_alive(row.host, row.pid, row.process_start) is False]
    for row, is_lost in [(r, False) for r in failed[:FAILED_SHOWN]] + [(r, True) for r in lost[:FAILED_SHOWN]]:
        errors = row.errors or []
        error_path = "TaskLost" if is_lost else (errors[-1]["exception_class_path"] if errors else "–")
        error_type = error_path.rsplit(".", 1)[-1]
        when = row.finished_at or row.last_attempted_at or row.started_at or row.enqueued_at
        shown.append({
            "result_id": row.result_id,
            "backend": row.backend,
            "task": row.task_path,
            "queue": row.queue_name,
            "state": "lost" if is_lost else "failed",
            "error_type": error_type,
            "at": when.isoformat() if when else None,
            "pid": row.pid,
            "host": row.host,
            "rerunnable": _arguments_known(row.args, row.kwargs),
        })  # fmt: skip
    shown.sort(key=lambda r: r["at"] or "", reverse=True)
    return shown


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    """None for an active staff session (with staff access configured); else the refusal. A token never re-runs."""
    user = getattr(request, "user", None)
    token_sent = request.META.get("HTTP_AUTHORIZATION") is not None
    staff = user is not None and user.is_active and user.is_staff
    if staff and not token_sent and conf.get_settings().staff_allowed:
        return None
    if (user is None or not user.is_authenticated) and not token_sent:
        return _unauthorized()
    return _forbidden()


def _rerun_answer(request: HttpRequest, status: int, context: dict[str, Any]) -> HttpResponse:
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(context, status=status)
    return render(request, "dualqueue/rerun.html", context, status=status)


@csrf_protect
def _rerun(request: HttpRequest, result_id: str) -> HttpResponse:
    from .models import TaskResultRecord
    from .results import process_alive

    if conf.get_settings().result_store != "database":
        return _rerun_answer(request, 409, {"error": (
            'Cannot re-run: results are kept in each process\'s memory (DUALQUEUE["RESULT_STORE"] = "memory"), '
            'so their arguments are not known here. Use RESULT_STORE = "database" to re-run from this page.'
        )})  # fmt: skip
    try:
        row = TaskResultRecord.objects.get(result_id=result_id, backend__in=_database_aliases())
    except TaskResultRecord.DoesNotExist:
        return _rerun_answer(request, 404, {"error": f"No task result {result_id!r} is kept."})
    lost = row.status in (str(TaskResultStatus.READY), str(TaskResultStatus.RUNNING)) and (
        process_alive(row.host, row.pid, row.process_start) is False
    )
    if row.status != str(TaskResultStatus.FAILED) and not lost:
        return _rerun_answer(request, 409, {"error": (
            f"Cannot re-run {row.task_path} ({result_id}): it is {row.status}, not failed or lost."
        )})  # fmt: skip
    if not _arguments_known(row.args, row.kwargs):
        return _rerun_answer(request, 409, {"error": f"Cannot re-run {row.task_path}: its arguments are not known."})
    try:
        task = import_string(row.task_path)
    except Exception:
        task = None
    if not isinstance(task, Task) or task.module_path != row.task_path:
        return _rerun_answer(request, 409, {"error": f"Cannot re-run {row.task_path!r}: not a task of this project."})
    try:
        task = task.using(backend=row.backend, queue_name=row.queue_name, priority=row.priority)
        new = task.enqueue(*row.args, **row.kwargs)
    except Exception as exc:  # a full or closed pool, a backend that refuses: say so, enqueue nothing
        return _rerun_answer(request, 503, {"error": f"Could not re-run {row.task_path}: {type(exc).__name__}: {exc}"})
    return _rerun_answer(request, 202, {
        "task": row.task_path, "rerun_of": row.result_id, "result_id": new.id, "backend": row.backend,
        "queue": row.queue_name, "status": str(new.status),
    })  # fmt: skip


@require_POST
def rerun(request: HttpRequest, result_id: str) -> HttpResponse:
    """``POST status/results/<id>/rerun/``: enqueue a failed or lost result's task again, with the same arguments.

    Staff session only, CSRF-protected; 404 for an id the store does not keep, 409 when it cannot be
    re-run (memory store, not failed, arguments unknown, not a task), 202 with the new result's id.
    """
    response = _staff_only(request) or _rerun(request, result_id)
    response["Cache-Control"] = "no-store"
    return response
