# trustfloor: `make demo` runs the simulated site, `make test` runs every check.
# Both set up what they need first: a virtualenv (.venv), the Node tools (node_modules).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup demo test lint typecheck unit clean system-deps lock

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# `npm install` honours package-lock.json; `npm ci` refuses it because npm leaves the other
# platforms' optional anvil binaries out of the lock.
$(NODE_STAMP): package.json package-lock.json | system-deps
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# Debian packages the tests need, installed only when missing (CI runs as root).
system-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq nodejs npm)
	@command -v victoria-metrics >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq victoria-metrics)
	@command -v chromium >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium)

# The demo tells its story in a few minutes, prints a last summary and stops; run
# `.venv/bin/trustfloor demo` to keep it running until Ctrl+C.
DEMO_SECONDS ?= 360
demo: setup
	$(BIN)/trustfloor demo --duration $(DEMO_SECONDS)

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(PY_STAMP)
	$(BIN)/mypy

unit: $(PY_STAMP)
	$(BIN)/pytest tests/unit -q

test: setup system-deps lint typecheck
	$(BIN)/pytest -q --durations=25

clean:
	rm -rf $(VENV) node_modules var .mypy_cache .ruff_cache

# Refresh constraints.txt from the current virtualenv after changing dependencies.
lock: $(PY_STAMP)
	{ echo "# Exact versions for a reproducible install (pip install -c constraints.txt). Regenerate: make lock"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e'; } > constraints.txt
