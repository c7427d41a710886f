# The two commands a newcomer needs:
#   make run   - install dependencies, build Release, run Portico on policies/
#   make test  - install dependencies, build, run the whole test suite (unit + end-to-end, then
#                the unit tests under ASan + UBSan and each fuzzer for FUZZ_SECONDS)
BUILD_DIR   ?= build
RELEASE_DIR ?= build-release
ASAN_DIR    ?= build-asan
FUZZ_DIR    ?= build-fuzz
FUZZ_CXX    ?= clang++-14
FUZZ_SECONDS ?= 30
FUZZ_OPT    ?= -O0
POLICIES    ?= policies
JOBS        ?= $(shell nproc)

.PHONY: all deps build release run test check sanitize fuzz-build sanitize-unit fuzz clean \
  format format-check lint

all: build

deps:
	bash scripts/install-deps.sh

# The test build: -O2 as shipped, with -g1 (functions and lines, no variables) as it compiles a
# third faster than -g; configure $(BUILD_DIR) yourself for a full-debug build.
build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG"
	cmake --build $(BUILD_DIR) -j$(JOBS)

release: deps
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DPORTICO_BUILD_TESTS=OFF
	cmake --build $(RELEASE_DIR) -j$(JOBS) --target portico

run: release
	./$(RELEASE_DIR)/src/portico --policies $(POLICIES)

check: release
	./$(RELEASE_DIR)/src/portico --check $(POLICIES)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 600
	$(MAKE) sanitize-unit fuzz

# The whole suite (unit and end-to-end) on an ASan + UBSan build; leaks fail the e2e exit check.
sanitize: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DPORTICO_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j$(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --timeout 600

# One clang build with ASan + UBSan and libFuzzer coverage (PORTICO_FUZZ, cmake/fuzzing.cmake)
# serves both: the unit tests under the sanitizers, and the fuzzers (tests/fuzz/run.sh), each run
# for FUZZ_SECONDS; any crash, leak or UBSan report fails (halt_on_error).
fuzz-build: deps
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) \
	  -DPORTICO_FUZZ=ON -DPORTICO_FUZZ_OPT=$(FUZZ_OPT)
	cmake --build $(FUZZ_DIR) -j$(JOBS)

sanitize-unit: fuzz-build
	cd $(FUZZ_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest -L unit --output-on-failure --timeout 600

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_DIR)/tests/fuzz

clean:
	rm -rf $(BUILD_DIR) $(RELEASE_DIR) $(ASAN_DIR) $(FUZZ_DIR)

# Formatting and lint (docs/style.md, "Naming and files"). Only changed C++ lines are touched:
#   make format         format the lines changed since the merge-base with main (BASE=<commit>
#                       to choose the base, FILES=all for every file)
#   make format-check   fail, listing files and lines, if the C++ lines changed since the commit
#                       that introduced .clang-format are not formatted (what CI runs)
#   make lint           clang-tidy on the changed sources (FILES=all for every one), using
#                       $(BUILD_DIR)/compile_commands.json
format:
	BASE=$(BASE) FILES=$(FILES) bash scripts/check-format.sh --fix

format-check:
	BASE=$(BASE) FILES=$(FILES) bash scripts/check-format.sh

lint:
	BASE=$(BASE) FILES=$(FILES) BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) bash scripts/lint.sh
