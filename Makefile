# Every target bootstraps the local venv idempotently from the project's own files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HF0    := .venv-hf0
HF0_VERSION := 0.26.5

.PHONY: venv demo test lint format bench bench-quick bench-deps system-deps clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# An older huggingface_hub, still common on CN images, in its own venv for conformance tests.
$(HF0)/.installed: Makefile
	test -x $(HF0)/bin/python || $(PYTHON) -m venv $(HF0)
	$(HF0)/bin/python -m pip install -q 'huggingface_hub==$(HF0_VERSION)'
	touch $@

system-deps:
	bash tools/system-deps.sh

demo: venv
	$(BIN)/kuaidi demo

test: venv $(HF0)/.installed system-deps
	KUAIDI_HF0_PYTHON=$(CURDIR)/$(HF0)/bin/python $(BIN)/python -m pytest -n 2 -q tests

lint: venv
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format src tests bench tools
	$(BIN)/ruff check --fix src tests bench tools

# The suite's own setup: aria2c + curl (system-deps), hf + modelscope (dev), matplotlib + psutil.
bench-deps: venv system-deps $(VENV)/.bench-installed

$(VENV)/.bench-installed: pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $@

# Everything (~40 min on 2 cores; BENCH="flaky resume" runs some), and the < 10 min subset.
# Both rewrite their marked sections of docs/benchmarks.md and the PNGs in docs/.
bench: bench-deps
	$(BIN)/python -m bench $(BENCH)

bench-quick: bench-deps
	$(BIN)/python -m bench --quick $(BENCH)

clean:
	rm -rf $(VENV) $(HF0) .pytest_cache build *.egg-info src/*.egg-info
