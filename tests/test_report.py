"""What an instructor reads after grading, computed from results and submitted notebooks in
process (no grading run): similarity of submissions, item analysis, misconceptions, the
Canvas and Moodle exports checked against each LMS's documented import format, the class
report, and the demo class's copies.

The LMS formats, from each importer's own source:
- Canvas (instructure/canvas-lms, app/models/gradebook_importer.rb): the header's first
  column contains "Student" and its second "ID"; "SIS User ID" followed by "SIS Login ID"
  are the student columns after them, and the last student column is "Section"; every other
  column is an assignment, "Title (id)" or a title (matched by title, else created); a row
  whose first field contains "Points Possible" gives the assignments' points; a student is
  found by ID, else SIS User ID, else SIS Login ID, else name.
- Moodle (moodle/moodle, grade/import/csv/classes/load_data.php and lib/csvlib.class.php;
  docs.moodle.org "Grade import"): a header row of column names, then one row per user with
  as many fields as the header; one column identifies the user (mapped at import to id,
  idnumber, email or username), the others map to grade items; a grade is a number, or
  empty or "-" for none, at most 100 unless the site allows more.
"""

import csv
import importlib.util
import re

import pytest

from autograder import demo
from autograder.course import LESSONS, REPO, SOLUTIONS, lesson_ids, notebook_name
from autograder.outputs import analysis, lms, similarity
from autograder.outputs.export import CellResult, LessonResult, write_outputs
from autograder.outputs.report import class_report
from tests.catalogue import answers

LESSON = "01_softmax"
NOTEBOOK = notebook_name(LESSON)


def sources(folder, lesson=LESSON):
    return similarity.solution_sources(folder / lesson / notebook_name(lesson))


def right_answers(lesson=LESSON, k=0):
    """{exercise: source} of the catalogue's k-th correct answers of a lesson."""
    found = {}
    for answer in answers():
        if answer.lesson == lesson and answer.diagnosis is None:
            found.setdefault(answer.exercise, []).append(answer.cell_source())
    return {ex: mine[min(k, len(mine) - 1)] for ex, mine in found.items()}


def submit(out, student, answered, lesson=LESSON):
    """Hand `answered` ({exercise: source}) in as nbgrader keeps it in OUT/course/submitted."""
    path = out / "course" / "submitted" / student / lesson / notebook_name(lesson)
    path.parent.mkdir(parents=True, exist_ok=True)
    demo.nbformat.write(demo._answered(lesson, answered), path)


def result(student, lesson=LESSON, cells=(), problem=""):
    """A LessonResult; cells are (grade_id, score, max_score, kind, message)."""
    return LessonResult(
        student,
        lesson,
        notebook_name(lesson),
        problem,
        [CellResult(g, score, top, message, kind) for g, score, top, kind, message in cells],
    )


def full(student, lesson=LESSON):
    published = sources(SOLUTIONS, lesson)
    return result(student, lesson, [(f"{g}_test", 2, 2, "", "") for g in published])


# --- similarity ---------------------------------------------------------------------------


def pair(a, b, lesson=LESSON):
    starter = sources(LESSONS, lesson)
    cells = [{g: similarity.read_cell(src, starter[g]) for g, src in x.items()} for x in (a, b)]
    return similarity.compare(lesson, "a", cells[0], "b", cells[1])


def disguised(source):
    """The source with its variables renamed, its comments reworded, its lines spaced."""
    lines = [
        re.sub(r"#.*", "# in my own words", line) for line in demo.renamed(source).splitlines()
    ]
    return "\n\n".join(lines)


def test_a_renamed_recommented_copy_of_the_published_solution_is_flagged():
    published = sources(SOLUTIONS)
    copy = {g: disguised(src) for g, src in published.items()}
    assert copy != published
    found = pair(published, copy)
    assert found.similarity == 1 and found.flagged


