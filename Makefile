# Two commands do everything on a fresh clone (Python 3.11+ and git):
#   make repro   create .venv if missing, install, run the whole DVC pipeline on params.yaml's data
#   make test    same set-up, then the notebooks' inline tests and the pytest suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: install repro test test-fast sync-check lab bench clean-outputs

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

repro: $(STAMP)
	dvc repro
	dvc metrics show

# notebooks' inline tests (stage cells skipped), then the pytest suite (e2e included)
test: $(STAMP)
	nbdev-test --n-workers 2
	pytest

# the quick loop while writing notebooks: inline tests and unit tests, no pipeline runs
test-fast: $(STAMP)
	nbdev-test --n-workers 2
	pytest -m "not e2e"

# after editing notebooks: regenerate the library and strip outputs, as CI checks
sync-check: $(STAMP)
	nbdev-clean
	nbdev-export

lab: $(STAMP)
	jupyter lab --notebook-dir=$(CURDIR)

bench: $(STAMP)
	python bench/phase1.py --rows 1000000 5000000
