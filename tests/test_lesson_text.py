"""The prose of every lesson as a student reads it: the markdown cells of every notebook in
source/, lessons/ and solutions/ (whatever lesson folders exist).

- no control characters but the newline: a TAB or a form feed in a markdown cell is almost
  always a backslash eaten by a non-raw Python string ("\\text" written as "\\t" + "ext"), and
  the formula then typesets silently wrong;
- no words a student cannot follow: the source material the course was written from is not
  given to students, so "the seed notes" and the like must be real citations or go;
- no placeholders (`PERF_...`, `TODO`, `XXX`) left in the text;
- two slips of LaTeX that MathJax typesets without complaint: a derivative with respect to
  nothing (`\\frac{...}{\\partial}`), and a backslash inside `\\text{...}`-like arguments, which
  renderers without MathJax's textmacros extension (MathJax 2 in the feedback HTML, GitHub)
  print as a visible backslash. The browser tests check what MathJax itself reports;
- no answer before its exercise: no statement of an exercise's solution in the code of a
  markdown cell (code spans and blocks) or in the scaffold (comments and code outside the
  solution) of any cell before the solution's own, nor in that cell's scaffold. The derivation
  is the lesson's, in maths; turning it into code is the student's.

The word "seed" as a random-number seed is legitimate; only the phrases that refer to source
material are refused.
"""

import ast
import re
import textwrap
import unicodedata
from pathlib import Path

import nbformat
import pytest

from autograder.course import lesson_ids
from autograder.notebooks import nbgrader_meta, source_notebook

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("source", "lessons", "solutions")
LESSON_ID = re.compile(r"^\d\d_[a-z0-9_]+$")


def lesson_notebooks():
    """Every notebook of every lesson folder of source/, lessons/ and solutions/."""
    return sorted(
        path
        for folder in FOLDERS
        for path in (REPO / folder).glob("*/*.ipynb")
        if LESSON_ID.match(path.parent.name)
    )


NOTEBOOKS = lesson_notebooks()
IDS = [str(path.relative_to(REPO).parent) for path in NOTEBOOKS]

# phrases that point students to material they do not have; the RNG "seed" is left alone
LEFTOVERS = [
    (
        re.compile(
            r"\bseeds?\s+(notes?|materials?|posts?|texts?|sources?|derivations?|blogs?|"
            r"lectures?|documents?|numbering|code|authors?)\b",
            re.IGNORECASE,
        ),
        "refers to the course's source material, which students never see",
    ),
    (re.compile(r"\bthe\s+seeds\b", re.IGNORECASE), "refers to the course's source material"),
    (re.compile(r"\bseed['’]s\b", re.IGNORECASE), "refers to the course's source material"),
    (
        re.compile(
            r"\b(in|from|of|by|after)\s+the\s+seed\b(?!\s*(=|\d|value|slider|argument))",
            re.IGNORECASE,
        ),
        "refers to the course's source material",
    ),
    (
        re.compile(
            r"\bthe\s+seed\s+(writes|says|uses|derives|shows|gives|has|defines|calls)\b",
            re.IGNORECASE,
        ),
        "refers to the course's source material",
    ),
    (re.compile(r"PERF_[A-Z]"), "a placeholder for a measured figure"),
    (re.compile(r"\bTODO\b"), "a placeholder"),
    (re.compile(r"\bXXX\b"), "a placeholder"),
]

# a derivative with respect to nothing: \frac{\partial L}{\partial}
BARE_PARTIAL = re.compile(r"\\frac\s*\{[^{}]*\}\s*\{\s*\\partial\s*\}")
# the argument of \text, \texttt, \textbf, ...: text mode, where \_ or \alpha are not macros
TEXT_ARGUMENT = re.compile(r"\\text[a-z]*\s*\{([^{}]*)\}")


