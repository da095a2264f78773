"""What does the similarity check cost for a large class, on one core?

Makes a class of STUDENTS (default 1,000) for every lesson from benchmarks/similarity_quality.py's
test set (the published solution, the catalogue's correct answers in other styles, and their
disguised copies), each student handing in one of them with a line of their own added to a
cell, so that many students share most of their code, as a large class does. Then times, on
one core, what the grading command does for similarity (autograder.outputs.similarity):
reading each student's solution cells from a notebook file, and comparing the lesson
(compare_lesson). Prints the seconds per lesson, the pairs compared and flagged, and the
total for every lesson.

    .venv/bin/python benchmarks/similarity_speed.py [--students 1000]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the test set is built from tests/catalogue

import nbformat  # noqa: E402

from autograder.course import SOLUTIONS, notebook_name  # noqa: E402
from autograder.outputs import similarity  # noqa: E402
from benchmarks.similarity_quality import test_set  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=1000)
    args = parser.parse_args()
    lessons, _ = test_set()
    total, reading = 0.0, _reading_seconds()
    print(f"reading one notebook's solution cells: {reading * 1e3:.2f} ms")
    print(f"{'lesson':<24}{'compare s':>10}{'pairs':>9}{'flagged':>9}")
    for lesson, (starter, members) in sorted(lessons.items()):
        submissions = {}
        for i in range(args.students):
            _, _, sources = members[i % len(members)]
            mine = dict(sources)
            first = next(iter(mine))
            mine[first] += f"\n_ = {i} * 2 + 1\n"  # a line of their own
            submissions[f"s{i:04}"] = mine
        published = similarity.solution_sources(SOLUTIONS / lesson / notebook_name(lesson))
        started = time.process_time()
        pairs = similarity.compare_lesson(lesson, submissions, published, starter)
        seconds = time.process_time() - started
        total += seconds + reading * args.students
        flagged = sum(p.flagged for p in pairs)
        print(f"{lesson:<24}{seconds:>10.1f}{len(pairs):>9}{flagged:>9}")
    print(f"all {len(lessons)} lessons, {args.students} students, reading included: {total:.0f} s")


def _reading_seconds():
    """CPU seconds to read one submission's solution cells from its file, as class_pairs does."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "capstone.ipynb"
        nb = nbformat.read(SOLUTIONS / "12_capstone" / "capstone.ipynb", as_version=4)
        nbformat.write(nb, path)
        started = time.process_time()
        for _ in range(50):
            similarity.solution_sources(path)
        return (time.process_time() - started) / 50


if __name__ == "__main__":
    main()
