# agnostream developer entry points. `make demo` sets everything up and runs the demo agent;
# `make check` is what CI runs (lint, typecheck, tests with the coverage gate).
-include .env

VENV ?= .venv
PY := $(VENV)/bin/python
BFCL_EVAL_VERSION := 2026.3.23
CATEGORY ?= multi_turn_base
BROKER ?= embedded
ARGS ?=

.PHONY: install demo serve test lint fmt typecheck coverage check providers-test bfcl replay clean kafka-scale fault-test

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)  ## install the project, dev tools and the BFCL test data package
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	# bfcl-eval's own dependency tree pulls model SDKs we never use: install it without them.
	$(PY) -m pip install -q --no-deps bfcl-eval==$(BFCL_EVAL_VERSION)

demo: install  ## run the demo agent once on the embedded log (no Kafka, no API key)
	$(VENV)/bin/agnostream run --agent weather "What's the weather and the time in Tokyo?"

serve: install  ## HTTP API + all processors on the embedded log at http://127.0.0.1:7777
	$(VENV)/bin/agnostream serve

test:  ## the test suite (broker tests run when KAFKA_BOOTSTRAP_SERVERS points at a broker, else skip)
	$(PY) -m pytest $(ARGS)

lint:
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

fmt:
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck:
	$(VENV)/bin/mypy

coverage:  ## tests under coverage; fails below the 85 % gate in pyproject
	$(VENV)/bin/coverage erase
	$(VENV)/bin/coverage run -m pytest $(ARGS)
	$(VENV)/bin/coverage combine -q || true
	$(VENV)/bin/coverage report

check: lint typecheck coverage  ## what CI runs

providers-test:  ## live smoke tests of every provider whose key is set (the rest skip with the reason); writes artifacts/providers-live.json
	@mkdir -p artifacts
	$(PY) -m pytest -m live tests/live -rs --junitxml=artifacts/providers-live.xml $(ARGS); status=$$?; \
	$(PY) scripts/providers_report.py artifacts/providers-live.xml artifacts/providers-live.json || status=1; \
	exit $$status

fault-test:  ## Kafka fault-injection (SIGKILL workers under load); needs KAFKA_BOOTSTRAP_SERVERS
	$(PY) -m pytest -m fault -p no:cacheprovider tests/integration/test_kafka_faults.py $(ARGS)

kafka-scale:  ## 2 orchestrator, 2 model, 2 tool worker processes, 500 runs with tool calls; artifacts/kafka-scale.json; needs KAFKA_BOOTSTRAP_SERVERS (else 127.0.0.1:29092)
	$(PY) -m scripts.kafka_scale --out artifacts/kafka-scale.json $(ARGS)

bfcl:  ## run every BFCL multi-turn case of CATEGORY through the engine; writes artifacts/bfcl.json
	$(PY) -m adapters.bfcl --category $(CATEGORY) --broker $(BROKER) --out artifacts/bfcl$(if $(filter-out embedded,$(BROKER)),-kafka,).json

clean:
	rm -rf agnostream.db* agnostream-views.db* .coverage .coverage.* artifacts/*.json
