"""How heavy is the class report for a large class, and how long does Chromium take to open it?

Makes the results of a generated class (default: 1,000 students x 13 lessons, each graded cell
passed with probability 0.7, a failed one given a kind of mistake at random), writes the
report (autograder.outputs.report) and opens it in Chromium from the file, with nothing
fetched. Prints the seconds to write it, its size, and the seconds until Chromium's `load`
event, each measured in this run.

    .venv/bin/python benchmarks/report_scale.py [--students 1000]
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: Chromium is launched as the browser tests do

from playwright.sync_api import sync_playwright  # noqa: E402

from autograder.course import lesson_ids  # noqa: E402
from autograder.notebooks import graded_cells, source_notebook  # noqa: E402
from autograder.outputs.export import CellResult, LessonResult  # noqa: E402
from autograder.outputs.report import class_report  # noqa: E402
from gradlab.checking import GENERIC, KINDS  # noqa: E402
from tests.browser.lab import launch_chromium  # noqa: E402


def generated_class(students, seed=1):
    """LessonResults of `students` students of every lesson."""
    rng = random.Random(seed)
    kinds = [kind for kind in KINDS if kind != GENERIC]
    results = []
    for i in range(students):
        for lesson in lesson_ids():
            cells = []
            for cell in graded_cells(source_notebook(lesson)):
                if rng.random() < 0.7:
                    cells.append(CellResult(cell.grade_id, 2.0, 2.0, ""))
                else:
                    kind = rng.choice(kinds)
                    message = f"{cell.exercise}: {kind} at index {rng.randint(0, 9)}"
                    cells.append(CellResult(cell.grade_id, 0.0, 2.0, message, kind))
            results.append(LessonResult(f"student{i:04}", lesson, "x.ipynb", "", cells))
    return results


def _only_files(route):
    if route.request.url.startswith("file:"):
        route.continue_()
    else:
        route.abort()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()
    results = generated_class(args.students)
    started = time.process_time()
    html = class_report(results)
    written = time.process_time() - started
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.html"
        path.write_text(html, encoding="utf-8")
        with sync_playwright() as playwright:
            context = launch_chromium(playwright, Path(folder) / "profile")
            page = context.new_page()
            page.route("**/*", _only_files)
            started = time.monotonic()
            page.goto(path.as_uri(), wait_until="load")
            opened = time.monotonic() - started
            context.close()
    print(f"{args.students} students x {len(lesson_ids())} lessons ({len(results)} results)")
    print(f"report written in {written:.1f} core-s, {len(html.encode()) / 1e6:.1f} MB")
    print(f"opened by Chromium in {opened:.2f} s (to its load event)")


if __name__ == "__main__":
    main()
