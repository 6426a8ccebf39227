# Front end for the README's commands.  The real build is meson + ninja.
#   make          install missing packages, build the release tree (build/)
#   make test     ... then build the sanitizer tree (build-asan/) and run every test
#   make bench    ... then run the benchmarks (bench/run.py)
#   make demo     ... then run the demo
#   make api-docs write docs/api.md from the API schema (api/)
PYTHON ?= /usr/bin/python3
BUILD  ?= build
ASAN   ?= build-asan

.PHONY: all deps build build-asan test unit system bench demo format clean api-docs

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Dwerror=true >/dev/null

$(ASAN)/build.ninja:
	meson setup $(ASAN) --buildtype=debug -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false >/dev/null

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

build-asan: deps $(ASAN)/build.ninja
	@ninja -C $(ASAN) >/dev/null || ninja -C $(ASAN)

# Unit tests run in the sanitizer tree, system tests drive the release
# binaries in network namespaces; tests/run prints the one summary line.
test: build build-asan
	@PYTHON=$(PYTHON) BUILD=$(BUILD) ASAN=$(ASAN) ./tests/run

unit: build-asan
	@PYTHON=$(PYTHON) BUILD=$(BUILD) ASAN=$(ASAN) ./tests/run --unit

system: build
	@PYTHON=$(PYTHON) BUILD=$(BUILD) ASAN=$(ASAN) ./tests/run --system

bench: build
	$(PYTHON) bench/run.py --dse $(BUILD)/dse-dpud

demo: build
	@./scripts/demo.sh $(BUILD)

# docs/api.md is generated from the API schema in api/ (make test fails when it is stale).
api-docs:
	$(PYTHON) scripts/apigen.py md api docs/api.md

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN)
