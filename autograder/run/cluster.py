"""Grading on a Dask distributed cluster: the work of the local workers, on many machines.

Each notebook is one Dask task. A Dask worker grades it with the same code as a local worker
(autograder.run.kernels.run_task: sandboxed kernels kept warm from one task to the next, and
the trusted run) and sends back its Outcome, plain values; the grading command stays the one
writer of the gradebook and the outputs.

Workers are ordinary `dask worker` processes on machines with the course installed
(bubblewrap included); `--nthreads 1 --nworkers N` gives N processes, like `--jobs N`. At
its first task each process checks that it can sandbox and that its copy of the course is
the grading command's (else the run stops, saying so), and builds its own matplotlib font
cache. When a worker dies, Dask runs its tasks again on another one; a notebook that was
running on every one of `distributed.scheduler.allowed-failures` + 1 workers that died
scores 0 with the reason instead of stopping the run.
"""

import atexit
import functools
import hashlib
import shutil
import threading
import uuid
from pathlib import Path

import dask
import nbformat
from distributed import Client, KilledWorker, as_completed, get_worker

from autograder.course import REPO
from autograder.run.kernels import mark_not_run, run_task
from autograder.run.sandbox import Limits, build_font_cache, new_runtime_root, require_bubblewrap
from autograder.run.values import Outcome

_first_task = threading.Lock()


def _course_version():
    """A digest of what grading depends on: the grader's code, the helper package and the
    lessons' sources. A worker with another version of the course would grade otherwise."""
    digest = hashlib.sha256()
    for folder in ("autograder", "gradlab", "source"):
        for path in sorted((REPO / folder).rglob("*")):
            relative = path.relative_to(REPO)
            if path.is_file() and not any(p.startswith((".", "__")) for p in relative.parts):
                digest.update(f"{relative}\0".encode() + path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _worker_setup():
    """(course version, runtime root, font cache) of this worker process, at its first task.

    The runtime root is in Dask's temporary-directory (or the system's), removed when the
    process ends normally.
    """
    require_bubblewrap()  # never unsandboxed: the task fails, saying why, as a local run would
    root = new_runtime_root(dask.config.get("temporary-directory"))
    atexit.register(shutil.rmtree, root, True)
    return _course_version(), root, build_font_cache(Path(root) / "matplotlib")


def _grade(task, limits, font_cache, version):
    """The Dask task: grade one notebook in this worker process."""
    with _first_task:
        own_version, runtime_root, own_font_cache = _worker_setup()
    if own_version != version:
        raise RuntimeError(
            f"the Dask worker at {get_worker().address} has another version of the course "
            "than the grading command: install the same one on every worker"
        )
    return run_task(task, limits, font_cache or own_font_cache, runtime_root)


def _killed(task, deaths):
    """The Outcome of a notebook whose grading worker died `deaths` times: nothing ran."""
    problem = f"the notebook killed its grading worker {deaths} times"
    nb = nbformat.reads(task.notebook_json, as_version=4)
    mark_not_run(nb, problem)
    return Outcome(task.key, nbformat.writes(nb), problem, {}, 0.0)


def execute_on_cluster(tasks, scheduler, limits=Limits(), font_cache=None):
    """Execute and verify every task on a Dask cluster; yield Outcomes as they finish, as
    LocalWorkers.execute does.

    scheduler: what distributed.Client takes: the scheduler's address (tcp://host:8786), or
    a cluster object (dask-gateway's GatewayCluster, dask-kubernetes' KubeCluster,
    dask-jobqueue's SLURMCluster...), which stays up when the grading ends.

    font_cache: a font cache at that path on every worker; by default each worker process
    builds its own (the grader's path may not exist there).
    """
    # keys that name the notebook, for the dashboard and the logs
    by_key = {("grade", *task.key, uuid.uuid4().hex): task for task in tasks}
    version = _course_version()
    with Client(scheduler, set_as_default=False) as client:
        # only as_completed holds a future: each result leaves the cluster once it is read
        submitted = (
            client.submit(_grade, task, limits, font_cache, version, key=key)
            for key, task in by_key.items()
        )
        for future in as_completed(submitted, loop=client.loop):
            try:
                outcome = future.result()
            except KilledWorker as exc:
                outcome = _killed(by_key[future.key], exc.allowed_failures + 1)
            yield outcome
