"""Executing and verifying submissions: sandboxed processes, started ahead of need, in workers.

nbgrader runs one notebook at a time and pays a kernel start, the imports and a shutdown for
each. Here each worker process grades many notebooks: while one notebook runs, the next
kernel is already booting, forked from a template that imported numpy, matplotlib, IPython
and the helper package once (autograder.run.template), so that a notebook starts on a warm
kernel. The notebook itself is executed by nbgrader's own Execute preprocessor; only the
kernel it is given differs (sandboxed, see autograder.run.sandbox), and the graded test cells
are not run there: a grading kernel holds neither the checks nor a reference, and runs no
hidden test. Their verdicts come from the trusted run (autograder.run.trusted), which the
worker runs beside the notebook: it never executes student code itself, only talks to
sandboxed processes that do.
"""

import asyncio
import contextlib
import copy
import functools
import gc
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

import nbformat
from jupyter_client import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from autograder.costs import ProcessCPU, tree_cpu
from autograder.files import unicode
from autograder.notebooks import nbgrader_meta, source_notebook
from autograder.run import answer_key, trusted
from autograder.run.sandbox import Limits, Sandbox, build_font_cache, new_runtime_root
from autograder.run.template import KERNEL_OPTIONS, die_with_parent, new_template
from autograder.run.values import Outcome, grader_failed

# run in every kernel before it is handed a notebook: the heavy imports (done already in a
# template's fork), leaving no name behind (a %reset's garbage collections cost 0.1 core-s)
# the last thing the grader runs in a kernel: from there on, no new pipe or socket
# (autograder.run.seccomp.seal; its module was imported where the kernel was forked)
WARM_UP = """
def _warm_up():
    import numpy, matplotlib, matplotlib.pyplot, ipywidgets, sys
    import gradlab.checking, gradlab.widgets
    get_ipython().run_line_magic("matplotlib", "inline")
    if "autograder.run.seccomp" in sys.modules:
        sys.modules["autograder.run.seccomp"].seal()
_warm_up()
del _warm_up
"""


class ForkedKernelProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the kernel forked from the worker's template
    (autograder.run.template) instead of started by a command."""

    template = sandbox = None

    async def launch_kernel(self, cmd, **kwargs):
        env = kwargs["env"]
        self.process = self.template.fork("kernel", self.sandbox, env, self.parent.connection_file)
        self.pid, self.pgid = self.process.pid, None  # its process group is the template's
        return self.connection_info


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel whose process runs in a sandbox and talks over Unix sockets in its runtime;
    forked from `template` when there is one, else started from nothing."""

    def __init__(self, sandbox, template=None, **kwargs):
        super().__init__(transport="ipc", kernel_name="python3", **kwargs)
        self.sandbox = sandbox
        self.ip = os.path.join(sandbox.runtime, "kernel")
        self.connection_file = os.path.join(sandbox.runtime, "kernel.json")
        # a signal would stop at bwrap; ipykernel interrupts itself on a control message
        self.kernel_spec.interrupt_mode = "message"
        if template:
            self.kernel_id = str(uuid.uuid4())
            self.provisioner = ForkedKernelProvisioner(
                kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
            )
            self.provisioner.template, self.provisioner.sandbox = template, sandbox

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        # the connection file was just written, readable by the grader only: the kernel may
        # read it, never write it (a file of its uid on the grader's disk would be one the
        # sandbox's bounds do not reach, fallocate past its end included)
        if self.sandbox.privileged:
            os.chmod(self.connection_file, 0o444)
        # in its own PID namespace the kernel cannot see its parent: no parent polling
        # (bwrap's --die-with-parent ends it with the worker instead)
        return self.sandbox.command(["env", "-u", "JPY_PARENT_PID", *command])


