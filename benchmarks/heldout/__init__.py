"""Held-out wrong answers, written from the lessons and the contract alone (never from the
checks), to measure how often a wrong answer gets a diagnosis that names its actual mistake.
Kept apart from tests/catalogue/, which the checks were written against.

One module per lesson (l04_mlp_backprop.py), with LESSON = "<lesson id>" and functions marked
@mistake(exercise, what, names): `what` is the mistake in plain words; `names` are phrases of
which a diagnosis naming that mistake would contain at least one (case-insensitive)."""

import importlib
import pkgutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    lesson: str
    exercise: str
    fn: object
    what: str
    names: tuple

    @property
    def id(self):
        return f"{self.lesson}:{self.fn.__name__}"


def mistake(exercise, what, names):
    def mark(fn):
        fn.heldout = (exercise, what, tuple(names))
        return fn

    return mark


def mistakes():
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for fn in vars(module).values():
            if callable(fn) and hasattr(fn, "heldout"):
                found.append(Mistake(module.LESSON, fn.heldout[0], fn, *fn.heldout[1:]))
    return found
