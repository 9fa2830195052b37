"""Documents in Django's admin (staff)."""

from django.contrib import admin

from .models import Document


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "kind", "size", "uploaded")
    list_filter = ("kind",)
    search_fields = ("title", "owner__username", "sha256")
    readonly_fields = ("sha256", "size", "uploaded")
