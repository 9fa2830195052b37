"""A site's boundary, checked where it enters: one GeoJSON Polygon, small, finite and closed.

``validate_polygon(obj)`` takes what the client sent (already parsed from strict JSON, see
``esg.jsonapi``) and returns a normalised ``{"type": "Polygon", "coordinates": ...}`` or raises
``GeometryError`` whose message says what is wrong and where (``coordinates[0][3]``).

What is accepted, and why:

* A GeoJSON ``Polygon`` geometry (RFC 7946 section 3.1.6), or a ``Feature`` whose geometry is a
  Polygon: that is what drawing tools such as geojson.io export, and the Feature's properties are
  dropped. Only the Polygon is stored. ``MultiPolygon`` and collections are refused: one site, one
  boundary.
* Each ring is a list of at least four positions, first equal to last (closed). The first ring is
  the boundary, the others are holes. A position is ``[longitude, latitude]`` (an optional third
  number, the altitude, is accepted and dropped), each a finite JSON number, longitude in
  [-180, 180], latitude in [-90, 90]. Booleans are not numbers here, even though Python says so.
* At most ``max_vertices`` positions in all rings together and at most ``max_area_km2`` of area:
  a site analysis is priced by area, and a 10,000-vertex ring is already a very detailed boundary.
  A polygon of less than a square metre (points along one meridian, a ring that retraces its
  own path) is refused as enclosing no area.

The area is the spherical-excess approximation of Chamberlain and Duquette ("Some algorithms for
polygons on a sphere", JPL 2007), the one d3-geo and Turf use, on a sphere of the Earth's mean
radius: within a fraction of a percent of the ellipsoidal area for site-sized polygons, which is
plenty for a cap. Ring orientation is not enforced (RFC 7946 says parsers should not reject
clockwise rings): each ring's area is taken as an absolute value and holes are subtracted.

Linear in the size of the input, by construction: each ring's length is added to the vertex count
before any of its positions is read, each position is read once, the area is one pass over the
rings, and every message quotes at most a few dozen characters of what the client sent
(``tests/demo/test_linear_parsing.py`` counts the work).

Not checked: self-intersection (an O(n^2) test over 10,000 vertices is not worth its cost at the
boundary; Earth Engine evaluates such rings with the even-odd rule) and rings crossing the
antimeridian (they read as the long way round the globe and so fail the area cap).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["EARTH_RADIUS_M", "GeometryError", "Limits", "polygon_area_km2", "ring_area_m2", "validate_polygon"]

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius
MIN_AREA_KM2 = 1e-6  # one square metre: below it, floating-point residue of a degenerate ring


class GeometryError(ValueError):
    """The client's geometry is not one this platform accepts; the message says why."""


@dataclass(frozen=True)
class Limits:
    """How big a site may be. The defaults come from settings (``SITE_MAX_VERTICES``, ``SITE_MAX_AREA_KM2``)."""

    max_vertices: int = 10_000
    max_area_km2: float = 10_000.0


def validate_polygon(obj: Any, limits: Limits = Limits()) -> dict[str, Any]:
    """Return ``obj`` as a normalised GeoJSON Polygon, or raise ``GeometryError``."""
    if not isinstance(obj, dict):
        raise GeometryError(f"geometry must be a GeoJSON object, got {_json_type(obj)}")
    kind = obj.get("type")
    if kind == "Feature":
        geometry = obj.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
            raise GeometryError("a Feature is accepted only with a Polygon geometry")
        obj = geometry
        kind = "Polygon"
    if kind != "Polygon":
        shown = kind[:40] if isinstance(kind, str) else _json_type(kind)
        raise GeometryError(f"geometry type must be 'Polygon' (or a Feature with a Polygon), got {shown!r}")
    rings = obj.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise GeometryError("coordinates must be a non-empty list of rings")

    vertices = 0
    normalised: list[list[list[float]]] = []
    for r, ring in enumerate(rings):
        where = f"coordinates[{r}]"
        if not isinstance(ring, list):
            raise GeometryError(f"{where} must be a list of positions, got {_json_type(ring)}")
        vertices += len(ring)
        if vertices > limits.max_vertices:  # checked before the positions are read: huge rings stop here
            raise GeometryError(f"too many vertices: the limit is {limits.max_vertices} in all rings together")
        if len(ring) < 4:
            raise GeometryError(f"{where} has {len(ring)} positions; a ring needs at least 4 (closed)")
        points = [_position(p, f"{where}[{i}]") for i, p in enumerate(ring)]
        if points[0] != points[-1]:
            raise GeometryError(f"{where} is not closed: its first and last positions must be equal")
        normalised.append(points)

    area = polygon_area_km2(normalised)
    if not area >= MIN_AREA_KM2:
        raise GeometryError("the polygon encloses no area (less than 1 m²)")
    if area > limits.max_area_km2:
        raise GeometryError(f"the polygon covers {area:,.0f} km², over the limit of {limits.max_area_km2:,.0f} km²")
    return {"type": "Polygon", "coordinates": normalised}


def _position(value: Any, where: str) -> list[float]:
    if not isinstance(value, list) or len(value) not in (2, 3):
        raise GeometryError(f"{where} must be [longitude, latitude], got {_json_type(value)}")
    for n in value:
        # bool is an int subclass: refuse it explicitly. Non-finite floats cannot come from
        # esg.jsonapi's parser, but this function must not rely on its caller for that.
        if isinstance(n, bool) or not isinstance(n, (int, float)):
            raise GeometryError(f"{where} must hold numbers, got {_json_type(n)}")
        if isinstance(n, float) and not math.isfinite(n):
            raise GeometryError(f"{where} holds a non-finite number")
    lon, lat = value[0], value[1]
    if not -180 <= lon <= 180:
        raise GeometryError(f"{where}: longitude {lon} is outside [-180, 180]")
    if not -90 <= lat <= 90:
        raise GeometryError(f"{where}: latitude {lat} is outside [-90, 90]")
    return [float(lon), float(lat)]


def ring_area_m2(ring: list[list[float]]) -> float:
    """Absolute area of a closed ring of [lon, lat] degrees on the sphere, in square metres."""
    total = 0.0
    for (lon1, lat1), (lon2, lat2) in itertools.pairwise(ring):
        total += math.radians(lon2 - lon1) * (2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2)))
    return abs(total) * EARTH_RADIUS_M**2 / 2


def polygon_area_km2(rings: list[list[list[float]]]) -> float:
    """The boundary's area minus its holes', in km² (never negative)."""
    outer, *holes = (ring_area_m2(ring) for ring in rings)
    return max(0.0, outer - sum(holes)) / 1e6


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
