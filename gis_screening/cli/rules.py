"""``gis-screening rules check DIR``: validate rule packs and list their rules."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import InputError
from . import app, fail, parse_day, rich_console

rules_app = typer.Typer(no_args_is_help=True, help="Validate and list rule packs.")
app.add_typer(rules_app, name="rules")


@rules_app.command("check")
def rules_check(paths: Optional[List[Path]] = typer.Argument(None, help="pack files or folders (default: rules/)"),
                as_of: Optional[str] = typer.Option(None, "--as-of",
                                                    help="date (YYYY-MM-DD) whose rule packs apply")) -> None:
    """Validate every pack (errors name file, rule id and field) and print the stacked rules."""
    console = rich_console()
    from ..screening import load_rules
    day = parse_day(as_of)
    try:
        stack = load_rules([str(p) for p in paths] if paths else None, as_of=day)
    except InputError as exc:
        fail(str(exc))
    for pack, path in stack.packs:
        console.print(f"[bold]{pack.id}[/bold] {pack.version} ({pack.level}, effective {pack.effective}) — {path}")
    from rich.table import Table
    table = Table("rule", "pack", "layer", "relation", "level", "basis")
    for rule, pack in stack.rules:
        rel = rule.relation + (f" {rule.distance_m:g} m" if rule.distance_m else "")
        table.add_row(rule.id, pack.id, rule.layer or "-", rel, rule.level, rule.basis[0])
    console.print(table)
    console.print(f"{len(stack.packs)} packs, {len(stack.rules)} rules: all valid")
    if note := stack.not_in_force_note(day):
        console.print(note, markup=False, highlight=False)
