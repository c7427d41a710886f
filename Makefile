# The two commands a newcomer needs:
#   make run   - install dependencies, build Release, run Portico on policies/
#   make test  - install dependencies, build, run the whole test suite (unit + end-to-end)
BUILD_DIR   ?= build
RELEASE_DIR ?= build-release
POLICIES    ?= policies
JOBS        ?= $(shell nproc)

.PHONY: all deps build release run test check clean

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

clean:
	rm -rf $(BUILD_DIR) $(RELEASE_DIR)
