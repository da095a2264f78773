"""A seccomp filter that closes the channels sandboxes could share through the kernel.

Sandboxes graded at the same time see some of the same files (read-only binds of the Python
installation and the helper package), so whatever the kernel keeps per file, not per
sandbox, could carry bits from one student to another: locks (flock, fcntl's record locks
and leases, also on a file opened read-only), inotify and fanotify watches, and which pages
of a file are in the page cache (mincore, cachestat, and readahead or fadvise to put them
there or drop them), and the host's load and memory figures (sysinfo, as /proc would show
them). A student's code has no use for any of them, nor for what would reach
outside the sandbox's namespaces (ptrace, another process's memory, perf, bpf, io_uring,
keyrings, new namespaces): each fails with EPERM. Everything else is allowed.

The filter is classic BPF, built here for the machine's architecture (x86_64 or aarch64),
and installed by the template's forks with prctl, or given to bubblewrap (--seccomp FD).
"""

import ctypes
import errno
import os
import platform
import struct

# struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8 i (low half first)
_NR, _ARCH, _ARG1 = 0, 4, 24
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_ALLOW, _KILL = 0x7FFF0000, 0x80000000
_DENY = 0x00050000 | errno.EPERM  # SECCOMP_RET_ERRNO
_NO_SUCH_CALL = 0x00050000 | errno.ENOSYS  # clone3: glibc falls back to clone, checked below
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
CLONE_NAMESPACES = 0x7E020000  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
X32_BIT = 0x40000000

# fcntl commands that lock or watch a file: F_GETLK, F_SETLK, F_SETLKW, the OFD locks,
# F_SETLEASE, F_GETLEASE, F_NOTIFY
LOCKING_FCNTL = (5, 6, 7, 36, 37, 38, 1024, 1025, 1026)

SPECIAL = ("fcntl", "clone", "clone3")  # allowed, or not, by their arguments

# fmt: off
# the audit architecture, and the numbers of the calls denied and of the SPECIAL ones
ARCHITECTURES = {
    "x86_64": (
        0xC000003E,
        {
            "flock": 73, "inotify_init": 253, "inotify_init1": 294, "inotify_add_watch": 254,
            "inotify_rm_watch": 255, "fanotify_init": 300, "fanotify_mark": 301, "mincore": 27,
            "cachestat": 451, "readahead": 187, "fadvise64": 221, "ptrace": 101,
            "process_vm_readv": 310, "process_vm_writev": 311, "perf_event_open": 298,
            "userfaultfd": 323, "bpf": 321, "kcmp": 312, "add_key": 248, "request_key": 249,
            "keyctl": 250, "io_uring_setup": 425, "io_uring_enter": 426,
            "io_uring_register": 427, "unshare": 272, "setns": 308, "mount": 165,
            "umount2": 166, "pivot_root": 155, "open_by_handle_at": 304,
            "name_to_handle_at": 303, "sysinfo": 99, "fcntl": 72, "clone": 56, "clone3": 435,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {
            "flock": 32, "inotify_init1": 26, "inotify_add_watch": 27, "inotify_rm_watch": 28,
            "fanotify_init": 262, "fanotify_mark": 263, "mincore": 232, "cachestat": 451,
            "readahead": 213, "fadvise64": 223, "ptrace": 117, "process_vm_readv": 270,
            "process_vm_writev": 271, "perf_event_open": 241, "userfaultfd": 282, "bpf": 280,
            "kcmp": 272, "add_key": 217, "request_key": 218, "keyctl": 219,
            "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
            "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41,
            "open_by_handle_at": 265, "name_to_handle_at": 264, "sysinfo": 179, "fcntl": 25,
            "clone": 220,
            "clone3": 435,
        },
    ),
}
# fmt: on


def _insn(code, k, jt=0, jf=0):
    return struct.pack("HBBI", code, jt, jf, k)


def _returns_if(value, verdict):
    """If the accumulator is value, return verdict; else go on."""
    return [_insn(_JEQ_K, value, 0, 1), _insn(_RET_K, verdict)]


def program():
    """The filter's instructions (struct sock_filter[]) for this machine, or None when its
    architecture is not one of ARCHITECTURES."""
    machine = platform.machine()
    if machine not in ARCHITECTURES:
        return None
    arch, calls = ARCHITECTURES[machine]
    code = [_insn(_LD_W_ABS, _ARCH), _insn(_JEQ_K, arch, 1, 0), _insn(_RET_K, _KILL)]
    code += [_insn(_LD_W_ABS, _NR)]
    if machine == "x86_64":  # the x32 calls are the same calls under other numbers
        code += [_insn(_JGE_K, X32_BIT, 0, 1), _insn(_RET_K, _DENY)]
    for name, number in calls.items():
        if name not in SPECIAL:
            code += _returns_if(number, _DENY)
    code += _returns_if(calls["clone3"], _NO_SUCH_CALL)  # its flags are behind a pointer
    # fcntl and clone: allowed but for the commands and flags above
    code += [_insn(_JEQ_K, calls["fcntl"], 0, 2 * len(LOCKING_FCNTL) + 2)]
    code += [_insn(_LD_W_ABS, _ARG1)]
    for command in LOCKING_FCNTL:
        code += _returns_if(command, _DENY)
    code += [_insn(_RET_K, _ALLOW)]
    code += [_insn(_JEQ_K, calls["clone"], 0, 4), _insn(_LD_W_ABS, 16)]  # clone's flags
    code += [_insn(0x45, CLONE_NAMESPACES, 0, 1), _insn(_RET_K, _DENY)]  # jset
    code += [_insn(_RET_K, _ALLOW), _insn(_RET_K, _ALLOW)]
    return b"".join(code)


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def install():
    """Filter every later system call of this process and what it starts (no_new_privs must
    be set). Returns whether a filter was installed."""
    code = program()
    if code is None:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    fprog = _Program(len(code) // 8, code)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
    return True


def program_file():
    """A descriptor to read the filter from, for bubblewrap's --seccomp, or None."""
    code = program()
    if code is None:
        return None
    read, write = os.pipe()
    os.write(write, code)  # a few hundred bytes: the pipe holds them
    os.close(write)
    return read
