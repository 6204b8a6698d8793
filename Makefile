# Two commands for a fresh machine (see README.md):
#   make book   -> set up .venv, execute every chapter, write _build/html/index.html
#   make test   -> set up .venv, unit tests, every chapter under nbmake, strict book build,
#                  then the built book checked in a real browser (Debian's chromium)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# d2l 0.17.6, only for the benchmark and the linbook-vs-d2l parity test. Installed with
# --no-deps into its own folder (it would pin numpy 1.21.5), never into .venv.
D2L    := bench/.d2l
# Let idle OpenMP threads sleep instead of spinning: on a shared 2-core machine spinning
# threads slow PyTorch down many times over (measured for chapter 2.2).
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: setup book test unit notebooks strict browser sync bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -c "import torch; assert torch.__version__.startswith('2.14.1'), torch.__version__"
	test -d $(D2L)/d2l || $(BIN)/python -m pip install --no-deps --target $(D2L) d2l==0.17.6
	touch $(STAMP)

# Local build: re-executes only the chapters that changed (jupyter-cache).
book: setup
	$(BIN)/jupyter-book build .
	@echo "open _build/html/index.html"

# Everything, from a clean execution state. Chapters run before the unit tests so that the
# tests of the files they write (pred.csv, prediction.csv) check this run's files.
test: setup notebooks unit strict browser

unit: setup
	$(BIN)/python -m pytest tests --ignore=tests/browser

notebooks: setup
	$(BIN)/python -m pytest --nbmake chapters --nbmake-timeout=900

# Strict build: every notebook executed again (execute_notebooks: force), warnings are errors.
# The copied config sits in _build/, so its paths (local extension, search dictionary) are made absolute.
_build/_config.force.yml: _config.yml setup
	mkdir -p _build
	$(BIN)/python -c "import os, sys, yaml; c = yaml.safe_load(open('_config.yml', encoding='utf-8')); c['execute']['execute_notebooks'] = 'force'; ext = c['sphinx']['local_extensions']; c['sphinx']['local_extensions'] = {k: os.path.abspath(v) for k, v in ext.items()}; opts = c['sphinx']['config']['html_search_options']; opts['dict'] = os.path.abspath(opts['dict']); yaml.safe_dump(c, open(sys.argv[1], 'w', encoding='utf-8'), allow_unicode=True, sort_keys=False)" $@

strict: _build/_config.force.yml
	$(BIN)/jupyter-book build . --config _build/_config.force.yml -n -W --keep-going

# The built site in headless chromium via Playwright (never downloads a browser).
browser: setup
	$(BIN)/python -m pytest tests/browser

# Re-pair every chapter: edit the .md, then run this to refresh its .ipynb.
sync: setup
	$(BIN)/jupytext --sync $$(grep -l "^jupytext:" chapters/*.md)

# The benchmark runs with OpenMP's default wait policy (idle threads spin), the fastest on an
# idle machine; on a busy one pass BENCH_OMP_WAIT_POLICY=PASSIVE (see bench/README.md).
BENCH_OMP_WAIT_POLICY ?=
bench: setup
	env -u OMP_WAIT_POLICY $(if $(BENCH_OMP_WAIT_POLICY),OMP_WAIT_POLICY=$(BENCH_OMP_WAIT_POLICY)) \
		PYTHONPATH=$(D2L) $(BIN)/python bench/bench_fashion_mnist.py $(BENCH_ARGS)

clean:
	rm -rf _build
