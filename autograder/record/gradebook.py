"""Stage 3 of grading: nbgrader's Autograde records the stored results in its gradebook.

Autograde runs with its Execute preprocessor replaced by ReplayExecution, which puts back the
outputs of the sandboxed run (autograder.record.store): nbgrader's own SaveAutoGrades scores
them. The gradebook keeps what instructors enter in formgrader: a manual score, extra credit
or a comment survives every rerun; nbgrader keeps it when it grades a new version of the
submission too, and marks it as needing review (autograder.record.manual).
"""

import datetime
import hashlib

import nbformat
from nbgrader.api import (
    Assignment,
    BaseCell,
    Comment,
    Grade,
    Gradebook,
    MissingEntry,
    SubmittedAssignment,
    SubmittedNotebook,
)

from autograder.course import COURSE_ID, nbgrader_api, only_students
from autograder.intake import MISSING
from autograder.notebooks import nbgrader_meta
from autograder.outputs.export import CellResult, LessonResult
from autograder.record import manual


def record(course, items, store, contexts, db_url=None):
    """nbgrader's Autograde of the (student, lesson) items, from their results in `store`
    (the course's configuration replays them: autograder.course.AUTOGRADE), each marked
    recorded in the store (in its context, {key: what else its record depends on}) once the
    gradebook has it.

    One converter run per lesson for the students to be recorded; should it trip nbgrader,
    student by student, so that only the one it trips on records the error.
    Returns {(student, lesson): problem} for the ones it could not record.
    """
    api = nbgrader_api(course, db_url=db_url)
    failed = {}
    for key in items:
        store.recording(*key)
    for lesson in sorted({lesson for _, lesson in items}):
        students = sorted(s for s, l in items if l == lesson)
        with only_students(api, lesson, students):
            recorded = api.autograde(lesson, "*")["success"]
        if not recorded:
            for student in students:
                if not api.autograde(lesson, student)["success"]:
                    failed[(student, lesson)] = "nbgrader could not grade this notebook"
        for student in students:
            if (student, lesson) not in failed:
                store.mark_recorded(student, lesson, contexts.get((student, lesson), ""))
    return failed


def rostered(db_url):
    """The ids of the students the gradebook knows but holds no work of: its roster, as
    `nbgrader db student import` makes it (one whose work it holds is graded or kept)."""
    with Gradebook(db_url, COURSE_ID) as gb:
        return {student.id for student in gb.students if not student.submissions}


def name_students(db_url, roster):
    """Give the gradebook the names and LMS ids of the roster's students ({student id:
    intake.Rostered}), which formgrader shows."""
    if not roster:
        return
    with Gradebook(db_url, COURSE_ID) as gb:
        for student, r in roster.items():
            gb.update_or_create_student(
                student, first_name=r.first_name, last_name=r.last_name, lms_user_id=r.lms_id
            )


def set_due_dates(db_url, due_dates, extensions):
    """Each lesson's due date ({lesson: late.Due or None}) and each student's extension
    ({(student, lesson): days}; one no longer there is taken away), as nbgrader keeps them."""
    with Gradebook(db_url, COURSE_ID) as gb:
        for lesson, due in due_dates.items():
            gb.update_or_create_assignment(lesson, duedate=due.due if due else None)
        extended = (
            gb.db.query(SubmittedAssignment.student_id, Assignment.name)
            .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
            .filter(SubmittedAssignment.extension.isnot(None))
            .all()
        )
        for student, lesson in {*map(tuple, extended), *extensions}:
            days = extensions.get((student, lesson))
            extension = datetime.timedelta(days=days) if days else None
            gb.update_or_create_submission(lesson, student, extension=extension)


def disagreeing(db_url, expected):
    """The keys of `expected` ({(student, lesson): {grade_id: passed}}, the trusted run's
    verdicts) whose automatic scores in the gradebook say otherwise: a cell that passed has
    its points, one that failed has none, and every cell has a score."""
    seen = {key: {} for key in expected}
    with Gradebook(db_url, COURSE_ID) as gb:
        for student, lesson, name, auto in _rows(gb, Grade, Grade.auto_score):
            if name in expected.get((student, lesson), ()):
                seen[(student, lesson)][name] = auto is not None and auto > 0
    return {key for key, verdicts in expected.items() if seen[key] != verdicts}


def digests(db_url, keys):
    """{key: a digest of everything the gradebook holds for it}: scores, manual grades, extra
    credit and comments ("" for nothing). Feedback is made again when it changes."""
    entries = {key: [] for key in keys}
    with Gradebook(db_url, COURSE_ID) as gb:
        grades = _rows(
            gb,
            Grade,
            Grade.auto_score,
            Grade.manual_score,
            Grade.extra_credit,
            Grade.needs_manual_grade,
        )
        comments = _rows(gb, Comment, Comment.auto_comment, Comment.manual_comment)
        for student, lesson, *entry in grades + comments:
            entries.get((student, lesson), []).append(tuple(entry))
    return {
        key: hashlib.sha256(repr(sorted(found, key=repr)).encode()).hexdigest() if found else ""
        for key, found in entries.items()
    }


