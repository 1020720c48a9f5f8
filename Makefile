# The course's commands. `make help` lists them; README.md explains them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := dl-course
JOBS   ?= 2
SUBMISSIONS ?=# default: grading/submitted, where `course collect` puts them
ASSIGNMENT  ?= 01_fundamentals
BOOK_MODE   ?= full
LAB_ARGS    ?=# e.g. LAB_ARGS="--no-browser --port 8890"
GRADE_ARGS  ?=# e.g. GRADE_ARGS="--force --workers 4" or "--dask tcp://scheduler:8786"
HUB_ARGS    ?=# e.g. HUB_ARGS="--students 30 --port 8000"

.PHONY: help setup system data lab formgrader hub test release book grade bench mutation misconceptions clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'
	@echo "  variables: SUBMISSIONS=$(SUBMISSIONS) ASSIGNMENT=$(ASSIGNMENT) BOOK_MODE=$(BOOK_MODE) JOBS=$(JOBS)"

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run: make PYTHON=/path/to/python3.11 ..."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "error: $(PYTHON) is not Python 3.11 (the pins are tested with 3.11 only)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 ($(KERNEL))"
	$(BIN)/python scripts/configure_lab.py
	touch $(STAMP)

setup: $(STAMP) system data ## create .venv with the pinned packages, the kernel, the grading jail and the offline data

system: ## install the Debian packages grading and the browser tests need (bubblewrap, chromium) where allowed
	@bash scripts/install_system.sh

data: ## install the offline datasets where the system allows it
	@bash scripts/install_data.sh

lab: setup ## start JupyterLab on notebooks/ (with the nbgrader extensions)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(LAB_ARGS) $(if $(filter 0,$(shell id -u)),--allow-root)

formgrader: $(STAMP) ## start JupyterLab on the grading course (formgrader, manual grading; MathJax served locally)
	-$(BIN)/course formgrader-template
	mkdir -p grading
	cd grading && JUPYTER_PATH=$(CURDIR)/build/jupyter ../$(BIN)/jupyter lab $(LAB_ARGS) $(if $(filter 0,$(shell id -u)),--allow-root)

hub: setup ## (as root) JupyterHub for a demo class on this server: accounts, exchange, formgrader; HUB_ARGS="--ip 0.0.0.0"
	$(BIN)/course hub start $(HUB_ARGS)

test: setup ## run every check: utils, notebooks, release sync, grading self-test, book
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --durations=40

release: $(STAMP) ## regenerate notebooks/ from solutions/ (never deletes before it succeeds)
	$(BIN)/course release

book: $(STAMP) ## build the Jupyter Book site offline into build/book/_build/html
	$(BIN)/course book --mode $(BOOK_MODE)

grade: $(STAMP) ## autograde ASSIGNMENT from grading/submitted (after course collect) or SUBMISSIONS=<dir>
	$(BIN)/course grade --assignment $(ASSIGNMENT) $(if $(SUBMISSIONS),--submissions $(SUBMISSIONS)) $(GRADE_ARGS)

bench: $(STAMP) ## measure chapter run times, utils speed and memory, grading a class of 60; print them
	$(BIN)/course bench

mutation: $(STAMP) ## mutation-test every exercise: mutants killed, survived, caught by the public tests
	$(BIN)/course mutation

misconceptions: $(STAMP) ## measure the misconception diagnosis: known wrong answers named, correct ones never
	$(BIN)/course misconceptions

clean: ## remove build outputs (keeps .venv)
	rm -rf build grading .pytest_cache
