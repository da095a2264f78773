"""python -m autograder {build, grade, demo}: see autograder/__init__.py."""

import argparse
import os
import time
from pathlib import Path

from autograder.run.sandbox import Limits


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="regenerate lessons/ and solutions/ from source/")
    build.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson)")
    grade = commands.add_parser(
        "grade", help="grade SUBMISSIONS (laid out as nbgrader's submitted/)"
    )
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--out", type=Path, required=True)
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    demo = commands.add_parser("demo", help="make a demo class and grade it")
    demo.add_argument("--out", type=Path, default=Path("demo"))
    demo.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    if args.command == "build":
        from autograder.build import build

        build(args.lessons or None)
        return 0

    from autograder.demo import grade_table, make_class
    from autograder.grade import grade as grade_class

    if args.command == "demo":
        args.submissions = args.out / "submissions"
        make_class(args.submissions)
        args.out = args.out / "graded"
    started = time.monotonic()
    results = grade_class(args.submissions, args.out, jobs=args.jobs, limits=Limits())
    print(grade_table(results))
    flagged = sorted({f"{r.student}/{r.lesson}" for r in results if r.tampered})
    print(f"\ngraded {len(results)} notebooks in {time.monotonic() - started:.1f} s")
    if flagged:
        listed = ", ".join(flagged[:4]) + (", ..." if len(flagged) > 4 else "")
        print(f"flagged (tampering or the answer key used): {len(flagged)} notebooks ({listed})")
    print(f"grades:    {args.out / 'grades.csv'}")
    print(f"exercises: {args.out / 'exercises.csv'}")
    print(f"feedback:  {args.out / 'feedback'}/<student>/<lesson>/<notebook>.html")
    print(f"report:    {args.out / 'report.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
