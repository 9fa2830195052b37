"""The accounts app's one table: rate-limit counts, shared by every process (see ``esg.accounts.ratelimit``)."""

from __future__ import annotations

from django.db import models


class RateLimitBucket(models.Model):
    """The hits on one key in one fixed window; deleted once the window has passed."""

    key = models.CharField(max_length=200, unique=True)
    hits = models.PositiveIntegerField(default=0)
    expires = models.FloatField(db_index=True, help_text="the window's end, in seconds since the epoch")

    def __str__(self) -> str:
        return f"{self.key}: {self.hits}"
