# Two commands for a fresh machine (see README.md):
#   make book   -> set up .venv, execute the chapters that changed, write _build/html/index.html
#   make test   -> set up, then lint, unit tests, every chapter executed once in the strict
#                  book build and once more in a simulated reader's Colab (in parallel), the PDF
#                  built and checked, the built book checked in a real browser
#
# Every chapter is executed by the book build into jupyter-book's cache (_build/.jupyter_cache,
# one entry per chapter); the HTML and the PDF builders both read it. `make book` re-executes
# a chapter when its code changes, and every chapter when linbook or the requirements change.
# `make test` starts from an empty cache, so each chapter runs exactly once in the build.
# (`pytest --nbmake chapters` still validates chapters one by one on demand: README.md.)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
READER_VENV := .venv-reader
# d2l 0.17.6, only for `make bench` and the linbook-vs-d2l parity test. Installed with
# --no-deps into its own folder (it would pin numpy 1.21.5), never into .venv.
D2L    := bench/.d2l/d2l/__init__.py
BUILD  := _build
CACHE_STAMP := $(BUILD)/.cache-inputs
# Written by the strict build only, after it succeeded: `make book` writes the same HTML but
# never this file, so `make test` after `make book` still runs the strict build.
STRICT := $(BUILD)/.strict-build-ok
SOURCES := _config.yml _toc.yml $(wildcard *.md chapters/*.md _ext/*.py) references.bib
LINBOOK := $(wildcard linbook/*.py)
JB := $(BIN)/jupyter-book

.PHONY: all setup preflight-book preflight-test preflight-pdf book test lint unit html strict \
        reader robust pdf browser sync bench clean

all: book

# A recipe that fails leaves no target behind (a half-written stamp would pass the next run).
.DELETE_ON_ERROR:

preflight-book preflight-test preflight-pdf: preflight-%:
	@$(PYTHON) tools/preflight.py $*

# The build's Python: .venv with requirements.txt (torch first, so nothing pulls a newer one).
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -c "import torch; assert torch.__version__.startswith('2.14.1'), torch.__version__"
	touch $(STAMP)

setup: preflight-book $(STAMP)

# A reader's Python for the reader suite: Colab's packages, and no linbook (the chapters
# install it from the repository URL themselves).
$(READER_VENV)/.installed: tests/reader/colab-requirements.txt
	test -x $(READER_VENV)/bin/python || $(PYTHON) -m venv $(READER_VENV)
	$(READER_VENV)/bin/python -m pip install -q --upgrade pip
	$(READER_VENV)/bin/python -m pip install -q -r tests/reader/colab-requirements.txt
	$(READER_VENV)/bin/python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $@

$(D2L): | $(STAMP)
	$(BIN)/python -m pip install -q --no-deps --target bench/.d2l d2l==0.17.6

# The execution cache is emptied when what the chapters run on changes (linbook, the
# requirements): jupyter-cache itself only looks at the chapters' code cells. Not
# pyproject.toml: a ruff setting changes nothing a chapter runs (its dependencies are ranges
# that requirements.txt pins).
$(CACHE_STAMP): $(LINBOOK) requirements.txt | $(STAMP)
	rm -rf $(BUILD)/.jupyter_cache
	mkdir -p $(BUILD) && touch $@

# Local build: re-executes only the chapters whose code (or linbook) changed.
book: setup $(CACHE_STAMP)
	$(JB) build .
	@echo "open _build/html/index.html"

# The strict HTML build from an empty cache: every chapter executed once, warnings are errors.
# Its own stamp, $(STRICT), is written last: a failed build leaves none (and the HTML of a
# failed build is removed too), so the next `make test` builds again.
$(STRICT): $(SOURCES) $(LINBOOK) $(STAMP) $(CACHE_STAMP)
	rm -rf $(BUILD)/.jupyter_cache $(BUILD)/.doctrees $(BUILD)/html
	LINBOOK_BUILD=1 $(JB) build . -n -W --keep-going || { rm -rf $(BUILD)/html; exit 1; }
	@$(BIN)/python -c "from jupyter_cache import get_cache; \
	n = len(get_cache('$(BUILD)/.jupyter_cache').list_cache_records()); \
	print(f'strict build: {n} notebooks executed, each once, into an emptied cache')"
	touch $@
html strict: $(STRICT)

lint: $(STAMP)
	$(BIN)/ruff check linbook tests tools bench _ext
	$(BIN)/ruff format --check linbook tests tools bench _ext

unit: $(STAMP) $(D2L)
	LINBOOK_REQUIRE_D2L=1 $(BIN)/python -m pytest -q -n 2 tests --ignore=tests/browser \
		--doctest-modules linbook

# The reader suite runs on another PyTorch than the build's (tests/reader/colab-requirements.txt)
# and with a non-zero seed offset, so that a claim tuned to the build's configuration fails here.
reader: $(STAMP) $(READER_VENV)/.installed
	$(BIN)/python tests/reader/reader_suite.py --venv $(READER_VENV) --jobs $(READER_JOBS) \
		--seed-offset $(READER_SEED_OFFSET)
READER_JOBS ?= 1
READER_SEED_OFFSET ?= 4

# The robustness matrix (not part of `make test`: it needs two more PyTorch installs, about
# 4 GB, and ~20 min): every chapter in five configurations, two at a time; the table goes to
# bench/robustness.json, which the status page shows. See tools/robust.py.
ROBUST_VENVS := .venv-torch28/.installed .venv-cpu/.installed
.venv-torch28/.installed: requirements.txt pyproject.toml
	test -x .venv-torch28/bin/python || $(PYTHON) -m venv .venv-torch28
	.venv-torch28/bin/python -m pip install -q torch==2.8.0 torchvision==0.23.0
	grep -v -e '^torch' -e '^-e' requirements.txt > .venv-torch28/requirements.txt
	.venv-torch28/bin/python -m pip install -q -r .venv-torch28/requirements.txt
	.venv-torch28/bin/python -m pip install -q --no-deps -e .
	touch $@
.venv-cpu/.installed: requirements.txt pyproject.toml
	test -x .venv-cpu/bin/python || $(PYTHON) -m venv .venv-cpu
	.venv-cpu/bin/python -m pip install -q torch==2.13.0
	grep -v -e '^torch' -e '^-e' requirements.txt > .venv-cpu/requirements.txt
	.venv-cpu/bin/python -m pip install -q -r .venv-cpu/requirements.txt
	.venv-cpu/bin/python -m pip install -q --no-deps -e .
	.venv-cpu/bin/python -c "import torch; assert torch.__version__ == '2.13.0+cpu', torch.__version__"
	touch $@

robust: $(STAMP) $(ROBUST_VENVS)
	$(BIN)/python tools/robust.py --jobs 2

# The PDF from the same execution: the LaTeX builder reuses the HTML build's environment and
# cache (same _build, same flags: nothing is read or executed again), then latexmk runs
# xelatex; tools/check_pdf.py checks fonts, text, figures and the LaTeX log. The PDF is
# copied next to the site, where intro.md links to it.
pdf: $(STRICT)
	$(JB) build . --builder latex -n -W --keep-going
	$(MAKE) -C $(BUILD)/latex all-pdf LATEXMKOPTS=-xelatex \
		LATEXOPTS="-interaction=nonstopmode -halt-on-error"
	$(BIN)/python tools/check_pdf.py
	cp $(BUILD)/latex/linbook.pdf $(BUILD)/html/linbook.pdf

browser: $(STRICT)
	LINBOOK_REQUIRE_BROWSER=1 LINBOOK_REQUIRE_PDF=$(REQUIRE_PDF) $(BIN)/python -m pytest -q tests/browser

# Everything, as CI runs it. The strict build and the reader suite, the two long parts, run
# side by side (one chapter at a time each: two streams on two cores).
test: preflight-test $(STAMP) $(READER_VENV)/.installed $(D2L)
	$(MAKE) lint unit
	$(MAKE) -j2 strict reader
	$(MAKE) pdf
	$(MAKE) browser REQUIRE_PDF=1

# Re-pair every chapter: edit the .md, then run this to refresh its .ipynb.
sync: $(STAMP)
	$(BIN)/jupytext --sync $$(grep -l "^jupytext:" chapters/*.md)

# The benchmark runs with OpenMP's default wait policy (idle threads spin), the fastest on an
# idle machine; on a busy one pass BENCH_OMP_WAIT_POLICY=PASSIVE (see bench/README.md).
BENCH_OMP_WAIT_POLICY ?=
bench: $(STAMP) $(D2L)
	env -u OMP_WAIT_POLICY $(if $(BENCH_OMP_WAIT_POLICY),OMP_WAIT_POLICY=$(BENCH_OMP_WAIT_POLICY)) \
		PYTHONPATH=bench/.d2l $(BIN)/python bench/bench_fashion_mnist.py $(BENCH_ARGS)

clean:
	rm -rf $(BUILD)
