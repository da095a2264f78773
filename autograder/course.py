"""Where the course lives, and nbgrader set up for it."""

import contextlib
import functools
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
from pathlib import Path

import jsonschema
import nbformat
import nbgrader.api
import nbgrader.apps.api
import nbgrader.nbgraderformat.common
import sqlalchemy
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.dbutil import ALEMBIC_DIR
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    Execute,
    OverwriteCells,
    OverwriteKernelspec,
)
from nbgrader.utils import temp_attrs
from traitlets.config import Config

from autograder.outputs import mathjax, sanitize
from autograder.record.late import PerDayPenalty
from autograder.record.preprocessors import (
    GetGradesForThisWork,
    InertMarkers,
    ReplayExecution,
    SanitizeOutputs,
    ShowOnlyDiagnoses,
    UngradeStrayCells,
)

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "source"
LESSONS = REPO / "lessons"
SOLUTIONS = REPO / "solutions"
COURSE_ID = "nn-derivatives"
LATE_POLICIES = "late_policies.json"  # in the nbgrader course: see late_policies
LESSON_ID = re.compile(r"^\d\d_[a-z0-9_]+$")
CELL_TIMEOUT = 60  # seconds one cell may run while grading or building
# nbgrader's sanitize preprocessors (Autograde's default), with the course's around them: a
# pasted copy of a graded cell, or a student's cell that quotes nbgrader's markers, costs
# nothing (autograder.record.preprocessors)
SANITIZE = [
    ClearOutput,
    UngradeStrayCells,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,
    InertMarkers,
    CheckCellMetadata,
]
# nbgrader's Autograde, with its Execute replaced: a notebook is executed in a sandbox by the
# grading command, and autograde, the command's or an instructor's in OUT/course, puts back
# that run's outputs and trusted verdicts (ReplayExecution): it runs no student code
AUTOGRADE = [
    ReplayExecution if p is Execute else p for p in Autograde.autograde_preprocessors.default()
]
# feedback shows the diagnosis of a failed test, never the hidden test code
FEEDBACK = [GetGradesForThisWork, ClearHiddenTests, ShowOnlyDiagnoses, CSSHTMLHeaderPreprocessor]
# every page rendered from a notebook (feedback, formgrader) shows what the student's
# notebook holds inert (autograder.outputs.sanitize)
PAGE_FILTERS = {
    "clean_html": sanitize.clean_html,
    "strip_files_prefix": sanitize.clean_rendered_markdown,
}


def alembic_head():
    """The revision of nbgrader's gradebook schema, read from its migration scripts.

    nbgrader asks a new `alembic heads` process for it whenever it creates a gradebook: 3.5 s
    of CPU, most of it that process importing nbgrader (and jsonschema's grammars, see
    autograder/__init__.py) to print one line. Here it costs alembic's imports, and only when
    a gradebook is created.
    """
    from alembic.script import ScriptDirectory  # 0.6 s of imports, mostly not needed

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


nbgrader.api.get_alembic_version = alembic_head


@functools.cache
def _one_engine_per_database(url, **options):
    """SQLAlchemy's create_engine as nbgrader's Gradebook calls it, once per database in a
    process. nbgrader makes a new engine for every Gradebook it opens (3 per notebook
    sanitized, about 15 per notebook recorded), and each new engine compiled every query
    again: half of the sanitize stage's CPU. Gradebook.close() still ends its connections
    (Engine.dispose keeps the compiled queries)."""
    return sqlalchemy.create_engine(url, **options)


nbgrader.api.create_engine = _one_engine_per_database


