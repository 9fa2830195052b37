"""A URLconf that mounts the status endpoints as a project does (the Django guide shows it; a test uses it)."""

from django.urls import include, path

# --8<-- [start:include]
urlpatterns = [
    path("background-tasks/", include("dualqueue.django.urls")),
]
# --8<-- [end:include]
