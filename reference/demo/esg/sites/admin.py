"""Sites and analyses in Django's admin (staff): read the rows, see which process had an analysis."""

from django.contrib import admin

from .models import Analysis, Site


class AnalysisInline(admin.TabularInline):
    model = Analysis
    fields = ("id", "status", "start", "end", "created", "finished", "process")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "area_km2", "created")
    search_fields = ("name", "owner__username")
    readonly_fields = ("area_km2", "created")
    inlines = (AnalysisInline,)


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = ("id", "site", "status", "created", "started", "finished", "process")
    list_filter = ("status",)
    search_fields = ("site__name", "task_result_id", "process")
    readonly_fields = ("id", "created", "started", "finished", "task_result_id", "process")
