"""Sandboxed processes forked from a warm template, instead of each started from nothing.

Started from nothing, a sandboxed kernel costs about 1.2 core-seconds and a trusted run's
child 0.8 before the first line of a notebook runs: an interpreter, numpy, matplotlib,
IPython, ipykernel (OUT/timings.json). A template is one sandboxed process per worker
(bubblewrap, as autograder.run.sandbox builds it) that imports all of that once, then forks
a process for each kernel and child. Before any student code runs, each fork makes itself
what a sandbox started from nothing is:

- namespaces of its own (mount, PID, network, IPC, UTS), no /proc and no terminal: it sees
  no other process, reaches no other sandbox, and whatever it starts ends with it;
- fresh tmpfs for its bounded scratch folder, /tmp and /dev/shm, and of the runtime root
  only its own folder;
- the files its View hides emptied (the answer key, the tools its lesson does not give);
- a uid of its own, no capabilities (bounding set included), no_new_privs, and the limits.

The template keeps root's capabilities inside its own sandbox, for that setup only: it never
runs student code, and a fork keeps none of its descriptors. It is used when grading as root,
where each sandbox gets a uid of its own; as an instructor's own uid, every sandboxed process
is started from nothing (autograder.run.sandbox).

Each fork is three processes: one that enters the new namespaces (a PID namespace takes the
next child of whoever entered it), the namespace's first process (it sets up the sandbox,
reports to the worker and reaps), and the kernel or child itself.
"""

import contextlib
import ctypes
import gc
import json
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading

import psutil

from autograder.run import answer_key, seccomp
from autograder.run.cgroups import Groups
from autograder.run.sandbox import (
    SCRATCH,
    SHM_BYTES,
    Sandbox,
    build_font_cache,
    new_runtime_root,
)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
ROLES = ("kernel", "child")
# a grading kernel keeps no history file and draws no figure: a figure is shown by its
# one-line description (in the feedback too), which saves 0.5 core-s per notebook that plots;
# the course's interactive figures honour it too (gradlab.widgets), 0.25 core-s more
KERNEL_OPTIONS = ("--HistoryManager.hist_file=:memory:", "--InlineBackend.figure_formats=set()")

_libc = ctypes.CDLL(None, use_errno=True)
# read here, where /proc shows it: a sandbox has no /proc
with open("/proc/sys/kernel/cap_last_cap") as _f:
    LAST_CAPABILITY = int(_f.read())


def _call(name, *args):
    if getattr(_libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}{args[:2]}: {os.strerror(errno)}")


