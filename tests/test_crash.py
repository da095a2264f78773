"""Grades that stay true: after a run is killed, after the grader's own failures, after
nbgrader's own commands in OUT/course.

Each case goes through the grading command, as an instructor would meet it.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import psutil
import pytest
from nbgrader.api import Gradebook

from autograder.course import COURSE_ID, REPO
from autograder.grade import grade
from autograder.record.gradebook import GRADER_FAILED
from autograder.run import trusted
from tests.test_grading import solved, student_version
from tests.test_workflow import LIMITS, WRONG_CE, db, put, rows

A, B = "00_chain_rule", "01_softmax"
NBGRADER = REPO / ".venv" / "bin" / "nbgrader"


def _class(submitted):
    put(submitted, "ada", A, solved(A))
    put(submitted, "ada", B, solved(B))
    put(submitted, "bob", A, solved(A))
    put(submitted, "bob", B, student_version(B, {"softmax_cross_entropy": WRONG_CE}))
    put(submitted, "cy", B, solved(B))


def _command(submitted, out, *extra):
    command = [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out)]
    return subprocess.Popen(
        [*command, "--jobs", "2", "--no-written-questions", *extra],
        cwd=REPO,
        env={**os.environ, "TMPDIR": tempfile.mkdtemp(prefix="t-", dir="/tmp")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _outputs(out):
    """What leaves the machine: the CSV files, the LMS files and every feedback page."""
    found = {}
    for name in ("grades.csv", "exercises.csv", "canvas_grades.csv", "moodle_grades.csv"):
        found[name] = (out / name).read_text()
    for page in sorted((out / "feedback").rglob("*.html")):
        found[str(page.relative_to(out))] = page.read_text()
    return found


def test_a_run_killed_at_any_instant_resumes_to_the_outputs_of_an_uninterrupted_one(tmp_path):
    submitted = tmp_path / "submitted"
    _class(submitted)
    whole = _command(submitted, tmp_path / "whole")
    started = time.monotonic()
    _, stderr = whole.communicate(timeout=300)
    assert whole.returncode == 0, stderr
    seconds = time.monotonic() - started

    # kills spread over a whole run (--force grades everything again each time, so that a
    # kill at a later instant falls in a later phase: grading, recording, the outputs),
    # each run taking over what the one before was killed in the middle of; every third one
    # resumes instead
    out, kills, runs = tmp_path / "killed", 0, 0
    while kills < 12 and runs < 30:  # a run that resumes may finish before its instant
        force = runs % 3 > 0
        run = _command(submitted, out, *(["--force"] if force else []))
        started = time.monotonic()
        try:
            run.wait(timeout=seconds * (kills + 1) / 13)
            if force:  # the machine is faster now than when it was timed: time it again
                seconds = min(seconds, time.monotonic() - started)
        except subprocess.TimeoutExpired:
            os.kill(run.pid, signal.SIGKILL)  # the command alone: it takes its workers along
            kills += 1
        run.communicate(timeout=60)
        runs += 1
    assert kills == 12, f"{kills} kills in {runs} runs"
    resumed = _command(submitted, out)
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert _outputs(out) == _outputs(tmp_path / "whole")
    assert "pending" not in stdout


@pytest.fixture
def failing_sandbox(monkeypatch, tmp_path):
    """The trusted run's sandbox cannot be set up for lesson B: once when the flag file
    exists (the first attempt to make one claims it), every time when flag.always does."""
    flag = tmp_path / "fail"
    real = trusted.StudentProcess.__init__

    def failing():
        if flag.with_suffix(".always").exists():
            return True
        try:
            os.rename(flag, flag.with_suffix(".taken"))  # one process wins, in any worker
            return True
        except FileNotFoundError:
            return False

    def start(self, lesson, *args, **kwargs):
        if lesson == B and failing():
            raise RuntimeError("the sandbox could not be set up: EAGAIN (injected)")
        real(self, lesson, *args, **kwargs)

    monkeypatch.setattr(trusted.StudentProcess, "__init__", start)
    return flag


def test_a_grader_failure_is_tried_again_and_then_pending_never_the_student_s(
    tmp_path, failing_sandbox
):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    _class(submitted)
    failing_sandbox.touch()  # once: the notebook it hits is graded on its second attempt
    graded = grade(submitted, out, jobs=2, limits=LIMITS, written=False)
    assert failing_sandbox.with_suffix(".taken").exists()
    assert not [r for r in graded.results if r.pending]
    assert {r.student: r.score == r.max_score for r in graded.results if r.lesson == B} == {
        "ada": True,
        "bob": False,
        "cy": True,
    }

    failing_sandbox.with_suffix(".always").touch()  # every time: the grader cannot grade B
    graded = grade(submitted, out, jobs=2, limits=LIMITS, force=True, written=False)
    pending = {(r.student, r.lesson): r for r in graded.results if r.pending}
    assert set(pending) == {("ada", B), ("bob", B), ("cy", B)}
    assert all(r.pending == GRADER_FAILED for r in pending.values())
    grades = {(r["student"], r["lesson"]): r for r in rows(out / "grades.csv")}
    assert grades[("cy", B)]["pending"] == GRADER_FAILED and grades[("ada", A)]["pending"] == ""
    assert grades[("cy", B)]["score"] == "0", "no points the grader did not see earned"
    canvas = {r["Student"]: r for r in rows(out / "canvas_grades.csv")}
    assert canvas["cy"][B] == "" and canvas["ada"][A] == grades[("ada", A)]["score"]
    cells = [r for r in rows(out / "exercises.csv") if (r["student"], r["lesson"]) == ("cy", B)]
    assert cells and all(r["kind"] == "grader" for r in cells), "never the student's doing"
    stored = json.loads((out / "results" / "cy" / f"{B}.json").read_text())
    assert stored["key"] is None, "not kept as the notebook's result"

    failing_sandbox.with_suffix(".always").unlink()  # the machine is fine again
    again = grade(submitted, out, jobs=2, limits=LIMITS, written=False)
    assert again.graded == 3 and not [r for r in again.results if r.pending]
    grades = {(r["student"], r["lesson"]): r for r in rows(out / "grades.csv")}
    assert grades[("cy", B)]["score"] == grades[("cy", B)]["max_score"]


TAMPERED = (
    "import gradlab.checking as _checking\n"
    "_checking.CheckFailed = type('Nothing', (Exception,), {})  # no check can fail now\n"
    "open(MARKER, 'w').write('ran outside the sandbox')\n" + WRONG_CE
)


def test_nbgrader_s_own_autograde_replays_the_trusted_run_and_runs_no_student_code(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    marker = tmp_path / "ran-here"
    source = TAMPERED.replace("MARKER", repr(str(marker)))
    put(submitted, "eve", B, student_version(B, {"softmax_cross_entropy": source}))
    put(submitted, "ada", B, solved(B))
    first = grade(submitted, out, jobs=1, limits=LIMITS, written=False)
    before = _outputs(out)
    eve = next(r for r in first.results if r.student == "eve")
    assert eve.score < eve.max_score

    autograde = subprocess.run(
        [str(NBGRADER), "autograde", B, "--force"],
        cwd=out / "course",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert autograde.returncode == 0, autograde.stderr
    assert not marker.exists(), "nbgrader's autograde ran the student's code"
    again = grade(submitted, out, jobs=1, limits=LIMITS, written=False)
    assert again.graded == 0 and not again.repaired
    assert _outputs(out) == before

    # a gradebook changed behind the command's back (by hand, or by an older configuration
    # that executed the notebooks) is put back to the trusted verdicts, and the command says so
    with Gradebook(db(out), COURSE_ID) as gb:
        for nb in gb.find_submission(B, "eve").notebooks:
            for g in nb.grades:
                g.auto_score = g.max_score
        gb.db.commit()
    repaired = grade(submitted, out, jobs=1, limits=LIMITS, written=False)
    assert repaired.repaired == [("eve", B)]
    assert _outputs(out) == before

    # a notebook the command never ran is refused, in one line naming the command
    put(out / "course" / "submitted", "mallory", B, solved(B))
    refused = subprocess.run(
        [str(NBGRADER), "autograde", B, "--student", "mallory"],
        cwd=out / "course",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "python -m autograder grade" in refused.stdout + refused.stderr


def test_a_worker_killed_mid_run_costs_no_grade(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    for i in range(16):
        put(submitted, f"s{i:02}", A, solved(A))
    run = _command(submitted, out)
    command = psutil.Process(run.pid)
    deadline = time.monotonic() + 120
    while not list((out / "results").glob("*/*.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [p for p in command.children() if p.cmdline() == command.cmdline()]
    workers[0].kill()  # as the machine's out-of-memory killer would
    stdout, stderr = run.communicate(timeout=120)  # multiprocessing's Pool waited for ever
    assert run.returncode == 0, stderr
    grades = rows(out / "grades.csv")
    assert len(grades) == 16 and all(r["score"] == r["max_score"] for r in grades), grades
    assert "pending" not in stdout
