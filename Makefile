# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench bench-quick serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/automation demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check automation tests bench migrations

# Every bench/*.py, then one table of figures, baselines, targets (ARGS go to each bench).
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(ARGS)

bench-quick: $(STAMP)
	$(BIN)/python bench/run_all.py --quick $(ARGS)

serve: $(STAMP)
	$(BIN)/automation db upgrade
	$(BIN)/automation serve

clean:
	rm -rf $(VENV) outbox demo-out automation.db automation.db-wal automation.db-shm \
		automation.db.scheduler.lock serve.log
