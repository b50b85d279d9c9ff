"""Map source fields onto the catalog's canonical names and normalise coded values."""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .catalog import Catalog
from .errors import InputError, Problem
from .model import is_missing

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

T = TypeVar("T")


def _as_text(value):
    """Cell value as clean text: None for blanks, integral floats without '.0', whitespace trimmed."""
    if is_missing(value):           # None, NaN, pd.NA, NaT: never the text "<NA>" or "NaT"
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = " ".join(str(value).split()) if "\n" not in str(value) else str(value).strip()
    return text or None


_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_number(text: object) -> float:
    """A number as typed or formatted in a spreadsheet: ``2885885.123``, with thousands separators
    (``2,885,885.123``: groups of three only — ``1,5`` is no number) or in full-width characters
    (``２８８５８８５．１２３``, typed with a Chinese IME).  ValueError for anything else."""
    s = unicodedata.normalize("NFKC", str(text)).strip()
    return float(s.replace(",", "") if _GROUPED.match(s) else s)


def number_or_given(value: object) -> object:
    """A text cell that is a number as :func:`parse_number` reads it → that number; anything else as given (for a
    validator to name)."""
    if isinstance(value, str):
        try:
            return parse_number(value)
        except ValueError:
            pass
    return value


#: every character ``str.split()`` splits on (Unicode whitespace, the ideographic space U+3000 among them), as a
#: regular-expression class that Python's ``re`` and Arrow's RE2 read alike (literal characters, none special)
_WHITESPACE = "[" + "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + "]"


def text_column(column: pd.Series) -> list[str | None]:
    """:func:`_as_text` of every cell of ``column``.  A text column (pandas' string dtype) is checked at once:
    only its missing, empty or whitespace-holding cells are worked out one by one, the rest are already clean."""
    import pandas as pd
    if not isinstance(column.dtype, pd.StringDtype):
        return list(map(per_value(_as_text), column.tolist()))
    out = column.tolist()
    odd = column.isna() | column.str.contains(_WHITESPACE, regex=True, na=False) | (column.str.len() == 0)
    for i in np.flatnonzero(odd.to_numpy(dtype=bool)).tolist():
        out[i] = _as_text(out[i])
    return out


def per_value(fn: Callable[[Any], T]) -> Callable[[Any], T]:
    """``fn`` worked out once per distinct (type, value) of the cells it is given (1, 1.0 and True differ); an
    unhashable cell (a list from GeoJSON) or a missing one (a NaN equals nothing, so it would never be found again)
    is worked out each time and not remembered.  One memo per column or per run."""
    seen: dict[tuple[type, Any], T] = {}

    def once(value: Any) -> T:
        if is_missing(value):
            return fn(value)
        key = (value.__class__, value)
        try:
            return seen[key]
        except KeyError:
            out = seen[key] = fn(value)
            return out
        except TypeError:
            return fn(value)
    return once


#: how a yes/no is written in sheets and tables (after folding case and blanks)
_YES = frozenset({"true", "yes", "y", "1", "是", "有", "√", "✓", "对", "t"})
_NO = frozenset({"false", "no", "n", "0", "否", "无", "×", "✗", "不是", "f"})


