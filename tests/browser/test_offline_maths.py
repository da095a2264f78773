"""HTML written by the course shows its maths with no network: MathJax comes from the local
bundle of autograder.outputs.mathjax, checked in Chromium on a file:// page whose every request that
is not a file is refused."""

import shutil
import subprocess
import sys

import nbformat
import pytest
from nbconvert import HTMLExporter

from autograder.outputs.mathjax import bundle_mathjax, localize_mathjax, mathjax_url
from tests.browser.lab import ARTIFACTS, KERNEL_TIMEOUT, REPO

pytestmark = pytest.mark.xdist_group("browser")

LESSON = "01_softmax"

FORMULAS = [
    r"$p_k = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}$",
    r"$$J = \operatorname{diag}(\mathbf p) - \mathbf p \mathbf p^\top$$",
    r"$$\frac{\partial L}{\partial Z} = \frac{1}{N}\left(P - Y\right)$$",
]
TEX_FONTS = "/mathjax/fonts/HTML-CSS/TeX/"
# MathJax has started, has nothing queued, and every formula it found is typeset
MATHJAX_DONE = """() => {
    const mj = window.MathJax;
    if (!mj || !mj.isReady || mj.Hub.queue.pending || mj.Hub.queue.running) return false;
    const scripts = [...document.querySelectorAll('script[type^="math/tex"]')];
    return scripts.length > 0 && scripts.every(
        s => s.MathJax && s.MathJax.state === mj.ElementJax.STATE.PROCESSED);
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
    """MathJax, loaded from files, typeset every formula (as many as `formulas` when given)
    with the bundle's web font."""
    page.wait_for_function(MATHJAX_DONE, timeout=KERNEL_TIMEOUT, polling=100)
    found = page.locator("script[type^='math/tex']").count()
    assert formulas is None or found == formulas
    assert page.locator(".MathJax_Error").count() == 0
    assert page.locator(".MathJax").count() == found
    assert "$$" not in page.locator("body").inner_text(), "raw TeX left on the page"
    font = page.evaluate("() => MathJax.OutputJax['HTML-CSS'].fontInUse")
    assert font == "STIX-Web", "the formulas use the bundle's web font"
    assert not [url for url in refused if "mathjax" in url.lower()], refused
    # jupyter-server-mathjax ships no TeX fonts; only the hidden MathML copy of a formula
    # (for screen readers) asks for them, e.g. for \mathbb: no loss on screen
    missing = [url for url in failed if url.startswith("file:") and TEX_FONTS not in url]
    assert not missing, missing


def test_the_bundle_is_complete_and_rewritten_in_place(tmp_path):
    js = bundle_mathjax(tmp_path / "feedback")
    assert js == tmp_path / "feedback" / "mathjax" / "MathJax.js"
    root = js.parent
    for needed in (
        "config/TeX-AMS-MML_HTMLorMML-full.js",
        "config/Safe.js",
        "config/local/offline.js",
        "extensions/TeX/AMSmath.js",
        "jax/output/HTML-CSS/fonts/STIX-Web/fontdata.js",
        "fonts/HTML-CSS/STIX-Web/woff/STIXMathJax_Main-Regular.woff",
    ):
        assert (root / needed).is_file(), needed
    assert not (root / "jax" / "output" / "SVG").exists()
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    assert size < 10e6, f"{size / 1e6:.1f} MB"
    (root / "stale.js").write_text("")
    assert bundle_mathjax(tmp_path / "feedback") == js and not (root / "stale.js").exists()

    html = tmp_path / "feedback" / "alice" / "01_softmax" / "softmax.html"
    url = mathjax_url(html, js)
    assert url.startswith("../../mathjax/MathJax.js?config=")
    assert "local/offline" in url


@pytest.mark.parametrize("template", ["lab", "classic"])
def test_nbconvert_html_shows_its_maths_offline(chromium, tmp_path, template):
    js = bundle_mathjax(tmp_path / "out")
    html_file = tmp_path / "out" / "student" / "lesson" / "maths.html"
    html_file.parent.mkdir(parents=True)
    exporter = HTMLExporter(template_name=template, mathjax_url=mathjax_url(html_file, js))
    html_file.write_text(exporter.from_notebook_node(maths_notebook())[0], encoding="utf-8")

    page, refused, failed = open_offline(chromium, html_file)
    try:
        assert_maths_typeset(page, refused, failed, len(FORMULAS))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"offline-maths-{template}.png"))
    finally:
        page.close()


def test_localize_mathjax_fixes_html_that_loads_mathjax_from_a_cdn(chromium, tmp_path):
    # nbgrader's feedback template ignores HTMLExporter.mathjax_url: its HTML names the CDN
    html_file = tmp_path / "feedback.html"
    html_file.write_text(HTMLExporter().from_notebook_node(maths_notebook())[0], encoding="utf-8")
    page, refused, _ = open_offline(chromium, html_file)
    try:
        assert any("mathjax" in url.lower() for url in refused), "the CDN is refused offline"
        assert "$$" in page.locator("body").inner_text(), "so the TeX stays raw"
    finally:
        page.close()

    js = bundle_mathjax(tmp_path)
    assert localize_mathjax(html_file, js)
    assert not localize_mathjax(html_file, js), "a second pass finds nothing to change"
    page, refused, failed = open_offline(chromium, html_file)
    try:
        assert_maths_typeset(page, refused, failed, len(FORMULAS))
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


def test_the_grading_command_writes_feedback_that_shows_its_maths_offline(chromium, graded_class):
    html_file = feedback_file(graded_class)
    page, refused, failed = open_offline(chromium, html_file)
    try:
        cdn = [url for url in refused if "mathjax" in url.lower()]
        assert not cdn, (
            f"the feedback loads MathJax from {cdn[0]}: the grading command should "
            "bundle_mathjax() once and localize_mathjax() each feedback file"
        )
        assert_maths_typeset(page, refused, failed)
        page.locator(".MathJax_Display").first.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "feedback-offline.png"))
    finally:
        page.close()
