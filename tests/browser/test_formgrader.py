"""Formgrader on a graded class, started by `python -m autograder formgrader OUT`, in Chromium
with every request off this machine refused: it opens OUT/course with no exchange warning,
shows the submissions with the roster's names and their maths typeset, and a manual grade
entered there survives a rerun of the grading command."""

import pytest
from nbgrader.api import Gradebook

from autograder.course import COURSE_ID
from autograder.grade import grade
from autograder.run.sandbox import Limits
from tests.browser.lab import ARTIFACTS, KERNEL_TIMEOUT, UI_TIMEOUT, JupyterLab
from tests.browser.test_offline_maths import MATHJAX_DONE
from tests.test_grading import student_version
from tests.test_workflow import WRONG_CE, put

LESSON = "01_softmax"
LIMITS = Limits(cell_seconds=10, notebook_seconds=60)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("formgrader")
    submitted, out = root / "submitted", root / "out"
    put(submitted, "bob", LESSON, student_version(LESSON, {"softmax_cross_entropy": WRONG_CE}))
    roster = root / "roster.csv"
    roster.write_text("student,first_name,last_name,lms_id\nbob,Bob,Builder,u7\n")
    grade(submitted, out, jobs=1, limits=LIMITS, roster=roster)
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
            page.wait_for_function(MATHJAX_DONE, timeout=KERNEL_TIMEOUT, polling=100)
            assert page.locator("mjx-container").count() > 0, "the lesson's maths is typeset"
            assert page.locator("mjx-merror").count() == 0
            assert not [url for url in refused if "mathjax" in url.lower()], refused
            with page.expect_response(lambda r: "/api/grade/" in r.url and r.ok):
                score.fill("1.5")
                score.press("Tab")  # formgrader saves on change
            page.screenshot(path=str(ARTIFACTS / "formgrader-manual-grade.png"))
            log = lab.log_path.read_text()
            assert "Unwritable directory" not in log and "exchange" not in log.lower(), log
    finally:
        page.close()

    rerun = grade(submitted, out, jobs=1, limits=LIMITS)
    cell = next(
        c
        for r in rerun.results
        for c in r.cells
        if (r.student, c.grade_id) == ("bob", "softmax_cross_entropy_test")
    )
    assert cell.score == 1.5, "the manual grade entered in formgrader is kept"
    html = (out / "feedback" / "bob" / LESSON / "softmax.html").read_text()
    assert "1.5 / 3" in html or "1.5" in html
