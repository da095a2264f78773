"""A demo class made from the source notebooks and the catalogue of typical mistakes.

- ada: every exercise solved (the source's solutions);
- bob: every exercise answered with the catalogue's first typical mistake for it;
- cy: the first half of each lesson's exercises solved, lessons from 05 on not handed in,
  and one notebook that is not valid JSON;
- dee: the student versions handed in untouched;
- eve: correct-looking notebooks that patch the checks instead of solving the exercises.
"""

import math
import shutil
import sys

import nbformat

from autograder.course import LESSONS, REPO, lesson_ids, notebook_name
from autograder.notebooks import nbgrader_meta, source_notebook
from autograder.record.preprocessors import SOLUTION_MARKER

STUDENTS = ("ada", "bob", "cy", "dee", "eve")

# Eve's "answer": make the check in the notebook pass whatever the function returns
FAKE = """import gradlab.checking as _checking

_checking.compare = lambda *args, **kwargs: None  # every comparison now "passes"


def {name}(*args):
    return args[0]
"""


def _solutions(lesson):
    """{exercise: solution source without the nbgrader markers} of a lesson."""
    return {
        nbgrader_meta(cell)["grade_id"]: "\n".join(
            line for line in cell.source.splitlines() if not SOLUTION_MARKER.match(line)
        )
        for cell in source_notebook(lesson).cells
        if nbgrader_meta(cell).get("solution")
    }


def _mistakes():
    sys.path.insert(0, str(REPO))  # the catalogue lives in the test suite
    from tests.catalogue import answers

    first = {}
    for answer in answers():
        if answer.diagnosis is not None:
            first.setdefault((answer.lesson, answer.exercise), answer.cell_source())
    return first


def _answered(lesson, answers):
    """The student version of `lesson` with the solution cells in `answers` replaced."""
    nb = nbformat.read(LESSONS / lesson / notebook_name(lesson), as_version=4)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def make_class(dest, lessons=None):
    """Write the demo class into dest, laid out as nbgrader's submitted/."""
    lessons = lessons or lesson_ids()
    shutil.rmtree(dest, ignore_errors=True)
    mistakes = _mistakes()
    for lesson in lessons:
        solutions = _solutions(lesson)
        names = list(solutions)
        half = names[: math.ceil(len(names) / 2)]
        notebooks = {
            "ada": _answered(lesson, solutions),
            "bob": _answered(lesson, {n: mistakes.get((lesson, n), "") for n in names}),
            "dee": _answered(lesson, {}),
            "eve": _answered(lesson, {n: FAKE.format(name=n) for n in names}),
        }
        if lesson < "05":
            notebooks["cy"] = _answered(lesson, {n: solutions[n] for n in half})
        for student, nb in notebooks.items():
            path = dest / student / lesson / notebook_name(lesson)
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
    broken = dest / "cy" / lessons[0] / notebook_name(lessons[0])
    broken.write_text('{"cells": [ this is not json', encoding="utf-8")


def grade_table(results):
    """The grades as a text table, one row per student, one column per lesson."""
    lessons = sorted({r.lesson for r in results})
    width = max(len(x) for x in lessons) + 1
    lines = ["student".ljust(9) + "".join(x.rjust(width) for x in lessons) + "   total"]
    for student in sorted({r.student for r in results}):
        mine = {r.lesson: r for r in results if r.student == student}
        cells = "".join(f"{mine[x].score:g}/{mine[x].max_score:g}".rjust(width) for x in lessons)
        total = sum(r.score for r in mine.values())
        best = sum(r.max_score for r in mine.values())
        lines.append(student.ljust(9) + cells + f"   {total:g}/{best:g}")
    return "\n".join(lines)
