"""What the grading command writes from the results: grades.csv, exercises.csv,
students.csv, similarity.csv, the LMS exports (autograder.outputs.lms) and the class report
(autograder.outputs.report)."""

from dataclasses import dataclass

from autograder.files import write_whole
from autograder.outputs import csvfile, lms, similarity
from autograder.outputs.analysis import FLAGGED
from autograder.outputs.report import class_report
from autograder.record.late import late_by


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
    pending: str = ""  # why this is not yet the grade the work deserves, "" when it is
    late_by: float = 0.0  # seconds after its due date (the student's extension included)
    penalty: float = 0.0  # the points it lost for that (autograder.record.late)

    @property
    def score(self):
        return sum(c.score for c in self.cells) - self.penalty

    @property
    def max_score(self):
        return sum(c.max_score for c in self.cells)

    @property
    def flagged(self):
        """Whether a cell failed in a way an instructor should look at (analysis.FLAGGED)."""
        return any(c.kind in FLAGGED for c in self.cells)


def write_outputs(out, results, notes=(), folders=None, lms_ids=None):
    """grades.csv, exercises.csv, similarity.csv, the LMS exports, report.html and, where a
    folder name is not a student id, students.csv (folder, student id) in out. notes: what
    intake passed over; folders: {student id: folder name}; lms_ids: {student id: LMS id}
    from the roster. Similarity reads the submitted
    notebooks from nbgrader's copy in out/course/submitted."""
    # pending: not yet the grade (the grader failed, or an instructor has yet to look)
    # late_by: how late it was handed in ("" when on time); penalty: the points that cost
    grades = [["student", "lesson", "score", "max_score", "pending", "late_by", "penalty"]]
    grades += [
        [r.student, r.lesson, f"{r.score:g}", f"{r.max_score:g}", r.pending]
        + ([late_by(r.late_by), f"{r.penalty:g}"] if r.late_by > 0 else ["", ""])
        for r in results
    ]
    csvfile.write(out / "grades.csv", grades)
    cells = [["student", "lesson", "grade_id", "score", "max_score", "message", "kind"]]
    for r in results:
        for c in r.cells:
            full = c.score >= c.max_score
            row = [r.student, r.lesson, c.grade_id, f"{c.score:g}", f"{c.max_score:g}"]
            cells.append([*row, "" if full else c.message, "" if full else c.kind])
    csvfile.write(out / "exercises.csv", cells)
    renamed = {student: folder for student, folder in (folders or {}).items() if student != folder}
    if renamed:
        students = [(folder, student) for student, folder in sorted(renamed.items())]
        csvfile.write(out / "students.csv", [["folder", "student"], *students])
    pairs = similarity.class_pairs(out, results)
    similar = [["lesson", "student_a", "student_b", "similarity", "flagged"]]
    # the flagged pairs, and each student's nearest and published-solution pair: not every
    # pair compared, which grows with the class
    kept = similarity.kept(pairs)
    for p in sorted(kept, key=lambda p: (p.lesson, -p.similarity, p.student_a, p.student_b)):
        flag = "yes" if p.flagged else "no"
        similar.append([p.lesson, p.student_a, p.student_b, f"{p.similarity:.2f}", flag])
    csvfile.write(out / "similarity.csv", similar)
    lms_notes = lms.write(out, results, folders, lms_ids)
    report = class_report(results, notes, pairs, lms_notes)
    write_whole(out / "report.html", report)


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
