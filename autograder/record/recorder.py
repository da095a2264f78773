"""Recording beside the workers: nbgrader's Autograde, replayed (gradebook.record), in a
process of its own, so that the grading command only coordinates.

Replaying Autograde costs about 0.1 core-seconds per notebook, all of it nbgrader's: done in
the command, it was half of the command's own work and bounded any cluster. A recorder
process takes the stored results in batches (a hundred notebooks of a lesson, or the rest of
it once it is complete: grade.RECORD_BATCH) while the workers run the others. SQLite takes
one writer: one recorder. PostgreSQL takes concurrent writers: one recorder per four
workers, batches recorded side by side.
"""

import multiprocessing
import os
import signal
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sqlalchemy.exc import SAWarning

from autograder.record import gradebook
from autograder.run.template import die_with_parent


def _start_recorder(command):
    # the command handles Ctrl-C (and ends the recorder); killed with it however it ends,
    # the command's pid given, as it may end while this process imports: a recorder left
    # running after a SIGKILL would go on writing the gradebook beside the next run
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    die_with_parent(command)
    warnings.simplefilter("ignore", SAWarning)  # nbgrader's own session warnings


def _record(job):
    """gradebook.record of one batch; (core-seconds, {key: why it was not recorded})."""
    cpu = time.process_time()
    failed = gradebook.record(*job)
    return time.process_time() - cpu, failed


class Recorder:
    """Batches of (student, lesson) items recorded in the gradebook by processes of their own;
    failed() waits for every batch given."""

    def __init__(self, course, store, contexts, db_url, jobs):
        self.job = (course, store, contexts, db_url)
        self.recorders = 1 if db_url.startswith("sqlite") else max(1, jobs // 4)
        self.pool = self._new_pool()
        self.batches, self.cpu = [], 0.0

    def _new_pool(self):
        # spawned: by now the command has threads, which a fork would copy in any state
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(self.recorders, context, _start_recorder, (os.getpid(),))

    def record(self, items):
        """Record the items ((student, lesson) keys) once a recorder gets to them."""
        if items:
            course, store, contexts, db_url = self.job
            batch = (course, set(items), store, contexts, db_url)
            self.batches.append((batch, self.pool.submit(_record, batch)))

    def failed(self):
        """{(student, lesson): why} of what could not be recorded, once all is recorded. A
        recorder that died (the machine's doing: it runs no student code) is replaced, and
        its batches recorded again: nbgrader's Autograde of a notebook can be run again."""
        failed = {}
        for batch, future in self.batches:
            try:
                cpu, unrecorded = future.result()
            except BrokenProcessPool:
                self.close()
                self.pool = self._new_pool()
                cpu, unrecorded = self.pool.submit(_record, batch).result()
            self.cpu += cpu
            failed.update(unrecorded)
        self.batches = []
        return failed

    def close(self):
        """End the recorders at once (concurrent.futures would wait for their batches)."""
        for process in list((self.pool._processes or {}).values()):
            process.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
