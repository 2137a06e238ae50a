# Every target creates the virtual environment and installs what it needs itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: setup run test lint typecheck layers pytest bench sample clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

## The main job on the bundled real sample.
run: $(STAMP)
	$(BIN)/harvester run --data sample

## The whole test suite: lint, types, layer contracts, tests.
test: lint typecheck layers pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

layers: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

## Benchmarks against peers (vectorbt, backtrader, backtesting.py); they read ../shared/data.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/bench_panel_load.py
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_features.py --set all
	$(BIN)/python bench/bench_hmm.py
	$(BIN)/python bench/bench_sentiment.py
	$(BIN)/python bench/bench_e2e.py
	$(BIN)/python bench/bench_rally.py
	$(BIN)/python bench/bench_research.py
	$(BIN)/python bench/bench_scan.py
	$(BIN)/python bench/bench_retrain.py

## Rebuild the bundled sample and reference lists from ../shared/data.
sample: $(STAMP)
	$(BIN)/python scripts/build_sample.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
