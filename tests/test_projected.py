"""Layers projected for the map canvas, cached on disk by content: a reopened layer set is drawn from the cache
without reading its geometry, with exactly the coordinates a fresh projection gives; a damaged entry, another
zone or an edited layer is projected again."""
import shutil
from pathlib import Path

import shapely

from gis_screening.cache import finish_writes
from gis_screening.engine.projected import layer_bounds, projected_geoms
from gis_screening.layerset import load_layerset

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
EPSG = 4549     # GK zone 40 (120° E), the sample's zone


def _reopened(tmp_path):
    """The sample's red lines, loaded through a warm layer cache (deferred: geometry not read yet)."""
    layer = load_layerset(tmp_path / "s" / "layerset.yaml", cache=tmp_path / "c").first("eco_redline")
    assert layer.digest and "gdf" not in layer.__dict__
    return layer


def _expected(layer, epsg=EPSG):
    return layer.__class__(layer.role, layer.name, layer.source, layer.gdf).gdf.to_crs(epsg).geometry.values


def test_reopen_draws_from_the_cache_without_reading_geometry(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "s", ignore=shutil.ignore_patterns("projects", "sheets"))
    load_layerset(tmp_path / "s" / "layerset.yaml", cache=tmp_path / "c")       # fills the layer cache
    finish_writes()
    first = _reopened(tmp_path)
    built = projected_geoms(first, EPSG, tmp_path / "c")
    finish_writes()
    assert len(list((tmp_path / "c" / "projected").glob("*.npz"))) == 1
    layer = _reopened(tmp_path)
    bounds = layer_bounds(layer, tmp_path / "c")
    served = projected_geoms(layer, EPSG, tmp_path / "c")
    assert "gdf" not in layer.__dict__                       # neither read the layer's geometry
    expected = _expected(layer)
    assert shapely.equals_exact(served, expected, tolerance=0).all() and len(served) == len(expected) > 10
    assert shapely.equals_exact(built, expected, tolerance=0).all()
    assert bounds.tolist() == layer.gdf.total_bounds.tolist()

    # a damaged entry is deleted and projected again
    entry = next((tmp_path / "c" / "projected").glob("*.npz"))
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    again = projected_geoms(_reopened(tmp_path), EPSG, tmp_path / "c")
    assert shapely.equals_exact(again, expected, tolerance=0).all()
    finish_writes()
    assert projected_geoms(_reopened(tmp_path), EPSG, tmp_path / "c").tolist() == again.tolist()

    # another zone is projected for that zone
    other = projected_geoms(_reopened(tmp_path), 4548, tmp_path / "c")
    assert shapely.equals_exact(other, _expected(layer, 4548), tolerance=0).all()
    finish_writes()


def test_an_edited_layer_is_projected_from_its_new_features(tmp_path):
    shutil.copytree(SAMPLE, tmp_path / "s", ignore=shutil.ignore_patterns("projects", "sheets"))
    load_layerset(tmp_path / "s" / "layerset.yaml", cache=tmp_path / "c")
    finish_writes()
    layer = _reopened(tmp_path)
    projected_geoms(layer, EPSG, tmp_path / "c")
    finish_writes()
    gdf = layer.gdf.copy()
    gdf.geometry = gdf.geometry.translate(0.01, 0)
    layer.gdf = gdf                                            # an edit: a new version, digest unknown
    moved = projected_geoms(layer, EPSG, tmp_path / "c")
    assert shapely.equals_exact(moved, gdf.to_crs(EPSG).geometry.values, tolerance=0).all()
    assert layer_bounds(layer, tmp_path / "c").tolist() == gdf.total_bounds.tolist()
    assert len(list((tmp_path / "c" / "projected").glob("*.npz"))) == 1     # nothing stored for the edit
