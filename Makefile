# Curvature Lab: every target sets up its own environment (.venv) first.
# Quick start: `make book` (build the site) and `make test` (run all tests).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB_FLAGS := -W -n --keep-going

.PHONY: help book test lint lab exercises grade bench bench-grading clean distclean lock

help:
	@echo "make book       build the HTML site into _build/html"
	@echo "make test       run the whole test suite (builds the site once)"
	@echo "make lab        open JupyterLab on the book (live widgets)"
	@echo "make exercises  regenerate exercises/ from solutions/ with nbgrader"
	@echo "make grade SUBMISSIONS=dir-or-zip [WORKERS=2] [SEED=...] [DB_URL=postgresql://...]"
	@echo "                autograde in sandboxes (bubblewrap; NO_SANDBOX=1 to grade without),"
	@echo "                feedback, CSV (gradebook: SQLite unless DB_URL is given)"
	@echo "make bench      run the benchmark scripts (prints ratio tables)"
	@echo "make bench-grading  grading throughput with 1, 2 and 4 workers (about 10 minutes)"
	@echo "make lint       ruff over the package, tests, benchmarks and tools"
	@echo "make clean      remove build outputs and caches (keeps .venv)"
	@echo "make distclean  clean, and remove .venv"

# The venv is (re)installed only when the lock or the package metadata changed.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:3] < (3, 11, 5) or sys.version_info[:2] > (3, 11))' \
	  || { echo "Curvature Lab needs Python 3.11 (3.11.5 or newer; the lock pins packages that"; \
	       echo "require it). '$(PYTHON)' is $$($(PYTHON) --version 2>&1)."; \
	       echo "Run with another interpreter: make PYTHON=/path/to/python3.11 <target>"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html $(JB_FLAGS)
	@echo ""
	@echo "Built. Open file://$(CURDIR)/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check --no-cache hessian_lab tests benchmarks tools

test: $(STAMP)
	$(BIN)/ruff check --no-cache hessian_lab tests benchmarks tools
	$(BIN)/python -m pytest --doctest-modules hessian_lab tests

# In a live kernel the demos skip building their static (site) form.
lab: $(STAMP)
	CURVATURE_LAB_LIVE=1 $(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) book/

# One assignment at a time, by name: `--all` only sees assignments already in the gradebook.
# The throwaway gradebook keeps generation independent of the instructor's gradebook.db.
exercises: $(STAMP)
	@db=$$(mktemp -d); for dir in solutions/*/; do name=$$(basename $$dir); \
	  PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/nbgrader generate_assignment $$name --force --CourseDirectory.root=$(CURDIR) \
	    --CourseDirectory.db_url=sqlite:///$$db/gradebook.db --log-level=WARN || exit 1; \
	  echo "exercises/$$name"; done; rm -rf $$db

# Autograde a folder (or zip) of submissions: make grade SUBMISSIONS=path [WORKERS=2] [SEED=..]
# Writes grades.csv, grades_<assignment>.png and feedback/ into GRADE_OUT (default grading/).
# DB_URL (or the environment's CURVATURE_LAB_GRADEBOOK_URL) names the gradebook, e.g. a
# PostgreSQL server; without either it is SQLite in GRADE_OUT/course.
WORKERS ?= 2
GRADE_OUT ?= grading
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/submitted [WORKERS=2] [SEED=...]"; exit 2; }
	$(BIN)/python tools/grade.py "$(SUBMISSIONS)" --out "$(GRADE_OUT)" --workers $(WORKERS) \
	  $(if $(SEED),--seed "$(SEED)",) $(if $(DB_URL),--db-url "$(DB_URL)",) \
	  $(if $(NO_SANDBOX),--no-sandbox,)

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Not in `make bench`: 60 submissions graded three times. BENCH_ARGS=--postgres for PostgreSQL.
bench-grading: $(STAMP)
	$(BIN)/python benchmarks/grading_throughput.py $(BENCH_ARGS)

lock:
	rm -rf /tmp/curvature-lock-venv && $(PYTHON) -m venv /tmp/curvature-lock-venv
	/tmp/curvature-lock-venv/bin/pip install --quiet -r requirements.in
	{ echo "# The tested lock: exact pins for the book, the tests and the grading workflow."; \
	  echo "# Made by 'make lock' from requirements.in; do not edit by hand."; \
	  /tmp/curvature-lock-venv/bin/pip freeze --exclude-editable | grep -v -E '^(pip|setuptools)=='; \
	  echo "-e ."; } > requirements.txt

clean:
	rm -rf _build .pytest_cache .hypothesis .ruff_cache test-artifacts
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -not -path './.venv/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
