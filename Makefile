# The two commands a new user needs: `make preview` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev
# `make plan FORMAT=markdown STATE=dir`: output format, and recorded state (an export file, or a directory of them).
FORMAT ?= text
STATE ?=
PLAN_ARGS = --format $(FORMAT) $(if $(STATE),--state $(STATE))
# The guardrails (policy/), enforced per stack by policy/config/<stack>.json.
POLICY = --policy-pack policy --policy-pack-config policy/config/$(STACK).json
# State lives in a local folder unless PULUMI_BACKEND_URL says otherwise (see README, "State").
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state

.PHONY: preview plan test up pulumi-preview install bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed ## Create .venv with the pinned dependencies.

# `kapsule plan` exits 2 for changes and 3 for destructive changes: for make, both are a plan that worked.
preview: $(VENV)/.installed ## Offline plan of STACK (default dev) against its recorded state: no credentials, no Pulumi CLI.
	$(PY) -m kapsule plan --stack $(STACK) $(PLAN_ARGS) || test $$? -ge 2

plan: $(VENV)/.installed ## Offline plan of every stack.
	$(PY) -m kapsule plan --all $(PLAN_ARGS) || test $$? -ge 2

test: $(VENV)/.installed ## The whole test suite.
	$(PY) -m pytest -q

pulumi-preview: $(VENV)/.installed ## Real preview against Scaleway (needs the Pulumi CLI and SCW_* credentials).
	pulumi preview --stack $(STACK) --refresh --diff $(POLICY)

up: $(VENV)/.installed ## Deploy STACK (needs the Pulumi CLI and SCW_* credentials).
	pulumi up --stack $(STACK) --refresh $(POLICY)

clean:
	rm -rf $(VENV)

bench: $(VENV)/.installed ## Benchmark of the offline plan: prints timings, ratios and peak memory.
	$(PY) bench/plan_bench.py