def yes_no(value: object) -> bool | None:
    """A yes/no cell as a bool: True/False, 1/0, 是/否, 有/无, yes/no, √/×; None for an empty cell.  ValueError
    for anything else (a text such as 待定 is no answer, and a non-empty text must never read as yes)."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()     # full-width １/ＹＥＳ as typed with an IME
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"{value!r} is not a yes/no value (是/否, 有/无, true/false, 1/0)")


#: the 准入清单 fields of a control unit: a unit layer with none of them was loaded without its list
ADMISSION_FIELDS = ("spatial_constraints", "emission_controls", "risk_controls", "resource_efficiency",
                    "prohibited_industries", "restricted_industries")


def has_admission_list(record: Mapping[str, object]) -> bool:
    """Does a control unit's record carry any of its 准入清单 (a non-blank :data:`ADMISSION_FIELDS` value)?  Every
    unit has a list in four dimensions, so a unit with all of them blank was loaded, joined or drawn without it:
    a rule makes a project in it 需人工核实 instead of reading its blank fields as "nothing prohibited"."""
    return any(not is_missing(v) and str(v).strip() for v in (record.get(f) for f in ADMISSION_FIELDS))


def unlisted_problems(gdf: pd.DataFrame) -> list[Problem]:
    """A warning for a control-unit frame loaded without its 准入清单: no list fields at all, or units whose list
    fields are all blank (named, up to five)."""
    if not any(c in gdf.columns for c in ADMISSION_FIELDS):
        return [Problem("warning", "no 准入清单 fields (禁止类/限制类行业, 空间布局约束…): projects in these units are "
                        "需人工核实 until a 准入清单 is joined (admission_lists in the manifest)")]
    fields = [c for c in ADMISSION_FIELDS if c in gdf.columns]
    blank = [str(code) for code, *values in gdf[["code", *fields]].itertuples(index=False, name=None)
             if not has_admission_list(dict(zip(fields, values)))]
    if not blank:
        return []
    return [Problem("warning", f"{len(blank)} unit(s) with every 准入清单 field blank: {', '.join(blank[:5])}"
                    f"{' …' if len(blank) > 5 else ''}; projects in them are 需人工核实 until their list is joined",
                    field="code")]


def normalise_fields(gdf: gpd.GeoDataFrame, role: str, catalog: Catalog, *, source: str | Path,
                     explicit: dict[str, str] | None = None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Rename fields to canonical names for ``role``, normalise domain values, check ids.

    Required fields missing → :class:`InputError` naming the file, layer role and field.  Domain values
    that were rewritten, or not recognised, are reported (one problem per distinct value).
    Canonical columns come first; other source columns are kept after them.
    """
    spec = catalog.role(role)
    problems: list[Problem] = []
    if explicit:
        for canon in explicit:
            if canon not in spec.fields:
                raise InputError(f"manifest maps unknown field {canon!r} for role {role}; "
                                 f"known: {', '.join(spec.fields)}", file=source, field=canon)
            src = explicit[canon]
            if src not in gdf.columns and src.strip() not in [c.strip() for c in gdf.columns]:
                raise InputError(f"manifest maps {canon} to column {src!r}, which the layer does not have; "
                                 f"columns: {', '.join(c for c in gdf.columns if c != 'geometry')}",
                                 file=source, field=src)
    mapping = catalog.match_fields(role, gdf.columns, explicit)
    renamed = {src: canon for src, canon in mapping.items() if src != canon}
    out = gdf.rename(columns=renamed)
    # a source column already named like a canonical field that was mapped elsewhere would duplicate
    out = out.loc[:, ~out.columns.duplicated()]
    if renamed:
        problems.append(Problem("info", "fields mapped: " + ", ".join(f"{s.strip()!r}→{c}" for s, c in renamed.items())))
    present = set(out.columns)
    for canon, fspec in spec.fields.items():
        if fspec.required and canon not in present:
            if role == "projects" and canon == "id":
                continue  # footprints without ids get generated ones below
            cols = ", ".join(str(c) for c in gdf.columns if c != "geometry")
            raise InputError(f"required field {canon} ({fspec.title}) of role {role} not found; columns are: "
                             f"{cols}; add an alias in layers/ or map it with `fields:` in the manifest",
                             file=source, field=canon)
    for canon in spec.fields:
        if canon in out.columns:
            out[canon] = text_column(out[canon])
    id_field = spec.id_field
    if role == "projects":
        problems += _project_ids(out, id_field, spec.name_field, source)
    for canon, fspec in spec.fields.items():
        if fspec.domain and canon in out.columns:
            problems += _normalise_domain(out, canon, fspec.domain, catalog)
    ids = [None if is_missing(v) else v for v in out[id_field].tolist()]   # a blank is NaN in a text column
    blanks = [i + 1 for i, v in enumerate(ids) if v is None]
    if blanks:
        problems.append(Problem("warning", f"{len(blanks)} feature(s) have no {id_field}; "
                                f"they are named by row (#{blanks[0]}…)", field=id_field))
        out[id_field] = [v if v is not None else f"#{i + 1}" for i, v in enumerate(ids)]
    dups = [k for k, n in Counter(v for v in ids if v is not None).items() if n > 1] if spec.unique_id else []
    if dups:
        rows = [i + 1 for i, v in enumerate(ids) if v == dups[0]]
        problems.append(Problem("error", f"duplicate {id_field} values: {', '.join(dups[:10])}"
                                f"{' …' if len(dups) > 10 else ''} ({len(dups)} codes; {dups[0]!r} at rows "
                                f"{', '.join(map(str, rows))})", field=id_field))
    canon_cols = [c for c in spec.fields if c in out.columns]
    rest = [c for c in out.columns if c not in canon_cols and c != out.geometry.name]
    import geopandas as gpd
    return gpd.GeoDataFrame(out[canon_cols + rest + [out.geometry.name]], geometry=out.geometry.name,
                            crs=gdf.crs), problems


