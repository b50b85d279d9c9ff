"""Helper process of :func:`gis_screening.reports.render_atlas`: draws part of an atlas.

Run as ``python -m gis_screening.reports.pages JOB``, where JOB is the pickled argument tuple of
:func:`gis_screening.reports.draw_pages` written by the parent into its private temp folder."""
from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main(job: str) -> int:
    from . import draw_pages
    args = pickle.loads(Path(job).read_bytes())
    draw_pages(*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
