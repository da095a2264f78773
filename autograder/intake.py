"""Stage 1 of grading: find the submissions of a class, and say what was ignored and why.

SUBMISSIONS is laid out as nbgrader's submitted/: <student>/<lesson>/<notebook>.ipynb. It is
only ever read, and a symbolic link in it is never followed: a student folder, a lesson folder
or anything in one that is a link (to another student's work, or to the course's source/)
makes that submission score 0, refused, with a note that names the link. A missing,
unreadable or suspicious notebook is recorded with the reason and scores 0; it never stops
the others. Whatever intake passes over (a lesson folder with a typo, a notebook under
another name, a folder that cannot be a student) becomes a note that the terminal and the
report show, with the fix.
"""

import difflib
import errno
import json
import os
import re
import stat
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.validator import MissingIDFieldWarning

from autograder.files import read_csv

MISSING = "missing notebook"  # the problem of a notebook nobody handed in
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
STUDENT_RULE = (
    "a student id is 1-64 ASCII letters, digits and _ . @ + -, starting with a letter or digit"
)
MAX_NOTEBOOK_BYTES = 20 * 1024**2
LINK = "refused: a symbolic link (links are never followed)"


def _open_without_links(path, flags):
    """A file descriptor of path, SUBMISSIONS/<student>/<lesson>/<notebook>, opened one step
    at a time below SUBMISSIONS with O_NOFOLLOW: a folder or file swapped for a link after
    intake looked at it is refused too (ELOOP), and so is anything but a regular file (a FIFO
    would block the read)."""
    path = Path(path)
    folder = os.open(path.parents[2], os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in path.parts[-3:-1]:
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        fd = os.open(path.name, flags | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    finally:
        os.close(folder)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return fd


class SubmittedNotebook(type(Path())):
    """The path of a notebook in SUBMISSIONS, which every read opens without following a link
    (_open_without_links), whoever reads it."""

    def open(self, mode="r", buffering=-1, encoding=None, errors=None, newline=None):
        if mode not in ("r", "rb"):
            raise PermissionError(f"{self}: SUBMISSIONS is only ever read")
        return open(self, mode, buffering, encoding, errors, newline, opener=_open_without_links)


def shown(name):
    """A name from SUBMISSIONS as the terminal may print it: control characters (an escape
    sequence in a folder name) written as Python escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)


@dataclass(frozen=True)
class Submission:
    student: str  # the student id used in nbgrader and the outputs
    lesson: str
    notebook: str  # file name, e.g. softmax.ipynb
    path: SubmittedNotebook | None  # None when there is nothing usable to grade
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
        return sorted({s.lesson for s in self.found if s.problem != MISSING})


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
    """{student id: folder} of SUBMISSIONS; notes for the entries that cannot be students. A
    link to a folder is a student whose every lesson is refused (collect)."""
    students = {}
    entries = sorted(Path(submissions).iterdir())
    folder_names = {entry.name for entry in entries}
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink():
            intake.notes.append((shown(entry.name), LINK))
            if not entry.is_dir():
                continue
        elif not entry.is_dir():
            intake.notes.append(
                (shown(entry.name), "ignored: not a folder (a student is a folder)")
            )
            continue
        student = entry.name
        if not STUDENT_ID.match(student):
            student = safe_id(entry.name, set(students) | folder_names)
            intake.notes.append(
                (shown(entry.name), f"graded as {student!r} ({STUDENT_RULE}); see students.csv")
            )
        students[student] = entry.name
    return students


def _links(lesson_folder):
    """The symbolic links in a lesson folder and everything below it, in order."""
    found = []
    for parent, folders, files in os.walk(lesson_folder):
        folders.sort()  # walked in this order
        found += [Path(parent) / name for name in sorted(folders + files)]
    return [path for path in found if path.is_symlink()]


def _refused(submissions, lesson_folder, intake):
    """Why the submission in lesson_folder is refused, "" when it holds no link: its student
    folder, its lesson folder or something in it is one. Each link gets its note (a student
    folder's, once, from students_in)."""
    if lesson_folder.parent.is_symlink():
        links = [lesson_folder.parent]
    else:
        links = [lesson_folder] if lesson_folder.is_symlink() else _links(lesson_folder)
        intake.notes += [(shown(str(link.relative_to(submissions))), LINK) for link in links]
    if not links:
        return ""
    where = shown(str(links[0].relative_to(submissions)))
    return f"refused: {where} is a symbolic link (links are never followed)"


def _problem(path):
    """Why the notebook at path (below its lesson folder, which holds no link) cannot be
    graded, or "" when it can."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return "not a regular file"
        with path.open("rb") as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    except OSError as exc:  # what intake looked at changed under it
        return f"unreadable: {exc.strerror or exc}"
    if len(data) > MAX_NOTEBOOK_BYTES:
        return f"larger than {MAX_NOTEBOOK_BYTES // 1024**2} MiB"
    try:
        with warnings.catch_warnings():  # old notebooks without cell ids are fine
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"unreadable: not a notebook file ({type(exc).__name__})"
    except Exception as exc:  # nbformat's validation and reading errors vary by version
        return f"unreadable: not a valid notebook ({str(exc).splitlines()[0][:120]})"
    return ""


def _strays(folder, lessons, notebook_name, intake):
    """Notes for what a student's folder holds that no lesson expects."""
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or (entry.is_symlink() and entry.name in lessons):
            continue  # a linked lesson is refused with its note (collect)
        where = shown(f"{folder.name}/{entry.name}")
        if entry.is_symlink():
            intake.notes.append((where, LINK))
        elif entry.name not in lessons:
            near = difflib.get_close_matches(entry.name, lessons, n=1, cutoff=0.6)
            hint = f": did you mean {near[0]}?" if near else f" (lessons: {', '.join(lessons)})"
            intake.notes.append((where, f"not a lesson, ignored{hint}"))
        else:
            expected = notebook_name(entry.name)
            if _only_notebook(entry, expected):
                continue  # graded under its lesson's name, with its own note (collect)
            for other in sorted(entry.glob("*.ipynb")):
                if other.name != expected and not other.is_symlink():
                    intake.notes.append(
                        (
                            shown(f"{folder.name}/{entry.name}/{other.name}"),
                            f"ignored: the notebook must be named {expected}",
                        )
                    )


@dataclass(frozen=True)
class Rostered:
    """A student of the class as the instructor's roster names them."""

    first_name: str
    last_name: str
    lms_id: str


ROSTER_COLUMNS = ["student", "first_name", "last_name", "lms_id"]


def read_roster(path):
    """({student id: Rostered}, notes) of a roster file: CSV, its first line
    student,first_name,last_name,lms_id (more columns are ignored), a student being the name
    of their folder in SUBMISSIONS."""
    try:
        rows = read_csv(path, ROSTER_COLUMNS)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    roster, notes = {}, []
    for number, (student, *names_and_id) in rows:
        if not STUDENT_ID.match(student):
            notes.append((f"{Path(path).name} line {number}", f"ignored: {STUDENT_RULE}"))
            continue
        roster[student] = Rostered(*names_and_id)
    return roster, notes


def _only_notebook(lesson_folder, expected):
    """The one notebook of a lesson folder that lacks `expected` (softmax-Copy1.ipynb,
    Softmax.ipynb: the student's only copy, misnamed), or None."""
    if not lesson_folder.is_dir() or lesson_folder.is_symlink():
        return None
    if (lesson_folder / expected).exists() or (lesson_folder / expected).is_symlink():
        return None
    notebooks = [p for p in lesson_folder.glob("*.ipynb") if not p.name.startswith(".")]
    return notebooks[0] if len(notebooks) == 1 and not notebooks[0].is_symlink() else None


def collect(submissions, lessons, notebook_name, roster=None):
    """The Intake of SUBMISSIONS: one Submission per student and lesson of `lessons` (every
    lesson of the course), usable or not. roster: {student id: Rostered}: a rostered student
    without a folder has every lesson missing, a folder not on it is graded and noted."""
    intake = Intake()
    intake.folders = students_in(submissions, intake)
    for student, folder in intake.folders.items():
        student_folder = Path(submissions) / folder
        if roster and student not in roster:
            intake.notes.append((shown(folder), "not on the roster: graded; check the name"))
        if not student_folder.is_symlink():
            _strays(student_folder, lessons, notebook_name, intake)
        for lesson in lessons:
            name = notebook_name(lesson)
            notebook = SubmittedNotebook(student_folder / lesson / name)
            if only := _only_notebook(notebook.parent, name):
                notebook = SubmittedNotebook(only)
                intake.notes.append(
                    (
                        shown(f"{folder}/{lesson}/{only.name}"),
                        f"graded as {name}: the only notebook in its folder",
                    )
                )
            problem = _refused(submissions, notebook.parent, intake) or _problem(notebook)
            intake.found.append(
                Submission(student, lesson, name, None if problem else notebook, problem)
            )
    for student in sorted(set(roster or ()) - set(intake.folders)):  # nothing handed in
        intake.folders[student] = student
        for lesson in lessons:
            intake.found.append(Submission(student, lesson, notebook_name(lesson), None, MISSING))
    return intake
