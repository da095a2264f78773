"""Every formula of every lesson typesets in JupyterLab, as a student sees it.

Each lesson of lessons/ (whatever lesson folders exist) is opened in JupyterLab in headless
Chromium. Once its markdown is rendered and MathJax has replaced every `$...$` and `$$...$$`,
the page is searched for what MathJax 3 leaves behind when a formula is wrong:

- `merror` nodes (`data-mjx-error`): a TeX error such as `\\frac{a}` with one argument, an
  unbalanced `\\left(`, a misplaced `&`;
- red `mtext` nodes holding a backslash: an unknown macro such as `\\foo` (JupyterLab loads
  MathJax's `noundefined` extension, which prints the macro's name in red instead of failing);
- TeX left as text: a `$` that found no partner, or an environment outside maths.

The first test proves that the search finds each kind of slip, on a notebook written with
them. The control characters and LaTeX slips that MathJax typesets silently (a TAB eaten
from `\\text`, a derivative with respect to nothing) are the business of
tests/test_lesson_text.py.
"""

import re
import time

import nbformat
import pytest

from tests.browser.lab import (
    ARTIFACTS,
    REPO,
    JupyterLab,
    LabNotebook,
    copy_lesson,
    open_lab,
)

LESSON_ID = re.compile(r"^\d\d_[a-z0-9_]+$")
LESSONS = sorted(
    p.name for p in (REPO / "lessons").iterdir() if p.is_dir() and LESSON_ID.match(p.name)
)
TYPESET_TIMEOUT = 60_000  # milliseconds for a whole notebook's maths, after the kernel is up

# What the notebook in front shows of its maths, read from the page: per markdown cell,
# whether it is rendered, its formulas, MathJax's errors, unknown macros and TeX left as text.
_MATHS_REPORT = r"""() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const report = {markdown: 0, rendered: 0, formulas: 0, errors: [], unknown: [], raw: []};
    panel.content.widgets.forEach((cell, index) => {
        if (cell.model.type !== "markdown") return;
        report.markdown += 1;
        const output = cell.node.querySelector(".jp-MarkdownOutput");
        if (!output) return;
        report.rendered += 1;
        const containers = [...output.querySelectorAll("mjx-container")];
        report.formulas += containers.length;
        for (const container of containers) {
            const seen = new Set();
            for (const node of container.querySelectorAll("[data-mjx-error]")) {
                const entry = node.getAttribute("data-mjx-error") + " in " +
                    JSON.stringify(node.textContent);
                if (!seen.has(entry)) report.errors.push({cell: index, error: entry});
                seen.add(entry);
            }
            // the assistive MathML copy holds the text that CHTML draws with CSS glyphs
            const mtexts = [...container.querySelectorAll("mjx-assistive-mml mtext")];
            for (const node of mtexts) {
                if (node.closest("merror")) continue;
                if (node.getAttribute("mathcolor") === "red" || node.textContent.includes("\\")) {
                    report.unknown.push({cell: index, text: node.textContent});
                }
            }
            if (!container.querySelector("mjx-assistive-mml")) {
                for (const node of container.querySelectorAll("mjx-mtext")) {
                    if (node.style.color === "red") {
                        report.unknown.push({cell: index, text: "(red text, no MathML copy)"});
                    }
                }
            }
        }
        const prose = output.cloneNode(true);
        prose.querySelectorAll("mjx-container, code, pre").forEach(node => node.remove());
        const text = prose.textContent;
        const raw = text.search(/\$|\\begin\{|\\\(|\\\[/);
        if (raw >= 0) {
            report.raw.push({cell: index, text: text.slice(Math.max(0, raw - 40), raw + 40)});
        }
    });
    return report;
}"""

SETTLE = 2.0  # seconds without change after which raw TeX is taken to be final


