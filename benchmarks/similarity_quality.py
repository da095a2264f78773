"""How well does the similarity check (autograder.outputs.similarity) tell disguised copies
from honest, independent answers?

The test set, per lesson:
- honest submissions, each by a different author: the published solution (solutions/) and
  the catalogue's correct answers in other styles (tests/catalogue): the first answer of
  every exercise, then the second where there is one, and so on (an exercise without a k-th
  answer is left as the starter code in the k-th submission);
- disguised copies of each honest submission: handed in as it is, with its variables
  renamed, with its comments and docstring replaced, reformatted (ast.unparse), with
  adjacent independent lines swapped, lightly edited (in every cell the operands of one sum
  or product swapped and one line added), and with all of these at once.

Every two submissions of a lesson are a pair: copies if both come from the same honest
submission, independent otherwise. Prints the precision and recall of the flag (similarity
at or above THRESHOLD over at least MIN_RUNS runs), by disguise and at other thresholds;
then, as harder independent answers, the catalogue's typical wrong answers against the
published solution (most are one slip away from the natural answer). With --copydetect (the
copydetect package installed), the same figures for copydetect's fingerprints, at its best
threshold.

    .venv/bin/python benchmarks/similarity_quality.py [--copydetect]
"""

import argparse
import ast
import functools
import io
import itertools
import re
import sys
import tokenize
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the catalogue lives in tests/

from autograder.course import LESSONS, SOLUTIONS, lesson_ids, notebook_name  # noqa: E402
from autograder.demo import renamed  # noqa: E402
from autograder.outputs import similarity  # noqa: E402
from tests.catalogue import answers  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def recomment(source):
    """Comments dropped, a comment of one's own above every other line, another docstring."""
    source = re.sub(r'"""(.|\n)*?"""', '"""My own implementation."""', source, count=1)
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    cut = {tok.start[0]: tok.start[1] for tok in tokens if tok.type == tokenize.COMMENT}
    out = []
    for number, line in enumerate(source.splitlines(), start=1):
        line = line[: cut[number]].rstrip() if number in cut else line
        if line.strip():
            if number % 2:
                out.append(line[: len(line) - len(line.lstrip())] + "# now the next step")
            out.append(line)
    return "\n".join(out)


def reformat(source):
    """The cell as ast.unparse prints it: comments gone, spacing and quotes its own."""
    return ast.unparse(ast.parse(source))


def _names(node, ctx):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


def _independent(a, b, lines):
    """Whether two adjacent statements can swap places: simple, on lines of their own,
    neither using or setting what the other sets."""
    simple = all(isinstance(s, ast.Assign | ast.AugAssign | ast.Expr) for s in (a, b))
    alone = all(lines[s.lineno - 1][: s.col_offset].strip() == "" for s in (a, b))
    sets_a, sets_b = _names(a, ast.Store), _names(b, ast.Store)
    apart = not (sets_a & (_names(b, ast.Load) | sets_b) or sets_b & _names(a, ast.Load))
    return simple and alone and apart and a.end_lineno < b.lineno


def reorder(source):
    """Adjacent independent statements swapped, two by two."""
    lines = source.splitlines()
    swaps = []
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        i = 0
        while isinstance(body, list) and i + 1 < len(body):
            if _independent(body[i], body[i + 1], lines):
                swaps.append((body[i], body[i + 1]))
                i += 1
            i += 1
    for a, b in sorted(swaps, key=lambda pair: -pair[0].lineno):
        first, second = lines[a.lineno - 1 : a.end_lineno], lines[b.lineno - 1 : b.end_lineno]
        lines[a.lineno - 1 : b.end_lineno] = second + lines[a.end_lineno : b.lineno - 1] + first
    return "\n".join(lines)


class _SwapFirst(ast.NodeTransformer):
    """The operands of the first sum or product swapped: a * b becomes b * a."""

    done = False

    def visit_BinOp(self, node):
        if not self.done and isinstance(node.op, ast.Add | ast.Mult):
            self.done = True
            node.left, node.right = node.right, node.left
        return self.generic_visit(node)


