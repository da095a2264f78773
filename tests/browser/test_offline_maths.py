"""HTML written by the course shows its maths alone and with no network: MathJax 3 is inside
the page (autograder.outputs.mathjax: formgrader's pages), or the maths is MathML, typeset
when the page was made (autograder.outputs.mathml: feedback pages, which carry no MathJax);
checked in Chromium on a file:// page copied (or unzipped) on its own into another folder,
with every request that is not a file refused."""

import shutil
import subprocess
import sys
import zipfile

import nbformat
import pytest
from nbconvert import HTMLExporter

from autograder.course import PAGE_FILTERS
from autograder.outputs.mathjax import MARKER, inline_scripts, without_mathjax
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


def assert_mathml_shown(page, refused, formulas=None):
    """Every formula is MathML that Chromium lays out (as many as `formulas` when given), no
    TeX left, no MathJax fetched."""
    widths = page.evaluate(
        "() => [...document.querySelectorAll('math')].map(m => m.getBoundingClientRect().width)"
    )
    assert widths and (formulas is None or len(widths) == formulas), widths
    assert min(widths) > 0, "a formula is laid out"
    assert "$$" not in page.locator("body").inner_text(), "raw TeX left on the page"
    assert not [url for url in refused if "mathjax" in url.lower()], refused


@pytest.mark.parametrize("template", ["lab", "classic"])
def test_nbconvert_html_with_mathjax_inline_shows_its_maths_alone_offline(
    chromium, tmp_path, template
):
    """As formgrader's pages have it (mathjax.template)."""
    html_file = tmp_path / "maths.html"
    html = HTMLExporter(template_name=template).from_notebook_node(maths_notebook())[0]
    html = without_mathjax(html).replace("</head>", inline_scripts() + "</head>", 1)
    html_file.write_text(html, encoding="utf-8")
    page, refused, failed = open_offline(chromium, alone(html_file, tmp_path))
    try:
        assert_maths_typeset(page, refused, failed, len(FORMULAS))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"offline-maths-{template}.png"))
    finally:
        page.close()


def test_maths_made_mathml_shows_alone_offline_without_mathjax(chromium, tmp_path):
    """The course's markdown filter (feedback pages) typesets the maths as MathML."""
    html_file = tmp_path / "maths.html"
    exporter = HTMLExporter(template_name="classic", filters=PAGE_FILTERS)
    html = without_mathjax(exporter.from_notebook_node(maths_notebook())[0])
    assert "<math" in html and MARKER not in html
    html_file.write_text(html, encoding="utf-8")
    page, refused, _ = open_offline(chromium, alone(html_file, tmp_path))
    try:
        assert_mathml_shown(page, refused, len(FORMULAS))
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
    assert MARKER not in html_file.read_text(), "no MathJax: the maths is MathML"
    assert html_file.stat().st_size < 300_000
    with zipfile.ZipFile(graded_class / "feedback-archives" / "alice.zip") as archive:
        archive.extractall(tmp_path / "mailed")
    unzipped = tmp_path / "mailed" / html_file.relative_to(graded_class / "feedback")
    page, refused, _ = open_offline(chromium, unzipped)
    try:
        assert_mathml_shown(page, refused)
        assert not refused, f"a feedback page fetches nothing: {refused}"
        page.locator("math[display=block]").first.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "feedback-offline.png"))
    finally:
        page.close()
