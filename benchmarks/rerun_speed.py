"""Reruns as a fraction of a full run: an unchanged class, and a run resumed after Ctrl-C.

    .venv/bin/python benchmarks/rerun_speed.py [--students 8] [--lessons 13] [--jobs 2]

The class: every student solved the first --lessons lessons (the source's solutions). Each
figure is the grading command started as a process, as an instructor runs it, measured in
one run. A rerun costs about the same few seconds whatever the class (the command's start,
reading back the gradebook, the report): the fraction depends on the class's size.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder.course import lesson_ids  # noqa: E402
from autograder.demo import make_class  # noqa: E402


def command(submissions, out, jobs):
    return [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out),
            "--jobs", str(jobs)]  # fmt: skip


def timed(argv):
    started = time.monotonic()
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True)
    return time.monotonic() - started


def interrupted_then_resumed(argv, out, after):
    """Seconds of a run stopped by SIGINT once `after` notebooks are stored, and of the
    run that resumes it; and how many were stored."""
    started = time.monotonic()
    run = subprocess.Popen(argv, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)  # fmt: skip
    while len(list((out / "results").glob("*/*.json"))) < after and run.poll() is None:
        time.sleep(0.1)
    os.killpg(run.pid, signal.SIGINT)
    run.wait()
    first = time.monotonic() - started
    stored = len(list((out / "results").glob("*/*.json")))
    return first, timed(argv), stored


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--lessons", type=int, default=len(lesson_ids()))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    lessons = lesson_ids()[: args.lessons]
    with tempfile.TemporaryDirectory(prefix="rerun-", dir="/tmp") as tmp:
        root = Path(tmp)
        demo = root / "demo"
        make_class(demo, lessons)
        submissions = root / "submitted"
        for i in range(args.students):  # copies of ada, the student who solved everything
            shutil.copytree(demo / "ada", submissions / f"s{i}")
        notebooks = args.students * len(lessons)
        print(f"class: {args.students} students x {len(lessons)} lessons = {notebooks} notebooks")

        full = timed(command(submissions, root / "out", args.jobs))
        print(f"first run:          {full:6.1f} s")
        unchanged = timed(command(submissions, root / "out", args.jobs))
        print(f"unchanged rerun:    {unchanged:6.1f} s = {unchanged / full:.0%} of the first run")

        out = root / "resumed"
        stopped, resumed, stored = interrupted_then_resumed(
            command(submissions, out, args.jobs), out, notebooks // 2
        )
        print(
            f"Ctrl-C after {stored} of {notebooks} notebooks: the stopped run {stopped:.1f} s, "
            f"the resumed run {resumed:.1f} s = {resumed / full:.0%} of a full run"
        )


if __name__ == "__main__":
    main()
