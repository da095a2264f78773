"""The grading command end to end on one small class that holds every hard case at once.

One grading run (module fixture) covers: a correct student, correct answers with noise, the
catalogue's typical mistakes, every attack class of the trusted-runner design, every limit
(infinite loop, sleep, memory hog, killed kernel, invalid JSON, missing notebook) and
attempts to write outside the sandbox or reach the network. A second run grades the correct
student alone into the same OUT: its grades must be the same as inside the class.
"""

import base64
import csv
import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid
from html import escape as html_escape
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.course import LESSONS, REPO, notebook_name
from autograder.demo import _mistakes, _solutions
from autograder.grade import grade
from autograder.notebooks import graded_cells, nbgrader_meta, source_notebook
from autograder.run.sandbox import Limits

LESSON = "01_softmax"
OTHER = "00_chain_rule"
LIMITS = Limits(cell_seconds=5, notebook_seconds=25)


def student_version(lesson, answers=None, extra_cells=(), edit=None):
    """The student version of `lesson` with solution cells replaced by `answers`."""
    nb = nbformat.read(LESSONS / lesson / notebook_name(lesson), as_version=4)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and grade_id in (answers or {}):
            cell.source = answers[grade_id]
    setup = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == "setup")
    for offset, source in enumerate(extra_cells, start=1):
        nb.cells.insert(setup + offset, nbformat.v4.new_code_cell(source))
    if edit:
        edit(nb)
    return nb


def solved(lesson, **kw):
    return student_version(lesson, _solutions(lesson), **kw)


def stubbed_with(first_cell, lesson=LESSON):
    """Unsolved exercises, plus one extra cell right after the setup cell."""
    return student_version(lesson, extra_cells=[first_cell])


# wrong answers of the right types, for attacks that need something to "pass"
GARBAGE = {
    "softmax": "def softmax(z):\n    return np.zeros_like(z)",
    "softmax_jacobian": "def softmax_jacobian(z):\n    return np.zeros((len(z), len(z)))",
    "softmax_cross_entropy": ("def softmax_cross_entropy(z, y):\n    return 0.0, np.zeros_like(z)"),
}


NOISY_SOFTMAX = """import sys
import warnings


def softmax(z):
    print("computing softmax of", z.shape)
    print("a note on stderr", file=sys.stderr)
    warnings.warn("a student's own warning")
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
"""

ATTACKS = {
    "patches_numpy": "np.all = lambda *args, **kwargs: True",
    "patches_checks": (
        "import gradlab.checking\n"
        "gradlab.checking.compare = lambda *args, **kwargs: None\n"
        "gradlab.checking.Check.unpack = lambda self, result, names: (0.0, 0.0)"
    ),
    "input_transformer": (
        "get_ipython().input_transformers_post.append("
        "lambda lines: ['pass\\n'] if any('check_' in l for l in lines) else lines)"
    ),
    "replaces_run_cell": (
        "ip = get_ipython()\n"
        "_original = ip.run_cell\n"
        "def _skip_tests(raw_cell, *args, **kwargs):\n"
        "    if 'check_' in raw_cell:\n"
        "        raw_cell = 'pass'\n"
        "    return _original(raw_cell, *args, **kwargs)\n"
        "ip.run_cell = _skip_tests"
    ),
    "lying_arrays": (
        "class Liar(np.ndarray):\n"
        "    def __sub__(self, other):\n"
        "        return np.zeros(np.shape(other))\n"
        "    def __array__(self, dtype=None, copy=None):\n"
        "        return np.zeros(self.shape)\n"
        "def softmax(z):\n"
        "    return np.zeros(np.shape(z)).view(Liar)"
    ),
}


