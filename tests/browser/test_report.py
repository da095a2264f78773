"""The class report as an instructor opens it, in Chromium: copied alone into another
folder and opened with every request refused that is not the file itself, it shows its
plots, its tables sort by a click on a header (numbers as numbers, both ways), and a flagged
pair opens side by side. The outputs are written in process from results and submitted
notebooks (tests/test_report.py's helpers), no grading run."""

import shutil

import pytest

from autograder.outputs import similarity
from autograder.outputs.export import write_outputs
from tests.browser.lab import ARTIFACTS
from tests.test_report import LESSON, full, result, right_answers, sources, submit


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """report.html of a class of five, copied alone into a folder of its own."""
    out = tmp_path_factory.mktemp("graded")
    published = sources(similarity.SOLUTIONS)
    submit(out, "ann", right_answers(k=0))
    submit(out, "max", right_answers(k=0))  # copied ann
    submit(out, "kim", {g: src.replace("shifted", "s") for g, src in published.items()})
    submit(out, "lee", right_answers(k=1))
    submit(out, "sam", sources(similarity.LESSONS))
    exercises = list(published)
    results = [
        full("ann"),
        full("max"),
        full("kim"),
        result(
            "lee",
            cells=[
                (f"{g}_test", 2 * (i > 0), 2, "axis", f"{g}: axis 0")
                for i, g in enumerate(exercises)
            ],
        ),
        result(
            "sam",
            cells=[
                (f"{g}_test", 0, 2, "not implemented", f"{g}: not implemented")
                for g in exercises[:-1]
            ]
            + [(f"{exercises[-1]}_test", 2, 2, "", "")],
        ),
    ]
    write_outputs(out, results)
    alone = tmp_path_factory.mktemp("mailed") / "report.html"
    shutil.copyfile(out / "report.html", alone)
    return alone


@pytest.fixture(scope="module")
def page(chromium, report):
    """The report open in Chromium, offline; page.refused lists what it tried to fetch."""
    page = chromium.new_page()
    refused = []

    def only_the_page(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_page)
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    page.refused = refused
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "class-report.png", full_page=True)
    page.close()


def column(page, table, index):
    return page.locator(f"#{table} tbody tr").evaluate_all(
        f"rows => rows.map(row => row.cells[{index}].textContent)"
    )


def test_it_opens_offline_with_its_plots(page):
    assert page.refused == []
    plots = page.locator("img.plot")
    assert plots.count() == 5
    widths = plots.evaluate_all("images => images.map(i => i.complete && i.naturalWidth)")
    assert all(width and width > 100 for width in widths), widths
    assert "2 pairs of similar submissions to look at" in page.locator("body").inner_text()


def test_tables_sort_by_a_click_on_a_header_numbers_as_numbers(page):
    header = page.locator("#grades-table th", has_text="%")
    header.click()
    assert column(page, "grades-table", 0)[:2] == ["sam", "lee"]  # 33% then 67%
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert column(page, "grades-table", 0)[-2:] == ["lee", "sam"]
    assert header.get_attribute("aria-sort") == "descending"
    page.locator("#grades-table th", has_text="student").click()
    assert column(page, "grades-table", 0) == ["ann", "kim", "lee", "max", "sam"]
    page.locator("#items-table th", has_text="discrimination").click()
    values = [float(v) for v in column(page, "items-table", 5)]
    assert values == sorted(values) and values[0] < values[-1]


def test_a_flagged_pair_opens_side_by_side(page):
    rows = page.locator("#similarity-table tbody tr")
    assert rows.count() == 2
    pairs = set(zip(column(page, "similarity-table", 1), column(page, "similarity-table", 2)))
    assert pairs == {("ann", "max"), ("kim", similarity.PUBLISHED)}
    pair = rows.filter(has_text="ann")
    views = pair.locator(".sbs")
    assert not views.first.is_visible()
    pair.locator("summary").click()
    assert views.first.is_visible() and views.count() == len(sources(similarity.SOLUTIONS))
    assert views.first.locator(".same").count() > 0
    assert LESSON in pair.inner_text()


def test_a_table_s_filter_keeps_the_rows_that_hold_every_word_typed(page):
    search = page.locator("input.filter[data-table='grades-table']")
    search.fill("lee")
    assert page.locator("#grades-table tbody tr:visible").count() == 1
    search.fill("")
    assert page.locator("#grades-table tbody tr:visible").count() == 5
