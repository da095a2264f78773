"""How long does a self-check take to answer, right or wrong?

A self-check is the visible part of an exercise's test cell, as a student runs it in the
kernel. It is timed here, in-process, for every solution and every answer of the catalogue
(tests/catalogue/: wrong answers, whose failure gets a second look, and right ones in other
styles), with the solutions bound for the other exercises of the lesson, as in a finished
notebook. Each is the best of two runs (the first also warms caches). Prints the slowest ones
and how many take a second or more.

    .venv/bin/python benchmarks/self_check_speed.py [--top N]
"""

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the catalogue and the solutions live in tests/

from autograder.course import lesson_ids  # noqa: E402
from autograder.notebooks import exercises, graded_cell, source_notebook  # noqa: E402
from gradlab.notebook import visible  # noqa: E402
from tests.catalogue import answers  # noqa: E402
from tests.conftest import solution_functions  # noqa: E402

SECOND = 1.0


def seconds(lesson, exercise, fn):
    """The wall-clock seconds of the self-check of `exercise` on fn, and whether it passed."""
    source = visible(graded_cell(lesson, exercise).source)
    namespace = {**solution_functions(lesson), "np": np, exercise: fn}
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            exec(compile(source, f"<self-check of {exercise}>", "exec"), namespace)
            passed = True
        except AssertionError:
            passed = False
    return time.perf_counter() - start, passed


def cases():
    """(label, lesson, exercise, function) of every solution and catalogue answer."""
    for lesson in lesson_ids():
        solutions = solution_functions(lesson)
        for exercise in exercises(source_notebook(lesson)):
            yield f"{lesson}:{exercise} (solution)", lesson, exercise, solutions[exercise]
    for answer in answers():
        yield answer.id, answer.lesson, answer.exercise, answer.fn


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=10, help="how many of the slowest to print")
    args = parser.parse_args()
    timed = []
    for label, lesson, exercise, fn in cases():
        runs = [seconds(lesson, exercise, fn) for _ in range(2)]
        timed.append((min(s for s, _ in runs), runs[-1][1], label))
    timed.sort(reverse=True)
    print(f"{'ms':>8}  self-check")
    for spent, passed, label in timed[: args.top]:
        print(f"{spent * 1000:8.0f}  {label} ({'passed' if passed else 'failed'})")
    slow = sum(spent >= SECOND for spent, _, _ in timed)
    slowest = timed[0][0] * 1000
    print(f"{len(timed)} self-checks, the slowest {slowest:.0f} ms, {slow} of a second or more")


if __name__ == "__main__":
    main()