class WarmKernel:
    """A sandboxed kernel for a notebook of `lesson`, started and warmed up, in a sandbox of
    its own that shows the tools its lesson gives."""

    def __init__(self, lesson, limits, font_cache, runtime_root, template=None, cpus=None):
        view = answer_key.kernel_view(trusted.lesson_given(lesson), font_cache)
        self.sandbox = Sandbox(view, limits, runtime_root, cpus)
        self.km = SandboxedKernelManager(self.sandbox, template)

    async def start(self):
        await self.km.start_kernel(
            env=self.sandbox.env(),
            extra_arguments=list(KERNEL_OPTIONS),
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
        self.sandbox.seal()  # its sockets exist: the runtime folder takes nothing more
        return self

    async def close(self):
        with contextlib.suppress(Exception):  # a kernel the student killed is already gone
            await self.km.shutdown_kernel(now=True)
        self.sandbox.close()


class NoOutputWidgetMimic:
    """An nbclient client that mimics no Output widget: nbclient's sends its state back to the
    kernel on the shell channel, and then, now and then, the kernel does not see the next
    cell until the cell's timeout interrupts it (nbclient issue #312; 1 notebook in 48 of
    lesson 10 here, and a 120 s wait in the test suite's runs). A grader is no front end: what
    an Output widget shows goes to its cell."""

    def on_comm_open_jupyter_widget(self, msg):
        return None


class BoundedExecute(NoOutputWidgetMimic, Execute):
    """nbgrader's Execute, keeping at most so much output per cell and per notebook.

    What is over the bound is dropped, with a visible note; an error is always kept (it
    decides the grade), cut short.
    """

    def __init__(self, limits, kernel_pid, unrun, **kwargs):
        """unrun: {cell index: the note its cell shows instead of running}."""
        super().__init__(**kwargs)
        self.limits, self.unrun = limits, unrun
        self.kept = {}  # cell index -> bytes of output kept
        self.cut = set()  # cells whose output was cut
        self.kernel_cpu = ProcessCPU(kernel_pid)
        self.phases = {}  # "student cells" -> the kernel's core-seconds

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        if cell_index in self.unrun:
            cell.outputs = [_stream(self.unrun[cell_index])]
            return cell
        before = self.kernel_cpu()
        try:
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        finally:
            spent = max(0.0, self.kernel_cpu() - before)
            self.phases["student cells"] = self.phases.get("student cells", 0.0) + spent

    def output(self, outs, msg, display_id, cell_index):
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return None
        cell_room = self.limits.cell_output_bytes - self.kept.get(cell_index, 0)
        notebook_room = self.limits.notebook_output_bytes - sum(self.kept.values())
        size = len(json.dumps(out))
        if size <= min(cell_room, notebook_room):
            self.kept[cell_index] = self.kept.get(cell_index, 0) + size
            return out
        outs.remove(out)
        if out.output_type == "error":
            out.evalue = out.evalue[:2000]
            out.traceback = [f"{out.ename}: {out.evalue}"]
            outs.append(out)
        if cell_index not in self.cut:
            self.cut.add(cell_index)
            if cell_room <= notebook_room:
                where, limit = "this cell", self.limits.cell_output_bytes
            else:
                where, limit = "this notebook", self.limits.notebook_output_bytes
            note = f"[output cut: {where} printed over {limit // 1024} KiB; the rest is not kept]\n"
            outs.append(NotebookNode(output_type="stream", name="stdout", text=note))
        return None


def unrun_cells(nb, lesson):
    """{index: note} of the cells a grading kernel does not run: the graded test cells (the
    trusted run gives their verdicts), and the course's own cells that use its checks or
    show the progress list (a live list of the self-checks, for JupyterLab)."""
    course_cells = _course_cells_not_run(lesson)
    unrun = {}
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or meta.get("solution"):
            continue
        if meta.get("grade"):
            unrun[index] = "[checked by the grader]\n"
        elif cell.source in course_cells:
            unrun[index] = course_cells[cell.source]
    return unrun


PROGRESS = re.compile(r"^progress\(\)", re.MULTILINE)  # gradlab.notebook.progress's cell


@functools.cache
def _course_cells_not_run(lesson):
    """{source: the note it shows instead} of the lesson's own code cells that a grading
    kernel does not run: those that import what the lesson refuses, and the progress list."""
    refused = answer_key.refused_modules(trusted.lesson_given(lesson))
    notes = {}
    for cell in source_notebook(lesson).cells:
        if cell.cell_type != "code" or nbgrader_meta(cell).get("solution"):
            continue
        imported = answer_key.imported_modules([cell.source])
        if any(answer_key.within(name, refused) for name in imported):
            notes[cell.source] = "[not run while grading: this cell uses the course's checks]\n"
        elif PROGRESS.search(cell.source):
            notes[cell.source] = "[the progress list: each exercise's verdict is under its test]\n"
    return notes


def _stream(text):
    return NotebookNode(output_type="stream", name="stdout", text=text)


def record_verdicts(nb, verdicts):
    """Make the graded test cells say what the trusted run found, for nbgrader to score: a
    line when the cell passed, the diagnosis as the cell's error when it did not."""
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        verdict = verdicts.get(meta.get("grade_id"))
        if verdict is None:  # nbgrader's sanitizing restores every test cell of the source
            message = "the grader has no verdict for this cell"
        elif verdict.passed:  # with its notes (an exercise it calls that fails its own check)
            notes = f"{verdict.detail}\n" if verdict.detail else ""
            cell.outputs = [_stream(f"✔ passed the grader's checks\n{notes}")]
            continue
        else:
            message = verdict.detail or verdict.message
        cell.outputs = [
            NotebookNode(
                output_type="error", ename="CheckFailed", evalue=message, traceback=[message]
            )
        ]


def grader_failed_on(task, exc):
    """(verdicts, problem, notebook JSON) of a task the grader failed on: every cell says so,
    the test cells too (nbgrader gives a test cell without an error its points)."""
    failed = trusted.grader_failure(exc)
    verdicts = trusted.every_cell(task.key[1], {}, failed)
    nb = nbformat.reads(task.notebook_json, as_version=4)
    mark_not_run(nb, failed.message)
    record_verdicts(nb, verdicts)
    return verdicts, failed.message, nbformat.writes(nb)


def mark_not_run(nb, reason, unrun=()):
    """Give every code cell that did not finish (and was meant to run) an error output
    saying why."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.get("execution_count") is None and index not in unrun:
            cell.outputs = [
                NotebookNode(
                    output_type="error",
                    ename="NotRun",
                    evalue=reason,
                    traceback=[f"NotRun: {reason}"],
                )
            ]


class _WorkerLoop(asyncio.SelectorEventLoop):
    """A worker's event loop, which takes no signal handlers: nbclient would answer SIGINT
    and SIGTERM by shutting its kernel down and going on, where a worker told to end (Ctrl-C
    is the parent's) must end at once, its sandboxes with it. nbclient goes on without."""

    def add_signal_handler(self, sig, callback, *args):
        raise RuntimeError("a grading worker leaves signals to their default")


class Worker:
    """Executes notebooks one after another on warm kernels, keeping one kernel in reserve,
    and a trusted run's child, both for the lesson it expects next (tasks come lesson by
    lesson, and a sandbox shows the tools of its lesson only).

    The reserve kernel and child end with the worker process (bwrap's --die-with-parent),
    or with close() when the process goes on without this Worker.
    """

    def __init__(self, limits, font_cache, runtime_root, template=None, cpus=None):
        """cpus: the CPUs this worker's sandboxes run on (None: any)."""
        self.limits, self.font_cache, self.runtime_root = limits, font_cache, runtime_root
        self.cpus = cpus
        # as root, every kernel and child is forked from a template (autograder.run.template):
        # the one given (shared by the workers of LocalWorkers), else one of this Worker's own
        self.template, self.owns_template = template, False
        if template is None and os.geteuid() == 0:
            self.template, self.owns_template = new_template(limits, font_cache, runtime_root), True
        self.loop = _WorkerLoop()
        self.spare = None  # (lesson, the task that starts its kernel)
        self.spare_child = None  # (lesson, StudentProcess)
        # the process's start and imports, counted with its first notebook
        self.started_cpu = time.process_time()

    def _boot(self, lesson):
        kernel = WarmKernel(
            lesson, self.limits, self.font_cache, self.runtime_root, self.template, self.cpus
        )
        return (lesson, self.loop.create_task(kernel.start()))

    def _child(self, lesson):
        return trusted.StudentProcess(
            lesson, self.limits, self.runtime_root, self.font_cache, self.template, self.cpus
        )

    def run(self, task):
        return self.loop.run_until_complete(self._run(task))

    def boot(self, lesson):
        """Start the first notebook's kernel, for `lesson`, now, and wait until it is ready."""
        self.spare = self._boot(lesson)
        self.loop.run_until_complete(asyncio.wait([self.spare[1]]))
        self.started_cpu = time.process_time()

    async def _discard(self, spare):
        with contextlib.suppress(Exception):  # a reserve that failed to start is gone
            await (await spare[1]).close()

    def close(self):
        """End the reserve kernel and child."""
        if self.spare:
            self.loop.run_until_complete(self._discard(self.spare))
        if self.spare_child:
            self.spare_child[1].close()
        if self.owns_template:
            self.template.close()
        self.loop.close()

    async def _run(self, task):
        """The Outcome of one task. Whatever fails here costs this notebook only: a failure of
        the student's code scores it 0 with the reason. One of the grader's own (a sandbox
        that could not be set up, a kernel that did not start) is tried once more; if it
        fails again, every cell says that the grader failed, which grade.py does not keep as
        a result, so that the next run grades it again."""
        started, cpu = time.monotonic(), time.process_time()
        phases = {}
        for _ in range(2):
            verdicts, problem, notebook_json = await self._attempt(task, started, phases)
            if not grader_failed(verdicts):
                break
        seconds = time.monotonic() - started
        # what is left of this process's CPU: nbclient, the kernel's messages, the store
        grader_side = phases.get("trusted checks (grader side)", 0.0)
        phases["worker (nbclient, messages)"] = max(0.0, time.process_time() - cpu - grader_side)
        phases["worker start (imports)"], self.started_cpu = self.started_cpu, 0.0
        return Outcome(task.key, notebook_json, problem, verdicts, seconds, phases)

    async def _attempt(self, task, started, phases):
        """(verdicts, problem, executed notebook JSON) of one attempt at a task."""
        lesson = task.key[1]
        used = []

        def children():  # the trusted run's: the one started ahead first, then new ones
            if self.spare_child and self.spare_child[0] == lesson:
                child, self.spare_child = self.spare_child[1], None
            else:
                if self.spare_child:
                    self.spare_child[1].close()
                    self.spare_child = None
                child = self._child(lesson)
            used.append(child)
            return child

        try:
            nb = nbformat.reads(task.notebook_json, as_version=4)
            submitted = copy.deepcopy(nb)  # the trusted run works on it as submitted
            problem = await self._execute(nb, lesson, started, phases)
            # the trusted run has the notebook's time once, over all its attempts
            verdicts = await asyncio.to_thread(trusted.verify_notebook, children, lesson, submitted)
            record_verdicts(nb, verdicts)
            # what the student's code displayed may hold lone surrogates: no file could
            notebook_json = unicode(nbformat.writes(nb))
        except Exception as exc:
            verdicts, problem, notebook_json = grader_failed_on(task, exc)
        for child in used:
            child.close()
            for phase, spent in child.phases.items():
                phases[phase] = phases.get(phase, 0.0) + spent
        try:  # the next notebook's child starts now; should it fail, that one tries again
            self.spare_child = (lesson, self._child(lesson))
        except Exception:
            self.spare_child = None
        return verdicts, problem, notebook_json

    async def _execute(self, nb, lesson, started, phases):
        """Execute nb in place on a warm kernel for lesson; return the student's problem, if
        any (a kernel that could not start is the grader's: it raises)."""
        problem = ""
        unrun = unrun_cells(nb, lesson)
        spare, self.spare = self.spare, None
        if spare and spare[0] != lesson:
            await self._discard(spare)
            spare = None
        spare = spare or self._boot(lesson)
        try:
            kernel = await spare[1]
        except Exception as exc:
            raise RuntimeError(f"the kernel could not start: {exc}") from exc
        self.spare = self._boot(lesson)  # the next notebook's kernel boots while this one runs
        kernel_pid = kernel.km.provisioner.process.pid
        # the sandbox, the interpreter and the warm-up imports, spent before this notebook
        phases["kernel start"] = tree_cpu(kernel_pid)
        deadline = started + self.limits.notebook_seconds

        def cell_timeout(_cell):
            return max(1, min(self.limits.cell_seconds, int(deadline - time.monotonic())))

        # nbgrader's own Execute preprocessor, run through its asynchronous client API
        executor = BoundedExecute(
            self.limits, kernel_pid, unrun, timeout_func=cell_timeout, interrupt_on_timeout=True
        )
        NotebookClient.__init__(executor, nb, kernel.km)  # as Execute.preprocess does
        try:
            await asyncio.wait_for(
                executor.async_execute(), timeout=self.limits.notebook_seconds + 30
            )
        except TimeoutError:  # the notebook's, or nbclient's for one cell
            if time.monotonic() < deadline:
                problem = f"stopped: a cell ran past {self.limits.cell_seconds} s"
            else:
                problem = f"stopped after {self.limits.notebook_seconds} s"
        except Exception as exc:  # DeadKernelError and friends: the student's kernel died
            problem = f"the kernel died ({type(exc).__name__}): memory or CPU limit, or a crash"
        finally:
            # nbclient leaves the client of a kernel manager it did not make running, and
            # with it a zmq context (an I/O thread, its epoll and eventfds) per notebook:
            # a worker ran out of descriptors after about 180 notebooks
            if executor.kc is not None:
                executor.kc.stop_channels()
            await kernel.close()
        if problem:
            mark_not_run(nb, problem, unrun)
        phases.update(executor.phases)
        return problem


_local = threading.local()  # this thread's Worker
POOL_BREAKS = 3  # pools a run may lose to dead workers before what is left is given up


def run_task(task, limits, font_cache, runtime_root):
    """Execute and verify one task on this thread's Worker; return its Outcome.

    The Worker is made at the thread's first task and kept for the next ones (replaced when
    the settings change), so that they start on warm kernels. Both backends run this:
    LocalWorkers in its processes, autograder.run.cluster in Dask workers.
    """
    settings = (limits, font_cache, runtime_root)
    worker = getattr(_local, "worker", None)
    if worker is None or (worker.limits, worker.font_cache, worker.runtime_root) != settings:
        if worker is not None:
            worker.close()
        worker = _local.worker = Worker(*settings, cpus=getattr(_local, "cpus", None))
    return worker.run(task)


def _start_worker(
    limits, font_cache, runtime_root, template, first_lesson, workers, started, command
):
    # the parent handles Ctrl-C (and ends the workers): nbclient's handler never sees it
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    # killed with the command, however it ends (a spawned worker may outlive it while it
    # imports: the command's pid tells): a worker left running after a SIGKILL would go on
    # writing into OUT beside the next run
    die_with_parent(command)
    with started.get_lock():
        number, started.value = started.value, started.value + 1
    # workers no more than the CPUs each have their own, sandboxes included: no student's
    # work slows or times another's (autograder.run.cgroups)
    cpus = sorted(os.sched_getaffinity(0))
    own = {cpus[number % len(cpus)]} if workers <= len(cpus) else None
    if own:
        os.sched_setaffinity(0, own)
    _local.cpus = own
    if first_lesson:  # its first kernel starts now, while the command prepares the tasks
        _local.worker = Worker(limits, font_cache, runtime_root, template, own)
        _local.worker.boot(first_lesson)


class LocalWorkers:
    """`jobs` worker processes on this machine, which never run student code themselves.

    Warm, they are forked from the command at its start, before it has any other thread,
    each with its Worker (and that Worker's template): they share the command's imports and
    start their templates while the command prepares what they will grade. The same
    processes then serve other work of the run (feedback) through map(). Started later, for
    that other work only or after workers died, they are spawned: by then the command may
    have threads.

    A worker that dies (the machine's doing, an out-of-memory kill: none runs student code)
    breaks its pool, which concurrent.futures tells (multiprocessing's Pool would wait for
    its task for ever): what was not finished goes to a new pool.
    """

    def __init__(self, jobs, limits=Limits(), first_lesson=None, template=None):
        """first_lesson: start warm, each worker with a kernel for that lesson booting (None:
        nothing to grade here yet). template: one already started
        (autograder.run.template.started), with its runtime root and font cache; the workers
        own it from here."""
        self.limits, self.template, self.pool = limits, template, None
        self.jobs = jobs or os.cpu_count() or 1  # as multiprocessing's Pool counts them
        if template is not None:
            self.runtime_root, self.font_cache = template.runtime_root, template.font_cache
        else:
            self.runtime_root = new_runtime_root()
            self.font_cache = build_font_cache(os.path.join(self.runtime_root, "matplotlib"))
        if first_lesson:
            self._start(first_lesson)
        elif template is not None:  # nothing to grade here: it is not needed
            template.close()
            self.template = None

    def _start(self, first_lesson=None):
        warm = first_lesson is not None
        if warm and os.geteuid() == 0 and self.template is None:  # one for all: a fork is 15 ms
            self.template = new_template(self.limits, self.font_cache, self.runtime_root)
        context = multiprocessing.get_context("fork" if warm else "spawn")
        started = context.Value("i", 0)  # each worker takes the next number
        # a spawned worker makes a template of its own: a template cannot be sent to it
        arguments = (self.limits, self.font_cache, self.runtime_root)
        arguments += (self.template if warm else None, first_lesson, self.jobs, started)
        arguments += (os.getpid(),)
        gc.freeze()  # the forked workers' collections leave the command's objects alone
        try:
            self.pool = ProcessPoolExecutor(self.jobs, context, _start_worker, arguments)
            if warm:  # its first task forks every worker at once, before any thread starts
                self.pool.submit(int)
        finally:
            gc.unfreeze()

    def template_cpu(self):
        """Core-seconds of the workers' template: its imports, then its forks."""
        return self.template.cpu() if self.template else 0.0

    def execute(self, tasks):
        """Execute and verify every task (a list, lesson by lesson); yield Outcomes as they
        finish. What is left when workers died POOL_BREAKS times is the grader's failure."""
        if self.pool is None:
            self._start(first_lesson=tasks[0].key[1])
        run = functools.partial(
            run_task, limits=self.limits, font_cache=self.font_cache, runtime_root=self.runtime_root
        )
        left = list(tasks)
        for _ in range(POOL_BREAKS):
            futures = {self.pool.submit(run, task): task for task in left}
            given = set()
            try:
                for future in as_completed(futures):
                    outcome = future.result()
                    given.add(future)
                    yield outcome
                return
            except BrokenProcessPool:
                done = [f for f in futures if f not in given and f.done() and not f.exception()]
                for future in done:
                    yield future.result()
                left = [task for f, task in futures.items() if f not in given and f not in done]
                self._end_pool()
                self._start()
        lost = RuntimeError(f"grading workers died {POOL_BREAKS} times while it was graded")
        for task in left:
            verdicts, problem, notebook_json = grader_failed_on(task, lost)
            yield Outcome(task.key, notebook_json, problem, verdicts, 0.0)

    def map(self, fn, items):
        if self.pool is None:
            self._start()
        try:
            return list(self.pool.map(fn, items))
        except BrokenProcessPool:  # once more, on new workers
            self._end_pool()
            self._start()
            return list(self.pool.map(fn, items))

    def _end_pool(self):
        """End the workers at once (concurrent.futures would wait for their tasks)."""
        for process in list((self.pool._processes or {}).values()):
            process.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = None

    def close(self):
        """End the workers, and with them every kernel, child and template."""
        if self.pool is not None:
            self._end_pool()
        if self.template is not None:
            self.template.close()
        shutil.rmtree(self.runtime_root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
