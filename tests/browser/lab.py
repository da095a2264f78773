"""Drive JupyterLab in headless Chromium the way a student does: shared by the browser tests
and scripts/screenshots.py.

`JupyterLab` runs a server on a temporary folder with its own configuration (so nothing of
the user's ~/.jupyter leaks in), `launch_chromium` starts the system Chromium through
Playwright, and `LabNotebook` is one notebook open in a tab: type into a cell, run all,
read a cell's output, press a toolbar button. Every wait is bounded.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # containers and CI runners have no user namespaces for the sandbox
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1200, "height": 800}
# the student's lab configuration, which `make lab` puts first on JUPYTER_CONFIG_PATH
STUDENT_LAB = REPO / "lab"
# nbgrader's Validate button: a server extension and a JupyterLab plugin
VALIDATE_SERVER_EXTENSION = "nbgrader.server_extensions.validate_assignment"
VALIDATE_PLUGIN = "@jupyter/nbgrader:validate-assignment"
# Generous for a slow 2-core CI machine; a healthy run needs a fraction of each.
SERVER_START_TIMEOUT = 90  # seconds
KERNEL_TIMEOUT = 90_000  # milliseconds: a kernel start, a Run All, a Validate
UI_TIMEOUT = 30_000  # milliseconds: anything else the page does

# The notebook panel in front, through the app object that `expose_app_in_browser` publishes.
_PANEL = "window.jupyterapp && window.jupyterapp.shell.currentWidget"
_KERNEL_IDLE = f"""() => {{
    const panel = {_PANEL};
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    if (!kernel || kernel.status !== "idle") return false;
    // a queued or running cell shows [*]: idle between two cells of a Run All is not done
    const prompts = [...panel.node.querySelectorAll(".jp-InputPrompt")];
    return !prompts.some(p => p.textContent.includes("*"));
}}"""


_SOLUTION_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$")


def _exactly(text):
    """A pattern matching text as a whole, not as a part of a longer label."""
    return re.compile(rf"^\s*{re.escape(text)}\s*$")


def require_chromium():
    """The path of the system Chromium; raise (never skip) when it is not installed."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise RuntimeError(
            f"Chromium not found at {CHROMIUM}: the browser tests need the Debian packages "
            "chromium and chromium-driver (`make system-deps`), or CHROMIUM=/path/to/chromium"
        )
    return CHROMIUM


