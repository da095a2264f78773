"""The grading command: python -m autograder grade SUBMISSIONS --out OUT [options].

The stages, each on nbgrader's own machinery, data flowing one way:

1. intake (autograder.intake): every student x lesson handed out is usable, or missing /
   unreadable (scores 0, says why); what intake passed over becomes a note with the fix;
2. release: OUT/course is an nbgrader course directory, kept between runs; generate_assignment
   records each lesson handed out (cells, points, checksums) in its gradebook;
3. sanitize: nbgrader's own sanitize preprocessors (OverwriteCells restores deleted or edited
   test cells from the source);
4. run (autograder.run): nbgrader's Execute on sandboxed, pre-warmed kernels, in --jobs workers
   (started with the command, so that they warm up during 2 and 3) or on a Dask cluster; the
   same workers verify every graded cell again on the student's functions proxied into a
   sandbox, and record the verdict in the executed notebook. Each result is stored as it
   arrives (autograder.record.store): a rerun grades only what changed, an interrupted run
   resumes;
5. record (autograder.record.gradebook): nbgrader's Autograde, its execution replayed from the
   stored results, writes the gradebook from this process alone, each lesson as soon as its
   notebooks are all stored; manual grades entered in formgrader are kept;
6. outputs (autograder.outputs): nbgrader's generate_feedback made self-contained (on the
   workers), grades.csv, exercises.csv and the class report.

OUT/timings.json says where the run spent its CPU (autograder.costs).
"""

import contextlib
import dataclasses
import datetime
import fcntl
import json
import os
import shutil
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.converters import Autograde
from nbgrader.utils import parse_utc, temp_attrs
from sqlalchemy.exc import SAWarning

from autograder.costs import Costs
from autograder.course import (
    LATE_POLICIES,
    SOURCE,
    lesson_ids,
    notebook_name,
    on_ctrl_c,
    release,
    write_nbgrader_config,
)
from autograder.files import write_whole
from autograder.intake import (
    MISSING,
    Submission,
    SubmittedNotebook,
    collect,
    normalized,
    read_roster,
)
from autograder.outputs import feedback
from autograder.outputs.export import write_outputs
from autograder.progress import Progress
from autograder.record import gradebook
from autograder.record.late import read_due, read_extensions
from autograder.record.recorder import Recorder
from autograder.record.store import ResultStore, grader_version, result_key
from autograder.run.kernels import LocalWorkers
from autograder.run.sandbox import Limits, require_bubblewrap
from autograder.run.values import Task


@dataclass
class Graded:
    """What a grading run did: the results, and what the instructor should be told."""

    results: list
    notes: list = field(default_factory=list)  # (where, what) that intake passed over
    lessons: list = field(default_factory=list)  # the lessons handed out
    repaired: list = field(default_factory=list)  # (student, lesson) recorded again
    graded: int = 0  # notebooks run this time
    kept: int = 0  # notebooks whose stored result was still valid
    submitted: int = 0  # notebooks handed in, those that cannot be read included
    unusable: int = 0  # of those, the ones that cannot be read or were refused


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


def _interrupt(signum, frame):
    """Ctrl-C raises KeyboardInterrupt through a handler of the run's own. With Python's
    default handler, a Ctrl-C sent just after a result was stored was lost in every try (the
    run went on to its end, benchmarks/rerun_speed.py); with this one it never was. What
    swallowed it was not found."""
    raise KeyboardInterrupt


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
    template=None,
    roster=None,
    due=None,
    extensions=None,
    written=True,
):
    """Grade SUBMISSIONS into OUT; return what was done (Graded).

    lessons: the lessons handed out (default: those at least one student submitted);
    db_url: the gradebook (default: SQLite in OUT/course); scheduler: a Dask scheduler's
    address to grade on (default: --jobs local workers); force: grade every notebook again;
    template: a template for the local workers already started (autograder.run.template), which
    the run then owns. roster: a roster file (intake.read_roster): every student on it is in
    every output, their names in the gradebook and their LMS ids in the LMS files. due: a
    due-date file (autograder.record.late): late work loses points as its policy says;
    extensions: a file of students' extensions (late.read_extensions). written=False leaves
    the written questions out of the grades (their points too), as they were never asked.
    """
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    _refuse_overlap(submissions, out)
    if not submissions.is_dir():
        raise SystemExit(f"no such folder: {submissions}")
    if not scheduler:  # on a cluster each worker checks its own sandbox
        require_bubblewrap()
    out.mkdir(parents=True, exist_ok=True)
    costs = Costs()
    with warnings.catch_warnings(), _only_run_on(out), on_ctrl_c(_interrupt):
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session warnings
        options = (jobs, limits, lessons, db_url, scheduler, force, template, roster)
        options += (due, extensions, written)
        return _grade(submissions, out, *options, costs)


