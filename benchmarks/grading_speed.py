"""How fast is the grading command against plain sequential nbgrader, and where does the time go?

    .venv/bin/python benchmarks/grading_speed.py [--classes demo,correct,small] [--jobs 2]

Three classes, each graded by both in this one run, on the same submissions:
- demo: the demo class (a complete student, one with typical mistakes, a half-done one, a
  blank one; the tamperer and the copiers left out, since plain nbgrader cannot catch them),
  twice over: 8 students x 13 lessons;
- correct: 8 students whose answers are all correct, so that every check runs;
- small: 3 students x 2 lessons, the fixed cost of a run (the command's start to its end).

Plain nbgrader is what an instructor would type: `nbgrader generate_assignment`, `autograde`
and `generate_feedback` for each lesson, then `nbgrader export`, one after another. Ours is
`python -m autograder grade --jobs 2`, started as a process. The script checks that both
give identical grades and prints wall times, the ratio, and core-seconds per phase: plain
nbgrader's per command, ours from OUT/timings.json (autograder.costs).
"""

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.course import SOURCE, lesson_ids  # noqa: E402
from autograder.demo import make_class  # noqa: E402

CONFIG = """c = get_config()
c.CourseDirectory.course_id = "nn-derivatives"
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = 60
"""
BIN = Path(sys.executable).parent  # nbgrader runs alembic from there
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv, **kwargs):
    """(wall seconds, core-seconds) of a command run to its end."""
    cpu, started = children_cpu(), time.monotonic()
    subprocess.run(argv, env=ENV, capture_output=True, **kwargs)
    return time.monotonic() - started, children_cpu() - cpu


def make(kind, dest):
    """The submissions of a class, laid out as nbgrader's submitted/; returns its lessons."""
    template = dest.parent / f"{kind}-template"
    lessons = lesson_ids()[:2] if kind == "small" else lesson_ids()
    make_class(template, lessons)
    students = {
        "demo": [(s, f"{s}{k}") for s in ("ada", "bob", "cy", "dee") for k in range(2)],
        "correct": [("ada", f"s{k}") for k in range(8)],
        "small": [("ada", "ada"), ("bob", "bob"), ("cy", "cy")],
    }[kind]
    for source, name in students:
        shutil.copytree(template / source, dest / name)
    shutil.rmtree(template)
    return lessons


def plain_nbgrader(submissions, course, lessons):
    """Sequential nbgrader from its command line; (wall, {command: core-seconds}, grades)."""
    course.mkdir()
    (course / "nbgrader_config.py").write_text(CONFIG)
    shutil.copytree(SOURCE, course / "source")
    shutil.copytree(submissions, course / "submitted")
    nbgrader = [str(BIN / "nbgrader")]
    core, started = {}, time.monotonic()
    for lesson in lessons:
        # autograde exits 1 when a notebook fails to run: that is not the benchmark's failure
        for step in ("generate_assignment", "autograde", "generate_feedback"):
            _, cpu = run([*nbgrader, step, lesson, "--force"], cwd=course)
            core[step] = core.get(step, 0.0) + cpu
    _, core["export"] = run([*nbgrader, "export", "--to", "grades.csv"], cwd=course)
    wall = time.monotonic() - started
    with open(course / "grades.csv", newline="") as f:
        grades = {
            (r["student_id"], r["assignment"]): float(r["raw_score"] or 0)
            for r in csv.DictReader(f)
        }
    return wall, core, grades


def ours(submissions, out, jobs, lessons):
    """The grading command as a process; (wall, timings.json, grades)."""
    argv = [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out)]
    argv += ["--jobs", str(jobs), "--lessons", ",".join(lessons)]
    wall, _ = run(argv, cwd=REPO, check=True)
    timings = json.loads((out / "timings.json").read_text())
    with open(out / "grades.csv", newline="") as f:
        grades = {(r["student"], r["lesson"]): float(r["score"]) for r in csv.DictReader(f)}
    return wall, timings, grades


def table(title, rows, total, notebooks):
    print(f"  {title}")
    for name, seconds in rows:
        print(f"    {name:<52} {seconds:7.1f} core-s {seconds / notebooks:6.2f} per notebook")
    print(f"    {'total':<52} {total:7.1f} core-s {total / notebooks:6.2f} per notebook")


def startup_cost():
    """Core-seconds of one nbgrader command that does nothing: its interpreter and imports."""
    return run([str(BIN / "nbgrader"), "--version"])[1]


def compare(kind, root, jobs):
    submissions = root / kind / "submitted"
    lessons = make(kind, submissions)
    notebooks = len(list(submissions.glob("*/*/*.ipynb")))
    print(f"\n== {kind}: {notebooks} notebooks ({len(lessons)} lessons) ==")

    plain_wall, plain_core, plain = plain_nbgrader(submissions, root / kind / "plain", lessons)
    wall, timings, graded = ours(submissions, root / kind / "ours", jobs, lessons)
    print(f"plain sequential nbgrader:          {plain_wall:7.1f} s")
    print(f"python -m autograder grade --jobs {jobs}: {wall:7.1f} s")
    print(f"speed-up: {plain_wall / wall:.2f}x")
    same = all(abs(plain.get(key, 0.0) - score) < 1e-9 for key, score in graded.items())
    print(f"identical grades: {same} ({len(graded)} notebooks compared)")

    commands = len(lessons) * 3 + 1
    print("core-seconds per phase")
    table(
        f"plain nbgrader ({commands} commands, each starting at {startup_cost():.1f} core-s)",
        sorted(plain_core.items(), key=lambda kv: -kv[1]),
        sum(plain_core.values()),
        notebooks,
    )
    # the run phase's own CPU is its workers' (measured there, per notebook); the OS loses
    # the share of processes ended without being waited for, so the sum is the better count
    command = dict(timings["command_core_seconds"])
    command.pop("run (workers, kernels, trusted run)", None)
    rows = list(command.items())
    rows += [(f"run: {name}", s) for name, s in timings["notebook_core_seconds"].items()]
    table(
        "ours (the command's phases, then the run's per notebook)",
        rows,
        sum(s for _, s in rows),
        notebooks,
    )
    return same


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", default="demo,correct,small")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="speed-", dir="/tmp") as tmp:
        same = [compare(kind, Path(tmp), args.jobs) for kind in args.classes.split(",")]
    return 0 if all(same) else 1


if __name__ == "__main__":
    raise SystemExit(main())
