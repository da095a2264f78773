"""Grading on a Dask distributed cluster: the work of the local workers, on many machines.

Each notebook is one Dask task. A Dask worker grades it with the same code as a local worker
(autograder.run.kernels.run_task: sandboxed kernels kept warm from one task to the next, and
the trusted run) and sends back its Outcome, plain values; the grading command stays the one
writer of the gradebook and the outputs.

Workers are ordinary `dask worker` processes on machines with the course installed
(bubblewrap included); `--nthreads 1 --nworkers N` gives N processes, like `--jobs N`. Each
process checks that it can sandbox and builds its own matplotlib font cache at its first
task. When a worker dies, Dask runs its tasks again on another one; a notebook that was
running on every one of `distributed.scheduler.allowed-failures` + 1 workers that died
scores 0 with the reason instead of stopping the run.
"""

import functools
import os
import threading
import uuid
from pathlib import Path

import nbformat
from distributed import Client, KilledWorker, as_completed, get_worker

from autograder.run.kernels import build_font_cache, mark_not_run, run_task
from autograder.run.sandbox import Limits, require_bubblewrap
from autograder.run.values import Outcome

_first_task = threading.Lock()


@functools.cache
def _worker_folders():
    """(runtime root, font cache) of this worker process, made at its first task.

    They live in the Dask worker's own folder, which Dask deletes when the worker ends (or
    at the next start after a crash).
    """
    require_bubblewrap()  # never unsandboxed: the task fails, saying why, as a local run would
    root = Path(get_worker().local_directory) / "grading"
    root.mkdir(exist_ok=True)
    os.chmod(root, 0o755)  # sandboxes reach their own runtime folder in it
    return str(root), build_font_cache(root / "matplotlib")


def _grade(task, limits, font_cache):
    """The Dask task: grade one notebook in this worker process."""
    with _first_task:
        runtime_root, own_font_cache = _worker_folders()
    return run_task(task, limits, font_cache or own_font_cache, runtime_root)


def _killed(task, deaths):
    """The Outcome of a notebook whose grading worker died `deaths` times: nothing ran."""
    problem = f"the notebook killed its grading worker {deaths} times"
    nb = nbformat.reads(task.notebook_json, as_version=4)
    mark_not_run(nb, problem)
    return Outcome(task.key, nbformat.writes(nb), problem, {}, 0.0)


def execute_on_cluster(tasks, scheduler, limits=Limits(), font_cache=None):
    """Execute and verify every task on the Dask cluster at `scheduler` (an address such as
    tcp://host:8786); yield Outcomes as they finish, as execute_all does.

    font_cache: a font cache at that path on every worker; by default each worker process
    builds its own (the grader's path may not exist there).
    """
    # keys that name the notebook, for the dashboard and the logs
    by_key = {("grade", *task.key, uuid.uuid4().hex): task for task in tasks}
    with Client(scheduler, set_as_default=False) as client:
        # only as_completed holds a future: each result leaves the cluster once it is read
        futures = as_completed(
            client.submit(_grade, task, limits, font_cache, key=key) for key, task in by_key.items()
        )
        for future in futures:
            try:
                outcome = future.result()
            except KilledWorker as exc:
                outcome = _killed(by_key[future.key], exc.allowed_failures + 1)
            yield outcome
