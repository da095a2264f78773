"""Which students handed in the same code for a lesson, or the published solution.

Every submission's solution cells are compared with every other student's of the same
lesson, and with the published solutions (solutions/), exercise by exercise. A cell is first
reduced to what a copier does not change by renaming, commenting, reformatting or
reordering independent lines: Python's own parser (ast) reads it, so that comments, layout
and docstrings go; every name the cell binds (arguments, variables, helper functions)
becomes `_`, while what it uses from outside (np.sum, axis=-1, .T, another exercise's
function) stays. Each statement is then one unit, printed back by ast.unparse, and a cell is
the multiset of the K-token runs of its units: a run never spans two statements, so the
order of the statements does not matter. The student version's starter code (lessons/: the
signature, the docstring, a given helper) is subtracted from every cell: it is nobody's
work. A cell left as the starter has nothing left, and counts as not attempted.

Two submissions' similarity is the weighted Jaccard index of those multisets, pooled over
the exercises both attempted: the runs they share over the runs either has. A pair at or
above THRESHOLD, over at least MIN_RUNS runs, is flagged: a reason for the instructor to
look at the two submissions side by side, never a grade. benchmarks/similarity_quality.py
measures how well this separates disguised copies from honest answers.
"""

import ast
import copy
import itertools
import keyword
import re
from collections import Counter
from dataclasses import dataclass

import nbformat

from autograder.course import LESSONS, SOLUTIONS

PUBLISHED = "published solution"
K = 4  # tokens per run: long enough to say more than one name, short enough to survive edits
THRESHOLD = 0.7  # the similarity from which a pair is flagged
MIN_RUNS = 40  # fewer runs compared than this (a line or two) is too little to flag
# intake's reasons for a notebook it did not copy to OUT/course/submitted: a copy there is
# from an earlier run, not what the student hands in now
NOT_HANDED_IN = ("missing notebook", "refused", "not a regular file", "larger than", "unreadable")
_TOKEN = re.compile(r"\w+|[^\s\w]")
_BODIES = ("body", "orelse", "finalbody")


@dataclass(frozen=True)
class Cell:
    """One solution cell as handed in, and what is compared of it."""

    source: str
    runs: Counter  # the K-token runs of its statements, starter code subtracted
    units: dict  # normalised statement -> [(first, last) line (1-based) in source]
    starter: frozenset  # the starter code's lines, stripped: left out of the side-by-side view
    size: int  # how many runs, counted as a multiset


@dataclass(frozen=True)
class Pair:
    """Two submissions of one lesson compared (student_b may be PUBLISHED)."""

    lesson: str
    student_a: str
    student_b: str
    similarity: float
    runs: int  # the runs compared: the size of the union over the exercises both attempted
    cells_a: dict  # grade_id -> Cell, the exercises both attempted
    cells_b: dict

    @property
    def flagged(self):
        return self.similarity >= THRESHOLD and self.runs >= MIN_RUNS

    def side_by_side(self):
        """[(grade_id, similarity, lines of a, lines of b)] for the exercises both attempted,
        most similar first; lines are (text, shared with the other side), starter lines
        left out."""
        views = []
        for grade_id, a in self.cells_a.items():
            b = self.cells_b[grade_id]
            shared = _shared(a, b)
            similarity = shared / (a.size + b.size - shared)
            views.append((grade_id, similarity, _view(a, b), _view(b, a)))
        return sorted(views, key=lambda view: -view[1])


class _Anonymise(ast.NodeTransformer):
    """Every name the cell binds becomes `_`; strings become "S"; docstrings go."""

    def __init__(self, bound):
        self.bound = bound

    def visit_Name(self, node):
        return ast.Name("_", node.ctx) if node.id in self.bound else node

    def visit_arg(self, node):
        node.arg, node.annotation = "_", None
        return node

    def visit_FunctionDef(self, node):
        node.name, node.returns = "_", None
        if _docstring(node.body):
            node.body = node.body[1:] or [ast.Pass()]
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ExceptHandler(self, node):
        node.name = "_" if node.name else None
        return self.generic_visit(node)

    def visit_Constant(self, node):
        return ast.Constant("S") if isinstance(node.value, str) else node

    def visit_JoinedStr(self, node):
        return ast.Constant("S")


def _docstring(body):
    first = body[0] if body else None
    value = getattr(first, "value", None) if isinstance(first, ast.Expr) else None
    return isinstance(value, ast.Constant) and isinstance(value.value, str)


def _bound(tree):
    """The names a cell binds: assigned, arguments, functions and classes it defines."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
    return names


def _statements(body):
    """(normalised statement, first line, last line) for every statement of body, nested
    ones included; a compound statement is its header line, its body follows as units."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue  # which modules a cell imports says nothing about who wrote it
        bodies = [getattr(node, name) for name in _BODIES if getattr(node, name, None)]
        bodies += [handler.body for handler in getattr(node, "handlers", [])]
        if not bodies:
            yield ast.unparse(node), node.lineno, node.end_lineno
            continue
        header = copy.copy(node)
        for name in (*_BODIES, "handlers"):
            if hasattr(header, name):
                setattr(header, name, [])
        header.body = [ast.Pass()]
        # the line before `pass` (after any decorators)
        yield ast.unparse(header).splitlines()[-2], node.lineno, node.lineno
        for inner in bodies:
            yield from _statements(inner)


