"""Documents: uploads are checked and stored, a burst of them makes one index rebuild (on a
FakeClock: no test waits 15 s), and search finds their words without ever exposing FTS5 syntax."""

from __future__ import annotations

import base64
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase, TransactionTestCase, override_settings
from dualqueue import FakeClock
from dualqueue.django import registry
from esg.documents import search
from esg.documents.models import Document
from hypothesis import given
from hypothesis import strategies as st

from .support import DEADLOCK, logged_in, make_pdf, make_user, post_json


def upload_json(client: Client, filename: str, data: bytes) -> int:
    body = {"filename": filename, "content_base64": base64.b64encode(data).decode()}
    response = post_json(client, "/documents/api/", body)
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def upload_form(client: Client, filename: str, data: bytes) -> Any:
    return client.post("/documents/", {"file": SimpleUploadedFile(filename, data)})


class IsolatedIndex:
    """Each test gets its own index file."""

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.index_dir = tempfile.TemporaryDirectory()
        override = override_settings(DOCUMENTS_INDEX_PATH=str(Path(self.index_dir.name) / "index.sqlite3"))
        override.enable()
        self.addCleanup(override.disable)  # type: ignore[attr-defined]
        self.addCleanup(self.index_dir.cleanup)  # type: ignore[attr-defined]


