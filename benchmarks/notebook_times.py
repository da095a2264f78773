"""How long each solution notebook and each self-check takes.

    .venv/bin/python benchmarks/notebook_times.py

For every lesson: the wall time of running its solution notebook top to bottom with
nbclient (kernel start included), and the time of each graded cell of its source notebook
(visible and hidden checks) run in-process on the solution functions, the way a student's
self-check runs after the exercise cell.
"""

import contextlib
import io
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.course import SOLUTIONS, lesson_ids, notebook_name
from autograder.notebooks import graded_cells, source_notebook
from tests.conftest import solution_functions


def notebook_seconds(lesson):
    path = SOLUTIONS / lesson / notebook_name(lesson)
    nb = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - started


def slowest_check(lesson):
    namespace = solution_functions(lesson)
    times = []
    for cell in graded_cells(source_notebook(lesson)):
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(cell.source, cell.grade_id, "exec"), dict(namespace))
        times.append((time.perf_counter() - started, cell.grade_id))
    return max(times)


def main():
    print(f"{'lesson':24} {'solution notebook':>18} {'slowest self-check':>34}")
    for lesson in lesson_ids():
        seconds, grade_id = slowest_check(lesson)
        print(f"{lesson:24} {notebook_seconds(lesson):16.1f} s {seconds:8.3f} s ({grade_id})")


if __name__ == "__main__":
    main()
