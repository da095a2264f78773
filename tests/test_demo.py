"""The demo class's typical mistakes are the catalogue's, and the file holding them is fresh."""

import importlib.util

from autograder.course import REPO


def test_the_demo_mistakes_file_is_generated_from_the_catalogue():
    spec = importlib.util.spec_from_file_location(
        "demo_mistakes", REPO / "scripts" / "demo_mistakes.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.DEST.read_text(encoding="utf-8") == script.render(), (
        "stale: run .venv/bin/python scripts/demo_mistakes.py"
    )