def markdown_cells(path):
    """(index, source) of the notebook's markdown cells."""
    nb = nbformat.read(path, as_version=4)
    return [(i, cell.source) for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"]


def where(source, position):
    """Line number and a short excerpt around a position of a cell's source."""
    line = source.count("\n", 0, position) + 1
    excerpt = source[max(0, position - 30) : position + 30]
    return line, excerpt


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_markdown_has_no_control_characters(path):
    problems = []
    for index, source in markdown_cells(path):
        for position, char in enumerate(source):
            if char != "\n" and unicodedata.category(char) == "Cc":
                line, excerpt = where(source, position)
                problems.append(f"cell {index}, line {line}: {char!r} in {excerpt!r}")
    if problems:
        pytest.fail(
            f"{path.relative_to(REPO)}: control characters in markdown (a TAB where '\\t' of "
            "'\\text' or '\\top' was written in a non-raw Python string?):\n" + "\n".join(problems)
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_markdown_has_no_leftovers_or_placeholders(path):
    problems = []
    for index, source in markdown_cells(path):
        for pattern, why in LEFTOVERS:
            for match in pattern.finditer(source):
                line, excerpt = where(source, match.start())
                problems.append(
                    f"cell {index}, line {line}: {match.group(0)!r} ({why}): {excerpt!r}"
                )
    if problems:
        pytest.fail(f"{path.relative_to(REPO)}:\n" + "\n".join(problems))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_markdown_maths_has_no_silent_slips(path):
    problems = []
    for index, source in markdown_cells(path):
        for match in BARE_PARTIAL.finditer(source):
            line, _ = where(source, match.start())
            problems.append(
                f"cell {index}, line {line}: {match.group(0)!r} differentiates with respect "
                "to nothing"
            )
        for match in TEXT_ARGUMENT.finditer(source):
            if "\\" in match.group(1):
                line, _ = where(source, match.start())
                problems.append(
                    f"cell {index}, line {line}: {match.group(0)!r}: a backslash in text mode "
                    "shows as a backslash outside JupyterLab (use \\mathtt{x\\_pad}, not "
                    "\\texttt{x\\_pad})"
                )
    if problems:
        pytest.fail(f"{path.relative_to(REPO)}:\n" + "\n".join(problems))


def test_every_lesson_folder_is_covered():
    """The parametrisation found the lessons (a glob that matches nothing tests nothing)."""
    for folder in FOLDERS:
        lessons = [p for p in (REPO / folder).iterdir() if LESSON_ID.match(p.name)]
        assert lessons, f"no lesson folder in {folder}/"
        for lesson in lessons:
            assert list(lesson.glob("*.ipynb")), f"{folder}/{lesson.name} has no notebook"


# ---------------------------------------------------------------- no answer before its exercise

# What the course contract itself fixes may be stated before the exercise: a loss, a shape, a
# mask or the batches are the exercise's definition, not its answer.
CONTRACT = {
    "03_linear_classifiers": {"reg*sum(W**2)"},
    "06_conv_weight_sharing": {"n-k+1"},
    "10_batchnorm_dropout": {"rng.random(x.shape)<keep_prob"},
    "12_capstone": {"order[start:start+batch_size]"},
}
# Lesson 00 is maintained apart from the others: its scaffold still spells out the solution's
# loop. The mark is strict, so that the test says when it can go.
KNOWN = {}  # lesson -> why its text still shows an answer (an expected failure, strict)
OPERATORS = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp)
SHORTEST = 5  # characters: shorter statements ("-g", "t+1") are not an answer to anything
CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.DOTALL)
MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def squeezed(text):
    """Code text without whitespace, `np.` or `np.linalg.`, and with 2.0 written 2."""
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"\bnp\.(linalg\.)?", "", text)
    return re.sub(r"(?<![\w.])(\d+)\.0(?!\d)", r"\1", text)


def normalised(node):
    """One spelling of a piece of code: unparsed by ast, then squeezed."""
    return squeezed(ast.unparse(node))


def code_of(text):
    """The normalised code of a piece of text: parsed when it is Python, squeezed when it is
    pseudo-code."""
    try:
        return normalised(ast.parse(text))
    except SyntaxError:
        return squeezed(text)


def split(source):
    """(solution, scaffold) of an exercise's cell: the code between the markers, and the rest
    without its docstring (the docstring states the contract: what the function returns)."""
    solution, scaffold, inside = [], [], False
    for line in source.splitlines():
        if MARKER.match(line):
            inside = "BEGIN" in line
        else:
            (solution if inside else scaffold).append(line)
    scaffold = "\n".join(scaffold)
    for node in ast.walk(ast.parse(scaffold)):
        if isinstance(node, ast.FunctionDef) and (doc := ast.get_docstring(node, clean=False)):
            scaffold = scaffold.replace(doc, "", 1)
    return textwrap.dedent("\n".join(solution)), scaffold


class Inliner(ast.NodeTransformer):
    """Replaces the names a solution assigned earlier by the expressions they hold."""

    def __init__(self, known):
        self.known = known

    def visit_Name(self, node):
        return self.known.get(node.id, node) if isinstance(node.ctx, ast.Load) else node


