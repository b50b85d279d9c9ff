"""Projects to screen: a footprint (EPSG:4490) plus attributes (industry code, construction type, sheet).

``load_projects(path)`` accepts any geometry file (each feature one project; features sharing an id are one
multi-parcel project; a 勘测定界 TXT is one project), a project sheet YAML/JSON whose ``footprint`` names a
geometry file (``file.gpkg#P2026-008`` picks one feature by id; ``成果.gpkg#一期`` or ``红线图.dxf#红线`` a layer of
a source holding several), or an XLSX/CSV of sheets (one row per project, dotted column names) with a
``footprint`` column.
"""
from __future__ import annotations

import json
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shapely

from ..catalog import default_catalog
from ..errors import InputError, LayerRequired
from ..industry import code_text, gbt4754, normalise_code
from ..limits import not_found, portable_path
from ..model import Layer, Project, is_missing
from ..normalise import parse_number, per_value, yes_no
from ..sheet_columns import header_unit, sheet_column
from .tables import header_rows, read_cells, workbook_sheets

if TYPE_CHECKING:
    import pandas as pd

SHEET_SUFFIXES = {".yaml", ".yml", ".json"}
#: files that describe one project whatever their number of features: a 勘测定界 TXT, a coordinate table (one
#: parcel a sheet), a CAD drawing (one parcel an outline)
ONE_PROJECT_SUFFIXES = {".txt", ".csv", ".xlsx", ".xls", ".dxf"}


def _clean(v):
    return None if is_missing(v) else v


def _industry_code(value, attrs: dict, notes: list[str],
                   read: Callable[[Any], tuple[str | None, str | None, str | None]] | None = None) -> str | None:
    """The industry code as text; a numeric cell that may have lost a leading 0 sets ``industry_code_alt``; a code
    read out of words (``C3011 水泥制造``, a GB/T name) is said in ``notes``.  ``read``: :func:`_industry_reading`,
    or one remembering earlier cells (:func:`~gis_screening.normalise.per_value`), for many rows at once."""
    code, alt, note = (read or _industry_reading)(value)
    if alt:
        attrs["industry_code_alt"] = alt
    if note:
        notes.append(note)
    return code


def _industry_reading(value) -> tuple[str | None, str | None, str | None]:
    """An industry code cell read (:func:`~gis_screening.industry.code_text`): the code, the code with a leading 0
    it may have lost, and what to say of the reading (several codes in one cell, a code read out of words), or
    None."""
    code, alt = code_text(value)
    note = None
    if isinstance(value, str) and code not in gbt4754() and len(re.findall(r"\d{2,4}", normalise_code(value))) > 1:
        note = (f"[warning] industry code {value.strip()!r} names several codes: screened as an unknown industry; "
                "give the project's main one (another industry: a project of its own)")
    elif isinstance(value, str) and code and code != normalise_code(value):
        entry = gbt4754().get(code)
        note = f"[info] industry code {value.strip()!r} read as {code}" + (f" ({entry.name})" if entry else "")
    return code, alt, note