def test_reordered_independent_lines_and_reformatting_change_nothing():
    a = {
        "softmax": "def softmax(z):\n    m = z.max(axis=-1, keepdims=True)\n    k = 2\n"
        "    e = np.exp(z - m)\n    return e / e.sum(axis=-1, keepdims=True)\n"
    }
    b = {
        "softmax": "def softmax(z):\n    k=2\n    mx = z.max(axis = -1, keepdims = True)  # max\n"
        "\n    ex = np.exp(z-mx)\n    return ex/ex.sum(axis=-1,keepdims=True)\n"
    }
    assert pair(a, b).similarity == 1


def test_honest_answers_in_other_styles_are_not_flagged():
    published = sources(SOLUTIONS)
    mine, other = right_answers(k=0), right_answers(k=1)
    for a, b in [(published, mine), (published, other), (mine, other)]:
        found = pair(a, b)
        assert not found.flagged and found.similarity < 0.5, found.similarity


def test_starter_code_is_nobodys_work():
    starter = sources(LESSONS)
    assert pair(starter, starter) is None  # nothing attempted: nothing to compare
    one = {**starter, "softmax": sources(SOLUTIONS)["softmax"]}
    found = pair(one, one)
    assert set(found.cells_a) == {"softmax"}  # only the exercise both attempted
    assert not found.flagged and found.runs < similarity.MIN_RUNS  # one line: too little


def test_cells_python_cannot_parse_are_compared_without_the_starters_lines():
    starter = sources(LESSONS)
    broken = {
        g: src.replace("raise NotImplementedError()", "return (") for g, src in starter.items()
    }
    other = {g: src.replace("raise NotImplementedError()", "x = [") for g, src in starter.items()}
    found = pair(broken, other)
    assert found is None or found.similarity < 0.5  # the shared docstrings do not count


def test_side_by_side_marks_the_shared_lines_and_leaves_the_starter_out():
    published = sources(SOLUTIONS)
    copy = {g: demo.renamed(src) for g, src in published.items()}
    views = dict((g, (a, b)) for g, _, a, b in pair(published, copy).side_by_side())
    a, b = views["softmax"]
    assert [shared for _, shared in a] == [True] * len(a)
    assert not any("Softmax along the last axis" in text for text, _ in a + b)  # docstring
    assert any("my_shifted" in text for text, _ in b)


def test_class_pairs_reads_nbgraders_copies_and_skips_missing_notebooks(tmp_path):
    published = sources(SOLUTIONS)
    submit(tmp_path, "ann", right_answers(k=0))
    submit(tmp_path, "max", right_answers(k=0))  # a copy of ann
    submit(tmp_path, "sam", right_answers(k=1))
    submit(tmp_path, "old", published)  # submitted once, missing now: not compared
    submit(tmp_path, "bad", published)  # submitted once, a broken file now: not compared
    results = [full("ann"), full("max"), full("sam"), result("old", problem="missing notebook")]
    results.append(result("bad", problem="unreadable: not a notebook file (JSONDecodeError)"))
    pairs = similarity.class_pairs(tmp_path, results)
    names = {(p.student_a, p.student_b) for p in pairs}
    assert ("ann", "max") in names and ("sam", similarity.PUBLISHED) in names
    assert not any("old" in n or "bad" in n for n in names)
    assert {(p.student_a, p.student_b) for p in pairs if p.flagged} == {("ann", "max")}


