"""The environments and the self-study set-up: what a learner who clones the repository gets.

pip (requirements.txt) and conda/Binder (environment.yml) install the same packages, the
helper package's own dependencies among them; `make lab` opens JupyterLab on lessons/ with a
kernel that imports the course; every lesson has its solution notebook.
"""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_client.manager import KernelManager
from packaging.requirements import Requirement
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
LESSONS = REPO / "lessons"
SOLUTIONS = REPO / "solutions"
# conda-forge names that differ from the PyPI ones (none so far)
CONDA_TO_PYPI = {}
# what only conda needs: the interpreter and pip itself
CONDA_ONLY = {"python", "pip"}


def _key(requirement):
    """A requirement as (normalised name, set of version clauses), comparable across files."""
    name = re.sub(r"[-_.]+", "-", requirement.name).lower()
    return name, frozenset(str(spec) for spec in requirement.specifier)


def pip_requirements():
    """The requirements of requirements.txt, and its pip options (such as `-e .`)."""
    packages, options = {}, []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-"):
            options.append(line)
        elif line:
            name, spec = _key(Requirement(line))
            packages[name] = spec
    return packages, options


def conda_requirements():
    """The packages of environment.yml (conda's, and those its `pip:` section installs from
    PyPI), and the options of its `pip:` section."""
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    packages, pip_section = {}, []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            for item in entry.get("pip", []):
                if item.startswith("-"):
                    pip_section.append(item)
                else:  # a package that only PyPI has
                    name, spec = _key(Requirement(item.replace(" ", "")))
                    packages[name] = spec
            continue
        name, spec = _key(Requirement(entry.replace(" ", "")))
        if name not in CONDA_ONLY:
            packages[CONDA_TO_PYPI.get(name, name)] = spec
    return packages, pip_section


def test_environment_yml_and_requirements_name_the_same_packages():
    pip_packages, pip_options = pip_requirements()
    conda_packages, conda_pip = conda_requirements()
    only_pip = sorted(set(pip_packages) - set(conda_packages))
    only_conda = sorted(set(conda_packages) - set(pip_packages))
    assert not only_pip and not only_conda, f"only pip: {only_pip}; only conda: {only_conda}"
    differ = {
        name: (sorted(pip_packages[name]), sorted(conda_packages[name]))
        for name in pip_packages
        if pip_packages[name] != conda_packages[name]
    }
    assert not differ, f"version specifiers differ (pip, conda): {differ}"
    # both install the course's helper package, editable
    assert "-e ." in pip_options and "-e ." in conda_pip


def test_requirements_install_what_the_package_depends_on():
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pip_packages, _ = pip_requirements()
    for dependency in dependencies:
        name, spec = _key(Requirement(dependency))
        assert name in pip_packages, f"{name} is a dependency of the package"
        assert pip_packages[name] == spec, f"{name}: {sorted(spec)} in pyproject.toml"


def test_make_lab_opens_jupyterlab_on_the_lessons():
    # -n: print the commands without running them (and without installing anything)
    result = subprocess.run(
        ["make", "-n", "lab"], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    (command,) = [line for line in result.stdout.splitlines() if re.search(r"jupyter.* lab", line)]
    assert ".venv/bin/jupyter" in command, "the course's own JupyterLab, installed first"
    assert re.search(r"--(notebook-dir|ServerApp\.root_dir)=(\./)?lessons/?(\s|$)", command)


def test_the_student_lab_shows_no_news_and_checks_for_no_update():
    """A student's first launch opens on the lesson, with no pop-up asking about news."""
    from jupyterlab.labapp import LabApp

    settings = json.loads(
        (REPO / "lab" / "jupyter_server_config.d" / "student-lab.json").read_text()
    )
    app = LabApp(config=Config(settings))
    assert app.news_url is None
    assert app.check_for_updates_class.__name__ == "NeverCheckForUpdate"


@pytest.mark.parametrize("lesson", sorted(p.name for p in LESSONS.iterdir() if p.is_dir()))
def test_every_lesson_has_its_solution_notebook(lesson):
    notebooks = sorted(p.name for p in (LESSONS / lesson).glob("*.ipynb"))
    assert notebooks, f"lessons/{lesson} has no notebook"
    for name in notebooks:
        assert (SOLUTIONS / lesson / name).is_file(), f"solutions/{lesson}/{name} is missing"


def test_the_lab_kernel_imports_the_course(tmp_path):
    """The kernel the lessons ask for, started as JupyterLab starts it, imports the course,
    even when the learner has not activated the virtual environment."""
    kernels = {
        nbformat.read(path, as_version=4).metadata.kernelspec.name
        for path in LESSONS.glob("*/*.ipynb")
    }
    assert kernels == {"python3"}, kernels
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.pop("VIRTUAL_ENV", None)
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=env, cwd=str(tmp_path))
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        outputs = []
        code = (
            "import gradlab, gradlab.widgets, autograder, numpy, matplotlib, ipywidgets\n"
            "print(gradlab.__file__)"
        )
        reply = client.execute_interactive(
            code,
            timeout=60,
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert Path("".join(outputs).strip()).is_relative_to(REPO / "gradlab"), outputs


def test_the_gradebook_revision_read_in_process_is_the_one_alembic_prints():
    """nbgrader asks `alembic heads` for it; the course reads it from the same scripts."""
    from nbgrader.dbutil import _temp_alembic_ini

    from autograder.course import alembic_head

    bin_dir = Path(sys.executable).parent
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:
        printed = subprocess.check_output([str(bin_dir / "alembic"), "-c", ini, "heads"], text=True)
    assert printed.split()[0] == alembic_head()
