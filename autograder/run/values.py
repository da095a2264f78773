"""The plain values that flow out of the run stage: one Task in, one Outcome out per notebook."""

from dataclasses import dataclass, field

GRADER_KIND = "grader"  # the grader failed on this notebook: not the student's doing


def grader_failed(verdicts):
    """Whether the grader's own machinery failed on a notebook with these verdicts: then
    they are not the grade the work deserves."""
    return any(v.kind == GRADER_KIND for v in verdicts.values())


@dataclass(frozen=True)
class Task:
    """One notebook to grade: the sanitized submission of (student, lesson), as nbformat JSON."""

    key: tuple
    notebook_json: str


@dataclass(frozen=True)
class Verdict:
    """The trusted run's finding on one graded cell."""

    passed: bool
    message: str  # the first line of the trusted run's failure, "" when it passed
    kind: str = ""  # what kind of mistake the check found (CheckFailed.kind), "" when passed
    detail: str = ""  # the whole diagnosis, for the feedback (when passed: its notes, or "")


@dataclass(frozen=True)
class Outcome:
    key: tuple
    notebook_json: str  # the executed notebook, the trusted run's verdicts recorded in it
    problem: str  # "" when the notebook ran normally, else why it stopped
    verdicts: dict  # grade_id -> Verdict
    seconds: float
    phases: dict = field(default_factory=dict)  # phase -> core-seconds (autograder.costs)

    @property
    def grader_failed(self):
        return grader_failed(self.verdicts)
