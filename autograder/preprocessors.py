"""Two nbgrader preprocessors the course adds to nbgrader's own."""

import re

from nbconvert.preprocessors import Preprocessor
from nbgrader import utils

SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


class ShowOnlyDiagnoses(Preprocessor):
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


class StripSolutionMarkers(Preprocessor):
    """Drop the ### BEGIN/END SOLUTION lines, keeping the solution between them."""

    def preprocess_cell(self, cell, resources, index):
        if utils.is_solution(cell):
            lines = cell.source.splitlines()
            cell.source = "\n".join(line for line in lines if not SOLUTION_MARKER.match(line))
        return cell, resources
