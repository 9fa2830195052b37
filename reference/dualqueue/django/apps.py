from django.apps import AppConfig


class DualqueueConfig(AppConfig):
    name = "dualqueue.django"
    label = "dualqueue"
    verbose_name = "dualqueue background tasks"