def projects_from_layer(layer: Layer, one_project: bool = False) -> list[Project]:
    """Projects from a loaded ``projects`` layer; rows with the same id merge into one multi-parcel project.  (A
    layer from the loaded-layer cache is read without a frame: :meth:`~gis_screening.model.Layer.geometries`.)"""
    groups: dict[str, list[int]] = {}
    ids = layer.feature_ids()
    if one_project:
        pid = Path(layer.source).stem if len(set(ids)) > 1 else ids[0]
        groups[pid] = list(range(len(ids)))
    else:
        for i, pid in enumerate(ids):
            groups.setdefault(pid, []).append(i)
    geoms = layer.geometries()
    features = layer.records()
    fields, records = features.keys, features.every()
    # import problems each project carries into its result: the file's own, its feature's, and every footprint
    # of the file that was skipped (said on every project of that file, never silently lost)
    shared = [str(p) for p in layer.problems if p.feature is None or p.feature not in groups]
    by_feature: dict[str, list[str]] = {}
    for p in layer.problems:
        if p.feature is not None and p.feature in groups:
            by_feature.setdefault(p.feature, []).append(str(p))
    has_sheet = any(str(c).split(".")[0] in SHEET_KEYS for c in fields)
    has_flags = any(key in fields for key in RULE_FLAGS)
    codes = per_value(_industry_reading)     # the column holds few distinct codes
    out = []
    for pid, rows in groups.items():
        geom = geoms[rows[0]] if len(rows) == 1 else shapely.union_all(geoms[rows])
        attrs = records[rows[0]]
        if has_flags:
            _read_flags(attrs, f"{layer.source} feature {pid}")
        notes = shared + by_feature.get(pid, [])
        if len(rows) > 1 and not one_project:
            notes.append(f"[warning] {len(rows)} features share the id {pid}: screened as one project of "
                         f"{len(rows)} parcels")
        code = _industry_code(attrs.pop("industry_code", None), attrs, notes, codes)
        proj = Project(id=str(pid), geometry=geom, name=_clean(attrs.pop("name", None)), industry_code=code,
                       construction_type=_clean(attrs.pop("construction_type", None)),
                       attributes=attrs, source=layer.source, problems=notes)
        proj.sheet = sheet_from_attributes(proj) if has_sheet else None
        out.append(proj)
    return out


SHEET_KEYS = ("products", "energy", "emissions_t", "captive_coal_power", "kiln_fuel")
#: project flags rules read as yes/no (docs/rule-packs.md): read with one reader, so 否 never counts as yes
RULE_FLAGS = ("limited_activity", "national_major", "water_supply_related", "discharges_pollutants", "sewage_outfall",
              "serious_water_pollution")


def _read_flags(attrs: dict, where: str) -> dict:
    """``attrs`` with its :data:`RULE_FLAGS` as True/False/None (:func:`~gis_screening.normalise.yes_no`);
    InputError naming ``where`` and the field for a value that is no yes/no."""
    for key in RULE_FLAGS:
        if key in attrs:
            try:
                attrs[key] = yes_no(attrs[key])
            except ValueError as exc:
                raise InputError(str(exc), file=where, field=key) from None
    return attrs


def sheet_from_attributes(project: Project) -> dict | None:
    """A project sheet carried as footprint attributes (``energy.raw_coal_t``, ``kiln_fuel`` … columns), or None."""
    attrs = {k: v for k, v in project.attributes.items() if v is not None}
    if not any(str(k).split(".")[0] in SHEET_KEYS for k in attrs):
        return None
    sheet = _unflatten({k: v for k, v in attrs.items() if str(k).split(".")[0] in SHEET_KEYS})
    sheet.update(id=project.id, name=project.name, industry_code=project.industry_code,
                 construction_type=project.construction_type)
    return {k: v for k, v in sheet.items() if v is not None}


def _resolve_footprint(ref, base: Path, where: str, read: dict[str, Any]) -> list[Project]:
    text = portable_path(str(ref))
    path_text, _, fid = text.partition("#")
    path = (base / path_text) if not Path(path_text).is_absolute() else Path(path_text)
    try:
        exists = isinstance(ref, str) and path.exists()
    except OSError as exc:          # a name too long for a file: some text that is no file name
        exists = False
        if not _inline_like(ref):
            raise InputError(f"footprint {ref[:40]!r}… is no file name ({exc.strerror})", file=where,
                             field="footprint") from None
    inline = None if exists else _inline_footprint(ref, where)
    if inline is not None:
        return _read_inline(inline, where, read)
    if not exists:
        raise InputError(f"{not_found(path, f'footprint file {path_text!r}')} (relative to the sheet)", file=where,
                         field="footprint")
    if fid and path.suffix.lower() == ".dxf":      # a drawing has no feature ids: ``红线图.dxf#红线`` names its layer
        read, fid = {**read, "layer": fid}, ""
    from .pipeline import read_layer
    try:
        layer = read_layer(path, "projects", **read)
    except LayerRequired as exc:                   # ``成果.gpkg#一期``: the layer of a source holding several
        if fid not in exc.layers:
            raise
        layer, fid = read_layer(path, "projects", **{**read, "layer": fid}), ""
    projects = projects_from_layer(layer, one_project=path.suffix.lower() in ONE_PROJECT_SUFFIXES)
    if fid:
        projects = [p for p in projects if p.id == fid]
        if not projects:
            raise InputError(f"footprint {path_text!r} has no feature with id {fid!r}", file=where, field="footprint")
    return projects


