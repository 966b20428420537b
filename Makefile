# awaitify — see README.md. Every target installs what it needs first (`make install`).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := demo-out
PYTEST_ARGS ?=

.PHONY: install demo test test-pg test-faults lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (awaitify needs Python 3.11)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# Debian's chromium renders the HTML report in a test; best effort (root + apt), the test says if it is absent
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "note: chromium not installed: the HTML report rendering test will be skipped"; }
	touch $(STAMP)

## The main job: migrate a copy of target_backend/, show the diff, the report, the check, and the result answering requests
demo: install
	rm -rf $(DEMO) && mkdir -p $(DEMO) && cp -r target_backend $(DEMO)/backend-async
	@echo "== awaitify migrate --diff (dry run: nothing written) =="
	$(BIN)/awaitify migrate --diff $(DEMO)/backend-async > $(DEMO)/migration.diff; test $$? -le 1
	@head -n 60 $(DEMO)/migration.diff; echo "... (full diff: $(DEMO)/migration.diff, $$(wc -l < $(DEMO)/migration.diff) lines)"
	@echo "== awaitify migrate (writes the files) =="
	$(BIN)/awaitify migrate --allow-dirty --report $(DEMO)/report.md $(DEMO)/backend-async  # a scratch copy git ignores
	@echo "== awaitify check on the migrated tree: only the deliberate review items remain =="
	-$(BIN)/awaitify check $(DEMO)/backend-async
	@echo "== the migrated backend on SQLite (aiosqlite) =="
	$(BIN)/python fixtures/demo/serve_demo.py $(DEMO)/backend-async

## The whole suite, in parallel. PostgreSQL legs run when AWAITIFY_PG_URL is set (.ci/run sets it).
test: install
	$(BIN)/python -m pytest -n auto -q $(PYTEST_ARGS)

test-pg: install
	AWAITIFY_PG_URL=$${AWAITIFY_PG_URL:-postgresql://postgres@127.0.0.1:5432/test} $(BIN)/python -m pytest -n auto -q $(PYTEST_ARGS)

## The migrated backend under faults alone (private PostgreSQL cluster and Redis; part of `make test` too)
test-faults: install
	$(BIN)/python -m pytest -n 2 -q tests/faults $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check codemods tests bench .ci
	$(BIN)/ruff format --check codemods tests bench .ci
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO) build dist *.egg-info

include .ci/arm64/arm64.mk
include bench/bench.mk
include .ci/corpus.mk
