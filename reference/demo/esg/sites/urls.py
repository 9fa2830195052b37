"""The sites API; see ``esg.sites.views`` for what each URL does."""

from django.urls import path

from . import pages, views

app_name = "sites"
# The HTML pages live under /app/sites/ (see demo.urls); the JSON API, for scripts, under /sites/.
page_patterns = [
    path("", pages.site_list, name="pages"),
    path("new/", pages.site_new, name="new"),
    path("<int:site_id>/", pages.site_page, name="page"),
    path("<int:site_id>/history/", pages.site_history, name="history"),
    path("<int:site_id>/run/", pages.site_run, name="run"),
    path("analyses/<uuid:analysis_id>/rerun/", pages.analysis_rerun, name="rerun"),
    path("analyses/attention/", pages.analyses_attention, name="attention"),
]
urlpatterns = [
    path("", views.site_list, name="list"),
    path("<str:site_id>/", views.site_detail, name="detail"),
    path("<str:site_id>/analyses/", views.analyses, name="analyses"),
    path("<str:site_id>/analyses/<str:result_id>/", views.analysis_status, name="analysis"),
]
