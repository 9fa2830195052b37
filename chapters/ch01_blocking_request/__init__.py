"""Chapter 1, the blocking request: slow work done inside the web request, and a thread
per request.

No worker yet: this chapter has none of the behaviour suite's features.
"""

from .views import (
    BlockingApp,
    Response,
    ThreadPerRequestApp,
    analyse_site,
    send_password_reset,
)

FEATURES: frozenset[str] = frozenset()

__all__ = [
    "FEATURES",
    "BlockingApp",
    "Response",
    "ThreadPerRequestApp",
    "analyse_site",
    "send_password_reset",
]
