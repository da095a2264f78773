"""Feedback that travels: one self-contained page per notebook, one archive per student.

nbgrader's generate_feedback writes the pages (hidden tests cleared, diagnoses instead of
tracebacks); each is then made whole: MathJax inline (autograder.outputs.mathjax), images
already inline, long lines wrapped. A page can be mailed or uploaded alone and shows its
maths offline. OUT/feedback/<student>.zip holds a student's pages, ready to return.
"""

import html
import re
import time
import warnings
import zipfile

from sqlalchemy.exc import SAWarning

from autograder.course import check_success, nbgrader_api
from autograder.outputs.mathjax import inline_mathjax

_EXTERNAL_SCRIPT = re.compile(
    r"""<script[^>]*\bsrc=["']https?://[^"']*["'][^>]*>\s*</script>""", re.I
)
# long diagnoses wrap instead of scrolling sideways, cut off mid-sentence
WRAP = """<style>
pre, .output_text pre, .jp-OutputArea-output pre { white-space: pre-wrap; overflow-wrap: anywhere; }
</style>"""


def _lesson_feedback(job):
    """A lesson's pages; returns the core-seconds they took."""
    course, lesson, students, db_url = job
    cpu = time.process_time()
    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session warnings, not ours
    api = nbgrader_api(course, db_url=db_url)
    for student in students:
        check_success(api.generate_feedback(lesson, student), f"generate_feedback {lesson}")
    return time.process_time() - cpu


def generate(course, items, workers, db_url=None):
    """nbgrader's generate_feedback for the (student, lesson) items, lessons in parallel on
    the run's workers (it only reads the gradebook), one lesson here; "*" for a lesson whose
    every submission is among them. Returns the core-seconds the workers spent on them."""
    by_lesson = {}
    for student, lesson in items:
        by_lesson.setdefault(lesson, []).append(student)
    work = []
    for lesson, students in sorted(by_lesson.items()):
        submitted = [p for p in (course / "submitted").iterdir() if (p / lesson).is_dir()]
        work.append(
            (course, lesson, ["*"] if len(students) == len(submitted) else students, db_url)
        )
    if len(work) > 1:  # the core-seconds spent on the workers, where the command sees none
        return sum(workers.map(_lesson_feedback, work))
    list(map(_lesson_feedback, work))
    return 0.0


def travel(page_html):
    """A feedback page made whole: maths inline, long lines wrapped, nothing fetched (the
    template's require.js from a CDN only serves live widgets, whose pictures are inline)."""
    page_html = _EXTERNAL_SCRIPT.sub("", inline_mathjax(page_html))
    return page_html.replace("</head>", f"{WRAP}\n</head>", 1)


def problem_page(result):
    """The page of a notebook that could not be graded: what happened, in the same words."""
    return travel(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
        f"<h1>{html.escape(result.lesson)}: 0 / {result.max_score:g}</h1>"
        f"<p>Your notebook {html.escape(result.notebook)} could not be graded: "
        f"{html.escape(result.problem)}.</p></body></html>"
    )


def archive(out, student):
    """OUT/feedback/<student>.zip of the student's pages, ready to return."""
    folder = out / "feedback" / student
    # the fastest deflate: the pages are mostly MathJax, a fifth bigger for a fifth of the time
    archive = out / "feedback" / f"{student}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for page in sorted(folder.rglob("*.html")):
            z.write(page, page.relative_to(out / "feedback"))
