"""What grading leaves behind: grades.csv, a feedback page per student, a summary page.

Feedback shows, per graded function, which tests passed and why the others failed, in the words
of the checks (shapes, values, relative errors). It never shows hidden test code: messages come
from the checks and from the student's own code, and a failing hidden line is not quoted.

Student ids (folder names) and messages are untrusted: everything written or printed goes
through :mod:`.names` (escapes for what is not printable, ``'`` before a CSV formula, a safe
and distinct feedback file name per student) and is capped: every message, note and cell error
at ``MESSAGE_LIMIT`` characters, ``MAX_ITEMS`` notes and cell errors per notebook, and
``STUDENT_BUDGET`` characters of messages per student in all (each keeps at least
``MIN_SHARE``), so that one feedback page or one student's share of results.json stays well
under 1 MB whatever the submission did.
"""

import base64
import csv
import html
import io
import json
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from .engine import NotebookResult, SubmissionResult
from .names import csv_cell, display_name, file_stems, record_id, safe_text
from .notebook import Assignment

MESSAGE_LIMIT = 4_000       # characters of one message, note or cell error
MAX_ITEMS = 50              # notes and cell errors listed per notebook
STUDENT_BUDGET = 50_000     # characters of all messages of one student together
MIN_SHARE = 200             # what a message keeps once the budget is spent
FILE_LIMIT = 300            # characters of the name of the graded file

STYLE = """
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} .pass{color:#176f2c;font-weight:600} .fail{color:#b3261e;font-weight:600}
img{max-width:100%}
pre{white-space:pre-wrap;margin:0;font-size:.85rem;background:#fafafa;padding:.3rem}
.score{font-size:1.3rem} .note{background:#fff6d6;padding:.5rem;border-radius:4px}
.num{text-align:right}
"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>{body}</body></html>\n")


def _fmt(x: float) -> str:
    return f"{x:g}"


@dataclass
class _Safe:
    """One student's result with every student-controlled string made safe and capped."""
    result: SubmissionResult        # student: record_id; messages, notes, errors: safe_text
    name: str                       # display_name of the student
    stem: str                       # feedback file: feedback/{stem}.html
    omitted: list[tuple[int, int]]  # per notebook: notes and cell errors not listed


def _safe(result: SubmissionResult, stem: str) -> _Safe:
    left = STUDENT_BUDGET

    def text(message: str) -> str:
        nonlocal left
        out = safe_text(message, max(MIN_SHARE, min(MESSAGE_LIMIT, left)))
        left -= len(out)
        return out

    notebooks = [NotebookResult(nb.notebook, status=nb.status,
                                file=None if nb.file is None else
                                safe_text(nb.file, FILE_LIMIT, keep=""))
                 for nb in result.notebooks]
    # test messages first: they say where the points went
    for nb, safe in zip(result.notebooks, notebooks):
        safe.tests = [replace(t, message=text(t.message)) for t in nb.tests]
    for nb, safe in zip(result.notebooks, notebooks):
        safe.notes = [text(n) for n in nb.notes[:MAX_ITEMS]]
    for nb, safe in zip(result.notebooks, notebooks):
        safe.cell_errors = [text(err) for err in nb.cell_errors[:MAX_ITEMS]]
    omitted = [(max(0, len(nb.notes) - MAX_ITEMS), max(0, len(nb.cell_errors) - MAX_ITEMS))
               for nb in result.notebooks]
    return _Safe(replace(result, student=record_id(result.student), notebooks=notebooks),
                 display_name(result.student), stem, omitted)


def _prepare(results: list[SubmissionResult]) -> list[_Safe]:
    stems = file_stems(r.student for r in results)
    return [_safe(r, stems[r.student]) for r in results]


def _more(n: int, what: str) -> str:
    return f"… and {n:,} more {what}{'s' if n != 1 else ''} (not shown)"


def feedback_html(result: SubmissionResult, assignment: Assignment | None = None) -> str:
    """The feedback page of one student (safe for any result; see the module docstring)."""
    return _feedback_html(_prepare([result])[0], assignment)


