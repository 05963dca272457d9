# Two entry points on a fresh machine: `make demo` and `make test`.
# Each creates .venv (once) and installs tensorir with what it needs: the
# `test` extra, and the `examples` extra (scikit-learn for the digits data,
# matplotlib for the training curve that `make demo` saves to mlp.png).
# `make bench` also installs the benchmark extras (JAX, PyTensor).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test venv bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test,examples]"
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q -e ".[test,examples,bench]"
	touch $(BENCH_STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/mlp.py

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV)
