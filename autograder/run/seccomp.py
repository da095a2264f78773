"""A seccomp filter that lets a sandbox make only the system calls student code needs.

Sandboxes graded at the same time run on one kernel, and the kernel keeps much of its state
per machine or per file rather than per sandbox: locks, leases and watches on the files they
all see (the Python installation), which pages of those files are cached, futexes keyed by
a shared file's pages, the port space of some socket families, the host's load, memory and
disk figures. Any of it can carry bits from one student to another. Denying those calls one
by one left open the ones nobody had thought of (a futex on a shared library's page, a
VM-socket port, preadv2's RWF_NOWAIT), so the filter is an allowlist: the calls that the
grading kernel, the trusted run's child and the numerical code of the lessons make (read
off strace of a whole class's grading), and the plain POSIX calls of the same kinds that a
student's Python could make. Every other call fails with ENOSYS, as on a kernel without it,
so that libraries fall back.

Some allowed calls are allowed only with some arguments:

- futex: private futexes only (FUTEX_PRIVATE_FLAG). A shared futex on a file's page is keyed
  by the file, not the process, so two sandboxes mapping the same library would share it;
- socket: Unix, IPv4 and IPv6 sockets (the sandbox has a network of its own, loopback only)
  and route netlink; socketpair: Unix only. Other families (VM sockets among them) keep
  state outside the network namespace;
- clone: no new namespace, no pidfd; clone3 (whose flags are behind a pointer) is ENOSYS
  and glibc falls back to clone;
- fcntl: no locks, leases or directory notifications;
- ioctl: only the few a program asks of its own descriptors (non-blocking, close-on-exec,
  terminal size and mode, bytes readable).

The filter is classic BPF, built here for the machine's architecture (x86_64 or aarch64),
and installed by the template's forks with prctl before any student code runs.
"""

import ctypes
import errno
import platform
import struct

# struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 i (the low half first)
_NR, _ARCH = 0, 4
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL = 0x7FFF0000, 0x80000000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
X32_BIT = 0x40000000

FUTEX_PRIVATE_FLAG = 128
CLONE_PIDFD = 0x00001000
CLONE_NAMESPACES = 0x7E020000  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, NETLINK_ROUTE = 1, 2, 10, 16, 0
# fcntl commands that lock or watch a file: F_GETLK, F_SETLK, F_SETLKW, the OFD locks,
# F_SETLEASE, F_GETLEASE, F_NOTIFY
LOCKING_FCNTL = (5, 6, 7, 36, 37, 38, 1024, 1025, 1026)
# FIONBIO, FIOCLEX, FIONCLEX, TCGETS, TIOCGWINSZ, FIONREAD
IOCTLS = (0x5421, 0x5451, 0x5450, 0x5401, 0x5413, 0x541B)

# allowed only with some arguments (above); every other call of a table below is allowed
CHECKED = ("futex", "socket", "socketpair", "clone", "clone3", "fcntl", "ioctl")

