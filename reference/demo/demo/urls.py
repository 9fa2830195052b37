"""The demo's URLs: the ESG apps, Django's own login and password reset, and the task status."""

from django.contrib import admin
from django.urls import include, path
from esg.sites.urls import page_patterns as site_pages

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("esg.accounts.urls")),
    path("sites/", include("esg.sites.urls")),
    path("app/sites/", include((site_pages, "site-pages"))),
    path("favicon.ico", views.favicon, name="favicon"),
    path("documents/", include("esg.documents.urls")),
    path("background-tasks/", include("dualqueue.django.urls")),
]
