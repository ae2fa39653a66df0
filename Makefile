# memoryd: `make run` starts the daemon; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

# The semantic leg's packages (onnxruntime, tokenizers, numpy, onnx and the model, no PyTorch)
# are base dependencies: `make run` and the tests both get them.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/memoryd serve

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

# tests/service lint the generated units with systemd-analyze and emulate socket activation
# with systemd-socket-activate: the tools of Debian's systemd package (systemd is not run).
.PHONY: service-tools
service-tools:
	@command -v systemd-analyze >/dev/null && command -v systemd-socket-activate >/dev/null || \
	{ SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends systemd; }

# tests/hub start throwaway PostgreSQL clusters with initdb/pg_ctl (Debian's postgresql package
# keeps them in /usr/lib/postgresql/*/bin); tests/pg.py finds them there or in PATH.
.PHONY: pg-tools
pg-tools:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	{ SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends postgresql; }

# tests/viewer drive the memory viewer in a headless Chromium through chromedriver: Debian's
# chromium and chromium-driver (selenium is pointed at them and never downloads a browser).
.PHONY: browser-tools
browser-tools:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	{ SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	  chromium chromium-driver; }

# tests/shim/test_claude_cli.py drive the pinned Claude Code CLI (.ci/claude-code, offline):
# installed with npm when npm is available, and then required (a missing binary fails the tests
# instead of skipping them).
CLAUDE_CLI := .ci/claude-code/node_modules/.bin/claude
$(CLAUDE_CLI): .ci/claude-code/package.json .ci/claude-code/package-lock.json
	cd .ci/claude-code && npm ci --no-audit --no-fund --loglevel=error
	touch -h $@

.PHONY: claude-cli
claude-cli:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory $(CLAUDE_CLI); \
	else echo "npm not found: the Claude Code CLI tests will be skipped"; fi

pytest: $(VENV)/.dev-installed service-tools pg-tools browser-tools claude-cli
	MEMORYD_REQUIRE_CLAUDE_CLI=$$(command -v npm >/dev/null && echo 1) $(BIN)/pytest

test: lint typecheck pytest

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/recall_latency.py
	$(BIN)/python bench/store_throughput.py
	$(BIN)/python bench/shim_latency.py
	$(BIN)/python bench/viewer_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
