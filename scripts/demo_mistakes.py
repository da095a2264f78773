"""Write autograder/demo_mistakes.json: the demo student bob's answers, the catalogue's first
typical wrong answer of every exercise (tests/catalogue is their one source of truth; the
grader reads the file, never the test suite). tests/test_demo.py fails when it is stale.

    .venv/bin/python scripts/demo_mistakes.py
"""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEST = REPO / "autograder" / "demo_mistakes.json"


def first_mistakes():
    sys.path.insert(0, str(REPO))
    from tests.catalogue import answers

    first = {}
    for answer in answers():
        if answer.diagnosis is not None:
            first.setdefault(answer.lesson, {}).setdefault(answer.exercise, answer.cell_source())
    return {lesson: dict(sorted(ex.items())) for lesson, ex in sorted(first.items())}


def render():
    return json.dumps(first_mistakes(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    DEST.write_text(render(), encoding="utf-8")
    print(f"wrote {DEST.relative_to(REPO)}")
