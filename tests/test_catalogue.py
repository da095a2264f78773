"""Every typical wrong answer is rejected with its diagnosis; every other correct style passes.

The lesson's own graded test cell (visible and hidden checks) runs in-process, on the
catalogue's function bound to the exercise's name: the same code nbgrader runs.

The share of wrong answers given a specific diagnosis (not the generic "N of M entries are
wrong") is printed by `.venv/bin/python -m tests.test_catalogue`.
"""

import contextlib
import functools
import io
import itertools
import re

import numpy as np
import pytest

from autograder.course import lesson_ids
from autograder.notebooks import exercises, graded_cell, source_notebook
from gradlab.checking import GENERIC, KINDS, CheckFailed
from tests.catalogue import answers

ANSWERS = answers()
WRONG = [a for a in ANSWERS if a.diagnosis is not None]
RIGHT = [a for a in ANSWERS if a.diagnosis is None]

# The generic diagnoses, by their wording, so that the share can be measured on any version
GENERIC_WORDING = re.compile(r"\d+ of \d+ entries are wrong|: \w+ is \S+, expected \S+$")


def run_test_cell(answer):
    """Run the exercise's test cell with `answer` as the student's function; return stdout."""
    cell = graded_cell(answer.lesson, answer.exercise)
    namespace = {"np": np, answer.exercise: answer.fn}
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exec(compile(cell.source, f"<{cell.grade_id}>", "exec"), namespace)
    return stdout.getvalue()


@functools.cache
def failure(answer):
    """The CheckFailed (any AssertionError, on older versions) a wrong answer gets, or None."""
    try:
        run_test_cell(answer)
    except AssertionError as exc:
        return exc
    return None


def diagnosis(answer):
    """The diagnosis of a wrong answer, its first line and the indented lines that continue
    it joined into one, or None when it passed."""
    found = failure(answer)
    if found is None:
        return None
    first, *rest = str(found).splitlines() or [""]
    more = itertools.takewhile(lambda line: line.startswith("  "), rest)
    return " ".join([first, *(line[2:] for line in more)])


@pytest.mark.parametrize("answer", WRONG, ids=lambda a: a.id)
def test_wrong_answer_is_rejected_with_its_diagnosis(answer):
    found = failure(answer)
    assert isinstance(found, CheckFailed), f"not rejected by a CheckFailed: {found!r}"
    assert answer.diagnosis in diagnosis(answer), f"diagnosis was: {found}"
    assert answer.kind in (None, found.kind), f"kind was {found.kind!r}"


@pytest.mark.parametrize("answer", WRONG, ids=lambda a: a.id)
def test_every_wrong_answer_states_the_specific_kind_it_must_get(answer):
    assert answer.kind in KINDS and answer.kind != GENERIC, answer.kind


def specific_share(wrong=WRONG):
    """The share of `wrong` answers rejected with a diagnosis that is not the generic one."""
    found = [diagnosis(answer) for answer in wrong]
    return sum(d is not None and not GENERIC_WORDING.search(d) for d in found) / len(found)


@pytest.mark.parametrize("answer", RIGHT, ids=lambda a: a.id)
def test_correct_answer_in_another_style_passes(answer):
    assert "passed" in run_test_cell(answer)


@pytest.mark.parametrize("lesson", lesson_ids())
def test_every_exercise_has_three_wrong_answers_and_another_right_style(lesson):
    for exercise in exercises(source_notebook(lesson)):
        wrong = [a for a in WRONG if (a.lesson, a.exercise) == (lesson, exercise)]
        right = [a for a in RIGHT if (a.lesson, a.exercise) == (lesson, exercise)]
        assert len(wrong) >= 3, f"{lesson} {exercise}: {len(wrong)} wrong answers catalogued"
        assert right, f"{lesson} {exercise}: no correct answer in another style"


# last, so that the answers this worker already ran come from failure()'s cache
def test_at_least_95_percent_of_the_wrong_answers_get_a_specific_diagnosis():
    share = specific_share()
    print(f"specific diagnoses: {share:.1%} of {len(WRONG)} catalogued wrong answers")
    assert share >= 0.95


if __name__ == "__main__":
    for answer in WRONG:
        found = diagnosis(answer)
        if found is None or GENERIC_WORDING.search(found):
            print(f"{answer.id}: {found}")
    print(f"specific diagnoses: {specific_share():.1%} of {len(WRONG)} catalogued wrong answers")