def _feedback_html(safe: _Safe, assignment: Assignment | None = None) -> str:
    e = html.escape
    result = safe.result
    parts = [f"<h1>{e(result.assignment)}: feedback for {e(safe.name)}</h1>",
             f"<p class='score'>Score: <b>{_fmt(result.score)}</b> of {_fmt(result.max_score)}"
             f"</p>"]
    for nb, (notes_omitted, errors_omitted) in zip(result.notebooks, safe.omitted):
        parts.append(f"<h2>{e(nb.notebook)}.ipynb</h2>")
        if nb.file and nb.file != f"{nb.notebook}.ipynb":
            parts.append(f"<p>File graded: {e(nb.file)}</p>")
        for note in nb.notes:
            parts.append(f"<p class='note'>{e(note)}</p>")
        if notes_omitted:
            parts.append(f"<p class='note'>{e(_more(notes_omitted, 'note'))}</p>")
        by_function: OrderedDict[str, list] = OrderedDict()
        for t in nb.tests:
            by_function.setdefault(t.function, []).append(t)
        parts.append("<table><tr><th>function</th><th>test</th><th>result</th>"
                     "<th class='num'>points</th><th>why</th></tr>")
        for function, tests in by_function.items():
            for i, t in enumerate(tests):
                verdict = "<span class='pass'>passed</span>" if t.passed else \
                    "<span class='fail'>failed</span>"
                name = f"<code>{e(function)}</code>" if i == 0 else ""
                parts.append(f"<tr><td>{name}</td><td>{e(t.grade_id)}</td><td>{verdict}</td>"
                             f"<td class='num'>{_fmt(t.points)} / {_fmt(t.max_points)}</td>"
                             f"<td>{'<pre>' + e(t.message) + '</pre>' if t.message else ''}"
                             f"</td></tr>")
        parts.append("</table>")
        manual = next((anb.manual for anb in assignment.notebooks
                       if anb.name == nb.notebook), []) if assignment else []
        if manual:
            items = ", ".join(f"{e(g)} ({_fmt(p)} point{'s' if p != 1 else ''})"
                              for g, p in manual)
            parts.append(f"<p>Graded by hand, not included in the score above: {items}.</p>")
        if nb.cell_errors:
            parts.append("<p>Errors in your cells while the notebook ran:</p><ul>")
            parts += [f"<li>{e(err)}</li>" for err in nb.cell_errors]
            if errors_omitted:
                parts.append(f"<li>{e(_more(errors_omitted, 'error'))}</li>")
            parts.append("</ul>")
    return _page(f"{result.assignment} feedback: {safe.name}", "".join(parts))


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def _summary_figure(scores: list[float], max_score: float, rates: list[tuple[str, float]]) -> str:
    """Score histogram (one bar per whole point) beside the pass rate of every test."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), dpi=100,
                                      gridspec_kw={"width_ratios": [1, 1.2]})
    top = max(1.0, float(max_score))
    bins = [b - 0.5 for b in range(int(top) + 2)] if top <= 60 else 20
    left.hist(scores, bins=bins, color="#3b6ea5", edgecolor="white")
    left.set_title("Score distribution")
    left.set_xlabel(f"score (out of {max_score:g})")
    left.set_ylabel("students")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    names = [name for name, _ in rates][::-1]
    values = [100 * rate for _, rate in rates][::-1]
    colours = ["#b3261e" if v < 50 else "#e0a100" if v < 80 else "#176f2c" for v in values]
    right.barh(names, values, color=colours)
    right.set_xlim(0, 100)
    right.set_title("Pass rate per test")
    right.set_xlabel("students who passed (%)")
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def summary_html(results: list[SubmissionResult], assignment: Assignment, seconds: float,
                 isolation) -> str:
    """The class summary, linking each student's feedback page."""
    return _summary_html(_prepare(results), assignment, seconds, isolation)


