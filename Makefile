# The two commands of the README. Both create .venv when it is missing and install calib into it:
# `make report` the runtime set only, `make test` adds the development set (pytest, the
# cross-check libraries, the browser driver, the Genesys SDK).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.calib-runtime
DEV_STAMP     := $(VENV)/.calib-dev
PARAMS ?= parameters/demo.yaml
PYTEST_ARGS ?=
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: report test install install-dev bench clean-outputs

install: $(RUNTIME_STAMP)
install-dev: $(DEV_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the dependency list changes.
$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) -e . > $(VENV)/pip.log 2>&1 || { grep -v '^WARNING: Location' $(VENV)/pip.log; exit 1; }
	$(BIN)/python -c "import calib, pandas, papermill, sqlalchemy, pyarrow"
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) pyproject.toml
	$(PIP) -e '.[dev]' > $(VENV)/pip-dev.log 2>&1 \
	  || { grep -v '^WARNING: Location' $(VENV)/pip-dev.log; exit 1; }
	$(PIP) --no-deps \
	  $$($(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['crosscheck-nodeps'])") \
	  > $(VENV)/pip-nodeps.log 2>&1 || { grep -v '^WARNING: Location' $(VENV)/pip-nodeps.log; exit 1; }
	touch $@

report: $(RUNTIME_STAMP)
	$(BIN)/calib report --params $(PARAMS)

# Every notebook runs with its defaults under nbval (against a throw-away store and demo org, so
# a test run never touches outputs/), then the whole suite.
test: $(DEV_STAMP)
	tmp=$$(mktemp -d) && CALIB_STORE_URL=sqlite:///$$tmp/nbval.sqlite CALIB_SANDBOX_DIR=$$tmp/sandbox \
	  $(BIN)/python -m pytest --nbval-lax notebooks/ -q -p no:cacheprovider; \
	  status=$$?; rm -rf $$tmp; exit $$status
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(DEV_STAMP)
	$(BIN)/python -m benchmarks

clean-outputs:
	find outputs -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
