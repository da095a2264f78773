"""Files written whole or not at all.

A run may be killed at any instant (a reboot, an out-of-memory kill, a closed SSH session),
and the next one trusts what it finds: a result, a page, a CSV file. Each is written beside
its place, flushed to the disk, then renamed over it, so that it is either the old file or
the new one, never half of one.
"""

import os
from pathlib import Path


def write_whole(path, data):
    """Write data (str, as UTF-8, or bytes) to path, whole or not at all."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)