_WKT = re.compile(r"\s*(MULTI)?(POLYGON|LINESTRING|POINT)\s*Z?\s*(\(|EMPTY)", re.IGNORECASE)


def _inline_like(ref: object) -> bool:
    """Does a footprint cell hold the geometry itself (GeoJSON, or WKT) rather than a file name?  (A file is
    looked for first: ``Polygon (1).kml`` is a file.)"""
    return isinstance(ref, dict) or isinstance(ref, str) and (ref.strip().startswith("{") or bool(_WKT.match(ref)))


def _inline_footprint(ref: object, where: str) -> dict | None:
    """A footprint given in the sheet itself, as GeoJSON (a mapping, or its text in a table cell) or WKT text
    (``POLYGON ((…))``, as GIS tools export a geometry column): a GeoJSON feature collection, its geometries
    checked; None for a file name."""
    if not _inline_like(ref):
        return None
    try:
        if isinstance(ref, str) and ref.strip().startswith("{"):
            ref = json.loads(ref)
        elif isinstance(ref, str):
            with warnings.catch_warnings():         # (shapely warns of coordinates too large for a float)
                warnings.simplefilter("ignore")
                ref = shapely.geometry.mapping(shapely.from_wkt(ref))
        if not isinstance(ref, dict):
            raise ValueError("a GeoJSON geometry, feature or feature collection is an object")
        features = ref.get("features") if ref.get("type") == "FeatureCollection" else [
            ref if ref.get("type") == "Feature" else {"type": "Feature", "properties": {}, "geometry": ref}]
        if not isinstance(features, list) or not features:
            raise ValueError("no features")
        for f in features:
            geometry = f.get("geometry") if isinstance(f, dict) else None
            if not isinstance(geometry, dict) or not geometry.get("type"):
                raise ValueError("a feature without a geometry (its type and coordinates)")
            shapely.geometry.shape(geometry)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError,
            shapely.errors.GEOSException) as exc:
        kind = "GeoJSON" if isinstance(ref, dict) or str(ref).strip().startswith("{") else "WKT"
        raise InputError(f"inline footprint is not {kind}: {' '.join(str(exc).split())[:200]}", file=where,
                         field="footprint") from None
    return {"type": "FeatureCollection", "features": features}


def _read_inline(collection: dict, where: str, read: dict[str, Any]) -> list[Project]:
    """The projects of an inline footprint, read as a footprint file is (its coordinate system found from the
    magnitudes of its coordinates — GK metres as well as lon/lat —, ``read``'s options, geometry checks)."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="gis-screening-inline-") as tmp:
        path = Path(tmp) / "footprint.geojson"
        path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
        from .pipeline import read_layer
        try:
            layer = read_layer(path, "projects", **read)
        except InputError as exc:
            raise InputError(f"inline footprint: {exc.message}", file=where, field="footprint") from None
    projects = projects_from_layer(layer)
    for p in projects:      # a geometry has no id of its own: the sheet's (or its file's name) is the project's
        p.id, p.source = "", where
        p.problems = [n for n in p.problems if "no project id field" not in n]
    return projects


def _with_construction_type_spelled(sheet: dict) -> dict:
    """``sheet`` with its 建设性质 spelled as the catalog's domain does, as for a footprint file's (新建（迁建）、
    迁建 → 新建, 技改 → 技术改造, stray spaces); an unknown one is left for the sheet's validation to name."""
    value = sheet.get("construction_type")
    canon = default_catalog().normalise_value("construction_type", value) if isinstance(value, str) else None
    return {**sheet, "construction_type": canon} if canon and canon != value else sheet


