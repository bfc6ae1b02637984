# The two commands a new user needs: `make preview` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STACK ?= dev
# State lives in a local folder unless PULUMI_BACKEND_URL says otherwise (see README, "State").
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state

.PHONY: preview plan test up pulumi-preview install clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(VENV)/.installed ## Create .venv with the pinned dependencies.

preview: $(VENV)/.installed ## Offline render of STACK (default dev): no credentials, no Pulumi CLI.
	$(PY) -m kapsule plan --stack $(STACK)

plan: $(VENV)/.installed ## Offline render of every stack.
	$(PY) -m kapsule plan --all

test: $(VENV)/.installed ## The whole test suite.
	$(PY) -m pytest -q

pulumi-preview: $(VENV)/.installed ## Real preview against Scaleway (needs the Pulumi CLI and SCW_* credentials).
	pulumi preview --stack $(STACK) --refresh --diff

up: $(VENV)/.installed ## Deploy STACK (needs the Pulumi CLI and SCW_* credentials).
	pulumi up --stack $(STACK) --refresh

clean:
	rm -rf $(VENV)
