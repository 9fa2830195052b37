"""Uploads (an HTML form and a JSON endpoint) and search; login required for all of them.

=============================  ======  ===================================================
``/documents/``                GET     your documents and the upload form
``/documents/``                POST    multipart ``file`` (the form) -> redirect, or the form with the error
``/documents/api/``            GET     your documents, JSON
``/documents/api/``            POST    ``{"filename", "content_base64"}`` -> 201 ``{"id", ...}``
``/documents/search/?q=``      GET     search page
``/documents/api/search/?q=``  GET     ``{"query", "hits": [...], "index": {...}}``
=============================  ======  ===================================================

Every accepted upload is stored at once and shown as ``processing`` until the index includes it.
A text file triggers the ``documents-index`` debouncer on commit; a PDF first has its text
extracted on the site pool, in a bounded child process (``esg.documents.tasks``), and triggers
it then, or ends ``failed`` with the reason. The index is rebuilt once per burst, so a new
document is searchable about ``DOCUMENTS_INDEX_WAIT`` seconds after the last text of its burst
arrived, and the search page says when the index was built.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat

from esg import admission
from esg.jsonapi import ApiError, json_endpoint, read_json, setting

from . import search as index
from .models import Document
from .tasks import extract_pdf_text
from .uploads import Upload, UploadError, accept

logger = logging.getLogger("esg.documents")


def megabytes(size: int) -> str:
    """A size for people, as Django's ``filesizeformat`` writes it: ``5.0 MB``, ``1000 bytes``."""
    return str(filesizeformat(size)).replace("\xa0", " ")


def searchable_when(document: Document | None = None) -> str:
    """When the next index rebuild runs, from the debouncer's own picture (its window restarts with each upload).

    A PDF is indexed only after its text is extracted in the background, so for one the answer
    says that instead of a time it cannot know.
    """
    if document is not None and document.kind == Document.Kind.PDF and not document.text:
        return "its text is being extracted; it will be searchable after the next index rebuild"
    picture = index.index_debouncer().snapshot()
    seconds = picture.get("next_run_in")
    if picture.get("running"):
        return "the index is being rebuilt now; it will be rebuilt again right after, with this document"
    if seconds is None:
        return "it will be searchable once the index is rebuilt"
    return f"it will be searchable in about {max(0.0, float(seconds)):.0f} s, when the index is rebuilt"


def _max_bytes() -> int:
    return int(setting("DOCUMENTS_MAX_BYTES", 5 * 1024 * 1024))


def store(owner: Any, upload: Upload, data: bytes) -> Document:
    """Save the file and its row together, then start its processing; a refusal removes both.

    A text file's index rebuild is triggered once the row is committed. A PDF is admitted only
    while its owner has fewer than ``DOCUMENTS_MAX_PROCESSING_PER_USER`` PDFs waiting for their
    text (429), and its extraction only while the site pool has room (503); either refusal, like
    every other, leaves neither a row nor a file.
    """
    document = Document(
        owner=owner, title=upload.title, kind=upload.kind, size=upload.size, sha256=upload.sha256, text=upload.text
    )
    is_pdf = upload.kind == Document.Kind.PDF
    with transaction.atomic():
        if is_pdf:
            waiting = Document.objects.filter(
                owner=owner, kind=Document.Kind.PDF, status=Document.Status.PROCESSING, text="",
                uploaded__gte=admission.counted_since(),
            )
            admission.admit(
                owner,
                waiting.count,
                limit=int(setting("DOCUMENTS_MAX_PROCESSING_PER_USER", 5)),
                what="PDFs",
                retry_after=int(setting("DOCUMENTS_EXTRACT_TIMEOUT", 30)),
            )
        document.file.save(upload.stored_name, ContentFile(data), save=False)
        try:
            document.save()
        except BaseException:
            document.file.delete(save=False)  # no file without its row
            raise
        if not is_pdf:
            transaction.on_commit(functools.partial(_schedule_index, document.pk))
    if is_pdf:
        _start_extraction(document)
    return document