# answers taken from the course instead of written: each must earn nothing, and say why
REFERENCE = {
    "direct": "from gradlab.exercises.softmax import softmax as _reference\n\n\n"
    "def softmax(z):\n    return _reference(z)",
    "importlib": "import importlib\n\n\ndef softmax(z):\n"
    "    return importlib.import_module('gradlab.exercises.softmax').softmax(z)",
    "tool_not_given": "def softmax(z):\n    from gradlab.tools.softmax import softmax as s\n"
    "    return s(z)",
    "reads_solutions": "import json\n\n\n"
    "def softmax(z, _path=SOLUTIONS_NOTEBOOK):\n"
    "    cells = json.load(open(_path))['cells']\n"
    "    sources = [''.join(c['source']) for c in cells]\n"
    "    code = next(s for s in sources if 'def softmax(z)' in s)\n"
    "    space = {'np': np}\n"
    "    exec(code, space)\n"
    "    return space['softmax'](z)",
}
SECRET = "the grader's secret 6c1f"


def delete_test_cells(nb):
    nb.cells = [c for c in nb.cells if not nbgrader_meta(c).get("grade")]


def empty_test_cells(nb):
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade"):
            cell.source = "pass"
            cell.metadata = {}


class Listener:
    """A TCP server on loopback that counts connections: the sandbox must keep it at zero."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
                self.connections += 1
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stop.set()
        self.thread.join()
        self.server.close()


def tree_digest(root):
    digest, pending = hashlib.sha256(), [Path(root)]
    while pending:  # without recursion: a class may hold folders nested a thousand deep
        for path in sorted(pending.pop().iterdir(), reverse=True):
            digest.update(os.fsencode(path.relative_to(root)))
            if path.is_dir() and not path.is_symlink():
                pending.append(path)
            elif path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def write_class(root, listener, victim, secret_places):
    notebooks = {
        ("ada", OTHER): solved(OTHER),
        ("ada", LESSON): solved(LESSON),
        ("fair", LESSON): solved(
            LESSON,
            extra_cells=[
                "scratch = [1, 2, 3]\nprint(sum(scratch))",
                "import this",
                "import ipywidgets\nbox = ipywidgets.Output()\ndisplay(box)\n"
                "with box:\n    print('shown in an Output widget')",
            ],
        ),
        ("bob", LESSON): student_version(
            LESSON, {ex: src for (lesson, ex), src in _mistakes().items() if lesson == LESSON}
        ),
        ("dee", LESSON): student_version(LESSON),
        ("deletes_tests", LESSON): solved(LESSON, edit=delete_test_cells),
        ("empties_tests", LESSON): student_version(LESSON, edit=empty_test_cells),
        ("loops", LESSON): stubbed_with("while True:\n    pass"),
        ("sleeps", LESSON): stubbed_with("import time\ntime.sleep(600)"),
        ("hogs_memory", LESSON): stubbed_with("hog = bytearray(8 * 1024**3)"),
        ("kills_kernel", LESSON): stubbed_with("import os, signal\nos.kill(os.getpid(), 9)"),
        ("escapes", LESSON): stubbed_with(
            f"import socket\n"
            f"for target in [{str(victim)!r}, {str(root)!r} + '/ada/{LESSON}/x.txt']:\n"
            f"    try:\n"
            f"        open(target, 'w').write('owned')\n"
            f"    except OSError as exc:\n"
            f"        print('blocked:', exc)\n"
            f"try:\n"
            f"    socket.create_connection(('127.0.0.1', {listener.port}), timeout=2)\n"
            f"except OSError as exc:\n"
            f"    print('blocked:', exc)"
        ),
    }
    notebooks[("garbage", LESSON)] = student_version(LESSON, GARBAGE)
    notebooks[("syntax_error", LESSON)] = student_version(
        LESSON, {**_solutions(LESSON), "softmax": "def softmax(z):\n    return np.exp(z) /"}
    )
    for name, attack in ATTACKS.items():
        notebooks[(name, LESSON)] = student_version(LESSON, GARBAGE, extra_cells=[attack])
    solutions = str(REPO / "solutions" / LESSON / notebook_name(LESSON))
    for style, answer in REFERENCE.items():
        answer = answer.replace("SOLUTIONS_NOTEBOOK", repr(solutions))
        notebooks[(f"reference_{style}", LESSON)] = student_version(LESSON, {"softmax": answer})
    # honest answers beside a cell that misbehaves: only what that cell does is bounded
    notebooks[("reads_secrets", LESSON)] = solved(
        LESSON,
        extra_cells=[
            "import os\n"
            f"for path in {[str(p) for p in secret_places]!r}:\n"
            "    try:\n"
            "        print(open(path).read())\n"
            "    except OSError as exc:\n"
            "        print('blocked:', exc)\n"
            "print('uid', os.getuid())"
        ],
    )
    notebooks[("floods_output", LESSON)] = solved(
        LESSON, extra_cells=["for _ in range(50):\n    print('x' * 1024**2)"]
    )
    notebooks[("fills_disk", LESSON)] = solved(
        LESSON,
        extra_cells=[
            "chunk = b'x' * 1024**2\n"
            "with open('fill', 'wb') as f:\n"
            "    for _ in range(3 * 1024):\n"
            "        f.write(chunk)"
        ],
    )
    notebooks[("forks", LESSON)] = solved(
        LESSON,
        extra_cells=[
            "import subprocess\n"
            "children = []\n"
            "try:\n"
            "    for _ in range(500):\n"
            "        children.append(subprocess.Popen(['sleep', '600']))\n"
            "except OSError as exc:\n"
            "    print('stopped at', len(children), exc)\n"
            "for child in children:\n"
            "    child.kill()"
        ],
    )
    notebooks[("kills_all", LESSON)] = stubbed_with("import os\nos.kill(-1, 9)")
    fair = notebooks[("fair", LESSON)]
    cell = next(c for c in fair.cells if nbgrader_meta(c).get("grade_id") == "softmax")
    cell.source = NOISY_SOFTMAX
    bad_metadata = notebooks[("bad_metadata", LESSON)] = solved(LESSON)
    next(nbgrader_meta(c) for c in bad_metadata.cells if nbgrader_meta(c).get("grade"))["task"] = (
        "no"  # not a boolean
    )
    for (student, lesson), nb in notebooks.items():
        path = root / student / lesson / notebook_name(lesson)
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
    broken = root / "broken" / LESSON / notebook_name(LESSON)
    broken.parent.mkdir(parents=True)
    broken.write_text('{"cells": [', encoding="utf-8")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    submissions, out = root / "submitted", root / "out"
    victim = out / "victim.txt"  # a file inside OUT that student code must not reach
    out.mkdir()
    victim.write_text("untouched")
    listener = Listener()
    name = f"gradlab-secret-{uuid.uuid4().hex}"  # runs side by side must not share it
    secret_places = [Path.home() / f".{name}", root.parent / name]
    for place in secret_places:
        place.write_text(SECRET)
    try:
        write_class(submissions, listener, victim, secret_places)
        before = tree_digest(submissions)
        started = time.monotonic()
        results = grade(
            submissions, out, jobs=2, limits=LIMITS, lessons=[OTHER, LESSON], written=False
        ).results
        seconds = time.monotonic() - started
        yield {
            "results": {(r.student, r.lesson): r for r in results},
            "out": out,
            "submissions": submissions,
            "unchanged": before == tree_digest(submissions),
            "victim": victim.read_text(),
            "connections": listener.connections,
            "seconds": seconds,
            "root": root,
        }
    finally:
        listener.close()
        for place in secret_places:
            place.unlink()


def score(graded, student, lesson=LESSON):
    return graded["results"][(student, lesson)].score


def full(graded, lesson=LESSON):
    return graded["results"][("ada", lesson)].max_score


def test_correct_answers_get_full_marks(graded):
    assert score(graded, "ada") == full(graded)
    assert score(graded, "ada", OTHER) == full(graded, OTHER)


def test_printing_stderr_warnings_and_scratch_cells_cost_nothing(graded):
    assert score(graded, "fair") == full(graded)


def test_what_an_output_widget_shows_is_kept_in_its_cell(graded):
    """The grader mimics no Output widget (autograder.run.kernels.BoundedExecute)."""
    path = graded["out"] / "course" / "autograded" / "fair" / LESSON / notebook_name(LESSON)
    cell = next(c for c in nbformat.read(path, as_version=4).cells if "box =" in c.source)
    assert any("shown in an Output widget" in o.get("text", "") for o in cell.outputs)


def test_typical_mistakes_score_less_with_their_diagnosis(graded):
    bob = graded["results"][("bob", LESSON)]
    assert bob.score < full(graded)
    messages = {c.grade_id: c.message for c in bob.cells}
    assert "NaN or inf" in messages["softmax_test"]
    assert "only the diagonal is right" in messages["softmax_jacobian_test"]
    assert "did you forget to divide by the batch size" in messages["softmax_cross_entropy_test"]


@pytest.mark.parametrize("attacker", sorted(ATTACKS))
def test_attacks_earn_nothing(graded, attacker):
    assert score(graded, attacker) == 0


@pytest.mark.parametrize("attacker", sorted(ATTACKS))
def test_attacks_on_the_kernel_change_nothing_since_no_test_cell_runs_there(graded, attacker):
    # the same wrong answers without an attack beside them: the same diagnoses, cell by cell
    messages = {(c.grade_id, c.message) for c in graded["results"][(attacker, LESSON)].cells}
    assert messages == {
        (c.grade_id, c.message) for c in graded["results"][("garbage", LESSON)].cells
    }


def test_a_syntax_error_is_reported_as_one_where_it_is(graded):
    softmax = graded["results"][("syntax_error", LESSON)].cells[0]
    assert softmax.kind == "syntax", softmax
    assert softmax.message.startswith("softmax: SyntaxError on line 2, `return np.exp(z) /`")
    with open(graded["out"] / "exercises.csv", newline="") as f:
        rows = [
            r for r in csv.DictReader(f) if (r["student"], r["lesson"]) == ("syntax_error", LESSON)
        ]
    assert rows[0]["kind"] == "syntax" and "SyntaxError" in rows[0]["message"]


@pytest.mark.parametrize("student", ["deletes_tests", "empties_tests"])
def test_deleted_or_emptied_test_cells_are_restored(graded, student):
    # deletes_tests solved everything and is graded in full; empties_tests solved nothing
    expected = full(graded) if student == "deletes_tests" else 0
    assert score(graded, student) == expected
    assert len(graded["results"][(student, LESSON)].cells) == len(
        graded_cells(source_notebook(LESSON))
    )


@pytest.mark.parametrize("student", ["loops", "sleeps", "hogs_memory", "kills_kernel"])
def test_limits_cost_only_the_affected_marks(graded, student):
    assert score(graded, student) == 0
    assert all(c.message for c in graded["results"][(student, LESSON)].cells)


def test_the_run_finishes_within_its_bound(graded):
    # every notebook is bounded by notebook_seconds (+30 s of grace for a hung kernel)
    assert graded["seconds"] < 300


def test_broken_and_missing_notebooks_score_zero_and_say_why(graded):
    broken = graded["results"][("broken", LESSON)]
    assert broken.score == 0 and broken.problem.startswith("unreadable")
    missing = graded["results"][("bob", OTHER)]
    assert missing.score == 0 and missing.problem == "missing notebook"


def test_nbgrader_metadata_of_the_wrong_types_costs_correct_work_nothing(graded):
    # nbgrader's own check would reject the notebook; intake drops the metadata, and the
    # graded cell is put back from the source (intake.normalized, OverwriteCells)
    bad = graded["results"][("bad_metadata", LESSON)]
    assert bad.score == bad.max_score > 0 and not bad.problem


def test_student_code_cannot_write_outside_its_scratch_or_reach_the_network(graded):
    assert graded["victim"] == "untouched"
    assert graded["connections"] == 0
    assert graded["unchanged"], "SUBMISSIONS was modified"
    assert not (graded["submissions"] / "ada" / LESSON / "x.txt").exists()


def test_outputs_follow_the_contract(graded):
    out = graded["out"]
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "student",
        "lesson",
        "score",
        "max_score",
        "pending",
        "late_by",
        "penalty",
    ]
    assert len(rows) == len(graded["results"])
    with open(out / "exercises.csv", newline="") as f:
        cells = list(csv.DictReader(f))
    columns = ["student", "lesson", "grade_id", "score", "max_score", "message", "kind"]
    assert list(cells[0]) == columns
    for row in cells:
        full_marks = float(row["score"]) >= float(row["max_score"])
        assert (row["message"] == "") == full_marks, row
        assert "\n" not in row["message"]
    report = (out / "report.html").read_text()
    for heading in ("Score distribution", "Pass rate", "misunderstands", "Flagged"):
        assert heading in report
    assert "reference_direct" in report and "answer key" in report


def hidden_test_lines(lesson):
    """The lines of a lesson's hidden tests, which no page may show."""
    return [
        line.strip()
        for cell in graded_cells(source_notebook(lesson))
        for line in cell.source.split("### BEGIN HIDDEN TESTS")[1].splitlines()
        if line.strip() and "END HIDDEN" not in line
    ]


