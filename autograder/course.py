"""Where the course lives, and nbgrader set up for it."""

import logging
import os
import re
import shutil
import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import ClearHiddenTests, GetGrades
from traitlets.config import Config

from autograder.record.preprocessors import ShowOnlyDiagnoses

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "source"
LESSONS = REPO / "lessons"
SOLUTIONS = REPO / "solutions"
COURSE_ID = "nn-derivatives"
LESSON_ID = re.compile(r"^\d\d_[a-z0-9_]+$")
CELL_TIMEOUT = 60  # seconds one cell may run while grading or building


def lesson_ids():
    """The lesson ids in teaching order: the folders of source/ named NN_name."""
    return sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and LESSON_ID.match(p.name))


def notebook_name(lesson):
    """The file name of the lesson's one notebook, e.g. softmax.ipynb."""
    (notebook,) = sorted((SOURCE / lesson).glob("*.ipynb"))
    return notebook.name


def kernel_config(socket_dir):
    """Kernels that talk over Unix sockets in socket_dir (an absolute, private folder), not
    TCP: kernels started at the same moment by parallel processes cannot race for a port."""
    c = Config()
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(Path(socket_dir).resolve() / "kernel")
    return c


def nbgrader_config(course_root):
    """nbgrader's configuration for a course directory at course_root."""
    c = Config()
    c.CourseDirectory.root = str(course_root)
    c.CourseDirectory.course_id = COURSE_ID
    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    # a student who deletes or retypes a test cell gets the original back
    c.OverwriteCells.add_missing_cells = True
    # feedback shows the diagnosis of a failed test, never the hidden test code
    c.GenerateFeedback.preprocessors = [
        GetGrades,
        ClearHiddenTests,
        ShowOnlyDiagnoses,
        CSSHTMLHeaderPreprocessor,
    ]
    c.ClearHiddenTests.enforce_metadata = False
    return c


def nbgrader_api(course_root, config=None):
    """An NbGraderAPI on the course directory at course_root, logging only errors."""
    # nbgrader runs `alembic` for its gradebook: it lives beside this Python, maybe not on PATH
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ["PATH"]
    c = nbgrader_config(course_root)
    if config is not None:
        c.merge(config)
    api = NbGraderAPI(config=c)
    api.log.setLevel(logging.ERROR)
    return api


def release(course_root, lessons):
    """A fresh nbgrader course at course_root: source/ copied in and every lesson released with
    generate_assignment, so that its gradebook knows every cell and its points. Returns its API."""
    shutil.copytree(SOURCE, Path(course_root) / "source", ignore=shutil.ignore_patterns(".*"))
    api = nbgrader_api(course_root)
    for lesson in lessons:
        check_success(api.generate_assignment(lesson), f"generate_assignment {lesson}")
    return api


def check_success(result, what):
    """Raise with nbgrader's own log when one of its operations failed."""
    if not result["success"]:
        raise RuntimeError(
            f"nbgrader {what} failed:\n{result.get('log', '')}{result.get('error', '')}"
        )
