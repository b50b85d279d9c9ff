"""Golden screening cases, data-driven from tests/golden/*.yaml (in the style of QGIS Processing tests).

Each case: layers (inline features in GK metres of a zone, or the sample layer set), a footprint (WKT in the
same CRS, or a file), optional project attributes, rule packs (default: shipped) → expected verdict, findings
(rule id → level) and metrics with tolerances.  Metrics are hand-computed from the rectangle geometry.
"""
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import yaml

from gis_screening.catalog import default_catalog
from gis_screening.engine.result import validate
from gis_screening.engine.screen import layers_missing
from gis_screening.io import read_layer
from gis_screening.io.projects import load_projects
from gis_screening.layerset import load_layerset
from gis_screening.model import Layer, LayerSet, Project
from gis_screening.normalise import normalise_fields
from gis_screening.screening import load_rules, screen

HERE = Path(__file__).parent
ROOT = HERE.parent
CASES = [(f.stem, i, c) for f in sorted((HERE / "golden").glob("*.yaml"))
         for i, c in enumerate(yaml.safe_load(f.read_text(encoding="utf-8"))["cases"])]


def _layerset(spec, crs, tmp: Path) -> LayerSet:
    if isinstance(spec, str):
        return load_layerset(ROOT / spec)
    layers = []
    for k, entry in enumerate(spec):
        rows = entry["features"]
        raw = gpd.GeoDataFrame([{k: v for k, v in r.items() if k != "wkt"} for r in rows],
                               geometry=[shapely.from_wkt(r["wkt"]) for r in rows], crs=entry.get("crs", crs))
        if "towgs84" in entry:      # e.g. Xian 1980: through the real import pipeline with the user's parameters
            path = tmp / f"layer{k}.gpkg"
            raw.to_file(path)
            layers.append(read_layer(path, entry["role"], towgs84=entry["towgs84"]))
            continue
        gdf = raw.to_crs(4490)
        gdf, _ = normalise_fields(gdf, entry["role"], default_catalog(), source="golden")
        title = default_catalog().role(entry["role"]).title
        layers.append(Layer(role=entry["role"], name=entry.get("name", title), source="golden", gdf=gdf))
    return LayerSet(name="golden", layers=layers)


def _projects(case, crs):
    fp = case["footprint"]
    if "file" in fp:
        return load_projects(ROOT / fp["file"], offset=fp.get("offset"), zone=fp.get("zone"))
    geom = gpd.GeoSeries([shapely.from_wkt(fp["wkt"])], crs=crs).to_crs(4490).iloc[0]
    attrs = dict(case.get("project", {}))
    sheet = attrs.pop("sheet", None)
    return [Project(id=attrs.pop("id", "G1"), geometry=geom, name=attrs.pop("name", None),
                    industry_code=attrs.pop("industry_code", None),
                    construction_type=attrs.pop("construction_type", None), attributes=attrs, sheet=sheet)]


@pytest.mark.parametrize("suite,index,case", CASES, ids=[f"{s}:{c['name']}" for s, _, c in CASES])
def test_golden(suite, index, case, tmp_path):
    crs = case.get("crs", "EPSG:4549")
    ls = _layerset(case["layers"], crs, tmp_path)
    stack = load_rules([ROOT / p for p in case["packs"]] if "packs" in case else None)
    if case.get("layers_complete", True):     # a case's layers are all its area has (unless it says otherwise)
        ls.absent = [m["role"] for m in layers_missing(stack, ls)]
    result = screen(_projects(case, crs), ls, stack, search_radius_m=case.get("search_radius_m", 1000))
    doc = result.to_json()
    validate(doc)
    res = doc["results"][0] if "project_id" not in case else next(
        r for r in doc["results"] if r["project"]["id"] == case["project_id"])
    exp = case["expect"]
    assert res["verdict"] == exp["verdict"], [(f["rule_id"], f["level"]) for f in res["findings"]]
    got = {}
    for f in res["findings"]:
        got.setdefault(f["rule_id"], set()).add(f["level"])
    for rule_id, level in exp.get("findings", {}).items():
        if level is None:
            assert rule_id not in got, f"{rule_id} should not fire"
        else:
            assert level in got.get(rule_id, set()), f"{rule_id}: expected {level}, got {got.get(rule_id)}"
    if "exact_findings" in exp:     # every finding, nothing more: {rule id: level}
        assert {r: sorted(levels) for r, levels in got.items()} == \
            {r: [lv] if isinstance(lv, str) else sorted(lv) for r, lv in exp["exact_findings"].items()}
    for rule_id, texts in exp.get("message_contains", {}).items():
        msgs = [f["message"] for f in res["findings"] if f["rule_id"] == rule_id]
        for text in [texts] if isinstance(texts, str) else texts:
            assert any(text in m for m in msgs), (rule_id, text, msgs)
    if "area_m2" in exp:
        assert res["project"]["area_m2"] == pytest.approx(exp["area_m2"], rel=1e-6)
    if "metric_crs" in exp:
        assert res["project"]["metric_crs"] == exp["metric_crs"]
    ovs = {(o["layer"], o["feature_id"]): o for o in res["overlaps"]}
    for m in exp.get("overlaps", []):
        key = (m["layer"], m["feature_id"])
        if m.get("absent"):
            assert key not in ovs
            continue
        o = ovs[key]
        tol = m.get("tol", 1e-6)
        for k in ("overlap_area_m2", "distance_m", "overlap_ratio"):
            if k in m:
                assert o[k] == pytest.approx(m[k], rel=tol, abs=1e-3), (k, o)
