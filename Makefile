# kerasrec: every target creates .venv and installs into it on first use.
#   make recipe-baseline                  run a recipe at full size
#   make recipe-baseline ARGS=--quick     pass flags through to the script
#   make test                             the test suite (what CI runs)

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=
ONLY ?=
WORKERS ?= 2
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: install test results bench clean recipe-baseline recipe-lr-schedules recipe-early-stopping \
	recipe-lr-range-test recipe-grid-vs-random recipe-playbook recipe-search-distributed \
	recipe-ensembles recipe-snapshot-ensemble recipe-ema

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# pytest exits 5 when it collected no tests: that is a failure, not a pass.
test: $(STAMP)
	$(PY) -m pytest -q $(ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: no tests were collected" >&2; fi; \
	exit $$status

# recipe-foo-bar runs recipes/foo_bar.py
recipe-baseline recipe-lr-schedules recipe-early-stopping recipe-lr-range-test \
recipe-grid-vs-random recipe-ensembles recipe-snapshot-ensemble recipe-ema: recipe-%: $(STAMP)
	$(PY) recipes/$(subst -,_,$*).py $(ARGS)

# The main job: the whole tuning procedure, one command.
recipe-playbook: $(STAMP)
	$(PY) recipes/tuning_playbook.py $(ARGS)

# One KerasTuner search shared by a chief and WORKERS workers on 127.0.0.1.
recipe-search-distributed: $(STAMP)
	$(PY) recipes/search_distributed.py $(ARGS) --workers $(WORKERS)

# Reruns every recipe at full size and the benchmarks, then rewrites
# RESULTS.md and the README's results column. ONLY=name[,name] reruns just
# those entries and keeps the others' last results (see tools/results.py).
results: $(STAMP)
	$(PY) tools/results.py $(if $(ONLY),--only $(ONLY))

bench: $(STAMP)
	$(PY) bench/run.py $(ARGS)

clean:
	rm -rf runs .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
