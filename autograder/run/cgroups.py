"""Control groups: memory, processes and CPUs for each sandbox as a whole, where root may make them.

Per-process limits (autograder.run.sandbox.Limits) bound what one process does; a sandbox
is several (a kernel and what it starts), and its tmpfs mounts are memory too. So when the
grading runs as root on a machine whose cgroup v1 hierarchies are writable, each sandbox is
put, before its student code runs, into a group of its own that bounds:

- memory: every process of the sandbox together, its tmpfs files included;
- pids: its processes and threads together;
- cpuset: the CPUs of the worker that runs it. Workers that run at the same time use
  different CPUs (when there are no more of them than CPUs), so that one student's busy
  threads neither slow another student's notebook nor signal to it through its timing.

Where groups cannot be made (not root, a cgroup v2-only machine, a read-only /sys/fs/cgroup)
`Groups.available` is False and the per-process limits are the only ones (README, *What
grading guarantees*).
"""

import contextlib
import os
import time
import uuid
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "pids", "cpuset")


def _own_paths():
    """{controller: this process's group in that controller's v1 hierarchy}."""
    paths = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            for name in names.split(","):
                if name in CONTROLLERS and (ROOT / name).is_dir():
                    paths[name] = ROOT / name / path.lstrip("/")
    return paths


class Groups:
    """The groups of one grading run: a parent per controller, a child per sandbox."""

    def __init__(self):
        self.parents = {}
        own = _own_paths()
        if os.geteuid() != 0 or set(own) != set(CONTROLLERS):
            return
        name = f"gradlab-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            for controller, path in own.items():
                parent = path / name
                parent.mkdir()
                self.parents[controller] = parent
            _inherit_cpuset(own["cpuset"], self.parents["cpuset"])
        except OSError:
            self.close()  # half made is not made: no groups at all

    @property
    def available(self):
        return bool(self.parents)

    def join(self, pid, memory_bytes, processes, cpus=None):
        """Put process pid (before it forks anything) into new groups of its own; return
        them, to be removed once the sandbox has ended."""
        name = uuid.uuid4().hex[:12]
        group = {c: parent / name for c, parent in self.parents.items()}
        for path in group.values():
            path.mkdir()
        _inherit_cpuset(self.parents["cpuset"], group["cpuset"])
        if cpus:
            (group["cpuset"] / "cpuset.cpus").write_text(",".join(map(str, sorted(cpus))))
        (group["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
        (group["pids"] / "pids.max").write_text(str(processes))
        for path in group.values():
            (path / "cgroup.procs").write_text(str(pid))
        return group

    @staticmethod
    def leave(group):
        """Remove a sandbox's groups, once every process of it has ended."""
        for path in group.values():
            _remove(path)

    def close(self):
        for parent in self.parents.values():
            for child in parent.iterdir() if parent.is_dir() else ():
                if child.is_dir():
                    _remove(child)
            _remove(parent)
        self.parents = {}


def _remove(group, seconds=2.0):
    """Remove a group; a process killed a moment ago may still be leaving it (EBUSY), and a
    group left behind is one more on the machine for every sandbox of every run."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)


def _inherit_cpuset(parent, child):
    """A v1 cpuset starts empty: give it its parent's CPUs and memory nodes."""
    for name in ("cpuset.cpus", "cpuset.mems"):
        (child / name).write_text((parent / name).read_text().strip() or "0")
