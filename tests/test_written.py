"""Written questions, nbgrader's way: a "manually graded answer" cell per question, its model
answer and rubric in source/ (and in solutions/, for self-learners), "YOUR ANSWER HERE" in
the student's version; graded by hand in formgrader, pending until then everywhere a grade
leaves the machine; left out of a class's grades, and out of its totals, with one option.
"""

import csv
import re

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.course import COURSE_ID, LESSONS, SOLUTIONS, lesson_ids, notebook_name
from autograder.grade import grade
from autograder.notebooks import is_written, nbgrader_meta, source_notebook, written_questions
from autograder.outputs import lms
from autograder.record.manual import TO_GRADE, WRITTEN_KIND
from autograder.run.sandbox import Limits
from tests.test_grading import solved, student_version
from tests.test_workflow import grader_version_fixed, put

LIMITS = Limits(cell_seconds=10, notebook_seconds=60)
LESSON = "01_softmax"
RUBRIC_LINE = re.compile(r"^- (\d+(?:\.\d+)?) points?:", re.M)


def _written_cells(nb):
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells if is_written(c)}


@pytest.mark.parametrize("lesson", lesson_ids())
def test_every_lesson_asks_written_questions_with_a_model_answer_and_a_rubric(lesson):
    questions = written_questions(source_notebook(lesson))
    assert 1 <= len(questions) <= 3, [q.grade_id for q in questions]
    for q in questions:
        assert q.grade_id.startswith("written_") and 1 <= q.points <= 2
        assert q.question.startswith("### Written question:"), q.question[:80]
        assert f"({q.points:g} point" in q.question.splitlines()[0]
        model, _, rubric = q.answer.partition("**Rubric")
        assert model.startswith("**Model answer.**") and len(model.split()) >= 20, model
        points = sum(float(p) for p in RUBRIC_LINE.findall(rubric))
        assert points == q.points, f"{q.grade_id}: the rubric gives {points} of {q.points}"


@pytest.mark.parametrize("lesson", lesson_ids())
def test_the_student_sees_the_question_not_the_answer_and_the_self_learner_both(lesson):
    questions = written_questions(source_notebook(lesson))
    student = _written_cells(nbformat.read(LESSONS / lesson / notebook_name(lesson), 4))
    solution = _written_cells(nbformat.read(SOLUTIONS / lesson / notebook_name(lesson), 4))
    for q in questions:
        assert student[q.grade_id].source.strip() == "YOUR ANSWER HERE"
        assert "SOLUTION" not in solution[q.grade_id].source
        assert solution[q.grade_id].source.strip() == q.answer


def _answered(lesson, text):
    nb = solved(lesson)
    for cell in _written_cells(nb).values():
        cell.source = text
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """ada solves lesson 01 and answers its written questions; dee hands in the student
    version; cy hands in nothing."""
    with grader_version_fixed():
        yield _graded_class(tmp_path_factory)


def _graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("written")
    submitted, out = root / "submitted", root / "out"
    put(submitted, "ada", LESSON, _answered(LESSON, "The gradient is p - y because..."))
    put(submitted, "dee", LESSON, student_version(LESSON))
    put(submitted, "cy", "00_chain_rule", student_version("00_chain_rule"))
    first = grade(submitted, out, jobs=2, limits=LIMITS, lessons=[LESSON])
    return submitted, out, first


def _by_student(graded_run):
    return {r.student: r for r in graded_run.results}


def _rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_an_answer_is_pending_until_graded_by_hand_and_an_unanswered_one_is_zero(graded):
    _, out, first = graded
    points = sum(q.points for q in written_questions(source_notebook(LESSON)))
    ada, dee, cy = (_by_student(first)[s] for s in ("ada", "dee", "cy"))
    assert ada.pending == TO_GRADE and ada.score == ada.max_score - points
    written = [c for c in ada.cells if c.grade_id.startswith("written_")]
    assert written and all(c.kind == WRITTEN_KIND and c.message == TO_GRADE for c in written)
    # nothing to grade: nbgrader scores an answer left as handed out 0, and nothing waits
    assert dee.pending == "" and all(
        c.message == "unanswered" for c in dee.cells if c.grade_id.startswith("written_")
    )
    assert cy.problem == "missing notebook" and cy.pending == ""
    grades = {r["student"]: r for r in _rows(out / "grades.csv")}
    assert grades["ada"]["pending"] == TO_GRADE and grades["dee"]["pending"] == ""
    canvas = {r["SIS User ID"]: r for r in _rows(out / lms.CANVAS) if r.get("SIS User ID")}
    assert canvas["ada"][LESSON] == "" and canvas["dee"][LESSON] != ""
    report = (out / "report.html").read_text()
    section = report[report.index('id="written"') : report.index('id="flagged"')]
    for q in written_questions(source_notebook(LESSON)):
        assert q.grade_id in section and "Rubric" in section
    assert "1</td>" in section  # one answer to grade


def test_a_grade_given_by_hand_counts_once_entered(graded):
    submitted, out, _ = graded
    db = f"sqlite:///{out / 'course' / 'gradebook.db'}"
    questions = written_questions(source_notebook(LESSON))
    with Gradebook(db, COURSE_ID) as gb:  # what formgrader does when a score is saved
        for q in questions:
            g = gb.find_grade(q.grade_id, notebook_name(LESSON)[:-6], LESSON, "ada")
            g.manual_score, g.needs_manual_grade = q.points - 1, False
        gb.db.commit()
    again = _by_student(grade(submitted, out, jobs=2, limits=LIMITS, lessons=[LESSON]))
    ada = again["ada"]
    assert ada.pending == "" and ada.score == ada.max_score - len(questions)
    assert all(
        c.message.endswith("set by hand in formgrader")
        for c in ada.cells
        if c.grade_id.startswith("written_") and c.score < c.max_score
    )
    page = out / "feedback" / "ada" / LESSON / notebook_name(LESSON).replace("ipynb", "html")
    assert "The gradient is p - y because" in page.read_text()


def test_an_out_keeps_its_choice_and_leaving_them_out_takes_their_points_out(graded, tmp_path):
    submitted, out, first = graded
    with pytest.raises(SystemExit, match="grade into a new --out"):
        grade(submitted, out, jobs=1, limits=LIMITS, lessons=[LESSON], written=False)
    without = _by_student(
        grade(submitted, tmp_path / "out", jobs=2, limits=LIMITS, lessons=[LESSON], written=False)
    )
    points = sum(q.points for q in written_questions(source_notebook(LESSON)))
    with_them = _by_student(first)
    assert without["ada"].max_score == with_them["ada"].max_score - points
    assert without["ada"].score == without["ada"].max_score and without["ada"].pending == ""
    assert not [c for c in without["ada"].cells if c.grade_id.startswith("written_")]
