"""The engine never imports Qt: checked on the source and by importing it in a clean interpreter."""
import re
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "gis_screening"
QT = re.compile(r"^\s*(from|import)\s+(qtpy|PyQt5|PyQt6|PySide2|PySide6)\b", re.M)


def test_no_qt_import_outside_app():
    offenders = [str(p.relative_to(PKG)) for p in PKG.rglob("*.py")
                 if "app" not in p.relative_to(PKG).parts[:1] and QT.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_engine_modules_load_without_qt():
    code = ("import sys, pkgutil, importlib, gis_screening\n"
            "for m in pkgutil.walk_packages(gis_screening.__path__, 'gis_screening.'):\n"
            "    if not m.name.startswith('gis_screening.app') and not m.name.endswith('__main__'):\n"
            "        importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PyQt5','qtpy','PySide2','PySide6','PyQt6')]\n"
            "print(bad); sys.exit(1 if bad else 0)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
