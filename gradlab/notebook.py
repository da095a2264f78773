"""The lesson around the exercises: gentle failures and the progress list.

Every lesson's setup cell calls `gentle_errors()`, and its progress cell, just below,
calls `progress()`:

- gentle_errors: a cell that needs an exercise which is not done yet (its function still
  raises the stub's NotImplementedError, or its cell has not run) says so in one line,
  "this cell uses `affine_forward` (Exercise 1), which is not implemented yet", instead of
  a traceback. This is one IPython exception handler for the whole notebook: demo, plot
  and widget cells need nothing of their own. It also gives the notebook `hint()`, which
  prints the hint of the last self-check that failed (gradlab.checking.hint: a self-check
  shows what is wrong and where first, and its hint when asked or when shown again).
- progress: runs every self-check quietly and lists each exercise as done, failing (with
  the first line of its diagnosis) or not started, with its points, and the exercise Run
  All stops at. The list keeps itself up to date as self-check cells run (during a Run All
  too); run the cell again at any time.

Both read the lesson from the notebook's own file, by the course's conventions: the
solution cell of exercise `f` has grade_id `f`, its test cell `f_test` and the points. The
file is the one the kernel was started for (JupyterLab's `__session__`, VS Code's
`__vsc_ipynb_file__`), or the only notebook in the working folder (nbconvert, nbgrader).
Without it (as while grading) a stub still fails in one line, without its exercise's
number, and the progress list says why it is empty.

Student-facing: the self-checks this module runs are the notebook's own test cells, which
import gradlab.exercises just as they do when the student runs them; it imports nothing of
the answer key itself.
"""

import ast
import contextlib
import functools
import html
import io
import json
import linecache
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from IPython import get_ipython
from IPython.display import HTML, display

from gradlab.checking import CheckFailed, first_line, hint

TEST_SUFFIX = "_test"
HIDDEN_TESTS = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.DOTALL)
DONE, FAILING, NOT_STARTED = "done", "failing", "not started"
MARKS = {DONE: "\u2714", FAILING: "\u2718", NOT_STARTED: "\u25cb"}
COLOURS = {DONE: "#1a7f37", FAILING: "#cf222e", NOT_STARTED: "#6e7781"}
RUN_ALL_STOPS = "Run All stops at its self-check"


@dataclass(frozen=True)
class Exercise:
    """One exercise of the lesson: its number, function, points and self-check source."""

    number: int
    name: str
    points: float
    check: str

    @property
    def title(self):
        return f"Exercise {self.number}"


class UnfinishedExercise(Exception):
    """A cell needed an exercise that is not done yet. IPython shows its message alone."""

    def _render_traceback_(self):
        return [f"\x1b[1m{self}\x1b[0m"]


def notebook_file(shell):
    """The notebook the kernel runs, or None when it cannot be told."""
    for name in ("__session__", "__vsc_ipynb_file__"):
        path = shell.user_ns.get(name)
        if isinstance(path, str) and path.endswith(".ipynb") and os.path.isfile(path):
            return Path(path)
    found = list(Path.cwd().glob("*.ipynb"))
    return found[0] if len(found) == 1 else None


def lesson_exercises(shell):
    """The exercises of the notebook the kernel runs, in order ([] if its file is unknown)."""
    path = notebook_file(shell)
    if path is None:
        return []
    try:
        return _read_exercises(str(path), path.stat().st_mtime_ns)
    except (OSError, ValueError, KeyError, TypeError):  # not a lesson, or not readable
        return []


@functools.lru_cache(maxsize=4)
def _read_exercises(path, _mtime):
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    meta = [cell.get("metadata", {}).get("nbgrader", {}) for cell in cells]
    names = [m["grade_id"] for m, c in zip(meta, cells) if m.get("solution") and _is_code(c)]
    tests = {m["grade_id"]: (m, c) for m, c in zip(meta, cells) if m.get("grade")}
    exercises = []
    for number, name in enumerate(names, start=1):
        test_meta, test = tests.get(name + TEST_SUFFIX, ({}, {"source": ""}))
        points = float(test_meta.get("points", 0))
        exercises.append(Exercise(number, name, points, visible(_source(test))))
    return tuple(exercises)


def _is_code(cell):
    return cell.get("cell_type") == "code"


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def visible(source):
    """A test cell's source without its hidden tests: the same in every version of the
    notebook (the instructor's, the student's, and as graded)."""
    return HIDDEN_TESTS.sub("", source).strip()


