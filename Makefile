# evalledger: `make demo` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Test on all three backends unless told otherwise; unreachable servers fail the run.
export EVALLEDGER_TEST_BACKENDS ?= sqlite,postgresql,mariadb
PYTEST_WORKERS ?= 2
# `make bench` compares evalledger's server with MLflow's own, installed in its own virtualenv.
MLFLOW_SERVER_VENV := .venv-mlflow-server
MLFLOW_SERVER_VERSION := 3.17.2
MLFLOW_SERVER_STAMP := $(MLFLOW_SERVER_VENV)/.installed-$(MLFLOW_SERVER_VERSION)-with-drivers

.PHONY: install demo test bench lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/evalledger demo

test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -p no:cacheprovider

bench: install $(MLFLOW_SERVER_STAMP)
	EVALLEDGER_BENCH_MLFLOW=$(CURDIR)/$(MLFLOW_SERVER_VENV)/bin/mlflow $(BIN)/python -m bench $(BENCH_ARGS)

# MLflow's side of the side-by-side also runs on PostgreSQL and MariaDB: their drivers too.
$(MLFLOW_SERVER_STAMP):
	$(PYTHON) -m venv $(MLFLOW_SERVER_VENV)
	$(MLFLOW_SERVER_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MLFLOW_SERVER_VENV)/bin/python -m pip install --quiet 'mlflow==$(MLFLOW_SERVER_VERSION)'
	$(MLFLOW_SERVER_VENV)/bin/python -m pip install --quiet 'psycopg[binary]~=3.3.9' 'PyMySQL~=1.2.4'
	touch $@

# import-linter reads packages from disk, so it gets the layout the wheel installs.
LINT_TREE := build/lint
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -rf $(LINT_TREE) && mkdir -p $(LINT_TREE)/evalledger
	cp -R api/. $(LINT_TREE)/evalledger/
	for d in ledger projections migrations; do cp -R $$d $(LINT_TREE)/evalledger/$$d; done
	cd $(LINT_TREE) && PYTHONPATH=. $(CURDIR)/$(BIN)/lint-imports $(CURDIR)/pyproject.toml

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(MLFLOW_SERVER_VENV) *.egg-info .pytest_cache .ruff_cache .hypothesis build
