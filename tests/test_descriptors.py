"""A worker grades notebook after notebook without leaking: its open descriptors stay flat.

A class of 600 once died after 182 notebooks with `ValueError: filedescriptor out of range in
select()`: nbclient left each notebook's kernel client (and its zmq context) running, about
ten descriptors a notebook, and the sandbox's pidfd was waited on with select, which takes
no descriptor numbered 1024 or more. Here the command starts with over a thousand
descriptors open, so that every descriptor a worker opens is numbered above 1024 from the
first notebook on, and the workers' descriptors are sampled while the class is graded.
"""

import multiprocessing
import os
import threading

import nbformat

from autograder.course import LESSONS, notebook_name
from autograder.grade import grade
from autograder.run.sandbox import Limits

LESSON = "00_chain_rule"
STUDENTS = 40


class DescriptorWatch(threading.Thread):
    """Samples the open descriptors of this process's worker processes until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples = {}  # pid -> [count, ...]
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(0.2):
            for worker in multiprocessing.active_children():
                try:
                    count = len(os.listdir(f"/proc/{worker.pid}/fd"))
                except OSError:
                    continue  # it ended between the two looks
                self.samples.setdefault(worker.pid, []).append(count)


def test_workers_descriptors_stay_flat_past_1024(tmp_path):
    nb = nbformat.read(LESSONS / LESSON / notebook_name(LESSON), as_version=4)
    for i in range(STUDENTS):
        path = tmp_path / "submitted" / f"s{i:03d}" / LESSON / notebook_name(LESSON)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    padding = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    watch = DescriptorWatch()
    watch.start()
    try:
        results = grade(
            tmp_path / "submitted", tmp_path / "out", jobs=2, limits=Limits(), written=False
        ).results
    finally:
        watch.stop.set()
        watch.join()
        for fd in padding:
            os.close(fd)
    assert len(results) == STUDENTS
    assert all(r.max_score > 0 and not r.problem for r in results)
    graders = [counts for counts in watch.samples.values() if len(counts) >= 20]
    assert graders, watch.samples
    for counts in graders:
        third = len(counts) // 3
        # a leak of one descriptor a notebook would add about 20 per worker here
        assert max(counts[-third:]) <= max(counts[:third]) + 10, counts