@contextlib.contextmanager
def on_ctrl_c(handler):
    """SIGINT handled by handler in here; in the main thread only, whose signals they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _ctrl_c_after():
    """Ctrl-C pressed in here interrupts once the block is done."""
    pressed = []
    with on_ctrl_c(lambda *_: pressed.append(True)):
        yield
    if pressed:
        raise KeyboardInterrupt


def _capture_log(app, *args, **kwargs):
    # nbgrader's API runs each command through capture_log, whose bare `except:` turns Ctrl-C
    # into a failed command and goes on: here Ctrl-C waits until the command is done
    with _ctrl_c_after():
        return _nbgrader_capture_log(app, *args, **kwargs)


_nbgrader_capture_log = nbgrader.apps.api.capture_log
nbgrader.apps.api.capture_log = _capture_log


class _SchemaCheckedOnce:
    """jsonschema as nbgrader's cell metadata check sees it, with one change: each schema is
    checked once, not before every cell (jsonschema.validate checks the schema itself each
    time, 0.015 core-s a notebook, twice per notebook graded)."""

    def __init__(self):
        self.validators = {}

    def validate(self, instance, schema):
        key = id(schema)  # nbgrader's schemas are module constants
        if key not in self.validators:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            self.validators[key] = (schema, cls(schema))  # the schema kept alive with its id
        error = jsonschema.exceptions.best_match(self.validators[key][1].iter_errors(instance))
        if error is not None:
            raise error


nbgrader.nbgraderformat.common.jsonschema = _SchemaCheckedOnce()


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


def results_dir(course_root):
    """The stored results of the class whose nbgrader course is course_root (OUT/course):
    OUT/results (autograder.record.store)."""
    return Path(course_root).resolve().parent / "results"


def exchange_dir(course_root):
    """The course's own nbgrader exchange (OUT/course/exchange): one that exists and can be
    written, so that nbgrader and formgrader warn of no missing one."""
    return Path(course_root).resolve() / "exchange"


def late_policies(course_root):
    """{lesson: [per_day, at_most]} the grading command kept for the course
    (autograder.record.late), {} when no lesson is due."""
    path = Path(course_root) / LATE_POLICIES
    return json.loads(path.read_text()) if path.is_file() else {}


def nbgrader_config(course_root, db_url=None):
    """nbgrader's configuration for a course directory at course_root; the gradebook is
    SQLite in course_root unless db_url names another (e.g. PostgreSQL)."""
    c = Config()
    c.CourseDirectory.root = str(course_root)
    if db_url:
        c.CourseDirectory.db_url = db_url
    c.CourseDirectory.course_id = COURSE_ID
    c.Exchange.root = str(exchange_dir(course_root))
    c.AssignLatePenalties.plugin_class = PerDayPenalty
    c.PerDayPenalty.policies = late_policies(course_root)
    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    # a student who deletes or retypes a test cell gets the original back
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.sanitize_preprocessors = SANITIZE
    c.Autograde.autograde_preprocessors = AUTOGRADE
    c.ReplayExecution.results_dir = str(results_dir(course_root))
    c.GenerateFeedback.preprocessors = FEEDBACK
    c.ClearHiddenTests.enforce_metadata = False
    c.HTMLExporter.preprocessors = [SanitizeOutputs]
    c.HTMLExporter.sanitize_html = True
    c.HTMLExporter.filters = PAGE_FILTERS
    return c


def _dotted(thing):
    """The import name of a class or function, as nbgrader_config.py gives it."""
    return f"{thing.__module__}.{thing.__qualname__}"


def _listed(setting, things):
    """The lines of nbgrader_config.py that set `setting` to a list of classes."""
    return [f"{setting} = [", *(f"    {_dotted(thing)!r}," for thing in things), "]"]


def nbgrader_api(course_root, config=None, db_url=None):
    """An NbGraderAPI on the course directory at course_root, logging only errors."""
    # nbgrader runs `alembic` for its gradebook: it lives beside this Python, maybe not on PATH
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ["PATH"]
    c = nbgrader_config(course_root, db_url)
    if config is not None:
        c.merge(config)
    api = NbGraderAPI(config=c)
    api.log.setLevel(logging.ERROR)
    return api


def release(course_root, lessons, db_url=None, written=True):
    """The nbgrader course at course_root with `lessons` released by generate_assignment, so
    that its gradebook knows every cell and its points. Returns its API. written=False leaves
    the written questions out: the course's copy of each source has them ungraded.

    A lesson whose source is unchanged since it was released there is left as it is (with
    the grades and comments in the gradebook); a new or edited one is copied and released.
    """
    course_root = Path(course_root)
    api = nbgrader_api(course_root, db_url=db_url)
    # a lesson's mark is made once it is released: a run killed while releasing it leaves
    # none, and the next run releases it again
    marks = course_root / ".released"
    marks.mkdir(exist_ok=True)
    for lesson in lessons:
        files, there = _course_copy(lesson, written), course_root / "source" / lesson
        if (marks / lesson).exists() and _same_files(files, there):
            continue
        (marks / lesson).unlink(missing_ok=True)
        shutil.rmtree(there, ignore_errors=True)
        there.mkdir(parents=True)
        for name, content in files.items():
            (there / name).write_bytes(content)
        check_success(api.generate_assignment(lesson), f"generate_assignment {lesson}")
        (marks / lesson).touch()
    return api


def _course_copy(lesson, written):
    """{file name: content} of a lesson's source as the course releases it."""
    from autograder import notebooks  # it reads the course's paths from here

    here = SOURCE / lesson
    files = {p.name: p.read_bytes() for p in sorted(here.iterdir()) if p.is_file()}
    files = {name: content for name, content in files.items() if not name.startswith(".")}
    if not written:
        nb = notebooks.without_written(notebooks.read(here / notebook_name(lesson)))
        files[notebook_name(lesson)] = nbformat.writes(nb).encode()
    return files