def test_the_demo_class_flags_exactly_its_copies(tmp_path):
    """fay copied ada, gus renamed the published solutions: flagged in every lesson with
    enough code, and nobody else."""
    demo.make_class(tmp_path / "course" / "submitted")
    results = [
        result(s, lesson)
        for s in demo.STUDENTS
        for lesson in lesson_ids()
        if (tmp_path / "course" / "submitted" / s / lesson).is_dir()
    ]
    pairs = similarity.class_pairs(tmp_path, results)
    flagged = {(p.lesson, p.student_a, p.student_b) for p in pairs if p.flagged}
    expected = {(lesson, "ada", "fay") for lesson in lesson_ids()}
    expected |= {(lesson, "gus", similarity.PUBLISHED) for lesson in lesson_ids()}
    short = {
        (p.lesson, p.student_a, p.student_b)
        for p in pairs
        if p.similarity >= similarity.THRESHOLD and p.runs < similarity.MIN_RUNS
    }
    # lesson 05's one-line answers alone are too short to tell (its checkpoint makes it enough)
    assert short <= {("05_batch_bias", "gus", similarity.PUBLISHED)}
    assert flagged == expected - short


def test_the_demo_answers_file_is_generated_from_the_catalogue():
    spec = importlib.util.spec_from_file_location(
        "demo_answers", REPO / "scripts" / "demo_answers.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.DEST.read_text(encoding="utf-8") == script.render(), (
        "stale: run .venv/bin/python scripts/demo_answers.py"
    )


# --- item analysis and misconceptions -----------------------------------------------------


def small_class():
    """Four students on two exercises: a separates strong from weak, b does not."""
    return [
        result("s1", cells=[("a", 2, 2, "", ""), ("b", 0, 1, "sign", "b: the sign is flipped")]),
        result("s2", cells=[("a", 2, 2, "", ""), ("b", 1, 1, "", "")]),
        result("s3", cells=[("a", 1, 2, "factor", "a: times 4 = N"), ("b", 1, 1, "", "")]),
        result(
            "s4",
            cells=[
                ("a", 0, 2, "not implemented", "a: not implemented yet"),
                ("b", 0, 1, "sign", "b: the sign is flipped"),
            ],
        ),
        result(
            "s5",
            "00_chain_rule",
            [("c", 0, 1, "unattempted", "missing notebook")],
            "missing notebook",
        ),
    ]


def test_item_analysis_pass_rate_mean_discrimination_and_unattempted():
    results = small_class()[:4]
    upper, lower = analysis.groups(results)
    assert (upper, lower) == ({"s2"}, {"s4"})  # 27% of 4, at least one each
    a, b = analysis.items(results)
    assert (a.grade_id, a.pass_rate, a.mean_score, a.unattempted) == ("a", 0.5, 1.25, 0.25)
    assert a.discrimination == 1.0  # s2 has it all, s4 nothing
    assert (b.pass_rate, b.discrimination) == (0.5, 1.0)
    assert analysis.progress(results)["s3"] == {LESSON: 2 / 3}


def test_discrimination_is_low_for_what_the_weak_get_right_and_the_strong_miss():
    results = [
        result("strong", cells=[("x", 5, 5, "", ""), ("y", 0, 1, "sign", "y: sign")]),
        result("middle", cells=[("x", 3, 5, "factor", "x: factor"), ("y", 1, 1, "", "")]),
        result("weak", cells=[("x", 0, 5, "values", "x: wrong"), ("y", 1, 1, "", "")]),
    ]
    x, y = analysis.items(results)
    assert x.discrimination == 1.0 and y.discrimination == -1.0


def test_misconceptions_grouped_by_kind_and_exercise_unattempted_apart():
    mistakes, unattempted = analysis.misconceptions(small_class())
    assert [(m.kind, m.grade_id, m.students) for m in mistakes] == [
        ("sign", "b", ("s1", "s4")),  # the most common first
        ("factor", "a", ("s3",)),
    ]
    assert mistakes[0].example == "b: the sign is flipped"
    assert {(m.kind, m.lesson, m.grade_id, m.students) for m in unattempted} == {
        (analysis.NOT_IMPLEMENTED, LESSON, "a", ("s4",)),
        (analysis.MISSING, "00_chain_rule", "", ("s5",)),
    }