def _grade(
    submissions,
    out,
    jobs,
    limits,
    lessons,
    db_url,
    scheduler,
    force,
    template,
    roster,
    due,
    extensions,
    written,
    costs,
):
    with costs.phase("intake"):
        roster, roster_notes = read_roster(roster) if roster else ({}, [])
        intake = collect(submissions, lesson_ids(), notebook_name, roster)
        intake.notes += roster_notes
    handed_out = lessons or intake.submitted or lesson_ids()
    found = [s for s in intake.found if s.lesson in handed_out]
    course = out / "course"
    course.mkdir(exist_ok=True)
    store = ResultStore(out / "results")
    keys, to_run = _keys(found, store, force)
    # local workers start at once when there is something to grade here: they import, and
    # start their templates and a kernel for the first lesson (tasks run lesson by lesson),
    # while the course is released and the submissions sanitized
    first_lesson = min((lesson for _, lesson in to_run), default=None) if not scheduler else None
    with LocalWorkers(jobs, limits, first_lesson, template) as workers:
        with costs.phase("release (generate_assignment)"):
            due_dates = read_due(due, lesson_ids()) if due else {}
            extended = read_extensions(extensions, lesson_ids()) if extensions else {}
            policies = {lesson: [d.per_day, d.at_most] for lesson, d in due_dates.items()}
            write_whole(course / LATE_POLICIES, json.dumps(policies))
            write_nbgrader_config(course, db_url)
            _keep_written_choice(course, written)
            api = release(course, handed_out, db_url, written)
        db_url = api.coursedir.db_url
        gradebook.name_students(db_url, roster)
        # the gradebook's own roster (nbgrader db student import) is on the roster too
        for student in sorted(gradebook.rostered(db_url) - set(intake.folders)):
            intake.folders[student] = student
            found += [Submission(student, x, notebook_name(x), None, MISSING) for x in handed_out]
        given = {key: days for key, days in extended.items() if key[1] in handed_out}
        gradebook.set_due_dates(db_url, {x: due_dates.get(x) for x in handed_out}, given)
        with costs.phase("sanitize (nbgrader's preprocessors)"):
            tasks, times = _tasks(api, found, to_run, course)
        for (student, lesson), (_, from_file) in sorted(times.items()):
            if from_file and lesson in due_dates:
                intake.notes.append(
                    (
                        f"{intake.folders[student]}/{lesson}",
                        "no timestamp.txt: the notebook file's time is when it was handed in",
                    )
                )
        # what a notebook's penalty depends on: its time and its lesson's due date and policy
        contexts = {
            key: f"{t}|{due_dates.get(key[1])}|{extended.get(key)}" for key, (t, _) in times.items()
        }

        usable = {(s.student, s.lesson) for s in found if s.path}
        handed_in = {(s.student, s.lesson) for s in found if s.problem != MISSING}
        fresh = {task.key for task in tasks}
        kept = {key: store.get(*key, keys[key]) for key in usable - fresh}
        with Recorder(course, store, contexts, db_url, workers.jobs) as recorder:
            with costs.phase("record: what to record again"):
                # the gradebook holds what the trusted run found, whatever happened to it
                # since (nbgrader's own commands, a run stopped while recording): else it is
                # recorded again from the stored results, and the instructor told
                expected = {
                    key: {g: v.passed for g, v in outcome.verdicts.items()}
                    for key, outcome in kept.items()
                }
                repaired = gradebook.disagreeing(db_url, expected)
                unrecorded = {k for k in kept if not store.recorded(*k, contexts.get(k, ""))}
                to_record = fresh | unrecorded | repaired
                recorder.record(to_record - fresh)
            # lesson by lesson: a worker keeps the trusted run's child of the lesson it
            # expects next; what is stored is recorded in batches while the rest runs
            tasks.sort(key=lambda task: (task.key[1], task.key[0]))
            with costs.phase("run (workers, kernels, trusted run)"):
                fresh_outcomes = _run(
                    tasks, store, keys, workers, limits, scheduler, recorder.record
                )
            with costs.phase("record: waiting for the recorder"):
                failed = recorder.failed()
        costs.core["record on the recorder (nbgrader's autograde, replayed)"] = recorder.cpu

        outcomes = {**kept, **{outcome.key: outcome for outcome in fresh_outcomes}}
        verdicts = {
            (*key, grade_id): verdict
            for key, outcome in outcomes.items()
            for grade_id, verdict in outcome.verdicts.items()
        }
        with costs.phase("results (the gradebook read back)"):
            results = gradebook.results(db_url, found, verdicts, outcomes, failed)
        # the report is drawn here while the workers render the feedback pages
        phase = "feedback (nbgrader's generate_feedback), exports and report"
        with costs.phase(phase), ThreadPoolExecutor(1) as drawing:
            lms_ids = {student: r.lms_id for student, r in roster.items() if r.lms_id}
            outputs = drawing.submit(
                write_outputs, out, results, intake.notes, intake.folders, lms_ids
            )
            on_workers = _write_feedback(
                course, out, found, results, to_record, workers, db_url, store
            )
            outputs.result()
        costs.core["feedback on the workers (generate_feedback, pages, archives)"] = on_workers
        costs.core["run: the template (imports, then forks)"] = workers.template_cpu()
    costs.write(out / "timings.json", fresh_outcomes)
    return Graded(
        results,
        intake.notes,
        list(handed_out),
        sorted(repaired),
        len(tasks),
        len(usable) - len(tasks),
        len(handed_in),
        len(handed_in) - len(usable),
    )


