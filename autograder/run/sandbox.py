"""Running student code with bubblewrap: no network, no writes outside a scratch folder, limits.

Every process that runs student code (the grading kernels, the trusted runner's children)
is started through `sandboxed(argv, ...)`. The whole file system is mounted read-only, the
folders with other students' work, the grading outputs and the other processes' scratch
folders are hidden behind empty tmpfs mounts, and only its own scratch folder is writable.
The process gets its own network namespace (loopback only, nothing listening), its own PID
namespace, and rlimits on address space and CPU time.
"""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here: grading must not go on unsafely."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 * 1024**3  # address space of one student process
    cpu_seconds: int = 300  # CPU time of one student process (a whole notebook)
    cell_seconds: int = 30  # wall-clock time of one cell
    notebook_seconds: int = 240  # wall-clock time of one whole notebook


def require_bubblewrap():
    """Fail loudly, with the fix, when the sandbox cannot start."""
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: run `make system-deps` "
            "(Debian package `bubblewrap`); student code is never run unsandboxed"
        )
    probe = subprocess.run(
        ["bwrap", "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap cannot create its namespaces here: {probe.stderr}")


def sandbox_env(scratch):
    """The environment of a sandboxed process: everything it may write points into scratch."""
    scratch = str(scratch)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    return {
        **keep,
        "HOME": scratch,
        "TMPDIR": scratch,
        "MPLCONFIGDIR": os.path.join(scratch, ".matplotlib"),
        "IPYTHONDIR": os.path.join(scratch, ".ipython"),
        "JUPYTER_RUNTIME_DIR": scratch,
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def sandboxed(argv, scratch, hidden=(), limits=Limits()):
    """The command line that runs argv inside the sandbox.

    Inputs:
    - argv: the command to run, e.g. [sys.executable, "-m", "ipykernel_launcher", ...]
    - scratch: the one folder the process may write (and where it starts)
    - hidden: folders replaced by empty ones inside the sandbox (other submissions, outputs)
    - limits: memory and CPU limits
    """
    scratch = str(Path(scratch).resolve())
    # /tmp stays visible (read-only): the course and its Python may well live there
    command = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for folder in hidden:
        command += ["--tmpfs", str(Path(folder).resolve())]
    command += ["--bind", scratch, scratch, "--chdir", scratch]
    command += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent"]
    command += ["--new-session", "--"]
    command += ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}"]
    return command + list(argv)


def python_in_sandbox():
    """The interpreter students' code runs on: this one, with the course installed."""
    return sys.executable
