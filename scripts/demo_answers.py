"""Write autograder/demo_answers.json: the demo students ada's and cy's answers, the
catalogue's correct answers in other styles (tests/catalogue), so that the demo's honest
students hand in code of their own rather than the published solutions (the similarity
check would rightly flag that). tests/test_report.py fails when the file is stale.

    .venv/bin/python scripts/demo_answers.py
"""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEST = REPO / "autograder" / "demo_answers.json"


def right_answers():
    """{lesson: {exercise: [source of each correct answer, in the catalogue's order]}}."""
    sys.path.insert(0, str(REPO))
    from tests.catalogue import answers

    found = {}
    for answer in answers():
        if answer.diagnosis is None:
            by_exercise = found.setdefault(answer.lesson, {})
            by_exercise.setdefault(answer.exercise, []).append(answer.cell_source())
    return {lesson: dict(sorted(ex.items())) for lesson, ex in sorted(found.items())}


def render():
    return json.dumps(right_answers(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    DEST.write_text(render(), encoding="utf-8")
    print(f"wrote {DEST.relative_to(REPO)}")
