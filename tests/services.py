"""Real services for the tests, started by the tests on loopback and stopped at the end.

- `postgres`: a PostgreSQL server (Debian's `postgresql` package, `make system-deps`) in a
  temporary folder, listening on 127.0.0.1 only; `postgres_url`: a fresh database in it.
  As root (CI), initdb and the server run as the unprivileged user `postgres`.
- `dask_scheduler`: a Dask scheduler and two worker processes (`dask scheduler`,
  `dask worker`, one thread each); the scheduler's address.

Each is also a context manager (PostgresServer, dask_cluster) for scripts such as the
benchmarks.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent  # the course's environment: `dask` lives there
# the test cluster gives up on a task after 3 worker deaths (Dask's default is 4), and hands
# a worker only the one task it runs, so that killing it makes no other task suspicious
DASK_CONFIG = {
    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2",
    "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(ready, what, log, timeout=60):
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {timeout} s:\n{log.read_text()}")
        time.sleep(0.1)


class PostgresServer:
    """A throwaway PostgreSQL server: trust authentication, on 127.0.0.1 only, no fsync."""

    def __init__(self):
        versions = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
        )
        if not versions:
            raise RuntimeError("PostgreSQL is not installed: run `make system-deps`")
        self.bin = versions[-1]
        self.as_root = os.geteuid() == 0
        # in /tmp (not pytest's private folder): the server's user must reach its data
        self.folder = Path(tempfile.mkdtemp(prefix="gradlab-postgres-"))
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.port = _free_port()
        self.databases = 0

    def _run(self, tool, *args):
        command = [str(self.bin / tool), *args]
        if self.as_root:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self):
        self._run("initdb", "-D", str(self.data), "-U", "grader", "--auth=trust", "--no-sync")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -F"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        return self

    def new_database(self):
        """The SQLAlchemy URL of a new, empty database."""
        self.databases += 1
        name = f"gradebook{self.databases}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "grader", name)
        return f"postgresql+psycopg2://grader@127.0.0.1:{self.port}/{name}"

    def stop(self):
        with contextlib.suppress(subprocess.CalledProcessError):  # it may not have started
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()


def _start(command, log, env):
    """A process in a session of its own (so that it can be ended with all it started)."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _end(processes):
    """SIGKILL to each process group: the kernels of a worker end with it (--die-with-parent)."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def dask_cluster(workers=2, config=DASK_CONFIG):
    """A Dask scheduler and `workers` worker processes (with their nannies) on 127.0.0.1;
    yields the scheduler's address."""
    folder = Path(tempfile.mkdtemp(prefix="gradlab-dask-"))
    # the scheduler's and the workers' files in that folder too (not /tmp/dask-scratch-space)
    env = {**os.environ, **config, "DASK_TEMPORARY_DIRECTORY": str(folder)}
    processes = []
    try:
        scheduler_file, log = folder / "scheduler.json", folder / "scheduler.log"
        command = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0"]
        command += ["--no-dashboard", "--scheduler-file", str(scheduler_file)]
        processes.append(_start(command, log, env))
        _wait_for(scheduler_file.exists, "the Dask scheduler", log)
        address = json.loads(scheduler_file.read_text())["address"]
        for n in range(workers):
            command = [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--nworkers", "1"]
            command += ["--no-dashboard", "--host", "127.0.0.1"]
            processes.append(_start(command, folder / f"worker{n}.log", env))
        from distributed import Client  # here: only the tests that use Dask import it

        with Client(address, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        _end(processes)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres):
    return postgres.new_database()


@pytest.fixture(scope="session")
def dask_scheduler():
    with dask_cluster() as address:
        yield address
