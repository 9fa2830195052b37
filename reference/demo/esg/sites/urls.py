"""The sites API; see ``esg.sites.views`` for what each URL does."""

from django.urls import path

from . import views

app_name = "sites"
urlpatterns = [
    path("", views.site_list, name="list"),
    path("<str:site_id>/", views.site_detail, name="detail"),
    path("<str:site_id>/analyses/", views.analyses, name="analyses"),
    path("<str:site_id>/analyses/<str:result_id>/", views.analysis_status, name="analysis"),
]