def test_feedback_exists_for_everyone_and_never_shows_hidden_tests(graded):
    hidden_lines = hidden_test_lines(LESSON)
    assert hidden_lines
    for student, lesson in graded["results"]:
        page = graded["out"] / "feedback" / student / lesson
        html = (page / notebook_name(lesson).replace(".ipynb", ".html")).read_text()
        assert "BEGIN HIDDEN TESTS" not in html
        for line in hidden_lines:
            assert line not in html, (student, line)


def test_feedback_shows_no_message_meant_for_jupyterlab(graded):
    page = graded["out"] / "feedback" / "ada" / LESSON / notebook_name(LESSON)
    html = page.with_suffix(".html").read_text()
    assert "the progress list" in html and "kernel cannot find" not in html


@pytest.mark.parametrize("picture", [False, True])
def test_a_feedback_page_is_the_one_nbconvert_renders_with_its_accessibility_pass(picture):
    """The pass is skipped where it would change nothing (autograder.outputs.feedback): the
    page is then the same document, only not serialised by BeautifulSoup again."""
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    from autograder.outputs.feedback import _soup_only_where_it_changes_something
    from gradlab import widgets

    nb = solved(LESSON)
    if picture:  # an image without alt text: the pass must run and give it one
        png = base64.b64encode(widgets.render_png(lambda fig: None, {}, (1, 1))).decode()
        image = nbformat.v4.new_output("display_data", {"image/png": png})
        next(c for c in nb.cells if c.cell_type == "code").outputs = [image]
    exporter = HTMLExporter(template_name="classic")
    page = exporter.from_notebook_node(nb)[0]
    with _soup_only_where_it_changes_something():
        fast = exporter.from_notebook_node(nb)[0]
    assert str(BeautifulSoup(fast, features="html.parser")) == page
    assert ("No description has been provided for this image" in fast) == picture


