"""Files written whole or not at all, and the CSV files a person writes for the command.

A run may be killed at any instant (a reboot, an out-of-memory kill, a closed SSH session),
and the next one trusts what it finds: a result, a page, a CSV file. Each is written beside
its place, flushed to the disk, then renamed over it, so that it is either the old file or
the new one, never half of one.
"""

import csv
import os
from pathlib import Path


def unicode(text):
    """text with its lone surrogates as "?": a student's text can hold them (JSON's \\u
    escapes, a folder name that is not UTF-8), and no UTF-8 file can."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def write_whole(path, data):
    """Write data (str, as UTF-8, or bytes) to path, whole or not at all."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        f.write(unicode(data).encode("utf-8") if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


def read_csv(path, columns):
    """The rows below the header of an instructor's CSV file, each (its line number, its first
    len(columns) cells, stripped, missing ones ""); raises ValueError when its first line is
    not `columns` (more columns are allowed, and ignored)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    width = len(columns)
    if not rows or [cell.strip() for cell in rows[0][:width]] != columns:
        raise ValueError(f"its first line must be {','.join(columns)}")
    return [
        (number, ([cell.strip() for cell in row] + [""] * width)[:width])
        for number, row in enumerate(rows[1:], start=2)
    ]
