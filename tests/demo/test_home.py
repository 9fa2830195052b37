"""The home page: every part of the demo is one click away, and you see only your own sites."""

from __future__ import annotations

from django.test import Client, TestCase

from .support import create_site, logged_in, make_user


class HomePageTests(TestCase):
    def test_the_home_page_links_every_part_of_the_demo(self) -> None:
        page = Client().get("/")
        for href in [
            "/sites/",
            "/documents/",
            "/documents/search/",
            "/background-tasks/status/page/",
            "/background-tasks/status/",
            "/accounts/password-reset/",
            "/accounts/login/",
        ]:
            self.assertContains(page, f'href="{href}"', msg_prefix=href)
        self.assertContains(page, "dry-run")

    def test_a_signed_in_user_sees_their_sites_and_nobody_elses(self) -> None:
        ada, bob = logged_in(make_user("ada")), logged_in(make_user("bob"))
        site_id = create_site(ada, "Ada's wetland")
        create_site(bob, "Bob's orchard")
        page = ada.get("/")
        self.assertContains(page, "Ada&#x27;s wetland")
        self.assertContains(page, f'href="/sites/{site_id}/"')
        self.assertNotContains(page, "orchard")
