"""The instructor's workflow end to end: grade, review in formgrader, regrade, return.

One small class is graded, then graded again as an instructor would: after entering manual
grades and comments through nbgrader's gradebook API (what formgrader does), after a late
submission, after a student changed a notebook. Then the run's own mechanics: a second run
on the same OUT waits for the first, and Ctrl-C stops a run that the next one resumes.
"""

import contextlib
import csv
import fcntl
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.course import COURSE_ID, REPO, notebook_name
from autograder.grade import grade
from autograder.record.manual import TO_REVIEW
from autograder.run.sandbox import Limits
from tests.test_grading import solved, student_version

LIMITS = Limits(cell_seconds=10, notebook_seconds=60)
A, B = "00_chain_rule", "01_softmax"

WRONG_CE = (
    "def softmax_cross_entropy(z, y):\n"
    "    N = len(y)\n"
    "    p = np.exp(z - z.max(axis=1, keepdims=True))\n"
    "    p /= p.sum(axis=1, keepdims=True)\n"
    "    loss = -np.mean(np.log(p[np.arange(N), y]))\n"
    "    p[np.arange(N), y] -= 1\n"
    "    return loss, p\n"
)


def put(root, folder, lesson, nb, name=None):
    path = root / folder / lesson / (name or notebook_name(lesson))
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def db(out):
    return f"sqlite:///{out / 'course' / 'gradebook.db'}"


@contextlib.contextmanager
def grader_version_fixed():
    """The grader's version held fixed: runs about the class changing, not about the grader
    (whose code other work may be editing meanwhile)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("autograder.grade.grader_version", lambda: "fixed")
        yield


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The class, graded once; `again()` grades it again into the same OUT."""
    with grader_version_fixed():
        yield _graded_class(tmp_path_factory)


def _graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("workflow")
    submitted, out = root / "submitted", root / "out"
    put(submitted, "ada", A, solved(A))
    put(submitted, "ada", B, solved(B))
    put(submitted, "bob", B, student_version(B, {"softmax_cross_entropy": WRONG_CE}))
    put(submitted, "José María", A, solved(A))
    put(submitted, "bob", "01_sotfmax", solved(B), name=notebook_name(B))  # a typo
    put(submitted, "ada", B, solved(B), name="softmax-Copy1.ipynb")  # a copy JupyterLab made
    (submitted / "notes.txt").write_text("not a student")

    def again(**options):
        return grade(submitted, out, jobs=2, limits=LIMITS, **options, written=False)

    first = again()
    return {"submitted": submitted, "out": out, "first": first, "again": again}


def test_only_the_lessons_handed_out_count(run):
    first = run["first"]
    assert first.lessons == [A, B]
    ada = [r for r in first.results if r.student == "ada"]
    assert sum(r.score for r in ada) == sum(r.max_score for r in ada) > 0
    assert {r.lesson for r in first.results} == {A, B}
    bob_a = next(r for r in first.results if (r.student, r.lesson) == ("bob", A))
    assert bob_a.score == 0 and bob_a.problem == "missing notebook"  # handed out: still 0
    assert first.submitted == 4 and first.graded == 4


def test_intake_says_what_it_ignored_and_maps_names(run):
    notes = dict(run["first"].notes)
    assert notes["bob/01_sotfmax"] == "not a lesson, ignored: did you mean 01_softmax?"
    assert (
        notes[f"ada/{B}/softmax-Copy1.ipynb"] == "ignored: the notebook must be named softmax.ipynb"
    )
    assert "not a folder" in notes["notes.txt"]
    assert "graded as 'Jose_Maria'" in notes["José María"]
    assert rows(run["out"] / "students.csv") == [{"folder": "José María", "student": "Jose_Maria"}]
    grades = {(r["student"], r["lesson"]): r for r in rows(run["out"] / "grades.csv")}
    assert grades[("Jose_Maria", A)]["score"] == grades[("Jose_Maria", A)]["max_score"]
    report = (run["out"] / "report.html").read_text()
    assert "did you mean 01_softmax?" in report


def test_feedback_is_self_contained_and_ready_to_return(run):
    page = run["out"] / "feedback" / "bob" / B / "softmax.html"
    html = page.read_text()
    assert "<math" in html and "cdnjs" not in html and "white-space: pre-wrap" in html
    with zipfile.ZipFile(run["out"] / "feedback-archives" / "bob.zip") as z:
        assert f"bob/{B}/softmax.html" in z.namelist()


