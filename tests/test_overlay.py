"""Overlay metrics on subdivided layers equal the direct shapely computation on the unsplit geometry."""
import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, box

from gis_screening.engine.overlay import batch_overlaps, footprint_metrics, overlaps_for
from gis_screening.engine.prepared import PreparedCache, prepare_layer, subdivide
from gis_screening.model import Layer

CX, CY = 430_000.0, 2_885_000.0  # zone 40 metres


def _star(cx, cy, r, n, seed, hole=False):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rad = r * (1 + 0.3 * rng.uniform(-1, 1, n) * 0.2 + 0.2 * np.sin(7 * t))
    poly = shapely.Polygon(np.column_stack([cx + rad * np.cos(t), cy + rad * np.sin(t)]))
    return poly.difference(Point(cx, cy).buffer(r * 0.3)) if hole else poly


def _layer(geoms, role="eco_redline"):
    gdf = gpd.GeoDataFrame({"code": [f"F{i}" for i in range(len(geoms))], "name": [f"要素{i}" for i in range(len(geoms))]},
                           geometry=geoms, crs=4549).to_crs(4490)
    return Layer(role=role, name=role, source="mem", gdf=gdf)


@pytest.fixture(scope="module")
def big_layer():
    geoms = [_star(CX, CY, 3_000, 20_000, 1, hole=True), _star(CX + 7_000, CY, 2_000, 5_000, 2),
             MultiPolygon([box(CX - 6_000, CY - 1_000, CX - 5_000, CY), box(CX - 4_500, CY - 1_000, CX - 4_000, CY)]),
             box(CX, CY + 4_000, CX + 50, CY + 4_050)]
    return _layer(geoms)


def test_subdivision_partitions_exactly(big_layer):
    metric = big_layer.gdf.to_crs(4549).geometry.values
    pieces, owner = subdivide(np.asarray(metric, dtype=object), 256)
    assert shapely.get_num_coordinates(pieces).max() <= 300
    assert len(pieces) > 100
    for i, g in enumerate(metric):
        assert shapely.area(pieces[owner == i]).sum() == pytest.approx(g.area, rel=1e-9)


def _direct(fp_metric, geom):
    return shapely.intersection(fp_metric, geom).area, shapely.distance(fp_metric, geom)


def test_random_footprints_match_direct_computation(big_layer):
    prep = prepare_layer(big_layer, 4549)
    rng = np.random.default_rng(7)
    checked = 0
    for k in range(150):
        x, y = rng.uniform(CX - 8_000, CX + 10_000), rng.uniform(CY - 4_000, CY + 5_000)
        kind = k % 4
        if kind == 0:
            g = box(x, y, x + rng.uniform(50, 3_000), y + rng.uniform(50, 3_000))
        elif kind == 1:
            g = LineString([(x, y), (x + rng.uniform(-3_000, 3_000), y + rng.uniform(-3_000, 3_000))])
        elif kind == 2:
            g = Point(x, y)
        else:
            g = MultiPolygon([box(x, y, x + 200, y + 200), box(x + 900, y, x + 1_100, y + 300)])
        g_ll = gpd.GeoSeries([g], crs=4549).to_crs(4490).iloc[0]
        fp = footprint_metrics(g_ll)
        assert fp.metric_epsg == 4549
        got = {o.feature_index: o for o in overlaps_for(fp, [prep], radius_m=1_000)}
        for i, geom in enumerate(prep.geoms):
            area, dist = _direct(fp.geom_metric, geom)
            if dist > 1_000:
                assert i not in got
                continue
            o = got[i]
            assert o.distance_m == pytest.approx(dist, abs=1e-6)
            assert o.overlap_area_m2 == pytest.approx(area if area > 1e-4 else 0.0, rel=1e-6, abs=1e-6)
            if fp.dim == 2 and area > 0:
                assert o.overlap_ratio == pytest.approx(area / fp.area_m2, rel=1e-6)
            if fp.dim == 1 and dist == 0:
                assert (o.overlap_length_m or 0) == pytest.approx(shapely.intersection(fp.geom_metric, geom).length, rel=1e-6)
            checked += 1
    assert checked > 100


