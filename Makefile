# Two commands: `make up` sets up this machine and runs Wharf; `make test` runs every test.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: install services up test lint bench clean

$(STAMP): pyproject.toml
	@echo "==> installing Wharf and its Python packages into $(VENV)"
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

services:
	@scripts/services.sh

up: install
	@scripts/docker.sh
	@scripts/caddy.sh
	@scripts/registry.sh
	$(BIN)/wharf up

lint: install
	$(BIN)/ruff check wharf tests bench
	$(BIN)/mypy

test: install services lint
	$(BIN)/pytest -q

bench: install services
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
