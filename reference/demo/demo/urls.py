"""The demo's URLs: the ESG apps, Django's own login and password reset, and the task status."""

from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("esg.accounts.urls")),
    path("sites/", include("esg.sites.urls")),
    path("documents/", include("esg.documents.urls")),
    path("background-tasks/", include("dualqueue.django.urls")),
]