def test_the_run_says_where_its_cpu_went(graded):
    timings = json.loads((graded["out"] / "timings.json").read_text())
    run = sum(1 for r in graded["results"].values() if r.problem != "missing notebook")
    assert 0 < timings["notebooks_run"] <= run
    command, notebooks = timings["command_core_seconds"], timings["notebook_core_seconds"]
    for phase in (
        "release (generate_assignment)",
        "record on the recorder (nbgrader's autograde, replayed)",
    ):
        assert command[phase] > 0, phase
    assert command["feedback on the workers (generate_feedback, pages, archives)"] > 0
    for phase in ("kernel start", "student cells", "trusted checks (grader side)"):
        assert notebooks[phase] > 0, phase
    assert notebooks["trusted run (student's functions)"] > 0


def test_grading_kernels_draw_no_figure_and_the_feedback_says_what_it_was(graded):
    """Drawing costs 0.5 core-s per notebook that plots (autograder.run.template), and the
    course's interactive figures 0.25 more (gradlab.widgets)."""
    pages = [
        next((graded["out"] / "feedback" / student / lesson).glob("*.html")).read_text()
        for student, lesson in graded["results"]
        if lesson == LESSON and full(graded) == graded["results"][(student, lesson)].score
    ]
    assert pages and all("&lt;Figure size" in page for page in pages)
    assert all("&lt;figure: not drawn, this kernel draws no figures&gt;" in p for p in pages)


