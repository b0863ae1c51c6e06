# Curvature Lab: every target sets up its own environment (.venv) first.
# Quick start: `make book` (build the site) and `make test` (run all tests).
# Any python3 from 3.11 on (3.11, 3.12 and 3.13 are tested): make PYTHON=python3.13 book

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going
# uv installs the lock in seconds; INSTALLER=pip uses plain pip (also the fallback when uv
# cannot be installed). The uv bootstrapped into the venv is the one the lock pins. uv
# byte-compiles what it installs (as pip does): where PYTHONDONTWRITEBYTECODE is set, as on many
# CI machines, nothing else would, and every nbgrader and kernel start would compile from source.
INSTALLER ?= uv
UV_PIN := $(shell sed -n 's/^uv==\([^ ;]*\).*/\1/p' requirements.txt)
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: help book pdf test test-fast lint lab lab-source exercises check-course grade bench bench-grading dist clean distclean lock

help:
	@echo "make book       build the HTML site into _build/html"
	@echo "make pdf        the PDF edition (_build/latex/book.pdf) and the site linking it (TeX Live, installed as root)"
	@echo "make test       run the whole test suite (builds the site once)"
	@echo "make test-fast  library, doctests, demos and course checks: no site, browser or nbgrader run"
	@echo "make lab        the book and exercises in JupyterLab (a workspace/ of your own, live widgets)"
	@echo "make lab-source JupyterLab on the sources (book/, solutions/), for authors"
	@echo "make exercises  regenerate exercises/ from solutions/ with nbgrader"
	@echo "make check-course  check solutions/ against the authoring rules, exercises/ in sync"
	@echo "make grade SUBMISSIONS=dir-or-zip [WORKERS=2] [SEED=...] [DB_URL=postgresql://...]"
	@echo "                autograde in sandboxes (bubblewrap; NO_SANDBOX=1 to grade without),"
	@echo "                feedback, CSVs, Canvas CSV, Gradescope JSON (gradebook: SQLite unless DB_URL)"
	@echo "make bench      run the benchmark scripts (prints ratio tables)"
	@echo "make bench-grading  grading throughput with 1, 2 and 4 workers (about 10 minutes)"
	@echo "make lint       ruff over the package, tests and benchmarks"
	@echo "make dist       build the hessian_lab wheel and sdist into dist/"
	@echo "make lock       re-resolve requirements.txt from requirements.in (UPGRADE=1 to upgrade)"
	@echo "make clean      remove build outputs and caches (keeps .venv)"
	@echo "make distclean  clean, and remove .venv"
	@echo "Options: PYTHON=python3.13 (any 3.11 or newer), INSTALLER=pip (no uv)"

# The venv is (re)installed only when the lock or the package metadata changed.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	  || { echo "Curvature Lab needs Python 3.11 or newer (3.11, 3.12 and 3.13 are tested);"; \
	       echo "'$(PYTHON)' is $$($(PYTHON) --version 2>/dev/null || echo 'not found on PATH')."; \
	       echo "Run with another interpreter: make PYTHON=/path/to/python3.12 <target>"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if [ "$(INSTALLER)" = uv ] && { $(BIN)/uv --version 2>/dev/null | grep -qx "uv $(UV_PIN)" \
	       || $(PIP) install --quiet "uv==$(UV_PIN)"; }; then \
	  echo "Installing requirements.txt with uv $(UV_PIN) into $(VENV) ($$($(BIN)/python --version))"; \
	  $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.txt || exit 1; \
	else \
	  if [ "$(INSTALLER)" = uv ]; then echo "uv could not be installed: falling back to pip"; fi; \
	  echo "Installing requirements.txt with pip into $(VENV) ($$($(BIN)/python --version))"; \
	  $(PIP) install --quiet -r requirements.txt || exit 1; \
	fi
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html $(JB_FLAGS)
	@echo ""
	@echo "Built. Open file://$(CURDIR)/_build/html/index.html"

# The PDF edition: XeLaTeX from Debian's TeX Live (tests/texlive.py installs it as root, or
# prints the apt-get command), then the site, which copies and links the PDF. The execution
# cache is the site's: chapters already run for `make book` are not run again.
pdf: $(STAMP)
	$(BIN)/python tests/texlive.py
	$(BIN)/jupyter-book build . --builder pdflatex $(JB_FLAGS)
	$(BIN)/jupyter-book build . --builder html $(JB_FLAGS)
	@echo ""
	@echo "Built. Open $(CURDIR)/_build/latex/book.pdf (the site links it as curvature-lab.pdf)"

lint: $(STAMP)
	$(BIN)/ruff check --no-cache hessian_lab tests benchmarks book/_ext

# Two pytest-xdist workers: one builds the PDF and the site and runs every test that needs them,
# the other runs the rest (library, course, grading, JupyterLab, packaging) meanwhile. The
# groups are set in tests/conftest.py. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/ruff check --no-cache hessian_lab tests benchmarks book/_ext
	$(BIN)/python -m pytest $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup,) \
	  --durations=25 --doctest-modules hessian_lab tests

