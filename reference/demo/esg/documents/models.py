"""An uploaded document: the stored original, under a name the server chose, its extracted text, and its state.

A document is ``processing`` from the upload until the search index includes it: a text or
Markdown file has its text at once and waits only for the next index build; a PDF first waits for
its text to be extracted off the request path (``esg.documents.tasks``). It ends ``indexed``, or
``failed`` with ``error`` saying why in words a user can act on (never a traceback).
"""

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
    class Status(models.TextChoices):
        PROCESSING = "processing"
        INDEXED = "indexed"
        FAILED = "failed"

    text = models.TextField(blank=True, help_text="empty until extracted; never holds a NUL or a lone surrogate")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING)
    error = models.CharField(max_length=500, blank=True, help_text="why it failed, for the user")
    uploaded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-uploaded", "-id")

    def __str__(self) -> str:
        return self.title