@pytest.mark.parametrize("style", sorted(REFERENCE))
def test_an_answer_taken_from_the_course_earns_nothing_and_says_why(graded, style):
    result = graded["results"][(f"reference_{style}", LESSON)]
    softmax = next(c for c in result.cells if c.grade_id == "softmax_test")
    assert softmax.score == 0
    if style != "reads_solutions":  # solutions/ is not there at all: it just fails
        assert softmax.kind == "answer key", softmax
        assert "write the function yourself" in softmax.message
        page = graded["out"] / "feedback" / f"reference_{style}" / LESSON
        assert "write the function yourself" in next(page.glob("*.html")).read_text()


def test_feedback_of_a_zeroed_cell_says_why_not_passed(graded):
    page = graded["out"] / "feedback" / "patches_checks" / LESSON
    html = next(page.glob("*.html")).read_text()
    for cell in graded["results"][("patches_checks", LESSON)].cells:
        assert html_escape(cell.message) in html
    with Gradebook(f"sqlite:///{graded['out'] / 'course' / 'gradebook.db'}") as gb:
        nbgrader_score = gb.find_submission(LESSON, "patches_checks").score
    assert nbgrader_score == score(graded, "patches_checks") == 0


def test_no_secret_of_the_machine_reaches_the_feedback(graded):
    for page in (graded["out"] / "feedback").rglob("*.html"):
        assert SECRET not in page.read_text(), page
    result = graded["results"][("reads_secrets", LESSON)]
    assert result.score == full(graded)


