"""``manage.py flood``: fill the site pool with analyses, ask for password resets meanwhile, and time the emails.

The seed system's headline claim is that a full site pool never delays an email: the reset
email waits only behind other general-pool work. This command measures it in a process of its own
(its own pools, which a running server's status page does not show; ``flood_server`` floods the
running server over HTTP instead, to watch it there):

1. ``--analyses`` analyses of one site are posted through the real API. They run on the site
   pool as dry runs that take ``--simulated-seconds`` each inside an Earth Engine slot (never a
   real Earth Engine call, whatever the configuration: a load test must not spend quota).
2. ``--resets`` password resets are posted through the real form, one every ``--interval``
   seconds (by default spread over the time the analyses take), each for its own account, and
   each from its own documentation-range client address (the rate limits, and the flood
   account's limit of unfinished analyses, are not the subject; they are lifted for the run).
3. For each reset it records the site backlog at submit (queued + running on the site pool)
   and the time from submit to the moment the email backend finished sending (the
   ``task_finished`` signal of ``send_email``), and prints p50 / p95 / max by backlog.

Email goes through the configured backend, except that the console backend is swapped for the
local-memory one (twenty emails on the terminal hide the table). The analyses, the flood's site
and its reset accounts stay in the database afterwards, as any other user's would.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client
from django.test.utils import override_settings
from dualqueue.django import registry
from dualqueue.django.compat import TaskResult, TaskResultStatus, default_email_backend, email_settings, task_finished

from esg.sites import earth_engine
from esg.sites.geojson import polygon_area_km2, validate_polygon
from esg.sites.models import Analysis, Site

FLOOD_SITE = {"type": "Polygon", "coordinates": [[[36.80, -1.30], [36.81, -1.30], [36.81, -1.29], [36.80, -1.30]]]}
SEND_EMAIL = "esg.accounts.tasks.send_email"
HOST = "localhost"


def _scheme() -> dict[str, str]:
    # With HTTPS on (the production default) a plain-HTTP request is redirected: the flood's are not.
    return {"wsgi.url_scheme": "https", "SERVER_PORT": "443"} if getattr(settings, "SECURE_SSL_REDIRECT", False) else {}


class Command(BaseCommand):
    help = "Flood the site pool with analyses while requesting password resets; print email latency vs backlog."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--analyses", type=int, default=40, help="analyses to post (default 40)")
        parser.add_argument("--resets", type=int, default=20, help="password resets to request (default 20)")
        parser.add_argument(
            "--simulated-seconds", type=float, default=2.0, help="simulated Earth Engine time per analysis (default 2)"
        )
        parser.add_argument("--interval", type=float, default=None, help="seconds between resets (default: spread)")
        parser.add_argument("--timeout", type=float, default=120.0, help="give up waiting after this many seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        analyses, resets = options["analyses"], options["resets"]
        seconds, timeout = options["simulated_seconds"], options["timeout"]
        if analyses < 0 or resets < 1 or not seconds >= 0 or not timeout > 0:
            raise CommandError("need --analyses >= 0, --resets >= 1, --simulated-seconds >= 0, --timeout > 0")
        site_pool = registry.get_task_system()["site"]
        slots = min(site_pool.workers, int(settings.GEE_MAX_CONCURRENT))
        interval = options["interval"]
        if interval is None:  # spread the resets over the time the backlog takes to drain
            interval = analyses * seconds / slots / resets
        backend = default_email_backend()
        if backend.endswith("console.EmailBackend"):
            backend = "django.core.mail.backends.locmem.EmailBackend"

        owner, recipients = self._accounts(resets)
        engine = earth_engine.EarthEngine(live=False, dry_run_seconds=seconds, max_concurrent=slots)
        previous = earth_engine.use_service(engine)
        lifted = {"per_email": (10**9, 3600), "per_ip": (10**9, 3600)}
        try:
            with override_settings(
                **email_settings(backend),
                PASSWORD_RESET_LIMITS=lifted,
                SITE_MAX_UNFINISHED_ANALYSES=analyses + 1,
            ), _sent_times() as log:
                rows = self._flood(owner, recipients, analyses, interval, site_pool, log, timeout)
        finally:
            earth_engine.use_service(previous)
        self._report(rows, analyses, seconds, slots, backend)

    def _accounts(self, resets: int) -> tuple[Any, list[str]]:
        users = get_user_model().objects
        owner, _ = users.get_or_create(username="flood", defaults={"email": "flood@example.com"})
        recipients = []
        for i in range(resets):
            email = f"flood-reset-{i}@example.com"
            user, created = users.get_or_create(username=f"flood-reset-{i}", defaults={"email": email})
            if created or not user.has_usable_password():
                user.set_password(f"flood-{i}-{time.time_ns()}")  # usable: Django sends resets only to those
                user.save()
            recipients.append(email)
        return owner, recipients

    def _flood(
        self, owner: Any, recipients: list[str], analyses: int, interval: float, site_pool: Any,
        log: SentLog, timeout: float,
    ) -> list[tuple[int, float | None]]:
        geometry = validate_polygon(FLOOD_SITE)
        site, _ = Site.objects.get_or_create(
            owner=owner, name="Flood test site",
            defaults={"geometry": geometry, "area_km2": polygon_area_km2(geometry["coordinates"])},
        )
        api = Client(SERVER_NAME=HOST, **_scheme())
        api.force_login(owner)
        first = time.monotonic()
        posted = []
        for _ in range(analyses):
            response = api.post(f"/sites/{site.pk}/analyses/", "", "application/json")
            if response.status_code != 202:
                raise CommandError(f"an analysis was refused: {response.status_code} {response.content[:200]!r}")
            posted.append(response.json()["result_id"])
        self.stdout.write(f"posted {analyses} analyses in {time.monotonic() - first:.2f}s")

        submitted: dict[str, tuple[float, int]] = {}
        for i, email in enumerate(recipients):
            snapshot = site_pool.snapshot()
            backlog = snapshot["queued"] + snapshot["running"]
            browser = Client(SERVER_NAME=HOST, REMOTE_ADDR=f"198.51.100.{i % 250 + 1}", **_scheme())
            submitted[email] = (time.monotonic(), backlog)
            response = browser.post("/accounts/password-reset/", {"email": email})
            if response.status_code != 302:
                raise CommandError(f"a reset was refused: {response.status_code}")
            if i + 1 < len(recipients):
                time.sleep(interval)

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (len(log.times()) < len(recipients) or not site_pool.join(0.05)):
            time.sleep(0.05)
        sent = log.times()
        done = Analysis.objects.filter(pk__in=posted, status=Analysis.Status.SUCCESSFUL).count()
        self.stdout.write(f"analyses finished: {done}/{analyses}; emails sent: {len(sent)}/{len(recipients)}")
        rows = [(backlog, (sent[e] - at) if e in sent else None) for e, (at, backlog) in submitted.items()]
        if len(sent) < len(recipients):
            self._report(rows, analyses, 0, 0, "")
            raise CommandError(f"only {len(sent)} of {len(recipients)} emails were sent within {timeout:.0f}s")
        return rows

    def _report(
        self, rows: list[tuple[int, float | None]], analyses: int, seconds: float, slots: int, backend: str
    ) -> None:
        if backend:
            self.stdout.write(
                f"site pool: {analyses} analyses x {seconds:g}s simulated, {slots} at a time; email backend: {backend}"
            )
        width = max(1, math.ceil(max((b for b, _ in rows), default=0) / 4))
        bins: dict[tuple[int, int], list[float | None]] = {}
        for backlog, latency in sorted(rows, key=lambda r: r[0]):
            low = 0 if backlog == 0 else (backlog - 1) // width * width + 1
            bins.setdefault((low, low if backlog == 0 else low + width - 1), []).append(latency)
        self.stdout.write("")
        self.stdout.write(f"{'site backlog at submit':>24}  {'emails':>6}  {'p50 ms':>8}  {'p95 ms':>8}  {'max ms':>8}")
        for (low, high), latencies in sorted(bins.items()):
            self.stdout.write(_row(f"{low}" if low == high else f"{low}-{high}", latencies))
        self.stdout.write(_row("all", [latency for _, latency in rows]))

    # -- the measurement ----------------------------------------------------


def _row(label: str, latencies: list[float | None]) -> str:
    done = sorted(x * 1000 for x in latencies if x is not None)
    missing = len(latencies) - len(done)
    if not done:
        return f"{label:>24}  {len(latencies):>6}  {'-':>8}  {'-':>8}  {'-':>8}  ({missing} not sent)"
    cells = f"{_rank(done, 0.50):8.1f}  {_rank(done, 0.95):8.1f}  {done[-1]:8.1f}"
    return f"{label:>24}  {len(latencies):>6}  {cells}" + (f"  ({missing} not sent)" if missing else "")


def _rank(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class SentLog:
    """Recipient -> the moment its ``send_email`` task finished successfully (written by workers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards _sent: general-pool workers write, the command reads
        self._sent: dict[str, float] = {}

    def record(self, sender: Any, task_result: TaskResult[Any], **kwargs: Any) -> None:
        if task_result.task.module_path == SEND_EMAIL and task_result.status == TaskResultStatus.SUCCESSFUL:
            finished = time.monotonic()
            with self._lock:
                for recipient in task_result.args[3]:
                    self._sent.setdefault(recipient, finished)

    def times(self) -> dict[str, float]:
        with self._lock:
            return dict(self._sent)


@contextmanager
def _sent_times() -> Iterator[SentLog]:
    log = SentLog()
    task_finished.connect(log.record, weak=False)
    try:
        yield log
    finally:
        task_finished.disconnect(log.record)
