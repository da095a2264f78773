"""How fast is grading on a Dask cluster against local workers, on the same machine?

    .venv/bin/python benchmarks/cluster_speed.py [--workers 2] [LESSON ...]

Both runs grade the same class in this one run of the script: the demo class (every
lesson, or the lessons given), once with `--jobs WORKERS` local workers and once on a Dask
scheduler with WORKERS worker processes of one thread each (`dask scheduler`, `dask worker`
on 127.0.0.1, started before the clock starts, as a deployed cluster would be). Each run
starts from an empty OUT, so that both grade every notebook. The script checks that both
give identical grades and exercises.csv, and prints the times and their ratio.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.course import lesson_ids
from autograder.demo import make_class
from autograder.grade import grade
from tests.services import dask_cluster


def timed(what, notebooks, run):
    started = time.monotonic()
    run()
    seconds = time.monotonic() - started
    print(f"{what}: {seconds:7.1f} s ({seconds / notebooks:.2f} s per notebook)", flush=True)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson)")
    args = parser.parse_args()
    lessons = args.lessons or lesson_ids()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_class(root / "submitted", lessons)
        notebooks = len(list((root / "submitted").glob("*/*/*.ipynb")))
        print(f"class: {notebooks} notebooks, {len(lessons)} lessons", flush=True)
        local = timed(
            f"local, --jobs {args.workers}",
            notebooks,
            lambda: grade(root / "submitted", root / "local", jobs=args.workers, lessons=lessons),
        )
        started = time.monotonic()
        with dask_cluster(args.workers) as scheduler:
            print(f"(cluster of {args.workers} workers up in {time.monotonic() - started:.1f} s)")
            cluster = timed(
                f"Dask cluster, {args.workers} workers",
                notebooks,
                lambda: grade(
                    root / "submitted", root / "cluster", scheduler=scheduler, lessons=lessons
                ),
            )
        for output in ("grades.csv", "exercises.csv"):
            same = (root / "local" / output).read_bytes() == (
                root / "cluster" / output
            ).read_bytes()
            print(f"{output}: {'identical' if same else 'DIFFERENT'}")
        print(f"cluster / local: {cluster / local:.2f}")


if __name__ == "__main__":
    main()