class DebouncedIndexTests(IsolatedIndex, TransactionTestCase):
    """The upload views, the debouncer and the rebuild on a general-pool thread, time on a FakeClock."""

    def setUp(self) -> None:
        super().setUp()
        self.ada = make_user("ada")
        self.client = logged_in(self.ada)

    def test_a_burst_of_uploads_makes_one_rebuild_with_every_id(self) -> None:
        clock = FakeClock()
        with registry.override_task_system(clock=clock) as system:
            ids = [upload_json(self.client, "mangroves.md", b"# Mangrove restoration\nBlue carbon in Kenya.")]
            clock.advance(10)
            ids.append(upload_json(self.client, "peat.txt", b"Peatland rewetting in Borneo, 2024."))
            clock.advance(10)
            self.assertEqual(upload_form(self.client, "audit.pdf", make_pdf("Scope three audit")).status_code, 302)
            ids.append(Document.objects.get(title="audit.pdf").pk)
            # The PDF's text is extracted on the site pool (a child process, real time); only then
            # does it trigger the index, still at t=20 on the fake clock.
            self.assertTrue(system.join(DEADLOCK))
            self.assertEqual(Document.objects.get(title="audit.pdf").status, Document.Status.PROCESSING)

            debouncer = system.debouncers["documents-index"]
            clock.advance(14.9)  # 14.9 s after the last upload: the window has not closed
            self.assertTrue(system.join(DEADLOCK))
            self.assertEqual((debouncer.snapshot()["runs"], search.index_status()), (0, None))

            clock.advance(0.1)  # 15 s of quiet: one run, handed to the general pool
            self.assertTrue(system.join(DEADLOCK))
            snapshot = debouncer.snapshot()
            self.assertEqual((snapshot["runs"], snapshot["delivered"], snapshot["failed_runs"]), (1, 3, 0))
            status = search.index_status()
            assert status is not None
            self.assertEqual((status["documents"], status["triggered_by"]), (3, ids))

        self.assertEqual(set(Document.objects.values_list("status", flat=True)), {Document.Status.INDEXED})
        for words, title in [("blue carbon", "mangroves.md"), ("borneo", "peat.txt"), ("scope audit", "audit.pdf")]:
            hits = self.client.get("/documents/api/search/", {"q": words}).json()["hits"]
            self.assertEqual([h["title"] for h in hits], [title], words)
        self.assertContains(self.client.get("/documents/search/", {"q": "peatland"}), "[Peatland]")

    def test_a_stream_that_never_goes_quiet_is_indexed_by_max_wait(self) -> None:
        clock = FakeClock()
        with registry.override_task_system(clock=clock) as system:
            ids = []
            for i in range(7):  # one upload every 10 s, at 0, 10, ... 60: never 15 s of quiet
                ids.append(upload_json(self.client, f"n{i}.txt", f"note number{i}".encode()))
                clock.advance(10)
            self.assertTrue(system.join(DEADLOCK))
            status = search.index_status()
            assert status is not None
            self.assertEqual(status["triggered_by"], ids[:6])  # max_wait: the run at 60 s took the first six
            self.assertEqual(system.debouncers["documents-index"].snapshot()["pending_items"], 1)
            clock.advance(5)  # the seventh upload's own window closes at 75 s
            self.assertTrue(system.join(DEADLOCK))
            status = search.index_status()
            assert status is not None
            self.assertEqual((status["triggered_by"], status["documents"]), (ids[6:], 7))
            self.assertEqual(system.debouncers["documents-index"].snapshot()["runs"], 2)

    def test_search_shows_only_your_own_documents(self) -> None:
        bob = logged_in(make_user("bob"))
        upload_json(self.client, "a.txt", b"shared keyword alpha")
        upload_json(bob, "b.txt", b"shared keyword bravo")
        search.index_debouncer().flush()
        self.assertTrue(registry.join(DEADLOCK))
        hits = bob.get("/documents/api/search/", {"q": "shared"}).json()["hits"]
        self.assertEqual([h["title"] for h in hits], ["b.txt"])

    def test_a_json_upload_near_the_size_limit_is_accepted(self) -> None:
        data = b"carbon " * (4 * 1024 * 1024 // 7)  # 4 MiB: 5.3 MiB of base64, over Django's 2.5 MB default
        document = Document.objects.get(pk=upload_json(self.client, "big.txt", data))
        self.assertEqual(document.size, len(data))
        registry.join(DEADLOCK)

    def test_a_form_upload_is_stored_under_a_name_the_server_chose(self) -> None:
        response = upload_form(self.client, "../../Q3 report (final).md", b"# Quarterly\nnumbers")
        self.assertEqual(response.status_code, 302)
        document = Document.objects.get()
        self.assertEqual(document.title, "Q3 report (final).md")  # Django's parser dropped the directories
        stored = Path(document.file.path).resolve()
        self.assertEqual(stored.parent, (Path(settings.MEDIA_ROOT) / "documents").resolve())
        self.assertRegex(stored.name, r"^[0-9a-f]{32}-Q3_report_final.md$")
        self.assertEqual(stored.read_bytes(), b"# Quarterly\nnumbers")
        registry.join(DEADLOCK)


class SearchTests(IsolatedIndex, TestCase):
    """The index and the query, called directly (the rebuild runs in this thread)."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.ada = make_user("ada")
        for title, text in [("a.txt", "Forest loss near the river"), ("b.md", 'He said "NEAR" AND OR * col:x')]:
            Document.objects.create(owner=cls.ada, title=title, kind="text", size=1, sha256="0" * 64, text=text)

    def test_the_rebuild_swaps_in_a_new_file_and_readers_keep_the_old_one(self) -> None:
        self.assertEqual(search.rebuild_index([]), 2)
        path = search.index_path()
        reader = sqlite3.connect(path)
        before = reader.execute("SELECT count(*) FROM documents").fetchone()
        Document.objects.create(owner=self.ada, title="c.txt", kind="text", size=1, sha256="0" * 64, text="new")
        search.rebuild_index([3])
        self.assertEqual(reader.execute("SELECT count(*) FROM documents").fetchone(), before)
        reader.close()
        self.assertEqual(sqlite3.connect(path).execute("SELECT count(*) FROM documents").fetchone(), (3,))
        self.assertEqual(sorted(p.name for p in path.parent.iterdir()), [path.name])  # no temporary file left

    def test_query_syntax_in_user_input_is_matched_as_words(self) -> None:
        search.rebuild_index([])
        owner = self.ada.pk
        self.assertEqual([h.title for h in search.search(owner, 'NEAR AND "said')], ["b.md"])
        self.assertEqual([h.title for h in search.search(owner, "forest river")], ["a.txt"])
        self.assertEqual(search.search(owner, "forest bravo"), [])  # every word must match
        self.assertEqual(search.search(owner, "   "), [])
        self.assertEqual(search.fts_query('a"b c'), '"a""b" "c"')

    def test_the_search_page_answers_hostile_queries(self) -> None:
        search.rebuild_index([])
        client = logged_in(self.ada)
        for query in ['"', "NEAR(", "*", "col:", "a OR", "\x00", "'; DROP TABLE documents; --", "(" * 50]:
            self.assertEqual(client.get("/documents/search/", {"q": query}).status_code, 200, query)
            self.assertEqual(client.get("/documents/api/search/", {"q": query}).status_code, 200, query)


@pytest.fixture(scope="module")
def empty_index(django_db: None) -> Iterator[None]:
    """One empty index for every example below: an empty index parses queries like a full one."""
    with tempfile.TemporaryDirectory() as folder, override_settings(DOCUMENTS_INDEX_PATH=f"{folder}/index.sqlite3"):
        search.rebuild_index([])
        yield


@given(st.text(max_size=60))
def test_no_user_input_is_an_fts5_syntax_error(empty_index: None, text: str) -> None:
    search.search(1, text)  # raises sqlite3.OperationalError on a syntax error
