from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "esg.sites"
    label = "esg_sites"
    default_auto_field = "django.db.models.BigAutoField"
