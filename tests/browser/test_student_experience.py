"""The student's experience between the self-checks (issue 18), in the lab `make lab` gives.

Lesson 04 in JupyterLab, in headless Chromium: Run All on the untouched lesson and the
progress list, a demo cell run before its exercise is done, a shape error, a slider dragged
in an interactive figure, and the menus of the student's lab. One more test runs every
lesson's student version through nbclient: each cell that needs an unfinished exercise
says so in one line. Screenshots go to artifacts/browser/.
"""

import linecache
import re
import shutil
import subprocess

import nbformat
import numpy as np
import pytest
from playwright.sync_api import expect

from autograder.course import LESSONS, kernel_config, lesson_ids, notebook_name
from autograder.notebooks import exercises, graded_cells, nbgrader_meta
from gradlab.checking import CheckFailed
from tests.browser.lab import (
    ARTIFACTS,
    KERNEL_TIMEOUT,
    REPO,
    STUDENT_LAB,
    UI_TIMEOUT,
    JupyterLab,
    LabNotebook,
    cell_index,
    copy_lesson,
    open_lab,
    solution_source,
    visible_test_source,
)
from tests.test_notebooks import Client

LESSON = "04_mlp_backprop"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# the classic slip of the dense layer's backward pass: x @ dout has no shape (5, 3)
WRONG_AFFINE_BACKWARD = """def affine_backward(dout, cache):
    x, W, b = cache
    dx = dout @ W.T
    dW = x @ dout
    db = dout.sum(axis=0)
    return dx, dW, db
"""
# what a cell that needs an unfinished exercise says (gradlab.notebook)
UNFINISHED = re.compile(r"^this cell uses `\w+`.*, which is not (implemented|defined) yet")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The student's lab (`make lab`'s configuration) on an empty temporary folder."""
    root = tmp_path_factory.mktemp("student-lab-root")
    server = JupyterLab(root, tmp_path_factory.mktemp("student-lab-state"), [STUDENT_LAB])
    with server:
        yield server
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "student-lab.log").write_text(server.log_tail(lines=400))


@pytest.fixture(scope="module")
def page(lab, chromium):
    page = open_lab(chromium, lab)
    # the notebook gets the whole width, as on a laptop with the file browser closed
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    yield page
    page.close()


@pytest.fixture
def lesson(lab, page, request):
    """A fresh copy of lesson 04 open in the lab, its kernel idle; closed afterwards."""
    path = copy_lesson(LESSON, lab.root, folder=request.node.name)
    notebook = LabNotebook.open(page, path)
    notebook.file = lab.root / path
    notebook.exercises = exercises(nbformat.read(notebook.file, as_version=4))
    yield notebook
    notebook.close()


def progress_cell(notebook):
    return cell_index(notebook.file, containing="progress()")


def demo_cell(notebook, text):
    return cell_index(notebook.file, containing=text)


def one_line(notebook, index):
    """The error a cell shows, which must be one line and no traceback."""
    text = notebook.wait_for_output(index, "this cell uses").strip()
    assert "\n" not in text, text
    for traceback_word in ("Traceback", "NotImplementedError", "File ", "widgets.py", "---->"):
        assert traceback_word not in text, text
    return text


def scroll_to_output(notebook, index, block="center"):
    notebook.cell(index).locator(".jp-Cell-outputArea").evaluate(
        f"node => node.scrollIntoView({{block: '{block}'}})"
    )


def check_diagnosis(notebook_file, grade_id, source):
    """The first line of what the self-check of grade_id says about source, computed here
    with the lesson's own test cell."""
    namespace = {"np": np}
    filename = f"<{grade_id}>"  # a cell's lines are known, as IPython's are: it quotes them
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)
    with pytest.raises(CheckFailed) as failure:
        exec(visible_test_source(notebook_file, f"{grade_id}_test"), namespace)
    return str(failure.value).splitlines()[0]