def _summary_html(safe: list[_Safe], assignment: Assignment, seconds: float,
                  isolation) -> str:
    e = html.escape
    results = [s.result for s in safe]
    n = len(results)
    scores = [r.score for r in results]
    mean = sum(scores) / n if n else 0.0
    parts = [f"<h1>{e(assignment.name)}: grading summary</h1>",
             f"<p>{n} submissions graded in {seconds:.1f} s; mean score {mean:.2f} of "
             f"{_fmt(assignment.max_score)}. Isolation: {e(isolation.mode)}"
             f"{' (' + e(isolation.reason) + ')' if isolation.reason else ''}.</p>"]
    passed_by_test = {}
    for anb in assignment.notebooks:
        for t in anb.tests:
            passed_by_test[(anb.name, t.grade_id)] = sum(
                1 for r in results for nb in r.notebooks if nb.notebook == anb.name
                for x in nb.tests if x.grade_id == t.grade_id and x.passed)
    if n:
        rates = [(g, p / n) for (_, g), p in passed_by_test.items()]
        parts.append(f"<img alt='score histogram and pass rate per test' "
                     f"src='data:image/png;base64,"
                     f"{_summary_figure(scores, assignment.max_score, rates)}'>")
    parts.append("<h2>Pass rate per test</h2><table><tr><th>notebook</th><th>function</th>"
                 "<th>test</th><th class='num'>points</th><th class='num'>passed</th></tr>")
    for anb in assignment.notebooks:
        for t in anb.tests:
            passed = passed_by_test[(anb.name, t.grade_id)]
            rate = 100 * passed / n if n else 0
            parts.append(f"<tr><td>{e(anb.name)}</td><td><code>{e(t.function)}</code></td>"
                         f"<td>{e(t.grade_id)}</td><td class='num'>{_fmt(t.points)}</td>"
                         f"<td class='num'>{passed} of {n} ({rate:.0f}%)</td></tr>")
    parts.append("</table><h2>Students</h2><table><tr><th>student</th><th class='num'>score"
                 "</th><th>status</th><th>feedback</th></tr>")
    for s in safe:
        r = s.result
        parts.append(f"<tr><td>{e(s.name)}</td><td class='num'>{_fmt(r.score)} / "
                     f"{_fmt(r.max_score)}</td><td>{e(r.status)}</td><td><a href='feedback/"
                     f"{e(quote(s.stem, safe='@+'))}.html'>page</a></td></tr>")
    parts.append("</table>")
    return _page(f"{assignment.name} summary", "".join(parts))


def write_reports(results: list[SubmissionResult], assignment: Assignment, out: Path,
                  seconds: float, isolation) -> None:
    """Write grades.csv, feedback/*.html, summary.html and results.json (all UTF-8).

    results.json holds one object per student: ``SubmissionResult.to_dict()`` of the safe copy
    (``student`` as in grades.csv, without the formula guard), plus ``display_name`` (as
    printed and on the pages), ``feedback`` (the page, relative to ``out``) and, per notebook,
    ``notes_omitted`` and ``cell_errors_omitted`` (how many were not listed)."""
    out.mkdir(parents=True, exist_ok=True)
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    safe = _prepare(results)
    test_ids = [t.grade_id for anb in assignment.notebooks for t in anb.tests]
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "assignment", "score", "max_score", "status",
                         *test_ids])
        for s in safe:
            r = s.result
            points = {t.grade_id: t.points for nb in r.notebooks for t in nb.tests}
            writer.writerow([csv_cell(r.student), csv_cell(r.assignment), _fmt(r.score),
                             _fmt(r.max_score), r.status,
                             *(_fmt(points.get(g, 0.0)) for g in test_ids)])
    for s in safe:
        (feedback / f"{s.stem}.html").write_text(_feedback_html(s, assignment),
                                                 encoding="utf-8")
    (out / "summary.html").write_text(_summary_html(safe, assignment, seconds, isolation),
                                      encoding="utf-8")
    records = []
    for s in safe:
        record = s.result.to_dict()
        for nb, (notes_omitted, errors_omitted) in zip(record["notebooks"], s.omitted):
            nb["notes_omitted"] = notes_omitted
            nb["cell_errors_omitted"] = errors_omitted
        record["display_name"] = s.name
        record["feedback"] = f"feedback/{s.stem}.html"
        records.append(record)
    (out / "results.json").write_text(json.dumps(records, indent=1, ensure_ascii=False),
                                      encoding="utf-8")


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (wide East Asian characters two, marks none)."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def grade_table(results: list[SubmissionResult]) -> str:
    """The plain-text table ``nncourse grade`` prints: names and notes as display_name gives
    them, so nothing a student chose can move the cursor, clear or recolour the terminal."""
    rows = [("student", "score", "max", "status", "note")]
    for r in results:
        note = ""
        for nb in r.notebooks:
            if nb.notes:
                note = nb.notes[-1]
                break
        rows.append((display_name(r.student), _fmt(r.score), _fmt(r.max_score), r.status,
                     display_name(note, 70)))
    widths = [max(_width(row[i]) for row in rows) for i in range(4)]
    lines = []
    for i, row in enumerate(rows):
        cells = []
        for j, (c, w) in enumerate(zip(row[:4], widths)):
            pad = " " * (w - _width(c))
            cells.append(c + pad if j in (0, 3) else pad + c)
        lines.append("  ".join(cells) + "  " + row[4])
        if i == 0:
            lines.append("-" * (sum(widths) + 8 + 4))
    return "\n".join(line.rstrip() for line in lines)
