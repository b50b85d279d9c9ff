"""``gis-screening-app [--layerset M] [--project F] [--screenshot OUT.png] [--lang zh|en]``."""
from __future__ import annotations

import argparse
import sys


def build_app(argv: list[str] | None = None, lang: str | None = None):
    """Create (or reuse) the QApplication with the CJK font and the chosen language."""
    from qtpy.QtCore import QSettings
    from qtpy.QtWidgets import QApplication
    from .i18n import EN, DictTranslator
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("gis-screening")
    app.setOrganizationName("gis-screening")
    lang = lang or QSettings("gis-screening", "gis-screening").value("lang", "zh")
    if lang == "en":
        tr = DictTranslator(EN, app)
        app.installTranslator(tr)
        app._gs_translator = tr  # keep a reference
    return app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="gis-screening-app", description="gis-screening desktop app")
    ap.add_argument("--layerset")
    ap.add_argument("--project", action="append", default=[])
    ap.add_argument("--screenshot", help="load, screen, save a PNG of the window and exit")
    ap.add_argument("--lang", choices=["zh", "en"])
    args = ap.parse_args(argv)
    if args.screenshot:
        import os
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = build_app(lang=args.lang)
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QMessageBox
    from .main_window import MainWindow
    win = MainWindow()
    if args.screenshot:
        win.auto_screen = False
    if args.layerset and not win.open_layerset(args.layerset):
        return 2
    for p in args.project:
        if not win.import_footprint(p):
            return 2
    win.show()
    if args.screenshot:
        win.resize(1500, 950)
        app.processEvents()
        win.resizeDocks([win.d_layers, win.d_results], [260, 460], Qt.Horizontal)
        app.processEvents()
        win.run_screening(wait=True)
        app.processEvents()
        win.canvas.zoom_to_projects()
        app.processEvents()
        ok = win.grab().save(args.screenshot)
        return 0 if ok else 1
    auto = MainWindow.autosave_path()
    if auto.exists() and not args.layerset:
        if QMessageBox.question(win, win.tr("恢复会话"), win.tr("发现上次未正常退出时自动保存的会话，是否恢复？")) == QMessageBox.Yes:
            win.session.load(auto)
    return app.exec_()


if __name__ == "__main__":
    raise SystemExit(main())