def project_from_sheet(sheet: dict, base: Path, where: str, read: dict[str, Any] | None = None) -> Project:
    """A project from a sheet mapping (contracts/project-sheet.md) with its footprint resolved (``read``: the
    options of :func:`load_projects` for reading the footprint file)."""
    if "footprint" not in sheet or sheet["footprint"] in (None, ""):
        raise InputError("project sheet has no footprint (a geometry file path or inline GeoJSON)", file=where,
                         field="footprint")
    sheet = _with_construction_type_spelled(sheet)
    if isinstance(sheet.get("products"), dict):         # one product written as a mapping, not a list of one
        sheet = {**sheet, "products": [sheet["products"]]}
    found = _resolve_footprint(sheet["footprint"], base, where, read or {})
    if len(found) != 1:
        geom = shapely.union_all([p.geometry for p in found])
        fp = Project(id="", geometry=geom, source=where,
                     problems=list(dict.fromkeys(n for p in found for n in p.problems)))
    else:
        fp = found[0]
    pid = str(sheet.get("id") or fp.id or Path(where).stem)
    attrs = _read_flags({**fp.attributes, **{k: v for k, v in sheet.items() if k not in (
        "id", "name", "industry_code", "construction_type", "footprint")}}, where)
    # how the footprint file's own ids were made up says nothing when the sheet names the project
    notes = [n for n in fp.problems if not (sheet.get("id") and "no project id field" in n)]
    code = _industry_code(sheet["industry_code"], attrs, notes) if "industry_code" in sheet else fp.industry_code
    return Project(id=pid, geometry=fp.geometry, name=sheet.get("name") or fp.name, industry_code=code,
                   construction_type=sheet.get("construction_type") or fp.construction_type,
                   attributes=attrs, sheet=sheet, source=where, problems=notes,
                   footprint_file=found[0].source_file())


def _unflatten(row: dict) -> dict:
    out: dict = {}
    for key, value in row.items():
        if value is None or value == "":
            continue
        parts = str(key).strip().split(".")
        cur: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and parts[i + 1].isdigit()
            if part.isdigit():
                idx = int(part)
                while len(cur) <= idx:
                    cur.append({})
                if last:
                    cur[idx] = value
                else:
                    if not isinstance(cur[idx], (dict, list)) or (nxt_is_index and not isinstance(cur[idx], list)):
                        cur[idx] = [] if nxt_is_index else {}
                    cur = cur[idx]
            else:
                if last:
                    cur[part] = value
                else:
                    cur = cur.setdefault(part, [] if nxt_is_index else {})
    return out


#: the first cell of a row that sums the rows above it (not a project)
TOTALS = {"合计", "总计", "小计", "共计", "总合计"}


