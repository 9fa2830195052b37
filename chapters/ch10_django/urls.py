"""The chapter's URLs: the two registration views and the adapter's status endpoints."""

from django.urls import include, path

from . import views

# --8<-- [start:urls]
urlpatterns = [
    path("sites/", views.register_site),
    path(
        "sites/enqueue-now/", views.register_site_enqueue_now
    ),  # the broken twin, for the demo
    path(
        "background-tasks/", include("dualqueue.django.urls")
    ),  # status/, status/page/, metrics/
]
# --8<-- [end:urls]