# fmt: off
# the audit architecture, and the number of every call allowed (libseccomp's tables); aarch64
# lacks the old calls that its newer ones (openat, pipe2...) replace
ARCHITECTURES = {
    "x86_64": (0xC000003E, {
        "read": 0, "write": 1, "open": 2, "close": 3, "stat": 4, "fstat": 5, "lstat": 6,
        "poll": 7, "lseek": 8, "mmap": 9, "mprotect": 10, "munmap": 11, "brk": 12,
        "rt_sigaction": 13, "rt_sigprocmask": 14, "rt_sigreturn": 15, "ioctl": 16,
        "pread64": 17, "pwrite64": 18, "readv": 19, "writev": 20, "access": 21, "pipe": 22,
        "select": 23, "sched_yield": 24, "mremap": 25, "msync": 26, "madvise": 28, "dup": 32,
        "dup2": 33, "pause": 34, "nanosleep": 35, "getitimer": 36, "alarm": 37,
        "setitimer": 38, "getpid": 39, "sendfile": 40, "socket": 41, "connect": 42,
        "accept": 43, "sendto": 44, "recvfrom": 45, "sendmsg": 46, "recvmsg": 47,
        "shutdown": 48, "bind": 49, "listen": 50, "getsockname": 51, "getpeername": 52,
        "socketpair": 53, "setsockopt": 54, "getsockopt": 55, "clone": 56, "fork": 57,
        "vfork": 58, "execve": 59, "exit": 60, "wait4": 61, "kill": 62, "uname": 63,
        "fcntl": 72, "fsync": 74, "fdatasync": 75, "truncate": 76, "ftruncate": 77,
        "getdents": 78, "getcwd": 79, "chdir": 80, "fchdir": 81, "rename": 82, "mkdir": 83,
        "rmdir": 84, "link": 86, "unlink": 87, "symlink": 88, "readlink": 89, "chmod": 90,
        "fchmod": 91, "chown": 92, "fchown": 93, "lchown": 94, "umask": 95,
        "gettimeofday": 96, "getrlimit": 97, "getrusage": 98, "times": 100, "getuid": 102,
        "getgid": 104, "geteuid": 107, "getegid": 108, "setpgid": 109, "getppid": 110,
        "getpgrp": 111, "setsid": 112, "getgroups": 115, "getresuid": 118, "getresgid": 120,
        "getpgid": 121, "getsid": 124, "capget": 125, "rt_sigpending": 127,
        "rt_sigtimedwait": 128, "rt_sigsuspend": 130, "sigaltstack": 131, "utime": 132,
        "getpriority": 140, "setpriority": 141, "sched_setparam": 142, "sched_getparam": 143,
        "sched_setscheduler": 144, "sched_getscheduler": 145, "sched_get_priority_max": 146,
        "sched_get_priority_min": 147, "mlock": 149, "munlock": 150, "prctl": 157,
        "arch_prctl": 158, "setrlimit": 160, "gettid": 186, "tkill": 200, "time": 201,
        "futex": 202, "sched_setaffinity": 203, "sched_getaffinity": 204, "epoll_create": 213,
        "getdents64": 217, "set_tid_address": 218, "timer_create": 222, "timer_settime": 223,
        "timer_gettime": 224, "timer_getoverrun": 225, "timer_delete": 226,
        "clock_gettime": 228, "clock_getres": 229, "clock_nanosleep": 230, "exit_group": 231,
        "epoll_wait": 232, "epoll_ctl": 233, "tgkill": 234, "utimes": 235, "waitid": 247,
        "openat": 257, "mkdirat": 258, "fchownat": 260, "futimesat": 261, "newfstatat": 262,
        "unlinkat": 263, "renameat": 264, "linkat": 265, "symlinkat": 266, "readlinkat": 267,
        "fchmodat": 268, "faccessat": 269, "pselect6": 270, "ppoll": 271,
        "set_robust_list": 273, "splice": 275, "tee": 276, "utimensat": 280,
        "epoll_pwait": 281, "signalfd": 282, "timerfd_create": 283, "eventfd": 284,
        "timerfd_settime": 286, "timerfd_gettime": 287, "accept4": 288, "signalfd4": 289,
        "eventfd2": 290, "epoll_create1": 291, "dup3": 292, "pipe2": 293, "preadv": 295,
        "pwritev": 296, "recvmmsg": 299, "prlimit64": 302, "sendmmsg": 307, "getrandom": 318,
        "execveat": 322, "membarrier": 324, "copy_file_range": 326, "statx": 332, "rseq": 334,
        "clone3": 435, "close_range": 436, "faccessat2": 439, "epoll_pwait2": 441,
        "renameat2": 316,
    }),
    "aarch64": (0xC00000B7, {
        "getcwd": 17, "eventfd2": 19, "epoll_create1": 20, "epoll_ctl": 21, "epoll_pwait": 22,
        "dup": 23, "dup3": 24, "fcntl": 25, "ioctl": 29, "mkdirat": 34, "unlinkat": 35,
        "symlinkat": 36, "linkat": 37, "renameat": 38, "truncate": 45, "ftruncate": 46,
        "faccessat": 48, "chdir": 49, "fchdir": 50, "fchmod": 52, "fchmodat": 53,
        "fchownat": 54, "fchown": 55, "openat": 56, "close": 57, "pipe2": 59,
        "getdents64": 61, "lseek": 62, "read": 63, "write": 64, "readv": 65, "writev": 66,
        "pread64": 67, "pwrite64": 68, "preadv": 69, "pwritev": 70, "sendfile": 71,
        "pselect6": 72, "ppoll": 73, "signalfd4": 74, "splice": 76, "tee": 77,
        "readlinkat": 78, "newfstatat": 79, "fstat": 80, "fsync": 82, "fdatasync": 83,
        "timerfd_create": 85, "timerfd_settime": 86, "timerfd_gettime": 87, "utimensat": 88,
        "capget": 90, "exit": 93, "exit_group": 94, "waitid": 95, "set_tid_address": 96,
        "futex": 98, "set_robust_list": 99, "nanosleep": 101, "getitimer": 102,
        "setitimer": 103, "timer_create": 107, "timer_gettime": 108, "timer_getoverrun": 109,
        "timer_settime": 110, "timer_delete": 111, "clock_gettime": 113, "clock_getres": 114,
        "clock_nanosleep": 115, "sched_setparam": 118, "sched_setscheduler": 119,
        "sched_getscheduler": 120, "sched_getparam": 121, "sched_setaffinity": 122,
        "sched_getaffinity": 123, "sched_yield": 124, "sched_get_priority_max": 125,
        "sched_get_priority_min": 126, "kill": 129, "tkill": 130, "tgkill": 131,
        "sigaltstack": 132, "rt_sigsuspend": 133, "rt_sigaction": 134, "rt_sigprocmask": 135,
        "rt_sigpending": 136, "rt_sigtimedwait": 137, "rt_sigreturn": 139, "setpriority": 140,
        "getpriority": 141, "getresuid": 148, "getresgid": 150, "times": 153, "setpgid": 154,
        "getpgid": 155, "getsid": 156, "setsid": 157, "getgroups": 158, "uname": 160,
        "getrlimit": 163, "setrlimit": 164, "getrusage": 165, "umask": 166, "prctl": 167,
        "gettimeofday": 169, "getpid": 172, "getppid": 173, "getuid": 174, "geteuid": 175,
        "getgid": 176, "getegid": 177, "gettid": 178, "socket": 198, "socketpair": 199,
        "bind": 200, "listen": 201, "accept": 202, "connect": 203, "getsockname": 204,
        "getpeername": 205, "sendto": 206, "recvfrom": 207, "setsockopt": 208,
        "getsockopt": 209, "shutdown": 210, "sendmsg": 211, "recvmsg": 212, "brk": 214,
        "munmap": 215, "mremap": 216, "clone": 220, "execve": 221, "mmap": 222,
        "mprotect": 226, "msync": 227, "mlock": 228, "munlock": 229, "madvise": 233,
        "accept4": 242, "recvmmsg": 243, "wait4": 260, "prlimit64": 261, "sendmmsg": 269,
        "renameat2": 276, "getrandom": 278, "execveat": 281, "membarrier": 283,
        "copy_file_range": 285, "statx": 291, "rseq": 293, "clone3": 435, "close_range": 436,
        "faccessat2": 439, "epoll_pwait2": 441,
    }),
}
# fmt: on


