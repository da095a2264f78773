"""The class report, OUT/report.html: what an instructor reads after grading.

One self-contained page: no script, style, font or picture is fetched from anywhere (it
opens offline, attached to a mail or copied alone); its plots are inline PNGs drawn with
matplotlib's Figure (no pyplot state); every table sorts by a click on a column's header
(a few lines of inline JavaScript, reading each cell's data-sort value). In reading order:
the grades and each student's progress, the item analysis of every exercise, what the class
misunderstands (and what it left unattempted), similar submissions, flagged submissions,
the files for the LMS, and what intake passed over.
"""

import base64
import html
import io

from matplotlib.figure import Figure

from autograder.notebooks import TEST_SUFFIX, source_notebook, written_questions
from autograder.outputs import analysis, lms, similarity
from autograder.record import manual
from autograder.record.late import late_by

esc = html.escape

STYLE = """
body { font-family: sans-serif; max-width: 1150px; margin: 2em auto; color: #222; padding: 0 1em; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; font-size: 14px;
         vertical-align: top; }
th { background: #f3f3f3; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \\2195"; color: #999; }
table.sortable th[aria-sort=ascending]::after { content: " \\2191"; color: #222; }
table.sortable th[aria-sort=descending]::after { content: " \\2193"; color: #222; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
nav a { margin-right: 1em; }
.note { color: #555; }
.sbs { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px;
       margin: 0.5em 0 1em; }
.sbs pre { background: #fafafa; border: 1px solid #ddd; padding: 6px; margin: 0;
           font-size: 12px; overflow-x: auto; }
.sbs h4 { margin: 0.3em 0; font-size: 13px; }
pre .same { background: #ffe08a; }
details summary { cursor: pointer; color: #0645ad; }
"""

# sort a table by the column whose header was clicked: numbers as numbers, text as text
SORT_SCRIPT = r"""
document.querySelectorAll("table.sortable th").forEach(th => th.addEventListener("click", () => {
  const table = th.closest("table"), body = table.tBodies[0];
  const column = [...th.parentNode.children].indexOf(th);
  const up = th.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("th").forEach(h => h.removeAttribute("aria-sort"));
  th.setAttribute("aria-sort", up ? "ascending" : "descending");
  const key = row => { const c = row.cells[column]; return c.dataset.sort ?? c.textContent; };
  const number = v => (v.trim() !== "" && !isNaN(v) ? Number(v) : NaN);
  const rows = [...body.rows].sort((a, b) => {
    const x = key(a), y = key(b), nx = number(x), ny = number(y);
    const order = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
    return up ? order : -order;
  });
  body.append(...rows);
}));
// a table's filter keeps the rows that hold every word typed (a student, a lesson, a kind)
document.querySelectorAll("input.filter").forEach(input => input.addEventListener("input", () => {
  const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
  for (const row of document.getElementById(input.dataset.table).tBodies[0].rows) {
    const text = row.textContent.toLowerCase();
    row.hidden = !words.every(word => text.includes(word));
  }
}));
"""


def _png(fig, alt):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f"<img class='plot' alt='{esc(alt)}' src='data:image/png;base64,{data}'>"


def _cell(text, sort=None, number=False):
    """A table cell: its text (escaped) and the value it sorts by."""
    key = "" if sort is None else f" data-sort='{esc(str(sort))}'"
    return f"<td{key}{' class=num' if number else ''}>{esc(str(text))}</td>"


