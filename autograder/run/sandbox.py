"""Running student code with bubblewrap: an empty machine but for Python, least privilege, limits.

Every process that runs student code (the grading kernels, the trusted runner's children) is
started through a `Sandbox`. Its file system is built from nothing: read-only binds of the
system libraries, the Python installation and the course's packages as a `View` lists them
(the answer key hidden), a few files of /etc, and one writable scratch folder on a tmpfs of
bounded size. The grader's home, /root, /tmp, the submissions, the outputs, source/,
solutions/ and tests/ do not exist there.

Run by root (as on a grading server or CI), the process drops to a uid of its own, leased for
its lifetime: no other process on the machine has it, so the process limit counts only its
own processes, and `kill -1` reaches nothing but them. Its own PID namespace ends every
process it started when it ends; it has no network (loopback only, nothing listening).
"""

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCRATCH = "/scratch"  # where a sandboxed process works, inside its sandbox
UIDS = range(61000, 61512)  # Debian leaves 60000-64999 to be allocated by hand
UID_LOCKS = Path(tempfile.gettempdir()) / "gradlab-sandbox-uids"
# the few files of /etc that Python, numpy and matplotlib read
ETC_FILES = ("ld.so.cache", "ld.so.conf", "nsswitch.conf", "localtime", "hosts", "mime.types")
ETC_FOLDERS = ("fonts",)
SHM_BYTES = 16 * 1024**2  # /dev/shm, a tmpfs of its own
FONT_CACHE = "/run/grader/matplotlib"  # where a sandbox finds the font cache, read-only


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here: grading must not go on unsafely."""


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2 * 1024**3  # address space of one student process
    cpu_seconds: int = 300  # CPU time of one student process (a whole notebook)
    cell_seconds: int = 30  # wall-clock time of one cell
    notebook_seconds: int = 240  # wall-clock time of one whole notebook
    disk_bytes: int = 256 * 1024**2  # the scratch folder and /tmp (each a tmpfs), the largest file
    inodes: int = 16384  # files and folders in each writable mount
    processes: int = 64  # processes and threads of one sandbox (its own uid)
    cell_output_bytes: int = 1024**2  # output kept per cell
    notebook_output_bytes: int = 4 * 1024**2  # output kept per notebook


@dataclass(frozen=True)
class View:
    """What a sandboxed process sees besides the system: read-only folders and hidden paths.

    - visible: folders bound read-only at the same path (the Python installation, packages)
    - hidden: folders and files inside those that are emptied (the answer key)
    - shown: files bound again inside a hidden folder (the tools a lesson gives)
    - font_cache: matplotlib's font list, built once by the grader and copied into scratch
      (matplotlib would otherwise rebuild it in every process)
    """

    visible: tuple = ()
    hidden: tuple = ()
    shown: tuple = ()
    font_cache: str | None = None


def python_folders():
    """The folders of this Python installation: the venv and the interpreter it was made from."""
    return tuple(
        dict.fromkeys(
            str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)
        )
    )


def require_bubblewrap():
    """Fail loudly, with the fix, when the sandbox cannot start."""
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: run `make system-deps` "
            "(Debian package `bubblewrap`); student code is never run unsandboxed"
        )
    probe = subprocess.run(
        ["bwrap", *_system_binds(), "--unshare-pid", "--unshare-net", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap cannot create its namespaces here: {probe.stderr}")


def _system_binds():
    """/usr, the top-level links into it (or the folders themselves), and some of /etc."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_FILES + ETC_FOLDERS:
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def _parents(path):
    """Create the folders above path traversable: bwrap would make them private to root."""
    args = []
    for parent in reversed(Path(path).parents[:-1]):
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _lease_uid():
    """(uid, lock file) of a uid no other sandbox on this machine holds; the lock holds it."""
    UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    for uid in UIDS:
        lock = open(UID_LOCKS / str(uid), "w")  # noqa: SIM115 (held for the sandbox's life)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        # a run killed at once frees its leases before its sandboxes have ended: their
        # processes would count against this one's process limit, which is per uid
        if uid not in _uids_running():
            return uid, lock
        lock.close()
    raise SandboxUnavailable(f"all {len(UIDS)} sandbox uids are in use")


def _uids_running():
    """The uids that own a process on this machine now."""
    uids = set()
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit():
                with contextlib.suppress(OSError):  # a process that ended meanwhile
                    uids.add(entry.stat().st_uid)
    return uids


