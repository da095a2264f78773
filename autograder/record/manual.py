"""What an instructor enters by hand in formgrader, and when it counts.

nbgrader keeps a manual score when it grades a new version of a submission, and marks the
grade "needs manual grade"; saving a grade in formgrader clears the mark. Until then the
score was given for other work: it counts nowhere a grade leaves the machine (grades.csv,
the LMS files, the feedback), where the automatic score stands instead, marked pending.
"""

TO_REVIEW = "graded by hand for an earlier version of this notebook: to review in formgrader"
TO_GRADE = "to grade by hand in formgrader"
WRITTEN_KIND = "written answer"  # the kind of a written question's cell (graded by hand)


def counted(grade):
    """(score, why it is pending or "") of an nbgrader Grade."""
    if not grade.needs_manual_grade:
        return grade.score, ""
    if grade.manual_score is not None:
        return grade.auto_score or 0.0, TO_REVIEW
    return grade.auto_score or 0.0, "" if grade.auto_score is not None else TO_GRADE


def stale(grades):
    """Whether what was written by hand for these Grades' notebook was for other work."""
    return any(counted(g)[1] == TO_REVIEW for g in grades)
