# fileserver: the two README commands (`make run`, `make test`) and the stack's controls.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test up down status logs venv lint system-deps jmeter clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## Optional system packages (Java for JMeter, Prometheus); installed only when root.
system-deps:
	@bash scripts/system-deps.sh

run: venv system-deps
	$(BIN)/python -m devstack.cli up
	$(BIN)/python -m devstack.demo

test: venv system-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

up: venv
	$(BIN)/python -m devstack.cli up

down: venv
	$(BIN)/python -m devstack.cli down

status: venv
	$(BIN)/python -m devstack.cli status

logs: venv
	$(BIN)/python -m devstack.cli logs

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .stack

## JMeter plans (issue 9): PLAN=functional|load|file.jmx, RUNS=N, GATEWAY_URL=..., JMETER_ARGS=...
RUNS ?= 1
PLAN ?= functional
jmeter: venv system-deps
	$(BIN)/python -m jmeter.run --plan $(PLAN) --runs $(RUNS) $(if $(GATEWAY_URL),--gateway $(GATEWAY_URL)) $(JMETER_ARGS)

## faasd (issue 10, docs/deploy.md): REGISTRY=docker.io/you TAG=0.1.0 make build push deploy
REGISTRY ?= docker.io/fileserver
TAG ?= 0.1.0
.PHONY: build push deploy
build:
	REGISTRY=$(REGISTRY) TAG=$(TAG) faas-cli build -f stack.yml
	docker build -f deploy/replicator/Dockerfile -t $(REGISTRY)/replicator:$(TAG) .

push:
	REGISTRY=$(REGISTRY) TAG=$(TAG) faas-cli push -f stack.yml
	docker push $(REGISTRY)/replicator:$(TAG)

deploy:
	REGISTRY=$(REGISTRY) TAG=$(TAG) faas-cli deploy -f stack.yml
