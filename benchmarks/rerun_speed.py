"""Reruns as a fraction of a full run: an unchanged class, and a run resumed after Ctrl-C.

    .venv/bin/python benchmarks/rerun_speed.py [--students 3] [--jobs 2]

The class: every student solved lessons 00 to 03 (the source's solutions). Each figure is
the grading command started as a process, as an instructor runs it, measured in one run.
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

from autograder.demo import make_class  # noqa: E402

LESSONS = ["00_chain_rule", "01_softmax", "02_sigmoid_softmax", "03_linear_classifiers"]


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
    parser.add_argument("--students", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rerun-", dir="/tmp") as tmp:
        root = Path(tmp)
        demo = root / "demo"
        make_class(demo, LESSONS)
        submissions = root / "submitted"
        for i in range(args.students):  # copies of ada, the student who solved everything
            shutil.copytree(demo / "ada", submissions / f"s{i}")
        notebooks = args.students * len(LESSONS)
        print(f"class: {args.students} students x {len(LESSONS)} lessons = {notebooks} notebooks")

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