def _project_ids(out: pd.DataFrame, id_field: str, name_field: str, source) -> list[Problem]:
    """Ids for footprints that have none (in place): each feature's name when every feature has a different one
    (KML placemarks, say), else ids from the file name; said as a warning."""
    names = [None if is_missing(v) else v for v in out[name_field].tolist()] if name_field in out.columns else []
    no_ids = id_field not in out.columns or all(is_missing(v) for v in out[id_field].tolist())
    if no_ids and len(out) > 1 and names and all(names) and len(set(names)) == len(names):
        out[id_field] = names
        return [Problem("warning", "no project id field; each feature's name is its id", field="id")]
    if id_field not in out.columns:
        stem = Path(str(source)).stem
        out[id_field] = [f"{stem}-{i + 1}" if len(out) > 1 else stem for i in range(len(out))]
        return [Problem("warning", f"no project id field; ids generated from the file name ({stem}…)", field="id")]
    return []


def _normalise_domain(out: pd.DataFrame, column: str, domain: str, catalog: Catalog) -> list[Problem]:
    problems = []
    values = [None if is_missing(v) else v for v in out[column].tolist()]
    new: list = []
    changed: Counter = Counter()
    unknown: Counter = Counter()
    by_terms: Counter = Counter()
    known: dict = {}
    for v in values:
        if v is None:
            new.append(None)
            continue
        canon = known[v] if v in known else known.setdefault(v, catalog.normalise_value(domain, v))
        if canon is None:
            term = catalog.value_by_terms(domain, v)
            if term is None:
                unknown[v] += 1
                new.append(v)
                continue
            by_terms[(v, term[0], term[1])] += 1
            new.append(term[0])
        else:
            if canon != v:
                changed[(v, canon)] += 1
            new.append(canon)
    out[column] = new
    for (old, canon), n in changed.items():
        problems.append(Problem("info", f"{column}: {old!r} normalised to {canon} ({n} features)", field=column))
    for (old, canon, word), n in by_terms.items():
        problems.append(Problem("warning", f"{column}: {old!r} read as {canon} by the words {word!r} it contains "
                                f"({n} features); add the spelling to the catalog's domains if that is wrong",
                                field=column))
    allowed = " / ".join(catalog.domains.get(domain, {}))
    if len(unknown) > 5:
        sample = ", ".join(repr(v) for v in list(unknown)[:5])
        problems.append(Problem("warning", f"{column}: {len(unknown)} distinct values not recognised "
                                f"({sample} …; {sum(unknown.values())} features); expected {allowed}", field=column))
        return problems
    for v, n in unknown.items():
        problems.append(Problem("warning", f"{column}: value {v!r} not recognised ({n} features); "
                                f"expected {allowed}", field=column))
    return problems
