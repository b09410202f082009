"""The grader's parts, one at a time (as nbgrader tests each preprocessor on a small notebook):
the plan of a submitted notebook, the value protocol, the checks' messages, finding a
notebook, the stand-ins, the failure messages, and the stripped library."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from nnutils.contract import SHORTCUTS
from nnutils.grading import checks, protocol
from nnutils.grading.checks import GradingFailure
from nnutils.grading.engine import (
    Session,
    StudentCodeError,
    _failure_message,
    find_notebook,
    stand_ins,
)
from nnutils.grading.notebook import (
    TestCell as Cell,
)
from nnutils.grading.notebook import (
    build_plan,
    fill_answers,
    load_assignment,
    nbgrader_meta,
    ordinal,
    solution_answers,
)
from nnutils.grading.sandbox import build_library

ROOT = Path(__file__).resolve().parent.parent


# ---- notebook.build_plan ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def anb():
    return load_assignment(ROOT, "01_perceptron").notebooks[0]


def _student(anb):
    return fill_answers(anb.release, solution_answers(anb.source))


def _cells(nb, grade_id):
    return [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id]


def _tests_in(plan):
    return [s.test.grade_id for s in plan if s.kind == "test"]


def test_plan_of_an_untouched_notebook_runs_every_test_once_in_order(anb):
    plan = build_plan(anb, _student(anb))
    assert _tests_in(plan) == [t.grade_id for t in anb.tests]
    assert all(s.test.source == t.source for s, t in
               zip([s for s in plan if s.test], anb.tests))


def test_plan_restores_an_edited_test_cell(anb):
    nb = _student(anb)
    grade_id = anb.tests[0].grade_id
    _cells(nb, grade_id)[0].source = "pass"
    step = next(s for s in build_plan(anb, nb) if s.test and s.test.grade_id == grade_id)
    assert step.source == anb.tests[0].source != "pass"


def test_plan_restores_a_deleted_test_cell_after_its_predecessor(anb):
    nb = _student(anb)
    grade_id = anb.tests[0].grade_id
    nb.cells = [c for c in nb.cells if c not in _cells(nb, grade_id)]
    plan = build_plan(anb, nb)
    assert _tests_in(plan) == [t.grade_id for t in anb.tests]
    step = next(s for s in plan if s.test and s.test.grade_id == grade_id)
    assert step.label == "a test cell missing from the notebook"


def test_plan_runs_a_duplicated_test_cell_once(anb):
    nb = _student(anb)
    grade_id = anb.tests[-1].grade_id
    twin = nbformat.from_dict(json.loads(json.dumps(_cells(nb, grade_id)[0])))
    nb.cells = [twin, twin] + nb.cells
    assert _tests_in(build_plan(anb, nb)).count(grade_id) == 1


def test_plan_ignores_forged_points_and_follows_moved_cells(anb):
    nb = _student(anb)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            meta["points"] = 1000
    plan = build_plan(anb, nb)
    assert sum(s.test.points for s in plan if s.test) == anb.max_score
    moved = _student(anb)
    last = _cells(moved, anb.tests[-1].grade_id)[0]
    moved.cells = [last] + [c for c in moved.cells if c is not last]
    assert _tests_in(build_plan(anb, moved))[0] == anb.tests[-1].grade_id


def test_plan_labels_cells_as_people_count_them(anb):
    nb = _student(anb)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    assert build_plan(anb, nb)[0].label == f"the {ordinal(first + 1)} cell"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


# ---- protocol ---------------------------------------------------------------------------------

def _round_trip(value):
    enc = protocol.Encoder({})
    node = json.loads(json.dumps(enc.encode(value)))
    return protocol.Decoder(enc.arrays, {}).decode(node)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "uint16",
                                   "uint32", "uint64", "float16", "float32", "float64",
                                   "complex64", "complex128", "bool"])
def test_protocol_keeps_every_numeric_dtype(dtype):
    arr = np.arange(6).reshape(2, 3).astype(dtype)
    back = _round_trip(arr)
    assert back.dtype == arr.dtype and np.array_equal(back, arr)
    scalar = _round_trip(arr.reshape(-1)[1])
    assert np.asarray(scalar).dtype == arr.dtype


def test_protocol_zero_d_empty_nan_inf_tuples_lists_dicts():
    assert _round_trip(np.array(2.5)).shape == ()
    assert _round_trip(np.zeros((0, 3))).shape == (0, 3)
    back = _round_trip(np.array([np.nan, np.inf, -np.inf]))
    assert np.isnan(back[0]) and back[1] == np.inf and back[2] == -np.inf
    value = (1, [2.0, "a"], {"w": np.ones(2), 3: None, (1, 2): True})
    back = _round_trip(value)
    assert isinstance(back, tuple) and isinstance(back[1], list)
    assert back[2][3] is None and back[2][(1, 2)] is True and np.array_equal(back[2]["w"],
                                                                               np.ones(2))


def test_protocol_refuses_what_it_cannot_send_and_too_deep_values():
    with pytest.raises(protocol.ProtocolError):
        protocol.Encoder({}).encode(np.array(["a"]))
    with pytest.raises(protocol.ProtocolError):
        protocol.Encoder({}).encode(object())
    deep = [1]
    for _ in range(protocol.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(protocol.ProtocolError, match="deeply"):
        protocol.Encoder({}).encode(deep)
    node = 1
    for _ in range(protocol.MAX_DEPTH + 2):
        node = {"t": "list", "v": [node]}
    with pytest.raises(protocol.ProtocolError, match="deeply"):
        protocol.Decoder([], {}).decode(node)


def test_protocol_decoder_limits_and_malformed_results():
    many = {"t": "list", "v": [0] * (protocol.MAX_ITEMS + 1)}
    with pytest.raises(protocol.ProtocolError, match="more than"):
        protocol.Decoder([], {}).decode(many)
    for bad in ({"t": "nd", "k": 3}, {"t": "weird"}, {"x": 1}, {"t": "dict", "v": [[1]]},
                {"t": "dict", "v": [[{"t": "list", "v": []}, 1]]}, {"t": "obj", "h": "x"}):
        with pytest.raises(protocol.ProtocolError):
            protocol.Decoder([], {}).decode(bad)


def test_protocol_remote_objects_and_ndarray_subclasses():
    handles = {}
    obj = protocol.Decoder([], handles).decode({"t": "obj", "h": 7, "type": "Model",
                                                "repr": "<Model>"})
    assert isinstance(obj, protocol.RemoteObject) and obj.type_name == "Model"
    assert protocol.Encoder(handles).encode(obj) == {"t": "ref", "h": 7}

    class Sub(np.ndarray):
        pass
    enc = protocol.Encoder({})
    enc.encode(np.ones(3).view(Sub))
    assert type(enc.arrays[0]) is Sub or isinstance(enc.arrays[0], np.ndarray)


# ---- checks: visible messages and hidden summaries ---------------------------------------------

def _fail(fn, *args, **kwargs) -> GradingFailure:
    with pytest.raises(GradingFailure) as info:
        fn(*args, **kwargs)
    return info.value


def test_check_close_shows_digits_that_differ_and_the_relative_error():
    e = _fail(checks.check_close, np.array([-0.0013744401]), np.array([-0.0013744437]), "out")
    text = str(e)
    want, got = text.split("expected ")[1].split(", got ")
    assert want != got.split(" ")[0]
    assert "relative error" in text and "0.0013744" not in e.summary
    assert "1 of 1 values are wrong" in e.summary


def test_checks_reject_complex_object_and_text_results_where_real_numbers_are_expected():
    for fn in (checks.check_close, checks.check_gradient, checks.check_equal):
        e = _fail(fn, np.array([1.0 + 1e-13j]), np.array([1.0]), "x")
        assert "returned complex values; expected real numbers" in str(e)
        assert e.summary == "returned complex values where real numbers are expected"
    e = _fail(checks.check_equal, 1 + 0j, 1.0, "x")
    assert "complex" in str(e) and "complex" in e.summary
    e = _fail(checks.check_close, np.array(["1.0"]), np.array([1.0]), "x")
    assert "text" in str(e) and "'1.0'" not in e.summary
    e = _fail(checks.check_close, np.array([None, 1], dtype=object), np.array([1.0, 1.0]), "x")
    assert "Python objects" in e.summary
    # complex is fine where complex is expected
    checks.check_close(np.array([1j]), np.array([1j]), "x")


def test_check_messages_and_summaries_quote_no_input():
    cases = [
        (checks.check_close, (None, np.ones(2), "out"), "did you forget to return it?"),
        (checks.check_close, (np.ones(6), np.ones((2, 3)), "out"), "wrong shape"),
        (checks.check_close, (np.array([np.nan, 7.25]), np.array([1.0, 7.25]), "out"), "NaN"),
        (checks.check_close, (np.float32([1]), np.float64([1]), "out"), "float32"),
        (checks.check_gradient, (np.array([1.0, np.inf]), np.ones(2), "dw"), "infinite"),
        (checks.check_gradient, (np.array([1.0, 3.0]), np.ones(2), "dw"), "relative error"),
        (checks.check_equal, ([1, 2], [1, 3], "labels"), "a different value"),
        (checks.check_equal, (np.array([7, 8]), np.array([7, 9]), "labels"),
         "returned different values"),
    ]
    for fn, args, words in cases:
        e = _fail(fn, *args)
        assert words in e.summary or words in str(e), (fn.__name__, str(e), e.summary)
        assert "7.25" not in e.summary and "labels" not in e.summary and "(2, 3)" not in \
            e.summary
    assert _fail(checks.check, False, "my own words").summary == "my own words"


# ---- engine.find_notebook ---------------------------------------------------------------------

def test_find_notebook_layouts_renames_checkpoints_links_and_fifos(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "nb.ipynb").write_text("{}")
    assert find_notebook(flat, "a1", "nb", True) == (flat / "nb.ipynb", None)
    nested = tmp_path / "nested" / "a1"
    nested.mkdir(parents=True)
    (nested / "nb.ipynb").write_text("{}")
    assert find_notebook(nested.parent, "a1", "nb", True)[0] == nested / "nb.ipynb"
    renamed = tmp_path / "renamed"
    (renamed / ".ipynb_checkpoints").mkdir(parents=True)
    (renamed / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text("{}")
    (renamed / "mine.ipynb").write_text("{}")
    path, note = find_notebook(renamed, "a1", "nb", True)
    assert path == renamed / "mine.ipynb" and "expected name is nb.ipynb" in note
    assert find_notebook(renamed, "a1", "nb", False)[0] is None
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "nb.ipynb").symlink_to(flat / "nb.ipynb")
    path, note = find_notebook(linked, "a1", "nb", True)
    assert path is None and "symbolic link" in note
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "nb.ipynb")
    path, note = find_notebook(fifo, "a1", "nb", True)
    assert path is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no notebook" in find_notebook(empty, "a1", "nb", True)[1]


# ---- engine.stand_ins -------------------------------------------------------------------------

def test_stand_ins_only_failed_finished_functions_and_pairs_together():
    graded = ["affine_forward", "affine_backward", "relu_forward", "relu_backward", "loss"]
    done = {f: 0 for f in graded}
    assert stand_ins(graded, "loss", {"relu_forward"}, done) == ["relu_forward",
                                                                   "relu_backward"]
    assert stand_ins(graded, "relu_backward", {"relu_forward"}, done) == []
    assert stand_ins(graded, "loss", {"relu_forward"}, dict(done, relu_backward=1)) == []
    assert stand_ins(graded, "loss", {"loss"}, done) == []
    assert stand_ins(graded, "relu_forward", {"affine_backward", "loss"}, done) == [
        "affine_forward", "affine_backward", "loss"]


# ---- engine._failure_message ------------------------------------------------------------------

SOURCE = """def helper(out):
    check_close(out, np.array([1.0, 2.0]), "the output for x=[3, 4]")
