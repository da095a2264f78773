"""Due dates and late work, nbgrader's way.

A course file (grade --due due.csv) gives each lesson a due date and a late policy, and
another (grade --extensions extensions.csv: student,lesson,days) the students' extensions:

    lesson,due,per_day,at_most
    01_softmax,2027-02-01 23:59 UTC,0.1,0.5

`due` is kept as the assignment's due date in nbgrader's gradebook; a submission's time is
its nbgrader `timestamp.txt`, else its notebook file's time (intake says which); nbgrader's
`AssignLatePenalties` then asks the plugin below for each notebook's penalty: `per_day` of
the score for every day started after the due date (and the student's extension), at most
`at_most` of it. `per_day` 0 is no penalty, and 1 with `at_most` 1 scores late work 0. The
policy reaches nbgrader through its configuration (autograder.course), so that nbgrader's own
autograde in OUT/course gives the same penalties.
"""

import math
from dataclasses import dataclass

from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.utils import parse_utc
from traitlets import Dict

from autograder.files import read_csv

DUE_COLUMNS = ["lesson", "due", "per_day", "at_most"]
DAY = 24 * 3600


@dataclass(frozen=True)
class Due:
    """A lesson's due date (an aware datetime, UTC) and its late policy."""

    due: object
    per_day: float
    at_most: float


def _rows(path, columns):
    """files.read_csv's rows of the file at path, whose errors name it."""
    try:
        return read_csv(path, columns)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def read_due(path, lessons):
    """{lesson: Due} of a due-date file; raises ValueError, naming the line, on anything else."""
    found = {}
    for number, (lesson, due, per_day, at_most) in _rows(path, DUE_COLUMNS):
        try:
            if lesson not in lessons:
                raise ValueError(f"unknown lesson {lesson!r}")
            policy = Due(parse_utc(due), float(per_day or 0), float(at_most or 1))
            if not (0 <= policy.per_day <= 1 and 0 <= policy.at_most <= 1):
                raise ValueError("per_day and at_most are fractions of the score, 0 to 1")
        except ValueError as exc:
            raise ValueError(f"{path} line {number}: {exc}") from None
        found[lesson] = policy
    return found


EXTENSION_COLUMNS = ["student", "lesson", "days"]


def read_extensions(path, lessons):
    """{(student, lesson): days} of an extensions file (first line student,lesson,days);
    raises ValueError, naming the line, on anything else."""
    found = {}
    for number, (student, lesson, days) in _rows(path, EXTENSION_COLUMNS):
        try:
            if lesson not in lessons:
                raise ValueError(f"unknown lesson {lesson!r}")
            found[(student, lesson)] = float(days)
        except ValueError as exc:
            raise ValueError(f"{path} line {number}: {exc}") from None
    return found


def penalty(score, seconds_late, per_day, at_most):
    """The points a notebook scoring `score` loses for being seconds_late."""
    if seconds_late <= 0:
        return 0.0
    return score * min(at_most, per_day * math.ceil(seconds_late / DAY))


def late_by(seconds):
    """Lateness as a reader says it: '1 d 3 h', '45 min'."""
    minutes = math.ceil(seconds / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{minutes} min" if minutes and not days else "")
    return " ".join(p for p in parts if p) or "0 min"


class PerDayPenalty(LateSubmissionPlugin):
    """nbgrader's late-submission plugin for the course: each lesson's policy from the
    course's configuration, {lesson: [per_day, at_most]}."""

    policies = Dict(help="{lesson: [per_day, at_most]}").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        per_day, at_most = self.policies.get(self.parent.assignment_id, (0.0, 0.0))
        return penalty(score, total_seconds_late, per_day, at_most)
