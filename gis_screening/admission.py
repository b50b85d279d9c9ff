"""Join a 准入清单 table (XLSX/XLS/CSV or the tables of a Word document; one row a unit, or one requirement a
row) onto the control-unit layer."""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pandas as pd

from .catalog import Catalog
from .errors import InputError, Problem
from .io.tables import HEADER_ROWS, header_rows, read_cells
from .limits import not_found
from .model import Layer
from .normalise import ADMISSION_FIELDS

JOIN_FIELDS = (*ADMISSION_FIELDS, "name")


def read_admission_table(path: str | Path, sheet: str | None, catalog: Catalog,
                         fields: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of a 准入清单 workbook with canonical column names (code + the four dimensions …).  The header is the
    first row (of the first :data:`HEADER_ROWS`) naming a unit-code column, so a title row above it is skipped
    (said in ``df.attrs["note"]``); a two-row header, as published tables have it (生态环境准入清单 merged above
    空间布局约束 | 污染物排放管控 …), takes the lower row's names where the upper row has none of its own."""
    path = Path(path)
    if not path.exists():
        raise InputError(not_found(path, "准入清单 file"), file=path)
    raw = read_cells(path, "准入清单 table", sheet=sheet or 0, dtype=str)
    rows = header_rows(raw)

    def mapped(row: list[str]) -> dict[str, str]:
        return catalog.match_fields("control_units", row, fields or None)
    at = next((i for i, row in enumerate(rows[:HEADER_ROWS]) if "code" in mapped(row).values()), None)
    if at is None:
        first = [c for c in (rows[0] if rows else []) if not c.startswith("#")]
        raise InputError("准入清单 has no unit-code column (环境管控单元编码 / HJZHGKDYBM …) in its first "
                         f"{HEADER_ROWS} rows; its first row is: " + ", ".join(first), file=path, field="code")
    names, start = rows[at], at + 1
    if at + 1 < len(rows):
        upper, lower = mapped(names), mapped(rows[at + 1])
        if sum(v in ADMISSION_FIELDS for v in lower.values()) >= 2:   # a second header row: the dimensions' names
            # (a row naming one is a requirement of a list of one requirement a row)
            names = [lo if lo in lower and up not in upper else up for up, lo in zip(names, rows[at + 1])]
            start = at + 2
    df = raw.iloc[start:].reset_index(drop=True)
    df.columns = names
    mapping = mapped(names)
    code_header = next(src for src, canon in mapping.items() if canon == "code")
    df = df.rename(columns=mapping)
    df = df.loc[:, ~df.columns.duplicated()]
    coded = df["code"].notna() & (df["code"].astype(str).str.strip() != "")
    # a row with a requirement's text but no unit code (a requirement run on into the next row, a code left out):
    # said, never dropped silently (numbers alone, a 序号, are no requirement)
    texts = df.drop(columns=["code", "name"], errors="ignore").map(
        lambda v: isinstance(v, str) and not v.replace(" ", "").isdigit() and bool(v.strip()))
    uncoded = [start + 1 + int(i) for i in df.index[~coded & texts.any(axis=1)]]      # spreadsheet rows
    # a footnote under the table (注：本清单… in the code column, nothing beside it) is no unit
    footnote = coded & df["code"].astype(str).str.strip().str.match(r"(?:注|备注|说明)\s*[:：\d（(]") & \
        ~texts.any(axis=1)
    footnotes = [start + 1 + int(i) for i in df.index[footnote]]
    df = df[coded & ~footnote]
    df["code"] = df["code"].astype(str).str.strip()
    df = df[df["code"] != code_header]              # the header again (a table split across pages or documents)
    notes = []
    if at:
        header = f"rows {at + 1}–{at + 2}" if start == at + 2 else f"row {at + 1}"
        notes.append(f"header on {header}; the {at} row(s) above it skipped")
    if footnotes:
        notes.append(f"row {', '.join(map(str, footnotes))}: a note under the table (注：…), not a unit")
    if not any(c in df.columns for c in DIMENSIONS):
        long = _dimension_rows(df, catalog)
        if long is not None:
            df, note = long
            notes.append(note)
    if notes:
        df.attrs["note"] = "; ".join(notes)
    df.attrs["uncoded_rows"] = uncoded
    return df[[c for c in ("code", *JOIN_FIELDS) if c in df.columns]]


#: the four dimensions of a 准入清单 (fields of the control_units role)
DIMENSIONS = ("spatial_constraints", "emission_controls", "risk_controls", "resource_efficiency")


def _dimension_rows(df: pd.DataFrame, catalog: Catalog) -> tuple[pd.DataFrame, str] | None:
    """A list published one requirement a row (单元编码 | 管控维度 | 管控要求), as one row a unit with the four
    dimension columns, each dimension's requirements joined in their order; None when ``df`` is not such a
    table.  The dimension column is the one whose values name the dimensions (空间布局约束 …), the requirement
    column the one with the longest texts among the others."""
    known: dict[str, str | None] = {}

    def dimension(value: object) -> str | None:
        text = str(value)
        if len(text) > 20:              # a requirement, not a dimension's name
            return None
        if text not in known:
            found = [f for f in catalog.match_fields("control_units", [text]).values() if f in DIMENSIONS]
            known[text] = found[0] if found else None
        return known[text]
    others = [c for c in df.columns if c not in ("code", *JOIN_FIELDS)]
    scores = {}
    for c in others:
        values = [v for v in df[c].tolist() if isinstance(v, str) and v.strip()]
        if values:
            scores[c] = sum(dimension(v) is not None for v in values) / len(values)
    which = max(scores, key=lambda c: scores[c], default=None)
    if which is None or scores[which] < 0.8:
        return None
    lengths = {c: df[c].map(lambda v: len(v) if isinstance(v, str) else 0).mean() for c in others if c != which}
    text = max(lengths, key=lambda c: lengths[c], default=None)
    if text is None:
        return None
    rows: dict[str, dict[str, object]] = {}
    unread = 0
    for code, dim, req, name in zip(df["code"], df[which], df[text], df["name"] if "name" in df else [None] * len(df)):
        field = dimension(dim) if isinstance(dim, str) else None
        row = rows.setdefault(unit_code_key(code), {"code": code, "name": name})     # one unit however typed
        if field is None or not isinstance(req, str) or not req.strip():
            unread += bool(isinstance(req, str) and req.strip())
            continue
        row[field] = f"{row[field]}\n{req.strip()}" if row.get(field) else req.strip()
    out = pd.DataFrame(list(rows.values()))
    note = (f"one requirement a row (dimension in column {which!r}, text in {text!r}): {len(df)} rows read as "
            f"{len(out)} units" + (f"; {unread} row(s) of no dimension left out" if unread else ""))
    return out, note


def unit_code_key(code: object) -> str:
    """A unit code as the join compares it: full width as ASCII, blanks dropped, upper case."""
    return "".join(unicodedata.normalize("NFKC", str(code)).split()).upper()


def join_admission(units: Layer, table: pd.DataFrame, source: str) -> list[Problem]:
    """Fill the units' 准入清单 fields from ``table`` by unit code (a blank cell keeps the unit's own value); report
    what matched and what did not.  A unit left with every list field blank is one without its list
    (:func:`~gis_screening.normalise.has_admission_list`)."""
    gdf = units.gdf
    # codes match as written in any case or width (ｚｈ３５… typed with a Chinese IME is ZH35…)
    keyed = table.assign(code=table["code"].map(unit_code_key), written=table["code"])
    by_code = keyed.drop_duplicates("code", keep="last").set_index("code")
    dups = table["code"][keyed["code"].duplicated()].unique().tolist()
    written = gdf["code"].astype(str).tolist()
    codes = [unit_code_key(c) for c in written]
    matched = [c for c in codes if c in by_code.index]
    problems = [Problem("info", f"准入清单 {source}: {len(matched)} of {len(codes)} units joined by code")]
    other = sorted({w for w, k in zip(by_code["written"], by_code.index) if w != k and k in set(codes)})
    if other:
        problems.append(Problem("info", f"准入清单 {source}: {len(other)} code(s) written in other case or width, "
                                f"joined: {', '.join(other[:5])}{' …' if len(other) > 5 else ''}", field="code"))
    if table.attrs.get("note"):
        problems.append(Problem("info", f"准入清单 {source}: {table.attrs['note']}"))
    for col in JOIN_FIELDS:
        if col not in by_code.columns or col == "name":
            continue
        values = by_code[col].to_dict()
        old = gdf[col].tolist() if col in gdf.columns else [None] * len(gdf)
        gdf[col] = [values.get(c) if isinstance(values.get(c), str) and values.get(c).strip() else o
                    for c, o in zip(codes, old)]
    missing = [w for w, c in zip(written, codes) if c not in by_code.index]
    if missing:
        problems.append(Problem("warning", f"准入清单 {source}: no row for {len(missing)} unit(s): "
                                f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}", field="code"))
    orphans = [w for w, c in zip(by_code["written"], by_code.index) if c not in set(codes)]
    if orphans:
        problems.append(Problem("warning", f"准入清单 {source}: {len(orphans)} row(s) name unit codes not in the "
                                f"layer: {', '.join(orphans[:5])}{' …' if len(orphans) > 5 else ''}", field="code"))
    if dups:
        problems.append(Problem("warning", f"准入清单 {source}: duplicate rows for {', '.join(dups[:5])}; the last "
                                "row was used", field="code"))
    uncoded = table.attrs.get("uncoded_rows") or []
    if uncoded:
        problems.append(Problem("warning", f"准入清单 {source}: {len(uncoded)} row(s) with requirements but no unit "
                                f"code left out (row {', '.join(map(str, uncoded[:5]))}{' …' if len(uncoded) > 5 else ''}"
                                "): give each row its unit's code, or merge the code cell down over them",
                                field="code"))
    units.gdf = gdf
    return problems
