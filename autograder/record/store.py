"""The results of a class, one file per notebook, kept between runs.

Each graded notebook's Outcome (the executed notebook with the trusted verdicts in it) is
stored as soon as it arrives, under a key made of the submission's content, the lesson's
source and the grader's own code. A rerun grades only the notebooks whose key changed (new,
late or edited submissions, an edited lesson, a new grader), and a run that was interrupted
resumes where it stopped: what was stored is not graded again.
"""

import hashlib
import json
from pathlib import Path

from autograder.files import write_whole
from autograder.run.values import Outcome, Verdict

CODE = Path(__file__).resolve().parents[2]  # the folder that holds autograder/ and gradlab/


def _digest(*parts):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def grader_version():
    """A digest of the code that decides a notebook's result: how it is run and checked (the
    run stage, the helper package with its checks and tools). A new version grades everything
    again; a change to the report or the exports does not."""
    run = [CODE / "autograder" / "course.py", CODE / "autograder" / "notebooks.py"]
    # the sanitizing preprocessors shape the notebook that is run
    run += [CODE / "autograder" / "record" / "preprocessors.py"]
    run += sorted((CODE / "autograder" / "run").rglob("*.py"))
    files = run + sorted((CODE / "gradlab").rglob("*.py"))
    return _digest(*(str(f.relative_to(CODE)).encode() + f.read_bytes() for f in files))


def result_key(submission_bytes, source_bytes, version):
    return _digest(submission_bytes, source_bytes, version.encode())


class ResultStore:
    """OUT/results/<student>/<lesson>.json: {"key": ..., "outcome": ...}."""

    def __init__(self, root):
        self.root = Path(root)

    def path(self, student, lesson):
        return self.root / student / f"{lesson}.json"

    def get(self, student, lesson, key):
        """The stored Outcome of (student, lesson) if it was made under `key`, else None."""
        try:
            stored = json.loads(self.path(student, lesson).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if stored.get("key") != key:
            return None
        o = stored["outcome"]
        verdicts = {g: Verdict(**v) for g, v in o["verdicts"].items()}
        return Outcome(
            tuple(o["key"]), o["notebook_json"], o["problem"], verdicts, o["seconds"], o["phases"]
        )

    def _stamp(self, student, lesson, context):
        """What identifies the file stored for (student, lesson) now (written whole each
        time, autograder.files: a new one has a new time or size), with `context`, what else
        the gradebook's record of it depends on (its time and due date)."""
        stat = self.path(student, lesson).stat()
        return f"{stat.st_mtime_ns}:{stat.st_size}:{context}"

    def _recorded_mark(self, student, lesson):
        return self.path(student, lesson).with_suffix(".recorded")

    def recorded(self, student, lesson, context=""):
        """Whether the gradebook was last given the result stored now for (student, lesson),
        in the same context."""
        try:
            mark = self._recorded_mark(student, lesson).read_text()
            return mark == self._stamp(student, lesson, context)
        except OSError:
            return False

    def recording(self, student, lesson):
        """It is about to be given to the gradebook: until done, it is not recorded."""
        self._recorded_mark(student, lesson).unlink(missing_ok=True)

    def mark_recorded(self, student, lesson, context=""):
        write_whole(self._recorded_mark(student, lesson), self._stamp(student, lesson, context))

    def notebook(self, student, lesson):
        """The executed notebook stored for (student, lesson), as nbformat JSON."""
        stored = json.loads(self.path(student, lesson).read_text(encoding="utf-8"))
        return stored["outcome"]["notebook_json"]

    def put(self, outcome, key):
        """Store an Outcome, written whole or not at all.
        key None: kept to be recorded, valid for no run (a grader failure)."""
        path = self.path(*outcome.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "key": key,
            "outcome": {
                "key": list(outcome.key),
                "notebook_json": outcome.notebook_json,
                "problem": outcome.problem,
                "verdicts": {g: vars(v) for g, v in outcome.verdicts.items()},
                "seconds": outcome.seconds,
                "phases": outcome.phases,
            },
        }
        write_whole(path, json.dumps(record))
