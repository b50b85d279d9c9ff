"""Zone-layer editing for planners, Qt-free: commands with do/undo, transactional GeoPackage saves with an
audit table, a crash journal, topology checks, version diff.  The app wraps each command in a QUndoCommand."""
