"""Loaded layers cached by their files' signature: a second load is served from the cache with the same features,
problems and decisions; any change to a source file, the read options or the catalog reads the source again; a
damaged entry is read again; `cache=False` never writes."""
import shutil
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from gis_screening.layerset import load_layerset

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def _copy_sample(tmp_path) -> Path:
    shutil.copytree(SAMPLE, tmp_path / "s", ignore=shutil.ignore_patterns("projects", "sheets"))
    return tmp_path / "s" / "layerset.yaml"


def _same(a, b) -> None:
    assert [lyr.name for lyr in a.layers] == [lyr.name for lyr in b.layers]
    for x, y in zip(a.layers, b.layers):
        pd.testing.assert_frame_equal(pd.DataFrame(x.gdf.drop(columns="geometry")),
                                      pd.DataFrame(y.gdf.drop(columns="geometry")), check_dtype=False)
        assert x.gdf.geometry.geom_equals_exact(y.gdf.geometry, 0).all()
        assert [str(p) for p in x.problems] == [str(p) for p in y.problems]
        assert (x.source_crs, x.crs_reason, x.encoding, x.source) == (y.source_crs, y.crs_reason, y.encoding, y.source)


def test_second_load_comes_from_the_cache_and_equals_the_source(tmp_path):
    manifest = _copy_sample(tmp_path)
    fresh = load_layerset(manifest, cache=False)
    assert not (tmp_path / "c").exists()
    first = load_layerset(manifest, cache=tmp_path / "c")
    entries = sorted((tmp_path / "c" / "layers").glob("*.arrow"))
    assert len(entries) == len(fresh.layers)                        # one entry per file layer
    second = load_layerset(manifest, cache=tmp_path / "c")
    # served from the cache (its stored digest), except the units, whose features the 准入清单 join then extends
    assert [lyr.role for lyr in second.layers if lyr.digest is None] == ["control_units"]
    _same(fresh, first)
    _same(fresh, second)
    # a layer read through the cache carries its source's digest (the prepared-layer cache keys on it), the same on
    # the first load (read and stored) and the second (served); the units' is the content's after the join
    assert [lyr.content_digest() for lyr in second.layers] == [lyr.content_digest() for lyr in first.layers]
    assert [lyr.content_digest() for lyr in second.layers if lyr.role == "control_units"] == [
        lyr.content_digest() for lyr in fresh.layers if lyr.role == "control_units"]
    assert len({lyr.content_digest() for lyr in second.layers}) == len(second.layers)


def test_a_changed_source_file_is_read_again(tmp_path):
    manifest = _copy_sample(tmp_path)
    load_layerset(manifest, cache=tmp_path / "c")
    red = tmp_path / "s" / "zones" / "STBHHX.gpkg"
    gdf = gpd.read_file(red, layer="生态保护红线")
    gdf.loc[0, "HXMC"] = "改过名字的红线"
    time.sleep(0.01)
    before = load_layerset(manifest, cache=tmp_path / "c").first("eco_redline").content_digest()
    gdf.to_file(red, layer="生态保护红线", driver="GPKG")
    again = load_layerset(manifest, cache=tmp_path / "c")
    assert "改过名字的红线" in set(again.first("eco_redline").gdf["name"])
    assert again.first("eco_redline").content_digest() != before        # a new key for the prepared layers too


def test_options_are_part_of_the_key(tmp_path):
    manifest = _copy_sample(tmp_path)
    a = load_layerset(manifest, cache=tmp_path / "c")
    text = manifest.read_text(encoding="utf-8").replace("- role: other\n  name: 永久基本农田",
                                                        "- role: other\n  name: 基本农田（另一名称）")
    manifest.write_text(text, encoding="utf-8")
    b = load_layerset(manifest, cache=tmp_path / "c")
    assert a.layers[-1].name == "永久基本农田" and b.layers[-1].name == "基本农田（另一名称）"