def statements(solution):
    """The normalised statements of a solution that compute something: the value of each
    assignment and return (each item of a returned tuple), that value with the names the
    solution assigned written out (2 / eigvalsh(A)[-1] for `2 / eigenvalues[-1]`), each `+=`,
    and each operation on three or more names and numbers."""
    found, known = set(), {}

    def add(node):
        if any(isinstance(n, OPERATORS) for n in ast.walk(node)):
            found.add(normalised(node))
            found.add(normalised(Inliner(known).visit(ast.parse(ast.unparse(node)).body[0])))

    for node in ast.walk(ast.parse(solution)):
        if isinstance(node, ast.Return | ast.Assign | ast.Expr) and node.value is not None:
            tuple_return = isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple)
            for value in node.value.elts if tuple_return else [node.value]:
                add(value)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                known[node.targets[0].id] = node.value
        elif isinstance(node, ast.AugAssign) and not isinstance(node.value, ast.Constant):
            found.add(normalised(node))
        leaves = sum(isinstance(n, ast.Name | ast.Constant) for n in ast.walk(node))
        if isinstance(node, OPERATORS) and leaves >= 3:
            found.add(normalised(node))
    return {text for text in found if len(text) >= SHORTEST}


def answers_shown(solution, texts, allowed=()):
    """The statements of `solution` that appear in the normalised code `texts`."""
    return sorted(
        s for s in statements(solution) - set(allowed) if any(s in text for text in texts)
    )


def markdown_code(source):
    """The normalised code spans and code blocks of a markdown cell."""
    return [code_of(block or span) for block, span in CODE.findall(source)]


def answers_before_exercises(lesson):
    """(exercise, cell index, statement) for every statement of an exercise's solution that
    appears before it: in a markdown cell above it, or in a scaffold up to its own."""
    cells = source_notebook(lesson).cells
    shown = []
    for k, cell in enumerate(cells):
        meta = nbgrader_meta(cell)
        if not (meta.get("solution") and cell.cell_type == "code"):
            continue
        solution, _ = split(cell.source)
        for j, earlier in enumerate(cells[: k + 1]):
            if earlier.cell_type == "markdown":
                texts = markdown_code(earlier.source)
            elif nbgrader_meta(earlier).get("solution"):
                texts = [squeezed(split(earlier.source)[1])]
            else:
                continue
            for statement in answers_shown(solution, texts, CONTRACT.get(lesson, ())):
                shown.append((meta["grade_id"], j, statement))
    return shown


@pytest.mark.parametrize(
    "lesson",
    [
        pytest.param(lesson, marks=pytest.mark.xfail(reason=KNOWN[lesson], strict=True))
        if lesson in KNOWN
        else lesson
        for lesson in lesson_ids()
    ],
)
def test_no_exercise_answer_appears_before_the_exercise(lesson):
    shown = answers_before_exercises(lesson)
    assert not shown, "\n".join(
        f"{lesson} cell {j} shows a statement of {exercise}'s solution: {statement!r}"
        for exercise, j, statement in shown
    )