def edit(source):
    """One expression changed and one line added, as a copier who edits a little does
    (comments are lost: ast.unparse prints the result)."""
    tree = _SwapFirst().visit(ast.parse(source))
    function = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    function.body.insert(len(function.body) - 1, ast.parse("checked = True").body[0])
    return ast.unparse(tree)


DISGUISES = {
    "as is": [],
    "renamed": [renamed],
    "comments": [recomment],
    "reformatted": [reformat],
    "reordered": [reorder],
    "edited": [edit],
    "all at once": [reorder, renamed, edit, recomment],
}


def disguise(source, how):
    """The cell's source as a copier who disguises it `how` hands it in."""
    for step in DISGUISES[how]:
        source = step(source)
    return source


def test_set():
    """{lesson: (starter, members)} with members [(honest submission, disguise, {grade_id:
    source})], and {lesson: (starter, [published, typical wrong answers 1, 2])}."""
    right, wrong = defaultdict(list), defaultdict(list)
    for answer in answers():
        (wrong if answer.diagnosis else right)[(answer.lesson, answer.exercise)].append(answer)

    def kth(by_exercise, lesson, starter, k):
        return {
            g: by_exercise[(lesson, g)][k].cell_source()
            for g in starter
            if len(by_exercise[(lesson, g)]) > k
        }

    lessons, mistakes = {}, {}
    for lesson in lesson_ids():
        starter = similarity.solution_sources(LESSONS / lesson / notebook_name(lesson))
        published = similarity.solution_sources(SOLUTIONS / lesson / notebook_name(lesson))
        honest = {"published": published}
        for k in itertools.count():
            if not (mine := kth(right, lesson, starter, k)):
                break
            honest[f"right answer {k + 1}"] = {**starter, **mine}
        members = [
            (base, how, {g: disguise(src, how) for g, src in sources.items()})
            for base, sources in honest.items()
            for how in DISGUISES
        ]
        lessons[lesson] = (starter, members)
        slips = [{**starter, **kth(wrong, lesson, starter, k)} for k in range(2)]
        mistakes[lesson] = (starter, [published, *slips])
    return lessons, mistakes


@functools.cache
def _cell(source, starter):
    return similarity.read_cell(source, starter)


def ours(starter, a, b):
    """(similarity, runs) of two submissions by autograder.outputs.similarity, or None."""

    def cells(sources):
        return {g: _cell(src, starter.get(g, "")) for g, src in sources.items()}

    pair = similarity.compare("lesson", "a", cells(a), "b", cells(b))
    return (pair.similarity, pair.runs) if pair else None


def copydetect_score(starter, a, b):
    """copydetect's: the lesson's cells as one file, the starter's as its boilerplate, k = 25
    characters of its filtered code, every fingerprint kept; the similarity is the smaller of
    the two overlap fractions."""
    from copydetect import CodeFingerprint, compare_files

    def fingerprint(sources, boilerplate=()):
        code = "\n\n".join(sources[g] for g in sorted(starter))
        return CodeFingerprint("cells.py", 25, 1, boilerplate, fp=io.StringIO(code))

    given = list(fingerprint(starter).hashes)
    fa, fb = fingerprint(a, given), fingerprint(b, given)
    if not fa.hashes or not fb.hashes:
        return None
    _, (sim_a, sim_b), _ = compare_files(fa, fb)
    return min(sim_a, sim_b), len(fa.hashes | fb.hashes)


def scored_pairs(lessons, score):
    """[(copies?, similarity, runs, disguise)] of every pair of members of every lesson;
    disguise is how the second was made, when the first is its original as it is."""
    found = []
    for starter, members in lessons.values():
        for (base_a, how_a, a), (base_b, how_b, b) in itertools.combinations(members, 2):
            scored = score(starter, a, b)
            if scored:
                plain = base_a == base_b and how_a == "as is"
                found.append((base_a == base_b, *scored, how_b if plain else ""))
    return found


