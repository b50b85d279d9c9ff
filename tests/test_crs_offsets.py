"""CRS codes, inference from magnitudes, and web-map offsets against published reference values."""
import numpy as np
import pytest
from pyproj import Transformer

from gis_screening.crs import gk3_epsg, gk3_zone_for_lon, infer_crs, metric_epsg_for_lon
from gis_screening.offsets import bd09_to_gcj02, gcj02_to_bd09, gcj02_to_wgs84, wgs84_to_gcj02


def test_gk_codes():
    assert gk3_epsg(39) == 4548 and gk3_epsg(40) == 4549
    assert gk3_epsg(40, prefixed=True) == 4528 and gk3_epsg(25, prefixed=True) == 4513
    assert gk3_zone_for_lon(119.30) == 40 and gk3_zone_for_lon(118.4) == 39
    assert metric_epsg_for_lon(117.9) == 4548


def test_fuzhou_check_value():
    x, y = Transformer.from_crs(4490, 4528, always_xy=True).transform(119.30, 26.08)
    assert round(y, 3) == 2885885.750 and round(x, 3) == 40429964.059


@pytest.mark.parametrize("bounds,kw,epsg,swapped", [
    ((119.2, 26.0, 119.4, 26.1), {}, 4490, False),
    ((26.0, 119.2, 26.1, 119.4), {}, 4490, True),
    ((40429000.0, 2885000.0, 40430000.0, 2886000.0), {}, 4528, False),
    ((2885000.0, 40429000.0, 2886000.0, 40430000.0), {}, 4528, True),
    ((2885000.0, 40429000.0, 2886000.0, 40430000.0), {"xy_is_northing_easting": True}, 4528, False),
    ((429000.0, 2885000.0, 430000.0, 2886000.0), {"zone": 40}, 4549, False),
    ((20429000.0, 2885000.0, 20430000.0, 2886000.0), {}, 4498, False),  # 6° zone 20 with prefix (4491 = zone 13)
])
def test_infer(bounds, kw, epsg, swapped):
    g = infer_crs(*bounds, **kw)
    assert (g.epsg, g.swapped) == (epsg, swapped)


def test_infer_errors():
    with pytest.raises(ValueError, match="zone cannot be inferred"):
        infer_crs(429000.0, 2885000.0, 430000.0, 2886000.0)
    with pytest.raises(ValueError, match="neither"):
        infer_crs(-5.0, 40.0, -4.0, 41.0)


def test_bd09_reference_vector():
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-12)
    assert lat == pytest.approx(39.92133699351021, abs=1e-12)
    back = bd09_to_gcj02(lon, lat)
    assert np.allclose(back, (116.404, 39.915), atol=1e-9)


def test_gcj_inverse_is_centimetre_accurate_over_fujian():
    rng = np.random.default_rng(1)
    lon = rng.uniform(115.8, 120.7, 2000)
    lat = rng.uniform(23.5, 28.3, 2000)
    glon, glat = wgs84_to_gcj02(lon, lat)
    offset_m = np.hypot((glon - lon) * 100_000, (glat - lat) * 111_000)
    assert 300 < offset_m.mean() < 800  # the obfuscation is hundreds of metres in Fujian
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    err_m = np.hypot((wlon - lon) * 100_000, (wlat - lat) * 111_000)
    assert err_m.max() < 0.01


@pytest.mark.parametrize("northing_first,stored_swapped", [(True, False), (True, True), (False, False), (False, True)])
def test_resolve_crs_axis_order(northing_first, stored_swapped):
    import geopandas as gpd
    from shapely.geometry import Point

    from gis_screening.io.pipeline import resolve_crs
    from gis_screening.io.vector import RawRead
    n, e = 2885885.750, 40429964.059
    first_is_n = northing_first != stored_swapped
    pt = Point(n, e) if first_is_n else Point(e, n)
    raw = RawRead(gpd.GeoDataFrame(geometry=[pt]), None, xy_is_northing_easting=northing_first)
    gdf, label, _reason, _p = resolve_crs(raw, "t.txt")
    assert label == "EPSG:4528"
    g = gdf.geometry.iloc[0]
    assert (g.x, g.y) == pytest.approx((119.30, 26.08), abs=1e-8)