def _insn(code, k, jt=0, jf=0):
    return struct.pack("HBBI", code, jt, jf, k)


def _ret(verdict):
    return _insn(_RET_K, verdict)


def _error(number):
    return 0x00050000 | number  # SECCOMP_RET_ERRNO


def _arg(i):
    """Load the low half of argument i."""
    return _insn(_LD_W_ABS, 16 + 8 * i)


def _allow_if_one_of(values, otherwise):
    """If the accumulator is one of values, allow; else return `otherwise`."""
    code = []
    for value in values:
        code += [_insn(_JEQ_K, value, 0, 1), _ret(_ALLOW)]
    return [*code, _ret(otherwise)]


def _checked(name):
    """The instructions that judge a call of `name` by its arguments (each ends in a return)."""
    if name == "futex":  # op: private only
        private = [_arg(1), _insn(_JSET_K, FUTEX_PRIVATE_FLAG, 0, 1)]
        return [*private, _ret(_ALLOW), _ret(_error(errno.ENOSYS))]
    if name == "socket":  # family, and for netlink the protocol
        code = [_arg(0), *_allow_if_one_of((AF_UNIX, AF_INET, AF_INET6), _ALLOW)[:-1]]
        code += [_insn(_JEQ_K, AF_NETLINK, 0, 3), _arg(2), _insn(_JEQ_K, NETLINK_ROUTE, 0, 1)]
        return [*code, _ret(_ALLOW), _ret(_error(errno.EAFNOSUPPORT))]
    if name == "socketpair":
        return [_arg(0), *_allow_if_one_of((AF_UNIX,), _error(errno.EAFNOSUPPORT))]
    if name == "clone":  # flags
        new = [_arg(0), _insn(_JSET_K, CLONE_NAMESPACES | CLONE_PIDFD, 0, 1)]
        return [*new, _ret(_error(errno.EPERM)), _ret(_ALLOW)]
    if name == "clone3":  # its flags are behind a pointer: glibc falls back to clone
        return [_ret(_error(errno.ENOSYS))]
    if name == "fcntl":  # command
        code = [_arg(1)]
        for command in LOCKING_FCNTL:
            code += [_insn(_JEQ_K, command, 0, 1), _ret(_error(errno.EPERM))]
        return [*code, _ret(_ALLOW)]
    if name == "ioctl":  # request
        return [_arg(1), *_allow_if_one_of(IOCTLS, _error(errno.ENOTTY))]
    raise ValueError(name)


