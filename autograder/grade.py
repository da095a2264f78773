"""The grading command: python -m autograder grade SUBMISSIONS --out OUT [options].

The stages, each on nbgrader's own machinery, data flowing one way:

1. intake (autograder.intake): every student x lesson handed out is usable, or missing /
   unreadable (scores 0, says why); what intake passed over becomes a note with the fix;
2. release: OUT/course is an nbgrader course directory, kept between runs; generate_assignment
   records each lesson handed out (cells, points, checksums) in its gradebook;
3. sanitize: nbgrader's own sanitize preprocessors (OverwriteCells restores deleted or edited
   test cells from the source);
4. run (autograder.run): nbgrader's Execute on sandboxed, pre-warmed kernels, in --jobs workers
   or on a Dask cluster; the same workers verify every graded cell again on the student's
   functions proxied into a sandbox, and record the verdict in the executed notebook. Each
   result is stored as it arrives (autograder.record.store): a rerun grades only what changed,
   an interrupted run resumes;
5. record (autograder.record.gradebook): nbgrader's Autograde, its execution replayed from the
   stored results, writes the gradebook from one process; manual grades entered in formgrader
   are kept;
6. outputs (autograder.outputs): nbgrader's generate_feedback made self-contained, grades.csv,
   exercises.csv and the class report.
"""

import contextlib
import dataclasses
import fcntl
import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.converters import Autograde
from nbgrader.utils import temp_attrs
from sqlalchemy.exc import SAWarning

from autograder.costs import Costs
from autograder.course import SOURCE, lesson_ids, notebook_name, release, write_nbgrader_config
from autograder.intake import collect
from autograder.outputs import feedback
from autograder.outputs.export import write_outputs
from autograder.progress import Progress
from autograder.record import gradebook
from autograder.record.store import ResultStore, grader_version, result_key
from autograder.run.kernels import build_font_cache, execute_all
from autograder.run.sandbox import Limits, require_bubblewrap
from autograder.run.values import Task


@dataclass
class Graded:
    """What a grading run did: the results, and what the instructor should be told."""

    results: list
    notes: list = field(default_factory=list)  # (where, what) that intake passed over
    review: list = field(default_factory=list)  # (student, lesson, [(grade_id, what)])
    lessons: list = field(default_factory=list)  # the lessons handed out
    graded: int = 0  # notebooks run this time
    kept: int = 0  # notebooks whose stored result was still valid
    submitted: int = 0  # notebooks handed in


class Interrupted(Exception):
    """Ctrl-C during a run: what was graded is stored, the next run resumes."""

    def __init__(self, done, total):
        super().__init__(f"interrupted: {done} of {total} notebooks graded")
        self.done, self.total = done, total


def _refuse_overlap(submissions, out):
    if out == submissions or out.is_relative_to(submissions) or submissions.is_relative_to(out):
        raise SystemExit(
            "OUT and SUBMISSIONS must not contain each other: SUBMISSIONS is read-only"
        )


@contextlib.contextmanager
def _only_run_on(out):
    """One run at a time on OUT: a second one waits, and says why."""
    lock = open(out / ".grading.lock", "a+")  # noqa: SIM115 (held for the whole run)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            print(
                f"another grading run ({holder}) is writing {out}: waiting for it to finish",
                flush=True,
            )
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        yield
    finally:
        lock.close()


def _sanitized(api, submission, dest):
    """The submission as nbgrader's autograde would run it, after its sanitize preprocessors."""
    with temp_attrs(api.coursedir, assignment_id=submission.lesson, student_id=submission.student):
        app = Autograde(coursedir=api.coursedir, parent=api)
        resources = app.init_single_notebook_resources(str(dest))
        nb = nbformat.read(dest, as_version=4)
        for preprocessor in app.sanitize_preprocessors:
            nb, resources = preprocessor(parent=app).preprocess(nb, resources)
    return nbformat.writes(nb)


def grade(
    submissions,
    out,
    jobs=None,
    limits=Limits(),
    lessons=None,
    db_url=None,
    scheduler=None,
    force=False,
):
    """Grade SUBMISSIONS into OUT; return what was done (Graded).

    lessons: the lessons handed out (default: those at least one student submitted);
    db_url: the gradebook (default: SQLite in OUT/course); scheduler: a Dask scheduler's
    address to grade on (default: --jobs local workers); force: grade every notebook again.
    """
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    _refuse_overlap(submissions, out)
    if not submissions.is_dir():
        raise SystemExit(f"no such folder: {submissions}")
    if not scheduler:  # on a cluster each worker checks its own sandbox
        require_bubblewrap()
    out.mkdir(parents=True, exist_ok=True)
    costs = Costs()
    with warnings.catch_warnings(), _only_run_on(out):
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session warnings
        return _grade(submissions, out, jobs, limits, lessons, db_url, scheduler, force, costs)


