# Benchmarks of issue 7: `make bench` (include this file from the top Makefile; until then `make -f bench/bench.mk bench`).
# Writes bench/results.json, bench/results.md and bench/plot.png. Needs PostgreSQL on 127.0.0.1:5432 (user postgres)
# and Redis on 127.0.0.1:6379; BENCH_ARGS passes options to bench/run.py (e.g. BENCH_ARGS="--skip-runtime").
BIN ?= .venv/bin
BENCH_ARGS ?=

.PHONY: bench

bench: $(if $(wildcard $(BIN)/python),,install)
	$(BIN)/python -c "import matplotlib" 2>/dev/null || $(BIN)/python -m pip install --quiet matplotlib
	$(BIN)/python -m bench.run $(BENCH_ARGS)
