"""An uploaded document: the stored original, under a name the server chose, and its extracted text."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Document(models.Model):
    """One upload. ``file`` holds the original bytes; ``text`` is what the search index reads."""

    class Kind(models.TextChoices):
        TEXT = "text"
        MARKDOWN = "markdown"
        PDF = "pdf"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=255, help_text="the client's file name, cleaned; shown, never used as a path")
    file = models.FileField(upload_to="documents/", max_length=300)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    text = models.TextField()
    uploaded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-uploaded", "-id")

    def __str__(self) -> str:
        return self.title
