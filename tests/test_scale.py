"""Grading at scale on the real services: a Dask cluster and a PostgreSQL gradebook.

One small class (three students, two lessons) is graded twice: locally (--jobs 2, SQLite),
and on a Dask scheduler with two worker processes into PostgreSQL, while the test kills
workers with SIGKILL: once in the middle of one notebook, and every time it runs the
notebook of one more student, who is in the cluster's class only (a correct notebook: what
it scores is only what the dying workers leave it). Both runs must give the same grades,
exercises.csv and feedback pages for the class, and nbgrader's Gradebook on PostgreSQL must
hold those grades.
"""

import collections
import csv
import os
import re
import shutil
import signal
import threading
import time

import nbformat
import pytest
from distributed import Client
from nbgrader.api import Gradebook

from autograder.course import COURSE_ID, notebook_name
from autograder.demo import make_class
from autograder.grade import grade
from tests.services import DASK_CONFIG

LESSONS = ["00_chain_rule", "01_softmax"]
STUDENTS = ("ada", "bob", "cy")  # solved, typical mistakes, half done (and one broken file)
MID_RUN = ("bob", "01_softmax")  # its worker is killed once, in the middle of the notebook
CRASHER = ("zed", "01_softmax")  # its worker is killed every time it runs it
DEATHS = int(DASK_CONFIG["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"]) + 1


class Killer(threading.Thread):
    """Kills, with SIGKILL, the worker process that runs a given notebook once it has run it
    for a second: plan[(student, lesson)] times. (A worker dies so when the machine runs out
    of memory, or the OOM killer picks it; student code itself cannot reach it.)"""

    def __init__(self, address, plan):
        super().__init__(daemon=True)
        self.address, self.plan = address, dict(plan)
        self.kills = collections.Counter()
        self.done = threading.Event()

    def run(self):
        seen = {}  # (worker, notebook) -> when it was first seen running there
        killed = set()  # the scheduler may list a killed worker for a moment longer
        with Client(self.address, set_as_default=False) as client:
            while not self.done.is_set():
                for worker, keys in client.processing().items():
                    for notebook in (tuple(key[1:3]) for key in keys):
                        wanted = self.kills[notebook] < self.plan.get(notebook, 0)
                        if worker in killed or not wanted:
                            continue
                        first = seen.setdefault((worker, notebook), time.monotonic())
                        if time.monotonic() - first >= 1:
                            pid = client.run(os.getpid, workers=[worker])[worker]
                            os.kill(pid, signal.SIGKILL)
                            killed.add(worker)
                            self.kills[notebook] += 1
                time.sleep(0.2)

    def stop(self):
        self.done.set()
        self.join()


def text(page):
    """What a feedback page says, without its markup: a kernel may send one print in one
    stream message or two, whatever the backend, and nbgrader keeps them apart."""
    return " ".join(re.sub(r"<[^>]*>", " ", page.read_text(encoding="utf-8")).split())


def rows(path, notebook=None, skip=()):
    """The rows of a CSV output: of one (student, lesson) only, or without some students."""
    with open(path, newline="") as f:
        found = [r for r in csv.DictReader(f) if r["student"] not in skip]
    return [r for r in found if notebook in (None, (r["student"], r["lesson"]))]


@pytest.fixture(scope="module")
def classes(tmp_path_factory):
    """The class, and the same class with the crasher's notebook (a correct one) added."""
    root = tmp_path_factory.mktemp("scale")
    make_class(root / "template", LESSONS)
    plain, crashing = root / "class", root / "class_and_crasher"
    for student in STUDENTS:
        shutil.copytree(root / "template" / student, plain / student)
    shutil.copytree(plain, crashing)
    student, lesson = CRASHER
    (crashing / student / lesson).mkdir(parents=True)
    name = notebook_name(lesson)
    # ada's answers, slow enough that the Killer sees them run for its second every time
    nb = nbformat.read(plain / "ada" / lesson / name, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import time\ntime.sleep(4)"))
    nbformat.write(nb, crashing / student / lesson / name)
    return plain, crashing, root


@pytest.fixture(scope="module")
def local(classes):
    plain, _, root = classes
    out = root / "local"
    return out, grade(plain, out, jobs=2, lessons=LESSONS, written=False)


@pytest.fixture(scope="module")
def cluster(classes, dask_scheduler, postgres, local):  # after `local`: not both at once
    _, crashing, root = classes
    out, db_url = root / "cluster", postgres.new_database()
    killer = Killer(dask_scheduler, {MID_RUN: 1, CRASHER: DEATHS})
    killer.start()
    try:
        graded = grade(
            crashing, out, scheduler=dask_scheduler, db_url=db_url, lessons=LESSONS, written=False
        )
    finally:
        killer.stop()
    return out, graded, killer, db_url


def test_the_cluster_gives_the_grades_exercises_and_feedback_of_the_local_run(local, cluster):
    (here, _), (there, *_) = local, cluster
    skip = {CRASHER[0]}
    assert rows(there / "grades.csv", skip=skip) == rows(here / "grades.csv")
    assert rows(there / "exercises.csv", skip=skip) == rows(here / "exercises.csv")
    pages = sorted(p.relative_to(here) for p in (here / "feedback").rglob("*.html"))
    assert pages and all(text(there / p) == text(here / p) for p in pages)


def test_a_worker_killed_mid_run_has_its_notebook_graded_again_elsewhere(local, cluster):
    (here, _), (there, graded, killer, _) = local, cluster
    assert killer.kills[MID_RUN] == 1
    cells = rows(there / "exercises.csv", MID_RUN)
    assert cells and cells == rows(here / "exercises.csv", MID_RUN)
    assert graded.graded == 6  # every notebook handed in (cy's broken file is not one)


def test_a_notebook_that_kills_its_worker_scores_zero_with_the_reason(cluster):
    there, _, killer, *_ = cluster
    assert killer.kills[CRASHER] == DEATHS
    reason = f"the notebook killed its grading worker {DEATHS} times"
    (row,) = rows(there / "grades.csv", CRASHER)
    assert float(row["score"]) == 0 < float(row["max_score"])
    cells = rows(there / "exercises.csv", CRASHER)
    assert cells and all(c["message"] == reason and float(c["score"]) == 0 for c in cells)
    page = there / "feedback" / CRASHER[0] / CRASHER[1] / notebook_name(CRASHER[1])
    assert reason in page.with_suffix(".html").read_text(encoding="utf-8")


def test_the_postgresql_gradebook_holds_the_grades_of_the_sqlite_one(local, cluster):
    (here, _), (there, _, _, db_url) = local, cluster
    assert not (there / "course" / "gradebook.db").exists()
    expected = {(r["student"], r["lesson"]): float(r["score"]) for r in rows(here / "grades.csv")}
    del expected[("cy", LESSONS[0])]  # a broken file: in no gradebook
    with Gradebook(db_url, COURSE_ID) as gb:
        found = {
            (s.student.id, s.assignment.name): s.score
            for lesson in LESSONS
            for s in gb.assignment_submissions(lesson)
        }
        student, lesson = CRASHER
        assert gb.find_submission(lesson, student).score == 0
    assert {k: v for k, v in found.items() if k[0] != CRASHER[0]} == expected
