"""Which students handed in the same code for a lesson, or the published solution.

Every submission's solution cells are compared with the published solutions (solutions/) and
with every other student's of the same lesson whose code is alike enough to be worth it
(`candidates`, locality-sensitive hashing: the rest cannot be a copy), exercise by exercise.
A cell is first reduced to what a copier does not change by renaming, commenting,
reformatting or reordering independent lines: Python's own parser (ast) reads it, so that
comments, layout and docstrings go; every name the cell binds (arguments, variables, helper
functions) becomes `_`, while what it uses from outside (np.sum, axis=-1, .T, another
exercise's function) stays. Each statement is then one unit, printed back by ast.unparse,
and a cell is the multiset of the K-token runs of its units: a run never spans two
statements, so the order of the statements does not matter. The student version's starter
code (lessons/: the signature, the docstring, a given helper) is subtracted from every cell:
it is nobody's work. A cell left as the starter has nothing left, and counts as not
attempted.

Two submissions' similarity is the weighted Jaccard index of those multisets, pooled over
the exercises both attempted: the runs they share over the runs either has. A pair at or
above THRESHOLD, over at least MIN_RUNS runs, is flagged: a reason for the instructor to
look at the two submissions side by side, never a grade; flagged pairs make groups, shown
once each. benchmarks/similarity_quality.py measures how well this separates disguised copies
from honest answers, and benchmarks/similarity_speed.py what it costs for a large class.
"""

import ast
import copy
import itertools
import json
import keyword
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np

from autograder.course import LESSONS, SOLUTIONS
from autograder.intake import MISSING

PUBLISHED = "published solution"
K = 4  # tokens per run: long enough to say more than one name, short enough to survive edits
THRESHOLD = 0.7  # the similarity from which a pair is flagged
MIN_RUNS = 40  # fewer runs compared than this (a line or two) is too little to flag
# candidates for a copy: MinHash signatures of BANDS x ROWS hashes ((a x + b) mod a prime,
# with a and b fixed, so that every run finds the same pairs), and buckets from this size on
# chained rather than paired all with all (see `candidates`)
BANDS, ROWS, BUCKET = 16, 4, 20
_PRIME = np.uint64((1 << 31) - 1)
_A, _B = (
    np.random.default_rng(2003).integers(1, int(_PRIME), BANDS * ROWS, np.uint64) for _ in "ab"
)
# intake's reasons for a notebook it did not copy to OUT/course/submitted: a copy there is
# from an earlier run, not what the student hands in now
NOT_HANDED_IN = (MISSING, "refused", "not a regular file", "larger than", "unreadable")
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
    lines = [
        (text, number in shared)
        for number, text in enumerate(cell.source.splitlines(), start=1)
        if text.strip() and text.strip() not in cell.starter
    ]
    # what the report shows of it: a class of copies of one long cell is not a report of GBs
    kept, left = [], VIEW_CHARS
    for text, same in lines:
        if left <= 0:
            kept.append((f"[{len(lines) - len(kept)} more lines not shown]", False))
            break
        kept.append((text[:left], same))
        left -= len(text)
    return kept


VIEW_CHARS = 20_000  # of a cell shown beside another in the report (a solution is ~2,000)


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
    """The pairs of a lesson worth a look, found without comparing every two students: each
    student with the published solution, and each two students whose code is alike
    (`candidates`). submissions: {student: {grade_id: source}}; published and starter:
    {grade_id: source}."""
    cells = {
        student: {g: read_cell(src, starter.get(g, "")) for g, src in sources.items()}
        for student, sources in submissions.items()
    }
    solution = {g: read_cell(src, starter.get(g, "")) for g, src in published.items()}
    pairs = {}

    def add(a, b):
        if (a, b) not in pairs:
            other = solution if b == PUBLISHED else cells[b]
            pairs[(a, b)] = compare(lesson, a, cells[a], b, other)

    for student in sorted(cells):
        add(student, PUBLISHED)
    for a, b in sorted(candidates(cells)):
        add(a, b)
    return [pair for pair in pairs.values() if pair]


