"""The exercise's URLs: the view under test, from the starter, the solution or the learner's copy."""

from __future__ import annotations

from django.urls import path

from exercises.target import load

views = load("ex11_enqueue_on_commit", "views")

urlpatterns = [path("invite/", views.invite, name="invite")]
