# The commands of the project. `make run` and `make test` set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run stop status test test-unit lint bench bench-soak clean-state \
	run-cluster stop-cluster test-cluster bench-cluster

setup: $(STAMP)
	$(PY) -m stack setup

$(STAMP): requirements.txt constraints.txt stack/install_system.sh
	bash stack/install_system.sh chromium wrk
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	$(PY) -m pip check
	touch $@

## Start the whole local system (set up if needed) and print where each part listens.
run: setup
	$(PY) -m stack run

## The same system on a local cluster (stack/cluster.py): 3 Kafka brokers, 3 Cassandra
## nodes, a Spark master with 2 workers; its own ports and state folder (.state-cluster).
run-cluster: setup
	$(PY) -m stack --cluster run

stop-cluster:
	@if [ -x $(PY) ]; then $(PY) -m stack --cluster stop; else echo "nothing to stop"; fi

stop:
	@if [ -x $(PY) ]; then $(PY) -m stack stop; else echo "nothing to stop (not set up)"; fi

status:
	@$(PY) -m stack status

lint: $(STAMP)
	$(VENV)/bin/ruff check .

## Set up, lint, start what the tests need and run every test.
test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: $(STAMP)
	$(PY) -m pytest -m "not integration and not lifecycle" $(PYTEST_ARGS)

## The pipeline on the cluster profile, and its fault drills (tests/cluster).
test-cluster: setup
	$(PY) -m pytest -m cluster tests/cluster $(PYTEST_ARGS)

bench: setup
	$(PY) bench/stack_bench.py
	$(PY) bench/write_bench.py
	$(PY) bench/stream_bench.py
	$(PY) bench/batch_bench.py
	$(PY) bench/read_bench.py
	$(PY) bench/dashboard_bench.py

## Ten minutes of the write path at half its capacity with Kafka and Cassandra restarted.
bench-soak: setup
	$(PY) bench/soak_bench.py

## The write path and the speed layer on the cluster profile against one node.
bench-cluster: setup
	$(PY) bench/cluster_bench.py

## Remove the local run's data and logs (keeps the jars cache).
clean-state: stop
	rm -rf .state
