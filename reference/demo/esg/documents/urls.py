"""Uploads and search, at ``/documents/``; see ``esg.documents.views``."""

from django.urls import path

from . import views

app_name = "documents"
urlpatterns = [
    path("", views.upload_page, name="upload"),
    path("api/", views.api, name="api"),
    path("search/", views.search_page, name="search"),
    path("api/search/", views.search_api, name="search-api"),
]