def program():
    """The filter's instructions (struct sock_filter[]) for this machine, or None when its
    architecture is not one of ARCHITECTURES."""
    machine = platform.machine()
    if machine not in ARCHITECTURES:
        return None
    arch, numbers = ARCHITECTURES[machine]
    code = [_insn(_LD_W_ABS, _ARCH), _insn(_JEQ_K, arch, 1, 0), _ret(_KILL)]
    code += [_insn(_LD_W_ABS, _NR)]
    if machine == "x86_64":  # the x32 calls are the same calls under other numbers
        code += [_insn(_JGE_K, X32_BIT, 0, 1), _ret(_error(errno.ENOSYS))]
    for name in CHECKED:
        block = _checked(name)
        code += [_insn(_JEQ_K, numbers[name], 0, len(block)), *block]
    for name, number in numbers.items():
        if name not in CHECKED:
            code += [_insn(_JEQ_K, number, 0, 1), _ret(_ALLOW)]
    code += [_ret(_error(errno.ENOSYS))]
    return b"".join(code)


def _sealing_program():
    """A second filter, for a process that has started (its pipes and sockets made): no new
    pipe or socket. Each takes its inode number from a counter the whole machine shares, so
    a sandbox that makes them reads how many its neighbours made."""
    numbers = ARCHITECTURES[platform.machine()][1]
    code = [_insn(_LD_W_ABS, _NR)]
    for name in SEALED:
        if name in numbers:
            code += [_insn(_JEQ_K, numbers[name], 0, 1), _ret(_error(errno.EPERM))]
    return b"".join([*code, _ret(_ALLOW)])


SEALED = ("pipe", "pipe2", "socket", "socketpair")
_installed = False  # this process (or the one it was forked from) installed the filter


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def _load(code):
    libc = ctypes.CDLL(None, use_errno=True)
    fprog = _Program(len(code) // 8, code)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def install():
    """Filter every later system call of this process and what it starts (no_new_privs must
    be set). Returns whether a filter was installed."""
    global _installed
    code = program()
    if code is None:
        return False
    _load(code)
    _installed = True
    return True


def seal():
    """Once a sandboxed process has started and before any student code runs in it (the
    grading kernel's warm-up, the trusted run's child before it loads the student's cells):
    no new pipe or socket from here on. Nothing where install() put no filter."""
    if _installed:
        _load(_sealing_program())