def test_run_all_on_the_untouched_lesson_stops_at_exercise_1_and_the_progress_list_says_so(
    lesson,
):
    lesson.run_all()
    first_check = cell_index(lesson.file, f"{lesson.exercises[0]}_test")
    assert "not implemented yet" in lesson.wait_for_output(first_check, "CheckFailed")
    # the self-check that failed is in view (JupyterLab alone shows the bottom), and nothing
    # below it has run
    expect(lesson.cell(first_check)).to_be_in_viewport(timeout=UI_TIMEOUT)
    lesson.screenshot("after-run-all-untouched")
    later = lesson.page.evaluate(
        "i => window.jupyterapp.shell.currentWidget.content.widgets.slice(i + 1)"
        ".filter(w => w.model.type === 'code').map(w => w.model.executionCount)",
        first_check,
    )
    assert later and all(count is None for count in later)

    progress = progress_cell(lesson)
    text = lesson.wait_for_output(progress, "Next: Exercise 1")
    total = sum(cell.points for cell in graded_cells(nbformat.read(lesson.file, as_version=4)))
    assert f"0 of {len(lesson.exercises)} exercises" in text
    assert f"0 of {total:g} points" in text
    assert "Run All stops at its self-check" in text
    for number, name in enumerate(lesson.exercises, start=1):
        assert re.search(rf"Exercise {number}, {name}\s+\d+ points?\s+not started", text), text
    lesson.cell(progress - 1).evaluate("node => node.scrollIntoView({block: 'start'})")
    lesson.screenshot("after-run-all-untouched-progress")
    # its exercises are links to their headings
    first = f"Exercise 1, {lesson.exercises[0]}"
    lesson.cell(progress).get_by_role("link", name=first).first.click()
    expect(lesson.page.locator("h3").filter(has_text=first.replace(",", ":"))).to_be_in_viewport()

    # Exercise 1 answered: the next Run All goes one exercise further, and the list follows
    lesson.type_into(
        cell_index(lesson.file, lesson.exercises[0]),
        solution_source(LESSON, lesson.exercises[0]),
    )
    lesson.run_all()
    text = lesson.wait_for_output(progress, "Next: Exercise 2")
    assert f"1 of {len(lesson.exercises)} exercises" in text
    assert re.search(rf"Exercise 1, {lesson.exercises[0]}\s+\d+ points?\s+done", text), text


def test_demo_plot_and_widget_cells_before_their_exercise_say_so_in_one_line(lesson):
    setup = cell_index(lesson.file, "setup")
    lesson.run_cell(setup)
    gradient_check = demo_cell(lesson, "X_check = np.random")
    lesson.run_cell(gradient_check)  # before its exercise's cell has run
    assert "`mlp_loss` (Exercise 8), which is not defined yet" in one_line(lesson, gradient_check)

    # as a student who runs the cells one by one, the stubs untouched
    for name in lesson.exercises:
        lesson.run_cell(cell_index(lesson.file, name))
    worked = demo_cell(lesson, "x = np.array([[1.0, -2.0]])")
    lesson.run_cell(worked)
    assert one_line(lesson, worked) == (
        "this cell uses `affine_forward` (Exercise 1), which is not implemented yet"
    )
    scroll_to_output(lesson, worked)
    lesson.screenshot("after-demo-cell-before-its-exercise")
    # the next cell needs what the worked example would have computed
    path_sum = demo_cell(lesson, "def hand_net_loss")
    lesson.run_cell(path_sum)
    assert "which a cell above could not compute: it needs `affine_forward`" in one_line(
        lesson, path_sum
    )

    lesson.run_cell(gradient_check)
    assert "`mlp_loss` (Exercise 8), which is not implemented yet" in one_line(
        lesson, gradient_check
    )
    scroll_to_output(lesson, gradient_check)
    lesson.screenshot("after-gradient-check-before-its-exercise")
    training = demo_cell(lesson, "X_train, y_train = spirals")
    widget = demo_cell(lesson, "interactive_figure(")
    lesson.run_cell(training)
    lesson.run_cell(widget)
    assert "`mlp_loss` (Exercise 8), which is not implemented yet" in one_line(lesson, widget)
    scroll_to_output(lesson, widget)
    lesson.screenshot("after-widget-cell-before-its-exercise")


