"""What the grading command writes: grades.csv, exercises.csv and the class report."""

import base64
import csv
import html
import io
import re
from collections import defaultdict
from dataclasses import dataclass

from matplotlib.figure import Figure

from autograder.run.trusted import ANSWER_KEY_KIND, TAMPERING

FLAGGED = (TAMPERING, ANSWER_KEY_KIND)  # kinds an instructor should look at


@dataclass(frozen=True)
class CellResult:
    grade_id: str
    score: float
    max_score: float
    message: str  # first line of the failure feedback, "" with full marks
    kind: str = ""  # the kind of mistake (CheckFailed.kind of the trusted run), "" with full marks


@dataclass(frozen=True)
class LessonResult:
    student: str
    lesson: str
    notebook: str
    problem: str  # why the notebook could not be graded or run normally, "" otherwise
    cells: list

    @property
    def score(self):
        return sum(c.score for c in self.cells)

    @property
    def max_score(self):
        return sum(c.max_score for c in self.cells)

    @property
    def tampered(self):
        """Whether a cell's points were taken for tampering or for using the answer key."""
        return any(c.kind in FLAGGED for c in self.cells)


def write_outputs(out, results, notes=(), folders=None):
    """grades.csv, exercises.csv, report.html and, where a folder name is not a student id,
    students.csv (folder, student id) in out. notes: what intake passed over."""
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lesson", "score", "max_score"])
        for r in results:
            writer.writerow([r.student, r.lesson, f"{r.score:g}", f"{r.max_score:g}"])
    with open(out / "exercises.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lesson", "grade_id", "score", "max_score", "message", "kind"])
        for r in results:
            for c in r.cells:
                full = c.score >= c.max_score
                row = [r.student, r.lesson, c.grade_id, f"{c.score:g}", f"{c.max_score:g}"]
                writer.writerow([*row, "" if full else c.message, "" if full else c.kind])
    renamed = {student: folder for student, folder in (folders or {}).items() if student != folder}
    if renamed:
        with open(out / "students.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["folder", "student"])
            writer.writerows((folder, student) for student, folder in sorted(renamed.items()))
    (out / "report.html").write_text(class_report(results, notes), encoding="utf-8")


def grade_table(results):
    """The grades as a text table that fits a terminal: one row per student, one column per
    lesson (headed by its number), then the total."""
    lessons = sorted({r.lesson for r in results})
    students = sorted({r.student for r in results})
    name = max([len("student"), *map(len, students)]) + 2
    score = {(r.student, r.lesson): f"{r.score:g}/{r.max_score:g}" for r in results}
    width = max([4, *map(len, score.values())]) + 1
    lines = ["student".ljust(name) + "".join(x[:2].rjust(width) for x in lessons) + "   total"]
    for student in students:
        mine = [r for r in results if r.student == student]
        total = f"{sum(r.score for r in mine):g}/{sum(r.max_score for r in mine):g}"
        cells = "".join(score.get((student, x), "-").rjust(width) for x in lessons)
        lines.append(student.ljust(name) + cells + "   " + total)
    return "\n".join(lines)


def diagnosis_kind(message):
    """A message with its numbers masked, so that the same mistake groups across students."""
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", message)


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return (
        f"<img alt='' src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'>"
    )


def _score_plot(results, lessons):
    fig = Figure(figsize=(max(6, 1.1 * len(lessons)), 3.2), layout="constrained")
    ax = fig.subplots()
    data = [
        [100 * r.score / r.max_score for r in results if r.lesson == lesson and r.max_score]
        for lesson in lessons
    ]
    ax.boxplot(data, tick_labels=lessons)
    for i, scores in enumerate(data, start=1):
        ax.scatter([i] * len(scores), scores, alpha=0.5, color="C1", zorder=3)
    ax.set_ylabel("score (%)")
    ax.set_ylim(-5, 105)
    ax.set_title("score distribution per lesson")
    ax.tick_params(axis="x", labelrotation=30)
    return _png(fig)


def _pass_rate_plot(rates):
    fig = Figure(figsize=(7, 0.28 * len(rates) + 1.2), layout="constrained")
    ax = fig.subplots()
    labels = [f"{lesson}: {grade_id}" for lesson, grade_id in rates]
    ax.barh(labels[::-1], [100 * v for v in rates.values()][::-1], color="C2")
    ax.set_xlim(0, 100)
    ax.set_xlabel("students with full marks (%)")
    ax.set_title("pass rate of every exercise")
    return _png(fig)


def _flag(result):
    """Why a notebook is flagged: what its flagged cells found, or its problem."""
    kinds = sorted({c.kind for c in result.cells if c.kind in FLAGGED})
    return ", ".join(kinds) or result.problem


def _table(header, rows):
    """An HTML table, or "none" when it has no rows."""
    if not rows:
        return "<p><em>none</em></p>"
    return f"<table><tr>{header}</tr>{rows}</table>"


def class_report(results, notes=()):
    """The instructor's report: distributions, pass rates, common diagnoses, flagged work."""
    lessons = sorted({r.lesson for r in results})
    students = sorted({r.student for r in results})
    cells = defaultdict(list)
    for r in results:
        for c in r.cells:
            cells[(r.lesson, c.grade_id)].append((r.student, c))
    rates = {
        key: sum(c.score >= c.max_score for _, c in entries) / len(entries)
        for key, entries in sorted(cells.items())
    }
    diagnoses = defaultdict(lambda: {"students": set(), "example": ""})
    for (lesson, grade_id), entries in cells.items():
        for student, c in entries:
            if c.score < c.max_score and c.message:
                entry = diagnoses[(lesson, grade_id, c.kind, diagnosis_kind(c.message))]
                entry["students"].add(student)
                entry["example"] = entry["example"] or c.message
    common = sorted(diagnoses.items(), key=lambda item: -len(item[1]["students"]))

    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(s)}</td>"
        + "".join(
            f"<td>{r.score:g} / {r.max_score:g}</td>"
            for lesson in lessons
            for r in results
            if r.student == s and r.lesson == lesson
        )
        + "</tr>"
        for s in students
    )
    diagnosis_rows = "".join(
        f"<tr><td>{100 * len(d['students']) / max(len(students), 1):.0f}%</td>"
        f"<td>{esc(lesson)}</td><td>{esc(grade_id)}</td><td>{esc(kind)}</td>"
        f"<td>{esc(d['example'])}</td><td>{esc(', '.join(sorted(d['students'])))}</td></tr>"
        for (lesson, grade_id, kind, _), d in common[:30]
    )
    flagged = [
        (r.student, r.lesson, _flag(r))
        for r in results
        if r.tampered or (r.problem and r.problem != "missing notebook")
    ]
    flagged_rows = "".join(
        f"<tr><td>{esc(s)}</td><td>{esc(lesson)}</td><td>{esc(why)}</td></tr>"
        for s, lesson, why in flagged
    )
    note_rows = "".join(
        f"<tr><td>{esc(where)}</td><td>{esc(what)}</td></tr>" for where, what in notes
    )
    missing = sum(r.problem == "missing notebook" for r in results)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Class report</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; font-size: 14px; }}
