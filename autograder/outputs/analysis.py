"""What the class report computes from the results: item analysis of every exercise, each
student's progress, and the misconceptions (the diagnoses grouped by kind and exercise).

Everything here reads LessonResults and nothing else. A cell whose kind is "not
implemented" (the function still raises NotImplementedError) or whose notebook is missing
was left unattempted: it counts apart from the mistakes, so that "not implemented yet" does
not fill the list of what the class misunderstands.
"""

import re
from collections import defaultdict
from dataclasses import dataclass

from autograder.intake import MISSING
from autograder.record.manual import WRITTEN_KIND
from autograder.run.trusted import ANSWER_KEY_KIND
from autograder.run.values import GRADER_KIND

NOT_IMPLEMENTED = "not implemented"
UNATTEMPTED_KINDS = {NOT_IMPLEMENTED: NOT_IMPLEMENTED, "unattempted": MISSING}
FLAGGED = (ANSWER_KEY_KIND, GRADER_KIND)  # kinds an instructor should look at
# not a misconception: flagged apart (the answer key, the grader's own failure) or nothing ran
# (a broken file), or graded by hand (a written answer)
NOT_MISTAKES = {*FLAGGED, "not graded", WRITTEN_KIND}
GROUP_SHARE = 0.27  # the upper and lower groups of the discrimination index (Kelley's 27%)


@dataclass(frozen=True)
class Item:
    """One exercise (graded cell) over the class."""

    lesson: str
    grade_id: str
    students: int
    max_score: float
    pass_rate: float  # share of the class with full marks
    mean_score: float  # in points
    discrimination: float | None  # upper group's mean share of the points minus the lower's
    unattempted: float  # share of the class that left it as the starter or handed nothing in


@dataclass(frozen=True)
class Misconception:
    """One kind of mistake (or of unattempted work) on one exercise, and who made it."""

    kind: str
    lesson: str
    grade_id: str  # "" for a missing notebook: it is the whole lesson
    students: tuple
    example: str  # the diagnosis most of them got


def diagnosis_kind(message):
    """A message with its numbers masked, so that the same mistake groups across students."""
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", message)


def unattempted_reason(cell, result):
    """ "not implemented", "missing notebook", or "" when the cell was attempted."""
    if result.problem == MISSING:
        return MISSING
    return UNATTEMPTED_KINDS.get(cell.kind, "") if cell.score < cell.max_score else ""


def totals(results):
    """{student: share of all the points of the lessons handed out}."""
    points, possible = defaultdict(float), defaultdict(float)
    for r in results:
        points[r.student] += r.score
        possible[r.student] += r.max_score
    return {s: points[s] / possible[s] if possible[s] else 0.0 for s in points}


def groups(results):
    """(upper, lower): the top and bottom GROUP_SHARE of the class by total (at least one
    student each, never overlapping); ties are broken by name, to be reproducible."""
    ranked = sorted(totals(results).items(), key=lambda item: (-item[1], item[0]))
    size = max(1, round(GROUP_SHARE * len(ranked))) if len(ranked) >= 2 else 0
    size = min(size, len(ranked) // 2)
    return {s for s, _ in ranked[:size]}, {s for s, _ in ranked[len(ranked) - size :]}


def items(results):
    """The Item of every exercise, in lesson and notebook order."""
    upper, lower = groups(results)
    cells = defaultdict(list)
    for r in results:
        for c in r.cells:
            cells[(r.lesson, c.grade_id)].append((r, c))
    found = []
    for (lesson, grade_id), entries in sorted(cells.items(), key=lambda kv: kv[0][0]):
        max_score = max(c.max_score for _, c in entries)

        def share(group, entries=entries, max_score=max_score):
            mine = [c.score / max_score for r, c in entries if r.student in group]
            return sum(mine) / len(mine) if mine else None

        high, low = share(upper), share(lower)
        found.append(
            Item(
                lesson,
                grade_id,
                len(entries),
                max_score,
                sum(c.score >= c.max_score for _, c in entries) / len(entries),
                sum(c.score for _, c in entries) / len(entries),
                None if high is None or low is None or not max_score else high - low,
                sum(bool(unattempted_reason(c, r)) for r, c in entries) / len(entries),
            )
        )
    return found


def progress(results):
    """{student: {lesson: share of the lesson's points}}."""
    found = defaultdict(dict)
    for r in results:
        found[r.student][r.lesson] = r.score / r.max_score if r.max_score else 0.0
    return dict(found)


def _grouped(entries):
    """Misconceptions of {(kind, lesson, grade_id): [(student, message)]}, most students
    first (then lesson and exercise order)."""
    found = []
    for (kind, lesson, grade_id), who in entries.items():
        messages = defaultdict(list)
        for _, message in who:
            messages[diagnosis_kind(message)].append(message)
        example = max(messages.values(), key=len)[0]
        students = tuple(sorted({s for s, _ in who}))
        found.append(Misconception(kind, lesson, grade_id, students, example))
    return sorted(found, key=lambda m: (-len(m.students), m.lesson, m.grade_id, m.kind))


def misconceptions(results):
    """(mistakes, unattempted): the diagnoses grouped by kind and exercise, most common
    first; and what was left unattempted, "not implemented" per exercise and "missing
    notebook" per lesson."""
    mistakes, unattempted = defaultdict(list), defaultdict(list)
    for r in results:
        for c in r.cells:
            if c.score >= c.max_score:
                continue
            reason = unattempted_reason(c, r)
            if reason == MISSING:
                unattempted[(MISSING, r.lesson, "")].append((r.student, MISSING))
            elif reason:
                unattempted[(reason, r.lesson, c.grade_id)].append((r.student, c.message))
            elif c.kind not in NOT_MISTAKES and c.message:
                mistakes[(c.kind or "values", r.lesson, c.grade_id)].append((r.student, c.message))
    return _grouped(mistakes), _grouped(unattempted)
