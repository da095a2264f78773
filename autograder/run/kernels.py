"""Executing and verifying submissions: sandboxed processes, started ahead of need, in workers.

nbgrader runs one notebook at a time and pays a kernel start, the imports and a shutdown for
each. Here each worker process grades many notebooks: while one notebook runs, the next
kernel is already booting and importing numpy, matplotlib and the helper package, so that a
notebook starts on a warm kernel. The notebook itself is executed by nbgrader's own Execute
preprocessor; only the kernel it is given differs (sandboxed, see autograder.run.sandbox).

The worker then runs the trusted half of "one check, two runners" (autograder.run.trusted): it
never executes student code itself, only talks to sandboxed processes that do.
"""

import asyncio
import contextlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client import AsyncKernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from autograder.run import trusted
from autograder.run.sandbox import Limits, sandbox_env, sandboxed

# run in every kernel before it is handed a notebook: the heavy imports, then a clean slate
WARM_UP = """
import numpy, matplotlib, matplotlib.pyplot, ipywidgets
import gradlab.checking, gradlab.numeric, gradlab.widgets
%matplotlib inline
%reset -f
"""


@dataclass(frozen=True)
class Task:
    """One notebook to grade: the sanitized submission of (student, lesson), as nbformat JSON."""

    key: tuple
    notebook_json: str


@dataclass(frozen=True)
class Outcome:
    key: tuple
    notebook_json: str  # the executed notebook
    problem: str  # "" when the notebook ran normally, else why it stopped
    verdicts: dict  # grade_id -> trusted.Verdict
    seconds: float


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel whose process runs in the sandbox and talks over Unix sockets in scratch."""

    def __init__(self, scratch, hidden, limits, **kwargs):
        super().__init__(transport="ipc", kernel_name="python3", **kwargs)
        self.scratch, self.hidden, self.limits = str(scratch), hidden, limits
        self.ip = os.path.join(self.scratch, "kernel")
        self.connection_file = os.path.join(self.scratch, "kernel.json")
        # a signal would stop at bwrap; ipykernel interrupts itself on a control message
        self.kernel_spec.interrupt_mode = "message"

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        # in its own PID namespace the kernel cannot see its parent: no parent polling
        # (bwrap's --die-with-parent ends it with the worker instead)
        command = ["env", "-u", "JPY_PARENT_PID", *command]
        return sandboxed(command, self.scratch, self.hidden, self.limits)


class WarmKernel:
    """A sandboxed kernel, started and warmed up, with its own scratch folder."""

    def __init__(self, hidden, limits, font_cache, scratch_root):
        self.scratch = Path(tempfile.mkdtemp(prefix="kernel-", dir=scratch_root))
        if font_cache:  # matplotlib would otherwise rebuild its font list in every kernel
            shutil.copytree(font_cache, self.scratch / ".matplotlib")
        self.km = SandboxedKernelManager(self.scratch, hidden, limits)

    async def start(self):
        await self.km.start_kernel(
            env=sandbox_env(self.scratch),
            cwd=str(self.scratch),
            extra_arguments=["--HistoryManager.hist_file=:memory:"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = self.km.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            await client.execute_interactive(WARM_UP, store_history=False, timeout=60)
        finally:
            client.stop_channels()
        return self

    async def close(self):
        with contextlib.suppress(Exception):  # a kernel the student killed is already gone
            await self.km.shutdown_kernel(now=True)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _mark_not_run(nb, reason):
    """Give every code cell that did not finish an error output saying why."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("execution_count") is None:
            cell.outputs = [
                NotebookNode(
                    output_type="error",
                    ename="NotRun",
                    evalue=reason,
                    traceback=[f"NotRun: {reason}"],
                )
            ]


class Worker:
    """Executes notebooks one after another on warm kernels, keeping one kernel in reserve.

    The reserve kernel and trusted child end with the worker process (bwrap's
    --die-with-parent), and their scratch folders with the run's scratch root.
    """

    def __init__(self, hidden, limits, font_cache, scratch_root):
        self.hidden, self.limits, self.font_cache = hidden, limits, font_cache
        self.scratch_root = scratch_root
        self.loop = asyncio.new_event_loop()
        self.spare = None
        self.spare_child = None

    def _boot(self):
        kernel = WarmKernel(self.hidden, self.limits, self.font_cache, self.scratch_root)
        return self.loop.create_task(kernel.start())

    def run(self, task):
        return self.loop.run_until_complete(self._run(task))

    async def _run(self, task):
        started = time.monotonic()
        spare, self.spare = self.spare or self._boot(), None
        child = self.spare_child or trusted.StudentProcess(
            self.hidden, self.limits, self.scratch_root
        )
        nb = nbformat.reads(task.notebook_json, as_version=4)
        # the trusted run works on the notebook as submitted (sanitized), not as executed
        verifying = asyncio.to_thread(trusted.verify_notebook, child, task.key[1], nb.copy())
        problem = await self._execute(nb, spare, started)
        verdicts = await verifying
        self.spare_child = trusted.StudentProcess(self.hidden, self.limits, self.scratch_root)
        seconds = time.monotonic() - started
        return Outcome(task.key, nbformat.writes(nb), problem, verdicts, seconds)

    async def _execute(self, nb, spare, started):
        """Execute nb in place on the kernel `spare` will give; return the problem, if any."""
        problem = ""
        try:
            kernel = await spare
        except Exception as exc:
            _mark_not_run(nb, f"the kernel could not start: {exc}")
            return "kernel failed to start"
        self.spare = self._boot()  # the next notebook's kernel boots while this one runs
        deadline = started + self.limits.notebook_seconds

        def cell_timeout(_cell):
            return max(1, min(self.limits.cell_seconds, int(deadline - time.monotonic())))

        # nbgrader's own Execute preprocessor, run through its asynchronous client API
        executor = Execute(timeout_func=cell_timeout, interrupt_on_timeout=True)
        NotebookClient.__init__(executor, nb, kernel.km)  # as Execute.preprocess does
        try:
            await asyncio.wait_for(
                executor.async_execute(), timeout=self.limits.notebook_seconds + 30
            )
        except TimeoutError:
            problem = f"stopped after {self.limits.notebook_seconds} s"
        except Exception as exc:  # DeadKernelError and friends: the student's kernel died
            problem = f"the kernel died ({type(exc).__name__}): memory or CPU limit, or a crash"
        if problem:
            _mark_not_run(nb, problem)
        await kernel.close()
        return problem


_worker = None


def _init_worker(*args):
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _worker = Worker(*args)


def _run_task(task):
    return _worker.run(task)


def execute_all(tasks, jobs, hidden=(), limits=Limits(), font_cache=None):
    """Execute and verify every task in `jobs` worker processes; yield Outcomes as they finish.

    Workers are fresh processes (spawned, not forked) that never run student code.
    """
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="grading-") as scratch_root:
        # every kernel and child sees its own scratch folder only, not its neighbours'
        initargs = ((*hidden, scratch_root), limits, font_cache, scratch_root)
        with context.Pool(jobs, _init_worker, initargs) as pool:
            yield from pool.imap_unordered(_run_task, tasks)
