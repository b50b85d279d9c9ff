"""Rebuild the sample data set: a FICTIONAL county (示范县, admin code 350199) placed in real Fujian coordinates.

Deterministic (fixed seeds; no network).  Run: ``.venv/bin/python sample_data/generate.py [OUT_DIR]``.
Everything is built in CGCS2000 / 3-degree GK zone 40 (EPSG:4549) metres and written in EPSG:4490 (or in the
formats reviewers receive: GBK shapefile without .cpg, 勘测定界 TXT with zone prefix, CSV lon/lat, KML).
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml
from shapely.geometry import LineString, Point, Polygon, box

HERE = Path(__file__).resolve().parent
GK = 4549                      # CGCS2000 3° GK zone 40 (CM 120°E), no prefix
CX, CY = 405_000.0, 2_880_000.0  # ≈ lon 119.05, lat 26.02 (west of Fuzhou)
ADMIN = "350199"


def blob(cx, cy, r, n, rng, rough=0.25, harmonics=6):
    """A smooth irregular star-shaped polygon with ``n`` vertices, radius ``r`` metres."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rad = np.ones(n)
    for k in range(2, harmonics + 2):
        rad += rough / k * rng.uniform(-1, 1) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    return Polygon(np.column_stack([cx + r * rad * np.cos(t), cy + r * 0.85 * rad * np.sin(t)]))


