"""The fixture every lesson's tests share."""

import pytest

from tests.conftest import solution_functions


@pytest.fixture(scope="module")
def sol(request):
    """The solution functions of the test module's LESSON, from its source notebook."""
    return solution_functions(request.module.LESSON)