def _same_files(files, there):
    return (
        there.is_dir()
        and sorted(files) == sorted(p.name for p in there.iterdir())
        and all((there / name).read_bytes() == content for name, content in files.items())
    )


@contextlib.contextmanager
def only_students(api, lesson, students):
    """nbgrader's converters, called for every student ("*") of `lesson`, run for `students`
    alone (every other student who handed it in is excluded): one run for a batch of a
    lesson's students, where a run per student would cost half as much again."""
    submitted = Path(api.coursedir.root) / "submitted"
    others = {p.name for p in submitted.iterdir() if (p / lesson).is_dir()} - set(students)
    with temp_attrs(api.coursedir, student_id_exclude=",".join(sorted(others))):
        yield


def write_nbgrader_config(course_root, db_url=None):
    """nbgrader_config.py in the course, so that nbgrader's own commands and formgrader,
    started there, find the course id, the gradebook and the course's feedback settings."""
    exchange = exchange_dir(course_root)
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777)  # nbgrader's exchange is written by every user
    lines = [
        "# Written by `python -m autograder grade`: the course's nbgrader settings.",
        "c = get_config()  # noqa: F821",
        f"c.CourseDirectory.course_id = {COURSE_ID!r}",
        # the course's own exchange: formgrader finds it writable, and warns of nothing
        f"c.Exchange.root = {str(exchange)!r}",
        "c.OverwriteCells.add_missing_cells = True",
        *_listed("c.Autograde.sanitize_preprocessors", SANITIZE),
        *_listed("c.Autograde.autograde_preprocessors", AUTOGRADE),
        f"c.ReplayExecution.results_dir = {str(results_dir(course_root))!r}",
        f"c.AssignLatePenalties.plugin_class = {_dotted(PerDayPenalty)!r}",
        f"c.PerDayPenalty.policies = {late_policies(course_root)!r}",
        *_listed("c.GenerateFeedback.preprocessors", FEEDBACK),
        "c.ClearHiddenTests.enforce_metadata = False",
        *_listed("c.HTMLExporter.preprocessors", [SanitizeOutputs]),
        "c.HTMLExporter.sanitize_html = True",
        "c.HTMLExporter.filters = {",
        *(f"    {name!r}: {_dotted(f)!r}," for name, f in PAGE_FILTERS.items()),
        "}",
    ]
    if db_url:
        lines.append(f"c.CourseDirectory.db_url = {db_url!r}")
    # formgrader renders submissions with nbconvert: this template makes their maths offline
    templates = Path(course_root) / ".templates"
    mathjax.template(templates)
    lines += [
        "from nbgrader.server_extensions.formgrader import handlers  # its own templates",
        f"c.HTMLExporter.extra_template_basedirs = [{str(templates)!r}, handlers.template_path]",
    ]
    (Path(course_root) / "nbgrader_config.py").write_text("\n".join(lines) + "\n")


def check_success(result, what):
    """Raise with nbgrader's own log when one of its operations failed."""
    if not result["success"]:
        raise RuntimeError(
            f"nbgrader {what} failed:\n{result.get('log', '')}{result.get('error', '')}"
        )
