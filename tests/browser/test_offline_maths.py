"""HTML written by the course shows its maths alone and with no network: MathJax 3 is inside
the page (autograder.outputs.mathjax), or, for feedback pages, in one copy beside a student's
pages and in their archive; checked in Chromium on a file:// page copied (or unzipped) on its
own into another folder, with every request that is not a file refused."""

import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from nbconvert import HTMLExporter

from autograder.outputs.mathjax import MARKER, inline_mathjax
from tests.browser.lab import ARTIFACTS, KERNEL_TIMEOUT, REPO

LESSON = "01_softmax"
FORMULAS = [
    r"$p_k = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}$",
    r"$$J = \operatorname{diag}(\mathbf p) - \mathbf p \mathbf p^\top$$",
    r"$$\frac{\partial L}{\partial Z} = \frac{1}{N}\left(P - Y\right)$$",
]
# MathJax 3 has started and typeset the page
MATHJAX_DONE = """() => {
    const mj = window.MathJax;
    if (!mj || !mj.startup || !mj.startup.promise) return false;
    if (window.__typeset === undefined) {
        window.__typeset = false;
        mj.startup.promise.then(() => { window.__typeset = true; });
    }
    return window.__typeset;
}"""


def maths_notebook():
    """A notebook of one markdown cell with inline and display maths, and one code cell."""
    text = "The softmax " + FORMULAS[0] + " has the Jacobian\n\n" + "\n\n".join(FORMULAS[1:])
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(text), nbformat.v4.new_code_cell("1 + 1")]
    )


def open_offline(chromium, html_file):
    """Open html_file with the network cut off; return the page and the requests that failed
    or were refused."""
    page = chromium.new_page()
    refused, failed = [], []

    def only_files(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(html_file.as_uri())
    return page, refused, failed


def assert_maths_typeset(page, refused, failed, formulas=None):
    """MathJax, from the page itself, typeset every formula (as many as `formulas` when
    given), with no error and nothing fetched."""
    page.wait_for_function(MATHJAX_DONE, timeout=KERNEL_TIMEOUT, polling=100)
    found = page.locator("mjx-container").count()
    assert found > 0 and (formulas is None or found == formulas), found
    assert page.locator("mjx-merror").count() == 0, "a formula failed to typeset"
    assert "$$" not in page.locator("body").inner_text(), "raw TeX left on the page"
    assert not [url for url in refused if "mathjax" in url.lower()], refused
    assert not [url for url in failed if url.startswith("file:")], failed


def alone(html_file, tmp_path):
    """The page copied on its own into a folder of its own, as when mailed."""
    copy = tmp_path / "mailed" / html_file.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(html_file, copy)
    return copy


@pytest.mark.parametrize("template", ["lab", "classic"])
def test_nbconvert_html_with_mathjax_inline_shows_its_maths_alone_offline(
    chromium, tmp_path, template
):
    html_file = tmp_path / "maths.html"
    html = HTMLExporter(template_name=template).from_notebook_node(maths_notebook())[0]
    html_file.write_text(inline_mathjax(html), encoding="utf-8")
    assert inline_mathjax(html_file.read_text()) == html_file.read_text(), "done only once"
    page, refused, failed = open_offline(chromium, alone(html_file, tmp_path))
    try:
        assert_maths_typeset(page, refused, failed, len(FORMULAS))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"offline-maths-{template}.png"))
    finally:
        page.close()


def test_without_it_the_cdn_is_refused_and_the_tex_stays_raw(chromium, tmp_path):
    html_file = tmp_path / "feedback.html"
    html_file.write_text(HTMLExporter().from_notebook_node(maths_notebook())[0], encoding="utf-8")
    page, refused, _ = open_offline(chromium, html_file)
    try:
        assert any("mathjax" in url.lower() for url in refused), "the CDN is refused offline"
        assert "$$" in page.locator("body").inner_text(), "so the TeX stays raw"
    finally:
        page.close()


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """OUT of `python -m autograder grade` on a class of one student who solved lesson 01."""
    submissions = tmp_path_factory.mktemp("submitted")
    shutil.copytree(REPO / "solutions" / LESSON, submissions / "alice" / LESSON)
    out = tmp_path_factory.mktemp("graded")
    command = [sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, timeout=600, capture_output=True, text=True)
    assert done.returncode == 0, f"grading failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return out


def feedback_file(out):
    (notebook,) = (REPO / "lessons" / LESSON).glob("*.ipynb")
    return out / "feedback" / "alice" / LESSON / notebook.with_suffix(".html").name


def test_a_student_s_archive_unzipped_alone_shows_its_maths_offline(
    chromium, graded_class, tmp_path
):
    html_file = feedback_file(graded_class)
    assert MARKER in html_file.read_text()
    assert html_file.stat().st_size < 300_000, "MathJax is shared, not in every page"
    with zipfile.ZipFile(graded_class / "feedback-archives" / "alice.zip") as archive:
        archive.extractall(tmp_path / "mailed")
    unzipped = tmp_path / "mailed" / html_file.relative_to(graded_class / "feedback")
    page, refused, failed = open_offline(chromium, unzipped)
    try:
        assert_maths_typeset(page, refused, failed)
        assert not refused, f"a feedback page fetches nothing: {refused}"
        page.locator("mjx-container[display]").first.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "feedback-offline.png"))
    finally:
        page.close()
