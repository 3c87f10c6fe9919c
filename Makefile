# cliffkit: `make demo` and `make test` set everything up on first use.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cliffkit-installed
# Tests and the demo read the offline data here; the package never names this path.
export CLIFFKIT_DATA_DIR ?= $(abspath ../shared/data)
export MPLBACKEND := Agg
DEMO_OUT ?= demo_out
# Two worker processes with one thread each use 2 cores better than one process with two.
DEMO_JOBS ?= 2

.PHONY: demo test install lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,ray]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests

demo: $(STAMP)
	$(BIN)/cliffkit describe lipophilicity
	$(BIN)/cliffkit bench --config demo -o $(DEMO_OUT)/results --n-jobs $(DEMO_JOBS)
	$(BIN)/cliffkit report $(DEMO_OUT)/results -o $(DEMO_OUT)/report
	@echo "Report: $(abspath $(DEMO_OUT))/report/report.html"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