def test_the_answer_key_the_graders_failures_and_broken_files_are_not_misconceptions():
    results = [
        result("g", cells=[("a", 0, 2, "grader", "the grader failed on this notebook")]),
        result("k", cells=[("a", 0, 2, "answer key", "your code imports gradlab")]),
        result("u", cells=[("a", 0, 2, "not graded", "unreadable")], problem="unreadable"),
    ]
    assert analysis.misconceptions(results) == ([], [])


# --- LMS exports --------------------------------------------------------------------------


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def check_canvas(rows, lessons):
    """The Canvas gradebook importer's rules (module docstring), applied to rows."""
    header = rows[0]
    assert "Student" in header[0] and "ID" in header[1] and len(header) > 3
    assert re.match(r"SIS\s+User\s+ID", header[2]) and re.match(r"SIS\s+Login\s+ID", header[3])
    assert "Section" in header[4]  # the last student column
    assert header[5:] == lessons  # every other column an assignment, by title
    assert "Points Possible" in rows[1][0]
    assert all(float(points) > 0 for points in rows[1][5:])
    for row in rows[2:]:
        assert len(row) == len(header)
        assert row[2] or row[3] or row[0]  # findable: SIS User ID, SIS Login ID or name
        for score, points in zip(row[5:], rows[1][5:]):
            assert 0 <= float(score) <= float(points)


def check_moodle(rows, id_column):
    """Moodle's CSV grade import rules (module docstring), applied to rows."""
    header = rows[0]
    assert len(header) >= 2 and len(set(header)) == len(header) and all(header)
    assert header[0] == id_column
    for row in rows[1:]:
        assert len(row) == len(header)  # csvweirdcolumns otherwise
        assert row[0]  # a blank user field is skipped
        assert all(grade in ("", "-") or 0 <= float(grade) <= 100 for grade in row[1:])


def lms_results():
    return [
        full("ada"),
        full("ada", "00_chain_rule"),
        result("Jose_Maria", cells=[("softmax_test", 1, 2, "factor", "x")]),
        result("Jose_Maria", "00_chain_rule", problem="missing notebook"),
    ]


def test_the_exports_import_into_canvas_and_moodle(tmp_path):
    folders = {"ada": "ada", "Jose_Maria": "José María"}
    assert lms.write(tmp_path, lms_results(), folders) == []
    canvas = read_csv(tmp_path / lms.CANVAS)
    check_canvas(canvas, ["00_chain_rule", LESSON])
    assert canvas[0][:5] == lms.CANVAS_STUDENT_COLUMNS
    assert canvas[2] == ["ada", "", "ada", "ada", "", "4", "6"]
    assert canvas[3] == ["José María", "", "José María", "José María", "", "0", "1"]
    moodle = read_csv(tmp_path / lms.MOODLE)
    check_moodle(moodle, lms.MOODLE_ID_COLUMN)
    assert moodle == [
        ["ID number", "00_chain_rule", LESSON],
        ["ada", "4", "6"],
        ["José María", "0", "1"],
    ]


def test_lms_ids_map_folder_names_to_the_lms_and_say_what_they_miss(tmp_path):
    (tmp_path / lms.LMS_IDS).write_text("folder,lms_id\nJosé María,jm42@uni.example\nzed,z1\n")
    problems = lms.write(tmp_path, lms_results(), {"ada": "ada", "Jose_Maria": "José María"})
    assert problems == [
        "lms_ids.csv names no LMS id for ada: their folder names are used",
        "lms_ids.csv names folders that are not in the class: zed",
    ]
    canvas, moodle = read_csv(tmp_path / lms.CANVAS), read_csv(tmp_path / lms.MOODLE)
    check_canvas(canvas, ["00_chain_rule", LESSON])
    check_moodle(moodle, lms.MOODLE_ID_COLUMN)
    assert canvas[3][:4] == ["José María", "", "jm42@uni.example", "jm42@uni.example"]
    assert moodle[2][0] == "jm42@uni.example"