def _rows(gb, model, *columns):
    """(student, lesson, cell name, *columns) of every Grade or Comment, in one query: the
    ORM's way, a few queries for each, took 2 s for a class of 8 x 13."""
    return (
        gb.db.query(SubmittedAssignment.student_id, Assignment.name, BaseCell.name, *columns)
        .select_from(model)
        .join(BaseCell, model.cell_id == BaseCell.id)
        .join(SubmittedNotebook, model.notebook_id == SubmittedNotebook.id)
        .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
        .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
        .all()
    )


def _first_line(text):
    return text.strip().splitlines()[0] if text.strip() else ""


def _cell_message(cell):
    """The first line of a graded cell's failure, as the student sees it in the feedback."""
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            if output.ename in ("CheckFailed", "NotRun"):
                return _first_line(output.evalue)
            return f"{output.ename}: {_first_line(output.evalue)}"
        if output.output_type == "stream" and output.name == "stderr":
            return f"the cell wrote to stderr: {_first_line(output.text)}"
    return ""


def _messages(outcome):
    """{grade_id: the first line of its failure} in the executed notebook of an Outcome."""
    if outcome is None:
        return {}
    nb = nbformat.reads(outcome.notebook_json, as_version=4)
    return {
        meta["grade_id"]: _cell_message(cell)
        for cell in nb.cells
        if (meta := nbgrader_meta(cell)).get("grade")
    }


MANUAL_KIND = "manual grade"  # the trusted run passed it: points were taken by hand
GRADER_FAILED = "the grader failed on this notebook: the next run grades it again"


def _written_message(grade, why):
    """What a written answer's row says: why it has no score yet, or the score given."""
    if why:
        return why
    if grade.manual_score is None:  # nbgrader's zero for an answer left as handed out
        return "unanswered"
    return f"{grade.score:g} of {grade.max_score:g} points, set by hand in formgrader"


def _kind(verdict, problem):
    """What kind of failure a cell's is: the trusted run's diagnosis, or why nothing ran."""
    if verdict is None:
        return "unattempted" if problem == MISSING else "not graded"
    # the trusted run passed it: the points were taken by hand in formgrader
    return MANUAL_KIND if verdict.passed else verdict.kind or "error"


def results(db_url, found, verdicts, outcomes, failed):
    """One LessonResult per student and lesson, read back from nbgrader's gradebook.

    The trusted run's verdicts are already in the scores: they were recorded in the
    executed notebooks before nbgrader graded them. A result is pending (and says why)
    when the grader failed on its notebook or when a part of it waits for an instructor.
    """
    results = []
    with Gradebook(db_url, COURSE_ID) as gb:
        cells = {
            lesson: [
                (gc.name, gc.max_score, gc.cell_type == "markdown")
                for nb in gb.find_assignment(lesson).notebooks
                for gc in nb.grade_cells
            ]
            for lesson in {s.lesson for s in found}
        }
        written_ids = {x: {name for name, _, is_written in cells[x] if is_written} for x in cells}
        for s in found:
            key = (s.student, s.lesson)
            outcome = outcomes.get(key)
            problem = s.problem or failed.get(key) or (outcome.problem if outcome else "")
            messages = _messages(outcome) if s.path else {}
            scores, pending, late, written_message = {}, set(), (0.0, 0.0), {}
            if (outcome and outcome.grader_failed) or key in failed:  # recorded again next run
                pending.add(GRADER_FAILED)
            if s.path:
                try:
                    submission = gb.find_submission(s.lesson, s.student)
                    grades = [g for nb in submission.notebooks for g in nb.grades]
                    for g in grades:
                        scores[g.name], why = manual.counted(g)
                        pending |= {why} - {""}
                        if g.name in written_ids[s.lesson]:
                            written_message[g.name] = _written_message(g, why)
                    penalty = sum(nb.late_submission_penalty or 0 for nb in submission.notebooks)
                    late = (submission.total_seconds_late, penalty)
                except MissingEntry:
                    problem = problem or "nbgrader recorded no grades"
            cell_results = []
            for grade_id, max_score, written in cells[s.lesson]:
                score = float(scores.get(grade_id, 0.0) or 0.0)
                message = messages.get(grade_id, "") if s.path else s.problem
                if score < max_score and not message:
                    message = problem or "no points"
                kind = ""
                if written and s.path and score < max_score:
                    kind, message = manual.WRITTEN_KIND, written_message.get(grade_id, "unanswered")
                elif score < max_score:
                    kind = _kind(verdicts.get((*key, grade_id)), problem)
                    if kind == MANUAL_KIND:
                        message = f"{score:g} of {max_score:g} points, set by hand in formgrader"
                cell_results.append(CellResult(grade_id, score, max_score, message, kind))
            why = "; ".join(sorted(pending))
            results.append(
                LessonResult(s.student, s.lesson, s.notebook, problem, cell_results, why, *late)
            )
    return results
