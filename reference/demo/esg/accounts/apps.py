from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "esg.accounts"
    label = "esg_accounts"
    default_auto_field = "django.db.models.BigAutoField"
