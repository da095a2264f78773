"""Stage 3 of grading: nbgrader's Autograde records the stored results in its gradebook.

Autograde runs with its Execute preprocessor replaced by ReplayExecution, which puts back the
outputs of the sandboxed run (autograder.record.store): nbgrader's own SaveAutoGrades scores
them. The gradebook keeps what instructors enter in formgrader: a manual score, extra credit
or a comment survives every rerun; nbgrader keeps it when it grades a new version of the
submission too, and marks it as needing review ("needs manual grade"), which `manual_grades`
reports.
"""

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
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from traitlets.config import Config

from autograder.course import COURSE_ID, nbgrader_api
from autograder.notebooks import nbgrader_meta
from autograder.outputs.export import CellResult, LessonResult
from autograder.record.preprocessors import ReplayExecution


def record(course, items, results_dir, db_url=None):
    """nbgrader's Autograde of the (student, lesson) items, from the stored results.

    One converter run per lesson when all its students are to be recorded; else student by
    student. Should one of them trip nbgrader, only that one records the error.
    Returns {(student, lesson): problem} for the ones it could not record.
    """
    config = Config()
    config.Autograde.autograde_preprocessors = [
        ReplayExecution if p is Execute else p for p in Autograde().autograde_preprocessors
    ]
    config.ReplayExecution.results_dir = str(results_dir)
    api = nbgrader_api(course, config, db_url)
    failed = {}
    for lesson in sorted({lesson for _, lesson in items}):
        students = sorted(s for s, l in items if l == lesson)
        submitted = sorted(
            p.name for p in (course / "submitted").iterdir() if (p / lesson).is_dir()
        )
        if students == submitted and api.autograde(lesson, "*")["success"]:
            continue
        for student in students:
            if not api.autograde(lesson, student)["success"]:
                failed[(student, lesson)] = "nbgrader could not grade this notebook"
    return failed


def _submission(gb, student, lesson):
    try:
        return gb.find_submission(lesson, student)
    except MissingEntry:
        return None


def recorded(db_url, keys):
    """The (student, lesson) keys the gradebook holds grades for (one gradebook opened)."""
    with Gradebook(db_url, COURSE_ID) as gb:
        return {key for key in keys if (s := _submission(gb, *key)) and s.notebooks}


def digests(db_url, keys):
    """{key: a digest of everything the gradebook holds for it}: scores, manual grades, extra
    credit and comments ("" for nothing). Feedback is made again when it changes."""
    entries = {key: [] for key in keys}
    with Gradebook(db_url, COURSE_ID) as gb:
        grades = _rows(gb, Grade, Grade.auto_score, Grade.manual_score, Grade.extra_credit)
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


def manual_grades(db_url, keys):
    """{key: [(grade_id, what)]} of what an instructor entered, e.g. ("softmax_test",
    "manual score 1.5"), ("softmax", "comment"); keys with nothing entered are left out."""
    found = {}
    with Gradebook(db_url, COURSE_ID) as gb:
        for key in keys:
            entered = []
            for notebook in s.notebooks if (s := _submission(gb, *key)) else []:
                for grade in notebook.grades:
                    if grade.manual_score is not None:
                        entered.append((grade.name, f"manual score {grade.manual_score:g}"))
                    if grade.extra_credit:
                        entered.append((grade.name, f"extra credit {grade.extra_credit:g}"))
                for comment in notebook.comments:
                    if comment.manual_comment:
                        entered.append((comment.name, "comment"))
            if entered:
                found[key] = entered
    return found


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


def _messages(course, submission):
    path = course / "autograded" / submission.student / submission.lesson / submission.notebook
    if not path.exists():
        return {}
    nb = nbformat.read(path, as_version=4)
    return {
        meta["grade_id"]: _cell_message(cell)
        for cell in nb.cells
        if (meta := nbgrader_meta(cell)).get("grade")
    }


def _kind(verdict, problem):
    """What kind of failure a cell's is: the trusted run's diagnosis, or why nothing ran."""
    if verdict is None:
        return "unattempted" if problem == "missing notebook" else "not graded"
    # the trusted run passed it: the points were taken by hand in formgrader
    return "manual grade" if verdict.passed else verdict.kind or "error"


def results(db_url, course, found, verdicts, outcomes, failed):
    """One LessonResult per student and lesson, read back from nbgrader's gradebook.

    The trusted run's verdicts are already in the scores: they were recorded in the
    executed notebooks before nbgrader graded them.
    """
    results = []
    with Gradebook(db_url, COURSE_ID) as gb:
        cells = {
            lesson: [
                (gc.name, gc.max_score)
                for nb in gb.find_assignment(lesson).notebooks
                for gc in nb.grade_cells
            ]
            for lesson in {s.lesson for s in found}
        }
        for s in found:
            key = (s.student, s.lesson)
            outcome = outcomes.get(key)
            problem = s.problem or failed.get(key) or (outcome.problem if outcome else "")
            messages = _messages(course, s) if s.path else {}
            scores = {}
            if s.path:
                try:
                    submission = gb.find_submission(s.lesson, s.student)
                    scores = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
                except MissingEntry:
                    problem = problem or "nbgrader recorded no grades"
            cell_results = []
            for grade_id, max_score in cells[s.lesson]:
                score = float(scores.get(grade_id, 0.0) or 0.0)
                message = messages.get(grade_id, "") if s.path else s.problem
                if score < max_score and not message:
                    message = problem or "no points"
                kind = ""
                if score < max_score:
                    kind = _kind(verdicts.get((*key, grade_id)), problem)
                cell_results.append(CellResult(grade_id, score, max_score, message, kind))
            results.append(LessonResult(s.student, s.lesson, s.notebook, problem, cell_results))
    return results
