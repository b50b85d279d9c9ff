"""The report-maker's profile: 编制单位, 编制人, 校核人, 审核人 and the report-number prefix, for the cover and
sign-off of every report.  Read from ``--profile FILE`` or ``profile.yaml`` in the user config folder."""
from __future__ import annotations

import hashlib
from pathlib import Path

from platformdirs import user_config_dir
from pydantic import BaseModel, ConfigDict

from ..errors import InputError, validated

BLANK = "＿＿＿＿＿＿＿＿"


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    编制单位: str = BLANK
    编制人: str = BLANK
    校核人: str = BLANK
    审核人: str = BLANK
    报告编号前缀: str = "SX"


def default_profile_path() -> Path:
    return Path(user_config_dir("gis-screening")) / "profile.yaml"


def load_profile(path: str | Path | None = None) -> Profile:
    """The profile at ``path`` (errors name the key), else the user's default file, else blanks to sign by hand."""
    from ..limits import load_structured, not_found
    p = Path(path) if path else default_profile_path()
    if not p.exists():
        if path:
            raise InputError(not_found(p, "profile file"), file=p)
        return Profile()
    doc = load_structured(p) or {}
    if not isinstance(doc, dict):
        raise InputError("a profile is a mapping (编制单位, 编制人, 校核人, 审核人, 报告编号前缀)", file=p)
    return validated(Profile, {k: str(v) for k, v in doc.items()}, file=p)


def report_number(profile: Profile, doc: dict) -> str:
    """``{prefix}-{YYYYMMDD}-{4 hex}``: the date of the screening and a digest of the project ids (stable for the
    same batch on the same day)."""
    day = str(doc.get("generated_at", ""))[:10].replace("-", "")
    ids = "|".join(r["project"]["id"] for r in doc.get("results", []))
    return f"{profile.报告编号前缀}-{day}-{hashlib.sha1(ids.encode('utf-8')).hexdigest()[:4].upper()}"
