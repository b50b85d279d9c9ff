"""Join a 准入清单 table (XLSX/CSV, one row per unit code) onto the control-unit layer."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .catalog import Catalog
from .errors import InputError, Problem
from .io.safezip import check_workbook
from .model import Layer
from .normalise import ADMISSION_FIELDS

JOIN_FIELDS = (*ADMISSION_FIELDS, "name")


def read_admission_table(path: str | Path, sheet: str | None, catalog: Catalog,
                         fields: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of a 准入清单 workbook with canonical column names (code + the four dimensions …)."""
    path = Path(path)
    if not path.exists():
        raise InputError("准入清单 file not found", file=path)
    try:
        if path.suffix.lower() in (".xlsx", ".xls"):
            check_workbook(path)
            df = pd.read_excel(path, sheet_name=sheet or 0, dtype=str)
        else:
            import io

            from .encoding import read_text
            text, _ = read_text(path)
            df = pd.read_csv(io.StringIO(text), dtype=str)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read 准入清单 table: {exc}", file=path) from None
    mapping = catalog.match_fields("control_units", df.columns, fields or None)
    df = df.rename(columns=mapping)
    if "code" not in df.columns:
        raise InputError("准入清单 has no unit-code column (环境管控单元编码 / HJZHGKDYBM …); columns are: "
                         + ", ".join(map(str, df.columns)), file=path, field="code")
    df["code"] = df["code"].astype(str).str.strip()
    return df[[c for c in ("code", *JOIN_FIELDS) if c in df.columns]]


def join_admission(units: Layer, table: pd.DataFrame, source: str) -> list[Problem]:
    """Fill the units' 准入清单 fields from ``table`` by unit code (a blank cell keeps the unit's own value); report
    what matched and what did not.  A unit left with every list field blank is one without its list
    (:func:`~gis_screening.normalise.has_admission_list`)."""
    gdf = units.gdf
    by_code = table.drop_duplicates("code", keep="last").set_index("code")
    dups = table["code"][table["code"].duplicated()].unique().tolist()
    codes = gdf["code"].astype(str).tolist()
    matched = [c for c in codes if c in by_code.index]
    problems = [Problem("info", f"准入清单 {source}: {len(matched)} of {len(codes)} units joined by code")]
    for col in JOIN_FIELDS:
        if col not in by_code.columns or col == "name":
            continue
        values = by_code[col].to_dict()
        old = gdf[col].tolist() if col in gdf.columns else [None] * len(gdf)
        gdf[col] = [values.get(c) if isinstance(values.get(c), str) and values.get(c).strip() else o
                    for c, o in zip(codes, old)]
    missing = [c for c in codes if c not in by_code.index]
    if missing:
        problems.append(Problem("warning", f"准入清单 {source}: no row for {len(missing)} unit(s): "
                                f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}", field="code"))
    orphans = [c for c in by_code.index if c not in set(codes)]
    if orphans:
        problems.append(Problem("warning", f"准入清单 {source}: {len(orphans)} row(s) name unit codes not in the "
                                f"layer: {', '.join(orphans[:5])}{' …' if len(orphans) > 5 else ''}", field="code"))
    if dups:
        problems.append(Problem("warning", f"准入清单 {source}: duplicate rows for {', '.join(dups[:5])}; the last "
                                "row was used", field="code"))
    units.gdf = gdf
    return problems