def _grade(submissions, out, jobs, limits, lessons, db_url, scheduler, force, costs):
    with costs.phase("intake"):
        intake = collect(submissions, lesson_ids(), notebook_name)
    handed_out = lessons or intake.submitted or lesson_ids()
    found = [s for s in intake.found if s.lesson in handed_out]
    course = out / "course"
    course.mkdir(exist_ok=True)
    with costs.phase("release (generate_assignment)"):
        write_nbgrader_config(course, db_url)
        api = release(course, handed_out, db_url)
    db_url = api.coursedir.db_url
    store = ResultStore(out / "results")
    with costs.phase("sanitize (nbgrader's preprocessors)"):
        tasks, keys, kept, changed = _tasks(api, found, course, store, force)

    # lesson by lesson: a worker keeps the trusted run's child of the lesson it expects next
    tasks.sort(key=lambda task: (task.key[1], task.key[0]))
    with costs.phase("run (workers, kernels, trusted run)"):
        fresh_outcomes = _run(
            tasks, store, keys, jobs or os.cpu_count() or 1, limits, course, scheduler
        )

    usable = [s for s in found if s.path]
    outcomes = {
        (s.student, s.lesson): store.get(s.student, s.lesson, keys[(s.student, s.lesson)])
        for s in usable
    }
    fresh = {task.key for task in tasks}
    with costs.phase("record (nbgrader's autograde, replayed)"):
        to_record = fresh | (set(outcomes) - gradebook.recorded(db_url, outcomes))
        # what an instructor entered for a submission that changed since: kept, to be reviewed
        entered = gradebook.manual_grades(db_url, sorted(to_record & changed))
        review = [(*key, what) for key, what in sorted(entered.items())]
        failed = gradebook.record(course, to_record, store.root, db_url)
        verdicts = {
            (*key, grade_id): verdict
            for key, outcome in outcomes.items()
            for grade_id, verdict in outcome.verdicts.items()
        }
        results = gradebook.results(db_url, course, found, verdicts, outcomes, failed)
    with costs.phase("feedback (nbgrader's generate_feedback)"):
        _write_feedback(course, out, found, results, to_record, jobs or 1, db_url, store)
    with costs.phase("exports and report"):
        write_outputs(out, results, intake.notes, intake.folders)
    costs.write(out / "timings.json", fresh_outcomes)
    return Graded(
        results,
        intake.notes,
        review,
        list(handed_out),
        len(tasks),
        len(kept),
        len(usable),
    )


def _tasks(api, found, course, store, force):
    """The notebooks to run (Tasks, their sanitized submissions), the result key of each
    usable submission, those kept from the store and those that changed since stored."""
    version = grader_version()
    tasks, keys, kept, changed = [], {}, [], set()
    for i, s in enumerate(found):
        if not s.path:
            continue
        dest = course / "submitted" / s.student / s.lesson / s.notebook
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(s.path, dest)
        source = (SOURCE / s.lesson / s.notebook).read_bytes()
        key = keys[(s.student, s.lesson)] = result_key(s.path.read_bytes(), source, version)
        if store.key(s.student, s.lesson) not in (None, key):
            changed.add((s.student, s.lesson))
        if not force and store.get(s.student, s.lesson, key):
            kept.append((s.student, s.lesson))
            continue
        try:
            tasks.append(Task((s.student, s.lesson), _sanitized(api, s, dest)))
        except Exception as exc:  # metadata nbgrader rejects: this notebook only scores 0
            found[i] = dataclasses.replace(s, path=None, problem=f"unreadable: {exc}"[:200])
            shutil.rmtree(dest.parent)
    return tasks, keys, kept, changed


def _run(tasks, store, keys, jobs, limits, course, scheduler):
    """Grade the tasks, storing each result as it arrives; Ctrl-C keeps what was stored.
    Returns the Outcomes."""
    if not tasks:
        return []
    arrived = []
    progress = Progress(len(tasks), "grading")
    if scheduler:
        from autograder.run.cluster import execute_on_cluster

        outcomes = execute_on_cluster(tasks, scheduler, limits)
    else:
        outcomes = execute_all(tasks, jobs, limits, build_font_cache(course / ".matplotlib"))
    try:
        for outcome in outcomes:
            store.put(outcome, keys[outcome.key])
            arrived.append(outcome)
            progress.advance()
    except KeyboardInterrupt:
        outcomes.close()  # ends the workers, and with them every kernel and sandbox
        progress.close()
        raise Interrupted(progress.done, len(tasks)) from None
    progress.close()
    return arrived


def _write_feedback(course, out, found, results, to_record, jobs, db_url, store):
    """Every student's feedback pages, made again where something changed, and archives."""
    pages = {
        (s.student, s.lesson): out
        / "feedback"
        / s.student
        / s.lesson
        / s.notebook.replace(".ipynb", ".html")
        for s in found
    }
    usable = {(s.student, s.lesson) for s in found if s.path}
    # a page is made again when its notebook was recorded again, when it is missing, or when
    # what the gradebook holds for it changed (a manual grade or comment from formgrader)
    entries = gradebook.digests(db_url, usable)
    marks = {key: store.path(*key).with_suffix(".feedback") for key in pages}
    stale = set(to_record) | {
        key
        for key, page in pages.items()
        if not page.exists()
        or (key in usable and (not marks[key].exists() or marks[key].read_text() != entries[key]))
    }
    feedback.generate(course, sorted(stale & usable), jobs, db_url)
    by_key = {(r.student, r.lesson): r for r in results}
    changed = set()
    for s in found:
        key, page = (s.student, s.lesson), pages[(s.student, s.lesson)]
        made = course / "feedback" / s.student / s.lesson / page.name
        if key in stale or not page.exists():
            page.parent.mkdir(parents=True, exist_ok=True)
            if s.path and made.exists():
                page.write_text(feedback.travel(made.read_text(encoding="utf-8")), "utf-8")
            else:
                page.write_text(feedback.problem_page(by_key[key]), encoding="utf-8")
            if key in entries:
                marks[key].parent.mkdir(parents=True, exist_ok=True)
                marks[key].write_text(entries[key])
            changed.add(s.student)
    for student in sorted(changed):
        feedback.archive(out, student)
