# Every target bootstraps the local venv idempotently from the project's own files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HF0    := .venv-hf0
HF0_VERSION := 0.26.5

.PHONY: venv demo test lint format bench system-deps clean

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

bench: venv system-deps
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) $(HF0) .pytest_cache build *.egg-info src/*.egg-info