@pytest.mark.skipif(os.geteuid() != 0, reason="a uid of its own needs a grader run as root")
def test_student_code_runs_as_an_unprivileged_user(graded):
    page = graded["out"] / "feedback" / "reads_secrets" / LESSON
    html = next(page.glob("*.html")).read_text()
    uid = int(re.search(r"\buid (\d+)\b", html).group(1))
    assert uid >= 1000


@pytest.mark.parametrize("student", ["floods_output", "fills_disk", "forks"])
def test_floods_disk_fills_and_forks_are_bounded_and_cost_nothing_else(graded, student):
    assert score(graded, student) == full(graded)
    page = next((graded["out"] / "feedback" / student / LESSON).glob("*.html"))
    assert page.stat().st_size < 10 * 1024**2
    if student == "floods_output":
        assert "[output cut: this cell printed over" in page.read_text()


def test_kill_minus_one_costs_only_its_own_notebook(graded):
    assert score(graded, "kills_all") == 0
    assert score(graded, "ada") == full(graded) and score(graded, "fair") == full(graded)


# last: it grades again into the same OUT
def test_grades_alone_equal_grades_in_class_and_a_rerun_on_the_same_out_works(graded):
    alone = graded["root"] / "alone"
    for lesson in (OTHER, LESSON):
        path = alone / "ada" / lesson / notebook_name(lesson)
        path.parent.mkdir(parents=True)
        path.write_bytes((graded["submissions"] / "ada" / lesson / path.name).read_bytes())
    # force: graded again, not read back from what the class run stored
    results = grade(
        alone,
        graded["out"],
        jobs=1,
        limits=LIMITS,
        lessons=[OTHER, LESSON],
        force=True,
        written=False,
    ).results
    for r in results:
        in_class = graded["results"][(r.student, r.lesson)]
        assert [(c.grade_id, c.score) for c in r.cells] == [
            (c.grade_id, c.score) for c in in_class.cells
        ]