def candidates(cells):
    """The pairs of students ({student: {grade_id: Cell}}) whose sets of runs are alike
    enough to be worth comparing exactly: MinHash locality-sensitive hashing (Broder 1997;
    Leskovec, Rajaraman and Ullman, Mining of Massive Datasets, ch. 3), BANDS bands of ROWS
    hashes each. Two students whose runs overlap by a Jaccard index s share a band with
    probability 1 - (1 - s**ROWS)**BANDS: 0.99 at s = 0.7 (flagged from THRESHOLD), 0.06 at
    s = 0.3. The students of one bucket larger than BUCKET (many hand in the same code) are
    chained, each with the next, not paired all with all: the flagged links make one group
    all the same. The pairs grow with the class, not with its square."""
    buckets = {}
    for student, mine in sorted(cells.items()):
        runs = {_stable_hash(g, run) for g, cell in mine.items() for run in cell.runs}
        if not runs:
            continue
        x = np.fromiter(runs, dtype=np.uint64, count=len(runs))
        signature = ((_A[:, None] * x[None, :] + _B[:, None]) % _PRIME).min(axis=1)
        for band, rows in enumerate(signature.reshape(BANDS, ROWS)):
            buckets.setdefault((band, rows.tobytes()), []).append(student)
    found = set()
    for members in buckets.values():
        if len(members) <= BUCKET:
            found.update(itertools.combinations(members, 2))
        else:
            found.update(itertools.pairwise(members))
    return found


def _stable_hash(grade_id, run):
    """A run's hash, the same in every process (Python's own hash() of a str is not)."""
    return zlib.crc32(" ".join((grade_id, *run)).encode())


def groups(pairs):
    """The students (and the published solution) connected by flagged pairs, each group a
    set of two or more."""
    parent = {}

    def root(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for pair in pairs:
        if pair.flagged:
            parent[root(pair.student_a)] = root(pair.student_b)
    found = {}
    for member in parent:
        found.setdefault(root(member), set()).add(member)
    return [group for group in found.values() if len(group) > 1]


def central(group, pairs):
    """The member of a group most similar to the others (summed over its flagged pairs)."""
    weight = Counter()
    for pair in pairs:
        if pair.flagged and pair.student_a in group:
            weight[pair.student_a] += pair.similarity
            weight[pair.student_b] += pair.similarity
    return max(sorted(group), key=lambda member: weight[member])


def kept(pairs):
    """The pairs similarity.csv keeps: the flagged ones, each student's pair with the
    published solution, and each student's nearest neighbour among the pairs compared."""
    nearest = {}
    for pair in pairs:
        for student in (pair.student_a, pair.student_b):
            if student != PUBLISHED and pair.similarity > getattr(
                nearest.get(student), "similarity", -1
            ):
                nearest[student] = pair
    chosen = {id(p): p for p in pairs if p.flagged or p.student_b == PUBLISHED}
    chosen.update({id(p): p for p in nearest.values()})
    return list(chosen.values())


def solution_sources(path, exercises=None):
    """{exercise: source} of the notebook at path: its solution cell of that grade_id and
    every other code cell of the student's that defines the exercise's function (a copy
    pasted into a cell of its own, or its solution cell's grade_id changed or its metadata
    removed). exercises: the names to look for beyond the solution cells (default: none)."""
    # the JSON as it is: nbformat's validation would take most of a large class's time
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    if nb.get("nbformat") != 4:  # an older format, which nbformat converts
        nb = nbformat.read(path, as_version=4)
    sources = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or (meta.get("grade") and not meta.get("solution")):
            continue  # the course's test cells
        source = "".join(cell["source"])
        names = set(_DEFINED.findall(source)) & set(exercises or ())
        grade_id = meta.get("grade_id") if meta.get("solution") else None
        if isinstance(grade_id, str) and grade_id:
            names.add(grade_id)
        for name in sorted(names):
            sources[name] = f"{sources[name]}\n{source}" if name in sources else source
    return sources


_DEFINED = re.compile(r"^def\s+(\w+)\s*\(", re.M)


def class_pairs(out, results):
    """Every pair of every lesson of a graded class: the submissions as nbgrader keeps them
    (OUT/course/submitted), the published solutions and the starter code of the course."""
    by_lesson, published = {}, {}
    for r in results:
        path = out / "course" / "submitted" / r.student / r.lesson / r.notebook
        if r.problem.startswith(NOT_HANDED_IN) or not path.is_file():
            continue
        if (r.lesson, r.notebook) not in published:
            published[r.lesson, r.notebook] = solution_sources(SOLUTIONS / r.lesson / r.notebook)
        try:
            sources = solution_sources(path, published[r.lesson, r.notebook])
        except Exception:  # a file nbformat cannot read was scored 0 already: nothing to compare
            continue
        by_lesson.setdefault((r.lesson, r.notebook), {})[r.student] = sources
    pairs = []
    for (lesson, notebook), submissions in sorted(by_lesson.items()):
        starter = solution_sources(LESSONS / lesson / notebook)
        pairs += compare_lesson(lesson, submissions, published[lesson, notebook], starter)
    return pairs
