"""The catalogue of answers every lesson's checks are proven against.

One module per lesson, named after the lesson id with an `l` in front (l01_softmax.py), with
`LESSON = "<lesson id>"` and functions marked by the decorators below:

- `@wrong(exercise, diagnosis, kind)`: a typical wrong answer; the lesson's test cell for
  `exercise` must reject it, its diagnosis (the first line of its message and the indented
  lines that continue it) must contain `diagnosis`, and the CheckFailed must have the kind
  `kind` (one of gradlab.checking.KINDS);
- `@right(exercise)`: a correct answer in another style (loops, einsum, another stable
  formula); the test cell must accept it.

Each function is self-contained (it may use numpy as `np`, nothing else), so that the demo
class can paste it into a notebook cell under the exercise's name.
"""

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    lesson: str
    exercise: str
    fn: object
    diagnosis: str | None  # None for a right answer
    kind: str | None = None

    @property
    def id(self):
        return f"{self.lesson}:{self.fn.__name__}"

    def cell_source(self):
        """The answer as a notebook cell defining the function under the exercise's name."""
        source = inspect.getsource(self.fn)
        source = "\n".join(line for line in source.splitlines() if not line.startswith("@"))
        return re.sub(r"^def \w+\(", f"def {self.exercise}(", source, count=1)


def wrong(exercise, diagnosis, kind=None):
    def mark(fn):
        fn.catalogue = (exercise, diagnosis, kind)
        return fn

    return mark


def right(exercise):
    def mark(fn):
        fn.catalogue = (exercise, None, None)
        return fn

    return mark


def answers():
    """Every answer of every lesson module of the catalogue."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for fn in vars(module).values():
            if callable(fn) and hasattr(fn, "catalogue"):
                found.append(Answer(module.LESSON, fn.catalogue[0], fn, *fn.catalogue[1:]))
    return found
