# The two commands of the quick start: `make demo` and `make test`.
# Both create a virtual environment in .venv on first use and install xsync into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean torture contract

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q -m "not slow"

# the long sweeps: kill -9 at many points, fault mixes, repeated concurrent runs
torture: $(STAMP)
	$(BIN)/pytest -q -m slow

# every kind of request xsync sends, validated by Prism serving Xero's OpenAPI document
# (XSYNC_XERO_SPEC: the path of xero_accounting.yaml; needs node and npm)
contract: $(STAMP)
	.ci/prism.sh
	XSYNC_XERO_SPEC=$${XSYNC_XERO_SPEC:?set it to the path of xero_accounting.yaml} $(BIN)/pytest -q tests/contract

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