helper(f())
### BEGIN HIDDEN TESTS
helper(g())
### END HIDDEN TESTS
"""


def _message(source, namespace, session=None, function="f"):
    test = Cell("test_f", 1.0, source, function, [(4, 6)], 0)
    namespace = dict(namespace, np=np, check_close=checks.check_close)
    try:
        exec(compile(source, "<test cell>", "exec"), namespace)
    except Exception as exc:
        return _failure_message(exc, test, session)
    raise AssertionError("the test passed")


def test_failure_message_visible_shows_all_hidden_shows_the_summary():
    visible = _message(SOURCE, {"f": lambda: np.array([1.0, 5.0]), "g": lambda: 0})
    assert "x=[3, 4]" in visible and "expected 2, got 5" in visible
    assert "in the visible test, line 2" in visible
    # a helper defined in the visible part and called from the hidden part counts as hidden
    hidden = _message(SOURCE, {"f": lambda: np.array([1.0, 2.0]),
                               "g": lambda: np.array([1.0, 5.0])})
    assert hidden.startswith("hidden test: ") and "x=[3, 4]" not in hidden
    assert "5" not in hidden.split("relative error")[0]


class _FakeSession:
    def __init__(self, called, returned_none=None):
        self.called, self.returned_none = called, returned_none


def test_failure_message_for_a_function_that_returned_none():
    source = "w, b = f()\n"
    text = _message(source, {"f": lambda: None}, _FakeSession(["f"], "f"))
    assert text.startswith("f returned None: did you forget to return")
    # without a None from a student function, the TypeError is reported as it is
    assert "TypeError" in _message(source, {"f": lambda: None}, _FakeSession(["f"]))


def test_failure_message_names_the_function_under_test_first():
    def forward():
        raise StudentCodeError("affine_forward is not written yet (it raises "
                               "NotImplementedError)", function="affine_forward")
    text = _message("forward()\n", {"forward": forward}, _FakeSession(["affine_forward"]),
                    function="affine_backward")
    assert text.startswith("affine_backward could not be tested: this test calls "
                           "affine_forward first, and affine_forward is not written yet")
    hidden = _message("### BEGIN HIDDEN TESTS\n\n\nforward()\n", {"forward": forward},
                      _FakeSession(["affine_forward"]), function="affine_backward")
    assert hidden.startswith("hidden test: affine_backward could not be tested")


def test_session_errors_never_end_in_a_bare_colon():
    class Kernel:
        def request(self, payload, arrays, remaining, on_callback=None):
            class Result:
                status, seconds, error = "ok", 0.0, ""
            return Result(), {"error": {"type": "ValueError", "message": ""}}, []
    session = Session(Kernel(), 5.0)
    with pytest.raises(StudentCodeError) as info:
        session.call("f", (), {})
    assert not str(info.value).rstrip().endswith(":") and info.value.function == "f"
    assert session.called == ["f"]


# ---- the stripped library ----------------------------------------------------------------------

def test_every_declared_shortcut_is_switched_off_in_the_sandbox_copy(tmp_path):
    """build_library refuses a stale entry, and each declared function raises when called."""
    graded = set(SHORTCUTS)
    done = build_library(tmp_path, graded)
    declared = {e for entries in SHORTCUTS.values() for e in entries}
    assert declared <= set(done)
    probe = ("import importlib, json, sys\nbad = []\n"
             "for entry in json.loads(sys.argv[1]):\n"
             "    module, qualname = entry.split(':')\n"
             "    obj = importlib.import_module('nnutils.' + module)\n"
             "    for part in qualname.split('.'):\n"
             "        obj = getattr(obj, part)\n"
             "    import inspect\n"
             "    src = inspect.getsource(obj)\n"
             "    if 'switched off' not in src and 'uses yours' not in src:\n"
             "        bad.append(entry)\n"
             "print(json.dumps(bad))\n")
    run = subprocess.run([sys.executable, "-c", probe, json.dumps(sorted(declared))],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(tmp_path), "PATH": os.environ.get("PATH", "")})
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout) == []
