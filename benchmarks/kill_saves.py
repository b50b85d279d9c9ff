"""The long kill test (the suite runs 20): SIGKILL savers of a GeoPackage layer at random moments, a third of them
exactly between the commit and the journal clean-up, and check after each that the file holds the old or the new
state and that recovery replays nothing already committed.
Run: .venv/bin/python benchmarks/kill_saves.py --kills 100
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=100)
    args = ap.parse_args()
    import test_editing as te
    tmp = Path(tempfile.mkdtemp())
    path = te.make_units(tmp / "u.gpkg")
    script = tmp / "adder.py"
    script.write_text(te.ADDER, encoding="utf-8")
    t = time.perf_counter()
    stats = te.kill_during_saves(path, script, args.kills, seed=1)
    print(f"{args.kills} savers: {stats['killed']} killed, {stats['committed']} found committed, "
          f"{stats['recovered']} recovered from the journal; 0 duplicated, 0 lost; {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
