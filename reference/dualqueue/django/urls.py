"""The status URLs. Include them under a prefix of your choice::

    path("background-tasks/", include("dualqueue.django.urls")),

which gives ``background-tasks/status/`` (JSON, ``dualqueue:status``), ``background-tasks/status/page/``
(HTML, ``dualqueue:status-page``), ``background-tasks/status/results/<id>/rerun/`` (POST, staff,
``dualqueue:rerun``) and ``background-tasks/metrics/`` (Prometheus, ``dualqueue:metrics``).
"""

from django.urls import path

from . import views

app_name = "dualqueue"
urlpatterns = [
    path("status/", views.status, name="status"),
    path("status/page/", views.status_page, name="status-page"),
    path("status/page/failed/", views.failed_results_fragment, name="failed-results"),
    path("status/page/time/", views.time_fragment, name="time"),
    path("status/results/<str:result_id>/rerun/", views.rerun, name="rerun"),
    path("metrics/", views.metrics_view, name="metrics"),
]
