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
import math
import os
import re
import stat
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.validator import MissingIDFieldWarning

from autograder.course import LESSONS, SOLUTIONS, SOURCE
from autograder.files import read_csv, unicode

MISSING = "missing notebook"  # the problem of a notebook nobody handed in
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
STUDENT_RULE = (
    "a student id is 1-64 ASCII letters, digits and _ . @ + -, starting with a letter or digit"
)
MAX_NOTEBOOK_BYTES = 20 * 1024**2
MAX_ENTRIES = 10_000  # files and folders a lesson folder may hold, at any depth
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
    """The symbolic links in a lesson folder and everything below it, in order; ValueError
    when it holds more than MAX_ENTRIES (walked without recursion: an archive can hold
    folders nested thousands deep)."""
    found, pending, seen = [], [Path(lesson_folder)], 0
    while pending:
        folder = pending.pop()
        for entry in sorted(folder.iterdir(), reverse=True):
            seen += 1
            if seen > MAX_ENTRIES:
                raise ValueError(f"refused: it holds more than {MAX_ENTRIES} files and folders")
            mode = entry.lstat().st_mode
            if stat.S_ISLNK(mode):
                found.append(entry)
            elif stat.S_ISDIR(mode):
                pending.append(entry)
    return sorted(found)


def _refused(submissions, lesson_folder, intake):
    """Why the submission in lesson_folder is refused, "" when it holds no link: its student
    folder, its lesson folder or something in it is one. Each link gets its note (a student
    folder's, once, from students_in)."""
    if lesson_folder.parent.is_symlink():
        links = [lesson_folder.parent]
    else:
        try:
            links = [lesson_folder] if lesson_folder.is_symlink() else _links(lesson_folder)
        except FileNotFoundError:
            links = []
        except (OSError, ValueError) as exc:
            return str(exc) if isinstance(exc, ValueError) else f"unreadable: {exc.strerror}"
        intake.notes += [(shown(str(link.relative_to(submissions))), LINK) for link in links]
    if not links:
        return ""
    where = shown(str(links[0].relative_to(submissions)))
    return f"refused: {where} is a symbolic link (links are never followed)"


COURSE_FILE = "refused: a hard link to the course's own notebook (another name of its file)"


