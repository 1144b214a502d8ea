# dlcourse: every entry point of the course. See README.md.
#   make book   build the website into _build/html (executes the notebooks, cached)
#   make test   every test: unit tests, notebooks (nbval), a strict book build, the browser tests
#   make lab    open the chapters in JupyterLab
#   make exercises  practice copies of the chapters in exercises/ (solutions out, stubs in)
#   make clean  remove build outputs (keeps .venv);  make distclean also removes .venv

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# TensorFlow's C++ logging stays out of pages and test output; plots render off-screen.
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# One BLAS thread: the course's matrices are small, where OpenBLAS's spinning threads cost more
# than they give (10x slower notebooks on a busy 2-core machine), and sums become reproducible.
export OPENBLAS_NUM_THREADS ?= 1
# A JupyterHub for the chapters' launch button: make book JUPYTERHUB_URL=https://hub.example.edu
JUPYTERHUB_URL ?=
# TensorFlow's oneDNN for the two executions of `make test`: on for the notebooks (nbval and Run
# All), off for the strict book build, so that the course is checked both ways on any CPU.
ONEDNN_NOTEBOOKS ?= 1
ONEDNN_BOOK ?= 0

.PHONY: venv vendor book book-strict test test-unit test-notebooks test-browser lint lab exercises \
        clean distclean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml Makefile
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "dlcourse needs Python 3.11 or newer, found %d.%d: set PYTHON=python3.11" % v[:2])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@# Matplotlib builds its font cache on first import and says so on stderr ("Matplotlib is
	@# building the font cache"): build it now, quietly, so that no notebook output shows it.
	$(BIN)/python -c 'import logging; logging.disable(logging.WARNING); import matplotlib.font_manager'
	@# ipykernel 7 logs "Kernel is running over TCP without encryption" to the terminal or test
	@# log at every kernel start (the kernel talks only to local processes here): errors only.
	mkdir -p $(VENV)/etc/ipython
	echo 'c.IPKernelApp.log_level = "ERROR"  # written by the Makefile' \
	  > $(VENV)/etc/ipython/ipython_kernel_config.py
	touch $(STAMP)

# The JavaScript the site serves itself (MathJax, RequireJS, the widgets' HTML manager): fetched
# with `npm pack` at pinned versions, SHA-256 checked, into _extra/vendor/ (a no-op when present).
vendor: $(STAMP)
	$(BIN)/python tools/vendor.py

# The learner's build: notebooks run once and are cached in _build/.jupyter_cache.
book: $(STAMP) vendor
	@mkdir -p _build
	$(BIN)/python tools/book_config.py --execute cache --jupyterhub-url "$(JUPYTERHUB_URL)" \
	  --output _build/_config.cache.yml
	$(BIN)/jupyter-book build . --config _build/_config.cache.yml --keep-going

# The maintainers' build: every notebook executed afresh; any cell error or Sphinx warning fails.
# With oneDNN off (test-notebooks runs with it on), so `make test` checks the course both ways.
book-strict: $(STAMP) vendor
	@mkdir -p _build
	$(BIN)/python tools/book_config.py --execute force --jupyterhub-url "$(JUPYTERHUB_URL)" \
	  --output _build/_config.force.yml
	TF_ENABLE_ONEDNN_OPTS=$(ONEDNN_BOOK) \
	  $(BIN)/jupyter-book build . --config _build/_config.force.yml -W -n --keep-going

lint: $(STAMP)
	$(BIN)/ruff check .

test-unit: $(STAMP) vendor
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -m "not browser and not notebooks"

# Every chapter executed by nbval, then run as a learner runs it (Run All, twice in one kernel,
# nothing on stderr: tests/notebooks/), with oneDNN on: TensorFlow's default on most current
# x86 CPUs (AVX512_VNNI/BF16), forced here so that every machine tests it (book-strict: off).
# (pytest exits 5 when it collects nothing: no chapter notebook yet is not a failure)
test-notebooks: $(STAMP)
	@if ls chapters/*.ipynb >/dev/null 2>&1; then \
	  echo "TF_ENABLE_ONEDNN_OPTS=$(ONEDNN_NOTEBOOKS) $(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:randomly chapters"; \
	  TF_ENABLE_ONEDNN_OPTS=$(ONEDNN_NOTEBOOKS) \
	    $(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:randomly chapters && \
	  TF_ENABLE_ONEDNN_OPTS=$(ONEDNN_NOTEBOOKS) \
	    $(BIN)/python -m pytest -m notebooks -p no:randomly tests/notebooks; \
	else echo "test-notebooks: no chapter notebook yet (chapters/*.ipynb)"; fi

# Chromium against the built site (run `make book` or `make book-strict` first; `make test` does).
test-browser: $(STAMP)
	$(BIN)/python -m pytest tests -m browser

test: lint test-unit test-notebooks book-strict test-browser

lab: $(STAMP)
	$(BIN)/jupyter lab chapters

# Practice copies: exercises/<chapter>.ipynb without solutions, `stub` cells reduced to stubs.
# A copy you have edited is kept (FORCE=1 overwrites it).
exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py chapters exercises $(if $(FORCE),--force)

clean:
	rm -rf _build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info

# The from-scratch code timed against TensorFlow, side by side (table + _build/bench.json):
# `bench` measures everything, chapter notebooks included (a few minutes); `bench-quick` only
# checks that the benchmark works (tiny repeats, a small subset, no notebooks).
.PHONY: bench bench-quick
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench --notebooks $(if $(THREADS),--threads $(THREADS))

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.bench --quick $(if $(THREADS),--threads $(THREADS))
