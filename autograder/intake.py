"""Stage 1 of grading: find the submissions of a class, and say what was ignored and why.

SUBMISSIONS is laid out as nbgrader's submitted/: <student>/<lesson>/<notebook>.ipynb. It is
only ever read. A missing, unreadable or suspicious notebook is recorded with the reason and
scores 0; it never stops the others. Whatever intake passes over (a lesson folder with a
typo, a notebook under another name, a folder that cannot be a student) becomes a note that
the terminal and the report show, with the fix.
"""

import difflib
import json
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.validator import MissingIDFieldWarning

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
STUDENT_RULE = (
    "a student id is 1-64 ASCII letters, digits and _ . @ + -, starting with a letter or digit"
)
MAX_NOTEBOOK_BYTES = 20 * 1024**2


@dataclass(frozen=True)
class Submission:
    student: str  # the student id used in nbgrader and the outputs
    lesson: str
    notebook: str  # file name, e.g. softmax.ipynb
    path: Path | None  # None when there is nothing usable to grade
    problem: str  # "" when usable, else why it scores 0


@dataclass
class Intake:
    """What intake found: the submissions, the student ids, and what it passed over."""

    found: list = field(default_factory=list)
    folders: dict = field(default_factory=dict)  # student id -> folder name in SUBMISSIONS
    notes: list = field(default_factory=list)  # (folder or path, what happened), in order

    @property
    def submitted(self):
        """The lessons at least one student handed a notebook in for, in order."""
        return sorted({s.lesson for s in self.found if s.problem != "missing notebook"})


def safe_id(name, taken):
    """A student id for folder `name` that follows the rule: accents dropped, other characters
    replaced by _, made unique among `taken`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^A-Za-z0-9_.@+-]+", "_", ascii_name).strip("_.@+-")[:60] or "student"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def students_in(submissions, intake):
    """{student id: folder} of SUBMISSIONS; notes for the entries that cannot be students."""
    students = {}
    entries = sorted(Path(submissions).iterdir())
    folder_names = {entry.name for entry in entries}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or not entry.is_dir():
            intake.notes.append((entry.name, "ignored: not a folder (a student is a folder)"))
            continue
        student = entry.name
        if not STUDENT_ID.match(student):
            student = safe_id(entry.name, set(students) | folder_names)
            intake.notes.append(
                (entry.name, f"graded as {student!r} ({STUDENT_RULE}); see students.csv")
            )
        students[student] = entry.name
    return students


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


def _strays(folder, lessons, notebook_name, intake):
    """Notes for what a student's folder holds that no lesson expects."""
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.name not in lessons:
            near = difflib.get_close_matches(entry.name, lessons, n=1, cutoff=0.6)
            hint = f": did you mean {near[0]}?" if near else f" (lessons: {', '.join(lessons)})"
            intake.notes.append((f"{folder.name}/{entry.name}", f"not a lesson, ignored{hint}"))
            continue
        expected = notebook_name(entry.name)
        for other in sorted(entry.glob("*.ipynb")):
            if other.name != expected:
                intake.notes.append(
                    (
                        f"{folder.name}/{entry.name}/{other.name}",
                        f"ignored: the notebook must be named {expected}",
                    )
                )


def collect(submissions, lessons, notebook_name):
    """The Intake of SUBMISSIONS: one Submission per student and lesson of `lessons` (every
    lesson of the course), usable or not."""
    intake = Intake()
    intake.folders = students_in(submissions, intake)
    for student, folder in intake.folders.items():
        _strays(Path(submissions) / folder, lessons, notebook_name, intake)
        for lesson in lessons:
            name = notebook_name(lesson)
            path = Path(submissions) / folder / lesson / name
            problem = _problem(path)
            intake.found.append(
                Submission(student, lesson, name, None if problem else path, problem)
            )
    return intake
