"""The screening engine: prepared layers, overlay metrics, rule packs, verdicts.  No Qt here."""
