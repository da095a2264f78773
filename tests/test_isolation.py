"""Two sandboxes that run at the same time share no channel, and every bound binds per sandbox.

These are the properties of sandboxes forked from a template (grading as root): the seccomp
filter (autograder.run.seccomp), a /proc of the sandbox's own processes, bounded tmpfs
mounts, and per-sandbox cgroups with a CPU of their own (autograder.run.cgroups). Each probe
is a student's code trying a channel as a sender or a receiver would; none may work.
"""

import os
import threading

import pytest

from autograder.run import answer_key
from autograder.run.cgroups import Groups
from autograder.run.sandbox import Limits, Sandbox, build_font_cache
from autograder.run.template import Template
from tests.test_sandbox import FAST, run_sandboxed

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="templates are used when grading as root"),
]

# what a student would use to pass a bit to a neighbour that sees the same files
CHANNELS = """
import ctypes, errno, fcntl, mmap, os, socket, struct
import numpy
libc = ctypes.CDLL(None, use_errno=True)
shared = numpy.__file__  # the same file in every sandbox

def attempt(name, call):
    try:
        result = call()
        if isinstance(result, int) and result < 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        print(name, "open")
    except OSError as exc:
        print(name, "closed", errno.errorcode.get(exc.errno, exc.errno))

fd = os.open(shared, os.O_RDONLY)
attempt("flock", lambda: fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB))
attempt("fcntl lock", lambda: fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB))
ofd = struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 0, 0)
attempt("ofd lock", lambda: fcntl.fcntl(fd, 37, ofd))
attempt("lease", lambda: fcntl.fcntl(fd, 1024, fcntl.F_RDLCK))
attempt("inotify", lambda: libc.inotify_init1(0))
attempt("fanotify", lambda: libc.fanotify_init(0, 0))
page = mmap.mmap(-1, 4096)  # which pages of a shared file are cached: asked the same way
address = ctypes.c_void_p(ctypes.addressof(ctypes.c_char.from_buffer(page)))
vector = ctypes.create_string_buffer(1)
attempt("mincore", lambda: libc.mincore(address, ctypes.c_size_t(4096), vector))
attempt("readahead", lambda: libc.readahead(fd, ctypes.c_longlong(0), ctypes.c_size_t(4096)))
attempt("fadvise", lambda: os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED))
attempt("user namespace", lambda: libc.unshare(0x10000000))
attempt("ptrace", lambda: libc.ptrace(16, 1, 0, 0))
# a futex is keyed by the file when it is not private: a library's page is the same in all
library = mmap.mmap(fd, 4096, access=mmap.ACCESS_COPY)  # never written: the file's own page
word = ctypes.c_void_p(ctypes.addressof(ctypes.c_char.from_buffer(library)))
futex = {"x86_64": 202, "aarch64": 98}[os.uname().machine]
attempt("shared futex", lambda: libc.syscall(futex, word, 1, 1, 0, 0, 0))  # FUTEX_WAKE
attempt("VM socket", lambda: socket.socket(40, socket.SOCK_STREAM))
attempt("uevent netlink", lambda: socket.socket(16, socket.SOCK_RAW, 15))
attempt("RWF_NOWAIT read", lambda: os.preadv(fd, [bytearray(4096)], 0, 8))
attempt("statfs", lambda: os.statvfs("/usr"))
attempt("pidfd", lambda: os.pidfd_open(os.getpid()))
attempt("memfd", lambda: os.memfd_create("x"))
attempt("a call off the allowlist", lambda: libc.personality(0xFFFFFFFF))  # only asks
attempt("terminal", lambda: os.open("/dev/ptmx", os.O_RDWR))
for figure in ("loadavg", "meminfo", "stat", "uptime", "pressure", "vmstat", "diskstats",
               "self/pagemap", "self/smaps"):
    print(f"/proc/{figure}", "open" if os.path.exists(f"/proc/{figure}") else "closed")
attempt("getloadavg", os.getloadavg)
attempt("sysinfo", lambda: libc.sysinfo(ctypes.create_string_buffer(128)))
print("cpus", sorted(os.sched_getaffinity(0)))
try:
    os.sched_setaffinity(0, set(range(os.cpu_count() or 64)) | {0, 1})
except OSError:
    pass
print("cpus after asking for all", sorted(os.sched_getaffinity(0)))
"""


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    runtime = tmp_path_factory.mktemp("runtime")
    runtime.chmod(0o755)
    font_cache = build_font_cache(tmp_path_factory.mktemp("matplotlib"))
    template = Template(Sandbox(answer_key.template_view(font_cache), FAST, runtime))
    if not template.groups.available:
        template.close()
        pytest.skip("this machine does not let root make cgroups")
    yield template, runtime
    template.close()


