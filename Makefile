# The two commands a newcomer needs:
#   make run   - install dependencies, build Release, run Portico on policies/
#   make test  - install dependencies, build, run the whole test suite (unit + end-to-end)
BUILD_DIR   ?= build
RELEASE_DIR ?= build-release
ASAN_DIR    ?= build-asan
POLICIES    ?= policies
JOBS        ?= $(shell nproc)

.PHONY: all deps build release run test check sanitize clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo
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

# The whole suite (unit and end-to-end) on an ASan + UBSan build; leaks fail the e2e exit check.
sanitize: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DPORTICO_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j$(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --timeout 600

clean:
	rm -rf $(BUILD_DIR) $(RELEASE_DIR) $(ASAN_DIR)
