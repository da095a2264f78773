"""Where a grading run spends its CPU: core-seconds per phase, written to OUT/timings.json.

Core-seconds, not wall time: on two busy cores a phase's wall time says little, its CPU time
says what it costs. The grading command's own phases are measured here (this process and the
processes it waited for); each notebook's phases are measured by the worker that graded it
and come back in its Outcome (autograder.run.kernels). benchmarks/grading_speed.py prints both.
"""

import contextlib
import json
import os
import resource
import time

import psutil

from autograder.files import write_whole


def process_cpu():
    """CPU seconds of this process and of every child it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class ProcessCPU:
    """The CPU seconds of one process tree, read cheaply and often (once per cell): the tree
    is found once, then each reading is one /proc file per process."""

    def __init__(self, pid):
        try:
            root = psutil.Process(pid)
            self.processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            self.processes = []

    def __call__(self):
        total = 0.0
        for process in self.processes:
            with contextlib.suppress(psutil.Error):
                t = process.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        return total


def tree_cpu(pid):
    """CPU seconds of process pid and its descendants, alive or waited for; 0 once it is gone."""
    return ProcessCPU(pid)()


class Costs:
    """Core-seconds and wall seconds of the grading command's phases, in the order run."""

    def __init__(self):
        self.core, self.wall = {}, {}
        # what the process spent before grading began: the interpreter and its imports
        self.core["process start and imports"] = process_cpu()

    @contextlib.contextmanager
    def phase(self, name):
        cpu, started = process_cpu(), time.monotonic()
        try:
            yield
        finally:
            self.core[name] = self.core.get(name, 0.0) + process_cpu() - cpu
            self.wall[name] = self.wall.get(name, 0.0) + time.monotonic() - started

    def write(self, path, outcomes):
        """OUT/timings.json: the command's phases and the notebooks' phases summed over the
        notebooks run this time (stored results cost nothing)."""
        notebooks = {}
        for outcome in outcomes:
            for name, seconds in outcome.phases.items():
                notebooks[name] = notebooks.get(name, 0.0) + seconds
        own = resource.getrusage(resource.RUSAGE_SELF)
        record = {
            # this process alone, none of its children (workers, templates) counted
            "command_own_core_seconds": own.ru_utime + own.ru_stime,
            "command_core_seconds": self.core,
            "command_wall_seconds": self.wall,
            "notebooks_run": len(outcomes),
            "notebook_core_seconds": notebooks,
            "cores": os.cpu_count(),
        }
        write_whole(path, json.dumps(record, indent=1) + "\n")