def test_an_lms_ids_file_without_its_header_is_ignored_and_said_so(tmp_path):
    (tmp_path / lms.LMS_IDS).write_text("ada,a1\n")
    problems = lms.write(tmp_path, lms_results(), {})
    assert problems == ["lms_ids.csv ignored: its first line must be folder,lms_id"]
    assert [row[0] for row in read_csv(tmp_path / lms.MOODLE)[1:]] == ["ada", "Jose_Maria"]


# --- the outputs and the report -----------------------------------------------------------


@pytest.fixture
def graded(tmp_path):
    """A fake OUT: three submissions (max copied ann) and their results, outputs written."""
    submit(tmp_path, "ann", right_answers(k=0))
    submit(tmp_path, "max", right_answers(k=0))
    submit(tmp_path, "sam", sources(LESSONS))  # the starter: nothing attempted
    results = [
        full("ann"),
        full("max"),
        result(
            "sam",
            cells=[
                ("softmax_test", 0, 2, "axis", "softmax: normalised over axis 0"),
                *(
                    (f"{g}_test", 0, 2, "not implemented", f"{g}: not implemented yet")
                    for g in list(sources(LESSONS))[1:]
                ),
            ],
        ),
    ]
    write_outputs(tmp_path, results, [("bob/01_sotfmax", "not a lesson, ignored")])
    return tmp_path


def test_the_outputs_are_written_with_the_others(graded):
    for name in ("grades.csv", "exercises.csv", "similarity.csv", lms.CANVAS, lms.MOODLE):
        assert (graded / name).is_file(), name
    rows = read_csv(graded / "similarity.csv")
    assert rows[0] == ["lesson", "student_a", "student_b", "similarity", "flagged"]
    assert rows[1] == [LESSON, "ann", "max", "1.00", "yes"]
    assert {tuple(r[1:3]) for r in rows[1:]} == {
        ("ann", "max"),
        ("ann", similarity.PUBLISHED),
        ("max", similarity.PUBLISHED),
    }  # sam handed in nothing of their own
    assert all(r[4] == "no" for r in rows[2:])


def test_the_report_is_self_contained_with_sortable_tables_and_plots(graded):
    page = (graded / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    assert "<link" not in page and "<script src" not in page
    for heading in (
        "Score distribution",
        "Pass rate",
        "misunderstands",
        "Similar submissions",
        "Flagged",
        "Grades for the LMS",
        "intake passed over",
    ):
        assert heading in page, heading
    tables = ("grades", "items", "mistakes", "unattempted", "similarity", "intake")
    for table in tables:
        assert f"<table class='sortable' id='{table}-table'>" in page, table
    assert page.count("src='data:image/png;base64,") == 5  # every section with data has its plot
    assert "did you mean" not in page and "not a lesson, ignored" in page
    assert "side by side" in page and "ann" in page and "max" in page


def test_the_report_escapes_what_students_wrote():
    results = [result("ann", cells=[("a", 0, 1, "values", "a: <script>alert(1)</script>")])]
    page = class_report(results)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page


def test_lms_columns_map_a_lesson_to_an_existing_canvas_assignment_and_moodle_item(tmp_path):
    (tmp_path / lms.LMS_COLUMNS).write_text(
        f"lesson,canvas,moodle\n{LESSON},Softmax homework (4711),Homework 1\n"
        "00_chain_rule,Chain rule,\n"  # no Canvas id: Canvas would make a new column
    )
    problems = lms.write(tmp_path, lms_results(), {"ada": "ada", "Jose_Maria": "José María"})
    assert len(problems) == 1 and "'Name (id)'" in problems[0] and "line 3" in problems[0]
    canvas, moodle = read_csv(tmp_path / lms.CANVAS), read_csv(tmp_path / lms.MOODLE)
    check_canvas(canvas, ["00_chain_rule", "Softmax homework (4711)"])
    check_moodle(moodle, lms.MOODLE_ID_COLUMN)
    assert moodle[0] == ["ID number", "00_chain_rule", "Homework 1"]
