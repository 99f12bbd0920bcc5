# agnostream developer entry points. `make demo` sets everything up and runs the demo agent;
# `make check` is what CI runs (lint, typecheck, tests with the coverage gate).
-include .env

VENV ?= .venv
PY := $(VENV)/bin/python
BFCL_EVAL_VERSION := 2026.3.23
CATEGORY ?= multi_turn_base
BROKER ?= embedded
ARGS ?=

.PHONY: install demo serve test lint fmt typecheck coverage check providers-test bfcl replay clean kafka-scale fault-test outage-test bench bench-smoke bench-agno-venv

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

outage-test:  ## runs in flight across a 45 s broker restart (a broker of its own; opt-in, see README); needs KAFKA_BOOTSTRAP_SERVERS
	AGNOSTREAM_OUTAGE_TEST=1 $(PY) -m pytest -p no:cacheprovider tests/integration/test_kafka_broker_restart.py $(ARGS)

kafka-scale:  ## 2 orchestrator, 2 model, 2 tool worker processes, 500 runs with tool calls; artifacts/kafka-scale.json; needs KAFKA_BOOTSTRAP_SERVERS (else 127.0.0.1:29092)
	$(PY) -m scripts.kafka_scale --out artifacts/kafka-scale.json $(ARGS)

bfcl:  ## run every BFCL multi-turn case of CATEGORY through the engine; writes artifacts/bfcl.json
	$(PY) -m adapters.bfcl --category $(CATEGORY) --broker $(BROKER) --out artifacts/bfcl$(if $(filter-out embedded,$(BROKER)),-kafka,).json

# Benchmark (issue 6; README "Benchmarks"). `make bench C=100 D=60` runs every target it can here: the model floor,
# the embedded log, Kafka (a broker of its own on KAFKA_PORT, or KAFKA_BOOTSTRAP_SERVERS when set) and agno's
# AgentOS when `make bench-agno-venv` has been run; both tool modes; replay over REPLAY events.
C ?= 100
D ?= 60
REPLAY ?= 1000000
BENCH_ARGS ?=
AGNO_VENV ?= .venv-bench-agno
# Keep in sync with the `bench-agno` extra in pyproject.toml.
BENCH_AGNO_PKGS := 'agno==3.1.10' openai fastapi uvicorn sqlalchemy greenlet aiosqlite python-multipart

bench:  ## benchmark floor / embedded / Kafka / agno at C sessions for D s, both tool modes; artifacts/bench.json + .md
	$(VENV)/bin/agnostream bench --concurrency $(C) --duration $(D) --replay-events $(REPLAY) \
		--kafka-port $(or $(KAFKA_PORT),49092) --agno-python $(AGNO_VENV)/bin/python \
		$(if $(KAFKA_BOOTSTRAP_SERVERS),--kafka $(KAFKA_BOOTSTRAP_SERVERS)) $(BENCH_ARGS)

bench-smoke:  ## 5 sessions for 5 s, floor + embedded: checks the harness runs and reports (no timing targets)
	$(VENV)/bin/agnostream bench --concurrency 5 --duration 5 --warmup 1 --targets floor,embedded \
		--out artifacts/bench-smoke.json $(BENCH_ARGS)

bench-agno-venv:  ## agno 3.1.10 and its AgentOS dependencies in their own venv (AGNO_VENV) for `make bench`
	python3 -m venv $(AGNO_VENV)
	$(AGNO_VENV)/bin/python -m pip install -q --upgrade pip
	$(AGNO_VENV)/bin/python -m pip install -q $(BENCH_AGNO_PKGS)

clean:
	rm -rf agnostream.db* agnostream-views.db* .coverage .coverage.* artifacts/*.json
