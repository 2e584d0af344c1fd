# `make`       : set up .venv and run the main job (snakemake on configs/default.yaml) -> reports/*.pdf
# `make test`  : set up .venv if needed and run the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all run test bench clean

all: run

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores all

test: $(STAMP)
	$(BIN)/python -m pytest -q -rs --durations=12 -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/snakemake --cores all bench

clean:
	rm -rf results reports/*.pdf reports/games reports/replication reports/report.html .snakemake
