"""A student's session in JupyterLab, driven through headless Chromium.

One JupyterLab server runs on a temporary folder for the whole module; each test opens its
own copy of a lesson in a new tab, types into cells, runs them from the menu and reads what
the page shows. Screenshots go to artifacts/browser/ (kept by CI).
"""

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from autograder.notebooks import source_notebook, written_questions
from gradlab.checking import CheckFailed
from tests.browser.lab import (
    ARTIFACTS,
    KERNEL_TIMEOUT,
    JupyterLab,
    LabNotebook,
    cell_index,
    copy_lesson,
    open_lab,
    solution_source,
    visible_test_source,
)

LESSON = "01_softmax"
EXERCISE = "softmax"
EXERCISES = ("softmax", "softmax_jacobian", "softmax_cross_entropy")
WRITTEN = [q.grade_id for q in written_questions(source_notebook(LESSON))]
# the classic slip: one normalisation over the whole batch instead of one per row
WRONG_SOFTMAX = "def softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab on an empty temporary folder, for the whole module."""
    root = tmp_path_factory.mktemp("lab-root")
    server = JupyterLab(root, tmp_path_factory.mktemp("lab-state"))
    with server:
        yield server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "jupyterlab.log").write_text(server.log_tail(lines=400))


@pytest.fixture(scope="module")
def page(lab, chromium):
    """One browser tab with JupyterLab loaded, for the whole module."""
    page = open_lab(chromium, lab)
    yield page
    page.close()


@pytest.fixture
def lesson(lab, page, request):
    """A fresh copy of the lesson open in the lab, its kernel idle.

    Afterwards the page is saved as artifacts/browser/<test name>.png and the notebook
    closed with its kernel, so that each test starts from the student version.
    """
    path = copy_lesson(LESSON, lab.root, folder=request.node.name)
    notebook = LabNotebook.open(page, path)
    notebook.file = lab.root / path
    yield notebook
    try:
        notebook.screenshot(request.node.name)
    finally:
        notebook.close()


def expected_diagnosis(notebook_file, wrong_source):
    """What the exercise's self-check says first about wrong_source (its brief message: what
    is wrong and where, the hint held back), computed here by running the lesson's own test
    cell on that code."""
    namespace = {"np": np}
    exec(wrong_source, namespace)
    with pytest.raises(CheckFailed) as failure:
        exec(visible_test_source(notebook_file, f"{EXERCISE}_test"), namespace)
    return failure.value.brief.splitlines()[0]


def answer_every_exercise(notebook):
    for grade_id in EXERCISES:
        notebook.type_into(cell_index(notebook.file, grade_id), solution_source(LESSON, grade_id))


def test_a_correct_answer_passes_its_self_check(lesson):
    exercise = cell_index(lesson.file, EXERCISE)
    check = cell_index(lesson.file, f"{EXERCISE}_test")
    assert "raise NotImplementedError()" in lesson.source(exercise), "the student version"
    expect(lesson.toolbar_button("Validate")).to_be_visible()  # nbgrader's extension is on

    lesson.type_into(exercise, solution_source(LESSON, EXERCISE))
    lesson.run_all()

    output = lesson.wait_for_output(check, "passed")
    assert f"\u2714 {EXERCISE} passed" in output
    assert "Error" not in output and "Traceback" not in output
    lesson.cell(check).scroll_into_view_if_needed()
    lesson.screenshot("self-check-passed")


def test_a_wrong_answer_shows_its_diagnosis_in_the_notebook_and_in_validate(lesson):
    diagnosis = expected_diagnosis(lesson.file, WRONG_SOFTMAX)
    check = cell_index(lesson.file, f"{EXERCISE}_test")

    lesson.type_into(cell_index(lesson.file, EXERCISE), WRONG_SOFTMAX)
    lesson.run_all()

    output = lesson.wait_for_output(check, "CheckFailed")
    assert diagnosis in output
    assert "passed" not in output
    lesson.cell(check).locator(".jp-OutputArea-output").last.evaluate(
        "node => node.scrollIntoView({block: 'end'})"
    )
    lesson.screenshot("self-check-failed")

    dialog = lesson.validate()
    expect(dialog.locator("#validation-message")).to_have_class(
        re.compile(r"\bvalidation-failed\b")
    )
    assert diagnosis in dialog.inner_text()
    lesson.screenshot("validate-failed")
    lesson.close_dialog()


def test_the_widget_redraws_its_figure_when_moved(lesson):
    answer_every_exercise(lesson)
    lesson.run_all()
    for grade_id in EXERCISES:
        lesson.wait_for_output(cell_index(lesson.file, f"{grade_id}_test"), "passed")

    figure = lesson.cells.filter(has=lesson.page.locator(".widget-slider")).first
    figure.scroll_into_view_if_needed()
    sliders = figure.locator(".widget-slider")
    expect(sliders).to_have_count(3)
    # one output bundle holds the widget and a PNG: JupyterLab shows the widget alone
    image = figure.locator(".widget-output img")
    expect(figure.locator("img")).to_have_count(1)
    expect(image).to_have_attribute("src", re.compile(r"^data:image/png;base64,."))

    first_frame = image.get_attribute("src")
    readout = sliders.first.locator(".widget-readout")
    before = readout.inner_text()
    sliders.first.locator(".noUi-handle").focus()
    for _ in range(5):
        lesson.page.keyboard.press("ArrowRight")
    expect(readout).not_to_have_text(before)
    expect(image).not_to_have_attribute("src", first_frame, timeout=KERNEL_TIMEOUT)
    lesson.screenshot("widget")

    moved = image.get_attribute("src")
    dropdown = figure.locator(".widget-dropdown select")
    dropdown.select_option(label="0")
    expect(image).not_to_have_attribute("src", moved, timeout=KERNEL_TIMEOUT)


def test_validate_passes_a_complete_notebook(lesson):
    answer_every_exercise(lesson)
    # and the written questions: nbgrader's Validate lists an answer left as handed out
    for grade_id in WRITTEN:
        lesson.type_into(cell_index(lesson.file, grade_id), "My answer, in my own words.")
    dialog = lesson.validate()
    message = dialog.locator("#validation-message")
    expect(message).to_have_class(re.compile(r"\bvalidation-success\b"))
    expect(message).to_contain_text("Success! Your notebook passes all the tests.")
    lesson.screenshot("validate-passed")
    lesson.close_dialog()