def test_a_shape_error_shows_the_self_checks_diagnosis_and_the_progress_list_has_it(lesson):
    first, second = lesson.exercises[:2]
    diagnosis = check_diagnosis(lesson.file, second, WRONG_AFFINE_BACKWARD)
    lesson.type_into(cell_index(lesson.file, first), solution_source(LESSON, first))
    lesson.type_into(cell_index(lesson.file, second), WRONG_AFFINE_BACKWARD)
    lesson.run_all()

    check = cell_index(lesson.file, f"{second}_test")
    output = lesson.wait_for_output(check, "CheckFailed")
    assert diagnosis in output and "Traceback" not in output
    scroll_to_output(lesson, check)
    lesson.screenshot("after-shape-error")

    progress = progress_cell(lesson)
    text = lesson.wait_for_output(progress, "Next: Exercise 2")
    assert f"failing: {diagnosis}" in text
    assert re.search(rf"Exercise 1, {first}\s+\d+ points?\s+done", text), text
    # run again, the list runs every self-check itself: the same verdicts
    lesson.run_cell(progress)
    assert f"failing: {diagnosis}" in lesson.wait_for_output(progress, "Next: Exercise 2")
    lesson.cell(progress - 1).evaluate("node => node.scrollIntoView({block: 'start'})")
    lesson.screenshot("after-shape-error-progress")

    # nbgrader's Validate runs the notebook, progress cell and all, and names the mistake
    dialog = lesson.validate()
    assert diagnosis in dialog.inner_text()
    lesson.screenshot("after-shape-error-validate")
    lesson.close_dialog()


# records what the figure's output shows and the status beside it, at every change
_WATCH = """figure => {
    const seen = window.gradlabSeen = [];
    const status = figure.querySelector(".gradlab-status");
    const output = figure.querySelector(".widget-output");
    const record = () => {
        const image = output.querySelector("img");
        const src = image ? image.src : "";
        seen.push({status: status.textContent, image: src.length + ":" + src.slice(-40)});
    };
    const observer = new MutationObserver(record);
    for (const node of [status, output]) {
        observer.observe(node, {subtree: true, childList: true, characterData: true,
            attributes: true, attributeFilter: ["src"]});
    }
}"""


def test_a_dragged_slider_redraws_once_on_release_and_never_beside_a_stale_figure(lesson):
    for name in lesson.exercises:
        lesson.type_into(cell_index(lesson.file, name), solution_source(LESSON, name))
    lesson.run_all()
    widget = demo_cell(lesson, "interactive_figure(")
    figure = lesson.cell(widget).locator(".jp-Cell-outputArea")
    figure.locator(".widget-output img").wait_for(timeout=KERNEL_TIMEOUT)
    scroll_to_output(lesson, widget, block="start")

    # every label is shown whole
    labels = figure.locator(".widget-label:not(.gradlab-status)")
    expect(labels.filter(has_text="learning rate")).to_have_count(1)
    for i in range(labels.count()):
        assert labels.nth(i).evaluate("n => n.scrollWidth <= n.clientWidth"), labels.nth(i)
    lesson.screenshot("after-widget-labels")

    status = figure.locator(".gradlab-status")
    image = figure.locator(".widget-output img")
    before = image.get_attribute("src")
    slider = figure.locator(".widget-slider").first
    readout = slider.locator(".widget-readout")
    assert readout.inner_text() == "16"
    figure.evaluate(_WATCH)

    handle = slider.locator(".noUi-handle").bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    lesson.page.mouse.move(x, y)
    lesson.page.mouse.down()
    for step in range(1, 16):  # from 16 down to 2, past 8 and 4
        lesson.page.mouse.move(x - 12 * step, y)
        lesson.page.wait_for_timeout(50)
    expect(readout).to_have_text("2")
    lesson.page.wait_for_timeout(500)
    assert lesson.page.evaluate("() => window.gradlabSeen.length") == 0, "no redraw while dragging"
    lesson.page.mouse.up()

    # the status says so while the kernel redraws, which can be shorter than a poll: the
    # watcher records every state it had
    lesson.page.wait_for_function(
        "() => window.gradlabSeen.some(s => s.status === 'updating\u2026')",
        timeout=KERNEL_TIMEOUT,
    )
    lesson.screenshot("after-widget-released")
    expect(status).to_have_text("", timeout=KERNEL_TIMEOUT)
    lesson.wait_idle()
    lesson.screenshot("after-widget-redrawn")
    seen = lesson.page.evaluate("() => window.gradlabSeen")
    final = seen[-1]["image"]
    assert image.get_attribute("src") != before
    starts = [
        i for i, s in enumerate(seen) if s["status"] and (i == 0 or not seen[i - 1]["status"])
    ]
    assert len(starts) == 1, f"one redraw on release: {seen}"
    shown_without_status = {s["image"] for s in seen if not s["status"]}
    assert shown_without_status == {final}, f"a figure shown as current is the new one: {seen}"


