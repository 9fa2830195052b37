"""``manage.py seed_demo``: a staff user and two example sites, created once, safe to run again.

The staff user is ``DEMO_ADMIN_USERNAME`` (default ``admin``, email ``DEMO_ADMIN_EMAIL``,
default ``admin@example.com``). Its password is ``DEMO_ADMIN_PASSWORD`` when that is set;
otherwise one is generated on the first run, saved to ``<DEMO_VAR_DIR>/admin-password.txt``
(readable by its owner only) and printed; later runs print the saved one as long as it still
works, and generate a new one if it no longer does.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from esg.sites.geojson import polygon_area_km2, validate_polygon
from esg.sites.models import Site

EXAMPLE_SITES = {
    # About 2 km² of forest edge on the Mau escarpment, Kenya.
    "Mau Forest edge (Kenya)": [[35.70, -0.55], [35.715, -0.55], [35.715, -0.535], [35.70, -0.535], [35.70, -0.55]],
    # A peatland block in Central Kalimantan, Indonesia, about 12 km².
    "Peatland block (Central Kalimantan)": [
        [114.00, -2.30], [114.03, -2.30], [114.035, -2.27], [114.005, -2.265], [114.00, -2.30],
    ],
}


class Command(BaseCommand):
    help = "Create (once) the demo's staff user and two example sites, and print how to log in."

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("DEMO_ADMIN_USERNAME", "admin")
        email = os.environ.get("DEMO_ADMIN_EMAIL", "admin@example.com")
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=username, defaults={"email": email})
            user.email, user.is_staff, user.is_superuser, user.is_active = email, True, True, True
            shown = self._password(user)
            user.save()
            made = []
            for name, ring in EXAMPLE_SITES.items():
                geometry = validate_polygon({"type": "Polygon", "coordinates": [ring]})
                _, new = Site.objects.get_or_create(
                    owner=user,
                    name=name,
                    defaults={"geometry": geometry, "area_km2": polygon_area_km2(geometry["coordinates"])},
                )
                made += [name] if new else []
        self.stdout.write(f"staff user: {username} ({email}){' created' if created else ''}")
        self.stdout.write(f"password:   {shown}")
        self.stdout.write(f"sites:      {len(EXAMPLE_SITES)} example site(s), {len(made)} created now")

    def _password(self, user: Any) -> str:
        from_env = os.environ.get("DEMO_ADMIN_PASSWORD")
        if from_env:
            user.set_password(from_env)
            return "(from DEMO_ADMIN_PASSWORD)"
        saved = Path(settings.VAR_DIR) / "admin-password.txt"
        if saved.exists():
            password = saved.read_text().strip()
            if user.pk is not None and user.check_password(password):
                return password
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.touch(mode=0o600)
        saved.write_text(password + "\n")
        return password