def ring(cx, cy, r_in, r_out, n=96):
    return Point(cx, cy).buffer(r_out, quad_segs=n // 4).difference(Point(cx, cy).buffer(r_in, quad_segs=n // 4))


TEXTS = {
    "优先保护单元": dict(
        spatial_constraints="1. 以生态保护为主，禁止新建、扩建工业项目及破坏生态功能的开发建设活动。\n2. 生态保护红线内按《关于加强生态保护红线管理的通知（试行）》管控，严禁开发性、生产性建设活动。\n3. 禁止新建两高项目。",
        emission_controls="1. 现有工业企业污染物排放只减不增。\n2. 农村生活污水、畜禽养殖废弃物全部资源化利用或达标排放。",
        risk_controls="1. 严禁新建涉及有毒有害物质的项目。\n2. 加强森林防火和地质灾害防治。",
        resource_efficiency="1. 严格控制开发强度，保持自然岸线和林地面积不减少。\n2. 禁止新建燃煤设施。",
        prohibited="25;26;30;31;32;4411;4412", restricted=""),
    "重点管控单元": dict(
        spatial_constraints="1. 新建工业项目应进入工业园区，园区外不得新建化工项目。\n2. 严格限制新建、扩建水泥熟料、平板玻璃等产能过剩行业项目，确需建设的须实施产能等量或减量置换。",
        emission_controls="1. 新建项目主要污染物实行区域削减替代，VOCs 实行倍量替代。\n2. 工业废水须经预处理后接入园区污水处理厂集中处理。",
        risk_controls="1. 涉及危险化学品的企业应编制突发环境事件应急预案并备案。\n2. 园区建立三级防控体系。",
        resource_efficiency="1. 新建两高项目能效须达到标杆水平。\n2. 单位工业增加值能耗、水耗持续下降。",
        prohibited="4411", restricted="2614;3011;3041"),
    "一般管控单元": dict(
        spatial_constraints="1. 执行区域生态环境保护的基本要求。\n2. 禁止新建化工、涉重金属项目。",
        emission_controls="1. 落实污染物总量控制制度。\n2. 加强农业面源污染治理。",
        risk_controls="1. 加强土壤和地下水污染风险防控。",
        resource_efficiency="1. 推进节水型社会建设，提高水资源利用效率。",
        prohibited="26;32", restricted="3011"),
}


def build(out: Path) -> None:
    rng = np.random.default_rng(20261124)
    out.mkdir(parents=True, exist_ok=True)
    county = blob(CX, CY, 14_000, 720, rng, rough=0.18)
    # ---- control units: Voronoi tiles clipped to the county (exact tiling) -----------------------------
    seeds = []
    minx, miny, maxx, maxy = county.bounds
    while len(seeds) < 60:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if county.contains(p):
            seeds.append(p)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=county.buffer(5000)))
    cells = [c.intersection(county) for c in cells]
    cells = [c for c in cells if not c.is_empty]
    cells.sort(key=lambda c: (round(-c.centroid.y, -2), c.centroid.x))
    towns = ["城关", "东山", "西溪", "南岭", "北峰", "石门", "桂林", "白沙", "青口", "梅溪", "洋里", "大湖", "金山", "龙泉", "溪口"]
    # red lines and reserve sit in the hilly west: units there are 优先保护
    west = CX - 5_000
    cats = []
    for i, c in enumerate(cells):
        r = rng.uniform()
        if c.centroid.x < west and r < 0.85:
            cats.append("优先保护单元")
        elif r < 0.2:
            cats.append("优先保护单元")
        elif r < 0.8:
            cats.append("重点管控单元")
        else:
            cats.append("一般管控单元")
    # units under the industrial parks are 重点管控单元 (parks are placed below at fixed offsets)
    park_boxes = [box(CX + 7_000, CY - 9_000, CX + 10_000, CY - 7_000), box(CX + 1_000, CY + 5_500, CX + 4_500, CY + 7_000)]
    cats = ["重点管控单元" if any(c.intersects(b) for b in park_boxes) else cat for c, cat in zip(cells, cats)]
    code_digit = {"优先保护单元": 1, "重点管控单元": 2, "一般管控单元": 3}
    serial = {1: 0, 2: 0, 3: 0}
    rows = []
    for i, (c, cat) in enumerate(zip(cells, cats)):
        d = code_digit[cat]
        serial[d] += 1
        town = towns[i % len(towns)]
        t = TEXTS[cat]
        rows.append({"HJZHGKDYBM": f"ZH{ADMIN}{d}{serial[d]:04d}",
                     "HJZHGKDYMC": f"示范县{town}镇{cat.replace('单元', '')}单元{serial[d]}",
                     "ZHGKDYFL": str(d), "PROV": "福建省", "CITY": "福州市", "AREA": "示范县",
                     "XZQDM": ADMIN, "KJBJYS": t["spatial_constraints"], "PWWPFGK": t["emission_controls"],
                     "HJFXFK": t["risk_controls"], "ZYKFXLYQ": t["resource_efficiency"],
                     "禁止行业": t["prohibited"], "限制行业": t["restricted"]})
    units = gpd.GeoDataFrame(rows, geometry=cells, crs=GK)
    # ---- eco red lines: a dozen in the west, some with tens of thousands of vertices ------------------
    red = []
    centres = [(CX - 9_500, CY + 4_000), (CX - 8_000, CY - 5_500), (CX - 11_000, CY - 500), (CX - 4_000, CY + 8_000),
               (CX + 6_500, CY + 7_500), (CX - 6_500, CY + 1_500), (CX + 9_000, CY - 6_000), (CX - 2_500, CY - 9_000),
               (CX + 2_000, CY + 10_000), (CX - 12_500, CY + 6_000), (CX + 11_500, CY + 1_000), (CX - 6_000, CY - 10_000)]
    for k, (x, y) in enumerate(centres):
        n = 60_000 if k == 0 else (8_000 if k < 3 else int(rng.integers(80, 600)))
        poly = blob(x, y, 2_200 if k < 3 else rng.uniform(500, 1_100), n, rng, rough=0.3).intersection(county)
        red.append({"BSM": f"STHX{ADMIN}{k + 1:04d}", "HXMC": f"示范县{['水源涵养', '生物多样性维护', '水土保持'][k % 3]}生态保护红线{k + 1}",
                    "ZDGN": ["水源涵养", "生物多样性维护", "水土保持"][k % 3], "geometry": poly})
    redline = gpd.GeoDataFrame(red, crs=GK)
    # ---- protected areas: legacy three-zone reserve + a forest park ---------------------------------------
    rx, ry = CX - 10_000, CY - 8_000
    pa = [
        {"BHDBM": "ZRBHQ350199001-1", "BHDMC": "示范山省级自然保护区", "GNFQ": "核心区", "BHDLX": "自然保护区", "JB": "省级",
         "geometry": Point(rx, ry).buffer(900)},
        {"BHDBM": "ZRBHQ350199001-2", "BHDMC": "示范山省级自然保护区", "GNFQ": "缓冲区", "BHDLX": "自然保护区", "JB": "省级",
         "geometry": ring(rx, ry, 900, 1_500)},
        {"BHDBM": "ZRBHQ350199001-3", "BHDMC": "示范山省级自然保护区", "GNFQ": "实验区", "BHDLX": "自然保护区", "JB": "省级",
         "geometry": ring(rx, ry, 1_500, 2_300)},
        {"BHDBM": "SLGY350199002-1", "BHDMC": "青峰国家森林公园", "GNFQ": "核心保护区", "BHDLX": "自然公园", "JB": "国家级",
         "geometry": box(CX + 3_000, CY + 3_000, CX + 4_200, CY + 4_000)},
        {"BHDBM": "SLGY350199002-2", "BHDMC": "青峰国家森林公园", "GNFQ": "一般控制区", "BHDLX": "自然公园", "JB": "国家级",
         "geometry": box(CX + 2_400, CY + 2_500, CX + 4_800, CY + 4_600).difference(box(CX + 3_000, CY + 3_000, CX + 4_200, CY + 4_000))},
    ]
    protected = gpd.GeoDataFrame(pa, crs=GK)
    # ---- water sources: two reservoirs, nested grades ---------------------------------------------------
    ws = []
    for j, (x, y, nm) in enumerate([(CX + 1_500, CY - 3_500, "东溪水库"), (CX + 8_000, CY + 3_500, "石门水库")]):
        for gi, (g, (a, b)) in enumerate(zip(["一级保护区", "二级保护区", "准保护区"], [(0, 500), (500, 1_300), (1_300, 2_200)])):
            ws.append({"SYDBM": f"SY{ADMIN}{j + 1:02d}-{gi + 1}", "SYDMC": f"示范县{nm}饮用水水源", "BHQJB": g,
                       "SYLX": "湖库型", "geometry": Point(x, y).buffer(b) if a == 0 else ring(x, y, a, b)})
    water = gpd.GeoDataFrame(ws, crs=GK)
    # ---- industrial parks ------------------------------------------------------------------------------
    parks = gpd.GeoDataFrame([
        {"YQMC": "示范县化工新材料产业园", "YQBM": "YQ350199001", "YQLX": "化工园区", "JB": "省级",
         "geometry": park_boxes[0]},
        {"YQMC": "示范县经济开发区", "YQBM": "YQ350199002", "YQLX": "工业园区", "JB": "省级",
         "geometry": park_boxes[1]},
    ], crs=GK)
    # ---- air quality: west attains, east does not (PM2.5) ---------------------------------------------
    west_half = county.intersection(box(minx - 1, miny - 1, CX, maxy + 1))
    east_half = county.difference(box(minx - 1, miny - 1, CX, maxy + 1))
    air = gpd.GeoDataFrame([
        {"XZQDM": ADMIN, "XZQMC": "示范县西部", "DBQK": "达标", "ND": "2024", "CBWRW": ""},
        {"XZQDM": ADMIN, "XZQMC": "示范县东部", "DBQK": "不达标", "ND": "2024", "CBWRW": "PM2.5"},
    ], geometry=[west_half, east_half], crs=GK)
    farmland = gpd.GeoDataFrame([
        {"BSM": f"JBNT{ADMIN}{k + 1:03d}", "MC": f"永久基本农田保护片{k + 1}",
         "geometry": box(x, y, x + 800, y + 500)}
        for k, (x, y) in enumerate([(CX + 5_000, CY - 1_000), (CX - 1_000, CY + 2_000), (CX + 9_500, CY + 6_500)])
    ], crs=GK)
    # ---- projects ---------------------------------------------------------------------------------------
    def sq(x, y, w=300, h=200):
        return box(x - w / 2, y - h / 2, x + w / 2, y + h / 2)
    rl0 = redline.geometry.iloc[3].representative_point()
    rl_near = redline.geometry.iloc[4]
    nx = rl_near.bounds[2] + 300 + 150  # 300 m east of the red line's eastmost point
    ny = rl_near.centroid.y
    prio = units[units["ZHGKDYFL"] == "1"]
    prio_pt = next(p.representative_point() for p in prio.geometry
                   if not redline.intersects(p.representative_point().buffer(600)).any()
                   and not protected.intersects(p.representative_point().buffer(600)).any())
    gen_units = units[units["ZHGKDYFL"].isin(["2", "3"])]
    # shared edge of two 重点/一般 units for a straddling project
    straddle = None
    for a in range(len(gen_units)):
        for b in range(a + 1, len(gen_units)):
            e = gen_units.geometry.iloc[a].intersection(gen_units.geometry.iloc[b])
            if e.length > 800 and not redline.intersects(e.buffer(400)).any() and not water.intersects(e.buffer(400)).any():
                straddle = e.interpolate(0.5, normalized=True)
                break
        if straddle is not None:
            break
    P = []
    def add(pid, name, code, ctype, geom, note):
        P.append({"项目编号": pid, "项目名称": name, "行业代码": code, "建设性质": ctype, "说明": note, "geometry": geom})
    park1 = parks.geometry.iloc[0].centroid
    park2 = parks.geometry.iloc[1].centroid
    add("P2026-001", "示范水泥熟料生产线", "3011", "新建", sq(park2.x, park2.y, 600, 400), "经开区内的两高项目")
    add("P2026-002", "青山石料加工厂", "3032", "新建", sq(rl0.x, rl0.y), "位于生态保护红线内")
    add("P2026-003", "示范山生态旅游服务站", "7869", "新建", sq(rx, ry, 120, 80), "位于自然保护区核心区")
    add("P2026-004", "东溪水库旁仓储物流中心", "5990", "新建", sq(CX + 1_500, CY - 3_500, 150, 150), "位于一级保护区")
    add("P2026-005", "有机化工原料项目", "2614", "新建", sq(CX + 1_500 + 900, CY - 3_500, 200, 150), "位于二级保护区，排放废水")
    add("P2026-006", "示范县农产品冷链中心", "5951", "新建", sq(nx, ny, 300, 200), "距生态保护红线约 300 m")
    add("P2026-007", "浮法平板玻璃项目", "3041", "新建", sq(prio_pt.x, prio_pt.y, 500, 300), "优先保护单元、园区外")
    add("P2026-008", "化工新材料项目", "2614", "新建", sq(park1.x, park1.y, 800, 500), "化工园区内")
    add("P2026-009", "城区供水管线", "4610", "新建",
        LineString([(CX + 8_000 - 3_000, CY + 3_500 - 200), (CX + 8_000 + 600, CY + 3_500 - 1_800)]), "穿越水源准保护区/二级区")
    add("P2026-010", "地热井", "0790", "新建", Point(CX + 6_000, CY - 2_000), "点状项目")
    if straddle is not None:
        add("P2026-011", "跨单元电子元件厂", "3981", "新建", sq(straddle.x, straddle.y, 400, 400), "跨两个管控单元")
    mp = shapely.MultiPolygon([sq(CX + 5_600, CY - 4_600, 200, 200), sq(CX + 6_100, CY - 4_600, 200, 200)])
    add("P2026-012", "钢铁短流程电炉炼钢项目", "3120", "扩建", mp, "两个地块组成一个项目")
    add("P2026-013", "燃煤自备电厂项目", "4411", "新建", sq(park1.x + 1_000, park1.y + 600, 300, 200), "燃煤自备电厂")
    # ordinary clean projects scattered in 重点/一般 units away from sensitive layers
    codes = [("3399", "金属制品加工厂"), ("1713", "棉纺织厂"), ("3825", "光伏电池组件厂"), ("5411", "公交停保场"),
             ("1391", "食品加工厂"), ("2929", "塑料制品厂"), ("3311", "钢结构制造厂"), ("4419", "分布式光伏电站"),
             ("3670", "汽车零部件厂"), ("6531", "数据中心"), ("3011", "水泥粉磨站"), ("3071", "建筑陶瓷生产线")]
    sensitive = pd.concat([redline.geometry, protected.geometry, water.geometry, farmland.geometry])
    k = 0
    tries = 0
    while k < len(codes) and tries < 5_000:
        tries += 1
        u = gen_units.geometry.iloc[int(rng.integers(len(gen_units)))]
        p = u.representative_point() if tries % 7 == 0 else Point(rng.uniform(*u.bounds[0::2]), rng.uniform(*u.bounds[1::2]))
        fp = sq(p.x, p.y, 250, 180)
        if not u.contains(fp) or sensitive.distance(fp).min() < 1_200 or any(fp.distance(q["geometry"]) < 800 for q in P):
            continue
        code, name = codes[k]
        add(f"P2026-{14 + k:03d}", f"示范县{name}", code, "新建" if k % 3 else "扩建", fp, "一般/重点管控单元内")
        k += 1
    projects = gpd.GeoDataFrame(P, crs=GK)
    # ---- write ------------------------------------------------------------------------------------------
    to_ll = lambda g: g.to_crs(4490)  # noqa: E731
    zones = out / "zones"
    for d in (zones, out / "projects", out / "projects" / "txt", out / "sheets"):
        d.mkdir(parents=True, exist_ok=True)
    _write_gbk_shapefile(to_ll(units), zones / "环境管控单元.shp")
    to_ll(redline).to_file(zones / "STBHHX.gpkg", layer="生态保护红线", driver="GPKG")
    to_ll(protected).to_file(zones / "自然保护地.geojson", driver="GeoJSON")
    to_ll(water).to_file(zones / "饮用水水源保护区.gpkg", layer="饮用水水源保护区", driver="GPKG")
    to_ll(parks).to_file(zones / "产业园区.geojson", driver="GeoJSON")
    to_ll(air).to_file(zones / "大气环境质量达标区.gpkg", layer="达标区", driver="GPKG")
    to_ll(farmland).to_file(zones / "永久基本农田.gpkg", layer="永久基本农田", driver="GPKG")
    pl = to_ll(projects)
    pl.to_file(out / "projects" / "projects.gpkg", layer="projects", driver="GPKG")
    polys = pl[pl.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]  # a shapefile holds one geometry type
    _write_gbk_shapefile(polys, out / "projects" / "projects_gbk.shp")
    pl.rename(columns={"项目编号": "Name", "项目名称": "Description"}).to_file(out / "projects" / "projects.kml", driver="KML")
    from gis_screening.io.survey_txt import write_survey_txt
    for pid, enc in (("P2026-001", "utf-8"), ("P2026-002", "gbk"), ("P2026-007", "gbk"), ("P2026-012", "utf-8"),
                     ("P2026-013", "utf-8"), ("P2026-005", "utf-8")):
        row = pl[pl["项目编号"] == pid]
        parts = shapely.get_parts(row.geometry.iloc[0])
        tx = gpd.GeoDataFrame({"地块编号": [f"{pid}-{i + 1}" if len(parts) > 1 else pid for i in range(len(parts))],
                               "地块名称": [row["项目名称"].iloc[0]] * len(parts), "地块用途": ["工业用地"] * len(parts)},
                              geometry=list(parts), crs=4490)
        write_survey_txt(tx, out / "projects" / "txt" / f"{pid}.txt", encoding=enc)
    p6 = pl[pl["项目编号"] == "P2026-006"].geometry.iloc[0]
    pts = list(p6.exterior.coords)[:-1]
    (out / "projects" / "P2026-006_经纬度.csv").write_text(
        "点号,经度,纬度\n" + "".join(f"J{i + 1},{x:.8f},{y:.8f}\n" for i, (x, y) in enumerate(pts)), encoding="utf-8")
    # admission list (准入清单) as a separate workbook keyed by unit code
    _write_admission_xlsx(units, out / "准入清单.xlsx")
    _write_sheets(out / "sheets")
    manifest = {
        "name": "示范县 2024 生态环境分区管控成果（虚构示例数据）",
        "description": "Fictional county in real Fujian coordinates, generated by sample_data/generate.py",
        "layers": [
            {"role": "control_units", "source": "zones/环境管控单元.shp"},
            {"role": "eco_redline", "source": "zones/STBHHX.gpkg", "layer": "生态保护红线"},
            {"role": "protected_areas", "source": "zones/自然保护地.geojson"},
            {"role": "water_sources", "source": "zones/饮用水水源保护区.gpkg"},
            {"role": "industrial_parks", "source": "zones/产业园区.geojson"},
            {"role": "air_quality", "source": "zones/大气环境质量达标区.gpkg"},
            {"role": "other", "name": "永久基本农田", "source": "zones/永久基本农田.gpkg"},
        ],
        "admission_lists": [{"source": "准入清单.xlsx", "key": "code"}],
    }
    (out / "layerset.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _write_gbk_shapefile(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """As users receive them: GBK attributes, no .cpg, dBASE language byte 0."""
    gdf.to_file(path, driver="ESRI Shapefile", encoding="gbk")
    for ext in (".cpg", ".CPG"):
        path.with_suffix(ext).unlink(missing_ok=True)
    with open(path.with_suffix(".dbf"), "r+b") as fh:
        fh.seek(29)
        fh.write(b"\x00")


def _write_admission_xlsx(units: gpd.GeoDataFrame, path: Path) -> None:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "准入清单"
    ws.append(["环境管控单元编码", "环境管控单元名称", "空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求"])
    for _, r in units.iterrows():
        ws.append([r["HJZHGKDYBM"], r["HJZHGKDYMC"], r["KJBJYS"], r["PWWPFGK"], r["HJFXFK"], r["ZYKFXLYQ"]])
    wb.save(path)


SHEETS = [
    dict(id="P2026-001", name="示范水泥熟料生产线", industry_code="3011", construction_type="新建",
         footprint="../projects/txt/P2026-001.txt",
         products=[dict(benchmark="clinker", capacity=1_500_000, unit_energy=98)],
         energy=dict(raw_coal_t=150_000, bituminous_coal_t=0, natural_gas_10k_nm3=0, diesel_t=500,
                     electricity_mwh=120_000, heat_gj=0),
         captive_coal_power=False, kiln_fuel="coal", emissions_t=dict(so2=120, nox=600, pm=80, vocs=10)),
    dict(id="P2026-007", name="浮法平板玻璃项目", industry_code="3041", construction_type="新建",
         footprint="../projects/txt/P2026-007.txt",
         products=[dict(benchmark="flat_glass_gt800", capacity=9_000_000, unit_energy=10)],
         energy=dict(natural_gas_10k_nm3=9_000, electricity_mwh=60_000), captive_coal_power=False,
         kiln_fuel="gas", emissions_t=dict(so2=150, nox=900, pm=60, vocs=5)),
    dict(id="P2026-012", name="钢铁短流程电炉炼钢项目", industry_code="3120", construction_type="扩建",
         footprint="../projects/txt/P2026-012.txt",
         products=[dict(benchmark="eaf_ge50", capacity=1_000_000, unit_energy=70)],
         energy=dict(electricity_mwh=450_000, natural_gas_10k_nm3=1_200, coke_t=8_000), captive_coal_power=False,
         kiln_fuel="electricity", emissions_t=dict(so2=40, nox=160, pm=90, vocs=8)),
    dict(id="P2026-013", name="燃煤自备电厂项目", industry_code="4411", construction_type="新建",
         footprint="../projects/txt/P2026-013.txt",
         energy=dict(bituminous_coal_t=400_000, diesel_t=200), captive_coal_power=True, kiln_fuel="none",
         emissions_t=dict(so2=300, nox=450, pm=60, vocs=2)),
    dict(id="P2026-008", name="化工新材料项目", industry_code="2614", construction_type="新建",
         footprint="../projects/projects.gpkg#P2026-008",
         products=[dict(benchmark="paraxylene", capacity=300_000, unit_energy=600)],
         energy=dict(natural_gas_10k_nm3=5_000, electricity_mwh=80_000, heat_gj=500_000), captive_coal_power=False,
         kiln_fuel="gas", emissions_t=dict(so2=20, nox=80, pm=10, vocs=120)),
]


def _flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, list):
            for i, item in enumerate(v):
                out.update(_flatten(item, f"{key}.{i}."))
        else:
            out[key] = v
    return out


def _write_sheets(folder: Path) -> None:
    from openpyxl import Workbook
    for s in SHEETS:
        (folder / f"{s['id']}.yaml").write_text(yaml.safe_dump(s, allow_unicode=True, sort_keys=False), encoding="utf-8")
    flat = [_flatten({**s, "footprint": s["footprint"].replace("../", "../")}) for s in SHEETS]
    cols = list(dict.fromkeys(k for f in flat for k in f))
    wb = Workbook()
    ws = wb.active
    ws.title = "建设项目信息表"
    ws.append(cols)
    for f in flat:
        ws.append([f.get(c) for c in cols])
    ws.freeze_panes = "A2"
    wb.save(folder / "projects.xlsx")


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    if target != HERE and target.exists():
        shutil.rmtree(target)
    sys.path.insert(0, str(HERE.parent))
    build(target)
    print(f"sample data written to {target}")
