"""What does a large class cost, and where would 1,000 students x 13 lessons spend its time?

Grades, here, one lesson handed in by a large class (default: 600 students of 01_softmax):
the published solution, the catalogue's correct answers in other styles and its typical
wrong answers, in turn, and one student in ten a renamed copy of another (the copiers that
similarity must find). Then prints, each measured in this run:

- the command's own core-seconds per notebook (its process alone, from OUT/timings.json);
- the workers' core-seconds per notebook (what the notebooks' phases add up to);
- the similarity check's seconds (one core) for the lesson;
- OUT's size per notebook, the median feedback page and the report;

and from those, the projected wall time of 1,000 students x 13 lessons on 2, 32 and 128
cores: the workers' share divides by the cores, the command's own work does not; the stage
that bounds it is named.

    .venv/bin/python benchmarks/class_scale.py [--students 600] [--lesson 01_softmax] [--jobs 2]
        [--dask]

With --dask the class is graded on a Dask cluster instead (a scheduler and --jobs one-thread
workers on loopback, started before the clock, as a deployed cluster would be), to show the
command's own share there too.
"""

import argparse
import contextlib
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the catalogue lives in tests/

import nbformat  # noqa: E402

from autograder.demo import renamed  # noqa: E402
from autograder.notebooks import nbgrader_meta  # noqa: E402
from autograder.outputs import similarity  # noqa: E402
from autograder.outputs.export import LessonResult  # noqa: E402
from tests.catalogue import answers  # noqa: E402
from tests.services import dask_cluster  # noqa: E402
from tests.test_grading import solved, student_version  # noqa: E402
from tests.test_workflow import put  # noqa: E402

CLASS, LESSONS = 1000, 13


def write_class(root, lesson, students):
    """students folders of `lesson`: answers in turn, and every tenth a renamed copy."""
    catalogued = [a for a in answers() if a.lesson == lesson]
    styles = [None, *catalogued]  # None: the published solution
    for i in range(students):
        name = f"s{i:04}"
        if i % 10 == 9:  # a copier: the student before, renamed
            put(root, name, lesson, _copied(root / f"s{i - 1:04}", lesson))
            continue
        style = styles[i % len(styles)]
        if style is None:
            put(root, name, lesson, solved(lesson))
        else:
            put(root, name, lesson, student_version(lesson, {style.exercise: style.cell_source()}))


def _copied(folder, lesson):
    nb = nbformat.read(next((folder / lesson).glob("*.ipynb")), as_version=4)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            cell.source = renamed(cell.source)
    return nb


def folder_size(folder):
    """Bytes on the disk of the files in folder, a file with several names counted once."""
    inodes = {p.stat().st_ino: p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    return sum(inodes.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--lesson", default="01_softmax")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dask", action="store_true", help="grade on a loopback Dask cluster")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="class-scale-"))
    submitted, out = root / "submitted", root / "out"
    write_class(submitted, args.lesson, args.students)
    command = [sys.executable, "-m", "autograder", "grade", str(submitted), "--out", str(out)]
    with dask_cluster(args.jobs) if args.dask else contextlib.nullcontext() as scheduler:
        where = ["--scheduler", scheduler] if args.dask else ["--jobs", str(args.jobs)]
        started = time.monotonic()
        done = subprocess.run([*command, *where], cwd=REPO, capture_output=True, text=True)
        wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"the grading command failed:\n{done.stderr[-3000:]}")
    timings = json.loads((out / "timings.json").read_text())
    notebooks = timings["notebooks_run"]
    own = timings["command_own_core_seconds"] / notebooks
    on_workers = sum(timings["notebook_core_seconds"].values())
    on_workers += sum(
        v for k, v in timings["command_core_seconds"].items() if k.startswith("feedback on")
    )
    workers = on_workers / notebooks
    recorder = next(
        v for k, v in timings["command_core_seconds"].items() if k.startswith("record on")
    )
    recorder /= notebooks
    # similarity alone, as the command runs it, on the same class
    started = time.monotonic()
    pairs = similarity.class_pairs(out, _results(out))
    similar = time.monotonic() - started
    pages = [p.stat().st_size for p in (out / "feedback").rglob("*.html")]
    on = f"a Dask cluster of {args.jobs} workers" if args.dask else f"--jobs {args.jobs}"
    print(f"{notebooks} notebooks of {args.lesson}, {on}: {wall:.0f} s wall")
    print(f"command's own CPU:   {own:.3f} core-s per notebook")
    print(f"workers' CPU:        {workers:.3f} core-s per notebook")
    print(f"the recorder's CPU:  {recorder:.3f} core-s per notebook (one process for SQLite)")
    print(f"similarity:          {similar:.1f} s for the lesson ({len(pairs)} pairs kept)")
    print(f"OUT:                 {folder_size(out) / notebooks / 1e6:.2f} MB per notebook")
    print(f"feedback page:       {statistics.median(pages) / 1e3:.0f} KB median")
    print(f"report:              {(out / 'report.html').stat().st_size / 1e6:.1f} MB")
    total = CLASS * LESSONS
    # similarity: a candidate index, near-linear in the class (benchmarks/similarity_speed.py)
    per_lesson = similar * CLASS / notebooks
    print(f"\nprojected, {CLASS} students x {LESSONS} lessons ({total} notebooks):")
    print("(the workers, the command and the recorder run side by side; similarity after them)")
    for cores in (2, 32, 128):
        parts = {
            "the workers": total * workers / max(1, cores - 1),
            "the command's own work": total * own,
            # SQLite: one recorder, whatever the cores; PostgreSQL: one per four workers
            "the recorder (SQLite)": total * recorder,
            "the recorders (PostgreSQL)": total * recorder / max(1, cores // 4),
        }
        sqlite = max(v for k, v in parts.items() if k != "the recorders (PostgreSQL)")
        postgres = max(v for k, v in parts.items() if k != "the recorder (SQLite)")
        bound = max(parts, key=lambda k: parts[k] if k != "the recorders (PostgreSQL)" else 0)
        print(
            f"  {cores:>3} cores: {(sqlite + LESSONS * per_lesson) / 3600:4.1f} h with SQLite "
            f"(bounded by {bound}), {(postgres + LESSONS * per_lesson) / 3600:4.1f} h with "
            "PostgreSQL: "
            + ", ".join(f"{k} {v / 60:.0f} min" for k, v in parts.items())
            + f", similarity {LESSONS * per_lesson / 60:.1f} min"
        )


def _results(out):
    """The LessonResults of OUT as similarity needs them: student, lesson, notebook."""
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    submitted = (out / "course" / "submitted").glob("*/*/*.ipynb")
    notebook = {p.parent.parent.name: p.name for p in submitted}
    return [LessonResult(r["student"], r["lesson"], notebook[r["student"]], "", []) for r in rows]


if __name__ == "__main__":
    main()