# What `make test` runs minus the tests marked slow (site build, browser, nbgrader runs,
# other Pythons, the wheel): about a minute.
test-fast: $(STAMP)
	$(BIN)/ruff check --no-cache hessian_lab tests benchmarks book/_ext
	$(BIN)/python -m pytest -m "not slow" --doctest-modules hessian_lab tests

# The student's JupyterLab: the reading edition (written by every site build into _build/lab)
# and the exercises, copied into $(WORKSPACE) without overwriting anything the student changed,
# opened on START_HERE.ipynb. book/_lab holds the JupyterLab defaults (no news pop-up). In a
# live kernel the demos skip building their static (site) form. Authors edit the sources
# (book/, solutions/) with `make lab-source`.
WORKSPACE ?= workspace
LAB_SOURCES := $(wildcard book/*.ipynb book/*.md book/_ext/*.py hessian_lab/*.py hessian_lab/demos/*.py) _toc.yml _config.yml
_build/lab/START_HERE.ipynb: $(STAMP) $(LAB_SOURCES)
	$(BIN)/jupyter-book build . --builder html $(JB_FLAGS)
	@test -f $@ && touch $@

lab: _build/lab/START_HERE.ipynb
	$(BIN)/curvature-lab workspace --edition _build/lab --exercises exercises --into $(WORKSPACE)
	JUPYTER_CONFIG_PATH=$(CURDIR)/book/_lab CURVATURE_LAB_LIVE=1 $(BIN)/jupyter lab \
	  --ServerApp.root_dir=$(CURDIR)/$(WORKSPACE) START_HERE.ipynb

lab-source: $(STAMP)
	JUPYTER_CONFIG_PATH=$(CURDIR)/book/_lab CURVATURE_LAB_LIVE=1 $(BIN)/jupyter lab \
	  --ServerApp.root_dir=$(CURDIR) book/

# One assignment at a time, by name: `--all` only sees assignments already in the gradebook.
# The throwaway gradebook keeps generation independent of the instructor's gradebook.db.
exercises: $(STAMP)
	@db=$$(mktemp -d); for dir in solutions/*/; do name=$$(basename $$dir); \
	  PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nbgrader generate_assignment $$name --force --CourseDirectory.root=$(CURDIR) \
	    --CourseDirectory.db_url=sqlite:///$$db/gradebook.db --log-level=WARN || exit 1; \
	  echo "exercises/$$name"; done; rm -rf $$db

# The authoring rules of the source notebooks, and exercises/ in sync with them.
check-course: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/curvature-lab check-course --course .

# Autograde a folder (or zip) of submissions: make grade SUBMISSIONS=path [WORKERS=2] [SEED=..]
# Writes grades.csv, grades_<assignment>.csv/.png, canvas_grades.csv, gradescope/ and feedback/
# into GRADE_OUT (default grading/). CANVAS_ROSTER=export.csv fills Canvas's identity columns.
# DB_URL (or the environment's CURVATURE_LAB_GRADEBOOK_URL) names the gradebook, e.g. a
# PostgreSQL server; without either it is SQLite in GRADE_OUT/course.
WORKERS ?= 2
GRADE_OUT ?= grading
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/submitted [WORKERS=2] [SEED=...]"; exit 2; }
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/curvature-lab grade "$(SUBMISSIONS)" --course . --out "$(GRADE_OUT)" --workers $(WORKERS) \
	  $(if $(SEED),--seed "$(SEED)",) $(if $(DB_URL),--db-url "$(DB_URL)",) \
	  $(if $(NO_SANDBOX),--no-sandbox,) $(if $(CANVAS_ROSTER),--canvas-roster "$(CANVAS_ROSTER)",)

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Not in `make bench`: 60 submissions graded three times. BENCH_ARGS=--postgres for PostgreSQL.
bench-grading: $(STAMP)
	$(BIN)/python benchmarks/grading_throughput.py $(BENCH_ARGS)

# One universal lock for every supported Python (markers where versions differ), resolved by uv
# from requirements.in; the pins already in requirements.txt are kept unless UPGRADE=1.
lock: $(STAMP)
	$(BIN)/uv pip compile requirements.in --universal --python-version 3.11 \
	  --custom-compile-command "make lock   (uv pip compile --universal --python-version 3.11 requirements.in)" $(if $(UPGRADE),--upgrade,) --quiet -o requirements.txt

# The package alone, for students who do not clone: dist/hessian_lab-*.whl and .tar.gz.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build $(if $(filter uv,$(INSTALLER)),--installer uv,) --outdir dist .

clean:
	rm -rf _build dist build .pytest_cache .hypothesis .ruff_cache test-artifacts
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -not -path './.venv/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
