# The two commands a new user needs: `make preview` and `make test`. Both set up .venv on first use.
# Make never evaluates a value given on the command line or in the environment: each one is frozen to its
# literal text before anything reads it (`$(value X)` is that text, and `:=` stores it unexpanded), so that
# `make help STACK='$(shell touch f)'` runs nothing. Whether STACK was given is read before it is frozen.
# Every command-line variable is frozen (make exports them all), and each environment variable this file reads.
# Outside what a Makefile can guard: make itself expands MAKEFLAGS, a variable's name, and `X::=` or `X!=` given
# on the command line, before this file is read. Never pass those from input you do not trust.
STACK_GIVEN := $(filter command line environment,$(origin STACK))
$(foreach variable,$(.VARIABLES),$(if $(filter command line,$(origin $(variable))),$(eval override $(variable) := $$(value $(variable)))))
$(foreach variable,PYTHON VENV STACK FORMAT STATE NO_STATE PULUMI_BACKEND_URL,$(if $(filter environment,$(origin $(variable))),$(eval override $(variable) := $$(value $(variable)))))
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
## STACK     the stack to plan or deploy: stacks/Pulumi.<STACK>.yaml (default dev)
STACK ?= dev
## FORMAT    the plan's format: text, markdown or json (default text)
FORMAT ?= text
## STATE     recorded state to plan against: a `pulumi stack export` file, or a directory of <stack>.json
STATE ?=
## NO_STATE  1 plans as if nothing were deployed: an explicit choice, never a fallback
NO_STATE ?=
# These values reach the shell through the environment, quoted, never spliced into a recipe's text:
# `make up STACK='x; touch /tmp/p #'` is a stack name the program refuses, not a second command. PYTHON and
# VENV are different: they name a program and a directory, so they are part of the commands themselves and the
# shell reads them as such; give them only what you would type as a command.
export STACK FORMAT STATE NO_STATE UP_STACK
PLAN_ARGS = --format "$$FORMAT" $(if $(STATE),--state "$$STATE") $(if $(NO_STATE),--no-state)
# `kapsule plan` exits 0 (no changes), 2 (changes) or 3 (destructive): a plan that worked. Anything else
# (1, or a signal) fails the target with the plan's own code. Recipes that use it are not echoed.
PLAN_WORKED = || { code=$$?; [ $$code -eq 2 ] || [ $$code -eq 3 ] || exit $$code; }

# State lives in a local folder unless PULUMI_BACKEND_URL says otherwise (docs/state-and-ci.md).
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state

.PHONY: help preview plan test lint up down pulumi-preview engine lint-tools e2e install bench docs generate clean mutation
.DEFAULT_GOAL := help

help: ## List the targets and the variables they take.
	@awk -F ':.*## ' '/^[a-z-]+:.*## / { printf "  make %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo "Variables (make preview STACK=prod FORMAT=markdown):"
	@sed -n 's/^## /  /p' $(MAKEFILE_LIST)

# A .venv without its stamp was left half-made (an interrupted first install): it is remade, never trusted.
$(VENV)/.installed: requirements.txt pyproject.toml
	@if [ -e "$(VENV)" ]; then echo "$(VENV) was left half-made or is out of date: removing it and setting it up again."; rm -rf "$(VENV)"; fi
	@echo "Setting up $(VENV): the pinned requirements.txt (first run only; a minute or two)..."
	@$(PYTHON) -m venv $(VENV) || { echo "$(PYTHON) -m venv $(VENV) failed: on Debian, apt-get install python3-venv, then make install again."; exit 1; }
	@$(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements.txt | grep -E '^(Collecting|Successfully installed)' | sed 's/^Collecting \([^ ]*\).*/  fetching \1/' || true
	@$(PY) -c "import pulumi, pulumi_kubernetes, pulumiverse_scaleway, pydantic, yaml" || { echo "The install did not complete: run make clean, then make install again."; exit 1; }
	@echo "Installed: $$($(PY) -m pip list --disable-pip-version-check 2>/dev/null | tail -n +3 | wc -l) packages in $(VENV)."
	@touch $@

# The repository on .venv's path, so `python -m kapsule` works from any directory inside it.
$(VENV)/.on-path: $(VENV)/.installed
	@$(PY) -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()['purelib'], 'kapsule-project.pth').write_text('$(CURDIR)\n')"
	@touch $@

install: $(VENV)/.on-path ## Create .venv with the pinned dependencies.

preview: $(VENV)/.on-path ## Offline plan of STACK (default dev) against its recorded state: no credentials, no Pulumi CLI.
	@$(PY) -m kapsule plan --stack "$$STACK" $(PLAN_ARGS) $(PLAN_WORKED)

plan: $(VENV)/.on-path ## Offline plan of every stack.
	@$(PY) -m kapsule plan --all $(PLAN_ARGS) $(PLAN_WORKED)

test: engine lint-tools ## The whole test suite: the offline tier on every core, then the end-to-end tier on the real engine.
	$(PY) -m pytest -q -n auto --ignore=tests/e2e
	$(PY) -m pytest -q tests/e2e

lint: $(VENV)/.on-path ## The formatter's check, the linter, the type checker and dead code (configured in pyproject.toml).
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/vulture

## UP_STACK  the stack `make up`, `make pulumi-preview` and `make down` act on: STACK when given, else local
UP_STACK := $(if $(STACK_GIVEN),$(STACK),local)

engine: $(VENV)/.on-path ## Build the real engine from the Go module proxy into .tools/bin (CLI, Kubernetes provider, kube-apiserver); etcd from Debian.
	@bash tools/engine/debian.sh
	@bash tools/engine/build.sh

lint-tools: ## Build actionlint, the workflow linter the tests run, from the Go module proxy into .tools/bin.
	@bash tools/lint/build.sh

up: engine ## Deploy UP_STACK through the real engine: with no STACK, the local stack on a local Kubernetes API.
	@$(PY) -m kapsule.engine up --stack "$$UP_STACK"

pulumi-preview: engine ## Real `pulumi preview --refresh --diff` of UP_STACK, with the policy pack.
	@$(PY) -m kapsule.engine preview --stack "$$UP_STACK"

down: $(VENV)/.on-path ## Destroy the local stack and stop every local server.
	@$(PY) -m kapsule.engine down

e2e: engine ## The end-to-end tests: the real engine on the local Kubernetes API, no mocks.
	$(PY) -m pytest -q -p no:randomly tests/e2e

clean: ## Remove .venv.
	rm -rf $(VENV)

generate: $(VENV)/.on-path ## Regenerate docs/ and the workflows' stack lists from the code and the stack files.
	$(PY) -m kapsule generate

docs: generate ## The same as generate.

bench: engine ## Benchmarks: the offline plan and the program's start-up beside the SDK import, then the real engine and the upgrade preflight at scale.
	$(PY) bench/plan_bench.py
	$(PY) bench/engine_bench.py
	$(PY) bench/preflight_bench.py

mutation: $(VENV)/.on-path ## Mutation score (mutmut) of policy/, kapsule/upgrade/, kapsule/drift/ and the plan's diff and replacement rules: each module's score and survivors, against an 85% target (printed, not a gate). MODULES limits it.
	@$(PY) tools/mutation.py
