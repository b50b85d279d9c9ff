"""What officials read: rule titles and citations instead of internal ids, sizes for polygons, lines and points,
file names relative to the layer set, and local dates in Chinese form.  One place for every output (reports,
maps, XLSX, HTML, CLI table, app); result JSON keeps the ids."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any


def missing_layers_text(missing: list[dict[str, Any]]) -> str:
    """What the outputs say when the layer set lacked layers the rules need (``layers_missing`` of a result)."""
    names = "、".join(f"“{m['title']}”" for m in missing)
    return (f"本次筛查未加载{names}图层，依赖这些图层的规则未能核对；可能适用于项目的，已列为需人工核实事项。"
            "须补充图层后重新筛查，或人工核实。")


def decisive_titles(result: dict[str, Any]) -> list[str]:
    """Titles of the findings that decide a project's verdict (unique, in order of the findings)."""
    decisive = set(result.get("decisive_rules", []))
    seen: dict[str, None] = {}
    for f in result.get("findings", []):
        if f["rule_id"] in decisive:
            seen.setdefault(f.get("title") or "未命名规则", None)
    return list(seen)


def size_text(project: dict[str, Any]) -> str:
    """Area for polygons, length for lines, “点状” for points (never “0.0 m²”)."""
    if project.get("area_m2"):
        return f"{project['area_m2']:,.1f} m²（{project['area_m2'] / 10000:,.4f} ha）"
    if project.get("length_m"):
        return f"线状，长度 {project['length_m']:,.1f} m"
    return "点状"


def display_path(path: str | None, base: str | Path | None) -> str:
    """``path`` relative to ``base`` (the layer-set folder) when it lies under it, else its file name: never the
    absolute path of the machine that made the report."""
    if not path:
        return "—"
    p = Path(str(path))
    if base is not None:
        try:
            rel = os.path.relpath(p.resolve(), Path(base).resolve())
            if not rel.startswith(".."):
                return rel.replace(os.sep, "/")
        except (OSError, ValueError):
            pass
    return p.name


def chinese_datetime(value: str | dt.datetime | None = None, with_time: bool = True) -> str:
    """``2026年11月29日 19:20`` in local time (ISO text, datetime or now)."""
    if value is None:
        t = dt.datetime.now().astimezone()
    elif isinstance(value, str):
        try:
            t = dt.datetime.fromisoformat(value).astimezone()
        except ValueError:
            return value
    else:
        t = value.astimezone() if value.tzinfo else value
    text = f"{t.year}年{t.month}月{t.day}日"
    return f"{text} {t:%H:%M}" if with_time else text
