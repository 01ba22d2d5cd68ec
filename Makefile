# louyu-research — a table of contents. Every target sets up the environment first when needed.
.DEFAULT_GOAL := help
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
LOUYU := $(VENV)/bin/louyu
STAMP := $(VENV)/.setup-stamp
QUARTER ?=
MONTH ?=
export UV_PYTHON_DOWNLOADS := never
# Parameters reach the recipes as environment variables, expanded by the shell inside quotes:
# a value can never become part of a command line.
export QUARTER MONTH EDITION REVISE INTERNAL_OUT CITY LOG SETTINGS
# LANG=en on make's command line asks for English; a LANG inherited from the locale does not.
export REPORT_LANG := $(if $(filter command line,$(origin LANG)),$(LANG),zh)

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup: $(STAMP)  ## Create .venv from the lock file, install fonts/browser, register the Jupyter kernel

$(STAMP): pyproject.toml uv.lock scripts/setup.sh
	bash scripts/setup.sh
	@touch $(STAMP)

test: setup  ## Run the whole test suite
	$(VENV)/bin/pytest -n 2 --dist loadgroup

lint: setup  ## ruff (lint, format) and the layer contract (import-linter: data flows one way)
	$(VENV)/bin/ruff check louyu_research tests scripts
	$(VENV)/bin/ruff format --check louyu_research tests scripts
	$(VENV)/bin/lint-imports --no-cache

schemas: setup  ## Regenerate JSON Schemas of events and frames into schemas/
	$(LOUYU) schemas --out schemas

sample: setup  ## Regenerate the shipped sample log in events/ from its recorded seed
	$(LOUYU) simulate --recorded --out events --force

report: setup  ## Build one quarterly report: make report QUARTER=2017Q4 [EDITION=internal [INTERNAL_OUT=DIR]] [LANG=en] [REVISE=1] [CITY=DIR LOG=DIR] [SETTINGS=FILE]
	$(LOUYU) report --quarter "$$QUARTER" --edition "$${EDITION:-public}" \
		--lang "$$REPORT_LANG" $${REVISE:+--revise} $${INTERNAL_OUT:+--internal-out "$$INTERNAL_OUT"} \
		$${CITY:+--city "$$CITY"} $${LOG:+--log "$$LOG"} $${SETTINGS:+--settings "$$SETTINGS"}

reports: setup  ## Build every quarter the log covers
	$(LOUYU) reports

notice: setup  ## Build the monthly street ranking notice: make notice MONTH=2017-12 [EDITION=internal] [LANG=en] [CITY=DIR LOG=DIR]
	$(LOUYU) notice --month "$$MONTH" --edition "$${EDITION:-public}" --lang "$$REPORT_LANG" \
		$${CITY:+--city "$$CITY"} $${LOG:+--log "$$LOG"}

notices: setup  ## Build the notice of every month the log covers (unpublished ones as published) [CITY=DIR LOG=DIR]
	$(LOUYU) notices --as-published $${CITY:+--city "$$CITY"} $${LOG:+--log "$$LOG"}

verify-reports: setup  ## Rebuild committed reports, compare their manifests' hashes; fail on any leak in reports/ [CITY=DIR LOG=DIR]
	$(LOUYU) verify-reports $${CITY:+--city "$$CITY"} $${LOG:+--log "$$LOG"}

docs: setup  ## Build the API reference and user guide into build/docs (offline, links checked)
	$(PY) scripts/docs.py

bench: setup  ## Benchmarks: append, replay (cold/warm), panel, each beside a naive fold
	$(PY) -m louyu_research.sample.bench

clean:  ## Remove caches, the append index and built reports (keeps what git tracks, and intake-runs/)
	rm -rf .pytest_cache .ruff_cache .hypothesis build events/.cache events/.index
	git clean -qfX -- reports/

.PHONY: help setup test lint schemas sample report reports notice notices verify-reports docs bench clean