def test_manual_grades_survive_reruns_and_changes_are_flagged_for_review(run):
    out, submitted = run["out"], run["submitted"]
    with Gradebook(db(out), COURSE_ID) as gb:
        grade_ = gb.find_grade("softmax_cross_entropy_test", "softmax", B, "bob")
        grade_.manual_score = 1.5
        comment = gb.find_comment("softmax_cross_entropy", "softmax", B, "bob")
        comment.manual_comment = "Divide by N once: see me after class."
        lowered = gb.find_grade("softmax_test", "softmax", B, "ada")  # passed, lowered by hand
        lowered.manual_score = 1
        gb.db.commit()

    put(submitted, "cy", A, solved(A))  # a late submission
    late = run["again"]()
    assert (late.graded, late.kept) == (1, 4), "only the late notebook is graded again"
    assert not [r for r in late.results if r.pending]
    cells = {(r["student"], r["lesson"], r["grade_id"]): r for r in rows(out / "exercises.csv")}
    assert cells[("bob", B, "softmax_cross_entropy_test")]["score"] == "1.5"
    lowered = cells[("ada", B, "softmax_test")]
    assert lowered["kind"] == "manual grade" and "set by hand" in lowered["message"]
    page = (out / "feedback" / "bob" / B / "softmax.html").read_text()
    assert "see me after class" in page, "feedback is made again with the instructor's comment"

    # bob hands in a new version: what was entered for him is kept, and pending everywhere a
    # grade leaves the machine until the instructor has looked at the new work
    put(submitted, "bob", B, student_version(B, {"softmax_cross_entropy": WRONG_CE + "\n"}))
    changed = run["again"]()
    assert changed.graded == 1
    with Gradebook(db(out), COURSE_ID) as gb:
        kept = gb.find_grade("softmax_cross_entropy_test", "softmax", B, "bob")
        assert kept.manual_score == 1.5 and kept.needs_manual_grade
        assert gb.find_comment("softmax_cross_entropy", "softmax", B, "bob").manual_comment
    bob = _bob_everywhere(out, changed)
    assert bob["result"].pending == bob["grades"]["pending"] == TO_REVIEW
    assert [r for r in changed.results if r.pending] == [bob["result"]]
    assert bob["cell"]["score"] == "0", "the automatic score, not the one given for other work"
    assert bob["canvas"] == bob["moodle"] == "", "left empty: the LMS keeps what it had"
    assert (
        "see me after class" not in bob["page"]
        and "grade for this notebook is pending" in bob["page"]
    )
    assert f"pending: {TO_REVIEW}" in (out / "report.html").read_text()

    # the instructor reviews it in formgrader, whose saving a grade clears nbgrader's mark
    with Gradebook(db(out), COURSE_ID) as gb:
        reviewed = gb.find_grade("softmax_cross_entropy_test", "softmax", B, "bob")
        reviewed.manual_score, reviewed.needs_manual_grade = 1.0, False
        gb.db.commit()
    bob = _bob_everywhere(out, run["again"]())
    assert bob["result"].pending == bob["grades"]["pending"] == ""
    assert bob["cell"]["score"] == "1" and bob["canvas"] == bob["moodle"] == bob["grades"]["score"]
    assert "see me after class" in bob["page"] and "is pending" not in bob["page"]


def _bob_everywhere(out, graded):
    """What every output of a run says of bob's lesson B."""
    canvas = {r["Student"]: r for r in rows(out / "canvas_grades.csv")}
    moodle = {r["ID number"]: r for r in rows(out / "moodle_grades.csv")}
    cells = {(r["student"], r["lesson"], r["grade_id"]): r for r in rows(out / "exercises.csv")}
    return {
        "result": next(r for r in graded.results if (r.student, r.lesson) == ("bob", B)),
        "grades": next(
            r for r in rows(out / "grades.csv") if (r["student"], r["lesson"]) == ("bob", B)
        ),
        "cell": cells[("bob", B, "softmax_cross_entropy_test")],
        "canvas": canvas["bob"][B],
        "moodle": moodle["bob"][B],
        "page": (out / "feedback" / "bob" / B / "softmax.html").read_text(),
    }


def test_an_unchanged_class_is_not_graded_again(run):
    unchanged = run["again"]()
    assert unchanged.graded == 0 and unchanged.kept == unchanged.submitted


