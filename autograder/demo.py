"""A demo class made from the source notebooks and the catalogue (correct answers in other
styles, typical mistakes).

- ada: every exercise solved in her own way (the catalogue's first correct answer), and every
  written question answered (for an instructor to grade by hand in formgrader);
- bob: every exercise answered with the catalogue's first typical mistake for it;
- cy: the first half of each lesson's exercises solved in his own way (the catalogue's last
  correct answer), lessons from 05 on not handed in, and one notebook that is not valid JSON;
- dee: the student versions handed in untouched;
- eve: correct-looking notebooks that patch the checks instead of solving the exercises;
- fay: ada's notebooks, copied as they are;
- gus: the published solutions, every variable renamed.

The similarity check flags fay with ada and gus with the published solution in every lesson
with enough code to tell (lesson 05's answers are one line each), and nobody else.
"""

import ast
import json
import math
import shutil
from pathlib import Path

import nbformat

from autograder.course import LESSONS, lesson_ids, notebook_name
from autograder.notebooks import nbgrader_meta, source_notebook, written_questions
from autograder.record.preprocessors import SOLUTION_MARKER

STUDENTS = ("ada", "bob", "cy", "dee", "eve", "fay", "gus")
# bob's answers: the catalogue's first wrong answer per exercise (scripts/demo_mistakes.py)
MISTAKES = Path(__file__).with_name("demo_mistakes.json")
# ada's and cy's: the catalogue's correct answers per exercise (scripts/demo_answers.py)
ANSWERS = Path(__file__).with_name("demo_answers.json")

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
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code"
    }


def _written_answers(lesson):
    """{grade_id: ada's answer} of a lesson's written questions: the model answer, without
    its rubric, in her words (she leaves out the bold heading)."""
    return {
        q.grade_id: q.answer.split("**Rubric")[0].replace("**Model answer.**", "").strip()
        for q in written_questions(source_notebook(lesson))
    }


def _mistakes():
    """{(lesson, exercise): source} of bob's answers (autograder/demo_mistakes.json)."""
    by_lesson = json.loads(MISTAKES.read_text(encoding="utf-8"))
    return {
        (lesson, ex): src for lesson, answers in by_lesson.items() for ex, src in answers.items()
    }


def _right_answers():
    """{(lesson, exercise): [sources]} of the correct answers (autograder/demo_answers.json)."""
    by_lesson = json.loads(ANSWERS.read_text(encoding="utf-8"))
    return {
        (lesson, ex): sources
        for lesson, answers in by_lesson.items()
        for ex, sources in answers.items()
    }


def renamed(source):
    """The source with every variable it assigns renamed (my_x for x), as a copier who
    disguises a solution does; the function's name and arguments stay, as the lesson fixes
    them."""
    tree = ast.parse(source)
    arguments = {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    assigned = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    } - arguments
    spots = sorted(
        (
            (node.lineno, node.col_offset, node.id)
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and node.id in assigned
        ),
        reverse=True,  # from the end, so that earlier offsets stay valid
    )
    lines = source.splitlines()
    for lineno, col, name in spots:
        line = lines[lineno - 1]
        lines[lineno - 1] = f"{line[:col]}my_{name}{line[col + len(name) :]}"
    return "\n".join(lines)


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
    mistakes, right = _mistakes(), _right_answers()
    for lesson in lessons:
        solutions = _solutions(lesson)
        names = list(solutions)
        half = names[: math.ceil(len(names) / 2)]
        notebooks = {
            "ada": _answered(
                lesson, {**{n: right[(lesson, n)][0] for n in names}, **_written_answers(lesson)}
            ),
            "bob": _answered(lesson, {n: mistakes.get((lesson, n), "") for n in names}),
            "dee": _answered(lesson, {}),
            "eve": _answered(lesson, {n: FAKE.format(name=n) for n in names}),
            "gus": _answered(lesson, {n: renamed(solutions[n]) for n in names}),
        }
        notebooks["fay"] = notebooks["ada"]
        if lesson < "05":
            notebooks["cy"] = _answered(lesson, {n: right[(lesson, n)][-1] for n in half})
        for student, nb in notebooks.items():
            path = dest / student / lesson / notebook_name(lesson)
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
    broken = dest / "cy" / lessons[0] / notebook_name(lessons[0])
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text('{"cells": [ this is not json', encoding="utf-8")