WRITTEN_CHOICE = "written_questions"  # in the course: whether they are graded there


def _keep_written_choice(course, written):
    """An OUT grades the written questions or leaves them out for good: nbgrader cannot take
    graded cells out of an assignment that has submissions, nor would the totals already
    exported stay comparable."""
    choice = "graded" if written else "left out"
    path = course / WRITTEN_CHOICE
    if path.exists() and path.read_text() != choice:
        raise SystemExit(
            f"the written questions were {path.read_text()} when {course.parent} was graded "
            f"before: grade into a new --out to have them {choice}"
        )
    write_whole(path, choice)


def _keys(found, store, force):
    """The result key of each usable submission, and those to run (their stored result is not
    valid, or --force)."""
    version = grader_version()
    keys, to_run = {}, set()
    for i, s in enumerate(found):
        if not s.path:
            continue
        source = (SOURCE / s.lesson / s.notebook).read_bytes()
        try:
            submitted = s.path.read_bytes()
        except OSError as exc:  # swapped for a link since intake looked: this one scores 0
            found[i] = dataclasses.replace(s, path=None, problem=f"unreadable: {exc}"[:200])
            continue
        key = keys[(s.student, s.lesson)] = result_key(submitted, source, version)
        if force or not store.get(s.student, s.lesson, key):
            to_run.add((s.student, s.lesson))
    return keys, to_run


def _tasks(api, found, to_run, course):
    """Every usable submission copied into the course, with the time it was handed in
    (nbgrader's timestamp.txt); (Tasks of those to run (the sanitized submissions), {key:
    (that time, whether it is the notebook file's, for want of a timestamp.txt)}). A notebook
    nbgrader cannot read, or one swapped for a link since intake looked (it is read without
    following links), scores 0, saying why."""
    tasks, times = [], {}
    for i, s in enumerate(found):
        if not s.path:
            continue
        dest = course / "submitted" / s.student / s.lesson / s.notebook
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            write_whole(dest, normalized(s.path.read_bytes()))
            times[(s.student, s.lesson)] = _handed_in_at(s.path)
            write_whole(dest.parent / "timestamp.txt", times[(s.student, s.lesson)][0])
            if (s.student, s.lesson) in to_run:
                tasks.append(Task((s.student, s.lesson), _sanitized(api, s, dest)))
        except Exception as exc:  # this notebook only scores 0
            found[i] = dataclasses.replace(s, path=None, problem=f"unreadable: {exc}"[:200])
            shutil.rmtree(dest.parent)
            times.pop((s.student, s.lesson), None)
    return tasks, times


