"""The hostile corpus through the desktop app: every bad layer set (File → Open) and every bad footprint or sheet
(File → Import) shows a message box naming the file, never a crash; the window keeps working afterwards."""
from pathlib import Path

import pytest

pytest.importorskip("qtpy")

from qtpy.QtWidgets import QMessageBox  # noqa: E402

from .corpus import LAYERSET, TXT, build  # noqa: E402


def _inputs(cases, flag: str, good: Path) -> list[str]:
    """The distinct files the corpus hands to ``flag`` (other than the good one)."""
    out = []
    for _name, argv, _wd in cases:
        for i, a in enumerate(argv[:-1]):
            if a == flag and argv[i + 1] != str(good) and argv[i + 1] not in out:
                out.append(argv[i + 1])
    return out


def _boxes(win) -> list:
    return [b for b in win.findChildren(QMessageBox, "error-box") if b.isVisible()]


@pytest.mark.gui
def test_open_and_import_hostile_files_show_a_message(new_window, tmp_path):
    cases = build(tmp_path)
    layersets, projects = _inputs(cases, "--layerset", LAYERSET), _inputs(cases, "--project", TXT)
    assert len(layersets) >= 10 and len(projects) >= 15
    win = new_window(LAYERSET)
    silent = []
    for kind, paths, action in (("open", layersets, win.open_layerset),
                                ("import", projects, lambda p: win.import_footprint(p, ask=lambda _m: None))):
        for path in paths:
            ok = action(path)
            boxes = _boxes(win)
            # the message names the file at fault: the one opened, or the table its manifest points to
            if ok or len(boxes) != 1 or not any(n in boxes[0].text() for n in (Path(path).name, ".xlsx")):
                silent.append((kind, path, ok, [b.text()[:200] for b in boxes]))
            for b in boxes:
                b.close()
    assert silent == []
    # the layer set and the window still work: the good project screens
    assert win.session.layerset.name.startswith("示范县")
    assert win.import_footprint(str(TXT))
    doc = win.screen_and_wait()
    assert [r["project"]["id"] for r in doc["results"]] == ["P2026-002"]
