# The two commands of the quick start: `make demo` and `make test`.
# Both create a virtual environment in .venv on first use and install xsync into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test lint bench clean torture contract

# uv installs in seconds what pip takes 30 to 90 s over: the uv on PATH when there is one, else
# one that pip puts in .venv/uv (3 s); pip alone when neither works. Both compile the packages'
# bytecode at install, so that no run compiles them again (with PYTHONDONTWRITEBYTECODE set, as
# on some machines, every process otherwise would). The demo needs only xsync's own
# dependencies; the tests add the test tools (`.[test]`).
define install
	test -x $(BIN)/python || $(PYTHON) -m venv --without-pip $(VENV)
	@uv="$$(command -v uv || true)"; \
	if [ -z "$$uv" ] && $(PYTHON) -m pip install --quiet --target $(VENV)/uv uv 2>/dev/null; then \
		uv=$(VENV)/uv/bin/uv; fi; \
	if [ -n "$$uv" ] && "$$uv" pip install --quiet --compile-bytecode \
			--python $(BIN)/python -e '$(1)'; then \
		echo "installed $(1) with $$uv"; \
	else \
		echo "installing $(1) with pip"; \
		$(BIN)/python -m ensurepip --upgrade >/dev/null && \
		$(BIN)/python -m pip install --quiet -e '$(1)'; \
	fi
	touch $@
endef

$(STAMP): pyproject.toml
	$(call install,.)

$(TEST_STAMP): pyproject.toml
	$(call install,.[test])
	touch $(STAMP)

# xsync's own bytecode, brought up to date (a no-op when it is)
BYTECODE := $(BIN)/python -m compileall -q src

demo: $(STAMP)
	@$(BYTECODE)
	$(BIN)/python examples/demo.py

lint: $(TEST_STAMP)
	@$(BYTECODE)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/mypy

# the fast suite on one and a half workers a core, three for two (most tests wait on loopback or
# a child process, so a third worker fills what two leave idle; a fourth costs more in contention
# than it fills); the tests marked slow (tests/conftest.py says which) run under `make torture`
WORKERS ?= $(shell n=$$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1); echo $$(( n + (n + 1) / 2 )))
# mypy checks the types beside the tests rather than before them (the tests leave a core idle
# while they wait on loopback); its report is printed after theirs, and either failing fails.
# pytest rewrites every test module's asserts on import and caches the result as bytecode: one
# collection first, in one process, fills that cache, so that each worker loads the modules
# rather than rewriting them all again (with PYTHONDONTWRITEBYTECODE set, as on some machines,
# nothing would be cached and every worker would)
test: $(TEST_STAMP)
	@$(BYTECODE)
	$(BIN)/ruff check src tests examples benchmarks
	@$(BIN)/mypy > $(VENV)/mypy.out 2>&1 & mypy=$$!; \
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -m "not slow" -p no:xdist --collect-only \
		> /dev/null 2>&1; \
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -m "not slow" -n $(WORKERS); tests=$$?; \
	wait $$mypy; types=$$?; echo "mypy: $$(tail -n 1 $(VENV)/mypy.out)"; \
	[ $$types -eq 0 ] || cat $(VENV)/mypy.out; \
	[ $$tests -eq 0 ] && [ $$types -eq 0 ]

# the long sweeps and the slowest tests: kill -9 at many points, fault mixes, repeated
# concurrent runs, the demo, the whole bad-row sweep
torture: $(TEST_STAMP)
	@$(BYTECODE)
	$(BIN)/pytest -q -m slow

# every kind of request xsync sends, validated by Prism serving Xero's OpenAPI document
# (XSYNC_XERO_SPEC: the path of xero_accounting.yaml; needs node and npm)
contract: $(TEST_STAMP)
	.ci/prism.sh
	XSYNC_XERO_SPEC=$${XSYNC_XERO_SPEC:?set it to the path of xero_accounting.yaml} $(BIN)/pytest -q tests/contract

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
