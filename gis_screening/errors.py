"""User-facing errors and import problems.

:class:`InputError` is raised for anything the user can fix (a bad file, a missing field).  Its
``str()`` is one line naming the file, the row or feature, and the field, so the CLI can print it
as-is and exit 2, and the app can show it in a dialog.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class InputError(Exception):
    """A user mistake in an input file or argument (never a bug)."""

    def __init__(self, message: str, *, file: str | Path | None = None, where: str | None = None,
                 field: str | None = None):
        self.message = message
        self.file = str(file) if file is not None else None
        self.where = where
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.where:
            parts.append(self.where)
        if self.field:
            parts.append(f"field {self.field!r}")
        prefix = ": ".join([", ".join(parts)]) if parts else ""
        text = f"{prefix}: {self.message}" if prefix else self.message
        return " ".join(text.split())  # one line


class ZoneRequired(InputError, ValueError):
    """Gauss-Krüger eastings without a zone prefix and no zone given: the caller must supply the 3° zone (the app
    asks for it; the CLI says which option gives it)."""

    def at(self, file: str | Path) -> ZoneRequired:
        """The same error naming ``file``."""
        return ZoneRequired(self.message, file=file, where=self.where, field=self.field)


class LayerRequired(InputError):
    """A GeoPackage, File Geodatabase or CAD drawing holding several layers and none named: the caller must choose
    one of ``layers`` (the app asks; the CLI says which option names it).  ``counts``: what each layer holds, as
    a number of ``unit`` ("features", "outlines" or "lines"), for the question to show."""

    def __init__(self, message: str, layers: list[str], *, file: str | Path | None = None,
                 counts: dict[str, int] | None = None, unit: str = "features"):
        super().__init__(message, file=file)
        self.layers = layers
        self.counts = counts or {}
        self.unit = unit


def validated(model, data, *, file: str | Path | None = None, where: str | None = None, describe=None,
              show_input: bool = False):
    """``model.model_validate(data)`` (a pydantic model); the first validation error becomes a one-line
    :class:`InputError` naming ``file``, ``where`` and the dotted key as the field.  ``describe(loc) -> (where,
    field)`` names list items better (a rule by its id); ``show_input`` quotes the rejected value."""
    from pydantic import ValidationError
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        w, f = describe(loc) if describe else (where, ".".join(str(x) for x in loc))
        msg = err["msg"].removeprefix("Value error, ")
        if show_input and "input" in err:
            msg += f" (got {err['input']!r})"
        raise InputError(msg, file=file, where=w, field=f or None) from None


class Cancelled(Exception):
    """The user cancelled long work (export, screening); nothing was written."""


@dataclass(frozen=True)
class Problem:
    """Something found and handled while importing (a repair, a guess, a skipped feature).

    ``level`` is ``"info"`` (a guess that is almost surely right, e.g. detected encoding),
    ``"warning"`` (data changed or guessed: the user should look) or ``"error"`` (a feature was dropped).
    """

    level: str
    message: str
    feature: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.feature is not None:
            where.append(f"feature {self.feature}")
        if self.field:
            where.append(f"field {self.field!r}")
        loc = f" ({', '.join(where)})" if where else ""
        return f"[{self.level}] {self.message}{loc}"
