"""How fast is the grading command against plain sequential nbgrader, on the same class?

    .venv/bin/python benchmarks/grading_speed.py [--copies 2] [--jobs 2]

Both graders run in this one process's run, on the same submissions: the demo class (a
complete student, one with typical mistakes, a half-done one, a blank one; the tamperer is
left out since plain nbgrader cannot catch her) copied `--copies` times. Plain nbgrader is
what an instructor would type: `nbgrader generate_assignment`, `autograde` and
`generate_feedback` for each lesson, then `nbgrader export`. The script checks that both give
identical grades and prints the times and the ratio. It also measures the floor: one kernel
start plus the notebook's own execution, per notebook, with nbclient.
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.course import SOURCE, lesson_ids
from autograder.demo import make_class
from autograder.grade import grade

CONFIG = """c = get_config()
c.CourseDirectory.course_id = "nn-derivatives"
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = 60
"""


def demo_class(dest, copies):
    """The demo class without the tamperer and the broken file, `copies` times over."""
    template = dest.parent / "template"
    make_class(template)
    for student in ("ada", "bob", "cy", "dee"):
        for k in range(copies):
            shutil.copytree(template / student, dest / f"{student}{k}")
    shutil.rmtree(template)
    for broken in dest.glob(f"cy*/{lesson_ids()[0]}/*.ipynb"):
        broken.unlink()


def plain_nbgrader(submissions, course):
    """Sequential nbgrader from its command line, as an instructor would run it."""
    course.mkdir()
    (course / "nbgrader_config.py").write_text(CONFIG)
    shutil.copytree(SOURCE, course / "source")
    shutil.copytree(submissions, course / "submitted")
    bin_dir = Path(sys.executable).parent  # nbgrader runs alembic from there
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    nbgrader = [str(bin_dir / "nbgrader")]
    started = time.monotonic()
    for lesson in lesson_ids():
        for step in ("generate_assignment", "autograde", "generate_feedback"):
            subprocess.run(
                [*nbgrader, step, lesson, "--force"],
                cwd=course,
                env=env,
                capture_output=True,
                check=step != "autograde",  # autograde exits 1 when a notebook fails to run
            )
    subprocess.run(
        [*nbgrader, "export", "--to", "grades.csv"],
        cwd=course,
        env=env,
        capture_output=True,
        check=True,
    )
    seconds = time.monotonic() - started
    with open(course / "grades.csv", newline="") as f:
        grades = {
            (r["student_id"], r["assignment"]): float(r["raw_score"] or 0)
            for r in csv.DictReader(f)
        }
    return seconds, grades


def floor(submissions):
    """One kernel start and the notebook's own execution, per notebook (nbclient, no grading)."""
    paths = sorted(submissions.glob("*/*/*.ipynb"))
    started = time.monotonic()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb, timeout=60, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
        ).execute()
    return (time.monotonic() - started) / len(paths), len(paths)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        submissions = root / "submitted"
        demo_class(submissions, args.copies)
        notebooks = len(list(submissions.glob("*/*/*.ipynb")))
        print(f"class: {notebooks} notebooks, {len(lesson_ids())} lessons")

        plain_seconds, plain = plain_nbgrader(submissions, root / "plain")
        print(
            f"plain sequential nbgrader: {plain_seconds:7.1f} s "
            f"({plain_seconds / notebooks:.2f} s per notebook)"
        )

        started = time.monotonic()
        results = grade(submissions, root / "ours", jobs=args.jobs).results
        ours_seconds = time.monotonic() - started
        print(
            f"python -m autograder grade --jobs {args.jobs}: {ours_seconds:7.1f} s "
            f"({ours_seconds / notebooks:.2f} s per notebook)"
        )
        print(f"speed-up: {plain_seconds / ours_seconds:.2f}x")

        ours = {(r.student, r.lesson): r.score for r in results if r.problem != "missing notebook"}
        same = all(abs(plain.get(key, 0.0) - score) < 1e-9 for key, score in ours.items())
        print(f"identical grades: {same} ({len(ours)} notebooks compared)")

        per_notebook, count = floor(submissions)
        print(
            f"floor (kernel start + the notebook's own work, sequential): "
            f"{per_notebook:.2f} s per notebook, i.e. {per_notebook * count / args.jobs:.1f} s "
            f"for {count} notebooks on {args.jobs} cores"
        )
        return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
