"""Formgrader on a graded class, started by `python -m autograder formgrader OUT`, in Chromium
with every request off this machine refused: it opens OUT/course with no exchange warning,
shows the submissions with the roster's names and their maths typeset, and the written
answer to grade; a manual grade entered there survives a rerun of the grading command, and
the written answer's grade ends the pending."""

import pytest
from nbgrader.api import Gradebook

from autograder.course import COURSE_ID
from autograder.grade import grade
from autograder.notebooks import is_written, nbgrader_meta
from autograder.record.manual import TO_GRADE
from autograder.run.sandbox import Limits
from tests.browser.lab import ARTIFACTS, KERNEL_TIMEOUT, UI_TIMEOUT, JupyterLab
from tests.browser.test_offline_maths import MATHJAX_DONE
from tests.test_grading import student_version
from tests.test_workflow import WRONG_CE, put

LESSON = "01_softmax"
LIMITS = Limits(cell_seconds=10, notebook_seconds=60)
ANSWERED = "written_01_max_shift"  # bob answers this written question, not the other


def _bob():
    nb = student_version(LESSON, {"softmax_cross_entropy": WRONG_CE})
    for cell in nb.cells:
        if is_written(cell) and nbgrader_meta(cell)["grade_id"] == ANSWERED:
            cell.source = "Subtracting the max keeps every exponent at most 0: no overflow."
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("formgrader")
    submitted, out = root / "submitted", root / "out"
    put(submitted, "bob", LESSON, _bob())
    roster = root / "roster.csv"
    roster.write_text("student,first_name,last_name,lms_id\nbob,Bob,Builder,u7\n")
    first = grade(submitted, out, jobs=1, limits=LIMITS, roster=roster)
    assert first.results[0].pending == TO_GRADE
    return submitted, out, root


def db(out):
    return f"sqlite:///{out / 'course' / 'gradebook.db'}"


def test_a_manual_grade_entered_in_formgrader_survives_a_rerun(chromium, graded):
    submitted, out, root = graded
    with Gradebook(db(out), COURSE_ID) as gb:
        notebook_id = gb.find_submission_notebook("softmax", LESSON, "bob").id
    page = chromium.new_page()
    refused = []

    def only_this_machine(route):
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_machine)
    try:
        # started as an instructor starts it
        with JupyterLab(out / "course", root / "lab-state", formgrader_of=out) as lab:
            # formgrader's own requests carry no token from the URL: every request does
            page.set_extra_http_headers({"Authorization": f"token {lab.token}"})
            page.goto(lab.url(f"formgrader/manage_submissions/{LESSON}"))
            page.get_by_text("bob", exact=True).first.wait_for(timeout=KERNEL_TIMEOUT)
            assert page.get_by_text("Builder, Bob").count() > 0, "the roster's names are shown"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "formgrader-submissions.png"))

            page.goto(lab.url(f"formgrader/submissions/{notebook_id}/"))
            score = page.locator("input.score#softmax_cross_entropy_test")
            score.wait_for(timeout=UI_TIMEOUT)
            # the lesson's maths is MathML (autograder.outputs.mathml), typeset offline
            assert page.locator("math").count() > 0, "the lesson's maths is typeset"
            page.wait_for_function(MATHJAX_DONE, timeout=KERNEL_TIMEOUT, polling=100)
            assert page.locator("mjx-merror").count() == 0
            assert not [url for url in refused if "mathjax" in url.lower()], refused
            with page.expect_response(lambda r: "/api/grade/" in r.url and r.ok):
                score.fill("1.5")
                score.press("Tab")  # formgrader saves on change
            # the written answer is shown, with its own score to give
            assert page.get_by_text("no overflow").count() > 0
            written = page.locator(f"input.score#{ANSWERED}")
            with page.expect_response(lambda r: "/api/grade/" in r.url and r.ok):
                written.fill("2")
                written.press("Tab")
            page.screenshot(path=str(ARTIFACTS / "formgrader-manual-grade.png"))
            log = lab.log_path.read_text()
            assert "Unwritable directory" not in log and "exchange" not in log.lower(), log
    finally:
        page.close()

    rerun = grade(submitted, out, jobs=1, limits=LIMITS)
    cells = {c.grade_id: c for c in rerun.results[0].cells}
    assert cells["softmax_cross_entropy_test"].score == 1.5, "the manual grade is kept"
    assert cells[ANSWERED].score == 2 and rerun.results[0].pending == "", "graded by hand"
    html = (out / "feedback" / "bob" / LESSON / "softmax.html").read_text()
    assert "1.5 / 3" in html or "1.5" in html