DAMAGE = {"garbage": lambda b: b"ARROW1 not an Arrow file", "empty": lambda b: b"", "cut short": lambda b: b[:len(b) // 2]}


@pytest.mark.parametrize("part", ["arrow", "json"])
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_entry_is_read_again(tmp_path, part, damage):
    """Entries are not synced to disk (gis_screening.atomic, durable=False): a power cut may leave one empty or cut
    short, which is read again from the source like any damaged one."""
    manifest = _copy_sample(tmp_path)
    first = load_layerset(manifest, cache=tmp_path / "c")
    for entry in (tmp_path / "c" / "layers").glob(f"*.{part}"):
        entry.write_bytes(DAMAGE[damage](entry.read_bytes()))
    again = load_layerset(manifest, cache=tmp_path / "c")
    _same(first, again)
    assert all(p.read_bytes()[:6] == b"ARROW1" and p.stat().st_size > 100
               for p in (tmp_path / "c" / "layers").glob("*.arrow"))   # rewritten


def test_cached_layers_read_geometry_only_when_used(tmp_path):
    """A cached layer serves attributes, records and counts without reading its geometry; the geometry is read
    on first use (from the entry, or from the source if the entry went away meanwhile); replacing the features of
    a layer not yet read is an edit (new version, no remembered digest)."""
    manifest = _copy_sample(tmp_path)
    fresh = load_layerset(manifest, cache=False)
    stored = load_layerset(manifest, cache=tmp_path / "c")
    cached = load_layerset(manifest, cache=tmp_path / "c")
    lazy = [lyr for lyr in cached.layers if "gdf" not in vars(lyr)]
    assert len(lazy) == len(cached.layers) - 1                     # all but the units (the 准入清单 join edits them)
    for x in lazy:
        y = next(lyr for lyr in fresh.layers if lyr.source == x.source)
        assert x.feature_count == len(y.gdf) and list(x.records()) == list(y.records())
        assert x.feature_ids() == y.feature_ids()
        assert x.content_digest() == next(lyr for lyr in stored.layers if lyr.source == x.source).content_digest()
        assert "gdf" not in vars(x)                                # none of the above read the geometry
    first, second = lazy[0], lazy[1]
    for entry in (tmp_path / "c" / "layers").glob("*.arrow"):
        entry.unlink()                                             # cache cleaned between load and use
    y = next(lyr for lyr in fresh.layers if lyr.source == first.source)
    assert first.gdf.geometry.geom_equals_exact(y.gdf.geometry, 0).all() and first.version == 0
    v = second.version
    second.gdf = y.gdf
    assert second.version == v + 1 and second.digest is None and second.gdf is y.gdf


def test_a_source_changed_after_open_is_refused_not_mixed(tmp_path):
    """A cached layer whose entry goes (evicted, cleaned) before its geometry is used is read from its source —
    and if that source changed meanwhile, using it is one clear error instead of old attributes on new features."""
    import pytest

    from gis_screening.errors import InputError
    manifest = _copy_sample(tmp_path)
    load_layerset(manifest, cache=tmp_path / "c")
    opened = load_layerset(manifest, cache=tmp_path / "c")
    red, other = opened.first("eco_redline"), opened.layers[-1]
    assert "gdf" not in vars(red) and "gdf" not in vars(other)
    for entry in (tmp_path / "c" / "layers").glob("*.arrow"):
        entry.unlink()
    path = tmp_path / "s" / "zones" / "STBHHX.gpkg"
    gdf = gpd.read_file(path, layer="生态保护红线")
    gdf.loc[0, "geometry"] = gdf.geometry[0].buffer(0.001)
    time.sleep(0.01)
    gdf.to_file(path, layer="生态保护红线", driver="GPKG")
    with pytest.raises(InputError, match="changed since the layer set was opened") as err:
        _ = red.gdf
    assert "STBHHX.gpkg" in str(err.value)
    assert len(other.gdf) == other.feature_count          # an unchanged source is simply read again


def test_deferred_geometry_read_by_many_threads_at_once():
    """Threads asking a deferred layer for its features at the same moment all get the one stored frame."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from shapely.geometry import Point

    from gis_screening.model import Layer
    full = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[Point(119, 26), Point(119.1, 26)], crs=4490)
    go = threading.Event()

    def slow_read():
        go.wait(5)
        return full.copy()
    lyr = Layer.deferred(pd.DataFrame(full.drop(columns="geometry")), slow_read, role="eco_redline", name="红线",
                         source="x.gpkg", digest="d")
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(lambda: lyr.gdf) for _ in range(8)]
        time.sleep(0.05)
        go.set()
        frames = [f.result() for f in futures]
    assert all(f is lyr.gdf for f in frames) and lyr.version == 0 and list(lyr.gdf["code"]) == ["A", "B"]


def test_an_entry_holds_every_kind_of_column_and_3d_geometry_as_geopandas_would(tmp_path):
    """The entry (Arrow IPC, as geopandas writes Feather) reads back exactly as the layer was — dtypes, missing values,
    Z coordinates, CRS."""
    import datetime as dt

    from shapely.geometry import Polygon

    from gis_screening.catalog import default_catalog
    from gis_screening.io.layer_cache import cached_read_layer
    rings = [[(119.0 + i / 10, 26.0, 5.0), (119.05 + i / 10, 26.0, 6.0), (119.05 + i / 10, 26.05, 7.0)]
             for i in range(3)]
    src = gpd.GeoDataFrame({"code": ["A", None, "C"], "name": ["甲", "乙", None], "n": [1, 2, 3],
                            "x": [1.5, float("nan"), 2.5], "ok": [True, False, True],
                            "day": pd.to_datetime([dt.datetime(2024, 1, 2), None, dt.datetime(2025, 3, 4)])},
                           geometry=[Polygon(r) for r in rings], crs=4490)
    src.to_file(tmp_path / "z.gpkg", driver="GPKG")
    first = cached_read_layer(tmp_path / "z.gpkg", "eco_redline", catalog=default_catalog(), folder=tmp_path / "c")
    second = cached_read_layer(tmp_path / "z.gpkg", "eco_redline", catalog=default_catalog(), folder=tmp_path / "c")
    assert second.digest == first.content_digest()                      # served from the entry
    first.gdf.to_feather(tmp_path / "by_geopandas.arrow")
    expected = gpd.read_feather(tmp_path / "by_geopandas.arrow")
    pd.testing.assert_frame_equal(second.gdf, expected)
    assert second.gdf.crs == expected.crs and second.gdf.geometry.has_z.all()
    assert second.gdf.geometry.geom_equals_exact(first.gdf.geometry, 0).all()


def test_entries_made_by_other_code_are_not_served(tmp_path):
    """A reader changed (here: a copy of the package with one reader module edited), as after an upgrade: the
    layers are read again under new keys, never served from the entries the old code made — with no version number
    for anyone to remember to bump."""
    import subprocess
    import sys
    manifest = _copy_sample(tmp_path)
    package = tmp_path / "pkg" / "gis_screening"
    shutil.copytree(Path(__file__).resolve().parents[1] / "gis_screening", package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for data in ("layers", "rules"):        # its data folders, beside it as in a checkout
        (package.parent / data).symlink_to(Path(__file__).resolve().parents[1] / data)
    run = ("import sys; from gis_screening.layerset import load_layerset; from gis_screening.cache import code_digest; "
           f"ls = load_layerset({str(manifest)!r}, cache={str(tmp_path / 'c')!r}); "
           "print(code_digest(), *sorted(str(lyr.digest) for lyr in ls.layers if lyr.role != 'control_units'))")

    def load() -> list[str]:
        out = subprocess.run([sys.executable, "-c", run], env={"PYTHONPATH": str(package.parent), "PATH": "/usr/bin"},
                             capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
        return out

    def entries() -> set[str]:
        return {p.name for p in (tmp_path / "c" / "layers").glob("*.arrow")}

    first = load()
    made = entries()
    assert load() == first and entries() == made                    # same code: served from its entries
    reader = package / "io" / "coord_table.py"
    reader.write_text(reader.read_text(encoding="utf-8") + "\n# a changed reader\n", encoding="utf-8")
    changed = load()
    assert changed[0] != first[0]                                   # another code digest…
    assert not set(changed[1:]) & set(first[1:])                    # …so every layer is another entry
    assert len(entries()) == 2 * len(made) and made < entries()