def test_hand_computed_rectangles():
    unit = box(CX, CY, CX + 1_000, CY + 1_000)
    red = box(CX + 2_000, CY, CX + 2_100, CY + 100)
    prep = prepare_layer(_layer([unit, red]), 4549)
    fp_geom = box(CX + 950, CY + 100, CX + 1_150, CY + 200)   # 200 m × 100 m; 50 m × 100 m inside the unit
    fp = footprint_metrics(gpd.GeoSeries([fp_geom], crs=4549).to_crs(4490).iloc[0])
    assert fp.area_m2 == pytest.approx(20_000, rel=1e-6)
    res = {o.feature_id: o for o in overlaps_for(fp, [prep], 1_000)}
    assert res["F0"].overlap_area_m2 == pytest.approx(5_000, rel=1e-6)
    assert res["F0"].overlap_ratio == pytest.approx(0.25, rel=1e-6)
    assert res["F1"].distance_m == pytest.approx(850, abs=1e-6) and res["F1"].overlap_area_m2 == 0
    assert overlaps_for(fp, [prep], 800)[0].feature_id == "F0" and len(overlaps_for(fp, [prep], 800)) == 1


def test_batch_equals_single(big_layer):
    prep = prepare_layer(big_layer, 4549)
    rng = np.random.default_rng(3)
    geoms = [box(x, y, x + 500, y + 300) for x, y in zip(rng.uniform(CX - 8_000, CX + 9_000, 300),
                                                           rng.uniform(CY - 3_000, CY + 4_000, 300))]
    fps = [footprint_metrics(g) for g in gpd.GeoSeries(geoms, crs=4549).to_crs(4490)]
    batch = batch_overlaps(fps, [prep], 1_000, chunk=64)
    for fp, b in zip(fps, batch):
        single = overlaps_for(fp, [prep], 1_000)
        assert [(o.feature_id, round(o.overlap_area_m2, 6), round(o.distance_m, 6)) for o in single] == \
               [(o.feature_id, round(o.overlap_area_m2, 6), round(o.distance_m, 6)) for o in b]


def test_zone_follows_footprint():
    west = footprint_metrics(Point(117.9, 25.0))
    east = footprint_metrics(Point(119.3, 26.08))
    assert (west.metric_epsg, east.metric_epsg) == (4548, 4549)


def test_disk_cache_roundtrip(tmp_path, big_layer):
    first = PreparedCache(tmp_path).get(big_layer, 4549)
    entries = list((tmp_path / "prepared").glob("*.npz"))
    assert len(entries) == 1
    with np.load(entries[0], allow_pickle=False) as z:   # data only: readable without pickle
        assert "pieces_wkb" in z.files
    again = PreparedCache(tmp_path).get(big_layer, 4549)
    assert len(again.pieces) == len(first.pieces)
    assert all(g is None for g in again.pieces)             # read lazily: nothing decoded before a query
    everything = np.arange(len(first.pieces))
    assert shapely.equals_exact(again.piece_geoms(everything), first.pieces, tolerance=0).all()
    assert (again.piece_bounds == first.piece_bounds).all()
    assert again.ids == first.ids == ["F0", "F1", "F2", "F3"] and again.names == first.names
    edited = _layer([box(CX, CY, CX + 10, CY + 10)])
    PreparedCache(tmp_path).get(edited, 4549)
    assert len(list((tmp_path / "prepared").glob("*.npz"))) == 2  # new content → new key, never stale


@pytest.mark.parametrize("keep", [0, 0.5, 0.999])
def test_an_entry_left_empty_or_cut_short_is_rebuilt(tmp_path, big_layer, keep):
    """Entries are not synced to disk (gis_screening.atomic, durable=False): what a power cut may leave — an empty
    file, or one cut short — is rebuilt, never read as pieces."""
    first = PreparedCache(tmp_path).get(big_layer, 4549)
    entry, = (tmp_path / "prepared").glob("*.npz")
    whole = entry.read_bytes()
    entry.write_bytes(whole[:int(len(whole) * keep)])
    again = PreparedCache(tmp_path).get(big_layer, 4549)
    everything = np.arange(len(first.pieces))
    assert shapely.equals_exact(again.piece_geoms(everything), first.pieces, tolerance=0).all()
    with np.load(entry, allow_pickle=False) as z:         # written again, whole
        assert entry.stat().st_size == len(whole) and len(z["pieces_wkb"]) > 0


