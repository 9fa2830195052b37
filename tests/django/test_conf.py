"""``DUALQUEUE`` is read lazily, validated with messages that say what is wrong, and re-read when it changes.

And a ``DualqueueBackend`` refuses, when it is built, a queue that has no pool to run on.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, override_settings
from dualqueue.django import conf, registry
from dualqueue.django.backend import DualqueueBackend
from dualqueue.django.compat import task_backends

from tests.django import tasks
from tests.django.support import finished

BACKEND = "dualqueue.django.backend.DualqueueBackend"


class SettingsTests(SimpleTestCase):
    def test_missing_setting_means_the_seed_system(self) -> None:
        parsed = conf.parse(None)
        self.assertEqual(dict(parsed.pools), {"general": 2, "site": 10})
        self.assertEqual(parsed.exit_timeout, 25.0)
        self.assertEqual((parsed.status_access, parsed.results_kept), ("staff-or-token", 1000))

    def test_keys_are_optional_and_override_the_defaults(self) -> None:
        parsed = conf.parse({"POOLS": {"light": 1}, "RESULTS_KEPT": None, "STATUS_ACCESS": "token"})
        self.assertEqual(dict(parsed.pools), {"light": 1})
        self.assertIsNone(parsed.results_kept)
        self.assertEqual((parsed.staff_allowed, parsed.token_allowed), (False, True))

    def test_bad_values_are_refused_with_a_message_naming_the_key(self) -> None:
        cases = [
            ([("POOLS", {"general": 2})], "DUALQUEUE must be a dict, got list"),
            ({"POOL": {"general": 2}}, "unknown key(s) 'POOL' (did you mean 'POOLS'?)"),
            ({"pools": {"general": 2}}, "did you mean 'POOLS'?"),
            (
                {"WORKERS": 3},
                "unknown key(s) 'WORKERS'; the keys are EXIT_TIMEOUT, MAXSIZE, PERIODIC, POOLS, PROCESSES_DIR, "
                "PROGRESS_INTERVAL, PUBLISH_INTERVAL, RESULTS_KEPT, RESULT_STORE, STATUS_ACCESS",
            ),
            ({"PROGRESS_INTERVAL": -1}, 'DUALQUEUE["PROGRESS_INTERVAL"] must be a number of seconds between 0'),
            ({"PROGRESS_INTERVAL": True}, 'DUALQUEUE["PROGRESS_INTERVAL"] must be a number'),
            ({"PERIODIC": []}, 'DUALQUEUE["PERIODIC"] must be a dict of name ->'),
            ({"PERIODIC": {"": {}}}, 'DUALQUEUE["PERIODIC"]: a name must be a non-empty string'),
            ({"PERIODIC": {"x": "esg.tasks.t"}}, 'DUALQUEUE["PERIODIC"][\'x\'] must be a dict with "task"'),
            (
                {"PERIODIC": {"x": {"task": "a.b", "every": 5, "when": 1}}},
                "DUALQUEUE[\"PERIODIC\"]['x'] has unknown key(s) ['when']",
            ),
            (
                {"PERIODIC": {"x": {"task": "nodots", "every": 5}}},
                'DUALQUEUE["PERIODIC"][\'x\']["task"] must be the dotted path',
            ),
            ({"PERIODIC": {"x": {"task": "a.b"}}}, 'DUALQUEUE["PERIODIC"][\'x\'] needs exactly one of "every"'),
            ({"PERIODIC": {"x": {"task": "a.b", "every": 5, "cron": "* * * * *"}}}, "needs exactly one of"),
            (
                {"PERIODIC": {"x": {"task": "a.b", "every": 0.5}}},
                'DUALQUEUE["PERIODIC"][\'x\']["every"] must be a finite number of seconds >= 1',
            ),
            ({"PERIODIC": {"x": {"task": "a.b", "every": float("nan")}}}, '["every"] must be a finite number'),
            ({"PERIODIC": {"x": {"task": "a.b", "every": True}}}, '["every"] must be a finite number'),
            ({"PERIODIC": {"x": {"task": "a.b", "cron": ""}}}, '["cron"] must be a cron expression'),
            ({"PERIODIC": {"x": {"task": "a.b", "every": 5, "args": "no"}}}, '["args"] must be a list'),
            (
                {"PERIODIC": {"x": {"task": "a.b", "every": 5, "kwargs": {1: 2}}}},
                '["kwargs"] must be a dict with string keys',
            ),
            ({"PERIODIC": {"x": {"task": "a.b", "every": 5, "args": [object()]}}}, '"args" and "kwargs" must be JSON'),
            ({"POOLS": [2, 10]}, 'DUALQUEUE["POOLS"] must be a non-empty dict of pool name -> worker count'),
            ({"POOLS": {}}, 'DUALQUEUE["POOLS"] must be a non-empty dict'),
            ({"POOLS": {"general": 0}}, """["POOLS"]['general'] must be a positive int (worker threads); got 0"""),
            ({"POOLS": {"general": True}}, "must be a positive int (worker threads); got True"),
            ({"POOLS": {"general": 2.5}}, "must be a positive int (worker threads); got 2.5"),
            ({"POOLS": {"": 2}}, "a pool name must be a non-empty string"),
            ({"POOLS": {"clock": 2}}, "'clock' cannot name a pool"),
            ({"EXIT_TIMEOUT": -1}, """DUALQUEUE["EXIT_TIMEOUT"] must be a number of seconds >= 0; got -1"""),
            ({"EXIT_TIMEOUT": float("nan")}, "must be a number of seconds >= 0; got nan"),
            ({"EXIT_TIMEOUT": "25"}, "must be a number of seconds >= 0; got '25'"),
            ({"STATUS_ACCESS": "public"}, "must be one of 'staff-or-token', 'staff', 'token'; got 'public'"),
            ({"RESULTS_KEPT": -1}, """DUALQUEUE["RESULTS_KEPT"] must be an int >= 0"""),
            ({"RESULTS_KEPT": 10.0}, "or None (unbounded); got 10.0"),
            ({"RESULT_STORE": "redis"}, """["RESULT_STORE"] must be one of 'memory', 'database'; got 'redis'"""),
        ]
        for raw, message in cases:
            with self.subTest(raw=raw), self.assertRaisesMessage(ImproperlyConfigured, message):
                conf.parse(raw)

    def test_the_setting_is_read_lazily_so_override_settings_works(self) -> None:
        with override_settings(DUALQUEUE={"POOLS": {"general": 1, "site": 3}}):
            self.assertEqual(dict(conf.get_settings().pools), {"general": 1, "site": 3})
            self.assertEqual(registry.get_task_system()["site"].workers, 3)
        self.assertEqual(dict(conf.get_settings().pools), {"general": 2, "site": 10})
        self.assertEqual(registry.get_task_system()["site"].workers, 10)

    def test_a_settings_change_shuts_the_old_system_down_and_builds_a_new_one(self) -> None:
        before = registry.get_task_system()
        with override_settings(DUALQUEUE={"POOLS": {"general": 1, "site": 1}}):
            during = registry.get_task_system()
            self.assertIsNot(during, before)
            self.assertTrue(before["general"].closed)
            result = tasks.site_thread_name.enqueue()  # the backend maps queues onto the new pools
            self.assertTrue(finished(result))
            self.assertEqual(result.return_value, "dualqueue-site-0")
        self.assertTrue(during["general"].closed)
        self.assertIsNot(registry.get_task_system(), during)

    def test_an_invalid_setting_fails_when_first_used_not_at_import(self) -> None:
        with override_settings(DUALQUEUE={"POOLS": {"general": 0}}):
            with self.assertRaisesMessage(ImproperlyConfigured, "must be a positive int"):
                registry.get_task_system()
            with self.assertRaisesMessage(ImproperlyConfigured, "must be a positive int"):
                tasks.noop.enqueue()


class BackendConfigurationTests(SimpleTestCase):
    def build(self, **params: object) -> DualqueueBackend:
        return DualqueueBackend("custom", {"BACKEND": BACKEND, **params})

    def test_default_goes_to_general_and_a_queue_named_like_a_pool_to_that_pool(self) -> None:
        backend = self.build(QUEUES=["default", "site"])
        self.assertEqual(backend.queue_pools, {"default": "general", "site": "site"})

    def test_queue_pools_map_any_queue_to_any_pool(self) -> None:
        backend = self.build(
            QUEUES=["default", "emails", "gee"], OPTIONS={"QUEUE_POOLS": {"gee": "site", "emails": "general"}}
        )
        self.assertEqual(backend.queue_pools, {"default": "general", "emails": "general", "gee": "site"})

    def test_misconfigured_backends_are_refused_when_built(self) -> None:
        cases = [
            ({"QUEUES": ["default", "bulk"]}, "TASKS['custom']: queue 'bulk' has no pool; map it in OPTIONS"),
            (
                {"QUEUES": ["default"], "OPTIONS": {"QUEUE_POOLS": {"default": "heavy"}}},
                "queue 'default' maps to pool 'heavy', which is not in DUALQUEUE[\"POOLS\"] ['general', 'site']",
            ),
            ({"QUEUES": []}, "is empty, which lets any queue name through"),
            (
                {"QUEUES": ["default"], "OPTIONS": {"QUEUE_POOLS": {"other": "site"}}},
                "maps queue(s) ['other'] that are not in QUEUES ['default']",
            ),
            ({"QUEUES": ["default"], "OPTIONS": {"QUEUE_POOLS": ["site"]}}, "must be a dict of queue name -> pool"),
            ({"QUEUES": ["default"], "OPTIONS": {"PRIORITY": True}}, "unknown key(s) ['PRIORITY']"),
        ]
        for params, message in cases:
            with self.subTest(params=params), self.assertRaisesMessage(ImproperlyConfigured, message):
                self.build(**params)

    def test_a_misconfigured_backend_fails_when_a_task_is_declared(self) -> None:
        bad = {"default": {"BACKEND": BACKEND, "QUEUES": ["default", "bulk"]}}
        with override_settings(TASKS=bad), self.assertRaisesMessage(ImproperlyConfigured, "queue 'bulk' has no pool"):
            task_backends["default"]
