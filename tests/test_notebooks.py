"""Every lesson end to end as nbgrader sees it, and the build outputs kept up to date."""

import json

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.validator import Validator

from autograder.build import build_lessons, build_solutions
from autograder.course import LESSONS, SOLUTIONS, SOURCE, kernel_config, lesson_ids, notebook_name
from autograder.notebooks import graded_cells, read
from autograder.run.kernels import NoOutputWidgetMimic

LESSON_IDS = lesson_ids()


class Client(NoOutputWidgetMimic, NotebookClient):
    """nbclient as the grader runs it: an interactive figure's Output widget mimicked made a
    run wait out a cell's whole timeout now and then (autograder.run.kernels)."""


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_source_notebook_passes_all_its_tests_without_errors_or_warnings(lesson, tmp_path):
    """The instructor's master, hidden tests included, run top to bottom: every graded cell
    passes (what nbgrader's Validator checks) and nothing is written to stderr (a warning).
    Its solution notebook is the same code without the hidden tests, executed when it is
    built (test_solutions_are_up_to_date_with_source)."""
    path = SOURCE / lesson / notebook_name(lesson)
    nb = read(path)
    Client(
        nb,
        timeout=120,
        config=kernel_config(tmp_path),
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{output.ename}: {output.evalue}"
            stderr = output.output_type == "stream" and output.name == "stderr"
            assert not stderr, f"stderr in cell {cell.id}: {output.text[:500]}"


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_student_version_fails_every_graded_cell(lesson, tmp_path):
    results = Validator(invert=True, config=kernel_config(tmp_path)).validate(
        str(LESSONS / lesson / notebook_name(lesson))
    )
    assert not results.get("passed"), json.dumps(results, indent=1)[:3000]


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_student_version_has_no_solution_and_no_hidden_test(lesson):
    text = (LESSONS / lesson / notebook_name(lesson)).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    nb = read(LESSONS / lesson / notebook_name(lesson))
    assert all(not cell.get("outputs") for cell in nb.cells), "student versions carry no outputs"
    assert graded_cells(nb), "every lesson has graded cells"


@pytest.mark.parametrize("lesson", LESSON_IDS)
def test_solution_notebook_has_no_markers_and_no_hidden_test(lesson):
    text = (SOLUTIONS / lesson / notebook_name(lesson)).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text


def test_lessons_are_up_to_date_with_source(tmp_path):
    build_lessons(dest=tmp_path)
    for lesson in LESSON_IDS:
        name = notebook_name(lesson)
        fresh = (tmp_path / lesson / name).read_text()
        assert fresh == (LESSONS / lesson / name).read_text(), (
            f"run `make build`: {lesson} is stale"
        )
    assert sorted(p.name for p in LESSONS.iterdir()) == LESSON_IDS


def test_a_build_keeps_a_copy_of_the_work_it_replaces(tmp_path):
    lesson, dest, backups = LESSON_IDS[0], tmp_path / "lessons", tmp_path / "backups"
    assert build_lessons(dest=dest, lessons=[lesson], backups=backups) == []
    path = dest / lesson / notebook_name(lesson)
    built = path.read_text()
    mine = built.replace("raise NotImplementedError", "return 42  # a student's answer", 1)
    path.write_text(mine)
    (kept,) = build_lessons(dest=dest, lessons=[lesson], backups=backups)
    assert kept.read_text() == mine and kept.is_relative_to(backups)
    assert path.read_text() == built
    assert build_lessons(dest=dest, lessons=[lesson], backups=backups) == []


def test_solutions_are_up_to_date_with_source(tmp_path):
    build_solutions(dest=tmp_path, execute=False)
    for lesson in LESSON_IDS:
        name = notebook_name(lesson)
        fresh = nbformat.read(tmp_path / lesson / name, 4)
        committed = nbformat.read(SOLUTIONS / lesson / name, 4)
        assert [c.source for c in fresh.cells] == [c.source for c in committed.cells], (
            f"run `make build`: {lesson} is stale"
        )
        executed = [c for c in committed.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in executed), f"{lesson}: solutions are executed"
    assert sorted(p.name for p in SOLUTIONS.iterdir()) == LESSON_IDS
