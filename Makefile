# Harm Insights — two commands:
#   make run    set up, prepare the sample data, serve the app on http://localhost:8501
#   make test   set up with test extras (and Debian's chromium where apt is available), run every test
# and, for development: make lint (ruff + mypy), make bench (benchmark tables).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501

.PHONY: run test lint sample bench clean chromium

# The pinned requirements, then this project itself (editable, so `insights` and the
# `harm-insights` command come from this checkout).
$(VENV)/.runtime: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.test: requirements-test.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

sample: $(VENV)/.runtime
	$(PY) -m sample_data.generate --if-missing

# The chart builds the pages load (pages/chart_element.py): Plotly's partial builds from npm, at
# the version of the Python package's own Plotly (tests/app/test_chart_element.py checks it), and
# the full build copied from the package. Without npm, only the full build: every chart is drawn.
PLOTLY_JS := 4.1.1
static/.builds: $(VENV)/.runtime
	mkdir -p static
	$(PY) -c "import pathlib, plotly, shutil; shutil.copy(pathlib.Path(plotly.__file__).parent / 'package_data' / 'plotly.min.js', 'static')"
	@for build in basic geo; do \
		tarball=$$(cd static && npm pack --silent plotly.js-$$build-dist-min@$(PLOTLY_JS)) \
		&& tar -xzf static/$$tarball -C static --strip-components=1 package/plotly-$$build.min.js \
		|| echo "could not fetch Plotly's $$build build with npm: its charts load the full build"; \
		rm -f static/*.tgz; \
	done
	@# marked as made only when every build is there: a later `make` (with npm) fetches what is missing
	@if [ -f static/plotly-basic.min.js ] && [ -f static/plotly-geo.min.js ]; then touch $@; fi

run: sample static/.builds
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.address localhost \
		--server.headless true --browser.gatherUsageStats false

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if command -v apt-get >/dev/null 2>&1; then \
			SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo "sudo -n" ); \
			$$SUDO apt-get install -y -q chromium >/dev/null 2>&1 \
			|| { $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; } \
			|| echo "could not install chromium with apt: browser tests will skip"; \
		else echo "no apt-get here: install chromium yourself, or browser tests will skip"; fi; }

test: $(VENV)/.test chromium sample static/.builds
	$(PY) -m pytest

lint: $(VENV)/.test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(VENV)/.test sample
	$(VENV)/bin/harm-insights bench

clean:
	rm -rf $(VENV) sample_data/generated bench/out test-artifacts static
