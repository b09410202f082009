"""What grading leaves behind: grades.csv, a feedback page per student, a summary page.

Feedback shows, per graded function, which tests passed and why the others failed, in the words
of the checks (shapes, values, relative errors). It never shows hidden test code: messages come
from the checks and from the student's own code, and a failing hidden line is not quoted.
"""

import base64
import csv
import html
import io
import json
from collections import OrderedDict
from pathlib import Path

from .engine import SubmissionResult
from .notebook import Assignment

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


def feedback_html(result: SubmissionResult, assignment: Assignment | None = None) -> str:
    e = html.escape
    parts = [f"<h1>{e(result.assignment)}: feedback for {e(result.student)}</h1>",
             f"<p class='score'>Score: <b>{_fmt(result.score)}</b> of {_fmt(result.max_score)}"
             f"</p>"]
    for nb in result.notebooks:
        parts.append(f"<h2>{e(nb.notebook)}.ipynb</h2>")
        if nb.file and nb.file != f"{nb.notebook}.ipynb":
            parts.append(f"<p>File graded: {e(nb.file)}</p>")
        for note in nb.notes:
            parts.append(f"<p class='note'>{e(note)}</p>")
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
            parts.append("</ul>")
    return _page(f"{result.assignment} feedback: {result.student}", "".join(parts))


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
    e = html.escape
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
    for r in results:
        parts.append(f"<tr><td>{e(r.student)}</td><td class='num'>{_fmt(r.score)} / "
                     f"{_fmt(r.max_score)}</td><td>{e(r.status)}</td><td><a href='feedback/"
                     f"{e(r.student)}.html'>page</a></td></tr>")
    parts.append("</table>")
    return _page(f"{assignment.name} summary", "".join(parts))


def write_reports(results: list[SubmissionResult], assignment: Assignment, out: Path,
                  seconds: float, isolation) -> None:
    out.mkdir(parents=True, exist_ok=True)
    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    test_ids = [t.grade_id for anb in assignment.notebooks for t in anb.tests]
    with open(out / "grades.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "assignment", "score", "max_score", "status",
                         *test_ids])
        for r in results:
            points = {t.grade_id: t.points for nb in r.notebooks for t in nb.tests}
            writer.writerow([r.student, r.assignment, _fmt(r.score), _fmt(r.max_score),
                             r.status, *(_fmt(points.get(g, 0.0)) for g in test_ids)])
    for r in results:
        (feedback / f"{r.student}.html").write_text(feedback_html(r, assignment))
    (out / "summary.html").write_text(summary_html(results, assignment, seconds, isolation))
    (out / "results.json").write_text(json.dumps([r.to_dict() for r in results], indent=1))


def grade_table(results: list[SubmissionResult]) -> str:
    """The plain-text table ``nncourse grade`` prints."""
    rows = [("student", "score", "max", "status", "note")]
    for r in results:
        note = ""
        for nb in r.notebooks:
            if nb.notes:
                note = nb.notes[-1]
                break
        rows.append((r.student, _fmt(r.score), _fmt(r.max_score), r.status,
                     note if len(note) < 70 else note[:67] + "..."))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if j in (0, 3) else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row[:4], widths))) + "  " + row[4])
        if i == 0:
            lines.append("-" * (sum(widths) + 8 + 4))
    return "\n".join(line.rstrip() for line in lines)
