from django.urls import path  # noqa: F401

app_name = "sites"
urlpatterns: list = []  # written by the demo helper