def read_sheet_rows(path: Path) -> tuple[list[tuple[int, dict]], list[str]]:
    """Rows of an XLSX/CSV sheet table as (spreadsheet row, nested dict: dotted column names unflattened), and
    notes for every project of it.  A column is a dotted key (``energy.raw_coal_t``) or what reviewers call it
    (:func:`~gis_screening.sheet_columns.sheet_column`: ``原煤（万吨）``, ``用地范围文件``, ``是否燃煤自备电厂`` …; a
    quantity in another unit is converted); a Chinese column naming no sheet field is kept under its own name
    and said in the notes.  A blank row holds nothing and is passed over; a 合计 (总计, 小计 …) row without a
    footprint sums the projects above it and is passed over too, said in the notes."""
    df = _sheet_table(path)
    columns: dict[str, tuple[str, float]] = {}
    unread = []
    for column in df.columns:
        name = str(column).strip()
        try:
            found = (name, 1.0) if name.isascii() else sheet_column(name, default_catalog())
        except ValueError as exc:
            raise InputError(str(exc), file=path, field=name) from None
        if found is None:
            found = (name, 1.0)
            if name not in NOT_SHEET_COLUMNS:
                unread.append(name)
        twin = next((c for c, (k, _) in columns.items() if k == found[0]), None)
        if twin is not None:
            raise InputError(f"columns {twin!r} and {name!r} both give {found[0]}; keep one", file=path)
        columns[column] = found
    first = int(df.attrs.get("first_row", 2))
    rows: list[tuple[int, dict]] = []
    totals = []
    for i, (_, r) in enumerate(df.iterrows()):
        cells = {c: (v.strip() or None) if isinstance(v := _clean(r[c]), str) else v for c in columns}
        filled = [v for v in cells.values() if v is not None]
        if not filled:
            continue
        if "".join(str(filled[0]).split()) in TOTALS and not any(
                cells[c] is not None for c, (k, _) in columns.items() if k == "footprint"):
            totals.append(str(first + i))
            continue
        d = {}
        for c, (key, factor) in columns.items():
            value = cells[c]
            if value is not None:
                value = _checked_cell(key, value, path, f"row {first + i}", str(c).strip())
            d[key] = _scaled(value, factor)
            if key.endswith(".unit_energy") and value is not None and (unit := header_unit(str(c))):
                d[f"{key}_unit"] = unit         # checked against the product's benchmark unit, converted
        rows.append((first + i, _unflatten(d)))
    if not rows:        # a table given and nothing screened would be a silent drop
        which = f"row {', '.join(totals)} {'is a totals row' if len(totals) == 1 else 'are totals rows'} (合计) and no " \
            "other row" if totals else "no row"
        raise InputError(f"no project in the table: {which} below the header holds one", file=path)
    notes = [f"[warning] columns of {path.name} that are no project-sheet field, not read: {', '.join(unread)}"] \
        if unread else []
    if totals:
        notes.append(f"[warning] {path.name} row {', '.join(totals)}: a totals row (合计), not read as a project")
    return rows, notes


#: what a form's quantity cell holds for "not given" (as a blank cell) and for "none" (0)
NOT_GIVEN = {"/", "\\", "-", "--", "—", "——"}
NONE_USED = {"无", "不涉及", "没有"}


def _is_quantity(key: str) -> bool:
    """Does the dotted sheet key hold a number (an energy use, an emission, a product's capacity or unit energy)?"""
    parts = key.split(".")
    return parts[0] in ("energy", "emissions_t") or (
        parts[0] == "products" and parts[-1] in ("capacity", "unit_energy"))


def _checked_cell(key: str, value, path: Path, where: str, column: str):
    """A cell's value for ``key``: a quantity as a number (text as a spreadsheet gives it, ``1,500,000``, read);
    InputError naming ``column`` for a quantity that is no number or a yes/no field that is no yes/no (the
    sheet's validation would name the dotted key, which the reviewer may never have written)."""
    if _is_quantity(key) and not isinstance(value, bool):
        word = "".join(unicodedata.normalize("NFKC", str(value)).split())
        if word in NOT_GIVEN:
            return None
        if word in NONE_USED:
            return 0.0
        try:
            return parse_number(value)
        except ValueError:
            raise InputError(f"{value!r} is not a number" + (
                "; give the unit in the column header (原煤（万吨）), the number alone in the cell"
                if any(c.isalpha() for c in str(value)) else ""), file=path, where=where, field=column) from None
    if key in ("captive_coal_power", *RULE_FLAGS):
        try:
            yes_no(value)
        except ValueError as exc:
            raise InputError(str(exc), file=path, where=where, field=column) from None
    return value


