# dlcourse: every entry point of the course. See README.md.
#   make book   build the website into _build/html (executes the notebooks, cached)
#   make test   every test: unit tests, notebooks (nbval), a strict book build, the browser tests
#   make lab    open the chapters in JupyterLab
#   make clean  remove build outputs (keeps .venv);  make distclean also removes .venv

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# TensorFlow's C++ logging stays out of pages and test output; plots render off-screen.
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv book book-strict test test-unit test-notebooks test-browser lint lab clean distclean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "dlcourse needs Python 3.11 or newer, found %d.%d: set PYTHON=python3.11" % v[:2])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The learner's build: notebooks run once and are cached in _build/.jupyter_cache.
book: $(STAMP)
	$(BIN)/jupyter-book build . --keep-going

# The maintainers' build: every notebook executed afresh; any cell error or Sphinx warning fails.
book-strict: $(STAMP)
	@mkdir -p _build
	$(BIN)/python tools/book_config.py --execute force --output _build/_config.force.yml
	$(BIN)/jupyter-book build . --config _build/_config.force.yml -W -n --keep-going

lint: $(STAMP)
	$(BIN)/ruff check dlcourse tests tools benchmarks

test-unit: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -m "not browser"

test-notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env -p no:randomly chapters

test-browser: $(STAMP)
	$(BIN)/python -m pytest tests -m browser

test: lint test-unit test-notebooks book-strict

lab: $(STAMP)
	$(BIN)/jupyter lab chapters

clean:
	rm -rf _build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info
