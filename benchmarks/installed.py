"""What the benchmarks share about the package under test."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gis_screening"


def compile_package() -> None:
    """Byte-compile the package as ``pip install`` does, so that no measured run compiles its modules again (where
    ``PYTHONDONTWRITEBYTECODE`` is set, as on this workplace's machines, every run otherwise would)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", PACKAGE], check=True, stdout=subprocess.DEVNULL,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
