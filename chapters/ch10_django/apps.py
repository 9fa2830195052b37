"""The chapter's Django app: one model (``Site``) and the tasks and views around it."""

from django.apps import AppConfig


class Ch10Config(AppConfig):
    name = "chapters.ch10_django"
    label = "ch10"
    verbose_name = "Chapter 10: wiring into Django"
    default_auto_field = "django.db.models.BigAutoField"
