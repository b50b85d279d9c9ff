"""Rule packs: YAML documents of rules, validated on load, stacked national → provincial → city → unit.

A later pack overrides an earlier rule with the same id only when it says ``override: true`` (otherwise the
clash is an error naming both files).  ``as_of`` keeps the packs in force on that date.  Errors name the file,
the rule id and the field.  See docs/rule-packs.md.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..errors import InputError, validated
from ..mappings import merge_into
from ..resources import data_dir
from .conditions import check_expression
from .model import LEVEL_LABELS, Level

_LEVEL_OF_LABEL = {label: level for level, label in LEVEL_LABELS.items()}


def _level(value: Any) -> Any:
    """A level as a pack author may write it: its id, or the label reports show (不符合, 需人工核实, 有条件符合, 符合,
    提示); anything else is left for the validation to name."""
    return _LEVEL_OF_LABEL.get(value.strip(), value.strip()) if isinstance(value, str) else value


#: The level of a rule or check as a pack gives it (:data:`~.model.Level`, or its Chinese label).
PackLevel = Annotated[Level, BeforeValidator(_level)]

LEVEL_ORDER = {"national": 0, "provincial": 1, "city": 2, "unit": 3}


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    date: dt.date | None = None
    status: str | None = None   # e.g. "unconfirmed: wording not checked against the official text"


class Rule(BaseModel):
    """One rule: which layer, which spatial relation, an optional condition, the level and its basis."""

    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    layer: str | None = None                    # a role, or "other:<manifest name>"; None for relation "always"
    relation: Literal["intersects", "within", "within_distance", "disjoint", "always"] = "intersects"
    distance_m: float | None = None
    when: str | None = None
    level: PackLevel
    message: str
    basis: list[str] = Field(min_length=1)
    dimension: str | None = None
    override: bool = False
    enabled: bool = True
    #: project facts the rule depends on; when one is missing and the outcome depends on it, the rule says so
    #: at needs_review (naming the field) instead of being skipped.  Known: construction_type.
    requires: list[Literal["construction_type"]] = Field(default_factory=list)

    @field_validator("when")
    @classmethod
    def _condition_parses(cls, v: str | None) -> str | None:
        if v:
            err = check_expression(v)
            if err:
                raise ValueError(f"condition does not parse: {err}")
        return v

    @model_validator(mode="after")
    def _relation_needs(self) -> Rule:
        if self.relation == "within_distance" and not self.distance_m:
            raise ValueError("relation within_distance needs distance_m")
        if self.relation != "always" and not self.layer:
            raise ValueError(f"relation {self.relation} needs a layer")
        return self


class Pack(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    version: str
    level: Literal["national", "provincial", "city", "unit"]
    order: int = 0
    effective: dt.date
    expires: dt.date | None = None
    documents: list[Document] = Field(default_factory=list)
    notes: str | None = None
    rules: list[Rule] = Field(default_factory=list)
    carbon: dict[str, Any] | None = None

    def in_force(self, day: dt.date) -> bool:
        return self.effective <= day and (self.expires is None or day < self.expires)


@dataclass
class RuleStack:
    """Packs in stacking order and the effective rules after overrides."""

    packs: list[tuple[Pack, Path]]
    rules: list[tuple[Rule, Pack]] = field(default_factory=list)
    carbon: dict[str, Any] = field(default_factory=dict)        # merged ``carbon:`` sections, as written
    carbon_config: Any = None                         # the validated carbon section (gis_screening.screening)
    not_in_force: list[tuple[Pack, Path]] = field(default_factory=list)   # packs found but not in force that day

    def pack_refs(self) -> list[dict[str, Any]]:
        return [{"id": p.id, "version": p.version, "title": p.title, "level": p.level} for p, _ in self.packs]

    def reach(self) -> tuple[float, Rule | None]:
        """How far out (metres) the rules that can change a verdict look for features, and the rule that looks
        farthest (``within_distance`` rules above ``info``; 0 and None when there are none): a screening must search
        at least this far."""
        far = max((r for r, _ in self.rules if r.relation == "within_distance" and r.level != "info"),
                  key=lambda r: r.distance_m or 0, default=None)
        return (float(far.distance_m or 0), far) if far is not None else (0.0, None)

    def not_in_force_note(self, day: dt.date | None) -> str | None:
        """One line naming the packs found but not in force on ``day`` (their rules are not applied), or None."""
        if not self.not_in_force:
            return None
        packs = "; ".join(f"{p.id} (in force from {p.effective}" + (f" to {p.expires})" if p.expires else ")")
                          for p, _ in self.not_in_force)
        return f"note: rule packs not in force on {(day or dt.date.today()).isoformat()}, their rules not applied: {packs}"


def _version_str(doc: dict[str, Any]) -> dict[str, Any]:
    if "version" in doc and not isinstance(doc["version"], str):
        doc["version"] = str(doc["version"])
    return doc


def load_pack(path: str | Path) -> Pack:
    """Load and validate one pack file; errors name the file, rule id and field."""
    from ..limits import check_input_file, load_structured
    path = check_input_file(path, "rule pack")
    doc = load_structured(path)
    if not isinstance(doc, dict):
        raise InputError("a rule pack is a YAML mapping (id, title, version, level, effective, rules)", file=path)
    def describe(loc: list[Any]) -> tuple[str | None, str]:
        """A rule's error names the rule by its id."""
        if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rules = doc.get("rules") or []
            rid = rules[loc[1]].get("id", f"#{loc[1] + 1}") if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) else f"#{loc[1] + 1}"
            return f"rule {rid}", ".".join(str(x) for x in loc[2:]) or "rule"
        return None, ".".join(str(x) for x in loc)
    pack: Pack = validated(Pack, _version_str(doc), file=path, describe=describe)
    return pack


