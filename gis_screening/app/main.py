"""``gis-screening-app [--layerset M] [--project F] [--screenshot OUT.png] [--lang zh|en]``."""
from __future__ import annotations

import argparse
import sys

_TRANSLATORS: list = []   # translators installed on the application (kept alive with it)


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
        _TRANSLATORS.append(tr)  # keep a Python reference for the application's life
    return app


def main(argv: list[str] | None = None) -> int:
    """Start the app.  Headless use (``--results``, ``--screenshot``, ``--code … --quit``) quits when done; bad
    input exits 2 with a one-line message on stderr."""
    ap = argparse.ArgumentParser(prog="gis-screening-app", description="gis-screening desktop app")
    ap.add_argument("--layerset", help="layer-set manifest (YAML)")
    ap.add_argument("--project", action="append", default=[],
                    help="footprints, project sheets or XLSX tables; repeatable (appends)")
    ap.add_argument("--screen", action="store_true", help="screen after loading (same path as the 运行筛查 action)")
    ap.add_argument("--results", help="write the result document (result-JSON contract) after screening, then quit")
    ap.add_argument("--screenshot", help="load, screen, save a PNG of the window and quit")
    ap.add_argument("--code", help="run a Python file after start with `window` (the main window) in scope")
    ap.add_argument("--quit", action="store_true", help="with --code: quit when the script ends (exit 1 if it raised)")
    ap.add_argument("--lang", choices=["zh", "en"])
    args = ap.parse_args(argv)
    headless = bool(args.results or args.screenshot or (args.code and args.quit))
    if args.screenshot:
        import os
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from pathlib import Path
    for label, path in [("--layerset", args.layerset), ("--code", args.code)] + [("--project", p) for p in args.project]:
        if path and not Path(path).is_file():
            print(f"error: {label} {path}: {'is a folder' if Path(path).is_dir() else 'file not found'}",
                  file=sys.stderr)
            return 2
    app = build_app(lang=args.lang)
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QMessageBox

    from .main_window import MainWindow
    win = MainWindow()
    win.headless = headless
    win.auto_screen = False                      # load everything first, then screen once
    if args.layerset and not win.open_layerset(args.layerset):
        return 2
    for p in args.project:
        if not win.import_projects(p):
            return 2
    win.auto_screen = True
    win.show()
    if args.screen or args.results or args.screenshot:
        win.resize(1500, 950)
        app.processEvents()
        win.resizeDocks([win.d_layers, win.d_results], [260, 460], Qt.Orientation.Horizontal)
        win.screen_and_wait()
        if win.session.projects and win.session.result is None:
            print(f"error: screening failed: {win.lbl_msg.text()}", file=sys.stderr)
            return 2
    if args.results:
        from ..engine.result import write_json
        from ..errors import InputError
        try:
            write_json(win.session.result or {}, args.results)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if args.screenshot:
        app.processEvents()
        win.canvas.zoom_to_projects()
        app.processEvents()
        if not win.grab().save(args.screenshot):
            print(f"error: --screenshot {args.screenshot}: cannot write the PNG", file=sys.stderr)
            return 2
    if args.code:
        ok = run_script(args.code, win)
        if args.quit:
            return 0 if ok else 1
    if args.results or args.screenshot:
        return 0
    auto = MainWindow.autosave_path()
    if auto.exists() and not args.layerset:
        if QMessageBox.question(win, win.tr("恢复会话"), win.tr("发现上次未正常退出时自动保存的会话，是否恢复？")) == QMessageBox.Yes:
            win.open_session(str(auto))
    return app.exec_()


def run_script(path: str, window) -> bool:
    """QGIS-style ``--code``: run ``path`` with ``window`` and ``app`` in scope; a traceback goes to stderr.
    Returns False when the script raised."""
    import traceback
    from pathlib import Path

    from qtpy.QtWidgets import QApplication
    scope = {"window": window, "app": QApplication.instance(), "__name__": "__main__", "__file__": str(path)}
    try:
        code = compile(Path(path).read_text(encoding="utf-8"), str(path), "exec")
        exec(code, scope)  # noqa: S102 - the user's own script, as QGIS's --code
    except SystemExit as exc:
        return not exc.code
    except Exception:  # noqa: BLE001 - reported, the app keeps running unless --quit
        traceback.print_exc()
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
