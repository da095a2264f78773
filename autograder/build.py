"""Generate lessons/ (student versions) and solutions/ (executed) from source/ with nbgrader.

Students are told to work in lessons/, so a build never destroys a file it did not write: a
file that differs both from what the build writes now and from what git holds for it (a
student's work, or an edit of the instructor's) is kept in build-backups/, and the build
says where.
"""

import datetime
import shutil
import subprocess
import tempfile
from pathlib import Path

from nbgrader.converters import GenerateSolution
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    Execute,
    IncludeHeaderFooter,
    LockCells,
)
from nbgrader.utils import capture_log, temp_attrs

from autograder.course import (
    LESSONS,
    REPO,
    SOLUTIONS,
    check_success,
    kernel_config,
    lesson_ids,
    release,
)
from autograder.record.preprocessors import StripSolutionMarkers

BACKUPS = REPO / "build-backups"


def build_lessons(dest=LESSONS, lessons=None, backups=BACKUPS):
    """Write each lesson's student version into dest/<lesson>/ (nbgrader generate_assignment);
    return the copies kept of files that had changes of their own (see _replace_folder)."""
    lessons = lessons or lesson_ids()
    kept = []
    with tempfile.TemporaryDirectory() as root:
        release(root, lessons)
        for lesson in lessons:
            src = Path(root) / "release" / lesson
            kept += _replace_folder(src, Path(dest) / lesson, backups)
    return kept


def build_solutions(dest=SOLUTIONS, lessons=None, execute=True, backups=BACKUPS):
    """Write each lesson's solution notebook into dest/<lesson>/, executed unless told not to.

    nbgrader's generate_solution, with hidden tests and the solution markers removed.
    """
    preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearMarkScheme]
    preprocessors += [ClearHiddenTests, StripSolutionMarkers] + ([Execute] if execute else [])
    lessons = lessons or lesson_ids()
    kept = []
    with tempfile.TemporaryDirectory() as root:
        config = kernel_config(root)
        config.GenerateSolution.preprocessors = preprocessors
        api = release(root, lessons)
        for lesson in lessons:
            with temp_attrs(api.coursedir, assignment_id=lesson):
                app = GenerateSolution(coursedir=api.coursedir, parent=api, config=config)
                app.force = True
                check_success(capture_log(app), f"generate_solution {lesson}")
            src = Path(root) / "solution" / lesson
            kept += _replace_folder(src, Path(dest) / lesson, backups)
    return kept


def _replace_folder(src, dest, backups):
    """dest becomes a copy of src. Every file of dest that differs from src and from git's
    copy of it is first copied into backups/<time>/, at its path; returns those copies."""
    kept = []
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    for path in sorted(p for p in dest.rglob("*") if p.is_file()) if dest.exists() else ():
        new = src / path.relative_to(dest)
        if new.is_file() and new.read_bytes() == path.read_bytes():
            continue
        if _committed(path) == path.read_bytes():
            continue  # what an earlier build wrote, and git has
        copy = backups / stamp / path.resolve().relative_to(dest.parent.parent.resolve())
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
        kept.append(copy)
        print(f"{path}: had changes of its own, kept as {copy}", flush=True)
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, dest)
    return kept


def _committed(path):
    """The bytes git holds for path at HEAD, or None (not in a git work tree, not tracked)."""
    try:
        relative = path.resolve().relative_to(REPO)
    except ValueError:
        return None
    show = subprocess.run(
        ["git", "-C", str(REPO), "show", f"HEAD:{relative.as_posix()}"],
        capture_output=True,
        check=False,
    )
    return show.stdout if show.returncode == 0 else None


def build(lessons=None):
    build_lessons(lessons=lessons)
    build_solutions(lessons=lessons)