def die_with_parent(parent=None):
    """Be killed (SIGKILL) when the process that started this one ends, however it ends.

    parent: its pid, for a process that sets this only after its imports (a spawned one):
    should the parent have ended before, this process ends now (checked once the death
    signal is set, so that no instant is left uncovered)."""
    _call("prctl", PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def _mount(source, target, fstype=None, flags=0, options=None):
    encode = lambda s: None if s is None else s.encode()  # noqa: E731
    _call("mount", encode(source), encode(target), encode(fstype), flags, encode(options))


# ---- inside the template ------------------------------------------------------------------


def _isolate(request):
    """Run in the new namespaces' first process, as root: the sandbox's file system."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing from here reaches the template
    os.chdir("/")
    # taken before the tmpfs below cover them
    own_runtime = os.open(request["runtime"], os.O_PATH)
    shown = {path: os.open(path, os.O_PATH) for path in request["shown"]}
    fresh = (SCRATCH, "/tmp", "/dev/shm")
    # visible folders inside those (a course cloned into /tmp), each with what is bound in it
    covered = [p for p in request["visible"] if any(_inside(p, f) for f in fresh)]
    kept = {p: os.open(p, os.O_PATH) for p in covered if not any(_inside(p, q) for q in covered)}
    flags = MS_NOSUID | MS_NODEV
    # every writable mount is bounded in bytes and in files (a tmpfs is memory, and by default
    # takes millions of inodes); the sandbox's memory cgroup bounds them together
    bounds = f"nr_inodes={request['inodes']},mode=1777"
    _mount("tmpfs", SCRATCH, "tmpfs", flags, f"size={request['disk_bytes']},{bounds}")
    _mount("tmpfs", "/tmp", "tmpfs", flags, f"size={request['disk_bytes']},{bounds}")
    _mount("tmpfs", "/dev/shm", "tmpfs", flags, f"size={SHM_BYTES},{bounds}")
    for path, fd in kept.items():
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    # of the runtime root, only this sandbox's own folder (a root in /tmp went with it)
    root = os.path.dirname(request["runtime"])
    os.makedirs(root, mode=0o755, exist_ok=True)
    _mount("tmpfs", root, "tmpfs", flags, "mode=755")
    os.mkdir(request["runtime"])
    _mount(f"/proc/self/fd/{own_runtime}", request["runtime"], None, MS_BIND)
    emptied = [root]
    for path in request["hidden"]:
        if not os.path.lexists(path):
            continue  # under a fresh tmpfs and not kept: already gone
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", flags, "mode=755")
            emptied.append(path)
        else:
            _mount("/dev/null", path, None, MS_BIND)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    for path, fd in shown.items():  # files bound again inside an emptied folder
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    for path in emptied:
        _mount(None, path, None, MS_REMOUNT | MS_RDONLY | flags)
    for fd in (own_runtime, *shown.values(), *kept.values()):
        os.close(fd)
    # no /proc and no terminals: /proc shows the host's figures (load, memory, pressure) and,
    # for each process, which pages of a shared file it maps and whether alone (pagemap,
    # smaps), all moved by a neighbour's work; the template's terminals are shared by all
    # its forks. Student code and the kernel need neither.
    for path in ("/proc", "/dev/pts"):
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", flags | MS_NOEXEC | MS_RDONLY, "size=4k,nr_inodes=2")


def _inside(path, folder):
    """path lies below folder (not merely beside it, with a longer name)."""
    return path != folder and path.startswith(folder.rstrip("/") + "/")


def _drop_privileges(request):
    """The sandbox's uid, no capabilities, no way to gain any, and the limits."""
    for cap in range(request["last_capability"] + 1):
        _call("prctl", PR_CAPBSET_DROP, cap, 0, 0, 0)
    uid = request["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # from root to a uid of its own: every capability is gone
    _call("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _call("prctl", PR_SET_DUMPABLE, 1, 0, 0, 0)  # as after exec
    seccomp.install()
    limits = {
        resource.RLIMIT_AS: request["memory_bytes"],
        resource.RLIMIT_CPU: request["cpu_seconds"],
        resource.RLIMIT_FSIZE: request["disk_bytes"],
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_NPROC: request["processes"],
    }
    for limit, value in limits.items():
        resource.setrlimit(limit, (value, value))
    os.chdir(SCRATCH)
    os.environ.clear()
    os.environ.update(request["env"])
    os.makedirs(request["env"]["MPLCONFIGDIR"], exist_ok=True)


def _run_role(request, fds):
    """The kernel or the trusted run's child, in the fork that became a sandbox."""
    devnull = os.open(os.devnull, os.O_RDWR)
    if request["role"] == "child":
        os.dup2(fds[0], 0)
        os.dup2(fds[1], 1)
    else:
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.closerange(3, 1 << 16)  # nothing of the template's, nothing of another sandbox's
    if request["role"] == "child":
        import matplotlib

        from autograder.run import student_child

        matplotlib.use("Agg")
        student_child.main()
    else:
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", request["connection_file"], *KERNEL_OPTIONS])
        app.start()


def _first_process(request, fds):
    """The new PID namespace's first process: set up, report, start the role, reap."""
    die_with_parent()
    report = socket.socket(fileno=fds[0])
    try:
        _isolate(request)
        # the worker puts this process in the sandbox's cgroups before anything is forked
        report.send(b"attach")
        if report.recv(16) != b"go":
            raise RuntimeError("the worker did not attach the sandbox")
        _drop_privileges(request)
        role = os.fork()
    except Exception as exc:
        with contextlib.suppress(OSError):
            report.send(f"{type(exc).__name__}: {exc}".encode())
        os._exit(1)
    if role == 0:
        report.close()
        _run_role(request, fds[1:])
        os._exit(0)
    report.send(b"ok")
    report.close()
    for fd in fds[1:]:
        os.close(fd)
    while True:  # the namespace ends with its role: every process in it is killed then
        done, status = os.wait()
        if done == role:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _fork(request, fds):
    """In a process forked from the template: enter new namespaces and fork their first."""
    try:
        die_with_parent()
        _call("unshare", CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
        first = os.fork()
        if first == 0:
            _first_process(request, fds)
        for fd in fds:
            os.close(fd)
        os.waitpid(first, 0)
    except Exception as exc:
        socket.socket(fileno=fds[0]).send(f"{type(exc).__name__}: {exc}".encode())
    finally:
        os._exit(0)


def serve(control):
    """The template's life: import what kernels and children need, then fork on request.

    What each kernel would otherwise do again is done here once: ipykernel's kernel imports
    its debugger (debugpy, 0.12 core-s), `%matplotlib inline` reads every installed
    package's entry points (0.14 core-s), and with everything imported frozen out of the
    garbage collector, a kernel's collections scan only its own objects (and leave the
    template's pages shared)."""
    import ipykernel.ipkernel
    import ipykernel.kernelapp  # noqa: F401
    import IPython.core.interactiveshell  # noqa: F401
    import ipywidgets  # noqa: F401
    import matplotlib.backends.backend_agg
    import matplotlib.pyplot  # noqa: F401
    import matplotlib_inline.backend_inline  # noqa: F401
    import numpy  # noqa: F401
    from matplotlib.backends.registry import backend_registry

    import autograder.run.student_child  # noqa: F401 (it imports gradlab.checking)
    import gradlab.widgets  # noqa: F401

    backend_registry.resolve_gui_or_backend("inline")
    gc.freeze()

    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 20, 8)
        except ConnectionError:
            return
        if not message:
            return  # the worker is gone
        pid = os.fork()
        if pid == 0:
            control.close()
            _fork(json.loads(message), fds)
        for fd in fds:
            os.close(fd)
        while True:  # reap the forks whose sandboxes ended
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


# ---- on the worker's side -----------------------------------------------------------------


class Forked:
    """A forked sandbox as the worker sees it: its first process (the one whose end ends
    everything in it) through a pidfd, with a Popen's poll, wait and kill, and its pipes."""

    def __init__(self, pid, stdin=None, stdout=None, group=None):
        self.pid, self.stdin, self.stdout, self.stderr = pid, stdin, stdout, None
        self.pidfd = os.pidfd_open(pid)
        self.returncode = None
        self.group = group  # its cgroups, removed once it has ended

    def _ended(self, timeout):
        # poll, not select: select takes no descriptor numbered 1024 or more
        waiting = select.poll()
        waiting.register(self.pidfd, select.POLLIN)
        return bool(waiting.poll(None if timeout is None else max(0, timeout * 1000)))

    def poll(self):
        if self.returncode is None and self._ended(0):
            self.returncode = -signal.SIGKILL  # not our child: its status is not ours to read
            os.close(self.pidfd)
            if self.group:
                Groups.leave(self.group)
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None and not self._ended(timeout):
            raise subprocess.TimeoutExpired("sandbox", timeout)
        return self.poll()

    def send_signal(self, signum):
        # from outside its PID namespace only SIGKILL reaches its first process: any signal
        # ends the sandbox (kernels are interrupted by a message, not a signal)
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    def kill(self):
        self.send_signal(signal.SIGKILL)

    terminate = kill


class Template:
    """A worker's template process; fork() gives a sandboxed kernel or trusted run's child."""

    def __init__(self, sandbox):
        """sandbox: the template's own (its View shows all a fork may be shown)."""
        self.sandbox = sandbox
        self.groups = Groups()  # the forks' cgroups, where this machine lets root make them
        self.runtime_root, self.font_cache = sandbox.runtime_root, sandbox.view.font_cache
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [sys.executable, "-m", "autograder.run.template", str(theirs.fileno())]
        self.process = subprocess.Popen(
            sandbox.command(argv, template=True),
            pass_fds=(theirs.fileno(),),
            env={**sandbox.env(), "MPLBACKEND": "Agg"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        theirs.close()
        self.lock = threading.Lock()  # requests from a worker's threads, one at a time

    def fork(self, role, sandbox, env, connection_file=None):
        """A sandbox of `role` set up as `sandbox` (its uid, runtime folder, View and limits)
        would be started from nothing, with `env`. A child comes with its pipes."""
        assert role in ROLES
        limits, view = sandbox.limits, sandbox.view
        # what the template shows and the sandbox's View does not is emptied too
        unseen = [p for p in self.sandbox.view.visible if p not in view.visible]
        request = {
            "role": role,
            "uid": sandbox.uid,
            "runtime": sandbox.runtime,
            "visible": list(view.visible),
            "hidden": [*unseen, *view.hidden],
            "shown": list(view.shown),
            "env": env,
            "connection_file": connection_file,
            "memory_bytes": limits.memory_bytes,
            "cpu_seconds": limits.cpu_seconds,
            "disk_bytes": limits.disk_bytes,
            "inodes": limits.inodes,
            "last_capability": LAST_CAPABILITY,
            "processes": limits.processes,
        }
        report, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        report.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        fds, ours = [theirs.detach()], []  # closed below, once sent
        if role == "child":
            stdin_r, stdin_w = os.pipe()
            stdout_r, stdout_w = os.pipe()
            fds += [stdin_r, stdout_w]
            ours = [os.fdopen(stdin_w, "wb"), os.fdopen(stdout_r, "rb")]
        with self.lock:  # one message: workers sharing a template never interleave
            socket.send_fds(self.control, [json.dumps(request).encode()], fds)
        for fd in fds:
            os.close(fd)
        group = None
        with report:
            size = socket.CMSG_SPACE(12)  # struct ucred: pid, uid, gid
            message, ancillary, _, _ = report.recvmsg(4096, size)
            try:
                if message == b"attach":
                    (_, _, credentials), *_ = ancillary
                    pid = int.from_bytes(credentials[:4], sys.byteorder)
                    if self.groups.available:
                        group = self.groups.join(
                            pid, limits.memory_bytes, limits.processes, sandbox.cpus
                        )
                    report.send(b"go")
                    message = report.recv(4096)
            except OSError as exc:
                message = f"{type(exc).__name__}: {exc}".encode()
        if message != b"ok":
            for f in ours:
                f.close()
            if group:
                Groups.leave(group)
            reason = message.decode(errors="replace") or "the template is gone"
            raise RuntimeError(f"the sandbox could not be set up: {reason}")
        return Forked(pid, *ours, group=group)

    def cpu(self):
        """Core-seconds the template process itself spent: its imports, then its forks."""
        ours = {}  # its forks run the same command line; sandboxes may end while we look
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.process.pid)
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    if process.cmdline()[1:3] == ["-m", __name__]:
                        ours[process.pid] = process
        for process in ours.values():
            with contextlib.suppress(psutil.Error):
                if process.ppid() not in ours:  # the template, not one of its forks
                    times = process.cpu_times()
                    return times.user + times.system
        return 0.0

    def close(self):
        self.control.close()  # the template ends on its own when its worker goes away...
        if self.process.poll() is None:
            self.process.kill()  # ...or at once here
        self.process.wait()
        self.sandbox.close()
        self.groups.close()


def new_template(limits, font_cache, runtime_root):
    """A template for kernels and children, starting now."""
    return Template(Sandbox(answer_key.template_view(font_cache), limits, runtime_root))


@contextlib.contextmanager
def started(limits):
    """A template starting now, in a runtime root of its own with the font cache in it, and
    gone with them at the end: the grading command starts it before its own imports, which
    it then overlaps."""
    runtime_root = new_runtime_root()
    try:
        font_cache = build_font_cache(f"{runtime_root}/matplotlib")
        template = new_template(limits, font_cache, runtime_root)
        try:
            yield template
        finally:
            template.close()
    finally:
        shutil.rmtree(runtime_root, ignore_errors=True)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))