def launch_chromium(playwright, user_data_dir):
    """A headless Chromium with a fresh profile in user_data_dir, as one browser context."""
    context = playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=require_chromium(),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_default_timeout(UI_TIMEOUT)
    return context


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _settings(config_dir):
    """Write the server and lab settings of a test lab into config_dir."""
    server = {
        "LabApp": {
            # the page publishes window.jupyterapp, to wait for kernels and read cell models
            "expose_app_in_browser": True,
            # no announcements, no update check: no network, no toast over the notebook
            "news_url": None,
            "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
        },
        # a server orphaned by a killed test run stops itself after 10 idle minutes
        "ServerApp": {"shutdown_no_activity_timeout": 600},
        "MappingKernelManager": {"cull_idle_timeout": 600, "cull_interval": 60},
    }
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(server))
    # nbgrader's Validate button: its server part and its lab plugin, enabled whatever the
    # other config folders say (this one comes first on JUPYTER_CONFIG_PATH)
    extensions = {"ServerApp": {"jpserver_extensions": {VALIDATE_SERVER_EXTENSION: True}}}
    (config_dir / "jupyter_server_config.d").mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.d" / "course-tests.json").write_text(
        json.dumps(extensions)
    )
    (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
    page = {"disabledExtensions": {VALIDATE_PLUGIN: False}}
    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(page))
    user_settings = config_dir / "lab" / "user-settings" / "@jupyterlab"
    lab_settings = {
        # every cell in the DOM, so that locators find cells far down the notebook
        "notebook-extension/tracker": {"windowingMode": "none"},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in lab_settings.items():
        path = user_settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


class JupyterLab:
    """A JupyterLab server on root, on 127.0.0.1 at a free port, with a token.

    Use as a context manager: the server starts on entry and stops (kernels included) on
    exit. Its configuration, runtime and data folders live in state_dir, its log in
    state_dir/"jupyterlab.log". config_path: more configuration folders, right after the
    tests' own (e.g. [STUDENT_LAB], the lab a student gets from `make lab`).
    """

    def __init__(self, root, state_dir, config_path=(), formgrader_of=None):
        """formgrader_of: an OUT, whose lab `python -m autograder formgrader OUT` starts
        (root is then OUT/course), instead of starting one here."""
        self.formgrader_of = formgrader_of
        self.root = Path(root)
        self.state_dir = Path(state_dir)
        self.config_path = [str(folder) for folder in config_path]
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = self.state_dir / "jupyterlab.log"
        self.process = None

    def url(self, path=""):
        """The URL of a lab path, e.g. "lab/tree/01_softmax/softmax.ipynb", with the token."""
        return f"{self.base}/{path}?token={self.token}"

    def environment(self):
        """The server's environment: the course's Python first on PATH, private Jupyter dirs."""
        state = self.state_dir
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(state / "config"),
            # also first on the config path: in a virtual environment its sys-prefix config
            # outranks the user's, and ours must outrank both
            JUPYTER_CONFIG_PATH=os.pathsep.join(
                filter(
                    None, [str(state / "config"), *self.config_path, env.get("JUPYTER_CONFIG_PATH")]
                )
            ),
            JUPYTER_RUNTIME_DIR=str(state / "runtime"),
            JUPYTER_DATA_DIR=str(state / "data"),
            JUPYTERLAB_SETTINGS_DIR=str(state / "config" / "lab" / "user-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
            IPYTHONDIR=str(state / "ipython"),
            JUPYTER_PLATFORM_DIRS="1",
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            PYDEVD_DISABLE_FILE_VALIDATION="1",  # no debugger warning in kernel stderr
        )
        return env

    def start(self):
        """Start the server and wait until its REST API answers."""
        for folder in ("config", "runtime", "data", "workspaces", "ipython"):
            (self.state_dir / folder).mkdir(parents=True, exist_ok=True)
        _settings(self.state_dir / "config")
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
        ]
        if os.geteuid() == 0:  # CI containers run as root, which Jupyter refuses by default
            command.append("--allow-root")
        env = self.environment()
        if self.formgrader_of:  # the course's own command, given the token through Jupyter's env
            command = [sys.executable, "-m", "autograder", "formgrader", str(self.formgrader_of)]
            command.append(f"--port={self.port}")
            env["JUPYTER_TOKEN"] = self.token
        with open(self.log_path, "wb") as log:
            # own session: the whole group (server and kernels) can be killed as a last resort
            self.process = subprocess.Popen(
                command,
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(
            f"JupyterLab did not answer in {SERVER_START_TIMEOUT} s:\n{self.log_tail()}"
        )

    def stop(self):
        """Shut the server down (it stops its kernels), killing it if it does not comply."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            request = urllib.request.Request(self.url("api/shutdown"), method="POST")
            urllib.request.urlopen(request, timeout=10).close()
            self.process.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def log_tail(self, lines=40):
        """The end of the server log, for failure messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def copy_lesson(lesson, dest_root, folder=None):
    """Copy the student version of a lesson to dest_root/folder; return the notebook's path
    relative to dest_root (what the lab's URLs use)."""
    (notebook,) = sorted((REPO / "lessons" / lesson).glob("*.ipynb"))
    folder = folder or lesson
    (Path(dest_root) / folder).mkdir(parents=True, exist_ok=True)
    shutil.copy2(notebook, Path(dest_root) / folder / notebook.name)
    return f"{folder}/{notebook.name}"


def cell_index(notebook_file, grade_id=None, containing=None):
    """The index of the cell with an nbgrader grade_id, or the first whose source contains a
    text: what the tests locate cells by, read from the very file the lab opens."""
    nb = nbformat.read(notebook_file, as_version=4)
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        if grade_id is not None and meta.get("grade_id") == grade_id:
            return index
        if containing is not None and containing in cell.source:
            return index
    raise LookupError(f"no cell {grade_id or containing!r} in {notebook_file}")


def solution_source(lesson, grade_id):
    """The source of a solution cell in solutions/: the correct answer a student could type
    (without nbgrader's solution markers, should a build leave them in)."""
    (notebook,) = sorted((REPO / "solutions" / lesson).glob("*.ipynb"))
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            lines = cell.source.splitlines(keepends=True)
            return "".join(line for line in lines if not _SOLUTION_MARKER.match(line))
    raise LookupError(f"no solution cell {grade_id!r} in {notebook}")


def visible_test_source(notebook_file, grade_id):
    """The source of a (visible) test cell of a notebook."""
    return (
        nbformat.read(notebook_file, as_version=4).cells[cell_index(notebook_file, grade_id)].source
    )


def open_lab(context, lab):
    """A new page showing JupyterLab, started and restored (with an empty workspace)."""
    page = context.new_page()
    # reset: a fresh workspace, not the tabs (and kernels) an earlier page left open
    page.goto(lab.url("lab") + "&reset", timeout=KERNEL_TIMEOUT)
    page.wait_for_function("() => window.jupyterapp", timeout=KERNEL_TIMEOUT, polling=200)
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    return page


class LabNotebook:
    """One notebook open in JupyterLab in a browser page."""

    def __init__(self, page, path):
        self.page = page
        self.path = path

    @classmethod
    def open(cls, page, path):
        """Open path (relative to the lab's root) in the lab on page; wait for an idle kernel.

        Opening goes through the command the file browser runs on a double click.
        """
        page.evaluate(
            "async path => { await window.jupyterapp.commands.execute("
            "'docmanager:open', {path, factory: 'Notebook'}); }",
            path,
        )
        page.wait_for_function(
            f"path => {{ const panel = {_PANEL}; return panel && panel.context "
            "&& panel.context.path === path; }",
            arg=path,
            timeout=KERNEL_TIMEOUT,
        )
        notebook = cls(page, path)
        notebook.cells.first.wait_for(timeout=KERNEL_TIMEOUT)
        notebook.wait_idle()
        return notebook

    @property
    def cells(self):
        """All cells of the notebook in front."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")

    def cell(self, index):
        return self.cells.nth(index)

    def wait_idle(self, timeout=KERNEL_TIMEOUT):
        """Wait until the kernel is idle and no cell is queued or running."""
        self.page.wait_for_function(_KERNEL_IDLE, timeout=timeout, polling=200)

    def source(self, index):
        """The source of a cell as the notebook model holds it."""
        return self.page.evaluate(
            f"i => ({_PANEL}).content.widgets[i].model.sharedModel.getSource()", index
        )

    def type_into(self, index, text):
        """Replace the source of a cell with text, typed into its editor as a student does."""
        cell = self.cell(index)
        rendered = cell.locator(".jp-MarkdownOutput")  # a markdown cell opens by a double click
        if rendered.count() and rendered.first.is_visible():
            rendered.first.scroll_into_view_if_needed()
            rendered.first.dblclick()
        editor = cell.locator(".cm-content")
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("ControlOrMeta+a")
        # one input event: the editor inserts it as is (no auto-indent, no closing brackets)
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")  # back to command mode, as after typing
        self.page.wait_for_function(
            f"([i, text]) => ({_PANEL}).content.widgets[i].model.sharedModel.getSource() === text",
            arg=[index, text],
        )

    def menu(self, menu, item):
        """Click an item of a menu of the menu bar, e.g. menu("Run", "Run All Cells")."""
        bar = self.page.locator(".lm-MenuBar-itemLabel")
        bar.filter(has_text=_exactly(menu)).first.click()
        items = self.page.locator(".lm-Menu:not(.lm-MenuBar) .lm-Menu-itemLabel")
        items.filter(has_text=_exactly(item)).first.click()

    def run_cell(self, index):
        """Run one cell, as Shift+Enter does on it, and wait until the kernel is idle."""
        before = self.page.evaluate(
            f"i => ({_PANEL}).content.widgets[i].model.executionCount", index
        )
        self.page.evaluate(
            f"""i => {{
                const notebook = ({_PANEL}).content;
                notebook.deselectAll();
                notebook.activeCellIndex = i;
                return window.jupyterapp.commands.execute("notebook:run-cell");
            }}""",
            index,
        )
        self.page.wait_for_function(
            f"([i, before]) => ({_PANEL}).content.widgets[i].model.executionCount !== before",
            arg=[index, before],
            timeout=KERNEL_TIMEOUT,
        )
        self.wait_idle()

    def run_all(self):
        """Run > Run All Cells, then wait until every cell has run or the run stopped."""
        first_code_cell = (
            f"({_PANEL}).content.widgets.find(w => w.model.type === 'code').model.executionCount"
        )
        before = self.page.evaluate(f"() => {first_code_cell}")
        self.menu("Run", "Run All Cells")
        # the run has started once the first code cell has a new count; then wait for its end
        self.page.wait_for_function(
            f"before => {first_code_cell} !== before", arg=before, timeout=KERNEL_TIMEOUT
        )
        self.wait_idle()

    def output_text(self, index):
        """The text of a cell's outputs."""
        return self.cell(index).locator(".jp-Cell-outputArea").inner_text()

    def wait_for_output(self, index, text, timeout=KERNEL_TIMEOUT):
        """Wait until a cell's outputs contain text; return all their text."""
        area = self.cell(index).locator(".jp-Cell-outputArea")
        area.filter(has_text=text).wait_for(timeout=timeout)
        return area.inner_text()

    def toolbar_button(self, label):
        """A button of the notebook toolbar, by its label."""
        panel = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
        return panel.locator(".jp-NotebookPanel-toolbar .jp-ToolbarButtonComponent").filter(
            has_text=label
        )

    def validate(self, timeout=KERNEL_TIMEOUT):
        """Press nbgrader's Validate button; return the result dialog (a locator), still open.

        The button saves the notebook, then the server runs nbgrader's validator on it.
        """
        self.toolbar_button("Validate").first.click()
        dialog = self.page.locator(".jp-Dialog")
        dialog.wait_for(timeout=timeout)
        title = dialog.locator(".jp-Dialog-header").inner_text()
        # anything else ("Validation failed", "Version Mismatch") is the extension failing
        assert "Validation Results" in title, f"{title}: {dialog.inner_text()[:2000]}"
        return dialog

    def close_dialog(self):
        """Press the OK button of the open dialog."""
        self.page.locator(".jp-Dialog .jp-Dialog-button").filter(has_text="OK").first.click()
        self.page.locator(".jp-Dialog").wait_for(state="detached")

    def close(self):
        """Shut the kernel down and close the notebook without saving it."""
        # a dialog left open by a failed test would stand in front of the next one
        for _ in range(3):
            if not self.page.locator(".jp-Dialog").count():
                break
            self.page.keyboard.press("Escape")
            self.page.wait_for_timeout(200)
        self.page.evaluate(
            """async path => {
                for (const panel of window.jupyterapp.shell.widgets("main")) {
                    if (panel.context && panel.context.path === path) {
                        await panel.sessionContext.shutdown();
                        panel.dispose();  // dispose, not close: close asks whether to save
                    }
                }
            }""",
            self.path,
        )

    def screenshot(self, name, folder=ARTIFACTS, **options):
        """Save a screenshot of the page as folder/name.png; return its path."""
        Path(folder).mkdir(parents=True, exist_ok=True)
        path = Path(folder) / f"{name}.png"
        self.page.screenshot(path=str(path), **options)
        return path