th {{ background: #f3f3f3; }}
</style></head><body>
<h1>Class report</h1>
<p>{len(students)} students, {len(lessons)} lessons, {missing} missing notebooks.</p>
<h2>Score distribution per lesson</h2>
<table><tr><th>student</th>{
        "".join(f"<th title='{esc(x)}'>{esc(x.split('_')[0])}</th>" for x in lessons)
    }</tr>{rows}</table>
<p>{", ".join(esc(x) for x in lessons)}</p>
{_score_plot(results, lessons) if results else ""}
<h2>Pass rate of every exercise</h2>
{_pass_rate_plot(rates) if rates else ""}
<h2>What the class misunderstands</h2>
<p>The diagnoses given most often (numbers masked to group the same mistake).</p>
{
        _table(
            "<th>students</th><th>lesson</th><th>exercise</th><th>kind</th><th>diagnosis</th>"
            "<th>who</th>",
            diagnosis_rows,
        )
    }
<h2>Flagged submissions</h2>
<p>Tampering (a test passed in the notebook but failed when re-run by the trusted runner),
the answer key used (the student's code imported the course's references), time-outs,
crashed kernels and broken files.</p>
{_table("<th>student</th><th>lesson</th><th>why</th>", flagged_rows)}
<h2>What intake passed over</h2>
<p>Folders and files of SUBMISSIONS that were not graded as they are, and why.</p>
{_table("<th>where</th><th>what happened</th>", note_rows)}
</body></html>
"""
