"""The site pool's document task: extract a PDF's text off the request path, then have it indexed.

Declared on the ``site`` queue: extraction is heavy, client-controlled work, exactly what the site
pool is for, and the worker thread only waits on a bounded child process (``esg.documents.extraction``)
while it runs, so a hostile file costs one site worker for at most ``DOCUMENTS_EXTRACT_TIMEOUT``
seconds and never delays an email on the general pool.
"""

from __future__ import annotations

import logging
from typing import Any

from . import extraction, search
from .models import Document

try:  # Django 6
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Django 5.2 with the django_tasks backport
    from django_tasks import task

logger = logging.getLogger("esg.documents")

Status = Document.Status


@task(queue_name="site")
def extract_pdf_text(document_id: int) -> dict[str, Any]:
    """Extract the text of PDF ``document_id``; store it and trigger the index, or record why it failed."""
    document = Document.objects.filter(pk=document_id, status=Status.PROCESSING, text="").first()
    if document is None:
        raise LookupError(f"document {document_id} does not exist or is not waiting for its text")
    try:
        text = extraction.pdf_text(document.file.path, extraction.limits_from_settings())
    except extraction.ExtractionFailed as exc:
        logger.info("document %s: no text: %s", document_id, exc.reason)
        Document.objects.filter(pk=document_id).update(status=Status.FAILED, error=exc.reason[:500])
        return {"document_id": document_id, "status": Status.FAILED.value, "error": exc.reason}
    Document.objects.filter(pk=document_id, status=Status.PROCESSING).update(text=text)
    search.index_debouncer().trigger(document_id)
    return {"document_id": document_id, "status": "extracted", "characters": len(text)}
