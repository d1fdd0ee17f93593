# The two commands: `make demo` (start the demo city) and `make test` (whole suite;
# `make test-deps` once installs what it talks to: sipp, Mosquitto, Redis, Chromium).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
SEED ?= 371400
PYTEST_ARGS ?=
# The suite runs in parallel (pytest-xdist): one worker per CPU, at most PYTEST_MAX_WORKERS.
# PYTEST_WORKERS=0 runs it in this one process.
PYTEST_WORKERS ?= auto
PYTEST_MAX_WORKERS ?= 4

.PHONY: demo test test-deps install lint format bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed

# The demo's MQTT devices (one-key alarms, intrusion detectors) speak to a broker: the
# demo uses the one answering at DEMO_MQTT_URL (Mosquitto's default) unless MQTT_URL is
# set; with none it runs without those devices and says so.
DEMO_MQTT_URL ?= mqtt://127.0.0.1:1883

demo: install
	CAMPUS_SAFETY_DEMO=1 $(BIN)/campus-safety migrate --noinput -v 0
	CAMPUS_SAFETY_DEMO=1 $(BIN)/campus-safety seed-demo --if-empty --seed $(SEED)
	@if [ -z "$${MQTT_URL+set}" ] && $(BIN)/python -m campus_safety.simulator.broker_probe $(DEMO_MQTT_URL); \
	then export MQTT_URL=$(DEMO_MQTT_URL); fi; \
	echo "CAMPUS_SAFETY_DEMO=1 GB28181_ENABLED=1 MQTT_URL=$${MQTT_URL-} $(BIN)/campus-safety serve --host $(HOST) --port $(PORT) --simulate"; \
	exec env CAMPUS_SAFETY_DEMO=1 GB28181_ENABLED=1 $(BIN)/campus-safety serve --host $(HOST) --port $(PORT) --simulate

# The suite also talks to sipp, Mosquitto, Redis and Chromium: `make test` names what is
# missing (CHECK_TEST_DEPS=0 skips the check), `make test-deps` installs it (apt-get).
CHECK_TEST_DEPS ?= 1

test: install
	@if [ "$(CHECK_TEST_DEPS)" != 0 ]; then BIN=$(BIN) .ci/test-deps check; fi
	$(BIN)/pytest -n $(PYTEST_WORKERS) --maxprocesses $(PYTEST_MAX_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test-deps: install
	BIN=$(BIN) .ci/test-deps install

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/seed_demo.py
	$(BIN)/python bench/api_schools.py
	$(BIN)/python bench/keepalive.py
	$(BIN)/python bench/alarm_latency.py
	$(BIN)/python bench/tour_eval.py

clean:
	rm -rf $(VENV) node_modules var
