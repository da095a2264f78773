"""The answer key: what student code may not reach in the trusted run, and what it may.

- gradlab.exercises holds the trusted references and the checks: never visible.
- gradlab.numeric and gradlab.tools.* are answers to some lesson's exercises that later
  lessons give as tools: visible only in a lesson whose setup cell imports them.
- the rest of gradlab (checking, compare, inputs, data, widgets) is student-facing.

The files of what is not visible are emptied in the sandbox (so their code cannot be read),
and the child's import guard names the module a student's code tried to import.
"""

import ast
import importlib.util
from pathlib import Path

import autograder
import gradlab
from autograder.run.sandbox import View, python_folders

ANSWER_KEY = "gradlab.exercises"
TOOLS = "gradlab.tools"
GIVEN_ONLY = ("gradlab.numeric",)  # tools that live outside gradlab.tools
GRADLAB = Path(gradlab.__file__).resolve().parent
AUTOGRADER = Path(autograder.__file__).resolve().parent
# the child runs these, and nothing else of the grader
CHILD_FILES = (
    "__init__.py",
    "files.py",
    "run/__init__.py",
    "run/student_child.py",
    "run/wire.py",
    "run/seccomp.py",
)


def imported_modules(sources):
    """The modules that `import` and `from ... import` statements of sources name."""
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
    return names


def given_modules(setup_sources):
    """The tools a lesson gives: those its setup cells import, and the tools they import."""
    given = imported_modules(setup_sources)
    tools = set(tool_modules())
    todo = list(given & tools)
    while todo:
        for name in imported_modules([module_file(todo.pop()).read_text()]) & tools:
            if name not in given:
                given.add(name)
                todo.append(name)
    return given


def tool_modules():
    """Every tool module: gradlab.numeric and the modules of gradlab.tools."""
    found = [f"{TOOLS}.{p.stem}" for p in sorted((GRADLAB / "tools").glob("*.py"))]
    return (*GIVEN_ONLY, *(m for m in found if not m.endswith(".__init__")))


def within(name, modules):
    """Whether module `name` is one of `modules` or inside one of them."""
    return any(name == m or name.startswith(m + ".") for m in modules)


def refused_modules(given):
    """The module names student code may not import, given the modules the lesson gives."""
    return [ANSWER_KEY, *(m for m in tool_modules() if m not in given)]


def module_file(module):
    """The file that holds `module`."""
    return Path(importlib.util.find_spec(module).origin).resolve()


def _caches(folder, skip):
    """Compiled copies of the code, which would give away what the emptied files held."""
    caches = (p for p in folder.rglob("__pycache__") if p.is_dir())
    return sorted(str(p) for p in caches if not any(p.is_relative_to(s) for s in skip))


def kernel_view(given, font_cache=None):
    """A grading kernel sees what a student's own cells may use: the Python installation, the
    student-facing helper package and the tools its lesson gives. It runs no test cell (their
    verdicts come from the trusted run), so it holds neither the checks nor a reference."""
    return _lesson_view(given, font_cache, grader_files=())


def child_view(given, font_cache=None):
    """The trusted run's sandboxed child sees what a kernel sees, and the few files of the
    grader it runs."""
    return _lesson_view(given, font_cache, grader_files=CHILD_FILES)


def _lesson_view(given, font_cache, grader_files):
    emptied = [GRADLAB / "exercises", GRADLAB / "tools"] + ([AUTOGRADER] if grader_files else [])
    hidden = [str(p) for p in emptied] + _caches(GRADLAB, emptied)
    hidden += [str(module_file(m)) for m in GIVEN_ONLY if m not in given]
    shown = [str(GRADLAB / "tools" / "__init__.py")]
    shown += [str(module_file(m)) for m in tool_modules() if m in given and m.startswith(TOOLS)]
    shown += [str(AUTOGRADER / f) for f in grader_files]
    visible = (*python_folders(), str(GRADLAB)) + ((str(AUTOGRADER),) if grader_files else ())
    return View(visible, tuple(hidden), tuple(shown), font_cache)


def message(module):
    """What a student is told when their function's answer would have come from `module`."""
    if within(module, [ANSWER_KEY]):
        return (
            f"your code imports {module}, the course's reference implementation, "
            "which earns no marks: write the function yourself"
        )
    return (
        f"your code imports {module}, a tool this lesson does not give (it is the answer to "
        "an exercise), which earns no marks: write the function yourself"
    )


def template_view(font_cache=None):
    """What a template that forks kernels and children sees (autograder.run.template): all
    their Views show. Each fork empties what its own View does not show."""
    visible = (*python_folders(), str(GRADLAB), str(AUTOGRADER))
    return View(visible=visible, font_cache=font_cache)
