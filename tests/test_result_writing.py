"""The result document is written in pieces (gis_screening.engine.result.write_json): byte for byte what one
``dumps`` of the whole document gives, with results given as dicts or already encoded (as a forked copy sends
them), and never half-written."""
import subprocess
import sys

import orjson
import pytest

from gis_screening.engine import result as R


def _result(i: int) -> dict:
    return {"project": {"id": f"P{i}", "name": f"项目{i}", "centroid_lonlat": [119.1, 26.0 + i / 1000]},
            "verdict": "needs_review", "findings": [{"rule_id": "r", "message": "“引号”\n换行 \\ 与 \t 制表",
                                                     "basis": []}], "overlaps": [], "carbon": None}


def _doc(results: list) -> dict:
    return {"schema_version": "1", "layers": [{"id": "L1-1", "problems": []}], "results": results}


@pytest.mark.parametrize("piece", [1, 200, 1 << 20])
def test_a_document_written_in_pieces_is_the_whole_document(tmp_path, monkeypatch, piece):
    """Results as dicts, as encoded bytes and as views into a larger buffer, in any mix and written a few bytes
    or a megabyte at a time: the file is ``dumps`` of the decoded document."""
    monkeypatch.setattr(R, "WRITE_PIECE", piece)
    plain = [_result(i) for i in range(7)]
    sent = b"".join(R.result_bytes(r) for r in plain[2:5])
    ends = [0]
    for r in plain[2:5]:
        ends.append(ends[-1] + len(R.result_bytes(r)))
    view = memoryview(sent)
    mixed = [plain[0], R.result_bytes(plain[1]), *(view[a:b] for a, b in zip(ends, ends[1:])), plain[5],
             R.result_bytes(plain[6])]
    out = R.write_json(_doc(mixed), tmp_path / "r.json")
    assert out.read_bytes() == R.dumps(_doc(plain))
    assert orjson.loads(out.read_bytes()) == _doc(plain)


def test_writing_out_is_started_after_each_piece_and_is_harmless_where_it_cannot_be(tmp_path, monkeypatch):
    """``write_json`` has the disk start on each piece as soon as it is written (the closing fsync then waits for the
    last one): asked once per piece, with the file as written so far; a pipe, an in-memory stream or a closed file
    take the request as a no-op."""
    import io
    import os

    from gis_screening import atomic
    monkeypatch.setattr(R, "WRITE_PIECE", 200)
    seen: list[int] = []
    monkeypatch.setattr(R, "start_writeback", lambda out: (seen.append(out.tell()), atomic.start_writeback(out)))
    doc = _doc([_result(i) for i in range(7)])
    path = R.write_json(doc, tmp_path / "r.json")
    assert path.read_bytes() == R.dumps(doc)
    assert len(seen) >= 3 and seen == sorted(seen) and 0 < seen[-1] < len(R.dumps(doc))
    read, write = os.pipe()
    with os.fdopen(write, "wb") as pipe:
        atomic.start_writeback(pipe)
    os.close(read)
    atomic.start_writeback(io.BytesIO(b"x"))
    closed = open(tmp_path / "c.bin", "wb")
    closed.close()
    atomic.start_writeback(closed)


@pytest.mark.parametrize("doc", [_doc([]), {"results": [_result(1)], "partial": True}, {"a": [1, {"b": None}]},
                                 _doc([_result(1)])])
def test_other_documents_are_written_as_dumps_gives_them(tmp_path, doc):
    """No results, results not the last key, no results at all, a single result."""
    assert R.write_json(doc, tmp_path / "d.json").read_bytes() == R.dumps(doc)


def test_a_result_that_cannot_be_written_leaves_the_old_file(tmp_path):
    """Something in a result that is not JSON: nothing is renamed over the old document, no temp file is left."""
    old = R.write_json(_doc([_result(1)]), tmp_path / "r.json").read_bytes()
    with pytest.raises(TypeError):
        R.write_json(_doc([_result(2), {"bad": object()}]), tmp_path / "r.json")
    assert (tmp_path / "r.json").read_bytes() == old and [p.name for p in tmp_path.iterdir()] == ["r.json"]


FULL_DISK = r"""
import resource, signal, sys
from gis_screening.engine.result import write_json
from gis_screening.errors import InputError
path = sys.argv[1]
write_json({"results": [{"n": 1}]}, path)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a write past the limit fails (EFBIG), as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (3 << 20, 3 << 20))
try:
    write_json({"results": [{"n": i, "text": "筛查" * 200} for i in range(20_000)]}, path)   # ~24 MB
except InputError as exc:
    print(str(exc))
"""


def test_a_document_the_disk_cannot_hold_is_one_error_and_the_old_file_stays(tmp_path):
    """A write that fails part-way (as on a full disk, after some megabytes went out in pieces): one error naming
    the file, the previous document unchanged, no temp file."""
    path = tmp_path / "r.json"
    res = subprocess.run([sys.executable, "-c", FULL_DISK, str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == f"{path}: cannot write: File too large", res.stdout
    assert orjson.loads(path.read_bytes()) == {"results": [{"n": 1}]}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
