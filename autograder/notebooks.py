"""Reading the exercises out of an nbgrader notebook.

Conventions of the course: the solution cell of exercise `f` has grade_id `f` and defines
the function `f`; its graded test cell, right after it, has grade_id `f_test`.
"""

import functools
from dataclasses import dataclass

import nbformat
from nbgrader.preprocessors import ClearSolutions

from autograder.course import SOURCE, notebook_name
from autograder.record.preprocessors import SOLUTION_MARKER
from gradlab.notebook import HIDDEN_TESTS, visible

TEST_SUFFIX = "_test"


@dataclass(frozen=True)
class GradedCell:
    grade_id: str
    points: float
    source: str

    @property
    def exercise(self):
        """The name of the function this cell tests."""
        return self.grade_id.removesuffix(TEST_SUFFIX)

    @property
    def visible(self):
        """The tests every student sees (the cell without its hidden tests)."""
        return visible(self.source)

    @property
    def hidden(self):
        """The hidden tests, "" when it has none."""
        return "\n".join(HIDDEN_TESTS.findall(self.source))


def read(path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def graded_cells(nb):
    """The graded test cells of a notebook, in order."""
    return [
        GradedCell(meta["grade_id"], float(meta.get("points", 0)), cell.source)
        for cell in nb.cells
        if (meta := nbgrader_meta(cell)).get("grade") and not meta.get("solution")
    ]


def exercises(nb):
    """The names of the functions students write in a notebook, in order."""
    return [
        meta["grade_id"]
        for cell in nb.cells
        if (meta := nbgrader_meta(cell)).get("solution") and cell.cell_type == "code"
    ]


@functools.cache
def source_notebook(lesson):
    """The source notebook of a lesson (read once per process; do not modify it)."""
    return read(SOURCE / lesson / notebook_name(lesson))


def graded_cell(lesson, exercise):
    """The graded test cell of `exercise` in the source notebook of `lesson`."""
    for cell in graded_cells(source_notebook(lesson)):
        if cell.exercise == exercise:
            return cell
    raise KeyError(f"no test cell {exercise}{TEST_SUFFIX} in lesson {lesson}")


@dataclass(frozen=True)
class WrittenQuestion:
    """A written question: nbgrader's "manually graded answer" cell (markdown, solution and
    grade), after the markdown cell that asks it; its solution region holds the model answer
    and the rubric, which the student's version replaces by "YOUR ANSWER HERE"."""

    grade_id: str
    points: float
    question: str
    answer: str  # the model answer and the rubric, as the source notebook gives them


def is_written(cell):
    meta = nbgrader_meta(cell)
    return cell.cell_type == "markdown" and bool(meta.get("grade") and meta.get("solution"))


def written_questions(nb):
    """The written questions of a (source) notebook, in order."""
    found = []
    for before, cell in zip([None, *nb.cells], nb.cells):
        if is_written(cell):
            meta = nbgrader_meta(cell)
            asked = before.source if before is not None and before.cell_type == "markdown" else ""
            lines = cell.source.splitlines()
            answer = "\n".join(line for line in lines if not SOLUTION_MARKER.match(line)).strip()
            found.append(WrittenQuestion(meta["grade_id"], float(meta["points"]), asked, answer))
    return found


def without_written(nb):
    """A copy of a notebook whose written questions are no longer graded: their answer cells
    are plain markdown, as the student's version has them (nbgrader's stub for an answer),
    so that the gradebook knows neither them nor their points."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if is_written(cell):
            del cell.metadata["nbgrader"]
            cell.source = ClearSolutions().text_stub
    return nb