def _sortable(header, rows, table_id):
    """A sortable HTML table with its filter (header: column labels; rows: their <td>s), or
    "none"."""
    if not rows:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{esc(label)}</th>" for label in header)
    body = "".join(f"<tr>{''.join(row)}</tr>" for row in rows)
    search = (
        f"<input type='search' class='filter' data-table='{table_id}' aria-label='filter "
        "the table' placeholder='filter: a student, a lesson, a kind of mistake'>"
    )
    return (
        f"{search}<table class='sortable' id='{table_id}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _plural(n, word, words=None):
    return f"{n} {word if n == 1 else words or word + 's'}"


def _exercise(grade_id):
    """An exercise's name: the function its test cell checks."""
    return grade_id.removesuffix(TEST_SUFFIX)


def _percent(share):
    return "" if share is None else f"{100 * share:.0f}%"


def _score_plot(results, lessons):
    fig = Figure(figsize=(max(6, 1.1 * len(lessons)), 3.2), layout="constrained")
    ax = fig.subplots()
    data = [
        [100 * r.score / r.max_score for r in results if r.lesson == lesson and r.max_score]
        for lesson in lessons
    ]
    ax.boxplot(data, tick_labels=lessons)
    for i, scores in enumerate(data, start=1):
        ax.scatter([i] * len(scores), scores, alpha=0.5, color="C1", zorder=3)
    ax.set_ylabel("score (%)")
    ax.set_ylim(-5, 105)
    ax.set_title("score distribution per lesson")
    ax.tick_params(axis="x", labelrotation=30)
    return _png(fig, "score distribution per lesson")


def _progress_plot(progress, order, lessons):
    """A heat map: one row per student (best total first), one column per lesson; a large
    class keeps a readable height, its rows unnamed (the table above names them)."""
    height = min(0.3 * len(order), 18) + 1.6
    fig = Figure(figsize=(max(6, 0.7 * len(lessons) + 2), height), layout="constrained")
    ax = fig.subplots()
    grid = [[100 * progress[s].get(x, 0.0) for x in lessons] for s in order]
    image = ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(lessons)), [x.split("_")[0] for x in lessons])
    ax.set_yticks(range(len(order)), order if len(order) <= 60 else [""] * len(order))
    if len(order) <= 40:
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label="score (%)")
    ax.set_title("each student's progress over the lessons")
    return _png(fig, "each student's progress over the lessons")