def _same_files(intake):
    """Notebooks that are one file under several names (hard links, as an archive's hard-link
    member makes them). One of the course's own notebooks is refused. One that is also
    another student's is graded for each, with a note: which name came first cannot be
    told, and the similarity check flags the pair as one file."""
    course = {
        (info.st_dev, info.st_ino)
        for folder in (SOURCE, SOLUTIONS, LESSONS)
        for info in map(os.stat, folder.glob("*/*.ipynb"))
    }
    names = {}
    for i, s in enumerate(intake.found):
        info = s.path and s.path.lstat()
        if not info or info.st_nlink < 2:
            continue
        if (info.st_dev, info.st_ino) in course:
            intake.found[i] = Submission(s.student, s.lesson, s.notebook, None, COURSE_FILE)
            intake.notes.append((shown(f"{intake.folders[s.student]}/{s.lesson}"), COURSE_FILE))
        else:
            names.setdefault((info.st_dev, info.st_ino), []).append(s)
    for same in names.values():
        for s in same if len(same) > 1 else ():
            others = ", ".join(o.student for o in same if o is not s)
            note = f"the same file as {others}'s (a hard link): graded for each, and compared"
            intake.notes.append((shown(f"{intake.folders[s.student]}/{s.lesson}"), note))


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
        normalized(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"unreadable: not a notebook file ({type(exc).__name__})"
    except Exception as exc:  # nbformat's validation and reading errors vary by version
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return f"unreadable: not a valid notebook ({unicode(first)[:120]})"
    return ""


# nbformat 4.5 without what a renderer would show raw: code, markdown and raw cells, each
# only with its source, id and the cell metadata below; raw cells become code-fenced
# markdown (nbconvert writes a raw cell into the page as it is)
CELL_FLAGS = ("deletable", "editable", "collapsed")
# characters of a cell, and of all a notebook's cells of that kind, that the grader reads and
# a page renders (nbconvert's markdown renderer takes time quadratic in some texts): a
# course's markdown cell has at most 6,100, a lesson's 32,000; its code 4,900 and 25,000
BOUNDS = {"markdown": (10_000, 100_000), "code": (100_000, 500_000)}
LANGUAGE = {"name": "python", "codemirror_mode": {"name": "ipython", "version": 3}}
NBGRADER_TYPES = {
    "grade_id": str,
    "grade": bool,
    "solution": bool,
    "locked": bool,
    "task": bool,
    "points": (int, float),
    "schema_version": int,
    "cell_type": str,
}
CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def normalized(data):
    """The notebook in data (bytes _problem accepted) as the course keeps it: nbformat 4.5,
    with only what nbformat defines of a notebook's cells (no other cell type or key), no
    outputs (grading runs it again), text without lone surrogates, and nbgrader's cell
    metadata only where each of its fields has its type. Every later stage (nbgrader,
    similarity, the pages, formgrader) reads this, never what was handed in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingIDFieldWarning)
        handed_in = nbformat.reads(data.decode("utf-8"), as_version=4)
    nb = nbformat.v4.new_notebook(metadata={"language_info": LANGUAGE})
    left = {kind: whole for kind, (_, whole) in BOUNDS.items()}
    for cell in handed_in.cells:
        source = _plain_text(cell.get("source", ""))
        kind = "code" if cell.get("cell_type") == "code" else "markdown"
        kept_chars = max(0, min(BOUNDS[kind][0], left[kind]))
        left[kind] -= min(len(source), kept_chars)
        if len(source) > kept_chars:
            note = f"[{len(source) - kept_chars} characters cut: {BOUNDS_RULE}]"
            note = f"# {note}" if kind == "code" else f"*{note}*"
            source = f"{source[:kept_chars]}\n\n{note}"
        if cell.get("cell_type") == "code":
            kept = nbformat.v4.new_code_cell(source)
        elif cell.get("cell_type") == "markdown":
            kept = nbformat.v4.new_markdown_cell(source)
            pictures = {
                name: {mime: data for mime, data in bundle.items() if _picture(mime, data)}
                for name, bundle in cell.get("attachments", {}).items()
                if isinstance(name, str) and isinstance(bundle, dict)
            }
            if pictures := {unicode(n): b for n, b in pictures.items() if b}:
                kept.attachments = nbformat.from_dict(pictures)
        elif cell.get("cell_type") == "raw":
            kept = nbformat.v4.new_markdown_cell("```\n" + source.replace("```", "` ` `") + "\n```")
        else:
            continue
        if isinstance(cell.get("id"), str) and CELL_ID.match(cell["id"]):
            kept.id = cell["id"]
        metadata = cell.get("metadata", {})
        kept.metadata.update({k: metadata[k] for k in CELL_FLAGS if type(metadata.get(k)) is bool})
        tags = metadata.get("tags")
        if isinstance(tags, list) and all(isinstance(t, str) and "," not in t for t in tags):
            kept.metadata.tags = [unicode(t) for t in tags]
        if (nbgrader := _nbgrader(metadata.get("nbgrader"))) is not None:
            kept.metadata["nbgrader"] = nbgrader
        nb.cells.append(kept)
    nbformat.validate(nb)
    return nbformat.v4.writes(nb).encode("utf-8")  # nbformat.writes would validate it again


BOUNDS_RULE = "the grader keeps " + ", ".join(
    f"{cell:,} characters of a {kind} cell and {whole:,} of a notebook's {kind}"
    for kind, (cell, whole) in BOUNDS.items()
)


def _plain_text(source):
    return unicode(source if isinstance(source, str) else "".join(map(str, source)))


def _picture(mime, data):
    return isinstance(mime, str) and mime.startswith("image/") and isinstance(data, str)


def _nbgrader(meta):
    """nbgrader's metadata of a cell with each known field of its type, or None (an ordinary
    cell then: a graded cell's is put back from the source, OverwriteCells)."""
    if not isinstance(meta, dict):
        return None
    kept = {}
    for key, value in meta.items():
        if key not in NBGRADER_TYPES:
            continue
        if not isinstance(value, NBGRADER_TYPES[key]) or (
            key in ("points", "schema_version") and isinstance(value, bool)
        ):
            return None
        kept[key] = unicode(value) if isinstance(value, str) else value
    if not isinstance(kept.get("points", 0), int) and not math.isfinite(kept["points"]):
        return None
    return kept


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


def _student(submissions, folder, lessons, notebook_name, intake):
    """{lesson: (the notebook to grade or None, why not)} of one student's folder."""
    student_folder = submissions / folder
    if not student_folder.is_symlink():
        _strays(student_folder, lessons, notebook_name, intake)
    found = {}
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
        found[lesson] = (None if problem else notebook, problem)
    return found


def collect(submissions, lessons, notebook_name, roster=None):
    """The Intake of SUBMISSIONS: one Submission per student and lesson of `lessons` (every
    lesson of the course), usable or not. roster: {student id: Rostered}: a rostered student
    without a folder has every lesson missing, a folder not on it is graded and noted."""
    intake = Intake()
    intake.folders = students_in(submissions, intake)
    for student, folder in intake.folders.items():
        if roster and student not in roster:
            intake.notes.append((shown(folder), "not on the roster: graded; check the name"))
        try:
            found = _student(Path(submissions), folder, lessons, notebook_name, intake)
        except Exception as exc:  # whatever a folder holds costs its student only
            why = f"unreadable: {type(exc).__name__}"
            intake.notes.append((shown(folder), why))
            found = {lesson: (None, why) for lesson in lessons}
        intake.found += [
            Submission(student, lesson, notebook_name(lesson), path, problem)
            for lesson, (path, problem) in found.items()
        ]
    _same_files(intake)
    for student in sorted(set(roster or ()) - set(intake.folders)):  # nothing handed in
        intake.folders[student] = student
        for lesson in lessons:
            intake.found.append(Submission(student, lesson, notebook_name(lesson), None, MISSING))
    return intake
