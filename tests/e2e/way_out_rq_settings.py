"""The way out through RQ, as a settings module: the demo's tasks on Redis and ``rqworker`` processes.

Not run here: it needs the ``django-tasks-rq`` package (which brings ``django-rq`` and ``rq``) and a
Redis server, and this repository's CI has neither. ``tests/e2e/test_way_out_db_worker.py`` checks
what can be checked without them: these settings name the same queues as the demo's, and every one
of them has an RQ queue behind it.
"""

import os

from demo.settings import *  # noqa: F403
from demo.settings import INSTALLED_APPS

# --8<-- [start:rq]
INSTALLED_APPS = [*INSTALLED_APPS, "django_rq", "django_tasks_rq"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
RQ_QUEUES = {  # django-rq: every queue named in TASKS needs one here
    "default": {"URL": REDIS_URL},
    "site": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},  # an analysis may run for minutes
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_rq.RQBackend",
        "QUEUES": ["default", "site"],
    }
}
# --8<-- [end:rq]