def _fallback_statements(source, given):
    """Statements of a cell Python cannot parse: its lines that are not among the starter's
    (given: stripped lines), comments dropped, names masked."""
    for number, line in enumerate(source.splitlines(), start=1):
        code = line.split("#", 1)[0].strip()
        if code and line.strip() not in given:
            tokens = [
                "_" if t.isidentifier() and not keyword.iskeyword(t) else t
                for t in _TOKEN.findall(code)
            ]
            yield " ".join(tokens), number, number


def _units(source, given=frozenset()):
    """{normalised statement: [(first, last) line]} of a cell's source; given: the starter's
    stripped lines, left out when the source cannot be parsed."""
    try:
        tree = ast.parse(source)
        statements = list(_statements(_Anonymise(_bound(tree)).visit(tree).body))
    except (SyntaxError, ValueError, RecursionError):
        statements = list(_fallback_statements(source, given))
    units = {}
    for text, first, last in statements:
        units.setdefault(text, []).append((first, last))
    return units


def _runs(units):
    """The multiset of the K-token runs of the units (a shorter unit is one run)."""
    runs = Counter()
    for text, places in units.items():
        tokens = _TOKEN.findall(text)
        for i in range(max(1, len(tokens) - K + 1)):
            runs[tuple(tokens[i : i + K])] += len(places)
    return runs


def read_cell(source, starter=""):
    """The Cell of a solution cell's source, the starter code subtracted."""
    lines = frozenset(line.strip() for line in starter.splitlines())
    units, given = _units(source, lines), _units(starter)
    runs = _runs(units) - _runs(given)
    mine = {text: places for text, places in units.items() if text not in given}
    return Cell(source, runs, mine, lines, runs.total())


def _view(cell, other):
    """The cell's lines that are not the starter's, each with whether the other cell has
    the statement it belongs to."""
    shared = {
        line
        for text, places in cell.units.items()
        if text in other.units
        for first, last in places
        for line in range(first, last + 1)
    }
    return [
        (text, number in shared)
        for number, text in enumerate(cell.source.splitlines(), start=1)
        if text.strip() and text.strip() not in cell.starter
    ]


def _shared(a, b):
    """The runs two cells share, counted as a multiset (the size of runs_a & runs_b)."""
    small, large = sorted((a.runs, b.runs), key=len)
    return sum(min(n, large[run]) for run, n in small.items() if run in large)


def compare(lesson, name_a, cells_a, name_b, cells_b):
    """The Pair of two submissions ({grade_id: Cell}), or None when they have no attempted
    exercise in common."""
    both = [g for g, cell in cells_a.items() if cell.runs and g in cells_b and cells_b[g].runs]
    if not both:
        return None
    shared = sum(_shared(cells_a[g], cells_b[g]) for g in both)
    union = sum(cells_a[g].size + cells_b[g].size for g in both) - shared
    return Pair(
        lesson,
        name_a,
        name_b,
        shared / union,
        union,
        {g: cells_a[g] for g in both},
        {g: cells_b[g] for g in both},
    )


def compare_lesson(lesson, submissions, published, starter):
    """Every pair of a lesson: each two students, and each student with the published
    solution. submissions: {student: {grade_id: source}}; published and starter:
    {grade_id: source}."""
    cells = {
        student: {g: read_cell(src, starter.get(g, "")) for g, src in sources.items()}
        for student, sources in submissions.items()
    }
    solution = {g: read_cell(src, starter.get(g, "")) for g, src in published.items()}
    students = sorted(cells)
    pairs = [
        compare(lesson, a, cells[a], b, cells[b]) for a, b in itertools.combinations(students, 2)
    ]
    pairs += [compare(lesson, s, cells[s], PUBLISHED, solution) for s in students]
    return [pair for pair in pairs if pair]


def solution_sources(path):
    """{grade_id: source} of the solution code cells of the notebook at path."""
    nb = nbformat.read(path, as_version=4)
    return {
        meta["grade_id"]: cell.source
        for cell in nb.cells
        if cell.cell_type == "code"
        and (meta := cell.get("metadata", {}).get("nbgrader", {})).get("solution")
        and meta.get("grade_id")
    }


def class_pairs(out, results):
    """Every pair of every lesson of a graded class: the submissions as nbgrader keeps them
    (OUT/course/submitted), the published solutions and the starter code of the course."""
    by_lesson = {}
    for r in results:
        path = out / "course" / "submitted" / r.student / r.lesson / r.notebook
        if r.problem.startswith(NOT_HANDED_IN) or not path.is_file():
            continue
        try:
            sources = solution_sources(path)
        except Exception:  # a file nbformat cannot read was scored 0 already: nothing to compare
            continue
        by_lesson.setdefault((r.lesson, r.notebook), {})[r.student] = sources
    pairs = []
    for (lesson, notebook), submissions in sorted(by_lesson.items()):
        published = solution_sources(SOLUTIONS / lesson / notebook)
        starter = solution_sources(LESSONS / lesson / notebook)
        pairs += compare_lesson(lesson, submissions, published, starter)
    return pairs
