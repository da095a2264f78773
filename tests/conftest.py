"""Shared fixtures: the solution functions of a lesson, taken from its source notebook, and
the real services of tests/services.py (PostgreSQL, a Dask cluster)."""

import functools

import numpy as np
from hypothesis import settings

from autograder.notebooks import nbgrader_meta, source_notebook
from tests.services import dask_scheduler, postgres, postgres_url  # noqa: F401 (fixtures)

# The same examples on every run: a CI result is reproducible, and a rare example that
# breaks a tolerance is found here, not by chance on someone else's machine.
settings.register_profile("course", derandomize=True)
settings.load_profile("course")


@functools.cache
def solution_functions(lesson):
    """A namespace with the lesson's setup cells and solution cells executed.

    The solutions are the source notebook's own cells, so tests of them test what
    students are shown in solutions/.
    """
    namespace = {"np": np}
    for cell in source_notebook(lesson).cells:
        meta = nbgrader_meta(cell)
        is_setup = meta.get("grade_id", "").startswith("setup")
        if cell.cell_type == "code" and (meta.get("solution") or is_setup):
            exec(compile(cell.source, f"<{lesson}:{meta['grade_id']}>", "exec"), namespace)
    return namespace
