# `make`       : set up .venv and run the main job (snakemake on configs/default.yaml) -> reports/*.pdf
# `make test`  : set up .venv if needed, check the import layers (pyproject.toml) and run every test
# `make test-fast`: the fast tier (under 3 minutes on 2 cores): the parts' own tests, no training end to end
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all run test test-fast bench clean

# The fast tier: tests of the math, environments, results, report and bench, and the architecture; not the
# workflow, training, soak, A3C/DQN runs or bad-input CLI sessions (tests/workflow, tests/runs, ...), nor a test
# marked slow. pytest exits 5 when it selects no test, which fails the target like any other failure.
FAST_TESTS := tests/test_docs.py tests/test_architecture.py tests/core tests/envs tests/results tests/report \
              tests/bench tests/peers tests/algorithms/test_replay.py

all: run

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores all

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -rs --durations=12 -n 2 --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -rs -n 2 --dist loadfile -m 'not slurm and not slow' $(FAST_TESTS)

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/snakemake --cores all bench

clean:
	rm -rf results reports/*.pdf reports/games reports/replication reports/report.html .snakemake
