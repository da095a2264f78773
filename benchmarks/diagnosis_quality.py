"""How often does a wrong answer get a diagnosis that names its actual mistake?

Measured on the held-out wrong answers of benchmarks/heldout/, written from the lessons and
the contract alone by someone who never read the checks (tests/catalogue/ is what the checks
were written against: a share measured there says little). Each one runs through its
exercise's graded test cell, in-process, as tests/test_catalogue.py runs the catalogue, with
the course's reference bound for any other exercise of its lesson that it calls. Prints, per
lesson and overall, the share of wrong answers that are

- rejected: the test cell fails (the grade is right);
- specific: rejected with a diagnosis other than the generic "N of M entries are wrong" or
  "x is a, expected b";
- named: rejected with a diagnosis that contains one of the phrases its writer listed as
  naming that mistake (where it is and what it is).

With --list, every answer that is not named, with its diagnosis.

    .venv/bin/python benchmarks/diagnosis_quality.py [--list]
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: the test cell runner lives in tests/

from autograder.notebooks import exercises, source_notebook  # noqa: E402
from benchmarks.heldout import mistakes  # noqa: E402
from tests.conftest import solution_functions  # noqa: E402
from tests.test_catalogue import GENERIC_WORDING, diagnosis  # noqa: E402


def _with_callees(mistake):
    """Bind, in the answer's module, the reference of each exercise of its lesson that it
    calls and does not define (the sequence function's step function, for instance)."""
    names = set(exercises(source_notebook(mistake.lesson))) - {mistake.exercise}
    module = mistake.fn.__globals__
    for name in names & set(mistake.fn.__code__.co_names):
        module.setdefault(name, solution_functions(mistake.lesson)[name])
    return mistake


def judge(mistake):
    """(rejected, specific, named, the diagnosis or None) of one held-out wrong answer."""
    found = diagnosis(_with_callees(mistake))
    if found is None:
        return False, False, False, None
    specific = not GENERIC_WORDING.search(found)
    named = any(phrase.lower() in found.lower() for phrase in mistake.names)
    return True, specific, named, found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the answers not named")
    args = parser.parse_args()
    by_lesson = defaultdict(list)
    for mistake in mistakes():
        by_lesson[mistake.lesson].append((mistake, judge(mistake)))
    print(f"{'lesson':<24}{'answers':>8}{'rejected':>10}{'specific':>10}{'named':>8}")
    everything = []
    for lesson, judged in sorted(by_lesson.items()):
        everything += judged
        print(_row(lesson, judged))
    print(_row("all", everything))
    if args.list:
        for mistake, (rejected, _, named, found) in everything:
            if not named:
                print(f"\n{mistake.id} ({mistake.exercise}): {mistake.what}")
                print(f"  wanted one of: {', '.join(mistake.names)}")
                print(f"  got: {found if rejected else 'PASSED (not rejected)'}")


def _row(label, judged):
    n = len(judged)
    shares = [sum(j[k] for _, j in judged) / n for k in range(3)]
    return f"{label:<24}{n:>8}" + "".join(f"{s:>10.0%}" for s in shares[:2]) + f"{shares[2]:>8.0%}"


if __name__ == "__main__":
    main()
