"""The site boundary check: what it accepts, what it refuses and why, and the area it computes."""

from __future__ import annotations

import math

import pytest
from esg.sites.geojson import EARTH_RADIUS_M, GeometryError, Limits, polygon_area_km2, validate_polygon


def square(lon: float = 10.0, lat: float = 50.0, size: float = 0.1) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]


def polygon(*rings: list[list[float]]) -> dict[str, object]:
    return {"type": "Polygon", "coordinates": list(rings) or [square()]}


def test_a_polygon_comes_back_normalised() -> None:
    result = validate_polygon({"type": "Polygon", "coordinates": [[[10, 50], [10.1, 50], [10.1, 50.1], [10, 50]]]})
    assert result == {"type": "Polygon", "coordinates": [[[10.0, 50.0], [10.1, 50.0], [10.1, 50.1], [10.0, 50.0]]]}


def test_a_feature_is_unwrapped_to_its_polygon_and_altitudes_dropped() -> None:
    ring = [[*p, 120.0] for p in square()]
    feature = {"type": "Feature", "properties": {"x": 1}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    assert validate_polygon(feature) == polygon(square())


def test_area_of_a_one_degree_cell_matches_the_closed_form() -> None:
    # On a sphere, lon [0, 1] x lat [0, 1] covers R^2 * dlon * (sin(lat2) - sin(lat1)).
    expected = EARTH_RADIUS_M**2 * math.radians(1) * math.sin(math.radians(1)) / 1e6
    assert polygon_area_km2([square(0, 0, 1)]) == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(12_364, rel=1e-3)


def test_area_ignores_orientation_and_subtracts_holes() -> None:
    outer = square(10, 50, 0.2)
    hole = square(10.05, 50.05, 0.05)
    assert polygon_area_km2([outer[::-1]]) == pytest.approx(polygon_area_km2([outer]))
    assert polygon_area_km2([outer, hole]) == pytest.approx(polygon_area_km2([outer]) - polygon_area_km2([hole]))


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ([1, 2], "must be a GeoJSON object"),
        ({"type": "MultiPolygon", "coordinates": []}, "must be 'Polygon'"),
        ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}}, "Feature is accepted only"),
        ({"type": "Polygon"}, "non-empty list of rings"),
        ({"type": "Polygon", "coordinates": []}, "non-empty list of rings"),
        ({"type": "Polygon", "coordinates": ["ring"]}, "coordinates[0] must be a list"),
        ({"type": "Polygon", "coordinates": [square()[:3]]}, "at least 4"),
        ({"type": "Polygon", "coordinates": [square()[:4]]}, "not closed"),
        ({"type": "Polygon", "coordinates": [[*square()[:2], [1], *square()[2:]]]}, "coordinates[0][2]"),
        ({"type": "Polygon", "coordinates": [[*square()[:2], ["10", 50], *square()[2:]]]}, "must hold numbers"),
        ({"type": "Polygon", "coordinates": [[*square()[:2], [True, 50], *square()[2:]]]}, "must hold numbers"),
        ({"type": "Polygon", "coordinates": [[*square()[:2], [math.nan, 50], *square()[2:]]]}, "non-finite"),
        ({"type": "Polygon", "coordinates": [[*square()[:2], [math.inf, 50], *square()[2:]]]}, "non-finite"),
        ({"type": "Polygon", "coordinates": [[*square()[:2], [181, 50], *square()[2:]]]}, "longitude 181"),
        ({"type": "Polygon", "coordinates": [[*square()[:2], [10, -90.5], *square()[2:]]]}, "latitude -90.5"),
        ({"type": "Polygon", "coordinates": [[*square()[:2], [10**400, 50], *square()[2:]]]}, "outside [-180, 180]"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [0, 2], [0, 0]]]}, "no area"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 1], [0, 0]]]}, "no area"),
        ({"type": "Polygon", "coordinates": [[[5, 5]] * 4]}, "no area"),
        ({"type": "Polygon", "coordinates": [square(0, 0, 2)]}, "over the limit"),
    ],
)
def test_refused_geometries_say_why(geometry: object, message: str) -> None:
    with pytest.raises(GeometryError) as caught:
        validate_polygon(geometry)
    assert message in str(caught.value)


def test_the_vertex_cap_counts_every_ring_and_stops_before_reading_positions() -> None:
    with_hole = polygon(square(10, 50, 0.1), square(10.02, 50.02, 0.01)[::-1])  # 5 + 5 positions
    assert validate_polygon(with_hole, Limits(max_vertices=10))
    with pytest.raises(GeometryError, match="too many vertices"):
        validate_polygon(with_hole, Limits(max_vertices=9))
    huge = {"type": "Polygon", "coordinates": [[None] * 1_000_000]}  # never walked: refused by its length
    with pytest.raises(GeometryError, match="too many vertices"):
        validate_polygon(huge)
