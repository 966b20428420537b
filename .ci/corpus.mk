# `make corpus-check`: awaitify migrate over a copy of every .py of the venv's site-packages
# (.ci/corpus_check.py prints the figures and fails on any crash, corruption or collateral change).
# Included from the top Makefile; CORPUS_ARGS passes options through, e.g. CORPUS_ARGS="--limit 500".

CORPUS_ARGS ?=

.PHONY: corpus-check reliability

corpus-check: install
	$(BIN)/python .ci/corpus_check.py --python $(BIN)/python $(CORPUS_ARGS)

# The reliability suite alone (slow tests included): tests/reliability/.
reliability: install
	$(BIN)/python -m pytest -n auto -q tests/reliability -m "not faults"