#: columns of a sheet table that are no data (not said as unread)
NOT_SHEET_COLUMNS = {"序号", "备注", "说明"}


def _scaled(value, factor: float):
    """A quantity cell (a number already: :func:`_checked_cell`) converted to the sheet's unit (``factor``); other
    cells as they are."""
    if factor == 1.0 or value is None or isinstance(value, bool):
        return value
    return value * factor


def _sheet_table(path: Path, nrows: int | None = None) -> pd.DataFrame:
    """An XLSX/CSV sheet table (a CSV in UTF-8 or GBK, as Excel and WPS save it), its header the first of the
    first :data:`~.tables.HEADER_ROWS` rows that names the footprint column (a title row above it is skipped); in a
    workbook, on the first sheet that has one (a 填表说明 sheet may come first)."""
    if path.suffix.lower() in (".xlsx", ".xls"):
        import pandas as pd
        raws = [pd.DataFrame(s.rows, dtype=object) for s in workbook_sheets(path, "project sheet table")]
    else:
        raws = [read_cells(path, "project sheet table", nrows=nrows)]
    for raw in raws:
        form = _form_table(raw)
        if form is not None:
            return form if nrows is None else form.head(nrows)
        heads = header_rows(raw, extra=0)
        at = next((i for i, row in enumerate(heads) if any(_names_footprint(c) for c in row)), None)
        if at is not None:
            break
    else:
        raw, at = raws[0], 0
        heads = header_rows(raw, extra=0)
    names = heads[at] if heads else []
    below = header_rows(raw.iloc[at + 1:at + 2], extra=0) if heads else []
    two_level = _with_labels_below(names, below[0] if below else None)
    if two_level is not None:       # a group label (能源消耗) over the columns' own labels: theirs are read
        names, at = two_level, at + 1
    df = raw.iloc[at + 1:].reset_index(drop=True)
    df.columns = names
    df = df.loc[:, [not c.startswith("#") or df[c].notna().any() for c in names]]   # blank trailing columns
    df.attrs["first_row"] = at + 2          # the spreadsheet row of the first project
    return df if nrows is None else df.head(nrows)


def _with_labels_below(upper: list[str], lower: list[str] | None) -> list[str] | None:
    """The header a second header row under ``upper`` makes — a group label merged over several columns (能源消耗,
    污染物排放量) with each column's own label beneath it (原煤（t）, 柴油(t) …), the other labels merged down over
    both rows or left blank below —: each column's lower label where it has one, else its upper; None when
    ``lower`` is no header row (it gives a footprint: the first project) or names no sheet field of its own."""
    if lower is None or len(lower) != len(upper):
        return None
    fp = next((j for j, c in enumerate(upper) if _names_footprint(c)), None)
    if fp is None or not (lower[fp].startswith("#") or lower[fp] == upper[fp]):
        return None
    if not any(lo != up and _sheet_key(lo) is not None for up, lo in zip(upper, lower)):
        return None
    return [up if lo.startswith("#") else lo for up, lo in zip(upper, lower)]


def _sheet_key(cell: object) -> str | None:
    """The sheet key a cell's Chinese label names (:func:`~gis_screening.sheet_columns.sheet_column`; ``?`` for a
    quantity's label in a unit it cannot be given in), or None: no label, or an English key written as it is."""
    if not isinstance(cell, str) or not cell.strip() or cell.strip().isascii():
        return None
    try:
        found = sheet_column(cell.strip(), default_catalog())
    except ValueError:
        return "?"                  # a quantity's label in a unit it cannot be given in: a label all the same
    return found[0] if found else None


#: The rows a form's labels are looked for in: a 信息表 form fills a page or two, a table of projects may run to
#: thousands of rows (each read twice: is it a sheet table, then its rows).
FORM_ROWS = 80


