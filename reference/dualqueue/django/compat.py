"""The names the adapter takes from Django's Tasks framework, wherever this Django keeps them.

Django 6 ships the framework as ``django.tasks``; Django 5.2 gets it from the ``django_tasks``
backport (0.12). The two agree on the API the adapter uses, but not on every name:

==========================  ===================================  ==============================
what                        ``django.tasks`` (Django 6)          ``django_tasks`` (0.12)
==========================  ===================================  ==============================
invalid task                ``exceptions.InvalidTask``           ``exceptions.InvalidTaskError``
invalid backend             ``exceptions.InvalidTaskBackend``    ``exceptions.InvalidTaskBackendError``
JSON normalisation          ``django.utils.json.normalize_json`` ``django_tasks.utils.normalize_json``
the framework's logger      ``"django.tasks"``                   ``"django_tasks"``
``INSTALLED_APPS`` entry    none (part of Django)                ``"django_tasks"``
==========================  ===================================  ==============================

Settings differ too: Django 6.1 deprecates ``EMAIL_BACKEND`` and the ``EMAIL_HOST``-style
settings in favour of ``MAILERS``. ``TASKS_APPS`` and :func:`email_settings` give a settings
module the right names for the Django it runs on, so one settings file serves both lines without
a deprecation warning.

Everything else (``Task``, ``TaskResult``, ``TaskResultStatus``, ``TaskContext``, ``TaskError``,
``BaseTaskBackend``, the three signals, ``TaskResultDoesNotExist``) has the same name in both.
``django.tasks`` wins when it exists, so the same adapter runs on either Django; the helpers that
the backport keeps in ``django_tasks.utils`` and Django 6 inlines are defined here, once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from traceback import format_exception
from typing import Any

import django

try:  # Django 6
    from django.tasks import DEFAULT_TASK_QUEUE_NAME, task_backends  # type: ignore[import-not-found,unused-ignore]
    from django.tasks.backends.base import BaseTaskBackend  # type: ignore[import-not-found,unused-ignore]
    from django.tasks.base import (  # type: ignore[import-not-found,unused-ignore]
        Task,
        TaskContext,
        TaskError,
        TaskResult,
        TaskResultStatus,
    )
    from django.tasks.exceptions import (  # type: ignore[import-not-found,unused-ignore]
        InvalidTask as InvalidTaskError,
    )
    from django.tasks.exceptions import (  # type: ignore[import-not-found,unused-ignore]
        InvalidTaskBackend as InvalidTaskBackendError,
    )
    from django.tasks.exceptions import TaskResultDoesNotExist  # type: ignore[import-not-found,unused-ignore]
    from django.tasks.signals import (  # type: ignore[import-not-found,unused-ignore]
        task_enqueued,
        task_finished,
        task_started,
    )
    from django.utils.json import normalize_json  # type: ignore[attr-defined,unused-ignore]

    TASKS_MODULE = "django.tasks"
    TASKS_LOGGER = "django.tasks"
    TASKS_APPS: tuple[str, ...] = ()
except ImportError:  # Django 5.2 with the django_tasks backport
    from django_tasks import DEFAULT_TASK_QUEUE_NAME, task_backends
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskContext, TaskError, TaskResult, TaskResultStatus
    from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskError, TaskResultDoesNotExist
    from django_tasks.signals import task_enqueued, task_finished, task_started
    from django_tasks.utils import normalize_json

    TASKS_MODULE = "django_tasks"
    TASKS_LOGGER = "django_tasks"
    TASKS_APPS = ("django_tasks",)

MAILERS_SETTING = django.VERSION >= (6, 1)  # MAILERS replaces EMAIL_BACKEND/EMAIL_HOST/...

__all__ = [
    "DEFAULT_TASK_QUEUE_NAME",
    "MAILERS_SETTING",
    "TASKS_APPS",
    "TASKS_LOGGER",
    "TASKS_MODULE",
    "BaseTaskBackend",
    "InvalidTaskBackendError",
    "InvalidTaskError",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultStatus",
    "default_email_backend",
    "default_email_connection",
    "email_settings",
    "exception_traceback",
    "is_task",
    "module_path",
    "normalize_json",
    "random_id",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_started",
]


def is_task(obj: object) -> bool:
    """A task of either framework. On Django 6 that includes a task of the ``django_tasks``
    backport installed beside it: what ``@task()`` makes when the backend is built on the
    backport (``django-tasks-rq``, say), which a ``PERIODIC`` tick enqueues like any other."""
    if isinstance(obj, Task):
        return True
    try:
        from django_tasks.base import Task as BackportTask  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return False
    return isinstance(obj, BackportTask)


def module_path(obj: type | Callable[..., object]) -> str:
    """``module.qualname`` of a class or function: how both frameworks name an exception class."""
    return f"{obj.__module__}.{obj.__qualname__}"


def exception_traceback(exc: BaseException) -> str:
    """The formatted traceback both frameworks store in ``TaskError.traceback``."""
    return "".join(format_exception(exc))


def random_id() -> str:
    """A result id: 32 random hex characters (128 bits), the length both frameworks use.

    Not ``get_random_string(32)`` as the frameworks do: that makes 32 ``SystemRandom.choice``
    calls, each a ``urandom`` read, and measured as about 60% of an enqueue
    (``python -m benchmarks --only enqueue``). ``secrets.token_hex`` reads 16 bytes once.
    """
    return secrets.token_hex(16)


# The EMAIL_* setting that carries each option of an email backend before Django 6.1.
_EMAIL_SETTING_NAMES = {
    "host": "EMAIL_HOST",
    "port": "EMAIL_PORT",
    "username": "EMAIL_HOST_USER",
    "password": "EMAIL_HOST_PASSWORD",
    "use_tls": "EMAIL_USE_TLS",
    "use_ssl": "EMAIL_USE_SSL",
    "timeout": "EMAIL_TIMEOUT",
    "file_path": "EMAIL_FILE_PATH",
}


def email_settings(backend: str, **options: Any) -> dict[str, Any]:
    """The settings that make ``backend`` (with ``options``) the default email backend on this Django.

    Django 6.1: ``{"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": options}}}``. Earlier:
    ``EMAIL_BACKEND`` and one ``EMAIL_*`` setting per option (``host`` -> ``EMAIL_HOST``,
    ``username`` -> ``EMAIL_HOST_USER``...). A settings module applies them with
    ``globals().update(email_settings(...))``. An option without an ``EMAIL_*`` name raises
    ``TypeError`` on either line, so a typo fails where it is written.
    """
    unknown = sorted(set(options) - set(_EMAIL_SETTING_NAMES))
    if unknown:
        known = sorted(_EMAIL_SETTING_NAMES)
        raise TypeError(f"email_settings(): unknown option(s) {unknown}; the options are {known}")
    if MAILERS_SETTING:
        return {"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": dict(options)}}}
    return {"EMAIL_BACKEND": backend, **{_EMAIL_SETTING_NAMES[name]: value for name, value in options.items()}}


def default_email_backend() -> str:
    """The dotted path of the default email backend the settings configure, on either line."""
    from django.conf import settings

    if MAILERS_SETTING and hasattr(settings, "MAILERS"):
        default = settings.MAILERS.get("default", {})
        return str(default.get("BACKEND", "django.core.mail.backends.smtp.EmailBackend"))
    return str(settings.EMAIL_BACKEND)


def default_email_connection() -> Any:
    """An instance of the default email backend: ``mail.mailers.default`` on 6.1, ``get_connection()`` before."""
    from django.core import mail

    if MAILERS_SETTING:
        return mail.mailers.default  # type: ignore[attr-defined,unused-ignore]
    return mail.get_connection()