# ---------------------------------------------------------------- gentle failures


def gentle_errors():
    """Show a cell that needs an unfinished exercise as one line (the lesson's setup cell).

    Also binds `hint` in the notebook, unless the notebook has its own. Outside IPython (a
    plain exec of the setup cell) it does nothing.
    """
    shell = get_ipython()
    if shell is not None:
        # not every exception: handled here, an error inside an interactive figure's output
        # made nbclient wait a whole cell timeout (120 s) in one run of two
        shell.set_custom_exc((NotImplementedError, NameError, CheckFailed), _show_error)
        shell.user_ns.setdefault("hint", hint)


def _show_error(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for the errors a cell raises (installed by gentle_errors)."""
    unfinished = unfinished_exercise(shell, value, tb)
    if unfinished is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    else:
        # the original traceback stays reachable, for %debug
        shell.showtraceback((UnfinishedExercise, unfinished, tb))
    if "__session__" in shell.user_ns:  # JupyterLab's kernel
        display(HTML(INTO_VIEW % (time.time() * 1000)))


# Run All in JupyterLab shows the last cell, even when the run stopped at a failing cell far
# above (jupyterlab/jupyterlab#8714): the cell that failed brings itself into view, by a
# script in an (empty) HTML output, which JupyterLab runs when the output is its own. Only
# just now: a notebook opened again later, its outputs trusted and run again, stays put.
INTO_VIEW = """<script>{
  const cell = document.currentScript && document.currentScript.closest(".jp-Cell");
  if (cell && Date.now() - %d < 10000) {
    setTimeout(() => cell.scrollIntoView({block: "center"}), 200);
  }
}</script>"""


def unfinished_exercise(shell, error, tb):
    """An UnfinishedExercise when `error` comes from an exercise not done yet, else None.

    A NotImplementedError counts when a function the notebook defined raised it itself
    (a stub); a NameError when the missing name is one of the lesson's exercises, or a name
    that an earlier cell could not compute because it stopped at an unfinished exercise.
    """
    exercises = {exercise.name: exercise for exercise in lesson_exercises(shell)}
    if isinstance(error, NameError):
        if error.name in exercises:
            cause = f"{_named(error.name, exercises)}, which is not defined yet"
            message = f"this cell uses {cause}: run its cell first"
        elif error.name in _blocked:
            cause = _blocked[error.name]
            message = f"this cell uses `{error.name}`, which a cell above could not compute: "
            message += f"it needs {cause}"
        else:
            return None
    else:
        code = _frames(tb)[-1].f_code
        function = shell.user_ns.get(code.co_name)
        if getattr(function, "__code__", None) is not code or function.__module__ != "__main__":
            return None
        cause = f"{_named(code.co_name, exercises)}, which is not implemented yet"
        message = f"this cell uses {cause}"
    for name in _unassigned(shell, tb):
        _blocked[name] = cause
    return UnfinishedExercise(message)


def _named(name, exercises):
    """`name` (Exercise N), or `name` alone when it is not one of the lesson's exercises."""
    exercise = exercises.get(name)
    return f"`{name}` ({exercise.title})" if exercise else f"`{name}`"


# names that a cell which stopped at an unfinished exercise did not assign -> that exercise
_blocked = {}


def _frames(tb):
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


def _unassigned(shell, tb):
    """The names the failed cell assigns at its top level that it did not get to."""
    cell = next((f for f in _frames(tb) if f.f_code.co_name == "<module>"), None)
    if cell is None:
        return []
    try:
        tree = ast.parse("".join(linecache.getlines(cell.f_code.co_filename)))
    except SyntaxError:
        return []
    names = set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.ClassDef):
            names.add(statement.name)
        else:
            names.update(
                node.id
                for node in ast.walk(statement)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
            )
    return [name for name in names if name not in shell.user_ns]


# ---------------------------------------------------------------- progress


def progress():
    """List the lesson's exercises as done, failing or not started (the progress cell).

    Runs every self-check of the functions the kernel has, quietly; an exercise whose
    function is not defined yet is not started. The list then follows the self-check
    cells as they run, until the cell runs again.
    """
    shell = get_ipython()
    exercises = lesson_exercises(shell) if shell is not None else ()
    if not exercises:
        print("The progress list needs this notebook's file, which the kernel cannot find here.")
        print("It shows when the lesson runs in JupyterLab.")
        return
    Progress(shell, exercises).start()