def test_two_sandboxes_at_once_share_no_channel(template):
    template, runtime = template
    cpus = sorted(os.sched_getaffinity(0))
    reports = {}

    def probe(cpu):
        reports[cpu] = run_sandboxed(CHANNELS, runtime, template, cpus={cpu}).stdout

    threads = [threading.Thread(target=probe, args=(cpu,)) for cpu in cpus[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == min(2, len(cpus))
    for cpu, report in reports.items():
        lines = report.splitlines()
        channels = [line for line in lines if not line.startswith("cpus")]
        assert len(channels) == 31, report
        assert all(" closed" in line for line in channels), report
        # its own CPU, which it cannot leave for its neighbour's
        assert f"cpus [{cpu}]" in lines and f"cpus after asking for all [{cpu}]" in lines, report


def test_a_sandbox_is_bounded_as_a_whole(template):
    template, runtime = template
    limits = Limits(
        cell_seconds=20,
        notebook_seconds=40,
        memory_bytes=1024**3,
        disk_bytes=8 * 1024**2,
        inodes=500,
    )
    code = (
        "import os\n"
        "try:\n"
        "    for i in range(4):  # 4 files of 3 MiB: each is allowed, all together are not\n"
        "        open(f'/tmp/fill{i}', 'wb').write(b'x' * (3 * 1024**2))\n"
        "except OSError as exc:\n"
        "    print('/tmp full', exc.errno)\n"
        "made = 0\n"
        "try:\n"
        "    for made in range(5000):\n"
        "        open(f'/tmp/n{made}', 'w').close()\n"
        "except OSError as exc:\n"
        "    print('inodes', made, exc.errno)\n"
        # four processes of 400 MB each: each allowed alone, together over the sandbox's 1 GiB
        # (forked: the sandbox makes no pipe once its student code runs)
        "import time\n"
        "children = []\n"
        "for _ in range(4):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        b = bytearray(400 * 1024**2)\n"
        "        b[::4096] = b'x' * len(b[::4096])\n"
        "        time.sleep(20)\n"
        "        os._exit(0)\n"
        "    children.append(pid)\n"
        "time.sleep(5)  # each has held its memory, or was killed\n"
        "print('alive', sum(os.waitpid(c, os.WNOHANG) == (0, 0) for c in children))\n"
        "for c in children:\n"
        "    os.kill(c, 9)\n"
    )
    lines = run_sandboxed(code, runtime, template, limits=limits).stdout.splitlines()
    assert "/tmp full 28" in lines, lines
    inodes = next(line for line in lines if line.startswith("inodes")).split()
    assert int(inodes[1]) < 500 and inodes[2] == "28", lines
    alive = next(line for line in lines if line.startswith("alive")).split()
    assert int(alive[1]) <= 2, lines  # the kernel killed what was over the sandbox's memory


def test_a_sandboxs_cgroups_are_gone_with_it(template):
    template, runtime = template
    before = {c: set(p.iterdir()) for c, p in template.groups.parents.items()}
    run_sandboxed("print('hello')", runtime, template)
    after = {c: set(p.iterdir()) for c, p in template.groups.parents.items()}
    assert before == after


def test_groups_are_not_made_where_root_cannot(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert not Groups().available