def indexed_pairs(lessons):
    """[(copies?, similarity, runs, "")] of every pair of members of every lesson as the
    grading command finds them (similarity.compare_lesson: the candidates its index gives, and
    the groups they make); a pair it does not compare has similarity 0."""
    found = []
    for starter, members in lessons.values():
        named = {f"{i}": (base, sources) for i, (base, _, sources) in enumerate(members)}
        submissions = {name: sources for name, (_, sources) in named.items()}
        pairs = similarity.compare_lesson("lesson", submissions, {}, starter)
        compared = {(p.student_a, p.student_b): p for p in pairs}
        for a, b in itertools.combinations(sorted(named), 2):
            pair = compared.get((a, b))
            scored = (pair.similarity, pair.runs) if pair else (0.0, 0)
            found.append((named[a][0] == named[b][0], *scored, ""))
    return found


def figures(found, threshold, min_runs):
    """(precision, recall, flagged copies, false flags, missed copies)."""
    flags = [(copy, sim >= threshold and runs >= min_runs) for copy, sim, runs, _ in found]
    tp = sum(copy and flag for copy, flag in flags)
    fp = sum(flag and not copy for copy, flag in flags)
    fn = sum(copy and not flag for copy, flag in flags)
    return tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0, tp, fp, fn


def report(name, found, threshold, min_runs):
    copies = sorted(sim for copy, sim, _, _ in found if copy)
    honest = sorted(sim for copy, sim, _, _ in found if not copy)
    precision, recall, tp, fp, fn = figures(found, threshold, min_runs)
    small = sum(copy and runs < min_runs for copy, _, runs, _ in found)
    by_disguise = ", ".join(
        f"{how} {figures([f for f in found if f[3] == how], threshold, min_runs)[1]:.2f}"
        for how in list(DISGUISES)[1:]
    )
    others = ", ".join(
        "{} P {:.2f} R {:.2f}".format(t, *figures(found, t, min_runs)[:2]) for t in THRESHOLDS
    )
    print(f"{name}: flagged from similarity {threshold}, over at least {min_runs} runs")
    print(f"  {len(copies)} pairs of copies, {len(honest)} pairs of independent submissions")
    print(f"  precision {precision:.3f}, recall {recall:.3f}")
    print(f"  {tp} copies flagged, {fp} independent pairs flagged, {fn} copies missed", end="")
    print(f" ({small} of them compare fewer than {min_runs} runs)" if small else "")
    print(f"  recall by disguise: {by_disguise}")
    print(
        f"  similarity of copies: min {copies[0]:.2f}, median {copies[len(copies) // 2]:.2f}; "
        f"of independent pairs: median {honest[len(honest) // 2]:.2f}, max {honest[-1]:.2f}"
    )
    print(f"  at other thresholds: {others}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copydetect", action="store_true", help="measure copydetect too")
    args = parser.parse_args()
    lessons, mistakes = test_set()
    threshold, min_runs = similarity.THRESHOLD, similarity.MIN_RUNS
    found = scored_pairs(lessons, ours)
    report("ast statements (autograder.outputs.similarity)", found, threshold, min_runs)
    print(
        "  without the minimum of runs: precision {:.3f}, recall {:.3f}".format(
            *figures(found, threshold, 0)[:2]
        )
    )
    precision, recall, *_ = figures(indexed_pairs(lessons), threshold, min_runs)
    print(
        f"  through the candidate index, as the grading command compares: precision "
        f"{precision:.3f}, recall {recall:.3f}"
    )
    slips = []
    for starter, (published, *wrong) in mistakes.values():
        slips += [ours(starter, published, w) for w in wrong]
    slips = [s for s in slips if s]
    flagged = sum(sim >= threshold and runs >= min_runs for sim, runs in slips)
    print(
        f"typical wrong answers against the published solution: {flagged} of {len(slips)} "
        f"submissions flagged, similarity at most {max(sim for sim, _ in slips):.2f}"
    )
    if args.copydetect:
        found = scored_pairs(lessons, copydetect_score)
        best = max(THRESHOLDS, key=lambda t: sum(figures(found, t, 0)[:2]))
        report("copydetect 0.5 (winnowed fingerprints)", found, best, 0)


if __name__ == "__main__":
    main()
