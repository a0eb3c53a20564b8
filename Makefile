# The README's two commands: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
PORT ?= 8501

.PHONY: run test bench lint init worker clean doc-images

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@ $(STAMP) $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/studio init
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

test: $(DEV_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

bench: $(BENCH_STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

doc-images: $(DEV_STAMP)
	STUDIO_DOC_IMAGES=1 $(BIN)/python -m pytest -q -n 0 tests/e2e/test_session_browser.py tests/e2e/test_songs_browser.py

worker: $(STAMP)
	$(BIN)/studio worker --concurrency 2

clean:
	rm -rf $(VENV) var/test-*