class Sandbox:
    """The place of one sandboxed process: its own uid (as root), scratch and runtime folder.

    The runtime folder (on the grader's side, bound at the same path) is where a kernel
    creates its sockets; `seal()` takes away the right to create anything else there.
    """

    def __init__(self, view, limits, runtime_root, cpus=None):
        """cpus: the CPUs it may run on (its cgroup's cpuset, autograder.run.cgroups), or
        None for all."""
        self.view, self.limits, self.runtime_root, self.cpus = view, limits, runtime_root, cpus
        self.privileged = os.geteuid() == 0
        self.uid, self._lock = _lease_uid() if self.privileged else (os.getuid(), None)
        self.runtime = tempfile.mkdtemp(prefix="sandbox-", dir=runtime_root)
        if self.privileged:
            os.chown(self.runtime, self.uid, self.uid)

    def env(self):
        """The environment of the sandboxed process: everything it may write is in scratch."""
        keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TZ")}
        return {
            **keep,
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": SCRATCH,
            "USER": "student",
            "TMPDIR": SCRATCH,
            "MPLCONFIGDIR": f"{SCRATCH}/.matplotlib",
            "IPYTHONDIR": f"{SCRATCH}/.ipython",
            "JUPYTER_RUNTIME_DIR": self.runtime,
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def command(self, argv, template=False):
        """The command line that runs argv in this sandbox.

        template: argv is a template that forks sandboxes (autograder.run.template): it keeps
        root's capabilities in here to set them up, and sees the whole runtime root.
        """
        limits, view = self.limits, self.view
        command = ["bwrap", *_system_binds()]
        command += ["--dev", "/dev"]
        if template:  # it binds what it shows by /proc/self/fd; its forks have no /proc
            command += ["--proc", "/proc"]
        command += ["--size", str(SHM_BYTES), "--perms", "1777", "--tmpfs", "/dev/shm"]
        command += ["--size", str(limits.disk_bytes), "--perms", "1777", "--tmpfs", SCRATCH]
        command += ["--size", str(limits.disk_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
        for folder in view.visible:
            command += [*_parents(folder), "--ro-bind", folder, folder]
        for path in view.hidden:
            empty = "--tmpfs" if os.path.isdir(path) else "--ro-bind"
            command += [empty, path] if empty == "--tmpfs" else [empty, "/dev/null", path]
        for path in view.shown:
            inside = next(Path(h) for h in view.hidden if Path(path).is_relative_to(h))
            for folder in reversed(Path(path).relative_to(inside).parents[:-1]):
                command += ["--perms", "0755", "--dir", str(inside / folder)]
            command += ["--ro-bind", path, path]
        if view.font_cache:
            command += ["--ro-bind", view.font_cache, FONT_CACHE]
            script = f'mkdir -p "$MPLCONFIGDIR" && cp -r {FONT_CACHE}/. "$MPLCONFIGDIR"/; exec "$@"'
            argv = ["/bin/sh", "-c", script, "sh", *argv]
        runtime = self.runtime_root if template else self.runtime
        command += [*_parents(runtime), "--bind", runtime, runtime]
        command += ["--chdir", SCRATCH]
        # every namespace but the user one: as root, the uid must be a real one of the machine
        command += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
        command += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        if template:
            return [*command, "--", *argv]
        if self.privileged:
            command += ["--", "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}"]
            command += ["--clear-groups", "--no-new-privs", "--inh-caps=-all"]
            command += ["--bounding-set=-all"]
        else:  # an instructor's own uid, in a user namespace of its own
            command[1:1] = ["--unshare-user"]
            command += ["--"]
        command += ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}"]
        command += [f"--fsize={limits.disk_bytes}", "--core=0"]
        if self.privileged:  # the count is per uid: only a uid of its own makes it fair
            command += [f"--nproc={limits.processes}"]
        return [*command, "--", *argv]

    def seal(self):
        """From now on the process can use what it created in the runtime folder, nothing more."""
        if self.privileged:
            os.chown(self.runtime, 0, 0)
        os.chmod(self.runtime, 0o755)

    def close(self):
        shutil.rmtree(self.runtime, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()  # the uid is free again once every process of it has ended


def build_font_cache(folder):
    """Write matplotlib's font list (this process's, built once per machine) into folder, for
    every sandbox to copy instead of rebuilding it; return the folder."""
    from matplotlib import font_manager

    os.makedirs(folder, exist_ok=True)
    name = f"fontlist-v{font_manager.FontManager.__version__}.json"
    font_manager.json_dump(font_manager.fontManager, os.path.join(folder, name))
    return str(folder)


def new_runtime_root(base=None):
    """A new folder, in base or the temporary folder, for the sandboxes' runtime folders.

    Kernels' sockets live in it and a Unix socket's path has at most 107 bytes: a long base
    gives way to /tmp.
    """
    base = base or tempfile.gettempdir()
    root = tempfile.mkdtemp(prefix="grading-", dir=base if len(base) <= 40 else "/tmp")
    os.chmod(root, 0o755)  # sandboxes reach their own runtime folder in it
    return root
