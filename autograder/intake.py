"""Finding the submissions of a class and telling the usable ones from the broken ones.

SUBMISSIONS is laid out as nbgrader's submitted/: <student>/<lesson>/<notebook>.ipynb. It is
only ever read. A missing, unreadable or suspicious notebook is recorded with the reason and
scores 0; it never stops the others.
"""

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.validator import MissingIDFieldWarning

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
MAX_NOTEBOOK_BYTES = 20 * 1024**2


@dataclass(frozen=True)
class Submission:
    student: str
    lesson: str
    notebook: str  # file name, e.g. softmax.ipynb
    path: Path | None  # None when there is nothing usable to grade
    problem: str  # "" when usable, else why it scores 0


def students_in(submissions):
    """Student ids: the folders of SUBMISSIONS with a valid name, sorted; and the rejected names."""
    students, rejected = [], []
    for entry in sorted(Path(submissions).iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and not entry.is_symlink() and STUDENT_ID.match(entry.name):
            students.append(entry.name)
        else:
            rejected.append(entry.name)
    return students, rejected


def _problem(path):
    """Why the notebook at path cannot be graded, or "" when it can."""
    if not path.exists() and not path.is_symlink():
        return "missing notebook"
    if path.is_symlink() or not path.is_file():
        return "not a regular file (links are not accepted)"
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return f"larger than {MAX_NOTEBOOK_BYTES // 1024**2} MiB"
    try:
        with warnings.catch_warnings():  # old notebooks without cell ids are fine
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
            nbformat.validate(nb)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"unreadable: not a notebook file ({type(exc).__name__})"
    except Exception as exc:  # nbformat's validation and reading errors vary by version
        return f"unreadable: not a valid notebook ({str(exc).splitlines()[0][:120]})"
    return ""


def collect(submissions, lessons, notebook_name):
    """One Submission per student and lesson, usable or not; plus rejected folder names."""
    students, rejected = students_in(submissions)
    found = []
    for student in students:
        for lesson in lessons:
            name = notebook_name(lesson)
            path = Path(submissions) / student / lesson / name
            problem = _problem(path)
            found.append(Submission(student, lesson, name, None if problem else path, problem))
    return found, rejected
