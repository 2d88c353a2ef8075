# tritherm: `make demo` shows the main job, `make test` runs the whole suite.
# Both depend on `setup`, which is idempotent: it creates .venv, installs the
# package with its dev extras and the Debian tools it needs (when root).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tritherm-setup
DEBIAN_PACKAGES := iverilog libusb-1.0-0 libftdi1-2 dieharder

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@missing=""; \
	command -v iverilog >/dev/null || missing="$$missing iverilog"; \
	command -v dieharder >/dev/null || missing="$$missing dieharder"; \
	for lib in libusb-1.0.so.0 libftdi1.so.2; do \
	  ldconfig -p | grep -q $$lib || missing="$$missing $$lib"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "setup: installing Debian packages: $(DEBIAN_PACKAGES)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; \
	  else \
	    echo "setup: missing$$missing; run: sudo apt-get install $(DEBIAN_PACKAGES)"; exit 1; \
	  fi; \
	fi
	$(BIN)/tritherm doctor
	@touch $(STAMP)

demo: setup
	$(BIN)/tritherm demo

test: setup
	$(BIN)/pytest -n 2 --dist loadgroup

bench: setup
	$(BIN)/tritherm bench ternary

clean:
	rm -rf build .tritherm-cache sim_build digits-confusion.png generate-grid.png
