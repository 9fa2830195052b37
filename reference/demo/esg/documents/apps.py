from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "esg.documents"
    label = "esg_documents"
    default_auto_field = "django.db.models.BigAutoField"