def test_a_wider_build_replaces_the_narrower_in_memory(big_layer):
    """A later screening that needs a wider reach builds the layer again; the narrower build is then dropped from
    memory (the wider one serves both), so a long app session does not hold the province red lines twice."""
    cache = PreparedCache(disk=False)
    narrow = cache.get(big_layer, 4549, 0.1)
    assert cache.get(big_layer, 4549, 0.1) is narrow
    whole = cache.get(big_layer, 4549, None)
    assert whole is not narrow and list(cache._mem.values()) == [whole]
    assert cache.get(big_layer, 4549, 0.1) is whole and cache.get(big_layer, 4549, 1.0) is whole


def test_cached_pieces_decoded_only_where_queried(tmp_path, big_layer):
    """A layer read from the disk cache decodes only the pieces a query reaches, with the same overlaps."""
    fresh = PreparedCache(tmp_path).get(big_layer, 4549)
    cached = PreparedCache(tmp_path).get(big_layer, 4549)
    fp = footprint_metrics(big_layer.gdf.geometry.iloc[3].centroid.buffer(1e-4), 4549)   # on the small box F3
    want = overlaps_for(fp, [fresh], 50.0)
    got = overlaps_for(fp, [cached], 50.0)
    assert [(o.feature_id, o.overlap_area_m2, o.distance_m) for o in got] == \
        [(o.feature_id, o.overlap_area_m2, o.distance_m) for o in want] and want
    decoded = sum(g is not None for g in cached.pieces)
    assert 0 < decoded < len(cached.pieces) // 4


def test_disk_cache_keys_names_and_attributes(tmp_path):
    """A renamed feature or a changed attribute is new content: the cache never serves the old name."""
    lyr = _layer([box(CX, CY, CX + 100, CY + 100)])
    assert PreparedCache(tmp_path).get(lyr, 4549).names == ["要素0"]
    renamed = _layer([box(CX, CY, CX + 100, CY + 100)])
    renamed.gdf = renamed.gdf.assign(name=["改名后"])
    assert PreparedCache(tmp_path).get(renamed, 4549).names == ["改名后"]
    other_attr = _layer([box(CX, CY, CX + 100, CY + 100)])
    other_attr.gdf = other_attr.gdf.assign(grade=["一级保护区"])
    PreparedCache(tmp_path).get(other_attr, 4549)
    assert len(list((tmp_path / "prepared").glob("*.npz"))) == 3


def test_corrupt_cache_entry_is_rebuilt(tmp_path, big_layer):
    first = PreparedCache(tmp_path).get(big_layer, 4549)
    entry = next((tmp_path / "prepared").glob("*.npz"))
    entry.write_bytes(entry.read_bytes()[:1000])          # truncated by a crash or a full disk
    again = PreparedCache(tmp_path).get(big_layer, 4549)
    assert shapely.equals_exact(again.piece_geoms(np.arange(len(first.pieces))), first.pieces, tolerance=0).all()
    entry.write_bytes(b"not an npz at all")
    assert len(PreparedCache(tmp_path).get(big_layer, 4549).pieces) == len(first.pieces)
    with np.load(entry, allow_pickle=False) as z:          # rewritten whole
        assert len(z["owner"]) == len(first.owner)


def test_memory_cache_follows_layer_version(tmp_path):
    """Replacing a layer's features (an edit) bumps its version: the same cache object re-prepares it."""
    cache = PreparedCache(disk=False)
    lyr = _layer([box(CX, CY, CX + 100, CY + 100)])
    a = cache.get(lyr, 4549)
    assert cache.get(lyr, 4549) is a
    v = lyr.version
    lyr.gdf = _layer([box(CX, CY, CX + 50, CY + 100)]).gdf
    assert lyr.version == v + 1
    b = cache.get(lyr, 4549)
    assert b is not a and b.piece_area.sum() == pytest.approx(5_000, rel=1e-6)
    assert cache.records(lyr)[0]["code"] == "F0"


