# The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test venv test-venv lint format bench soak migrate demo clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The project's bytecode, as pip compiles an installed package's: with PYTHONDONTWRITEBYTECODE
# (set on many CI machines) every command would otherwise compile ~80 modules as it starts
# (0.25 s of a CI job's one-file import). Up-to-date files are skipped; a stale one is ignored.
APP_DIRS := config core results datagen querygen migrations_gate crashtest dbkinds
venv: $(VENV)/.installed
	@$(PY) -m compileall -q -j 0 $(APP_DIRS) manage.py >/dev/null

migrate: venv
	$(PY) manage.py migrate --no-input

# Sets up, loads a demo on first start, then serves the site and a django-q cluster until Ctrl-C.
run: venv
	HOST=$(HOST) PORT=$(PORT) $(PY) scripts/run_platform.py

test: venv
	bash scripts/ensure-services.sh
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	PY=$(PY) bash scripts/test-passes.sh

lint: venv
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

format: venv
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

# The anchor of benchmarks/results_pandokia.py: Pandokia 2.3.0 in a virtualenv of its own
# (its setup.py needs relic at build time, hence --no-build-isolation).
PDK = var/pandokia/bin/pdk
$(PDK):
	python3 -m venv var/pandokia
	var/pandokia/bin/pip install -q 'relic>=1.1,<2' packaging setuptools wheel
	var/pandokia/bin/pip install -q --no-build-isolation 'pandokia==2.3.0'

bench: venv $(PDK)
	$(PY) benchmarks/results_import.py
	$(PY) benchmarks/results_pandokia.py --pdk $(PDK)
	$(PY) benchmarks/check_expected.py
	$(PY) benchmarks/results_ui.py
	$(PY) benchmarks/results_trends_search.py
	$(PY) benchmarks/datagen.py
	$(PY) benchmarks/querygen.py
	$(PY) benchmarks/querygen_versions.py
	$(PY) benchmarks/migrations_gate.py
	$(PY) benchmarks/crashtest.py
	$(PY) benchmarks/write_contention.py

# An hour of crash testing (docs/crashtest.md): not part of `make test`.
SOAK_MINUTES ?= 60
soak: migrate
	$(PY) manage.py crashtest --minutes $(SOAK_MINUTES) --workers 4 \
	    --nemesis kill,pause,grow-shrink --workload datagen,imports,querygen

clean:
	rm -rf $(VENV) var .pytest_cache