def _items_plot(items):
    """Three panels sharing the exercises: pass rate, discrimination, unattempted."""
    labels = [f"{i.lesson[:2]}: {_exercise(i.grade_id)}" for i in items][::-1]
    fig = Figure(figsize=(10, 0.24 * len(items) + 1.4), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    panels = [
        ("pass rate (%)", [100 * i.pass_rate for i in items], "C2", (0, 100)),
        ("discrimination", [i.discrimination or 0.0 for i in items], "C0", (-1, 1)),
        ("left unattempted (%)", [100 * i.unattempted for i in items], "C7", (0, 100)),
    ]
    for ax, (title, values, color, limits) in zip(axes, panels):
        ax.barh(labels, values[::-1], color=color)
        ax.set_xlim(*limits)
        ax.set_title(title)
        ax.tick_params(axis="y", labelsize=8)
    axes[1].axvline(0.2, color="C3", linewidth=0.8, linestyle="--")
    return _png(fig, "pass rate, discrimination and unattempted share of every exercise")


def _kinds_plot(mistakes):
    counts = {}
    for m in mistakes:
        counts[m.kind] = counts.get(m.kind, 0) + len(m.students)
    ranked = sorted(counts.items(), key=lambda kv: kv[1])
    fig = Figure(figsize=(7, 0.3 * len(ranked) + 1.2), layout="constrained")
    ax = fig.subplots()
    ax.barh([k for k, _ in ranked], [n for _, n in ranked], color="C1")
    ax.set_xlabel("mistakes (one per student and exercise)")
    ax.set_title("mistakes by kind")
    return _png(fig, "mistakes by kind")


def _similarity_plot(pairs):
    fig = Figure(figsize=(7, 2.8), layout="constrained")
    ax = fig.subplots()
    values = [p.similarity for p in pairs]
    ax.hist(values, bins=[i / 20 for i in range(21)], color="C0")
    ax.axvline(similarity.THRESHOLD, color="C3", linestyle="--", label="flagged from here")
    ax.set_xlabel("similarity of two submissions of a lesson")
    ax.set_ylabel("pairs")
    ax.set_xlim(0, 1)
    ax.legend()
    ax.set_title("how similar the submissions are")
    return _png(fig, "how similar the submissions are")


def _grades_section(results, lessons, students):
    progress = analysis.progress(results)
    shares = analysis.totals(results)
    score = {(r.student, r.lesson): r for r in results}
    rows = []
    for s in students:
        row = [_cell(s)]
        for x in lessons:
            r = score.get((s, x))
            row.append(
                _cell(f"{r.score:g} / {r.max_score:g}", progress[s][x], True) if r else _cell("-")
            )
        mine = [r for r in results if r.student == s]
        total = f"{sum(r.score for r in mine):g} / {sum(r.max_score for r in mine):g}"
        row += [_cell(total, shares[s], True), _cell(_percent(shares[s]), shares[s], True)]
        rows.append(row)
    order = sorted(students, key=lambda s: (-shares[s], s))
    # the class at a glance first, then every student (a filter finds one among a thousand)
    return f"""<h2 id="grades">Score distribution per lesson</h2>
{_score_plot(results, lessons)}
{_progress_plot(progress, order, lessons)}
<h3>Every student's grades</h3>
{_sortable(["student", *(x.split("_")[0] for x in lessons), "total", "%"], rows, "grades-table")}
<p class="note">{", ".join(esc(x) for x in lessons)}</p>"""


def _items_section(results, items):
    upper, _ = analysis.groups(results)
    rows = [
        [
            _cell(i.lesson),
            _cell(_exercise(i.grade_id)),
            _cell(i.students, i.students, True),
            _cell(_percent(i.pass_rate), i.pass_rate, True),
            _cell(f"{i.mean_score:.2f} / {i.max_score:g}", i.mean_score / (i.max_score or 1), True),
            _cell(
                "" if i.discrimination is None else f"{i.discrimination:+.2f}",
                i.discrimination,
                True,
            ),
            _cell(_percent(i.unattempted), i.unattempted, True),
        ]
        for i in items
    ]
    header = [
        "lesson",
        "exercise",
        "students",
        "pass rate",
        "mean score",
        "discrimination",
        "unattempted",
    ]
    return f"""<h2 id="exercises">Pass rate of every exercise</h2>
<p class="note">Pass rate: the share of the class with full marks. Discrimination: the mean
share of the points in the best {_plural(len(upper), "student")} (the top
{analysis.GROUP_SHARE:.0%} by total) minus the same in the bottom {len(upper)}: near +1 the
exercise separates strong from weak students, near 0 (below the dashed line at 0.2) it does
not, below 0 the weaker students do better. Unattempted: left as the starter code, or the
notebook not handed in.
</p>
{_sortable(header, rows, "items-table")}
{_items_plot(items) if items else ""}"""


def _misconception_rows(entries, students):
    return [
        [
            _cell(
                f"{len(m.students)} ({_percent(len(m.students) / max(students, 1))})",
                len(m.students),
                True,
            ),
            _cell(m.kind),
            _cell(m.lesson),
            _cell(_exercise(m.grade_id) or "(the whole lesson)"),
            _cell(m.example),
            _cell(", ".join(m.students)),
        ]
        for m in entries
    ]


def _misconceptions_section(results, students):
    mistakes, unattempted = analysis.misconceptions(results)
    header = ["students", "kind", "lesson", "exercise", "diagnosis", "who"]
    return f"""<h2 id="misconceptions">What the class misunderstands</h2>
<p class="note">The diagnoses, grouped by the kind of mistake and the exercise, the most
common first (the diagnosis shown is the one most of them got, numbers aside).</p>
{_sortable(header, _misconception_rows(mistakes, students), "mistakes-table")}
{_kinds_plot(mistakes) if mistakes else ""}
<h3 id="unattempted">Left unattempted</h3>
<p class="note">Functions still raising NotImplementedError, and notebooks not handed in:
counted apart from the mistakes.</p>
<details><summary>{_plural(len(unattempted), "exercise or lesson", "exercises or lessons")}
left unattempted by someone</summary>
{_sortable(header, _misconception_rows(unattempted, students), "unattempted-table")}
</details>"""


def _side_by_side(pair):
    """The exercises of a pair, each as the two cells side by side, shared lines marked."""

    def pre(lines):
        indent = min((len(text) - len(text.lstrip()) for text, _ in lines), default=0)
        return "\n".join(
            f"<span class='same'>{esc(text[indent:])}</span>" if shared else esc(text[indent:])
            for text, shared in lines
        )

    views = []
    for grade_id, share, a, b in pair.side_by_side():
        views.append(
            f"<p><b>{esc(_exercise(grade_id))}</b>: {_percent(share)} similar</p><div class='sbs'>"
            f"<div><h4>{esc(pair.student_a)}</h4><pre>{pre(a)}</pre></div>"
            f"<div><h4>{esc(pair.student_b)}</h4><pre>{pre(b)}</pre></div></div>"
        )
    return f"<details><summary>side by side</summary>{''.join(views)}</details>"


def _similarity_section(pairs):
    by_lesson = {}
    for p in pairs:
        by_lesson.setdefault(p.lesson, []).append(p)
    rows = []
    for lesson, mine in sorted(by_lesson.items()):
        index = {(p.student_a, p.student_b): p for p in mine}
        for group in similarity.groups(mine):
            center = similarity.central(group, mine)
            for member in sorted(group - {center}):
                p = index.get((member, center)) or index.get((center, member))
                if p is None:  # two copies of one source, both flagged with a third
                    continue
                rows.append(
                    [
                        _cell(lesson),
                        f"<td title='a group of {len(group)}'>{esc(center)}</td>",
                        _cell(member),
                        _cell(_percent(p.similarity), p.similarity, True),
                        f"<td>{_side_by_side(p)}</td>",
                    ]
                )
    short = sum(
        p.similarity >= similarity.THRESHOLD and p.runs < similarity.MIN_RUNS for p in pairs
    )
    aside = (
        f" {_plural(short, 'more pair is', 'more pairs are')} as similar but compare fewer "
        f"than {similarity.MIN_RUNS} runs (a few lines): too little code to tell a copy from "
        "the natural answer."
        if short
        else ""
    )
    return f"""<h2 id="similarity">Similar submissions</h2>
<p class="note">Every submission's solution cells were compared with the published solutions
and with every other student's of the same lesson that shares code few others wrote (the
rest cannot be a copy), the starter code left out, insensitive to renamed variables,
comments, layout and reordered lines. The pairs at or above
{similarity.THRESHOLD:.0%} similarity make groups (students connected by such pairs), each
shown once, every member beside the group's most central one: a reason to look at them side
by side (marked lines have the same statement on both sides), <b>not a verdict</b>: a short
exercise has few ways to be written. similarity.csv has the flagged pairs, and each
student's nearest submission and the published solution.{aside}</p>
{_sortable(["lesson", "group", "member", "similarity", "the code"], rows, "similarity-table")}
{_similarity_plot(pairs) if pairs else ""}"""


def _written_state(cell):
    """A written answer's CellResult is waiting for a grade, graded, or unanswered (left as
    handed out, or its notebook missing or unreadable: nothing to grade)."""
    if cell.message in (manual.TO_GRADE, manual.TO_REVIEW):
        return "waiting"
    if cell.kind == manual.WRITTEN_KIND:
        return "unanswered" if cell.message == "unanswered" else "graded"
    return "graded" if cell.score == cell.max_score else "unanswered"


def _written_section(results, lessons):
    """Each written question asked (of the lessons graded with them): how many answers wait
    for a grade in formgrader, how many are graded and how, and the rubric to grade them by."""
    rows, rubrics = [], []
    for lesson in lessons:
        asked = {q.grade_id: q for q in written_questions(source_notebook(lesson))}
        cells = [
            (r, c) for r in results if r.lesson == lesson for c in r.cells if c.grade_id in asked
        ]
        for grade_id, q in asked.items():
            mine = [(r, c) for r, c in cells if c.grade_id == grade_id]
            if not mine:  # graded without the written questions (--no-written-questions)
                continue
            state = [_written_state(c) for _, c in mine]
            waiting, unanswered = state.count("waiting"), state.count("unanswered")
            graded = [c for (_, c), x in zip(mine, state) if x == "graded"]
            mean = sum(c.score for c in graded) / len(graded) if graded else None
            rows.append(
                [
                    _cell(lesson),
                    _cell(grade_id),
                    _cell(waiting, waiting, True),
                    _cell(len(graded), len(graded), True),
                    _cell("" if mean is None else f"{mean:.2f} / {q.points:g}", mean, True),
                    _cell(unanswered, unanswered, True),
                ]
            )
            rubrics.append(
                f"<details><summary>{esc(lesson)} {esc(grade_id)} ({q.points:g} points)"
                f"</summary><pre>{esc(q.question)}</pre><pre>{esc(q.answer)}</pre></details>"
            )
    if not rows:
        return ""
    return f"""<h2 id="written">Written answers to grade by hand</h2>
<p class="note">Written questions are graded in formgrader (<code>python -m autograder
formgrader OUT</code>); until a student's answer is, their grade for the lesson is pending
(left empty in the LMS files). Unanswered: left as handed out, or the notebook not handed
in (0 points, nothing to grade). Each question's model answer and rubric:</p>
{
        _sortable(
            ["lesson", "question", "to grade", "graded", "mean score", "unanswered"],
            rows,
            "written-table",
        )
    }
{"".join(rubrics)}"""


def _flagged_section(results):
    flagged = [
        (
            not r.pending,  # pending grades first
            r.student,
            r.lesson,
            r.pending and f"pending: {r.pending}",
            ", ".join(sorted({c.kind for c in r.cells if c.kind in analysis.FLAGGED})) or r.problem,
            r.late_by > 0 and f"late by {late_by(r.late_by)}: -{r.penalty:g} points",
        )
        for r in results
        if r.pending or r.flagged or r.late_by > 0 or (r.problem and r.problem != analysis.MISSING)
    ]
    rows = [
        [_cell(s), _cell(lesson), _cell("; ".join(w for w in why if w))]
        for _, s, lesson, *why in sorted(flagged)
    ]
    return f"""<h2 id="flagged">Flagged and pending submissions</h2>
<p class="note">Pending grades first: what the grader failed on (the next run grades it
again) and what waits for you in formgrader (left empty in the LMS files until then). Then
the answer key used (the student's code imported the course's references), time-outs,
crashed kernels, broken files and late work.</p>
{_sortable(["student", "lesson", "why"], rows, "flagged-table")}"""


def _lms_section(lms_notes):
    notes = "".join(f"<li>{esc(note)}</li>" for note in lms_notes)
    return f"""<h2 id="lms">Grades for the LMS</h2>
<p><a href="{lms.CANVAS}">{lms.CANVAS}</a> imports into a Canvas gradebook
(<em>Grades, Import</em>) and <a href="{lms.MOODLE}">{lms.MOODLE}</a> into Moodle's
<em>Import, CSV file</em> (identify users by mapping "{lms.MOODLE_ID_COLUMN}" to their ID
number, username or email address): one column per lesson. A student is named by the
folder name of SUBMISSIONS, or by the LMS id that {lms.LMS_IDS} (columns folder,lms_id, in
this folder) gives for it.</p>
{f"<ul>{notes}</ul>" if notes else ""}"""


def class_report(results, notes=(), pairs=(), lms_notes=()):
    """The report's HTML. notes: what intake passed over; pairs: the similarity Pairs;
    lms_notes: what the LMS export has to say about the ids."""
    lessons = sorted({r.lesson for r in results})
    students = sorted({r.student for r in results})
    items = analysis.items(results)
    missing = sum(r.problem == analysis.MISSING for r in results)
    flagged = sum(p.flagged for p in pairs)
    note_rows = [[_cell(where), _cell(what)] for where, what in notes]
    written = _written_section(results, lessons)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class report</title>
<style>{STYLE}</style></head><body>
<h1>Class report</h1>
<p>{_plural(len(students), "student")}, {_plural(len(lessons), "lesson")},
{_plural(missing, "missing notebook")},
{_plural(flagged, "pair")} of similar submissions to look at.</p>
<nav><a href="#grades">grades</a><a href="#exercises">exercises</a>
<a href="#misconceptions">misconceptions</a><a href="#similarity">similarity</a>
{'<a href="#written">written answers</a>' if written else ""}
<a href="#flagged">flagged</a><a href="#lms">LMS</a><a href="#intake">intake</a></nav>
<p class="note">Click a column's header to sort a table by it.</p>
{_grades_section(results, lessons, students) if results else ""}
{_items_section(results, items)}
{_misconceptions_section(results, len(students))}
{_similarity_section(list(pairs))}
{written}
{_flagged_section(results)}
{_lms_section(lms_notes)}
<h2 id="intake">What intake passed over</h2>
<p class="note">Folders and files of SUBMISSIONS that were not graded as they are, and why.</p>
{_sortable(["where", "what happened"], note_rows, "intake-table")}
<script>{SORT_SCRIPT}</script>
</body></html>
"""