def pack_files(paths: list[str | Path] | None = None) -> list[Path]:
    """Pack files from files/folders (recursive ``*.yaml``); default: the shipped ``rules/`` folder."""
    roots = [Path(p) for p in paths] if paths else [data_dir("rules")]
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            found = sorted(p for p in root.rglob("*.yaml") if "reference" not in p.parts)
            if not found:
                raise InputError("no rule pack (*.yaml) in this folder", file=root)
            files += found
        elif root.exists():
            files.append(root)
        else:
            raise InputError("rule pack file or folder not found", file=root)
    return files


def load_stack(paths: list[str | Path] | None = None, as_of: dt.date | None = None) -> RuleStack:
    """Load packs, keep those in force on ``as_of`` (default today), stack them and apply overrides.

    The ``carbon:`` section is merged but validated by :func:`gis_screening.screening.load_rules`, which is
    what callers use."""
    day = as_of or dt.date.today()
    loaded = [(load_pack(f), f) for f in pack_files(paths)]
    seen_ids: dict[str, Path] = {}
    for pack, f in loaded:
        if pack.id in seen_ids and seen_ids[pack.id] != f:
            raise InputError(f"pack id {pack.id!r} also used by {seen_ids[pack.id]}", file=f, field="id")
        seen_ids[pack.id] = f
    active = [(p, f) for p, f in loaded if p.in_force(day)]
    if loaded and not active:       # screening with no rule at all would call every project 符合
        spans = "; ".join(f"{p.id} from {p.effective}" + (f" to {p.expires}" if p.expires else "")
                          for p, _ in sorted(loaded, key=lambda pf: pf[0].effective))
        raise InputError(f"no rule pack is in force on {day.isoformat()} ({spans}); give a date the packs cover "
                         "(--as-of YYYY-MM-DD)", file=Path(paths[0]) if paths else data_dir("rules"))
    active.sort(key=lambda pf: (LEVEL_ORDER[pf[0].level], pf[0].order, str(pf[1])))
    stack = RuleStack(packs=active, not_in_force=[(p, f) for p, f in loaded if not p.in_force(day)])
    by_id: dict[str, int] = {}
    origin: dict[str, Path] = {}
    for pack, f in active:
        for rule in pack.rules:
            if rule.id in by_id:
                if not rule.override:
                    raise InputError(f"rule id already defined in {origin[rule.id]}; set `override: true` to "
                                     "replace it", file=f, where=f"rule {rule.id}", field="override")
                stack.rules[by_id[rule.id]] = (rule, pack)
            else:
                by_id[rule.id] = len(stack.rules)
                stack.rules.append((rule, pack))
            origin[rule.id] = f
        if pack.carbon:
            merge_into(stack.carbon, pack.carbon)
    stack.rules = [(r, p) for r, p in stack.rules if r.enabled]
    return stack

