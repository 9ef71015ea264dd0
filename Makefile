# Two commands set everything up on a fresh Linux machine with Python 3.11+:
#   make run    installs into .venv and starts the bot (Telegram and/or WhatsApp when their settings are set,
#               otherwise a chat in this terminal on the demo catalog, kept in ~/.local/share/blkbot)
#   make test   installs and runs the whole suite (SQLite, and PostgreSQL where one answers)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/blkbot start

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -n auto  # one worker per core (pytest-xdist): each has its own databases

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/conversation_load.py --residents 50

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