def _handed_in_at(notebook):
    """(when the notebook was handed in, as nbgrader's timestamp.txt says it, whether that is
    the file's own time): its lesson folder's timestamp.txt (from nbgrader's collect), read
    without following links, else the notebook file's time."""
    try:
        with SubmittedNotebook(notebook.parent / "timestamp.txt").open() as f:
            text = f.read(TIMESTAMP_CHARS).strip()
        return parse_utc(text).isoformat(), False
    except Exception:  # none, or not a time (garbage, a year past 9999): the file's time
        when = datetime.datetime.fromtimestamp(notebook.stat().st_mtime, datetime.UTC)
        return when.isoformat(), True


TIMESTAMP_CHARS = 64  # of timestamp.txt: nbgrader writes 26 ("2026-12-06 13:58:01.123456")
RECORD_BATCH = 100  # notebooks of a lesson recorded together, while the others run


def _run(tasks, store, keys, workers, limits, scheduler, stored):
    """Grade the tasks, storing each result as it arrives, and give `stored` the keys of
    each lesson's stored results in batches: every RECORD_BATCH of them, and the rest once
    the lesson is complete; Ctrl-C keeps what was stored. Returns the Outcomes."""
    if not tasks:
        return []
    arrived, batch = [], {}
    left = Counter(task.key[1] for task in tasks)
    progress = Progress(len(tasks), "grading")
    if scheduler:
        from autograder.run.cluster import execute_on_cluster

        outcomes = execute_on_cluster(tasks, scheduler, limits)
    else:
        outcomes = workers.execute(tasks)
    try:
        for outcome in outcomes:
            # what the grader failed on is kept to be recorded (as pending), under no key
            store.put(outcome, None if outcome.grader_failed else keys[outcome.key])
            arrived.append(outcome)
            progress.advance()
            lesson = outcome.key[1]
            left[lesson] -= 1
            batch.setdefault(lesson, set()).add(outcome.key)
            if not left[lesson] or len(batch[lesson]) == RECORD_BATCH:
                stored(batch.pop(lesson))
    except KeyboardInterrupt:
        outcomes.close()  # on a cluster, its tasks are cancelled; locally the workers end
        progress.close()
        raise Interrupted(progress.done, len(tasks)) from None
    progress.close()
    return arrived


def _write_feedback(course, out, found, results, to_record, workers, db_url, store):
    """Every student's feedback pages, made again where something changed, and archives;
    returns the core-seconds the workers spent on them."""
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
    # what is about to be made again is marked stale first: a run killed while making it
    # leaves it to the next run, which finds no mark (and no archive) for it
    changed = {student for student, _ in stale}
    for key in stale:
        marks[key].unlink(missing_ok=True)
    for student in changed:
        (out / feedback.ARCHIVES / f"{student}.zip").unlink(missing_ok=True)
    on_workers, unmade = feedback.generate(course, out, sorted(stale & usable), workers, db_url)
    by_key = {(r.student, r.lesson): r for r in results}
    for s in found:
        key, page = (s.student, s.lesson), pages[(s.student, s.lesson)]
        if key in stale:
            if not s.path or key in unmade:  # else the workers made its page whole
                page.parent.mkdir(parents=True, exist_ok=True)
                write_whole(page, feedback.problem_page(by_key[key], unmade.get(key, "")))
            if key in entries and key not in unmade:  # an unmade page is tried again next run
                marks[key].parent.mkdir(parents=True, exist_ok=True)
                write_whole(marks[key], entries[key])
    students = {s.student for s in found}
    unarchived = {s for s in students if not (out / feedback.ARCHIVES / f"{s}.zip").exists()}
    return on_workers + feedback.archives(out, sorted(unarchived), workers)
