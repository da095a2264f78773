"""The nbgrader preprocessors the course adds to nbgrader's own."""

import re

import nbformat
from nbgrader import utils
from nbgrader.preprocessors.base import NbGraderPreprocessor
from traitlets import Unicode

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
        stored = ResultStore(self.results_dir).notebook(info["student"], info["assignment"])
        executed = nbformat.reads(stored, as_version=4)
        if [c.source for c in executed.cells] != [c.source for c in nb.cells]:
            raise RuntimeError("the executed notebook does not match the sanitized submission")
        for cell, done in zip(nb.cells, executed.cells):
            if cell.cell_type == "code":
                cell.outputs = done.outputs
                cell.execution_count = done.execution_count
        return nb, resources
