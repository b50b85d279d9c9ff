"""Attribute-form specs generated from the catalog: domains as choices, required fields, code format checks."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..catalog import Catalog, default_catalog

UNIT_CODE = re.compile(r"^ZH\d{6}([123])\d{4}$")
CATEGORY_DIGIT = {"优先保护单元": "1", "重点管控单元": "2", "一般管控单元": "3"}


@dataclass
class FieldForm:
    """One field of an attribute form: name, title, required, choices from the catalog domain."""
    name: str
    title: str
    required: bool
    choices: list[str] | None
    multiline: bool


def form_for(role: str, catalog: Catalog | None = None) -> list[FieldForm]:
    """The form fields of a role in catalog order."""
    cat = catalog or default_catalog()
    spec = cat.role(role)
    return [FieldForm(k, f.title, f.required, list(cat.domains[f.domain]) if f.domain else None, f.text)
            for k, f in spec.fields.items()]


def validate_attributes(role: str, attrs: dict, catalog: Catalog | None = None) -> list[str]:
    """Problems with an attribute set (empty list when valid), each naming the field, in Chinese."""
    errs = []
    for f in form_for(role, catalog):
        v = attrs.get(f.name)
        if f.required and (v is None or str(v).strip() == ""):
            errs.append(f"{f.title}（{f.name}）为必填项")
        elif f.choices and v not in (None, "") and v not in f.choices:
            errs.append(f"{f.title}（{f.name}）取值“{v}”不在 {' / '.join(f.choices)} 之中")
    if role == "control_units" and attrs.get("code"):
        code = str(attrs["code"])
        m = UNIT_CODE.match(code)
        if code.startswith("ZH") and not m:
            errs.append(f"单元编码（code）“{code}”格式应为 ZH + 6 位行政区划代码 + 类别位 1/2/3 + 4 位序号")
        elif m and attrs.get("category") in CATEGORY_DIGIT and m.group(1) != CATEGORY_DIGIT[attrs["category"]]:
            errs.append(f"单元编码（code）“{code}”的类别位 {m.group(1)} 与管控类别“{attrs['category']}”不一致")
    return errs
