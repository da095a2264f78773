"""The grades as a learning management system imports them: one column per lesson.

- OUT/canvas_grades.csv, Canvas's gradebook import: the columns Student, ID, SIS User ID,
  SIS Login ID, Section, then one per lesson; a second row "Points Possible" gives each
  lesson's points. ID (Canvas's own number) is left blank: Canvas then finds a student by
  SIS User ID, else by SIS Login ID, else by name, so the student's LMS id goes in both SIS
  columns and the folder name in Student. A lesson column whose title matches no assignment
  becomes a new assignment on import.
- OUT/moodle_grades.csv, Moodle's CSV grade import: a column "ID number" with the
  student's LMS id (mapped at import to the user's ID number, username or email address,
  whichever the ids are), then one column per lesson, mapped to a grade item or to a new
  one; nothing but a header and one row per student.

A grade that is pending (autograder.outputs.export.LessonResult.pending: the grader failed on
the notebook, or a part graded by hand waits for review) leaves its cell empty: Canvas and
Moodle keep what they had for it, and the report lists it; the next export, once it is
settled, fills it in.

A lesson's column is its id, or the LMS's own column that OUT/lms_columns.csv (columns
lesson,canvas,moodle, written by the instructor) maps it to: an existing Canvas assignment by
its "Name (id)" header, a Moodle grade item by its name.

A student's LMS id is what the roster gives (grade --roster), else what OUT/lms_ids.csv
(columns folder,lms_id, written by the instructor) gives for their folder, else the folder
name of SUBMISSIONS.
"""

import re

from autograder.files import read_csv
from autograder.outputs import csvfile

LMS_IDS = "lms_ids.csv"
LMS_COLUMNS = "lms_columns.csv"  # lesson,canvas,moodle: the LMS's own column for a lesson
# Canvas matches an existing assignment by a header "Name (id)", its id in Canvas's URLs
CANVAS_ASSIGNMENT = re.compile(r".+ \(\d+\)$")
CANVAS = "canvas_grades.csv"
MOODLE = "moodle_grades.csv"
CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "Points Possible"
MOODLE_ID_COLUMN = "ID number"


def read_ids(path):
    """({folder: lms_id}, problems) of an lms_ids.csv; ({}, []) when there is none."""
    if not path.is_file():
        return {}, []
    try:
        rows = read_csv(path, ["folder", "lms_id"])
    except ValueError as exc:
        return {}, [f"{path.name} ignored: {exc}"]
    ids, problems = {}, []
    for number, (folder, lms_id) in rows:
        if not folder or not lms_id:
            problems.append(f"{path.name} line {number} ignored: a folder and an lms_id are needed")
        else:
            ids[folder] = lms_id
    return ids, problems


def gradebook(results, folders=None, ids=None):
    """(lessons, points possible per lesson, rows): a row is (folder, lms_id, {lesson: score})
    per student, in the order of their folder names; a pending score is None."""
    folders, ids = folders or {}, ids or {}
    lessons = sorted({r.lesson for r in results})
    possible = {}
    for r in results:
        possible[r.lesson] = max(possible.get(r.lesson, 0), r.max_score)
    scores = {}
    for r in results:
        scores.setdefault(r.student, {})[r.lesson] = None if r.pending else r.score
    rows = []
    for student, mine in scores.items():
        folder = folders.get(student, student)
        rows.append((folder, ids.get(folder, folder), mine))
    return lessons, possible, sorted(rows, key=lambda row: (row[0].casefold(), row[0]))


def read_columns(path, lessons):
    """({lesson: Canvas header}, {lesson: Moodle column}, problems) of an lms_columns.csv
    (first line lesson,canvas,moodle; an empty cell keeps the lesson id)."""
    if not path.is_file():
        return {}, {}, []
    try:
        rows = read_csv(path, ["lesson", "canvas", "moodle"])
    except ValueError as exc:
        return {}, {}, [f"{path.name} ignored: {exc}"]
    canvas, moodle, problems = {}, {}, []
    for number, (lesson, to_canvas, to_moodle) in rows:
        if lesson not in lessons:
            problems.append(f"{path.name} line {number} ignored: {lesson!r} is not graded here")
            continue
        if to_canvas and not CANVAS_ASSIGNMENT.match(to_canvas):
            problems.append(
                f"{path.name} line {number}: Canvas matches an assignment by 'Name (id)', "
                f"not {to_canvas!r}: the lesson id is used"
            )
        elif to_canvas:
            canvas[lesson] = to_canvas
        if to_moodle:
            moodle[lesson] = to_moodle
    return canvas, moodle, problems


def _scores(mine, lessons):
    """A student's cells: a pending score is left empty (the LMS keeps what it had)."""
    return ["" if mine.get(x, 0) is None else f"{mine.get(x, 0):g}" for x in lessons]


def write(out, results, folders=None, rostered=None):
    """Write canvas_grades.csv and moodle_grades.csv in out; return what the instructor should
    know about the LMS ids (problems of lms_ids.csv, students it does not name). rostered:
    {student id: LMS id} from the roster, which names them before lms_ids.csv does."""
    ids, problems = read_ids(out / LMS_IDS)
    folders = folders or {}
    ids.update(
        {folders.get(student, student): lms_id for student, lms_id in (rostered or {}).items()}
    )
    lessons, possible, rows = gradebook(results, folders, ids)
    to_canvas, to_moodle, more = read_columns(out / LMS_COLUMNS, lessons)
    problems += more
    canvas = [
        [*CANVAS_STUDENT_COLUMNS, *(to_canvas.get(x, x) for x in lessons)],
        [CANVAS_POINTS_ROW, "", "", "", "", *(f"{possible[x]:g}" for x in lessons)],
    ]
    for folder, lms_id, mine in rows:
        canvas.append([folder, "", lms_id, lms_id, "", *_scores(mine, lessons)])
    csvfile.write(out / CANVAS, canvas)
    moodle = [[MOODLE_ID_COLUMN, *(to_moodle.get(x, x) for x in lessons)]]
    moodle += [[lms_id, *_scores(mine, lessons)] for _, lms_id, mine in rows]
    csvfile.write(out / MOODLE, moodle)
    if ids:
        named = set(ids)
        unnamed = [folder for folder, _, _ in rows if folder not in named]
        if unnamed:
            problems.append(
                f"{LMS_IDS} names no LMS id for {', '.join(unnamed)}: their folder names are used"
            )
        strangers = sorted(named - {folder for folder, _, _ in rows})
        if strangers:
            problems.append(
                f"{LMS_IDS} names folders that are not in the class: {', '.join(strangers)}"
            )
    return problems
