"""``manage.py flood_server``: flood the *running* server's site pool over HTTP, so its status page shows it live.

``flood`` measures email latency inside its own process; this one drives the server you started
(``make demo``, runserver or gunicorn) through its real HTTP API, one fresh connection per
request, so under gunicorn the kernel spreads the analyses over every worker process. It:

1. makes sure the ``flood`` accounts exist in the server's database with fresh passwords (this
   command runs against the same settings and database as the server) and logs each in through
   the login form: as many accounts as the per-user limit of unfinished analyses
   (``SITE_MAX_UNFINISHED_ANALYSES``) asks for, so the flood is several users, never a way
   around the limit;
2. creates each account's flood site through the JSON API (once) and posts ``--analyses``
   analyses in all, spread over the accounts;
3. polls each analysis's status every second until all have finished (or ``--timeout``), printing
   how many are queued, running, done, failed, and which worker pids answered.

How long each analysis takes is the server's business: in a dry run, its ``GEE_DRY_RUN_SECONDS``
(``make demo`` sets 3 s, so there is something to watch).
"""

from __future__ import annotations

import collections
import math
import secrets
import time
from typing import Any
from urllib.parse import urljoin

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from .flood import FLOOD_SITE


class FreshConnections(requests.Session):
    """A session (cookies, CSRF) that opens a new connection for every request.

    So that under gunicorn the kernel may hand each request to another worker process. Sending
    ``Connection: close`` alone is not enough: Django's runserver closes such a connection without
    saying so in its answer, and the pool would reuse the dead socket for the next POST.
    """

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.close()  # drop pooled connections; the cookie jar stays
        headers = {"Connection": "close", **(kwargs.pop("headers", None) or {})}
        return super().request(*args, headers=headers, **kwargs)


class Command(BaseCommand):
    help = "Post analyses to the running server over HTTP and watch them finish (see its status page)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="the running server (default %(default)s)")
        parser.add_argument("--analyses", type=int, default=40, help="analyses to post (default 40)")
        parser.add_argument("--timeout", type=float, default=300.0, help="stop watching after this many seconds")

    def handle(self, *args: Any, **options: Any) -> None:
        base, count, timeout = options["url"], options["analyses"], options["timeout"]
        if count < 1 or not timeout > 0:
            raise CommandError("need --analyses >= 1 and --timeout > 0")
        url = lambda path: urljoin(base, path)  # noqa: E731
        per_user = max(1, int(getattr(settings, "SITE_MAX_UNFINISHED_ANALYSES", count)))
        accounts = math.ceil(count / per_user)
        sessions = [self._log_in(base, url, "flood" if i == 0 else f"flood-{i + 1}") for i in range(accounts)]
        if accounts > 1:
            self.stdout.write(f"{accounts} flood accounts: each may have {per_user} unfinished analyses")
        posted = []
        for i in range(count):
            http, api, site = sessions[i % accounts]
            answer = http.post(url(f"/sites/{site['id']}/analyses/"), data=b"", headers=api, timeout=30)
            if answer.status_code != 202:
                raise CommandError(f"an analysis was refused: {answer.status_code} {answer.text[:200]}")
            posted.append((http, answer.json()["status_url"]))  # each account reads only its own
        self.stdout.write(f"posted {count} analyses to {base}")

        deadline = time.monotonic() + timeout
        while True:
            statuses = collections.Counter(
                http.get(url(u), timeout=30).json()["status"] for http, u in posted
            )
            self.stdout.write(
                f"  queued {statuses['READY']:3}  running {statuses['RUNNING']:3}  "
                f"done {statuses['SUCCESSFUL']:3}  failed {statuses['FAILED']:3}"
            )
            if statuses["READY"] + statuses["RUNNING"] == 0:
                break
            if time.monotonic() > deadline:
                raise CommandError(f"not all analyses finished within {timeout:.0f}s")
            time.sleep(1.0)
        self.stdout.write(f"all {count} analyses finished: {statuses['SUCCESSFUL']} done, {statuses['FAILED']} failed")

    def _log_in(self, base: str, url: Any, username: str) -> tuple[FreshConnections, dict[str, str], dict[str, Any]]:
        """A logged-in session of ``username`` (made with a fresh password), its API headers and its flood site."""
        password = secrets.token_urlsafe(16)
        users = get_user_model().objects
        user, _ = users.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.set_password(password)
        user.save()
        http = FreshConnections()
        try:
            http.get(url("/accounts/login/"), timeout=30)
        except requests.ConnectionError as exc:
            raise CommandError(f"no server answers at {base}: start it first (make demo)") from exc
        token = http.cookies.get("csrftoken", "")
        login = http.post(
            url("/accounts/login/"), data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": url("/accounts/login/")}, allow_redirects=False, timeout=30,
        )
        if login.status_code != 302:
            raise CommandError(f"could not log in as {username!r}: {login.status_code}")
        api = {"X-CSRFToken": http.cookies.get("csrftoken", ""), "Referer": base}
        sites = http.get(url("/sites/"), timeout=30).json()["sites"]
        site = next((s for s in sites if s["name"] == "Flood test site"), None)
        if site is None:
            made = http.post(url("/sites/"), json={"name": "Flood test site", "geometry": FLOOD_SITE},
                             headers=api, timeout=30)
            if made.status_code != 201:
                raise CommandError(f"the site was refused: {made.status_code} {made.text[:200]}")
            site = made.json()
        if username == "flood":
            page = url(f"/app/sites/{site['id']}/")
            self.stdout.write(f"watch it: {url('/background-tasks/status/page/')} (staff) and {page}")
        return http, api, site
