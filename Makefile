# thermo-book: `make book` builds the site, `make test` runs every check (CI calls it).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PY      := .venv/bin/python
JB      := .venv/bin/jupyter-book
STAMP   := .venv/.installed
JBFLAGS := -W -n --keep-going

.PHONY: venv data browser wheelhouse book test site-test lint unit notebooks book-smoke results bench clean

venv: $(STAMP)
$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

data: $(STAMP)
	$(PY) -m thermo.data prepare fashion-mnist

# Debian's Chromium for the browser test of the site (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get install -y -q chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }; }; } || \
	  { echo "Chromium is needed for tests/test_browser.py: install the Debian package chromium"; exit 1; }

# The Colab simulation's wheels (tests/test_colab.py installs from them offline): what the chapters'
# install cell installs, and the newer JAX with flax that Colab has preinstalled. Downloaded once
# per requirements-colab.txt, one pinned line at a time (two JAX versions cannot share one resolution).
WHEELHOUSE := _build/wheelhouse
wheelhouse: $(WHEELHOUSE)/.complete
$(WHEELHOUSE)/.complete: requirements-colab.txt | $(STAMP)
	rm -rf $(WHEELHOUSE) && mkdir -p $(WHEELHOUSE)
	sed -e 's/#.*//' -e 's/[[:space:]]//g' requirements-colab.txt | grep -v '^$$' | while read -r spec; do \
	  $(PY) -m pip download -q --no-deps --only-binary=:all: --progress-bar off -d $(WHEELHOUSE) "$$spec"; done
	touch $@

# A failed build prints the failing notebooks' execution reports, so CI logs show the traceback.
SHOW_REPORTS = { find $(1)/reports -name '*.err.log' 2>/dev/null | while read -r f; do \
	  echo "==== $$f"; cat "$$f"; done; exit 1; }

# The site, quick profile, into _build/html (execution cache in _build/.jupyter_cache). It computes
# nothing (THERMO_COMPUTE=0): a result missing from results/ stops the build naming `make results`.
book: $(STAMP) data
	rm -rf _build/html/reports
	THERMO_PROFILE=quick THERMO_COMPUTE=0 THERMO_SITE_BUILD=1 $(JB) build . $(JBFLAGS) || $(call SHOW_REPORTS,_build/html)

lint: $(STAMP)
	$(PY) -m ruff check lib tests benchmarks

# Smoke profile in its own output folder, so its cached outputs never reach the quick site.
book-smoke: $(STAMP) data
	rm -rf _build/smoke/_build/html/reports
	THERMO_PROFILE=smoke THERMO_SITE_BUILD=1 $(JB) build . --path-output _build/smoke $(JBFLAGS) || $(call SHOW_REPORTS,_build/smoke/_build/html)

unit: $(STAMP) data
	$(PY) -m pytest tests

notebooks: $(STAMP) data
	THERMO_PROFILE=smoke $(PY) -m pytest --nbmake notebooks

# Everything CI checks; pytest runs last: unit tests, every notebook in the smoke profile, the Colab
# path simulated (tests/test_colab.py), the built site's files (tests/test_site.py) and the site in
# headless Chromium (tests/test_browser.py; screenshots of the gallery and report in _build/screenshots/).
test: $(STAMP) data browser wheelhouse lint book-smoke
	THERMO_PROFILE=smoke THERMO_SITE=_build/smoke/_build/html $(PY) -m pytest tests --nbmake notebooks

# Only the site checks, on an already built smoke site (make book-smoke).
site-test: $(STAMP) browser
	THERMO_PROFILE=smoke THERMO_SITE=_build/smoke/_build/html $(PY) -m pytest tests/test_site.py tests/test_browser.py

# Recompute every cached quick-profile result (long: run it in the background with a log). It refuses a
# library with uncommitted changes (records must name their code): commit first.
results: $(STAMP) data
	THERMO_PROFILE=quick $(PY) -m thermo run --all --recompute --jobs 2

bench: $(STAMP)
	$(PY) benchmarks/esd.py
	$(PY) benchmarks/tempbalance.py
	$(PY) benchmarks/apt.py --save benchmarks/results/apt.json
	$(PY) benchmarks/synthesis.py --save benchmarks/results/synthesis.json

clean:
	rm -rf _build book/_static/figures .pytest_cache .ruff_cache
