"""python -m autograder {build, grade, demo}: see autograder/__init__.py."""

import argparse
import atexit
import contextlib
import difflib
import os
import sys
import time
from pathlib import Path

from autograder.run.sandbox import Limits

LIMITS = Limits()  # of every sandbox the command starts

GRADE_HELP = """Grade a class with nbgrader: every notebook runs sandboxed, every graded cell is
checked by the trusted runner, and OUT gets grades.csv, exercises.csv, feedback/ (one page per
notebook), feedback-archives/ (one .zip per student), report.html and course/ (the nbgrader course
with its gradebook, which formgrader opens). SUBMISSIONS is never modified.

Run it again on the same OUT at any time: only new or changed notebooks are graded, an
interrupted run resumes, and grades and comments entered in formgrader are kept."""

GRADE_EXAMPLES = """examples:
  python -m autograder grade submitted --out graded
  python -m autograder grade submitted --out graded --lessons 01_softmax,05_batch_bias
  python -m autograder grade submitted --out graded --db postgresql+psycopg2://grader@db/course
  python -m autograder grade submitted --out graded --scheduler tcp://scheduler:8786

SUBMISSIONS is laid out as nbgrader's submitted/: <student>/<lesson>/<notebook>.ipynb."""


class _Parser(argparse.ArgumentParser):
    """argparse's, whose errors are one line (the usage is one --help away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _lessons(text):
    from autograder.course import lesson_ids

    lessons = [x.strip() for x in text.split(",") if x.strip()]
    for lesson in lessons:
        if lesson not in lesson_ids():
            close = difflib.get_close_matches(lesson, lesson_ids(), n=1)
            hint = (
                f"did you mean {close[0]}?" if close else f"the lessons: {', '.join(lesson_ids())}"
            )
            raise argparse.ArgumentTypeError(f"unknown lesson {lesson}: {hint}")
    return lessons


def _jobs(text):
    jobs = int(text)
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{jobs}: give 1 or more worker processes")
    return jobs


def _refuse_wrong_input(args):
    """Why SUBMISSIONS or OUT cannot be what the instructor meant, with the fix, or None."""
    from autograder.course import lesson_ids

    submissions, out = args.submissions, args.out
    if not submissions.is_dir():
        return f"no such folder: {submissions}"
    if args.roster:
        from autograder.intake import read_roster

        try:
            read_roster(args.roster)
        except (OSError, ValueError) as exc:
            return f"--roster: {exc}"
    if args.due:
        from autograder.record.late import read_due

        try:
            read_due(args.due, lesson_ids())
        except (OSError, ValueError) as exc:
            return f"--due: {exc}"
    if args.extensions:
        from autograder.record.late import read_extensions

        try:
            read_extensions(args.extensions, lesson_ids())
        except (OSError, ValueError) as exc:
            return f"--extensions: {exc}"
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file: give a folder (it is made if missing)"
    if (submissions / "submitted").is_dir() or (submissions / "nbgrader_config.py").is_file():
        return (
            f"{submissions} looks like an nbgrader course directory: grade its submitted/ "
            f"folder (python -m autograder grade {submissions / 'submitted'} --out {out})"
        )
    folders = [p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if any(p.name in lesson_ids() for p in folders):
        return (
            f"{submissions} holds lesson folders at its top: it must hold one folder per "
            "student, each with its lesson folders (<student>/<lesson>/<notebook>.ipynb)"
        )
    if not any(sub.is_dir() for p in folders for sub in p.iterdir()):
        return (
            f"nothing handed in under {submissions}: it must hold "
            "<student>/<lesson>/<notebook>.ipynb, e.g. ada/01_softmax/softmax.ipynb"
        )
    return None


def _parser():
    parser = _Parser(prog="python -m autograder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="regenerate lessons/ and solutions/ from source/")
    build.add_argument("lessons", nargs="*", help="lesson ids (default: every lesson)")
    grade = commands.add_parser(
        "grade",
        help="grade SUBMISSIONS (laid out as nbgrader's submitted/) into OUT",
        description=GRADE_HELP,
        epilog=GRADE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    grade.add_argument("submissions", type=Path, help="the folder of submissions (read only)")
    grade.add_argument("--out", type=Path, required=True, help="where the results go")
    grade.add_argument(
        "--jobs",
        type=_jobs,
        default=os.cpu_count() or 1,
        help="local worker processes (default: the number of cores)",
    )
    grade.add_argument(
        "--lessons",
        type=_lessons,
        help="the lessons handed out, comma-separated: what is graded and what totals are "
        "out of (default: the lessons at least one student submitted)",
    )
    grade.add_argument(
        "--db", metavar="URL", help="the gradebook's SQLAlchemy URL (default: SQLite in OUT/course)"
    )
    grade.add_argument(
        "--scheduler", metavar="ADDRESS", help="grade on this Dask cluster instead of --jobs"
    )
    grade.add_argument("--force", action="store_true", help="grade every notebook again")
    grade.add_argument(
        "--due",
        type=Path,
        help="a CSV file, first line lesson,due,per_day,at_most: each lesson's due date (e.g. "
        "2027-02-01 23:59 UTC) and the share of the score lost per day late, at most at_most",
    )
    grade.add_argument(
        "--extensions",
        type=Path,
        help="a CSV file, first line student,lesson,days: the days a student's due date moves",
    )
    grade.add_argument(
        "--roster",
        type=Path,
        help="a CSV file, first line student,first_name,last_name,lms_id: every student on it "
        "is in every output (nothing handed in: zeros), with their names and LMS ids",
    )
    grade.add_argument(
        "--no-written-questions",
        dest="written",
        action="store_false",
        help="leave the lessons' written questions (graded by hand) out of the grades and "
        "their totals; an OUT keeps the choice it was first graded with",
    )
    formgrader = commands.add_parser(
        "formgrader",
        help="start JupyterLab on OUT/course at nbgrader's formgrader, to grade by hand",
    )
    formgrader.add_argument("out", type=Path, help="the OUT of a grading run")
    formgrader.add_argument("--port", type=int, default=8888)
    formgrader.add_argument(
        "--ip", default="127.0.0.1", help="where it listens (default: here only)"
    )
    demo = commands.add_parser("demo", help="make a demo class and grade it")
    demo.add_argument("--out", type=Path, default=Path("demo"))
    demo.add_argument("--jobs", type=_jobs, default=os.cpu_count() or 1)
    return parser


def summary(graded, out, seconds):
    """What the terminal shows after a run: the table, then what to look at."""
    from autograder.outputs.export import grade_table

    lines = [grade_table(graded.results), ""]
    lines.append(
        f"graded {graded.graded + graded.kept} of {graded.submitted} submitted notebooks "
        f"({graded.graded} run now, {graded.kept} unchanged and kept"
        f"{f', {graded.unusable} not readable: 0, see exercises.csv' if graded.unusable else ''})"
        f" in {seconds:.1f} s; "
        f"lessons handed out: {', '.join(graded.lessons)}"
    )
    flagged = sorted({f"{r.student}/{r.lesson}" for r in graded.results if r.flagged})
    if flagged:
        listed = ", ".join(flagged[:4]) + (", ..." if len(flagged) > 4 else "")
        why = "the answer key used, or the grader failed"
        lines.append(f"flagged ({why}): {len(flagged)} ({listed})")
    for where, what in graded.notes:
        lines.append(f"intake: {where}: {what}")
    if graded.repaired:
        listed = ", ".join(f"{s}/{lesson}" for s, lesson in graded.repaired)
        lines.append(
            f"gradebook: {len(graded.repaired)} notebooks' automatic scores were not the "
            f"trusted run's (changed since by hand, or a run stopped while recording them): "
            f"recorded again from the stored results ({listed})"
        )
    # one line per reason: a class's written answers wait in formgrader in every notebook
    pending = {}
    for r in graded.results:
        if r.pending:
            pending.setdefault(r.pending, []).append(f"{r.student}/{r.lesson}")
    for why, where in sorted(pending.items()):
        listed = ", ".join(where[:4]) + (", ..." if len(where) > 4 else "")
        lines.append(f"pending ({why}): {len(where)} ({listed})")
    lines += [
        f"grades:    {out / 'grades.csv'}",
        f"exercises: {out / 'exercises.csv'}",
        f"feedback:  {out / 'feedback'}/<student>/<lesson>/<notebook>.html, "
        f"{out / 'feedback-archives'}/<student>.zip",
        f"report:    {out / 'report.html'}",
        f"formgrader: python -m autograder formgrader {out}",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "build":
        from autograder.build import build

        build(args.lessons or None)
        return 0
    if args.command == "formgrader":
        return _formgrader(args)
    if args.command == "grade" and (wrong := _refuse_wrong_input(args)):
        print(f"python -m autograder grade: error: {wrong}", file=sys.stderr)
        return 2

    with contextlib.ExitStack() as stack:
        template = None
        if os.geteuid() == 0 and not getattr(args, "scheduler", None):
            # the local workers' template imports numpy, matplotlib and IPython while this
            # process imports nbgrader (autograder.run.template)
            from autograder.run import template as templates

            template = stack.enter_context(templates.started(LIMITS))
        return _grade(args, template)


def _formgrader(args):
    """JupyterLab on OUT/course, this Python's environment first on PATH (nbgrader runs its
    own commands), as root too, opening at formgrader; it replaces this process."""
    course = (args.out / "course").resolve()
    if not (course / "nbgrader_config.py").is_file():
        print(
            f"python -m autograder formgrader: error: no graded class in {args.out}",
            file=sys.stderr,
        )
        return 2
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.ip={args.ip}"]
    command += [f"--ServerApp.port={args.port}", f"--ServerApp.root_dir={course}"]
    command += ["--ServerApp.default_url=/formgrader"]
    if os.geteuid() == 0:  # a grading server's root: Jupyter refuses it unless told
        command.append("--allow-root")
    print(f"formgrader for {course}: open the URL below (Ctrl-C stops it)", flush=True)
    os.chdir(course)  # nbgrader finds the course's nbgrader_config.py here
    os.execve(sys.executable, command, env)


def _grade(args, template):
    from autograder.demo import make_class
    from autograder.grade import Interrupted, grade

    options = {}
    if args.command == "demo":
        args.submissions = args.out / "submissions"
        make_class(args.submissions)
        args.out = args.out / "graded"
    else:
        options = {
            "lessons": args.lessons,
            "db_url": args.db,
            "scheduler": args.scheduler,
            "force": args.force,
            "roster": args.roster,
            "due": args.due,
            "extensions": args.extensions,
            "written": args.written,
        }
    started = time.monotonic()
    try:
        graded = grade(
            args.submissions, args.out, jobs=args.jobs, limits=LIMITS, template=template, **options
        )
    except (Interrupted, KeyboardInterrupt) as exc:
        done = f"{exc}; " if isinstance(exc, Interrupted) else ""
        print(
            f"\n{done}what was graded is kept in {args.out / 'results'}: "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    print(summary(graded, args.out, time.monotonic() - started))
    return 0


def _end(status):
    """End the process once its exit handlers have run: its files are closed and its
    children ended, and what is left, the interpreter freeing its objects one by one,
    is 0.4 s at the end of every run that no one needs (atexit's own runner, then _exit)."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    _end(main())
