# thermo-book: `make book` builds the site, `make test` runs every check (CI calls it).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PY      := .venv/bin/python
JB      := .venv/bin/jupyter-book
STAMP   := .venv/.installed
JBFLAGS := -W -n --keep-going

.PHONY: venv data book test lint unit notebooks book-smoke results bench clean

venv: $(STAMP)
$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

data: $(STAMP)
	$(PY) -m thermo.data prepare fashion-mnist

# The site, quick profile, into _build/html (execution cache in _build/.jupyter_cache).
book: $(STAMP) data
	THERMO_PROFILE=quick $(JB) build . $(JBFLAGS)

lint: $(STAMP)
	$(PY) -m ruff check lib tests benchmarks

# Smoke profile in its own output folder, so its cached outputs never reach the quick site.
book-smoke: $(STAMP) data
	THERMO_PROFILE=smoke $(JB) build . --path-output _build/smoke $(JBFLAGS)

unit: $(STAMP) data
	$(PY) -m pytest tests

notebooks: $(STAMP) data
	THERMO_PROFILE=smoke $(PY) -m pytest --nbmake notebooks

# Everything CI checks; pytest (unit tests + every notebook in the smoke profile) runs last.
test: $(STAMP) data lint book-smoke
	THERMO_PROFILE=smoke THERMO_SITE=_build/smoke/_build/html $(PY) -m pytest tests --nbmake notebooks

# Recompute every cached quick-profile result (long: run it in the background with a log).
results: $(STAMP) data
	THERMO_PROFILE=quick $(PY) -m thermo run --all --recompute --jobs 2

bench: $(STAMP)
	$(PY) benchmarks/esd.py

clean:
	rm -rf _build book/_static/figures .pytest_cache .ruff_cache