def maths_report(notebook):
    """Wait (bounded) until every markdown cell is rendered and its maths typeset; return
    what the page shows: counts, MathJax errors, unknown macros, TeX left as text.

    Typesetting is done when no TeX is left as text; TeX that stays put for SETTLE seconds
    once every cell is rendered is a formula MathJax could not find (an unpaired `$`)."""
    deadline = time.monotonic() + TYPESET_TIMEOUT / 1000
    last, since = None, time.monotonic()
    while True:
        report = notebook.page.evaluate(_MATHS_REPORT)
        rendered = report["markdown"] > 0 and report["rendered"] == report["markdown"]
        if rendered and not report["raw"]:
            break
        state = (report["rendered"], report["formulas"], len(report["raw"]))
        if state != last:
            last, since = state, time.monotonic()
        elif rendered and time.monotonic() - since > SETTLE:
            break
        if time.monotonic() > deadline:
            break
        notebook.page.wait_for_timeout(250)
    notebook.page.wait_for_timeout(300)  # a formula queued just now would show up here
    return notebook.page.evaluate(_MATHS_REPORT)


def problems(report):
    """The report's findings as lines for a failure message; empty when all is well."""
    lines = []
    if report["rendered"] != report["markdown"]:
        lines.append(f"{report['rendered']} of {report['markdown']} markdown cells rendered")
    lines += [f"cell {e['cell']}: MathJax error: {e['error']}" for e in report["errors"]]
    lines += [f"cell {u['cell']}: unknown macro {u['text']!r}" for u in report["unknown"]]
    lines += [f"cell {r['cell']}: TeX left as text: {r['text']!r}" for r in report["raw"]]
    return lines


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab on an empty temporary folder, for the whole module."""
    root = tmp_path_factory.mktemp("maths-root")
    server = JupyterLab(root, tmp_path_factory.mktemp("maths-state"))
    with server:
        yield server


@pytest.fixture(scope="module")
def page(lab, chromium):
    """One browser tab with JupyterLab loaded, for the whole module."""
    page = open_lab(chromium, lab)
    yield page
    page.close()


def open_and_report(page, lab, path, name):
    """Open path in the lab, read its maths report, close it; screenshot when it fails."""
    notebook = LabNotebook.open(page, path)
    try:
        report = maths_report(notebook)
        if problems(report):
            notebook.screenshot(f"maths-{name}")
        return report
    finally:
        notebook.close()


def test_the_check_finds_every_kind_of_broken_formula(page, lab):
    """A notebook written with one slip of each kind: the report finds each, and only those."""
    cells = [
        r"A correct formula, $\frac{\partial L}{\partial z} = p - y$, and"
        r" $$J = \operatorname{diag}(p) - p p^\top .$$",
        r"One argument too few: $\frac{a}$.",
        r"An unknown macro: $\foo + x$.",
        r"A dollar without its partner: $x + y and then prose.",
    ]
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(text) for text in cells]
        + [nbformat.v4.new_code_cell("1 + 1")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nbformat.write(nb, lab.root / "broken_maths.ipynb")

    report = open_and_report(page, lab, "broken_maths.ipynb", "self-test")

    assert report["rendered"] == report["markdown"] == 4
    assert report["formulas"] >= 4
    assert [e["cell"] for e in report["errors"]] == [1], report
    assert "\\frac" in report["errors"][0]["error"], report
    assert [u["cell"] for u in report["unknown"]] == [2], report
    assert report["unknown"][0]["text"] == "\\foo", report
    assert [r["cell"] for r in report["raw"]] == [3], report
    assert len(problems(report)) == 3


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_formula_of_the_lesson_typesets(page, lab, lesson):
    path = copy_lesson(lesson, lab.root)
    report = open_and_report(page, lab, path, lesson)
    found = problems(report)
    if found:
        screenshot = ARTIFACTS / f"maths-{lesson}.png"
        pytest.fail(f"lessons/{lesson}:\n" + "\n".join(found) + f"\n(screenshot: {screenshot})")
    assert report["formulas"] > 0, f"lessons/{lesson}: no formula typeset at all"


def test_the_lessons_were_found():
    """The parametrisation found the lessons (a glob that matches nothing tests nothing)."""
    assert len(LESSONS) >= 9, LESSONS
