"""Generate lessons/ (student versions) and solutions/ (executed) from source/ with nbgrader."""

import shutil
import tempfile
from pathlib import Path

from nbgrader.converters import GenerateSolution
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    Execute,
    IncludeHeaderFooter,
    LockCells,
)
from nbgrader.utils import capture_log, temp_attrs

from autograder.course import (
    LESSONS,
    SOLUTIONS,
    check_success,
    kernel_config,
    lesson_ids,
    release,
)
from autograder.record.preprocessors import StripSolutionMarkers


def build_lessons(dest=LESSONS, lessons=None):
    """Write each lesson's student version into dest/<lesson>/ (nbgrader generate_assignment)."""
    lessons = lessons or lesson_ids()
    with tempfile.TemporaryDirectory() as root:
        release(root, lessons)
        for lesson in lessons:
            _replace_folder(Path(root) / "release" / lesson, Path(dest) / lesson)


def build_solutions(dest=SOLUTIONS, lessons=None, execute=True):
    """Write each lesson's solution notebook into dest/<lesson>/, executed unless told not to.

    nbgrader's generate_solution, with hidden tests and the solution markers removed.
    """
    preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearMarkScheme]
    preprocessors += [ClearHiddenTests, StripSolutionMarkers] + ([Execute] if execute else [])
    lessons = lessons or lesson_ids()
    with tempfile.TemporaryDirectory() as root:
        config = kernel_config(root)
        config.GenerateSolution.preprocessors = preprocessors
        api = release(root, lessons)
        for lesson in lessons:
            with temp_attrs(api.coursedir, assignment_id=lesson):
                app = GenerateSolution(coursedir=api.coursedir, parent=api, config=config)
                app.force = True
                check_success(capture_log(app), f"generate_solution {lesson}")
            _replace_folder(Path(root) / "solution" / lesson, Path(dest) / lesson)


def _replace_folder(src, dest):
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest)


def build(lessons=None):
    build_lessons(lessons=lessons)
    build_solutions(lessons=lessons)
