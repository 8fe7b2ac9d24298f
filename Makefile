# Milling Directions. `make help` lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := build/demo
DEMO_STORE := sqlite:///$(DEMO)/mlflow.db
TEST_WORKERS ?= 2
BPY ?= 4.2.23
BPY_LTS := 4.2.23 4.5.15
BPY_VENV = .venv-bpy-$(BPY)

.PHONY: help setup lint test test-blender docs demo model addon bench team-server clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## Create or reuse .venv and install everything (bpy, TensorFlow, MLflow, dev tools)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "error: Python 3.11 is required (bpy 5.0.1 is built for 3.11 only); run: make PYTHON=/path/to/python3.11 ..." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[all]'
	@touch $@

lint: setup ## Check style with ruff, and the import contracts (.importlinter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@out=$$($(VENV)/bin/lint-imports --no-cache) || { echo "$$out"; exit 1; }; echo "$$out" | grep "Contracts:"

docs: setup ## Build the documentation site into build/site (--strict), its generated pages first
	$(PY) docs/generate.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

test: setup lint ## Set up, lint, run the whole suite (bpy 5.0.1), then the add-on's tests on the LTS bpy
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=10
	@for v in $(BPY_LTS); do $(MAKE) --no-print-directory test-blender BPY=$$v || exit 1; done

test-blender: ## Run the add-on's bpy tests on another Blender, in a venv of its own (BPY=4.2.23)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "error: Python 3.11 is required (the bpy wheels are built for it)" >&2; exit 1; }
	@test -f $(BPY_VENV)/.installed || { rm -rf $(BPY_VENV) && $(PYTHON) -m venv $(BPY_VENV) && \
	  $(BPY_VENV)/bin/python -m pip install --quiet --disable-pip-version-check bpy==$(BPY) \
	  numpy==1.26.4 pillow manifold3d embreex pytest pytest-xdist && touch $(BPY_VENV)/.installed; }
	@echo "bpy $(BPY): the add-on's tests (those that need the trainer's TensorFlow or MLflow are left out)"
	$(BPY_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/blender -m "not trainer"

demo: setup ## Set up and run the pipeline end to end (demo.py): parts, meta-images, both models, table
	$(PY) demo.py --out $(DEMO)

model: setup ## Train the add-on's built-in model (model.py) into blender_addon/models/
	$(PY) model.py

addon: ## Build the installable Blender extension zip into dist/ (Python 3.11 alone: no setup)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "error: Python 3.11 or newer is needed to build the zip; run: make PYTHON=/path/to/python3.11 addon" >&2; exit 1; }
	$(PYTHON) -m blender_addon.package --out dist

bench: setup ## Run the speed benchmarks (bench/speed/; they print their figures)
	$(PY) bench/speed/render.py
	$(PY) bench/speed/setups.py
	$(PY) bench/speed/parts.py
	$(PY) bench/speed/train.py
	$(PY) bench/speed/predict.py
	$(PY) bench/speed/faults.py
	$(PY) bench/generalise.py
	$(PY) bench/speed/scale.py
	@if [ -f $(DEMO)/mlflow.db ]; then $(PY) bench/families.py --data $(DEMO)/images_unseen \
	  --tracking-uri $(DEMO_STORE); else echo "bench/families.py: run make demo first"; fi

team-server: setup ## Run a team's MLflow server on PostgreSQL here, data in team-store/ (PORT=, HOST=)
	$(PY) -m trainer team-server --dir team-store --host $(or $(HOST),127.0.0.1) --port $(or $(PORT),5000)

clean: ## Remove build outputs (keeps .venv)
	rm -rf build dist .pytest_cache .ruff_cache
