"""The way out through RQ, as a settings module: the demo's tasks on Redis and ``rqworker`` processes.

Run for real by ``tests/e2e/test_way_out_distributed.py``: a Debian ``redis-server`` on loopback
(``REDIS_URL``), the demo's views enqueueing, ``manage.py rqworker --job-class django_tasks_rq.Job``
running the tasks. ``django-tasks-rq`` (with ``django-rq`` and ``rq``) comes with the ``wayout``
extra.
"""

import os

from demo.settings import *  # noqa: F403
from demo.settings import INSTALLED_APPS

# --8<-- [start:rq]
INSTALLED_APPS = [*INSTALLED_APPS, "django_rq", "django_tasks_rq"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
RQ_QUEUES = {  # django-rq: every queue named in TASKS needs one here
    "default": {"URL": REDIS_URL},
    # an analysis may run for minutes
    "site": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_rq.RQBackend",
        "QUEUES": ["default", "site"],
    }
}
# --8<-- [end:rq]
