"""Feedback that travels: one self-contained page per notebook, one archive per student.

nbgrader's generate_feedback writes the pages (hidden tests cleared, diagnoses instead of
tracebacks); each is then made whole: MathJax inline (autograder.outputs.mathjax), images
already inline, long lines wrapped. A page can be mailed or uploaded alone and shows its
maths offline. OUT/feedback/<student>.zip holds a student's pages, ready to return.
"""

import contextlib
import html
import re
import time
import warnings
import zipfile

import nbconvert.exporters.html
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


class _Unchanged(str):
    """A page that BeautifulSoup would give back as it is: no element to select."""

    def select(self, _selector):
        return []


@contextlib.contextmanager
def _soup_only_where_it_changes_something():
    """nbconvert's HTMLExporter parses every page it renders with BeautifulSoup, to give an
    <img> without alt text one and the lab template's cells a tabindex. nbgrader's feedback
    template is the classic one, without those cells, and a grading kernel draws no figure:
    a page without <img> is kept as rendered, which saves the parse (0.05 core-s a page)."""
    soup = nbconvert.exporters.html.BeautifulSoup

    def parse(markup, *args, **kwargs):
        if "<img" in markup or "jp-Notebook" in markup:
            return soup(markup, *args, **kwargs)
        return _Unchanged(markup)

    nbconvert.exporters.html.BeautifulSoup = parse
    try:
        yield
    finally:
        nbconvert.exporters.html.BeautifulSoup = soup


def _lesson_feedback(job):
    """A lesson's pages, made whole into OUT/feedback; returns the core-seconds they took."""
    course, out, lesson, students, everyone, db_url = job
    cpu = time.process_time()
    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session warnings, not ours
    api = nbgrader_api(course, db_url=db_url)
    with _soup_only_where_it_changes_something():
        for student in ["*"] if everyone else students:
            check_success(api.generate_feedback(lesson, student), f"generate_feedback {lesson}")
    for student in students:
        for made in (course / "feedback" / student / lesson).glob("*.html"):
            page = out / "feedback" / student / lesson / made.name
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(travel(made.read_text(encoding="utf-8")), encoding="utf-8")
    return time.process_time() - cpu


def generate(course, out, items, workers, db_url=None):
    """nbgrader's generate_feedback for the (student, lesson) items, each page then made
    whole into OUT/feedback: lessons in parallel on the run's workers (it only reads the
    gradebook), one lesson here; "*" for a lesson whose every submission is among them.
    Returns the core-seconds the workers spent on them."""
    by_lesson = {}
    for student, lesson in items:
        by_lesson.setdefault(lesson, []).append(student)
    work = []
    for lesson, students in sorted(by_lesson.items()):
        submitted = [p for p in (course / "submitted").iterdir() if (p / lesson).is_dir()]
        everyone = len(students) == len(submitted)
        work.append((course, out, lesson, sorted(students), everyone, db_url))
    return _on_workers(_lesson_feedback, work, workers)


def _on_workers(fn, items, workers):
    """fn over items: on the workers when there are several (returning the sum of what they
    return, the core-seconds the command does not see), else here (returning 0)."""
    if len(items) > 1:
        return sum(workers.map(fn, items))
    list(map(fn, items))
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


def archives(out, students, workers):
    """OUT/feedback/<student>.zip of each student's pages, ready to return; returns the
    core-seconds the workers spent on them."""
    return _on_workers(_archive, [(out, student) for student in students], workers)


def _archive(job):
    out, student = job
    cpu = time.process_time()
    folder = out / "feedback" / student
    # the fastest deflate: the pages are mostly MathJax, a fifth bigger for a fifth of the time
    archive = out / "feedback" / f"{student}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for page in sorted(folder.rglob("*.html")):
            z.write(page, page.relative_to(out / "feedback"))
    return time.process_time() - cpu