def _form_table(raw: pd.DataFrame) -> pd.DataFrame | None:
    """A 建设项目信息表 laid out as a form — each label (用地范围文件, 项目名称, 原煤（吨）…) with its value in the
    first filled cell to its right, one project a sheet, label and value pairs one or more to a row — as a table
    of one row whose columns are the labels; None for a sheet that is a table (its labels side by side in a header
    row, values below them).  A form has its footprint label with a value beside it, and more labels with a value
    beside them than labels beside another label."""
    pairs: dict[str, object] = {}
    beside_value = beside_label = 0
    footprint_row = None
    for r, row in enumerate(raw.head(FORM_ROWS).itertuples(index=False)):
        cells = list(row)
        for c, cell in enumerate(cells):
            key = _sheet_key(cell)
            if key is None:
                continue
            right = next((v for v in cells[c + 1:] if not is_missing(v) and str(v).strip()), None)
            if right is None:
                continue
            if _sheet_key(right) is not None:
                beside_label += 1
                continue
            beside_value += 1
            pairs.setdefault(str(cell).strip(), right)
            if key == "footprint" and footprint_row is None:
                footprint_row = r
    if footprint_row is None or beside_value < 3 or beside_value <= beside_label:
        return None
    import pandas as pd
    df = pd.DataFrame([list(pairs.values())], columns=list(pairs), dtype=object)
    df.attrs["first_row"] = footprint_row + 1      # the spreadsheet row messages name: its footprint's
    return df


def is_sheet_table(path: Path) -> bool:
    """Does an XLSX/CSV hold project sheets (a ``footprint`` column, or one reviewers call so: 用地范围文件 …)
    rather than coordinates?"""
    try:
        head = _sheet_table(path, nrows=0)
    except InputError:
        return False
    return any(_names_footprint(str(c).strip()) for c in head.columns)


def _names_footprint(header: str) -> bool:
    """Does a column header name the footprint (``footprint``, or a label reviewers use: 用地范围文件 …)?"""
    return header == "footprint" or _sheet_key(header) == "footprint"


