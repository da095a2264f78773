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
  print as a visible backslash. The browser tests check what MathJax itself reports.

The word "seed" as a random-number seed is legitimate; only the phrases that refer to source
material are refused.
"""

import re
import unicodedata
from pathlib import Path

import nbformat
import pytest

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
