"""A site, as the ESG platform stores it: a name, its owner's email, an area, and the
analysis result."""

from __future__ import annotations

from django.db import models


class Site(models.Model):
    name = models.CharField(max_length=200)
    owner_email = models.EmailField()
    area_km2 = models.FloatField()
    analysed_at = models.DateTimeField(null=True, blank=True)
    risk = models.CharField(max_length=20, blank=True)  # written by the analysis

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_email})"
