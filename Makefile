# Two commands do everything on a fresh clone (Python 3.11+ and git):
#   make repro   create .venv if missing, install, run the whole DVC pipeline on params.yaml's data
#   make test    same set-up, then the notebooks' inline tests and the pytest suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: install repro test test-fast sync-check params-schema readme hooks lab docs serve bench bench-phase4 clean-outputs

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

repro: $(STAMP)
	dvc repro
	@ml-lifecycle status

# notebooks' inline tests (stage cells skipped), then the pytest suite (e2e included)
test: $(STAMP)
	nbdev-test --n-workers 2
	pytest

# the quick loop while writing notebooks: inline tests and unit tests, no pipeline runs
test-fast: $(STAMP)
	nbdev-test --n-workers 2
	pytest -m "not e2e"

# after editing notebooks: regenerate the library and the README, strip outputs, as CI checks
sync-check: $(STAMP)
	nbdev-clean
	nbdev-export
	python tools/docs.py --readme

# params.schema.json from the params model (nbs/03_params.ipynb): editors check params.yaml against it
params-schema: $(STAMP)
	python -c "from ml_lifecycle.params import write_schema; write_schema('params.schema.json')"

# a git pre-commit hook that refuses notebooks with outputs and a library or README out of sync with nbs/
hooks: $(STAMP)
	ln -sf ../../tools/pre-commit "$$(git rev-parse --git-path hooks)/pre-commit"
	@echo "pre-commit hook installed: tools/pre-commit"

# README.md is nbs/index.ipynb written out as markdown (nbdev-readme does the same where Quarto is installed)
readme: $(STAMP)
	python tools/docs.py --readme

# JupyterLab with the project's kernel (`ml_lifecycle`, this venv's Python) registered inside the venv
lab: $(STAMP)
	python -m ipykernel install --sys-prefix --name ml-lifecycle --display-name "ml_lifecycle"
	jupyter lab --notebook-dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root)

# the offline docs site in _docs/ (open _docs/index.html): library pages from nbs/, the last run's executed
# notebooks and reports from reports/ (run `make repro` first for those)
docs: $(STAMP)
	python tools/docs.py

# the prediction API on http://127.0.0.1:8000 (the registry's champion, else models/model with a warning)
serve: $(STAMP)
	ml-lifecycle serve

bench: $(STAMP)
	python bench/phase1.py --rows 1000000 5000000

# phase-4 targets, after `make repro`: API load test (needs `wrk`: apt-get install wrk), batch scoring, drift on 1M rows
bench-phase4: $(STAMP)
	python bench/serve.py
	python bench/score.py
	python bench/drift.py
