"""Feedback that travels: one self-contained page per notebook, one archive per student.

nbgrader's generate_feedback writes the pages (hidden tests cleared, diagnoses instead of
tracebacks, what the student's notebook displays sanitized: autograder.outputs.sanitize);
each is then made whole: its maths is MathML, typeset when the page was rendered
(autograder.outputs.mathml: no MathJax to carry), images already inline, long lines wrapped,
nothing fetched. A page can be mailed or uploaded alone and shows its maths offline.
OUT/feedback-archives/<student>.zip holds a student's pages, ready to return: beside
OUT/feedback/<student>/, never in it, so that no student id (a folder named `alice.zip`)
can name another student's archive. A page or an archive that cannot be made costs only
itself: the page then says why.
"""

import contextlib
import html
import math
import os
import re
import time
import warnings
import zipfile

import nbconvert.exporters.html
from sqlalchemy.exc import SAWarning

from autograder.course import nbgrader_api, only_students
from autograder.files import write_whole
from autograder.outputs.mathjax import without_mathjax

_EXTERNAL_SCRIPT = re.compile(
    r"""<script[^>]*\bsrc=["']https?://[^"']*["'][^>]*>\s*</script>""", re.I
)
ARCHIVES = "feedback-archives"  # OUT/feedback-archives/<student>.zip
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
    """A batch of a lesson's pages, made whole into OUT/feedback. Returns the core-seconds
    they took and {(student, lesson): why} for the pages that could not be made."""
    course, out, lesson, students, db_url = job
    cpu = time.process_time()
    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session warnings, not ours
    api = nbgrader_api(course, db_url=db_url)
    made = {student: course / "feedback" / student / lesson for student in students}
    unmade = {}
    with _soup_only_where_it_changes_something():
        # one run for the batch; should it fail, each student alone: one failure costs only
        # that student's page, and nbgrader's log then says why
        with only_students(api, lesson, students):
            together = api.generate_feedback(lesson, "*")["success"]
        for student in [] if together else students:
            result = api.generate_feedback(lesson, student)
            if not result["success"]:
                unmade[(student, lesson)] = _failure(result)
    for student in students:
        pages = sorted(made[student].glob("*.html"))
        if not pages:  # nbgrader passed over it: it holds no grades
            unmade.setdefault((student, lesson), "nbgrader made no feedback page")
        for page in pages:
            try:
                _make_whole(page, out / "feedback" / student / lesson / page.name)
            except Exception as exc:  # whatever it is, it costs this page only
                unmade[(student, lesson)] = f"{type(exc).__name__}: {exc}"[:300]
    return time.process_time() - cpu, unmade


def _make_whole(page, whole):
    """nbgrader's page (in the course's feedback/) made whole in its place, and `whole` (in
    OUT/feedback) a second name for it: one file on the disk (200 KB a notebook), and what
    nbgrader's own release_feedback hands out is the page that travels."""
    write_whole(page, travel(page.read_text(encoding="utf-8")))
    whole.parent.mkdir(parents=True, exist_ok=True)
    whole.unlink(missing_ok=True)
    try:
        os.link(page, whole)
    except OSError:  # a file system without hard links: a copy
        write_whole(whole, page.read_bytes())


def _failure(result):
    """What nbgrader's generate_feedback failed on, from its log: the exception that ends the
    first traceback it logged (e.g. "RuntimeError: No end hidden tests statement found"),
    the line indented as the traceback's header (its logger indents every line after the
    first; each frame is 2 spaces further in)."""
    lines = result.get("log", "").splitlines()
    start = next((i for i, line in enumerate(lines) if "Traceback (most recent" in line), None)
    if start is not None and start + 1 < len(lines):
        frame = lines[start + 1]
        indent = len(frame) - len(frame.lstrip()) - 2
        for line in lines[start + 2 :]:
            if line.strip() and len(line) - len(line.lstrip()) == indent:
                return line.strip()[:300]
    return "nbgrader's generate_feedback failed"


BATCH = 20  # pages at least in a batch of generate_feedback: its start costs a few pages


def generate(course, out, items, workers, db_url=None):
    """nbgrader's generate_feedback for the (student, lesson) items, each page then made
    whole into OUT/feedback, on the run's workers (it only reads the gradebook): batches of
    a lesson's students, as many as there are workers or lessons. Returns the core-seconds
    the workers spent on them and {(student, lesson): why} for the pages that could not be
    made."""
    by_lesson = {}
    for student, lesson in items:
        by_lesson.setdefault(lesson, []).append(student)
    size = max(BATCH, math.ceil(len(items) / workers.jobs))
    work = []
    for lesson, students in sorted(by_lesson.items()):
        students.sort()
        for i in range(0, len(students), size):
            work.append((course, out, lesson, students[i : i + size], db_url))
    done, cpu = _on_workers(_lesson_feedback, work, workers)
    return cpu, {key: why for unmade in done for key, why in unmade.items()}


def _on_workers(fn, items, workers):
    """fn over items on the workers, fn returning (core-seconds, value). Returns the values,
    and the core-seconds the workers spent."""
    if not items:
        return [], 0.0
    done = workers.map(fn, items)
    return [value for _, value in done], sum(cpu for cpu, _ in done)


def travel(page_html):
    """A feedback page made whole: no MathJax (its maths is MathML already), long lines
    wrapped, nothing fetched (the template's require.js from a CDN only serves live widgets,
    whose pictures are inline)."""
    page_html = _EXTERNAL_SCRIPT.sub("", without_mathjax(page_html))
    return page_html.replace("</head>", f"{WRAP}\n</head>", 1)


def problem_page(result, why=""):
    """The page of a notebook without a page of its own, in the same words: it could not be
    graded (its result's problem), or its page could not be made (why)."""
    if result.problem:
        what = f"could not be graded: {result.problem}"
    else:
        what = f"was graded, but its feedback page could not be made: {why}"
    return travel(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title></head><body>"
        f"<h1>{html.escape(result.lesson)}: {result.score:g} / {result.max_score:g}</h1>"
        f"<p>Your notebook {html.escape(result.notebook)} {html.escape(what)}.</p></body></html>"
    )


def archives(out, students, workers):
    """OUT/feedback-archives/<student>.zip of each student's pages, ready to return; returns
    the core-seconds the workers spent on them."""
    return _on_workers(_archive, [(out, student) for student in students], workers)[1]


def _archive(job):
    """One student's archive, written whole or not at all: one that cannot be made leaves
    none (an older one would not match the pages), and costs the others nothing."""
    out, student = job
    cpu = time.process_time()
    folder = out / "feedback" / student
    archive = out / ARCHIVES / f"{student}.zip"
    partial = archive.with_name(f"{student}.zip.partial")
    try:
        archive.parent.mkdir(exist_ok=True)
        # the fastest deflate: a fifth bigger for a fifth of the time
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for page in sorted(folder.rglob("*.html")):
                z.write(page, page.relative_to(out / "feedback"))
        os.replace(partial, archive)
    except Exception:
        partial.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)
    return time.process_time() - cpu, None
