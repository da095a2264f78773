# The course in two commands: `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
SYSTEM_PACKAGES := chromium chromium-driver bubblewrap postgresql
DEMO := demo

.PHONY: demo test lab build lint format system-deps clean

$(INSTALLED): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Debian packages the browser tests, the grading sandbox and the tests' PostgreSQL server need
# (root, as on CI)
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: $(INSTALLED) system-deps
	$(PY) -m autograder demo --out $(DEMO)

# one BLAS thread per process: the tests run on two workers, each with its own kernels; a
# test file stays on one worker, so that its module fixture (a whole class graded) runs once
# (xdist's loadgroup, with pytest 9, split a group's tests over both workers: 2 min more)
test: export OPENBLAS_NUM_THREADS = 1
test: $(INSTALLED) system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n 2 --dist loadfile --durations=10

# the student's lab: lab/ (first on the config path) turns off nbgrader's instructor tools
# (Create Assignment, Formgrader, Course List) and keeps Validate and the Assignment List
lab: $(INSTALLED)
	JUPYTER_CONFIG_PATH=$(CURDIR)/lab$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
		$(VENV)/bin/jupyter lab --notebook-dir=lessons $(if $(filter 0,$(shell id -u)),--allow-root)

build: $(INSTALLED)
	$(PY) -m autograder build $(LESSONS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) $(DEMO)