# The texts issue 27 quoted, as they stood, with the solutions they gave away.
BATCHNORM_BACKWARD = """\
x, gamma, _, eps = cache
N = x.shape[0]
sigma = np.sqrt(x.var(axis=0) + eps)
x_hat = (x - x.mean(axis=0)) / sigma
dbeta = dout.sum(axis=0)
dgamma = (dout * x_hat).sum(axis=0)
dx_hat = gamma * dout
dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * sigma)
return dx, dgamma, dbeta
"""
MOMENTUM_STEP = """\
v_next = mu * v - lr * dw
w_next = w + v_next
return w_next, v_next
"""
MAX_STABLE_LEARNING_RATE = """\
eigenvalues = np.linalg.eigvalsh(A)
return 2.0 / eigenvalues[-1]
"""
RNN_BACKWARD = """\
x, h0, Wx, Wh, h = cache
T = x.shape[1]
dx = np.zeros_like(x)
dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(Wh[0])
dprev_h = np.zeros_like(h0)
for t in reversed(range(T)):
    prev_h = h0 if t == 0 else h[:, t - 1]
    step_cache = (x[:, t], prev_h, Wx, Wh, h[:, t])
    dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev_h, step_cache)
    dWx += dWx_t
    dWh += dWh_t
    db += db_t
return dx, dprev_h, dWx, dWh, db
"""
LSTM_BACKWARD = """\
x, h0, Wx, Wh, b = cache
T = x.shape[1]
step_caches = []
prev_h, prev_c = h0, np.zeros_like(h0)
for t in range(T):
    prev_h, prev_c, step_cache = lstm_step_forward(x[:, t], prev_h, prev_c, Wx, Wh, b)
    step_caches.append(step_cache)
dx = np.zeros_like(x)
dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
dprev_h, dprev_c = np.zeros_like(h0), np.zeros_like(h0)
for t in reversed(range(T)):
    dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
        dh[:, t] + dprev_h, dprev_c, step_caches[t]
    )
    dWx += dWx_t
    dWh += dWh_t
    db += db_t
return dx, dprev_h, dWx, dWh, db
"""
QUOTED = {
    "lesson 10, cell 9: the compact batchnorm backward": (
        BATCHNORM_BACKWARD,
        "In code, with sums over `axis=0`:\n`dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * "
        "(dx_hat * x_hat).sum(axis=0)) / (N * sigma)`.",
    ),
    "lesson 09, cell 19: momentum_step's code": (
        MOMENTUM_STEP,
        "the velocity is the step itself,\n`v_next = mu * v - lr * dw`, and `w_next = w + v_next`.",
    ),
    "lesson 09, the Summary: max_stable_learning_rate as code": (
        MAX_STABLE_LEARNING_RATE,
        "| error times $1 - \\eta \\lambda_i$ per step "
        "| converges iff `0 < lr < 2 / eigvalsh(A)[-1]` |",
    ),
    "lesson 08, cell 17: rnn_backward as pseudo-code": (
        RNN_BACKWARD,
        """```
dprev_h = 0
for t = T-1 down to 0:
    dx[:, t], dprev_h, dWx_t, dWh_t, db_t = step backward of (dh[:, t] + dprev_h) at step t
    dWx += dWx_t;  dWh += dWh_t;  db += db_t
dh0 = dprev_h          # what flows out of step 0 into the initial state
```""",
    ),
    "lesson 11, cell 17: lstm_backward as pseudo-code": (
        LSTM_BACKWARD,
        """```
dprev_h = 0, dprev_c = 0
for t = T-1 down to 0:
    dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t =
        step backward of (dh[:, t] + dprev_h, dprev_c) with the cache of step t
    dWx += dWx_t;  dWh += dWh_t;  db += db_t
dh0 = dprev_h          # what flows out of step 0 into the initial hidden state
```""",
    ),
}
QUOTED_SCAFFOLDS = {
    "lesson 08, cell 19: rnn_backward's numbered scaffold": (
        RNN_BACKWARD,
        """\
    # 2. for t from T-1 down to 0:
    #    - prev_h is h0 at t = 0, h[:, t - 1] otherwise
    #    - the step backward of dh[:, t] + dprev_h with the step cache
    #      (x[:, t], prev_h, Wx, Wh, h[:, t]); store dx[:, t]; keep its dprev_h
    #    - add the step's dWx, dWh, db to the totals
""",
    ),
    "lesson 11, cell 19: lstm_backward's numbered scaffold": (
        LSTM_BACKWARD,
        """\
    # 3. for t from T-1 down to 0: the step backward of dh[:, t] + dprev_h and dprev_c;
    #    store dx[:, t], keep the new dprev_h and dprev_c, add the step's weight gradients
""",
    ),
}


@pytest.mark.parametrize("where", QUOTED)
def test_the_answers_issue_27_quoted_are_found_in_markdown(where):
    solution, markdown = QUOTED[where]
    assert answers_shown(solution, markdown_code(markdown))


@pytest.mark.parametrize("where", QUOTED_SCAFFOLDS)
def test_the_answers_issue_27_quoted_are_found_in_scaffolds(where):
    solution, scaffold = QUOTED_SCAFFOLDS[where]
    assert answers_shown(solution, [squeezed(scaffold)])


def test_a_derivation_in_maths_and_a_scaffold_of_goals_pass():
    markdown = (
        "In code, `dx_hat` has the shape `(N, D)`; the compact formula is "
        "$dx = \\frac{1}{N\\sigma}(N\\,d\\hat x - \\sum_k d\\hat x_k)$."
    )
    scaffold = "    # the gradients of the inputs, in the order of the forward's inputs"
    assert not answers_shown(BATCHNORM_BACKWARD, [*markdown_code(markdown), squeezed(scaffold)])