def _status(error):
    """(state, diagnosis) of a self-check that raised `error` (None: it passed)."""
    if error is None:
        return DONE, ""
    if isinstance(error, NameError) or getattr(error, "kind", "") == "not implemented":
        return NOT_STARTED, ""
    first = first_line(getattr(error, "brief", str(error)).strip())  # no hint: see `hint`
    if not isinstance(error, AssertionError):  # CheckFailed is one: its line says it all
        first = f"{type(error).__name__}: {first}".rstrip(": ")
    return FAILING, first


class Progress:
    """The progress list of one run of the progress cell, and the hook that updates it."""

    current = None  # the list shown last: the one the hook updates

    def __init__(self, shell, exercises):
        self.shell = shell
        self.exercises = exercises
        self.by_check = {exercise.check: exercise for exercise in exercises if exercise.check}
        self.status = {exercise.name: (NOT_STARTED, "") for exercise in exercises}
        self.handle = None

    def start(self):
        for exercise in self.exercises:
            self.status[exercise.name] = self.run_check(exercise)
        self.handle = display(self.bundle(), raw=True, display_id=True)
        previous, Progress.current = Progress.current, self
        events = self.shell.events
        if previous is not None and previous.after_cell in events.callbacks["post_run_cell"]:
            events.unregister("post_run_cell", previous.after_cell)
        events.register("post_run_cell", self.after_cell)

    def run_check(self, exercise):
        """Run an exercise's self-check quietly: its status."""
        if not callable(self.shell.user_ns.get(exercise.name)) or not exercise.check:
            return NOT_STARTED, ""
        namespace = dict(self.shell.user_ns)  # the check's imports stay out of the notebook
        quiet = io.StringIO()
        with (
            contextlib.redirect_stdout(quiet),
            contextlib.redirect_stderr(quiet),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            try:
                exec(compile(exercise.check, f"<self-check of {exercise.name}>", "exec"), namespace)
            except Exception as error:
                return _status(error)
        return _status(None)

    def after_cell(self, result):
        """After every cell: a self-check cell that just ran updates its exercise's line."""
        exercise = self.by_check.get(visible(result.info.raw_cell or "")) if result.info else None
        if exercise is None:
            return
        self.status[exercise.name] = _status(result.error_before_exec or result.error_in_exec)
        self.handle.update(self.bundle(), raw=True)

    # what the list says, as HTML (JupyterLab, feedback pages) and as text

    def bundle(self):
        done = [e for e in self.exercises if self.status[e.name][0] == DONE]
        count = (
            f"{len(done)} of {len(self.exercises)} exercises pass their self-checks, "
            f"{sum(e.points for e in done):g} of {_points(sum(e.points for e in self.exercises))}"
        )
        following = next((e for e in self.exercises if self.status[e.name][0] != DONE), None)
        lines = [f"Progress: {count}."]
        paragraph = [f"<b>Progress:</b> {count}."]
        if following is None:
            lines.append("All done: press Validate before you hand the notebook in.")
            paragraph.append("<b>All done:</b> press Validate before you hand the notebook in.")
        else:
            lines.append(f"Next: {following.title}, {following.name} ({RUN_ALL_STOPS}).")
            paragraph.append(f"<b>Next: {_link(following)}</b> ({RUN_ALL_STOPS}).")
        rows = []
        for e in self.exercises:
            state, diagnosis = self.status[e.name]
            said = f"{state}: {diagnosis}" if diagnosis else state
            lines.append(f"  {MARKS[state]} {e.title}, {e.name}  {_points(e.points)}  {said}")
            left = f"text-align:left;color:{COLOURS[state]}"
            cells = [
                f"<td style='{left}'>{MARKS[state]}</td>",
                f"<td style='text-align:left;white-space:nowrap'>{_link(e)}</td>",
                f"<td style='text-align:left;white-space:nowrap'>{_points(e.points)}</td>",
                f"<td style='{left}'>{html.escape(said)}</td>",
            ]
            rows.append(f"<tr>{''.join(cells)}</tr>")
        page = f"<p>{'<br>'.join(paragraph)}</p><table>{''.join(rows)}</table>"
        return {"text/html": page, "text/plain": "\n".join(lines)}


def _link(exercise):
    """A link to the exercise's heading ("### Exercise 1: `name`" has the id below)."""
    anchor = f"#Exercise-{exercise.number}:-{exercise.name}"
    return f"<a href='{anchor}'>{exercise.title}, <code>{exercise.name}</code></a>"


def _points(value):
    return f"{value:g} point" + ("" if value == 1 else "s")
