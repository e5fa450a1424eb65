# Harm Insights — two commands:
#   make run    set up, prepare the sample data, serve the app on http://localhost:8501
#   make test   set up with test extras (and Debian's chromium where apt is available), run every test

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
SAMPLE := sample_data/generated/events

.PHONY: run test sample bench clean chromium

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: requirements-test.txt requirements.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

sample: $(VENV)/.runtime
	$(PY) sample_data/generate.py --if-missing

run: sample
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

test: $(VENV)/.test chromium sample
	$(PY) -m pytest

bench: $(VENV)/.test
	$(PY) bench/cube.py
	$(PY) bench/tcpd.py
	$(PY) bench/rca.py

clean:
	rm -rf $(VENV) sample_data/generated bench/out test-artifacts
