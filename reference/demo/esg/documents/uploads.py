"""An upload, checked where it enters: a safe name, an allowed type proved by its content, a size cap.

``accept(name, data, max_bytes)`` returns an ``Upload`` (clean title, the name to store under,
kind, extracted text) or raises ``UploadError`` with the HTTP status and a message for the
client. It reads nothing but its arguments and writes nothing: the caller stores the file only
after it has been accepted, so a refused upload leaves no trace.

* **Name.** The client's name is only ever a title. Refused: empty names, NUL or other control
  characters, path separators (``/`` or ``\\``), ``.``/``..``, Windows drive prefixes (``C:``),
  names over 200 characters. The stored name is ``<uuid4 hex>-<get_valid_filename(name)>``
  under ``documents/``: unique, and made of characters Django's storage accepts. (Browsers and
  Django's multipart parser already strip any directory part from a form upload's name; the
  JSON endpoint receives the name as sent, so these checks are what stand between it and the
  disk.)
* **Type**, by extension *and* by content: ``.txt``, ``.md``/``.markdown`` must be UTF-8 text
  (a BOM is allowed) without NUL bytes and must not be a PDF in disguise; ``.pdf`` must start
  with ``%PDF-``. Anything else is 415. A PDF's text is *not* read here: that is work whose cost
  the file controls (see ``esg.documents.extraction``), so the upload is stored with an empty
  text and its extraction runs on the site pool, bounded; a PDF without a text layer, encrypted
  or unreadable ends ``failed`` with the reason.
* **Size**: empty is 400, over ``max_bytes`` (``DOCUMENTS_MAX_BYTES``, 5 MiB by default) is 413.

Every check is linear in the size of what it reads: a prefix test, one UTF-8 decode, one scan for
NUL, and name checks on at most ``MAX_NAME`` characters (the length is checked first).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from django.utils.text import get_valid_filename

__all__ = ["MAX_TEXT_CHARS", "Upload", "UploadError", "accept", "clean_name"]

KINDS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".pdf": "pdf"}
PDF_MAGIC = b"%PDF-"
MAX_NAME = 200
MAX_TEXT_CHARS = 2_000_000
_DRIVE = re.compile(r"^[A-Za-z]:")


class UploadError(Exception):
    """An upload the platform refuses: ``status`` for HTTP, ``message`` for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Upload:
    title: str
    stored_name: str
    kind: str
    size: int
    sha256: str
    text: str


def clean_name(name: object) -> tuple[str, str]:
    """``(title, extension)`` for a client's file name, or ``UploadError(400)``."""
    if not isinstance(name, str) or not name.strip():
        raise UploadError(400, "the file needs a name")
    if len(name) > MAX_NAME:
        raise UploadError(400, f"the file name is longer than {MAX_NAME} characters")
    if "\x00" in name or not name.isprintable():
        raise UploadError(400, "the file name contains control characters")
    if "/" in name or "\\" in name or _DRIVE.match(name):
        raise UploadError(400, "the file name must be a plain name, not a path")
    title = name.strip()
    if title in {".", ".."}:
        raise UploadError(400, "the file name must be a plain name, not a path")
    dot = title.rfind(".")
    extension = title[dot:].lower() if dot > 0 else ""
    if extension not in KINDS:
        allowed = ", ".join(sorted(KINDS))
        raise UploadError(415, f"only {allowed} files are accepted, got {extension or 'a name without an extension'}")
    return title, extension


def accept(name: object, data: bytes, *, max_bytes: int) -> Upload:
    """Check an upload (see the module docstring); the ``Upload`` to store, or ``UploadError``."""
    title, extension = clean_name(name)
    if not data:
        raise UploadError(400, "the file is empty")
    if len(data) > max_bytes:
        raise UploadError(413, f"the file is {len(data)} bytes; the limit is {max_bytes}")
    kind = KINDS[extension]
    text = _pdf_sniff(data) if kind == "pdf" else _plain_text(data, extension)
    safe = get_valid_filename(title)  # letters, digits, -_. only; never empty for a name that passed clean_name
    return Upload(
        title=title,
        stored_name=f"{uuid.uuid4().hex}-{safe}"[:200],
        kind=kind,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        text=text[:MAX_TEXT_CHARS],
    )


def _plain_text(data: bytes, extension: str) -> str:
    if data.startswith(PDF_MAGIC):
        raise UploadError(415, f"the content is a PDF but the name ends in {extension}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError(415, f"a {extension} file must be UTF-8 text") from None
    if "\x00" in text:
        raise UploadError(415, f"a {extension} file must be text, and this one holds NUL bytes")
    if not text.strip():
        raise UploadError(400, "the file holds no text")
    return text


def _pdf_sniff(data: bytes) -> str:
    # Only the header, here: reading a PDF is work whose cost the client controls, so it happens
    # later, in a bounded child process (esg.documents.extraction). An encrypted, broken or
    # text-less PDF is stored, then marked failed with the reason.
    if not data.startswith(PDF_MAGIC):
        raise UploadError(415, "the name ends in .pdf but the content is not a PDF (no %PDF- header)")
    return ""
