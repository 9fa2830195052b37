"""The documents' full-text index: SQLite FTS5 in a file of its own, rebuilt whole and swapped in atomically.

``rebuild_index(batch)`` is the debounced job (``index_debouncer()``): after 15 s without a new
upload (at most 60 s after the first of a busy stream) one run on the general pool reads every
document that has its text and has not failed, writes a fresh index, and marks the documents it
now holds ``indexed``. It writes into a new file beside the live one and
``os.replace``s it over the live one: a search either opens the old index or the new one, never
half of either, and two processes rebuilding at once (gunicorn workers each have a debouncer)
each swap in a complete index. The index is a SQLite file whatever the main database is, so the
demo's search works on PostgreSQL too, and every process on the machine reads the same file. On
several machines each keeps its own file, rebuilt only after uploads that machine received: put
``DOCUMENTS_INDEX_PATH`` on shared storage, or move search to the database (PostgreSQL's full-text
search) when the demo grows past one machine.

``search(owner_id, query)`` never lets user input become FTS5 syntax: the query is cut into
words, each word is quoted as an FTS5 string (``"`` doubled), and the words are ANDed. ``AND``,
``NEAR(``, ``*``, ``col:`` or a stray quote are just text to match.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from dualqueue import Debouncer

__all__ = ["Hit", "fts_query", "index_debouncer", "index_path", "index_status", "rebuild_index", "search"]

MAX_TERMS = 16
MAX_QUERY_CHARS = 2_000
MAX_TERM_CHARS = 100
MAX_HITS = 20


def index_path() -> Path:
    """``DOCUMENTS_INDEX_PATH``, or ``search-index.sqlite3`` beside the uploads (``MEDIA_ROOT``)."""
    configured = getattr(settings, "DOCUMENTS_INDEX_PATH", "")
    return Path(configured) if configured else Path(settings.MEDIA_ROOT) / "search-index.sqlite3"


def index_debouncer() -> Debouncer:
    """The process's ``documents-index`` debouncer, on the current task system's general pool."""
    from dualqueue.django import registry

    return registry.debouncer(
        "documents-index",
        rebuild_index,
        wait=float(getattr(settings, "DOCUMENTS_INDEX_WAIT", 15.0)),
        max_wait=float(getattr(settings, "DOCUMENTS_INDEX_MAX_WAIT", 60.0)),
        pool="general",
    )


def rebuild_index(batch: list[Any]) -> int:
    """Index every document (``batch`` holds the ids of the uploads that asked); returns how many."""
    from .models import Document

    target = index_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(f"{target.name}.{os.getpid()}.{uuid.uuid4().hex}.new")
    count = 0
    try:
        with _connect(fresh) as db:
            db.execute(
                "CREATE VIRTUAL TABLE documents USING fts5("
                "title, body, doc_id UNINDEXED, owner_id UNINDEXED, tokenize='unicode61 remove_diacritics 2')"
            )
            db.execute("CREATE TABLE build (built_at TEXT, documents INTEGER, triggered_by TEXT)")
            ready = Document.objects.exclude(status=Document.Status.FAILED).exclude(text="").order_by("pk")
            included: list[int] = []
            for pk, owner_id, title, text in ready.values_list("pk", "owner_id", "title", "text").iterator(500):
                db.execute(
                    "INSERT INTO documents (title, body, doc_id, owner_id) VALUES (?, ?, ?, ?)",
                    (title, text, pk, owner_id),
                )
                included.append(pk)
                count += 1
            db.execute(
                "INSERT INTO build VALUES (?, ?, ?)", (timezone.now().isoformat(), count, json.dumps(list(batch)))
            )
        os.replace(fresh, target)  # atomic on POSIX and Windows: readers see the old file or the new one
        for start in range(0, len(included), 500):  # what the live index now holds is searchable
            Document.objects.filter(pk__in=included[start : start + 500], status=Document.Status.PROCESSING).update(
                status=Document.Status.INDEXED
            )
    finally:
        fresh.unlink(missing_ok=True)
    return count


class _Connection:
    """A SQLite connection that commits and closes on leaving ``with`` (sqlite3's own only commits)."""

    def __init__(self, path: Path, readonly: bool) -> None:
        uri = f"{path.resolve().as_uri()}?mode=ro" if readonly else str(path)
        self.db = sqlite3.connect(uri, uri=readonly, timeout=10)

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.db.commit()
        finally:
            self.db.close()


def _connect(path: Path, readonly: bool = False) -> _Connection:
    return _Connection(path, readonly)


def fts_query(text: str) -> str:
    """User text as an FTS5 query that cannot be a syntax error: quoted words, ANDed. '' for no words.

    Linear in ``len(text)``, and only the first ``MAX_QUERY_CHARS`` characters are looked at.
    """
    words = [w[:MAX_TERM_CHARS] for w in text[:MAX_QUERY_CHARS].replace("\x00", " ").split()][:MAX_TERMS]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


@dataclass(frozen=True)
class Hit:
    doc_id: int
    title: str
    snippet: str


def search(owner_id: int, text: str) -> list[Hit]:
    """The owner's documents matching every word of ``text``, best first (at most ``MAX_HITS``)."""
    query = fts_query(text)
    path = index_path()
    if not query or not path.exists():
        return []
    with _connect(path, readonly=True) as db:
        rows = db.execute(
            "SELECT doc_id, title, snippet(documents, 1, '[', ']', '…', 12) FROM documents "
            "WHERE documents MATCH ? AND owner_id = ? ORDER BY rank LIMIT ?",
            (query, owner_id, MAX_HITS),
        ).fetchall()
    return [Hit(doc_id=int(r[0]), title=str(r[1]), snippet=str(r[2])) for r in rows]


def index_status() -> dict[str, Any] | None:
    """When the index was built, over how many documents, and which uploads asked; None if never built."""
    path = index_path()
    if not path.exists():
        return None
    with _connect(path, readonly=True) as db:
        row = db.execute("SELECT built_at, documents, triggered_by FROM build").fetchone()
    return None if row is None else {"built_at": row[0], "documents": row[1], "triggered_by": json.loads(row[2])}
