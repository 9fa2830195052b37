"""Two request handlers of a small ESG platform, written the first way everyone writes
them.

``BlockingApp`` does the slow work inside the request: the password-reset email
(an SMTP round trip) and the Earth Engine analysis of a site (about 30 seconds
in production). The request's latency is the work's latency, and a web worker
is held for all of it.

``ThreadPerRequestApp`` is the first fix anybody tries: start a thread per
request and answer at once. The request gets fast; the process now runs as many
threads as requests arrived, and nothing counts them, bounds them, or notices
when one of them fails.

No Django is needed: a handler here is a method that takes plain arguments and
returns a ``Response``, which is all this chapter needs from a web framework.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "BlockingApp",
    "Response",
    "ThreadPerRequestApp",
    "analyse_site",
    "send_password_reset",
]


@dataclass(frozen=True)
class Response:
    status: int
    body: str


# --8<-- [start:work]
def send_password_reset(address: str, *, seconds: float = 0.2) -> None:
    """Stand-in for ``django.core.mail.send_mail``: an SMTP round trip of
    ``seconds``."""
    time.sleep(seconds)


def analyse_site(site_id: int, *, seconds: float = 1.0) -> dict[str, float]:
    """Stand-in for the Earth Engine analysis of one site: 30 s in production,
    ``seconds`` here."""
    time.sleep(seconds)
    return {"site_id": site_id, "forest_loss_ha": 0.0}
    # --8<-- [end:work]


# --8<-- [start:blocking]
class BlockingApp:
    """The slow work runs inside the request, so the response waits for it."""

    def __init__(
        self,
        send_email: Callable[[str], object] = send_password_reset,
        analyse: Callable[[int], object] = analyse_site,
    ) -> None:
        self.send_email = send_email
        self.analyse = analyse

    def password_reset(self, address: str) -> Response:
        self.send_email(address)
        return Response(200, f"We sent a reset link to {address}.")

    def site_analysis(self, site_id: int) -> Response:
        self.analyse(site_id)
        return Response(200, f"Analysis of site {site_id} is ready.")
        # --8<-- [end:blocking]


# --8<-- [start:thread-per-request]
class ThreadPerRequestApp(BlockingApp):
    """The first fix: start a thread for the work and answer at once.

    Nothing bounds the threads, nothing counts them, and an exception in one
    goes to ``threading.excepthook`` (stderr) and nowhere else.
    """

    def password_reset(self, address: str) -> Response:
        self._in_background(self.send_email, address)
        return Response(202, f"We are sending a reset link to {address}.")

    def site_analysis(self, site_id: int) -> Response:
        self._in_background(self.analyse, site_id)
        return Response(202, f"Analysis of site {site_id} has started.")

    def _in_background(self, fn: Callable[..., object], *args: object) -> None:
        threading.Thread(target=fn, args=args, daemon=True).start()
        # --8<-- [end:thread-per-request]
