"""Every import problem a report shows officials reads in Chinese: each message the readers write (one sample
each) comes out of ``import_note_zh`` without English words — only codes, file names, EPSG numbers and the names
of formats remain."""
from __future__ import annotations

import re

import pytest

from gis_screening.reports.import_notes import import_note_zh

SAMPLES = [
    ("[error] feature has no geometry; skipped (feature P1)", "错误：该要素没有几何，未筛查（要素 P1）"),
    ("[error] geometry has NaN or infinite coordinates; skipped (feature P1)", None),
    ("[error] invalid geometry (Self-intersection[119.1 26.0]) could not be repaired; skipped (feature P1)", None),
    ("[warning] Polygon has no area (Too few points: its points are repeated or collinear); screened as a line or "
     "point (feature P1)", None),
    ("[warning] invalid geometry (Self-intersection[119.1 26.0]) repaired with make_valid; area 0 → 1e-05 (source "
     "units) (feature P1)", None),
    ("[error] LineString in a polygon layer; skipped (feature P1)", "错误：几何类型（线）与图层要求（面）不符，未筛查（要素 P1）"),
    ("[warning] 2 feature(s) have no id; they are named by row (#3…) (field 'id')", None),
    ("[warning] no project id field; each feature's name is its id (field 'id')", None),
    ("[warning] no project id field; ids generated from the file name (红线图…) (field 'id')", None),
    ("[warning] construction_type: '迁扩建' read as 扩建 by the words '扩建' it contains (1 features); add the "
     "spelling to the catalog's domains if that is wrong (field 'construction_type')", None),
    ("[warning] construction_type: value '迁建' not recognised (1 features); treated as missing (field "
     "'construction_type')", None),
    ("[warning] field name '项目名' was cut mid-character at the dBASE 10-byte limit; read as '项目' (field '项目')", None),
    ("[warning] attribute encoding GBK/GB18030: MapInfo character set Neutral; text is not UTF-8 and decodes as "
     "GBK/GB18030", "注意：属性编码按 GBK/GB18030 读取"),
    ("[warning] no .prj file: CRS inferred from the coordinates", None),
    ("[warning] no layer '红线' here: its only layer '一期' read", "注意：文件中没有图层“红线”，已读取其唯一的图层“一期”"),
    ("[warning] no folder '红线' here: all its folders read", None),
    ("[warning] no sheet '红线' here: its only sheet with coordinates read", None),
    ("[warning] coordinate columns are swapped relative to the usual order; corrected", None),
    ("[warning] X and Y columns are swapped (X should be the northing); corrected", None),
    ("[warning] declared parcel area 6.0000 ha differs from the computed 24.0000 ha (feature P1)", None),
    ("[warning] the file's coordinate system 'Nonearth' is a local one without a datum: read as if it had none",
     None),
    ("[warning] CRS inferred: coordinates are longitude/latitude degrees within China; read as CGCS2000 "
     "(EPSG:4490)", None),
    ("[warning] Xian 1980 converted with user parameters +towgs84=1,2,3",
     "注意：西安 1980 坐标按用户给出的参数转换为 CGCS2000（+towgs84=1,2,3）"),
    ("[warning] 2 features share the id P1: screened as one project of 2 parcels", None),
    ("[warning] columns of 项目表.xlsx that are no project-sheet field, not read: 备注, 联系人",
     "注意：信息表 项目表.xlsx 中的以下列不是信息表字段，未读取：备注, 联系人"),
    ("[warning] CAD drawing: footprint read from CAD layer '红线' (1 outlines)", None),
    ("[warning] CAD drawing: other CAD layers left out: 建筑 1, 图框 1", None),
    ("[warning] CAD drawing: it carries no coordinate system; its coordinates are read as CGCS2000 (a Xian 1980, "
     "Beijing 1954 or local drawing needs --crs, and --towgs84)", None),
    ("[warning] CAD layer '红线': its lines (drawn as separate segments) joined into 1 closed outlines", None),
    ("[warning] CAD layer '红线': 1 lines nearly close on themselves (handle 2F): read as lines; if they are "
     "boundaries, close them in CAD", None),
    ("[warning] CAD layer '红线': 2 open lines beside its closed outlines left out (an outline that is not closed "
     "in the drawing is among them: close it in CAD)", None),
    ("[warning] no CAD layer '道路' in the drawing: its only layer with outlines read", None),
]
#: what may stay in Latin letters: format and system names, codes, file names
KEPT = re.compile(r"EPSG:\d+|GBK|GB18030|CGCS2000|UTF-8|CAD|KML|dBASE|Nonearth|make_valid|towgs84|\.\w+|[A-Z]\d+|#\d+")


@pytest.mark.parametrize("message,chinese", SAMPLES, ids=[m[:40] for m, _ in SAMPLES])
def test_import_problems_read_in_chinese(message, chinese):
    said = import_note_zh(message)
    assert said != message and said[:3] in ("错误：", "注意：", "说明：")
    assert not re.findall(r"[A-Za-z]{3,}", KEPT.sub("", said)), said
    if chinese is not None:
        assert said == chinese
