"""The grading command: python -m autograder grade SUBMISSIONS --out OUT [--jobs N].

The stages, each on nbgrader's own machinery:

1. release: OUT/course is a fresh nbgrader course directory; generate_assignment records every
   lesson (cells, points, checksums) in its SQLite gradebook;
2. intake: every student x lesson is usable, or missing / unreadable (scores 0, says why);
3. sanitize: nbgrader's own sanitize preprocessors (OverwriteCells restores deleted or edited
   test cells from the source);
4. execute: nbgrader's Execute preprocessor on sandboxed, pre-warmed kernels, in --jobs workers;
   the same workers verify: every graded cell is run again by the trusted runner on the
   student's functions proxied into a sandbox (autograder.run.trusted);
5. record: nbgrader's Autograde converter, with its execution replayed from stage 4, writes the
   gradebook from one process (concurrent SQLite writes are unsafe); a cell earns its points
   only if the notebook run and the trusted run both pass it;
6. feedback and export: nbgrader's generate_feedback (lessons in parallel: it only reads the
   gradebook), then grades.csv, exercises.csv, the feedback files and the class report.
"""

import dataclasses
import html
import multiprocessing
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from nbgrader.utils import temp_attrs
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from autograder.course import (
    COURSE_ID,
    check_success,
    lesson_ids,
    nbgrader_api,
    notebook_name,
    release,
)
from autograder.intake import collect
from autograder.notebooks import nbgrader_meta
from autograder.outputs.export import CellResult, LessonResult, write_outputs
from autograder.outputs.mathjax import bundle_mathjax, localize_mathjax
from autograder.progress import Progress
from autograder.record.preprocessors import ReplayExecution
from autograder.run.kernels import Task, execute_all
from autograder.run.sandbox import Limits, require_bubblewrap
from autograder.run.trusted import ANSWER_KEY_KIND, TAMPERING


def _refuse_overlap(submissions, out):
    if out == submissions or out.is_relative_to(submissions) or submissions.is_relative_to(out):
        raise SystemExit(
            "OUT and SUBMISSIONS must not contain each other: SUBMISSIONS is read-only"
        )


def _sanitized(api, submission, dest):
    """The submission as nbgrader's autograde would run it, after its sanitize preprocessors."""
    with temp_attrs(api.coursedir, assignment_id=submission.lesson, student_id=submission.student):
        app = Autograde(coursedir=api.coursedir, parent=api)
        resources = app.init_single_notebook_resources(str(dest))
        nb = nbformat.read(dest, as_version=4)
        for preprocessor in app.sanitize_preprocessors:
            nb, resources = preprocessor(parent=app).preprocess(nb, resources)
    return nbformat.writes(nb)


def _font_cache(course):
    """Build matplotlib's font list once, for every kernel to copy instead of rebuilding it."""
    cache = course / ".matplotlib"
    env = {**os.environ, "MPLCONFIGDIR": str(cache)}
    subprocess.run(
        [sys.executable, "-c", "import matplotlib.font_manager"], env=env, check=True, timeout=120
    )
    return str(cache)


def _record(course, usable, outcomes):
    """nbgrader's Autograde, with Execute replaced by the replay of the sandboxed run.

    One converter run per lesson grades all its students; should one of them trip nbgrader,
    the lesson is graded student by student and only that one records the error.
    Returns the nbgrader API and {(student, lesson): problem} for the ones it could not grade.
    """
    ReplayExecution.executed = {
        key: nbformat.reads(o.notebook_json, as_version=4) for key, o in outcomes.items()
    }
    config = Config()
    config.Autograde.autograde_preprocessors = [
        ReplayExecution if p is Execute else p for p in Autograde().autograde_preprocessors
    ]
    api = nbgrader_api(course, config)
    failed = {}
    for lesson in sorted({s.lesson for s in usable}):
        if api.autograde(lesson, "*")["success"]:
            continue
        for s in (s for s in usable if s.lesson == lesson):
            result = api.autograde(lesson, s.student)
            if not result["success"]:
                failed[(s.student, lesson)] = "nbgrader could not grade this notebook"
    return api, failed


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


def _kind(verdict, message, problem):
    """What kind of failure a cell's is: the trusted run's diagnosis, or why nothing ran."""
    if verdict is None:
        return "unattempted" if problem == "missing notebook" else "not graded"
    if verdict.kind == ANSWER_KEY_KIND or message.startswith(TAMPERING):
        return verdict.kind if verdict.kind == ANSWER_KEY_KIND else TAMPERING
    return verdict.kind or "notebook only"