def test_a_lesson_opens_saved(lesson):
    """A student who opens a lesson and closes it is not asked to save what they did not
    change: the kernel's language_info, which JupyterLab writes into the notebook when the
    kernel starts, is already the notebook's."""
    lesson.page.wait_for_timeout(1000)  # the kernel's info has arrived (the kernel is idle)
    dirty = lesson.page.evaluate(
        "path => window.jupyterapp.shell.currentWidget.context.model.dirty", lesson.path
    )
    assert dirty is False


def test_the_student_lab_has_no_instructor_tools(lab, page, lesson):
    # `make lab` starts the lab on this configuration
    dry_run = subprocess.run(
        ["make", "-n", "lab"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert f"JUPYTER_CONFIG_PATH={STUDENT_LAB}" in dry_run

    expect(lesson.toolbar_button("Validate")).to_be_visible()
    commands = page.evaluate(
        "() => ['open-assignment-list', 'open-formgrader', 'open-course-list', "
        "'open-create-assignment'].filter(c => window.jupyterapp.commands.hasCommand("
        "'nbgrader:' + c))"
    )
    assert commands == ["open-assignment-list"]
    sidebars = page.locator(".jp-SideBar .lm-TabBar-tab").all_inner_texts()
    assert not any("Create Assignment" in tab for tab in sidebars), sidebars

    page.locator(".lm-MenuBar-itemLabel").filter(has_text="Nbgrader").first.click()
    items = page.locator(".lm-Menu:not(.lm-MenuBar) .lm-Menu-item:not(.lm-mod-hidden)")
    expect(items.first).to_be_visible()
    assert [t.strip() for t in items.all_inner_texts()] == ["Assignment List"]
    lesson.screenshot("after-student-lab-menus")
    page.keyboard.press("Escape")
    for url in ("formgrader", "formgraders"):  # formgrader and the course list's server part
        response = page.request.get(lab.url(url))
        assert response.status == 404, url


@pytest.mark.parametrize("lesson_id", lesson_ids())
def test_every_cell_that_needs_an_unfinished_exercise_says_so_in_one_line(lesson_id, tmp_path):
    """The student version run top to bottom, every error allowed (nbclient, no browser):
    every cell that is not a self-check fails, if at all, with the one line."""
    name = notebook_name(lesson_id)
    shutil.copy(LESSONS / lesson_id / name, tmp_path / name)
    nb = nbformat.read(tmp_path / name, as_version=4)
    Client(
        nb,
        timeout=120,
        allow_errors=True,
        config=kernel_config(tmp_path),
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    failed = 0
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade"):
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                text = ANSI.sub("", "\n".join(output.traceback))
                assert UNFINISHED.match(text) and "\n" not in text, f"{cell.source[:200]}\n{text}"
                failed += 1
    assert failed, "the lesson has cells that need its exercises"
