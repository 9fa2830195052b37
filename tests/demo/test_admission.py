"""Bounded work per user and per pool: 429 or 503 with Retry-After, and a refusal stores nothing (issue 13).

``DUALQUEUE["MAXSIZE"]`` bounds a pool's queue (``dualqueue.django.conf``); the demo bounds the site
pool, and counts each user's unfinished analyses in the database (``esg.admission``). The same
limits across gunicorn worker processes are proved end to end in ``tests/e2e/test_attack.py``.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import TransactionTestCase, override_settings
from django.utils import timezone
from dualqueue.django import conf, registry
from esg.sites import earth_engine
from esg.sites.models import Analysis, Site

from .support import DEADLOCK, create_site, logged_in, make_user, post_json

BOUNDED = {"POOLS": {"general": 2, "site": 1}, "MAXSIZE": {"site": 1}}


class BlockingEarthEngine:
    """An Earth Engine whose every computation waits until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def compute(self, expr: Any) -> Any:
        self.started.release()
        assert self.release.wait(DEADLOCK), "the test never released the blocked analysis"
        return {"scenes": 1}

    def __enter__(self) -> BlockingEarthEngine:
        engine = earth_engine.EarthEngine(live=True, compute=self.compute, sleep=lambda s: None)
        self.previous = earth_engine.use_service(engine)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        earth_engine.use_service(self.previous)


class PerUserLimitTests(TransactionTestCase):
    def setUp(self) -> None:
        self.ada = make_user("ada")
        self.client = logged_in(self.ada)
        self.site_id = create_site(self.client)
        self.url = f"/sites/{self.site_id}/analyses/"

    def unfinished(self, n: int, owner: Any = None) -> None:
        site = Site.objects.get(pk=self.site_id) if owner is None else create_site_for(owner)
        for _ in range(n):
            Analysis.objects.create(site=site, start="2024-01-01", end="2024-12-31")

    @override_settings(SITE_MAX_UNFINISHED_ANALYSES=2)
    def test_a_user_at_the_limit_gets_429_with_retry_after_and_nothing_is_stored(self) -> None:
        self.unfinished(2)
        response = post_json(self.client, self.url, {})
        self.assertEqual(response.status_code, 429, response.content)
        self.assertIn("already have 2 analyses waiting or running (the limit is 2)", response.json()["error"])
        self.assertGreater(int(response["Retry-After"]), 0)
        self.assertEqual(Analysis.objects.count(), 2)

    @override_settings(SITE_MAX_UNFINISHED_ANALYSES=2)
    def test_finished_analyses_and_other_users_do_not_count(self) -> None:
        self.unfinished(2)
        Analysis.objects.filter(pk=Analysis.objects.first().pk).update(status=Analysis.Status.FAILED)  # type: ignore[union-attr]
        # The accepted analysis must stay unfinished while the next POST is counted: a dry
        # run could finish first, and the limit would rightly not count it.
        with BlockingEarthEngine():
            self.assertEqual(post_json(self.client, self.url, {}).status_code, 202)
            self.assertEqual(post_json(self.client, self.url, {}).status_code, 429)
            bob = logged_in(make_user("bob"))
            bobs = create_site(bob)
            self.assertEqual(post_json(bob, f"/sites/{bobs}/analyses/", {}).status_code, 202)
        self.assertTrue(registry.join(DEADLOCK))


    @override_settings(SITE_MAX_UNFINISHED_ANALYSES=2)
    def test_analyses_left_unfinished_by_a_crash_stop_counting_after_an_hour(self) -> None:
        self.unfinished(2)
        self.assertEqual(post_json(self.client, self.url, {}).status_code, 429)
        lost = timezone.now() - datetime.timedelta(hours=1, seconds=1)
        Analysis.objects.filter(status=Analysis.Status.READY).update(created=lost)  # dropped at a deploy
        self.assertEqual(post_json(self.client, self.url, {}).status_code, 202)
        self.assertTrue(registry.join(DEADLOCK))


def create_site_for(owner: Any) -> Site:
    return Site.objects.create(name="x", geometry={}, area_km2=1.0, owner=owner)


@override_settings(DUALQUEUE=BOUNDED)
class FullQueueTests(TransactionTestCase):
    def setUp(self) -> None:
        self.client = logged_in(make_user("ada"))
        self.site_id = create_site(self.client)
        self.url = f"/sites/{self.site_id}/analyses/"

    def test_the_settings_bound_the_site_pool(self) -> None:
        system = registry.get_task_system()
        self.assertEqual((system["site"].maxsize, system["general"].maxsize), (1, 0))
        self.assertEqual(registry.snapshot()["pools"]["site"]["maxsize"], 1)

    def test_a_full_site_queue_answers_503_with_retry_after_and_stores_nothing(self) -> None:
        with BlockingEarthEngine() as engine:
            running = post_json(self.client, self.url, {})
            self.assertEqual(running.status_code, 202, running.content)
            self.assertTrue(engine.started.acquire(timeout=DEADLOCK))  # the one site worker is busy
            self.assertEqual(post_json(self.client, self.url, {}).status_code, 202)  # the one queue slot
            refused = post_json(self.client, self.url, {})
            self.assertEqual(refused.status_code, 503, refused.content)
            self.assertIn("too much work queued", refused.json()["error"])
            self.assertGreater(int(refused["Retry-After"]), 0)
            self.assertEqual(Analysis.objects.count(), 2)
        self.assertTrue(registry.join(DEADLOCK))
        self.assertEqual(set(Analysis.objects.values_list("status", flat=True)), {Analysis.Status.SUCCESSFUL})
        self.assertEqual(registry.snapshot()["pools"]["site"]["rejected"], 1)


@pytest.mark.parametrize(
    ("maxsize", "words"),
    [
        ({"nope": 3}, "names 'nope', which is not a pool"),
        ({"site": -1}, "must be an int >= 0"),
        ({"site": True}, "must be an int >= 0"),
        ({"site": 2.5}, "must be an int >= 0"),
        ([("site", 1)], "must be a dict"),
    ],
)
def test_a_bad_maxsize_is_refused_naming_the_key(maxsize: Any, words: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="MAXSIZE") as caught:
        conf.parse({"POOLS": {"general": 2, "site": 10}, "MAXSIZE": maxsize})
    assert words in str(caught.value)


def test_maxsize_defaults_to_unbounded_for_every_pool() -> None:
    assert conf.parse({"POOLS": {"general": 2, "site": 10}}).maxsize == {"general": 0, "site": 0}
    assert conf.parse({"MAXSIZE": {"site": 5}}).maxsize == {"general": 0, "site": 5}
