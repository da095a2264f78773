"""A demo class made from the source notebooks and the catalogue of typical mistakes.

- ada: every exercise solved (the source's solutions);
- bob: every exercise answered with the catalogue's first typical mistake for it;
- cy: the first half of each lesson's exercises solved, lessons from 05 on not handed in,
  and one notebook that is not valid JSON;
- dee: the student versions handed in untouched;
- eve: correct-looking notebooks that patch the checks instead of solving the exercises.
"""

import json
import math
import shutil
from pathlib import Path

import nbformat

from autograder.course import LESSONS, lesson_ids, notebook_name
from autograder.notebooks import nbgrader_meta, source_notebook
from autograder.record.preprocessors import SOLUTION_MARKER

STUDENTS = ("ada", "bob", "cy", "dee", "eve")
# bob's answers: the catalogue's first wrong answer per exercise (scripts/demo_mistakes.py)
MISTAKES = Path(__file__).with_name("demo_mistakes.json")

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
    """{(lesson, exercise): source} of bob's answers (autograder/demo_mistakes.json)."""
    by_lesson = json.loads(MISTAKES.read_text(encoding="utf-8"))
    return {
        (lesson, ex): src for lesson, answers in by_lesson.items() for ex, src in answers.items()
    }


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
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text('{"cells": [ this is not json', encoding="utf-8")
