# Two commands for a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: run test install install-test build-tools postgresql lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null

# torch (the 'fast' extra: bulk ingest in bfloat16, assistant/store/e5_bf16.py) is pinned to the CPU
# build first; a plain requirement would pull a multi-GB CUDA build.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e '.[fast]'
	touch $@

# The llm-server extra builds llama-cpp-python from source (about 5.5 min, once: pip keeps the wheel
# in its cache), hence the compiler and cmake. It is built for a generic x86-64 CPU: llama-cpp-python
# 0.3.36 built for the build machine (GGML_NATIVE, with its AVX-512 and AMX kernels) crashed on any
# prompt of more than one token on our Xeon machines.
$(VENV)/.installed-test: $(VENV)/.installed | build-tools
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -e '.[test,llm,llm-server]'
	touch $@

build-tools:
	@command -v g++ >/dev/null && command -v cmake >/dev/null || { \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq g++ cmake; }

# Browser tests drive Debian's chromium through Playwright (never `playwright install`).
/usr/bin/chromium:
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-color-emoji

# The question-log test also runs on a throwaway PostgreSQL cluster when Debian's server is there; a
# machine without it (and without apt) skips that one test rather than failing.
postgresql:
	@test -x /usr/lib/postgresql/*/bin/initdb 2>/dev/null || { \
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	{ $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql; } >/dev/null 2>&1 \
	|| echo "postgresql not installed: its test is skipped"; }

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# app.py first brings the index in line with corpus/ (incremental: a missing index is built with a
# progress bar, a stale one updated, an unchanged one checked in well under a second), then serves.
run: install
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/python app.py --host $(HOST) --port $(PORT)

test: install-test /usr/bin/chromium postgresql
	$(BIN)/ruff check assistant tests eval examples app.py
	$(BIN)/pytest -q

lint: install-test
	$(BIN)/ruff check assistant tests eval examples app.py
	$(BIN)/ruff format --check assistant tests eval app.py

bench: install
	$(BIN)/python eval/bench_retrieval.py

clean:
	rm -rf .index .cache test-output
