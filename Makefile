# The two commands of the README. Both create .venv when it is missing and install calib into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.calib-installed
PARAMS ?= parameters/demo.yaml
PYTEST_ARGS ?=

.PHONY: report test install bench clean-outputs

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install whenever the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' > $(VENV)/pip.log 2>&1 \
	  || { grep -v '^WARNING: Location' $(VENV)/pip.log; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps \
	  $$($(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['crosscheck-nodeps'])") \
	  > $(VENV)/pip-nodeps.log 2>&1 || { grep -v '^WARNING: Location' $(VENV)/pip-nodeps.log; exit 1; }
	$(BIN)/python -c "import calib, pandas, papermill, sqlalchemy, pyarrow"
	touch $@

report: $(STAMP)
	$(BIN)/calib report --params $(PARAMS)

# Every notebook runs with its defaults under nbval (against a throw-away store, so a test run
# never touches outputs/calib.sqlite), then the whole suite.
test: $(STAMP)
	tmp=$$(mktemp -d) && CALIB_STORE_URL=sqlite:///$$tmp/nbval.sqlite \
	  $(BIN)/python -m pytest --nbval-lax notebooks/ -q -p no:cacheprovider; \
	  status=$$?; rm -rf $$tmp; exit $$status
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean-outputs:
	find outputs -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
