"""Take the README's screenshots: JupyterLab in headless Chromium, driven like a student.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Writes lesson.png (a lesson open in JupyterLab), widget.png (an interactive figure),
self-check-failure.png (a wrong answer and its diagnosis) and, when the grading command
exists, class-report.png (the instructor's report of a tiny graded class). It uses the same
helpers as the browser tests (tests/browser/lab.py), on a temporary copy of lessons/.
"""

import argparse
import importlib.util
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: make the repository importable

import nbformat  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser.lab import (  # noqa: E402
    KERNEL_TIMEOUT,
    JupyterLab,
    LabNotebook,
    cell_index,
    launch_chromium,
    open_lab,
    solution_source,
)

LESSON = "01_softmax"
EXERCISES = ("softmax", "softmax_jacobian", "softmax_cross_entropy")
WRONG_SOFTMAX = "def softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"
MAX_BYTES = 300_000  # keep the repository light: a README image stays under this


def save(page, path):
    """Screenshot the page into path, as a palette PNG if the full-colour one is too big."""
    png = page.screenshot()
    if len(png) > MAX_BYTES:
        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        png = buffer.getvalue()
    path.write_bytes(png)
    print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {len(png) // 1024} KB")


def scroll_to(locator, block="start"):
    locator.evaluate(f"node => node.scrollIntoView({{block: '{block}'}})")


def notebook_path(lesson):
    (notebook,) = sorted((REPO / "lessons" / lesson).glob("*.ipynb"))
    return f"{lesson}/{notebook.name}"


def lab_screenshots(chromium, lab, out):
    """lesson.png, widget.png and self-check-failure.png, from one lab page."""
    page = open_lab(chromium, lab)
    path = notebook_path(LESSON)
    file = lab.root / path

    notebook = LabNotebook.open(page, path)
    page.wait_for_timeout(500)  # let the maths of the first cells settle
    save(page, out / "lesson.png")

    notebook.type_into(cell_index(file, "softmax"), WRONG_SOFTMAX)
    notebook.run_all()
    check = cell_index(file, "softmax_test")
    notebook.wait_for_output(check, "CheckFailed")
    scroll_to(notebook.cell(check).locator(".jp-OutputArea-output").last, block="end")
    save(page, out / "self-check-failure.png")

    for grade_id in EXERCISES:
        notebook.type_into(cell_index(file, grade_id), solution_source(LESSON, grade_id))
    notebook.run_all()
    figure = notebook.cells.filter(has=page.locator(".widget-slider")).first
    image = figure.locator(".widget-output img")
    image.wait_for(timeout=KERNEL_TIMEOUT)
    first_frame = image.get_attribute("src")
    figure.locator(".noUi-handle").first.focus()
    for _ in range(15):
        page.keyboard.press("ArrowRight")
    # the figure is redrawn into a new <img>: wait for the locator to find another picture
    expect(image).not_to_have_attribute("src", first_frame, timeout=KERNEL_TIMEOUT)
    notebook.wait_idle()
    scroll_to(figure.locator(".jp-Cell-outputArea"), block="center")
    save(page, out / "widget.png")
    notebook.close()
    page.close()


def tiny_class(submissions):
    """Three students: every solution, one slip in lesson 01, and an untouched lesson 01."""
    for lesson in sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir()):
        shutil.copytree(REPO / "solutions" / lesson, submissions / "ada" / lesson)
    shutil.copytree(REPO / "solutions" / LESSON, submissions / "ben" / LESSON)
    shutil.copytree(REPO / "lessons" / LESSON, submissions / "cleo" / LESSON)
    (notebook,) = (submissions / "ben" / LESSON).glob("*.ipynb")
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "softmax":
            cell.source = WRONG_SOFTMAX
    nbformat.write(nb, notebook)


def report_screenshot(chromium, workdir, out):
    """class-report.png, from `python -m autograder grade` on a tiny class."""
    if importlib.util.find_spec("autograder.grade") is None:
        print("class-report.png skipped: the grading command (autograder/grade.py) is missing")
        return
    submissions, graded = workdir / "submitted", workdir / "graded"
    tiny_class(submissions)
    command = [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(graded)]
    subprocess.run(command, cwd=REPO, check=True, timeout=900)
    page = chromium.new_page()
    page.goto((graded / "report.html").as_uri())
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    save(page, out / "class-report.png")
    page.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        tmp = Path(tmp)
        # the lab opens a copy of lessons/, as `make lab` opens lessons/ itself
        shutil.copytree(REPO / "lessons", tmp / "lessons")
        chromium = launch_chromium(playwright, tmp / "profile")
        try:
            with JupyterLab(tmp / "lessons", tmp / "lab-state") as lab:
                lab_screenshots(chromium, lab, out)
            report_screenshot(chromium, tmp, out)
        finally:
            chromium.close()


if __name__ == "__main__":
    main()
