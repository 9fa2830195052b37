"""Browser routes answer as pages: an oversized form post is a 413 page in MB, uploads say when they are searchable."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TransactionTestCase, override_settings
from dualqueue import FakeClock
from dualqueue.django import registry

from .support import logged_in, make_user


class BrowserPagesTests(TransactionTestCase):
    @override_settings(MAX_REQUEST_BYTES=2 * 1024 * 1024)
    def test_an_oversized_form_post_from_a_browser_is_a_page_in_mb_and_a_script_gets_json(self) -> None:
        big = 3 * 1024 * 1024
        as_browser = self.client.post(
            "/documents/", data=b"x" * big, content_type="multipart/form-data; boundary=x",
            HTTP_ACCEPT="text/html,application/xhtml+xml",
        )
        self.assertEqual(as_browser.status_code, 413)
        self.assertIn("text/html", as_browser["Content-Type"])
        self.assertContains(as_browser, "at most 2.0 MB", status_code=413)
        self.assertContains(as_browser, "The upload was 3.0 MB", status_code=413)
        as_script = self.client.post("/documents/api/", data=b"x" * big, content_type="application/json")
        self.assertEqual((as_script.status_code, as_script["Content-Type"]), (413, "application/json"))

    def test_an_upload_says_when_the_document_will_be_searchable(self) -> None:
        user = make_user("reader")
        clock = FakeClock()
        client = logged_in(user)
        with registry.override_task_system(clock=clock):
            response = client.post("/documents/", {"file": SimpleUploadedFile("notes.txt", b"peat bog carbon")},
                                        follow=True)
            self.assertContains(response, "notes.txt uploaded; it will be searchable in about 15 s")
            clock.advance(15.0)
            self.assertTrue(registry.join(10.0))
