"""No lesson hands students its own answers: what its setup cell gives is none of its exercises."""

import importlib

import pytest

from autograder.course import lesson_ids
from autograder.notebooks import exercises, source_notebook
from autograder.run import answer_key
from autograder.run.trusted import setup_sources


@pytest.mark.parametrize("lesson", lesson_ids())
def test_a_lesson_gives_no_tool_that_answers_its_own_exercises(lesson):
    nb = source_notebook(lesson)
    given = answer_key.given_modules(setup_sources(nb))
    assert not any(m.startswith(answer_key.ANSWER_KEY) for m in given), given
    for module in given & set(answer_key.tool_modules()):
        names = set(vars(importlib.import_module(module)))
        assert not names & set(exercises(nb)), (lesson, module, names & set(exercises(nb)))


def test_tools_are_self_contained():
    # the trusted run's child has no answer key: a tool that needs it would not load there
    for module in answer_key.tool_modules():
        source = answer_key.module_file(module).read_text()
        assert answer_key.ANSWER_KEY not in source, module


def test_every_tool_is_hidden_unless_given():
    assert answer_key.refused_modules(set()) == [answer_key.ANSWER_KEY, *answer_key.tool_modules()]
    given = {"gradlab.tools.softmax"}
    assert "gradlab.tools.softmax" not in answer_key.refused_modules(given)


def test_a_tool_brings_the_tools_it_imports():
    given = answer_key.given_modules(["from gradlab.tools.layers import affine_forward"])
    assert {"gradlab.tools.layers", "gradlab.tools.softmax"} <= given