def project_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files ``paths`` name, a folder standing for the project files directly in it (footprints, sheets and
    tables by suffix, sorted by name; hidden files and Office lock files ``~$…`` left out).  InputError for a
    folder holding none."""
    from .formats import SUPPORTED_SUFFIXES
    wanted = SUPPORTED_SUFFIXES | SHEET_SUFFIXES | {".dwg"}      # a drawing among them is said (as DWG), not skipped
    out: list[Path] = []
    for given in map(Path, paths):
        if not given.is_dir() or given.suffix.lower() == ".gdb":
            out.append(given)
            continue
        found = sorted(f for f in given.iterdir() if f.suffix.lower() in wanted and not f.name.startswith((".", "~$"))
                       and (f.is_file() or f.suffix.lower() == ".gdb"))      # a File Geodatabase is a folder
        if not found:
            raise InputError("folder holds no project file (" + ", ".join(sorted(wanted - {".dwg"})) + ")", file=given)
        out += found
    return out


def load_projects(path: str | Path, *, zone: int | None = None, offset: str | None = None, crs: str | None = None,
                  encoding: str | None = None, layer: str | None = None, towgs84: str | None = None,
                  cache: bool | str | Path = False, cache_writes: list[Callable[[], None]] | None = None
                  ) -> list[Project]:
    """Projects from a geometry file, a project sheet, or a table of sheets (see module docstring).

    ``zone`` (GK zone for unprefixed eastings), ``offset`` (gcj02 / bd09), ``crs`` (overrides the file's) and
    ``encoding`` (of its text) apply to every geometry file read: the file itself or the footprints sheets name;
    ``layer`` names the layer to read in a GeoPackage or File Geodatabase holding several; ``towgs84`` gives the
    Xian 1980 / Beijing 1954 transformation parameters.  ``cache``: a footprint file is read through the
    loaded-layer cache (:mod:`.layer_cache`; True: the user cache folder, or a folder), as layers are, its new entry
    written now or appended to ``cache_writes``."""
    read: dict[str, Any] = {k: v for k, v in dict(zone=zone, offset=offset, crs=crs, encoding=encoding,
                                                  layer=layer, towgs84=towgs84).items() if v is not None}
    from ..limits import check_input_file, load_structured
    path = check_input_file(path, "project file")
    suffix = path.suffix.lower()
    if suffix in SHEET_SUFFIXES:
        doc = load_structured(path)
        if isinstance(doc, dict) and doc.get("type") in ("FeatureCollection", "Feature"):
            from .pipeline import read_layer
            return projects_from_layer(read_layer(path, "projects", **read))
        sheets = doc if isinstance(doc, list) else [doc]
        if not sheets:
            raise InputError("no project in the file: its list of project sheets is empty", file=path)
        out = []
        for i, sheet in enumerate(sheets):
            if not isinstance(sheet, dict):
                raise InputError("a project sheet is a mapping of keys (id, name, industry_code, footprint …)",
                                 file=path, where=f"item {i + 1}")
            out.append(project_from_sheet(sheet, path.parent, str(path), read))
        return out
    table = suffix in (".xlsx", ".xls", ".csv", ".txt")
    folder = cache if isinstance(cache, (str, Path)) else None      # (True: the user cache folder)
    footprints = None
    if table and cache is not False:
        # an entry for this very file (its size and time in the key) means it was read as a coordinate table, not
        # a table of sheets, by this code: served without opening it with pandas to tell (~0.1 s of a warm run)
        from .layer_cache import cached_layer
        footprints = cached_layer(path, "projects", catalog=default_catalog(), folder=folder, **read)
    if footprints is None and table and is_sheet_table(path):     # .txt: saved as Unicode 文本
        rows, notes = read_sheet_rows(path)
        out = [project_from_sheet(row, path.parent, f"{path} row {n}", read) for n, row in rows]
        for p in out:
            p.problems += notes
        return out
    if suffix == ".zip":        # a drawing, survey TXT or coordinate table sent zipped is one project too
        import zipfile

        from .vector import zip_choice
        try:
            with zipfile.ZipFile(path) as zf:
                suffix = Path(zip_choice(zf.namelist(), path)).suffix.lower()
        except zipfile.BadZipFile:
            pass                # the reader says what is wrong with it
    if footprints is None and cache is False:
        from .pipeline import read_layer
        footprints = read_layer(path, "projects", **read)
    elif footprints is None:
        from .layer_cache import cached_read_layer
        footprints = cached_read_layer(path, "projects", catalog=default_catalog(), later=cache_writes,
                                       folder=folder, **read)
    footprints.source = str(path)           # as given this time (a cached entry is the file's, however named)
    return projects_from_layer(footprints, one_project=suffix in ONE_PROJECT_SUFFIXES)


def merge_duplicates(projects: list[Project]) -> tuple[list[Project], list[str]]:
    """Resolve projects given twice (e.g. a footprint file and a project sheet for the same id).

    A project with a sheet supersedes a footprint-only one with the same id, keeping the first one's position;
    two sheets or two footprints with one id are an :class:`InputError`.  Returns (projects, notes).
    """
    out: list[Project] = []
    where: dict[str, int] = {}
    notes: list[str] = []
    for p in projects:
        if p.id not in where:
            where[p.id] = len(out)
            out.append(p)
            continue
        old = out[where[p.id]]
        if (old.sheet is None) == (p.sheet is None):
            raise InputError(f"project id {p.id!r} appears twice (also in {old.source}); ids must be unique",
                             file=p.source)
        keep, drop = (p, old) if p.sheet is not None else (old, p)
        out[where[p.id]] = keep
        notes.append(f"project {p.id}: project sheet {keep.source} used instead of the footprint-only entry "
                     f"in {drop.source}")
        keep.problems.append(notes[-1])
    return out, notes