def test_the_course_folder_works_with_nbgrader_s_own_commands(run):
    course = run["out"] / "course"
    assert "course_id = 'nn-derivatives'" in (course / "nbgrader_config.py").read_text()
    listed = subprocess.run(
        [str(REPO / ".venv" / "bin" / "nbgrader"), "db", "student", "list"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "ada" in listed.stdout and "No nbgrader_config.py" not in listed.stderr


def test_help_lists_every_option_with_an_example():
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    for option in ("--out", "--jobs", "--lessons", "--db", "--scheduler", "--force", "examples:"):
        assert option in done.stdout


def cli(submitted, out, tmp, *extra):
    """`python -m autograder grade` in its own session, its temporary files in tmp."""
    command = [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out)]
    return subprocess.Popen(
        [*command, "--no-written-questions", *extra],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def test_a_second_run_on_the_same_out_waits_for_the_first(run, tmp_path):
    with open(run["out"] / ".grading.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        second = cli(run["submitted"], run["out"], tmp_path)
        said = second.stdout.readline()  # what it says before it waits
        time.sleep(2)
        assert second.poll() is None, "it must wait while another run holds OUT"
    stdout, _ = second.communicate(timeout=300)
    assert second.returncode == 0
    assert "waiting for it to finish" in said
    assert re.search(r"graded (\d+) of \1 submitted notebooks", stdout), stdout


def _processes_of(tmp):
    """The command lines of the processes that name tmp (the run's own temporary folder)."""
    found = subprocess.run(["pgrep", "-af", str(tmp)], capture_output=True, text=True).stdout
    return found.strip()


def test_ctrl_c_stops_at_once_and_the_next_run_resumes(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    tmp = Path(tempfile.mkdtemp(prefix="t-", dir="/tmp"))  # short: the run's sockets live there
    for i in range(6):
        put(submitted, f"s{i}", A, solved(A))
    first = cli(submitted, out, tmp, "--jobs", "1")
    deadline = time.monotonic() + 240
    while not list((out / "results").glob("*/*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGINT)  # what a terminal sends to the whole group
    started = time.monotonic()
    _, stderr = first.communicate(timeout=60)
    assert time.monotonic() - started < 30, "Ctrl-C must stop the run within seconds"
    assert first.returncode == 130 and "Traceback" not in stderr, stderr
    assert "run the same command again to resume" in stderr
    deadline = time.monotonic() + 10  # killed at once; on a busy machine gone within seconds
    while (left := _processes_of(tmp)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"no kernel or sandbox of the run is left behind: {left}"
    stored = len(list((out / "results").glob("*/*.json")))
    resumed = cli(submitted, out, tmp, "--jobs", "2")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert 1 <= stored < 6 and f"({6 - stored} run now, {stored} unchanged and kept)" in stdout
    grades = rows(out / "grades.csv")
    assert len(grades) == 6 and all(r["score"] == r["max_score"] for r in grades)


def _refused(*args, cwd=REPO):
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and not done.stdout, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_wrong_input_is_refused_in_one_line_with_the_fix(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    put(submitted, "ada", A, solved(A))
    assert "give 1 or more" in _refused(submitted, "--out", out, "--jobs", "0")
    assert "did you mean 04_mlp_backprop?" in _refused(
        submitted, "--out", out, "--lessons", "04_mlp_backprob"
    )
    (tmp_path / "a-file").write_text("")
    assert "is a file" in _refused(submitted, "--out", tmp_path / "a-file")
    assert "looks like an nbgrader course directory" in _refused(tmp_path, "--out", out)
    (tmp_path / "empty").mkdir()
    assert "nothing handed in" in _refused(tmp_path / "empty", "--out", out)
    put(tmp_path / "inverted", A, "ada", solved(A), name="chain_rule.ipynb")
    assert "one folder per student" in _refused(tmp_path / "inverted", "--out", out)
    assert not out.exists(), "nothing is made for a run that is refused"


def test_the_terminal_counts_every_notebook_handed_in(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    put(submitted, "ada", A, solved(A))
    for student in ("bob", "cy"):
        path = submitted / student / A / notebook_name(A)
        path.parent.mkdir(parents=True)
        path.write_text("not a notebook")
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "graded 1 of 3 submitted notebooks" in done.stdout, done.stdout
    assert "2 not readable: 0, see exercises.csv" in done.stdout


def test_a_roster_puts_every_student_in_every_output_with_their_names(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    put(submitted, "ada", A, solved(A))
    put(submitted, "bob", A, solved(A))  # a folder not on the roster
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "student,first_name,last_name,lms_id\n"
        "ada,Ada,Lovelace,u1001\n"
        "zed,Zed,Nobody,u1002\n"  # handed in nothing
    )
    graded = grade(submitted, out, jobs=1, limits=LIMITS, roster=roster, written=False)
    notes = dict(graded.notes)
    assert notes["bob"] == "not on the roster: graded; check the name"
    grades = {(r["student"], r["lesson"]): r for r in rows(out / "grades.csv")}
    assert grades[("zed", A)]["score"] == "0" and grades[("bob", A)]["score"] != "0"
    cells = [r for r in rows(out / "exercises.csv") if r["student"] == "zed"]
    assert cells and all(r["kind"] == "unattempted" for r in cells)
    moodle = {r["ID number"]: r for r in rows(out / "moodle_grades.csv")}
    assert set(moodle) == {"u1001", "u1002", "bob"} and moodle["u1002"][A] == "0"
    assert (out / "feedback" / "zed" / A / "chain_rule.html").is_file()
    with Gradebook(db(out), COURSE_ID) as gb:
        ada = gb.find_student("ada")
        assert (ada.first_name, ada.last_name, ada.lms_user_id) == ("Ada", "Lovelace", "u1001")
    assert "--roster: " in _refused(submitted, "--out", out, "--roster", submitted / "nope.csv")

    # the gradebook's own students (as `nbgrader db student import` adds them) count too
    with Gradebook(db(out), COURSE_ID) as gb:
        gb.add_student("yan", first_name="Yan", last_name="Liu")
    grade(submitted, out, jobs=1, limits=LIMITS, written=False)
    grades = {(r["student"], r["lesson"]): r for r in rows(out / "grades.csv")}
    assert grades[("yan", A)]["score"] == "0" and ("zed", A) in grades


def test_late_work_loses_what_the_policy_says_in_every_output_and_a_new_due_date_counts(
    tmp_path,
):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    for student, handed_in in (("ada", "2026-02-01 12:00:00"), ("bob", "2026-02-03 01:00:00")):
        put(submitted, student, A, solved(A))
        (submitted / student / A / "timestamp.txt").write_text(handed_in)  # nbgrader's collect
    put(submitted, "cy", A, solved(A))  # no timestamp.txt: the file's time, which is now
    due = tmp_path / "due.csv"
    due.write_text(f"lesson,due,per_day,at_most\n{A},2026-02-01 23:59:00 UTC,0.1,0.5\n")
    graded = grade(submitted, out, jobs=1, limits=LIMITS, due=due, written=False)
    results = {r.student: r for r in graded.results}
    full = results["ada"].max_score
    assert results["ada"].score == full and results["ada"].late_by == 0
    # bob: 1 day 1 hour late, two days started: 20% off
    assert results["bob"].penalty == pytest.approx(0.2 * full)
    assert results["cy"].penalty == pytest.approx(0.5 * full), "long after: at most half"
    grades = {r["student"]: r for r in rows(out / "grades.csv")}
    assert grades["bob"]["late_by"] == "1 d 1 h" and grades["ada"]["late_by"] == ""
    assert float(grades["bob"]["score"]) == pytest.approx(0.8 * full)
    moodle = {r["ID number"]: r for r in rows(out / "moodle_grades.csv")}
    assert float(moodle["bob"][A]) == pytest.approx(0.8 * full)
    page = (out / "feedback" / "bob" / A / "chain_rule.html").read_text()
    assert "Handed in 1 d 1 h after the due date" in page
    assert "no timestamp.txt" in dict(graded.notes)[f"cy/{A}"]
    assert "late by 1 d 1 h" in (out / "report.html").read_text()

    # bob is given two days: on time now, nothing is kept of his penalty
    extensions = tmp_path / "extensions.csv"
    extensions.write_text(f"student,lesson,days\nbob,{A},2\n")
    extended = grade(
        submitted, out, jobs=1, limits=LIMITS, due=due, extensions=extensions, written=False
    )
    bob = next(r for r in extended.results if r.student == "bob")
    assert bob.penalty == 0 and bob.score == full

    # then the extension is taken back, and the due date moves two days later for everyone
    due.write_text(f"lesson,due,per_day,at_most\n{A},2026-02-03 23:59:00 UTC,0.1,0.5\n")
    moved = {
        r.student: r
        for r in grade(submitted, out, jobs=1, limits=LIMITS, due=due, written=False).results
    }
    assert moved["bob"].penalty == 0 and moved["bob"].score == full
    assert (
        "after the due date" not in (out / "feedback" / "bob" / A / "chain_rule.html").read_text()
    )
    assert "--due: " in _refused(submitted, "--out", out, "--due", submitted / "nope.csv")


def test_a_lone_misnamed_notebook_is_graded_and_said_so(tmp_path):
    submitted, out = tmp_path / "submitted", tmp_path / "out"
    put(submitted, "ada", A, solved(A), name="chain_rule-Copy1.ipynb")  # the only copy
    put(submitted, "bob", A, solved(A), name="Chain_Rule.ipynb")
    put(submitted, "bob", A, solved(A), name="chain_rule (2).ipynb")  # two: which one?
    graded = grade(submitted, out, jobs=1, limits=LIMITS, written=False)
    scores = {r.student: r.score == r.max_score > 0 for r in graded.results}
    assert scores == {"ada": True, "bob": False}
    notes = dict(graded.notes)
    assert (
        notes[f"ada/{A}/chain_rule-Copy1.ipynb"]
        == "graded as chain_rule.ipynb: the only notebook in its folder"
    )
    assert "must be named" in notes[f"bob/{A}/Chain_Rule.ipynb"]