def test_threads_prepare_each_layer_and_zone_once(tmp_path, big_layer):
    """Threads asking for the same prepared layer at once share one build; different zones build side by side;
    a failed build reaches every thread waiting for it and the next request builds again."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    cache = PreparedCache(tmp_path)
    built: list[int] = []
    inside = threading.Barrier(2, timeout=30)       # both zones' builds must be running at the same time
    real = cache._load_or_build

    def counted(layer, epsg, reach):
        built.append(epsg)
        inside.wait()
        return real(layer, epsg, reach)
    cache._load_or_build = counted
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda k: cache.get(big_layer, (4548, 4549)[k % 2]), range(16)))
    assert sorted(built) == [4548, 4549]
    assert all(g is got[0] for g in got[::2]) and all(g is got[1] for g in got[1::2])
    assert got[0].epsg == 4548 and got[1].epsg == 4549

    broken = threading.Event()
    broken.set()

    def failing(layer, epsg, reach):
        if broken.is_set():
            time.sleep(0.2)                         # the other thread comes to wait for this build
            raise RuntimeError("disk gone")
        return real(layer, epsg, reach)
    cache._load_or_build = failing
    with ThreadPoolExecutor(2) as pool:
        tries = [pool.submit(cache.get, big_layer, 4547) for _ in range(2)]
        for t in tries:
            with pytest.raises(RuntimeError, match="disk gone"):
                t.result()
    broken.clear()
    assert cache.get(big_layer, 4547).epsg == 4547   # nothing stale left behind: built again


def test_each_zone_prepares_only_what_its_footprints_can_reach(tmp_path, monkeypatch):
    """screen() prepares a GK zone's layers only as far past the zone's band as its footprints plus the radius
    reach.  Same results as whole layers, for footprints on both sides of a band edge (118.5° E), features just
    past the narrow reach, and radii that need the wide reach or the whole layer."""
    import gis_screening.screening as screening
    from gis_screening.engine.prepared import reach_for
    from gis_screening.model import LayerSet, Project
    lons = np.round(np.arange(116.0, 122.0, 0.02), 3)
    red = Layer(role="eco_redline", name="生态保护红线", source="mem", gdf=gpd.GeoDataFrame(
        {"code": [f"H{i:03d}" for i in range(len(lons))], "name": [f"红线{x}" for x in lons]},
        geometry=[box(x, 26.0, x + 0.005, 26.005) for x in lons], crs=4490))
    ls = LayerSet(name="t", layers=[red])
    rules = screening.load_rules()
    at = [117.0, 118.45, 118.49, 118.51, 118.55, 120.0, 121.4]
    projects = [Project(f"P{i}", box(x, 26.001, x + 0.003, 26.004), None, "3011", "新建", source="mem")
                for i, x in enumerate(at)]
    bounds = shapely.bounds(np.array([p.geometry for p in projects], dtype=object))
    whole = screening.reach_for
    for radius, reach in ((1000, 0.1), (20_000, 1.0), (300_000, None)):
        assert {whole(bounds[z], epsg, radius) for z, epsg in ((slice(0, 3), 4548), (slice(3, 7), 4549))} == {reach}
        near = screening.screen(projects, ls, rules, search_radius_m=radius, cache=PreparedCache(tmp_path / "a"))
        monkeypatch.setattr(screening, "reach_for", lambda *a: None)
        full = screening.screen(projects, ls, rules, search_radius_m=radius, cache=PreparedCache(tmp_path / "b"))
        monkeypatch.setattr(screening, "reach_for", whole)
        assert [r.to_json() for r in near.results] == [r.to_json() for r in full.results]
        if radius == 20_000:       # P2 (zone 39) reaches red lines past 118.6° E, beyond the narrow reach
            far = [o for o in near.results[2].overlaps if float(o.feature_name[2:]) > 118.6]
            assert far and all(o.distance_m <= radius for o in far)
    narrow = PreparedCache(tmp_path / "a").get(red, 4548, reach_for(bounds[:3], 4548, 1000))
    assert 0 < len(narrow.pieces) < len(PreparedCache(tmp_path / "b").get(red, 4548).pieces) / 2


def test_a_large_layer_prepared_by_several_threads_is_the_one_prepared_by_one():
    """A large layer's features are projected and subdivided in shares, one per thread: the pieces, their owners
    and areas come out the same, in the same order, whatever the number of threads (so results and cache entries
    never depend on it)."""
    from gis_screening.geometry import thread_shares
    layer = _layer([_star(CX + (i % 8) * 2_500, CY + (i // 8) * 2_500, 1_000, 4_000, i, hole=i % 3 == 0)
                    for i in range(60)])
    assert len(thread_shares(shapely.get_num_coordinates(layer.gdf.geometry.values), 3)) == 3
    one = prepare_layer(layer, 4549, threads=1)
    for threads in (2, 3):
        many = prepare_layer(layer, 4549, threads=threads)
        assert len(many.pieces) == len(one.pieces) > 60 * 10
        assert shapely.equals_exact(many.pieces, one.pieces, 0).all()
        assert (many.owner == one.owner).all() and (many.piece_area == one.piece_area).all()
