"""The way out, as a settings module: the demo's tasks on ``django_tasks_db`` and ``db_worker`` processes.

Everything else is the demo's own settings; only ``INSTALLED_APPS`` (the backend's result table) and
``TASKS`` change. No task code, ``@task`` declaration or view changes: that is the claim
``tests/e2e/test_way_out_db_worker.py`` proves by running the demo's real tasks through a real
``manage.py db_worker`` with ``DJANGO_SETTINGS_MODULE=tests.e2e.way_out_settings``.
"""

from demo.settings import *  # noqa: F403
from demo.settings import INSTALLED_APPS

# --8<-- [start:database]
# its table holds the queue and the results
INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        # the same queue names the tasks are declared with
        "QUEUES": ["default", "site"],
    }
}
# --8<-- [end:database]