def _results(api, course, found, verdicts, outcomes, failed):
    """One LessonResult per student and lesson, read back from nbgrader's gradebook.

    The trusted run's verdicts are already in the scores: they were recorded in the
    executed notebooks before nbgrader graded them.
    """
    results = []
    with Gradebook(api.coursedir.db_url, COURSE_ID) as gb:
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
                    kind = _kind(verdicts.get((*key, grade_id)), message, problem)
                cell_results.append(CellResult(grade_id, score, max_score, message, kind))
            results.append(LessonResult(s.student, s.lesson, s.notebook, problem, cell_results))
    return results


def _lesson_feedback(course_and_lesson):
    course, lesson = course_and_lesson
    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session warnings, not ours
    api = nbgrader_api(course)
    check_success(api.generate_feedback(lesson), f"generate_feedback {lesson}")


def _feedback(course, out, found, results, jobs):
    """nbgrader's feedback for graded notebooks; a short note for the ones that were not."""
    lessons = sorted({s.lesson for s in found if s.path})
    with multiprocessing.get_context("spawn").Pool(max(1, min(jobs, len(lessons)))) as pool:
        pool.map(_lesson_feedback, [(course, lesson) for lesson in lessons])
    # nbgrader's feedback template loads MathJax from a CDN whatever HTMLExporter.mathjax_url
    # says: one local copy beside feedback/ makes the maths render offline
    mathjax_js = bundle_mathjax(out)
    by_key = {(r.student, r.lesson): r for r in results}
    for s in found:
        dest = out / "feedback" / s.student / s.lesson / s.notebook.replace(".ipynb", ".html")
        dest.parent.mkdir(parents=True, exist_ok=True)
        made = course / "feedback" / s.student / s.lesson / dest.name
        if s.path and made.exists():
            shutil.copyfile(made, dest)
            localize_mathjax(dest, mathjax_js)
        else:
            dest.write_text(_problem_page(by_key[(s.student, s.lesson)]), encoding="utf-8")


def _problem_page(result):
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
        f"<h1>{html.escape(result.lesson)}: 0 / {result.max_score:g}</h1>"
        f"<p>Your notebook {html.escape(result.notebook)} could not be graded: "
        f"{html.escape(result.problem)}.</p></body></html>"
    )


def grade(submissions, out, jobs=None, limits=Limits(), lessons=None):
    """Grade every submission in SUBMISSIONS into OUT; return the LessonResults.

    lessons: the lessons to grade, all of them by default.
    """
    with warnings.catch_warnings():  # nbgrader's own SQLAlchemy session warnings, not ours
        warnings.simplefilter("ignore", SAWarning)
        return _grade(Path(submissions).resolve(), Path(out).resolve(), jobs, limits, lessons)


def _grade(submissions, out, jobs, limits, lessons):
    _refuse_overlap(submissions, out)
    if not submissions.is_dir():
        raise SystemExit(f"no such folder: {submissions}")
    require_bubblewrap()
    lessons = lessons or lesson_ids()
    out.mkdir(parents=True, exist_ok=True)
    course = out / "course"
    for stale in (course, out / "feedback"):  # a rerun on the same OUT starts afresh
        shutil.rmtree(stale, ignore_errors=True)
    course.mkdir()

    api = release(course, lessons)
    found, rejected = collect(submissions, lessons, notebook_name)
    tasks = []
    for i, s in enumerate(found):
        if not s.path:
            continue
        dest = course / "submitted" / s.student / s.lesson / s.notebook
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(s.path, dest)
        try:
            tasks.append(Task((s.student, s.lesson), _sanitized(api, s, dest)))
        except Exception as exc:  # metadata nbgrader rejects: this notebook only scores 0
            found[i] = dataclasses.replace(s, path=None, problem=f"unreadable: {exc}"[:200])
            shutil.rmtree(dest.parent)

    # lesson by lesson: a worker keeps the trusted run's child of the lesson it expects next
    tasks.sort(key=lambda task: (task.key[1], task.key[0]))
    jobs = jobs or os.cpu_count() or 1
    outcomes = {}
    progress = Progress(len(tasks), "grading")
    for outcome in execute_all(tasks, jobs, limits, _font_cache(course)):
        outcomes[outcome.key] = outcome
        progress.advance()
    progress.close()

    usable = [s for s in found if s.path]
    api, failed = _record(course, usable, outcomes)
    verdicts = {
        (*key, grade_id): verdict
        for key, outcome in outcomes.items()
        for grade_id, verdict in outcome.verdicts.items()
    }
    results = _results(api, course, found, verdicts, outcomes, failed)
    _feedback(course, out, found, results, jobs)
    write_outputs(out, results, rejected)
    return results
