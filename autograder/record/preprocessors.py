"""The nbgrader preprocessors the course adds to nbgrader's own."""

import re

import nbformat
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, GetGrades
from nbgrader.preprocessors.base import NbGraderPreprocessor
from traitlets import Unicode

from autograder.outputs import mathml
from autograder.outputs.sanitize import clean_html
from autograder.record import manual
from autograder.record.late import late_by
from autograder.record.store import ResultStore

SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


class ShowOnlyDiagnoses(NbGraderPreprocessor):
    """Replace the traceback of a failed test cell by its diagnosis.

    A traceback quotes the line that raised, which may be a hidden test: feedback must
    show what is wrong, never the hidden code.
    """

    def preprocess_cell(self, cell, resources, index):
        if utils.is_grade(cell) and not utils.is_solution(cell):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


class GetGradesForThisWork(GetGrades):
    """nbgrader's GetGrades, for feedback on work that changed since it was graded by hand:
    until an instructor has reviewed it (autograder.record.manual), the page shows the
    automatic scores, none of the comments written for the earlier version, and a first
    cell that says so. Late work's page says how late, and what it cost."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_submission_notebook(
                info["notebook"], info["assignment"], info["student"]
            )
            self.stale = manual.stale(notebook.grades)
            seconds = notebook.assignment.total_seconds_late
        nb, resources = super().preprocess(nb, resources)
        if info["late_penalty"]:
            note = f"**Handed in {late_by(seconds)} after the due date:** {info['late_penalty']:g}"
            note += " points off the score below, as the course's late policy says."
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(note))
        if self.stale:
            info["score"] = (
                sum(
                    cell.metadata.nbgrader.get("score") or 0.0
                    for cell in nb.cells
                    if utils.is_grade(cell)
                )
                - info["late_penalty"]
            )
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(PENDING_NOTE))
        return nb, resources

    def _get_comment(self, cell, resources):
        super()._get_comment(cell, resources)
        if self.stale:
            comment = self._find(self.gradebook.find_comment, cell)
            cell.metadata.nbgrader["comment"] = comment.auto_comment

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self._find(self.gradebook.find_grade, cell)
        cell.metadata.nbgrader["score"] = manual.counted(grade)[0]

    def _find(self, find, cell):
        grade_id = cell.metadata.nbgrader["grade_id"]
        return find(grade_id, self.notebook_id, self.assignment_id, self.student_id)


PENDING_NOTE = (
    "**Your grade for this notebook is pending.** Part of it was given by hand for an "
    "earlier version of your notebook; your instructor has yet to look at this one. The "
    "scores below are the automatic checks' alone."
)


class UngradeStrayCells(NbGraderPreprocessor):
    """Make a plain cell of every cell whose nbgrader metadata is not the course's: a copy of
    a graded cell (a test or solution cell pasted twice: the first of each grade_id stays), or
    a grade_id this notebook does not have (a cell copied from another lesson).

    Run before nbgrader's own sanitize preprocessors, which would reject the whole notebook
    (DeduplicateIds empties the copies' metadata, then OverwriteCells fails on it): the
    lesson is graded as if the copy were an ordinary cell, and its graded cells are restored
    as usual.
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            self.unseen = {cell.name for cell in notebook.source_cells}
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata:
            meta = cell.metadata.nbgrader
            grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
            if isinstance(grade_id, str) and grade_id in self.unseen:
                self.unseen.remove(grade_id)
            else:
                del cell.metadata["nbgrader"]
        return cell, resources


class InertMarkers(NbGraderPreprocessor):
    """Make nbgrader's region markers (### BEGIN HIDDEN TESTS, ### END SOLUTION...) in a
    student's cells inert, with a zero-width space after their first letter: the cell reads
    the same. nbgrader's ClearHiddenTests goes through every cell when it makes the feedback,
    and raises on a marker without its end (a markdown cell that quotes one); the course's
    test cells, restored by OverwriteCells before this runs, keep theirs.
    """

    def preprocess(self, nb, resources):
        hidden, solutions = ClearHiddenTests(parent=self), ClearSolutions(parent=self)
        self.markers = [
            hidden.begin_test_delimeter,
            hidden.end_test_delimeter,
            solutions.begin_solution_delimeter,
            solutions.end_solution_delimeter,
        ]
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if not (utils.is_grade(cell) and not utils.is_solution(cell)):
            for marker in self.markers:
                cell.source = cell.source.replace(marker, f"{marker[0]}\u200b{marker[1:]}")
        return cell, resources


class SanitizeOutputs(SanitizeHTML):
    """nbconvert's SanitizeHTML on the outputs of code cells, with the course's allowlist
    (autograder.outputs.sanitize): what a student's code displays shows inert. Markdown and
    raw cells are cleaned by the templates once rendered instead: bleach on markdown source
    would escape the & and < of its LaTeX. A picture's `filenames` metadata goes too: a
    student's code could name a URL there, which the page would load; of an output's
    metadata only a picture's size is kept, and only as a number (templates write it into
    the <img> tag). Each page starts a new typesetting budget for its maths."""

    def preprocess(self, nb, resources):
        mathml.new_page()
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = self.sanitize_code_outputs(cell.outputs)
            for output in cell.outputs:
                if "metadata" in output:
                    output.metadata = nbformat.from_dict(_picture_sizes(output.metadata))
        return cell, resources

    def sanitize_html_tags(self, html_str):
        return clean_html(html_str)


def _picture_sizes(metadata):
    """Of an output's metadata, the width and height that are numbers, per mimetype."""
    kept = {}
    for key, value in metadata.items():
        if key in ("width", "height") and type(value) in (int, float):
            kept[key] = value
        elif isinstance(value, dict) and (sizes := _picture_sizes(value)):
            kept[key] = sizes
    return kept


class StripSolutionMarkers(NbGraderPreprocessor):
    """Drop the ### BEGIN/END SOLUTION lines, keeping the solution between them."""

    def preprocess_cell(self, cell, resources, index):
        if utils.is_solution(cell):
            lines = cell.source.splitlines()
            cell.source = "\n".join(line for line in lines if not SOLUTION_MARKER.match(line))
        return cell, resources


class ReplayExecution(NbGraderPreprocessor):
    """Stands in for nbgrader's Execute inside its Autograde converter.

    The notebook was already executed (by nbgrader's Execute, on a sandboxed kernel, in a
    worker) and its result stored (autograder.record.store); this puts those outputs back in,
    so that nbgrader's own SaveAutoGrades and the rest of its pipeline grade them and record
    them in the gradebook.
    """

    results_dir = Unicode("", help="the folder of the stored results of the class").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        try:
            stored = ResultStore(self.results_dir).notebook(info["student"], info["assignment"])
            executed = nbformat.reads(stored, as_version=4)
        except (OSError, ValueError, KeyError):
            executed = None
        if executed is None or [c.source for c in executed.cells] != [c.source for c in nb.cells]:
            # nbgrader's autograde run by hand on a notebook the grading command has not run
            raise RuntimeError(
                "this course runs no student code outside its sandbox: grade the class with "
                "`python -m autograder grade SUBMISSIONS --out OUT` (this folder is OUT/course)"
            )
        for cell, done in zip(nb.cells, executed.cells):
            if cell.cell_type == "code":
                cell.outputs = done.outputs
                cell.execution_count = done.execution_count
        return nb, resources
