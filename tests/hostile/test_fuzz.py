"""Property tests: random bytes and random structured mutations fed to the 勘测定界 TXT parser, the coordinate
table reader, the project-sheet loader and the manifest loader give a result or an InputError, nothing else.
The long run is benchmarks (HYPOTHESIS_PROFILE=long)."""
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gis_screening.errors import InputError
from gis_screening.io import read_layer
from gis_screening.io.projects import load_projects
from gis_screening.layerset import load_layerset

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
TXT = (SAMPLE / "projects" / "txt" / "P2026-002.txt").read_bytes()
SHEET = (SAMPLE / "sheets" / "P2026-001.yaml").read_text(encoding="utf-8").replace(
    "footprint: ", f"footprint: {SAMPLE / 'sheets'}/")
MANIFEST = (SAMPLE / "layerset.yaml").read_text(encoding="utf-8")
CSV = "点号,X,Y\nJ1,2885000.0,40430000.0\nJ2,2885000.0,40430100.0\nJ3,2885100.0,40430100.0\nJ1,2885000.0,40430000.0\n"


def _mutate(data: bytes, edits) -> bytes:
    b = bytearray(data)
    for pos, val, op in edits:
        if not b:
            break
        i = pos % len(b)
        if op == 0:
            b[i] = val
        elif op == 1:
            del b[i]
        else:
            b.insert(i, val)
    return bytes(b)


EDITS = st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255), st.integers(0, 2)), max_size=12)


def _only_input_errors(fn, data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_bytes(data)
        try:
            fn(path)
        except InputError as exc:
            assert "\n" not in str(exc)


@FUZZ
@given(st.one_of(st.binary(max_size=400), EDITS.map(lambda e: _mutate(TXT, e))))
def test_survey_txt_parser(data):
    _only_input_errors(lambda p: read_layer(p, "projects"), data, ".txt")


@FUZZ
@given(st.one_of(st.binary(max_size=300), EDITS.map(lambda e: _mutate(CSV.encode("utf-8"), e))))
def test_coordinate_table_reader(data):
    _only_input_errors(lambda p: read_layer(p, "projects", zone=40), data, ".csv")


@FUZZ
@given(st.one_of(st.binary(max_size=300), EDITS.map(lambda e: _mutate(SHEET.encode("utf-8"), e))))
def test_sheet_loader(data):
    _only_input_errors(load_projects, data, ".yaml")


@FUZZ
@given(EDITS.map(lambda e: _mutate(MANIFEST.encode("utf-8"), e)))
def test_manifest_loader(data):
    def load(path):
        target = SAMPLE / f".fuzz-{os.getpid()}.yaml"     # relative sources resolve against sample_data
        target.write_bytes(path.read_bytes())
        try:
            load_layerset(target)
        finally:
            target.unlink()
    _only_input_errors(load, data, ".yaml")


def _dxf_bytes() -> bytes:
    import io

    import ezdxf
    doc = ezdxf.new("R2010")
    doc.layers.add("红线")
    msp = doc.modelspace()
    msp.add_lwpolyline([(40429964, 2885885, 0, 0, 0.5), (40430264, 2885885), (40430264, 2886085), (40429964, 2886085)],
                       format="xyseb", close=True, dxfattribs={"layer": "红线"})
    msp.add_text("J1", dxfattribs={"layer": "标注", "insert": (40429964, 2885885)})
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode("utf-8")


DXF = _dxf_bytes()
XLS = (ROOT / "tests" / "data" / "xls" / "P2026-001坐标.xls").read_bytes()


@FUZZ
@given(st.one_of(st.binary(max_size=300), EDITS.map(lambda e: _mutate(DXF, e))))
def test_cad_drawing_reader(data):
    _only_input_errors(lambda p: load_projects(p, layer="红线"), data, ".dxf")


@FUZZ
@given(st.one_of(st.binary(max_size=300), EDITS.map(lambda e: _mutate(XLS, e))))
def test_legacy_workbook_reader(data):
    _only_input_errors(load_projects, data, ".xls")


@FUZZ
@given(EDITS.map(lambda e: _mutate(XLS, e)))
def test_legacy_admission_list_reader(data):
    from gis_screening.admission import read_admission_table
    from gis_screening.catalog import default_catalog
    _only_input_errors(lambda p: read_admission_table(p, None, default_catalog()), data, ".xls")