def _start_extraction(document: Document) -> None:
    # As for analyses (esg.sites.views): outside a transaction the row is committed now, so a full
    # pool can still undo the upload; inside one, the task is queued on commit and a refusal is
    # recorded on the document.
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(functools.partial(_extract_on_commit, document.pk))
        return
    try:
        admission.enqueue(extract_pdf_text, document.pk)
    except ApiError:
        document.file.delete(save=False)
        document.delete()
        raise


def _extract_on_commit(document_id: int) -> None:
    try:
        admission.enqueue(extract_pdf_text, document_id)
    except ApiError as exc:
        Document.objects.filter(pk=document_id).update(status=Document.Status.FAILED, error=exc.message[:500])


def _schedule_index(document_id: int) -> None:
    try:
        index.index_debouncer().trigger(document_id)
    except Exception:  # a closed system at shutdown: the next rebuild will include this document
        logger.exception("document %s stored, but the index rebuild could not be scheduled", document_id)


def _document_json(document: Document) -> dict[str, Any]:
    answer = {
        "id": document.pk,
        "title": document.title,
        "kind": document.kind,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded": document.uploaded.isoformat(),
        "status": document.status,
    }
    if document.status == Document.Status.FAILED:
        answer["error"] = document.error
    return answer


@login_required
def upload_page(request: HttpRequest) -> HttpResponse:
    error, status, retry_after = None, 200, None
    if request.method == "POST":
        try:
            file = request.FILES.get("file")
            if file is None:
                raise UploadError(400, "choose a file to upload")
            if file.size is not None and file.size > _max_bytes():  # before reading it into memory
                raise UploadError(413, f"the file is {megabytes(file.size)}; the limit is {megabytes(_max_bytes())}")
            data = file.read(_max_bytes() + 1)
            document = store(request.user, accept(file.name, data, max_bytes=_max_bytes()), data)
            messages.success(request, f"{document.title} uploaded; {searchable_when(document)}")
            return redirect("documents:upload")
        except (UploadError, ApiError) as exc:
            error, status = exc.message, exc.status
            retry_after = getattr(exc, "retry_after", None)
    elif request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    documents = Document.objects.filter(owner=request.user)[:100]
    context = {
        "documents": documents,
        "error": error,
        "max_mb": _max_bytes() / (1024 * 1024),
        "max_size": megabytes(_max_bytes()),
        "index_wait": setting("DOCUMENTS_INDEX_WAIT", 15.0),
    }
    response = render(request, "documents/index.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@json_endpoint
def api(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        return JsonResponse({"documents": [_document_json(d) for d in Document.objects.filter(owner=request.user)]})
    if request.method != "POST":
        raise ApiError(405, f"method {request.method} is not allowed here; use GET or POST")
    limit = _max_bytes()
    body = read_json(request, max_bytes=(limit + 2) // 3 * 4 + 64 * 1024)  # base64 is 4/3 of the bytes
    if not isinstance(body, dict) or len(body) != 2 or "filename" not in body or "content_base64" not in body:
        raise ApiError(400, 'the body must be a JSON object: {"filename": ..., "content_base64": ...}')
    content = body["content_base64"]
    if not isinstance(content, str):
        raise ApiError(400, "content_base64 must be a string")
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "content_base64 is not valid base64") from None
    try:
        upload = accept(body["filename"], data, max_bytes=limit)
    except UploadError as exc:
        raise ApiError(exc.status, exc.message) from None
    document = store(request.user, upload, data)
    return JsonResponse(_document_json(document), status=201)


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    hits = index.search(request.user.pk, query)
    context = {"query": query, "hits": hits, "index": index.index_status()}
    return render(request, "documents/search.html", context)


@json_endpoint
def search_api(request: HttpRequest) -> JsonResponse:
    if request.method != "GET":
        raise ApiError(405, f"method {request.method} is not allowed here; use GET")
    query = request.GET.get("q", "")
    hits = index.search(request.user.pk, query)
    return JsonResponse(
        {"query": query, "hits": [h.__dict__ for h in hits], "index": index.index_status()},
    )
